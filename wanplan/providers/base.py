"""The provider interface. A provider turns a GenerationRequest into a task on its service and
reports on it; the apply engine does everything else (journal, polling rhythm, download).

A provider receives its httpx client and never builds one itself, so tests hand it a
MockTransport or the emulator, and the engine controls limits and timeouts in one place. The
client carries no credentials: a provider adds its key to its own API calls only, so the key
never travels to an upload host or a result URL on another host.

Spend: the ledger records, per collected task, the best figure there is (wanplan/cost/spend.py):
the provider's own amount (`TaskStatus.reported_cost`), else its billed usage priced at the
catalog's unit price (`TaskStatus.billed_seconds`), else a price quote it gave for the request
(`SubmittedTask.quoted_cost`), else the plan's estimate. All three are optional: a provider that
knows none of them leaves them None, and the ledger says "estimate".
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar, Protocol, runtime_checkable

import httpx

from wanplan.config import ProviderSettings


@dataclass(frozen=True, slots=True)
class RequestInput:
    field: str
    """Spec field: image, first_frame, last_frame, audio, video, references[N]."""
    source: str
    """Project-relative path of a local file, or an https URL."""
    sha256: str | None
    path: Path | None = None
    """The local file to upload; None for a URL. Its own name may say nothing (another
    asset's output is read from the cache, named by its sha256): see `name`."""
    sent_as: str | None = None
    """Where the provider reads the local file once `prepare` has uploaded it."""

    @property
    def name(self) -> str:
        """The file's name as the project knows it, with the extension that says its type."""
        return PurePosixPath(self.source).name


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    address: str
    content_key: str
    model_id: str
    mode: str
    params: Mapping[str, Any]
    inputs: tuple[RequestInput, ...] = ()

    def input(self, name: str) -> RequestInput | None:
        return next((i for i in self.inputs if i.field == name), None)


@dataclass(frozen=True, slots=True)
class SubmittedTask:
    task_id: str
    quote: Callable[[], Awaitable[Decimal | None]] | None = field(default=None, compare=False)
    """The provider's own price quote for this request, when it gives one (WaveSpeed). The
    engine awaits it only after the task id is committed: nothing delays that commit."""


@dataclass(frozen=True, slots=True)
class ListedTask:
    """A task in the provider's list of the account's tasks (PROVIDERS.md §4c)."""

    task_id: str
    created_at: float
    """Epoch seconds, as the provider stamped it."""
    prompt: str | None = None
    """The prompt the task was made from, where the listing gives it."""


@dataclass(frozen=True, slots=True)
class TaskListing:
    tasks: tuple[ListedTask, ...]
    complete: bool
    """False when the listing was cut short (too many pages): absence then proves nothing."""


class TaskState(enum.Enum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    GONE = "gone"
    """The provider no longer knows the task (expired): it must be generated again."""


@dataclass(frozen=True, slots=True)
class TaskStatus:
    state: TaskState
    result_urls: tuple[str, ...] = ()
    error: str | None = None
    reported_cost: Decimal | None = None
    """What the provider says the task cost, in USD."""
    billed_seconds: float | None = None
    """Seconds of output the provider says it bills (DashScope `usage.video_duration`); the
    engine prices them at the catalog's unit price for the asset's model and resolution."""
    duration: float | None = None
    """Seconds the task took at the provider, when it says (polling learns from it)."""
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderContext:
    """What the engine hands a provider."""

    settings: ProviderSettings
    client: httpx.AsyncClient
    base_url: str
    api_key: str | None = field(repr=False)  # never in a repr or a log
    key_env: str | None


class Provider(Protocol):
    name: ClassVar[str]
    key_env: ClassVar[str | None]
    """The environment variable holding the API key by default; None when no key is needed."""

    def __init__(self, context: ProviderContext) -> None: ...

    @classmethod
    def default_base_url(cls, settings: ProviderSettings) -> str:
        """The base URL when neither WANPLAN_<P>_BASE_URL nor wanplan.toml names one."""
        ...

    @classmethod
    def make_client(cls, settings: ProviderSettings) -> httpx.AsyncClient:
        """The client the engine hands to the provider (and downloads results with)."""
        ...

    def poll_delay(self, attempt: int) -> float:
        """Seconds to wait before poll number `attempt` (0 = the first), as the provider advises.
        (A `poll_interval` in wanplan.toml overrides it; the engine applies that.)"""
        ...

    async def submit(self, request: GenerationRequest) -> SubmittedTask: ...

    async def poll(self, task_id: str, model_id: str) -> TaskStatus: ...


@runtime_checkable
class PreparesInputs(Protocol):
    """A provider whose submit sends input files first (uploads): `prepare` does that apart,
    so that the submit itself is one request, the only one that can make a task."""

    async def prepare(self, request: GenerationRequest) -> GenerationRequest:
        """The request with each local input's `sent_as` set; raises InputNotSent."""
        ...


@runtime_checkable
class QuotesPrices(Protocol):
    """A provider that quotes the price of a request for free (WaveSpeed)."""

    async def quote_request(self, request: GenerationRequest) -> Decimal:
        """What the account would be charged for it in USD (the discounted price where the
        provider gives one); a ProviderError says why there is no quote."""
        ...


@runtime_checkable
class ReportsBalance(Protocol):
    """A provider whose account balance can be read (PROVIDERS.md §4d)."""

    async def balance(self) -> Decimal | None:
        """The balance in USD; None when the answer gives none to trust."""
        ...


@runtime_checkable
class ListsTasks(Protocol):
    """A provider that can list the account's tasks: a submit whose outcome is unknown is
    reconciled against it (apply/reconcile.py)."""

    DEFAULT_LISTING_LAG: ClassVar[float]
    """Seconds a new task may take to appear in the listing (a conservative default)."""

    async def list_tasks(self, model_id: str, after: float, before: float) -> TaskListing:
        """The account's tasks of this model created between two epoch times."""
        ...

    async def task_prompt(self, task_id: str, model_id: str) -> str | None:
        """The prompt a task was made from, where the provider tells it; else None."""
        ...
