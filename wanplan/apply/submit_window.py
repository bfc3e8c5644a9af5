"""When a submit whose outcome is unknown can have made its task (PRODUCT §6).

A submit is sent at `sent_at` and fails, or is cut off by a kill, at some moment after. The
provider can have made its task only after the send, and before: the failure, when the
provider itself answered an error (a 500, an unreadable answer); the failure plus the submit
timeout when something between gave up (a 502 or 504, a timeout, a dropped connection), since
the provider may still be handling it; and, when the process died, the moment apply would have
given up on the answer plus the submit timeout again. The journal keeps the end in
`unknown_until` (for a killed submit, its give-up moment; `window` adds the rest). Both ends
are padded for the difference between our clock and the provider's. The provider's task list
may show a new task only after a lag: a window can be judged "no task" only once that lag has
passed after its end.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from wanplan.config import ProviderSettings
from wanplan.providers import wire
from wanplan.state.records import INTENT, TaskRecord, epoch

SUBMIT_TIMEOUT = 30.0
CLOCK_PAD = 2.0
# On loopback (the emulator) answers are immediate and the clock is ours.
LOOPBACK_SUBMIT_TIMEOUT = 5.0
LOOPBACK_LISTING_LAG = 3.0
LOOPBACK_CLOCK_PAD = 1.25
"""Above a second: a provider may stamp its tasks to the whole second, truncated."""


@dataclass(frozen=True)
class SubmitTiming:
    submit_timeout: float
    listing_lag: float
    clock_pad: float

    @classmethod
    def of(cls, provider: type[object], settings: ProviderSettings, base_url: str) -> SubmitTiming:
        """From wanplan.toml, else the provider's own defaults (DEFAULT_SUBMIT_TIMEOUT,
        DEFAULT_LISTING_LAG, CLOCK_PAD), else these (loopback's)."""
        loopback = wire.is_loopback(urlsplit(base_url).hostname or "")
        timeout = settings.submit_timeout or getattr(provider, "DEFAULT_SUBMIT_TIMEOUT", None)
        if timeout is None:
            timeout = LOOPBACK_SUBMIT_TIMEOUT if loopback else SUBMIT_TIMEOUT
        lag = settings.listing_lag
        if lag is None:
            lag = LOOPBACK_LISTING_LAG if loopback else getattr(provider, "DEFAULT_LISTING_LAG", 0)
        pad = getattr(provider, "CLOCK_PAD", None)
        if pad is None:
            pad = LOOPBACK_CLOCK_PAD if loopback else CLOCK_PAD
        return cls(float(timeout), float(lag), float(pad))

    def window(self, task: TaskRecord) -> tuple[float, float]:
        """Epoch seconds between which the provider may have made this row's task."""
        sent = epoch(task.sent_at or task.submitted_at)
        end = epoch(task.unknown_until) if task.unknown_until else sent + self.submit_timeout
        if task.status == INTENT:
            # The process died: the request may have reached the provider as late as when
            # apply would have given up on it, and been handled for as long again.
            end += self.submit_timeout
        return sent - self.clock_pad, end + self.clock_pad

    def settles_at(self, task: TaskRecord) -> float:
        """From when the task list shows every task made in the window."""
        return self.window(task)[1] + self.listing_lag
