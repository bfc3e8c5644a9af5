"""The request log: every request the emulator answered, for tests to assert on.

The Authorization header is redacted before anything is stored (its scheme is kept, so a test
can still see that a Bearer key was sent), and so are query parameters that carry credentials;
no key is ever stored or printed. Long strings in
JSON bodies (data: URLs) are shortened so the log stays readable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from wanplan.emulator.wire import Request

REDACTED = "[REDACTED]"
LOGGED_HEADERS = (
    "authorization",
    "content-type",
    "content-length",
    "user-agent",
    "x-dashscope-async",
    "x-dashscope-ossresourceresolve",
    "x-dashscope-workspace",
    "x-client-name",
)
SECRET_QUERY = ("token", "key", "api_key", "apikey", "access_token")
"""Query parameters whose values are never logged (the upload ticket's token, stray keys)."""
_LONG = 200


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    time: float
    provider: str
    """wavespeed, dashscope, apixo, wanapi, or files (result downloads), or unknown."""
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    json: Any
    """The parsed JSON body, None when there is none or it is not JSON."""
    status: int
    fault: str | None = None
    """"429" or "5xx" when the answer was an injected fault; "dropped" when a submit made its
    task and the connection was then closed without an answer."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "provider": self.provider,
            "method": self.method,
            "path": self.path,
            "query": dict(self.query),
            "headers": dict(self.headers),
            "json": self.json,
            "status": self.status,
            "fault": self.fault,
        }


def redact_authorization(value: str) -> str:
    scheme, _, rest = value.strip().partition(" ")
    return f"{scheme} {REDACTED}" if rest else REDACTED


def logged_headers(request: Request) -> dict[str, str]:
    headers = {name: request.headers[name] for name in LOGGED_HEADERS if name in request.headers}
    if "authorization" in headers:
        headers["authorization"] = redact_authorization(headers["authorization"])
    return headers


def logged_query(request: Request) -> dict[str, str]:
    return {
        name: REDACTED if name.lower() in SECRET_QUERY else value
        for name, value in request.query.items()
    }


def shorten(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _LONG:
        return f"{value[:_LONG]}…({len(value)} chars)"
    if isinstance(value, list):
        return [shorten(item) for item in value]
    if isinstance(value, dict):
        return {key: shorten(item) for key, item in value.items()}
    return value


def logged_json(request: Request) -> Any:
    content_type = request.header("content-type")
    if not request.body or (content_type is not None and "json" not in content_type):
        return None
    try:
        return shorten(request.json())
    except ValueError:
        return None


class RequestLog:
    """Thread-safe, append-only; `entries()` is a snapshot."""

    def __init__(self, on_entry: Callable[[LoggedRequest], None] | None = None) -> None:
        self._entries: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self._on_entry = on_entry

    def add(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._entries.append(entry)
        if self._on_entry is not None:
            self._on_entry(entry)

    def entries(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
