"""The emulator's own request and response values, independent of any HTTP framework.

Adapters (the loopback server, the httpx transports) turn their requests into a `Request`,
call `Emulator.handle`, and write the `Response` back. A response body is bytes or an iterable
of chunks. A slow response has a `chunk_delay`; a truncated one announces a `Content-Length`
larger than what its chunks hold. Each adapter expresses both as its transport would: the
server pauses and closes the connection early, the httpx transports sleep and raise
`httpx.RemoteProtocolError`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl


class BadJson(ValueError):
    """The request body is not the JSON object the endpoint needs."""


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    """The first value of each query parameter."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Header names in lower case."""
    body: bytes = b""
    origin: str = "http://127.0.0.1"
    """scheme://host[:port] the client reached, used to build absolute URLs in answers."""

    @classmethod
    def build(
        cls,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        origin: str = "http://127.0.0.1",
    ) -> Request:
        """From a request line's target ("/path?query") and raw headers."""
        path, _, query = target.partition("?")
        params: dict[str, str] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            params.setdefault(name, value)
        return cls(
            method=method.upper(),
            path=path or "/",
            query=params,
            headers={name.lower(): value for name, value in headers},
            body=body,
            origin=origin.rstrip("/"),
        )

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            raise BadJson("the request body is not valid JSON") from None

    def json_object(self) -> dict[str, Any]:
        value = self.json()
        if not isinstance(value, dict):
            raise BadJson("the request body must be a JSON object")
        return value

    def bearer_key(self) -> str | None:
        """The key of `Authorization: Bearer <key>`, or None when absent or empty."""
        value = (self.header("authorization") or "").strip()
        scheme, _, key = value.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return None
        return key.strip()


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | Iterable[bytes] = b""
    chunk_delay: float = 0.0
    """Seconds to wait before each chunk after the first (a slow download)."""
    delay: float = 0.0
    """Seconds to wait before answering at all (a slow endpoint), outside the emulator's lock."""
    dropped: bool = False
    """No answer: the connection is closed once the request was handled (its effects stay)."""

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    def declared_length(self) -> int | None:
        value = self.header("content-length")
        return int(value) if value is not None and value.isdigit() else None

    def content(self) -> bytes:
        """The whole body at once (tests and JSON answers)."""
        return self.body if isinstance(self.body, bytes) else b"".join(self.body)

    def json(self) -> Any:
        return json.loads(self.content())


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Response(status, {"Content-Type": "application/json", **(headers or {})}, body=body)


def canonical_json(value: Any) -> bytes:
    """One encoding per value: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
