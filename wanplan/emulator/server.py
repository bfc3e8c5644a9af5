"""The emulator over real sockets, on loopback only: a stdlib `ThreadingHTTPServer`.

`running(emulator)` starts it on a free port in a thread for tests and yields its base URL;
`LoopbackServer(...).serve_forever()` runs it in the foreground (the CLI). A background thread
delivers webhooks and callbacks as tasks end. A truncated response is written as announced
and then the connection is closed, as a broken upstream would; a slow one pauses between chunks.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from wanplan.emulator.app import Emulator
from wanplan.emulator.loopback import require_loopback
from wanplan.emulator.wire import Request, Response

CALLBACK_INTERVAL = 0.05


def provider_base_urls(base_url: str) -> dict[str, str]:
    """The WANPLAN_<PROVIDER>_BASE_URL values that point wanplan at an emulator."""
    return {
        "WANPLAN_WAVESPEED_BASE_URL": base_url,
        "WANPLAN_DASHSCOPE_BASE_URL": f"{base_url}/api/v1",
        "WANPLAN_APIXO_BASE_URL": f"{base_url}/api/v1",
        "WANPLAN_WANAPI_BASE_URL": f"{base_url}/v1",
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: LoopbackServer

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            self.send_error(400, "unreadable request body")
            return
        request = Request.build(
            self.command, self.path, self.headers.items(), body, self.server.base_url
        )
        try:
            response = self.server.emulator.handle(request)
        except Exception:
            traceback.print_exc()
            response = Response(500, {"Content-Type": "text/plain"}, b"emulator bug, see its log")
        if response.delay:
            time.sleep(response.delay)
        if response.dropped:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        try:
            self._write(response)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _write(self, response: Response) -> None:
        declared = response.declared_length()
        body = response.body
        if declared is None and not isinstance(body, bytes):
            body = b"".join(body)
        if isinstance(body, bytes) and declared is None:
            declared = len(body)
        self.send_response(response.status)
        for name, value in response.headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(declared))
        self.end_headers()
        if self.command == "HEAD":
            return
        sent = 0
        for index, chunk in enumerate([body] if isinstance(body, bytes) else body):
            if index and response.chunk_delay:
                time.sleep(response.chunk_delay)
            self.wfile.write(chunk)
            self.wfile.flush()
            sent += len(chunk)
        if sent < (declared or 0):
            # Fewer bytes than announced: end the connection so the client sees it cut short.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, format: str, *args: object) -> None:
        """Requests are in the emulator's own log; the stdlib's stderr lines would be noise."""


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # the stdlib's 5 resets connections when 100 clients poll at once

    def __init__(self, emulator: Emulator, host: str = "127.0.0.1", port: int = 0) -> None:
        require_loopback(host)
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.emulator = emulator
        super().__init__((host, port), _Handler)
        self._stop = threading.Event()
        self._ticker = threading.Thread(
            target=self._deliver_callbacks, name="emulator-callbacks", daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self.server_address[0], self.server_address[1]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that stops reading (a capped answer, a refused download) is not an error of
        the emulator: no traceback for it."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def serve_forever(self, poll_interval: float = 0.1) -> None:
        self._ticker.start()
        try:
            super().serve_forever(poll_interval)
        finally:
            self._stop.set()
            self._ticker.join()

    def _deliver_callbacks(self) -> None:
        while not self._stop.wait(CALLBACK_INTERVAL):
            try:
                self.emulator.deliver_callbacks()
            except Exception:
                traceback.print_exc()


@contextmanager
def running(
    emulator: Emulator | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[str]:
    """Serve `emulator` (a new one when None) on loopback in a thread; yield its base URL
    ("http://127.0.0.1:PORT"); shut it down on exit."""
    server = LoopbackServer(emulator if emulator is not None else Emulator(), host, port)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="emulator", daemon=True
    )
    thread.start()
    try:
        yield server.base_url
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
