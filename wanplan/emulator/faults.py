"""HTTP faults injected before a provider API request is handled: 429 bursts (answered with a
`Retry-After` header) and 5xx, either the next N requests or every Kth request counted from the
moment that knob was set. The protocol module formats the answer in its provider's own shape."""

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


class _EveryKth:
    """Counts requests since its knob last changed value."""

    def __init__(self) -> None:
        self._every = 0
        self._count = 0

    def hit(self, every: int) -> bool:
        if every != self._every:
            self._every, self._count = every, 0
        if not every:
            return False
        self._count += 1
        return self._count % every == 0


class FaultInjector:
    def __init__(self) -> None:
        self._rate_limits = _EveryKth()
        self._server_errors = _EveryKth()

    def reset(self) -> None:
        self._rate_limits = _EveryKth()
        self._server_errors = _EveryKth()

    def next(self, method: str, knobs: Knobs) -> Fault | None:
        """The fault for this request, if any; counts the request and spends bursts."""
        if knobs.fault_methods is not None and method.upper() not in knobs.fault_methods:
            return None
        rate_limited = self._rate_limits.hit(knobs.rate_limit_every)
        server_error = self._server_errors.hit(knobs.server_error_every)
        if knobs.rate_limit_burst > 0:
            knobs.rate_limit_burst -= 1
            return Fault(429, knobs.retry_after)
        if rate_limited:
            return Fault(429, knobs.retry_after)
        status = knobs.server_error_status
        retry_after = knobs.retry_after if status == 503 else None
        if knobs.server_error_burst > 0:
            knobs.server_error_burst -= 1
            return Fault(status, retry_after)
        if server_error:
            return Fault(status, retry_after)
        return None
