"""The emulator in process, without sockets: an httpx transport for both `httpx.Client` and
`httpx.AsyncClient`.

    client = httpx.AsyncClient(transport=EmulatorTransport(emulator), base_url=IN_PROCESS_URL)

Slow bodies sleep between chunks (`asyncio.sleep` in async clients); a truncated body ends with
`httpx.RemoteProtocolError`, as httpx raises when a server closes a connection early. Webhooks
are not sent in process unless the test calls `emulator.deliver_callbacks()`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx

from wanplan.emulator.app import Emulator
from wanplan.emulator.wire import Request, Response

IN_PROCESS_URL = "http://127.0.0.1"
"""A base URL for in-process clients: loopback, so wanplan accepts plain http, and never
dialled, because the transport answers."""


class _Body(httpx.SyncByteStream, httpx.AsyncByteStream):
    def __init__(self, response: Response, head: bool) -> None:
        self._response = response
        self._head = head

    def _chunks(self) -> list[bytes] | Iterator[bytes]:
        body = self._response.body
        if self._head:
            return []
        return [body] if isinstance(body, bytes) else iter(body)

    def _cut_short(self, sent: int) -> httpx.RemoteProtocolError | None:
        declared = self._response.declared_length()
        if self._head or declared is None or sent >= declared:
            return None
        return httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body: "
            f"received {sent} bytes, expected {declared}"
        )

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        for index, chunk in enumerate(self._chunks()):
            if index and self._response.chunk_delay:
                time.sleep(self._response.chunk_delay)
            sent += len(chunk)
            yield chunk
        problem = self._cut_short(sent)
        if problem is not None:
            raise problem

    async def __aiter__(self) -> AsyncIterator[bytes]:
        sent = 0
        for index, chunk in enumerate(self._chunks()):
            if index and self._response.chunk_delay:
                await asyncio.sleep(self._response.chunk_delay)
            sent += len(chunk)
            yield chunk
        problem = self._cut_short(sent)
        if problem is not None:
            raise problem


def _origin(url: httpx.URL) -> str:
    default = {"http": 80, "https": 443}.get(url.scheme)
    port = f":{url.port}" if url.port is not None and url.port != default else ""
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{url.scheme}://{host}{port}"


class EmulatorTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def _response(self, request: httpx.Request, answer: Response) -> httpx.Response:
        if answer.dropped:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        headers = dict(answer.headers)
        if isinstance(answer.body, bytes) and answer.declared_length() is None:
            headers["Content-Length"] = str(len(answer.body))
        return httpx.Response(
            answer.status,
            headers=headers,
            stream=_Body(answer, head=request.method == "HEAD"),
            request=request,
        )

    def _handle(self, request: httpx.Request, body: bytes) -> Response:
        return self.emulator.handle(
            Request.build(
                request.method,
                request.url.raw_path.decode("ascii"),
                request.headers.multi_items(),
                body,
                _origin(request.url),
            )
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self._handle(request, request.read())
        if answer.delay:
            time.sleep(answer.delay)
        return self._response(request, answer)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = self._handle(request, await request.aread())
        if answer.delay:
            await asyncio.sleep(answer.delay)
        return self._response(request, answer)
