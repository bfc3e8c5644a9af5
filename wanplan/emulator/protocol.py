"""The interface each wire protocol module implements. The emulator routes a request to the
protocol that owns its path, checks the key and injects faults, and lets the protocol answer
everything, errors included, in its provider's own shape."""

from __future__ import annotations

from typing import Any, Protocol

from wanplan.emulator.faults import Fault
from wanplan.emulator.tasks import Task
from wanplan.emulator.wire import Request, Response


class WireProtocol(Protocol):
    name: str

    def owns(self, path: str) -> bool:
        """Whether this path belongs to this provider's API."""
        ...

    def handle(self, request: Request, key_id: str) -> Response:
        """Answer an authenticated request (may raise wire.BadJson)."""
        ...

    def unauthorized(self, request: Request) -> Response: ...

    def fault(self, request: Request, fault: Fault) -> Response:
        """An injected 429 or 5xx; a 429 (and a 503) carries `Retry-After`."""
        ...

    def bad_request(self, request: Request, message: str) -> Response: ...

    def notification(self, task: Task) -> tuple[str, Any] | None:
        """(URL, JSON body) of the webhook or callback due for a finished task, if any."""
        ...


def retry_after_headers(fault: Fault) -> dict[str, str]:
    return {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
