"""HTTP faults injected before a provider API request is handled: 429 bursts (answered with a
`Retry-After` header) and 5xx, either the next N requests or every Kth. The protocol module
formats the answer in its provider's own shape."""

from __future__ import annotations

from dataclasses import dataclass

from wanplan.emulator.knobs import Knobs


@dataclass(frozen=True, slots=True)
class Fault:
    status: int
    retry_after: int | None

    @property
    def label(self) -> str:
        return "429" if self.status == 429 else "5xx"


class FaultInjector:
    def __init__(self) -> None:
        self._count = 0

    def reset(self) -> None:
        self._count = 0

    def next(self, method: str, knobs: Knobs) -> Fault | None:
        """The fault for this request, if any; counts the request and spends bursts."""
        if knobs.fault_methods is not None and method.upper() not in knobs.fault_methods:
            return None
        self._count += 1
        if knobs.rate_limit_burst > 0:
            knobs.rate_limit_burst -= 1
            return Fault(429, knobs.retry_after)
        if knobs.rate_limit_every and self._count % knobs.rate_limit_every == 0:
            return Fault(429, knobs.retry_after)
        status = knobs.server_error_status
        retry_after = knobs.retry_after if status == 503 else None
        if knobs.server_error_burst > 0:
            knobs.server_error_burst -= 1
            return Fault(status, retry_after)
        if knobs.server_error_every and self._count % knobs.server_error_every == 0:
            return Fault(status, retry_after)
        return None
