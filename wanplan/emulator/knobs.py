"""The emulator's knobs: everything a test or a user can turn, all off by default except a small
task latency. Knobs are validated on assignment, so `emulator.knobs.latency = 0.5` and
`POST /_emulator/knobs {"latency": 0.5}` both change a running emulator safely.

Faults (429, 5xx) hit only provider API requests: not result downloads, upload storage or the
admin endpoints. Bursts count down: `rate_limit_burst = 3` answers the next three with 429 and
reads 0 afterwards.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SERVER_ERROR_STATUSES = (500, 502, 503, 504)
HostileShape = Literal[
    "not_json",
    "not_object",
    "huge",
    "deep",
    "id_number",
    "id_object",
    "status_number",
    "status_unknown",
    "status_missing",
    "result_wrong_type",
    "nulls",
    "envelope_not_object",
]
"""The hostile answers hostile.py serves."""


class Knobs(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    latency: float = Field(0.2, ge=0)
    """Seconds from a task's start to its end (fixed when it is submitted); the first quarter
    is spent queued."""
    time_scale: float = Field(0.01, gt=0, le=1)
    """How much faster than real time the emulator runs. Every API answer says it in the
    `X-Wanplan-Time-Scale` header, and wanplan scales the providers' advised polling rhythm by
    it (a 50 s first wait becomes 0.5 s at 0.01)."""

    fail_marker: str = Field("[fail]", min_length=1)
    """A prompt containing it fails; `[fail:CODE]` fails with that provider code."""
    failure_rate: float = Field(0.0, ge=0, le=1)
    """Share of the other tasks that fail, drawn from a RNG seeded with `failure_seed`."""
    failure_seed: int = 0

    rate_limit_burst: int = Field(0, ge=0)
    """The next N API requests answer 429 (counts down)."""
    rate_limit_every: int = Field(0, ge=0)
    """Every Kth API request, counted from when this knob was set, answers 429 (0: never)."""
    retry_after: int = Field(1, ge=0)
    """Seconds announced in `Retry-After` on 429 (and 503)."""
    server_error_burst: int = Field(0, ge=0)
    """The next N API requests answer `server_error_status` (counts down)."""
    server_error_every: int = Field(0, ge=0)
    """Every Kth API request, counted from when this knob was set, answers 5xx (0: never)."""
    server_error_status: int = 500
    fault_methods: list[str] | None = None
    """Limit 429 and 5xx injection to these HTTP methods (e.g. ["GET"]: polls only)."""

    task_ttl: float | None = Field(None, ge=0)
    """Seconds after submit when a task is forgotten (DashScope UNKNOWN, 404 elsewhere)."""
    url_ttl: float | None = Field(None, ge=0)
    """Seconds a result URL stays valid; polling again gives a fresh URL."""
    truncate_downloads: bool = False
    """Result downloads announce the full Content-Length and send only half the bytes."""
    download_delay: float = Field(0.0, ge=0)
    """Seconds between chunks of a result download."""
    download_chunk_size: int = Field(16 * 1024, ge=1)

    price_quote_status: int = Field(200, ge=200, le=599)
    """HTTP status of WaveSpeed's free price quote (`POST /api/v3/model/price`); anything but
    200 answers an error, as a quote that fails."""
    price_discount_rate: Decimal | None = Field(None, ge=0, le=1)
    """The account's discount: the quote then also gives `discounted_price` (the price less
    this share) and `discount_rate`, as WaveSpeed's does for a discounted account."""

    hostile_marker: str = "[hostile]"
    """The hostile knobs below touch only tasks whose prompt contains this ("": every task)."""
    hostile_submit: HostileShape | None = None
    """Submit answers of marked tasks take this shape (hostile.py lists them)."""
    hostile_poll: HostileShape | None = None
    """Poll answers of marked tasks take this shape."""
    result_url_override: str | None = None
    """Marked tasks give this as their result URL (another host, a private address, file:...)."""
    download_content_type: str | None = None
    """Result downloads of marked tasks are served with this Content-Type."""
    redirect_downloads: str | None = None
    """Result downloads of marked tasks answer 302 with this Location."""

    drop_answer_rate: float = Field(0.0, ge=0, le=1)
    """Share of submits whose task is made and whose connection is then dropped without an
    answer (the client cannot know a task exists), drawn from a RNG seeded with `drop_seed`."""
    drop_seed: int = 0
    price_quote_delay: float = Field(0.0, ge=0)
    """Seconds WaveSpeed's free price quote takes to answer."""
    listing_lag: float = Field(0.0, ge=0)
    """Seconds before a new task shows in WaveSpeed's prediction history and DashScope's task
    list (queries of the task itself see it at once)."""
    other_client_rate: float = Field(0.0, ge=0, le=1)
    """Share of submits beside which another client on the same account makes a task of the
    same model at the same moment (with its own prompt), drawn from `drop_seed`'s RNG too."""

    balance: float = Field(100.0, ge=0)
    """The account's balance in USD, as WaveSpeed's and APIXO's balance endpoints report it."""
    concurrency_cap: int | None = Field(None, ge=1)
    """Tasks in flight per API key (WaveSpeed/APIXO queue the rest; DashScope/wanapi answer 429)."""
    api_keys: list[str] | None = Field(None, repr=False)
    """Accepted keys; None accepts any non-empty Bearer key. Never shown by `public()`."""

    @field_validator("server_error_status")
    @classmethod
    def _known_status(cls, value: int) -> int:
        if value not in SERVER_ERROR_STATUSES:
            raise ValueError(f"must be one of {', '.join(map(str, SERVER_ERROR_STATUSES))}")
        return value

    @field_validator("fault_methods")
    @classmethod
    def _upper(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [method.upper() for method in value]

    def update(self, changes: dict[str, Any]) -> None:
        """Apply several changes at once, all or none (raises pydantic.ValidationError)."""
        merged = self.model_validate({**self.model_dump(), **changes})
        for name in changes:
            setattr(self, name, getattr(merged, name))

    def public(self) -> dict[str, Any]:
        """The knobs as JSON, with accepted keys replaced by their count."""
        data = self.model_dump()
        keys = data.pop("api_keys")
        data["api_keys"] = None if keys is None else f"[{len(keys)} redacted]"
        return data
