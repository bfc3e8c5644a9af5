"""The apply engine: asyncio, one task per change, providers called within their limits.

For a generated asset the order is the journal's: intent recorded, submit, task id committed,
poll, download into the cache, output materialised, and only then, in one transaction, the
generation, the spend and the asset's new current key. A crash anywhere leaves a state from
which the next plan resumes instead of paying again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import random
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from wanplan import confine
from wanplan.apply import provenance, reconcile
from wanplan.apply.backend_thread import BackendThread
from wanplan.apply.backoff import Backoff
from wanplan.apply.disk_space import check_free_space
from wanplan.apply.download import Downloaded, DownloadError, download
from wanplan.apply.events import (
    ApplyEvent,
    ApplyResult,
    AssetOutcome,
    EventSink,
    UnrecordedTask,
    ignore,
)
from wanplan.apply.failures import (
    AssetFailed,
    Interrupted,
    unconfirmed_failure,
    unconfirmed_failure_for,
)
from wanplan.apply.foreground import Foreground
from wanplan.apply.limits import TokenBucket, Unlimited
from wanplan.apply.outputs import Collected, Outputs
from wanplan.apply.polling import JITTER, PollSchedule
from wanplan.apply.providers import ProviderSetup, providers_needed, setup_providers
from wanplan.apply.retry import (
    read_is_retryable,
    submit_is_retryable,
    surely_refused,
    with_retries,
)
from wanplan.apply.team import Runner, RunnerSettings, SharedRate
from wanplan.blobs import BlobStore
from wanplan.blobs.s3 import CacheRefused
from wanplan.confine import OUTPUTS
from wanplan.cost.spend import task_spend
from wanplan.errors import (
    EXIT_INTERRUPTED,
    ProviderAuthError,
    ProviderError,
    StateWriteError,
    WanplanError,
)
from wanplan.key.file_hashes import sha256_file
from wanplan.plan.model import Action, Plan, PlanChange
from wanplan.project import OUTPUTS_DIR, Project, declared_output_path
from wanplan.providers import wire
from wanplan.providers.base import (
    GenerationRequest,
    ListsTasks,
    PreparesInputs,
    Provider,
    RequestInput,
    SubmittedTask,
    TaskState,
    TaskStatus,
)
from wanplan.spec.resolved import ResolvedAsset
from wanplan.state.base import StateWriter
from wanplan.state.records import (
    ABANDONED,
    FAILED,
    NOT_CREATED,
    SUBMITTED,
    SUCCEEDED,
    AssetRecord,
    TaskRecord,
    iso,
)

DEFAULT_CONCURRENCY = 4
MAX_DOWNLOADS = 16
MAX_WAIT_SECONDS = 3 * 3600
MAX_UNKNOWN_OUTCOMES = 2
"""Submits of one asset in a row that may end without an answer. A task list that shows no
task proves none was made only if it lags no more than `listing_lag`: the last submit's "none"
is not taken on trust (its row stays unconfirmed), so a list that lags more costs at most one
extra task, never a string of them."""
MAX_LIST_READS = 9
"""Readings of a task list for one unknown submit that still says to wait."""
INLINE_BYTES_PER_SECOND = 128 * 1024
"""The slowest upload a submit carrying its input files is given time for."""
QUOTE_GRACE_SECONDS = 1.0
"""How long a price quote may take after the task id is committed; a later one is dropped."""


T = TypeVar("T")


class ApplyEngine:
    def __init__(
        self,
        project: Project,
        state: StateWriter,
        blobs: BlobStore,
        setups: dict[str, ProviderSetup],
        *,
        concurrency: int | None = None,
        on_event: EventSink = ignore,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
        runner: RunnerSettings | None = None,
    ) -> None:
        self.project = project
        self.setups = setups
        self.state = state
        self.blobs = blobs
        self.outputs = Outputs(project, state, blobs, self._store)
        self.concurrency = concurrency
        self.emit = on_event
        self.providers: dict[str, Provider] = {}
        self.clients: dict[str, httpx.AsyncClient] = {}
        self.slots: dict[str, asyncio.Semaphore] = {}
        self.stopped_by: str | None = None
        self.interrupted = False
        self.rates: dict[str, TokenBucket | Unlimited | SharedRate] = {}
        self.time_scale: dict[str, float] = {}
        self.schedules: dict[tuple[str, str], PollSchedule] = {}
        self.learned: dict[tuple[str, str], asyncio.Event] = {}
        self.downloads = asyncio.Semaphore(MAX_DOWNLOADS)
        self._generated: dict[str, asyncio.Event] = {}
        self._uncollected: dict[int, Decimal | None] = {}
        """Tasks this apply sent or resumed and has not collected yet, by journal row: what
        each costs (paid, or being paid), until collected or failed at the provider."""
        self._producing: set[str] = set()
        """Content keys this plan has a provider make."""
        self._records: dict[str, AssetRecord] = {}
        self._kept_paths: set[str] = set()
        """The output files of the addresses that stay: a delete or a move never removes them."""
        """The state's assets as this run began (an upstream's output file, by address)."""
        self._submitting: set[str] = set()
        self.foreground: dict[str, Foreground] = {}
        """Per provider: its polls and submits go before collecting its results."""
        self._signals: list[signal.Signals] = []
        self.backoff = backoff or Backoff()
        self.rng = rng or random.Random()
        """Jitter for retries (a seeded one makes a run repeatable)."""
        self._gates: dict[tuple[str, str], asyncio.Lock] = {}
        self.one_submit_per_model = True
        self.unrecorded: list[UnrecordedTask] = []
        """Tasks made whose ids the state could not record (a full disk): for `import`."""
        self._backend = BackendThread()
        """The state's calls run here, one at a time, urgent ones first, off the event loop: a
        slow (network) state never stalls polls, downloads or submits. The cache's run in
        threads of their own (a download must not hold up the heartbeat)."""
        self.runner = (
            Runner(runner.coordination, self._urgent, runner.holder, runner.lease_seconds)
            if runner is not None
            else None
        )
        """This apply among others sharing the state (PRODUCT §11); None: it runs alone."""
        self.draws_reservation = runner is not None and runner.reserved
        """Whether this apply reserved its estimate against max_per_day: each paid task's
        estimate is drawn from the reservation as its id is committed (counted as spent)."""

    async def _store(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`call(*args)` on the backends' thread (see `_backend`). Shielded: once asked for,
        a write is made even when its asset is cancelled (Ctrl-C) while it waits its turn,
        as it was when the engine wrote the state on the event loop."""
        return await self._backend.run(call, *args, **kwargs)

    async def _urgent(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """The same, before any routine call waiting: a step that keeps the provider busy
        (a submit's journal row and task id, a slot, a model's gate, a claim)."""
        return await self._backend.run(call, *args, urgent=True, **kwargs)

    async def run(self, plan: Plan) -> ApplyResult:
        result = ApplyResult()
        self._producing = {c.asset.content_key for c in plan.changes if c.asset and c.generates}
        self._records = await self._store(self.state.assets, plan.profile)
        for record in await self._store(self.state.all_assets):
            self.outputs.holders.setdefault(record.output_path, set()).add(record.address)
            self.outputs.recorded[record.output_path] = record.output_sha256
        self.outputs.changing = {c.address for c in plan.changes}
        self.outputs.changing |= {c.moved.address for c in plan.changes if c.moved is not None}
        going = {c.address for c in plan.changes if c.action is Action.DELETE}
        going |= {c.moved.address for c in plan.changes if c.moved is not None}
        self._kept_paths = {r.output_path for a, r in self._records.items() if a not in going}
        try:
            await self._cache_move_sources(plan)
            if self.runner is not None:
                self.runner.start()
            for setup in self.setups.values():
                self._start(setup)
            tasks = [
                asyncio.create_task(self._apply_one(plan, change), name=change.address)
                for change in plan.changes
            ]
            self._watch_interrupts(tasks)
            result.outcomes.extend(await asyncio.gather(*tasks))
        finally:
            self._unwatch_interrupts()
            for client in self.clients.values():
                await client.aclose()
            if self.runner is not None:
                await self.runner.stop()
        result.unrecorded.extend(self.unrecorded)
        result.uncollected.extend(self._uncollected.values())
        with contextlib.suppress(StateWriteError):  # a cache of input hashes, not a record
            await self._store(self.state.save_file_stamps, plan.fresh_file_stamps)
        return result

    def close(self) -> None:
        """Wait for the backends' thread: a write a cancelled asset left running finishes
        before the state is handed back (and unlocked)."""
        self._backend.close()

    # ---- Ctrl-C --------------------------------------------------------------------------

    def _watch_interrupts(self, tasks: list[asyncio.Task[AssetOutcome]]) -> None:
        """First Ctrl-C (or SIGTERM): no new submits; a submit under way finishes and records
        its task id; everything else stops where it is, already recorded. Second: exit now,
        which is still safe, since every step is committed in one transaction."""
        loop = asyncio.get_running_loop()

        def interrupt() -> None:
            if self.interrupted:
                os.write(2, b"\nwanplan: interrupted again, exiting now; the state is safe\n")
                os._exit(EXIT_INTERRUPTED)
            self.interrupted = True
            self.emit(ApplyEvent("", "interrupted", "stopping: no new submits"))
            for task in tasks:
                if task.get_name() not in self._submitting:
                    task.cancel()

        self._signals = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, interrupt)
            except (NotImplementedError, RuntimeError, ValueError):
                continue  # not the main thread, or no signals here: Ctrl-C stays Python's
            self._signals.append(signum)

    def _time_scale_hook(self, name: str) -> Callable[[httpx.Response], Awaitable[None]]:
        """The emulator runs faster than real time and says how much (PRODUCT §9): the advised
        polling rhythm shrinks with it. Honoured on loopback only, and never to poll slower."""

        async def hook(response: httpx.Response) -> None:
            value = response.headers.get(wire.TIME_SCALE_HEADER)
            if value is None:
                return
            try:
                scale = float(value)
            except ValueError:
                return
            if 0 < scale <= 1:
                self.time_scale[name] = scale

        return hook

    def _unwatch_interrupts(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in self._signals:
            loop.remove_signal_handler(signum)

    def _start(self, setup: ProviderSetup) -> None:
        client = setup.client()
        per_minute = setup.settings.requests_per_minute
        if per_minute and self.runner is not None:
            self.rates[setup.name] = self.runner.rate(setup.name, per_minute)
        else:
            self.rates[setup.name] = TokenBucket(per_minute) if per_minute else Unlimited()
        self.time_scale[setup.name] = 1.0
        if wire.is_loopback(urlsplit(setup.base_url).hostname or ""):
            client.event_hooks["response"].append(self._time_scale_hook(setup.name))
        self.clients[setup.name] = client
        self.providers[setup.name] = setup.build(client)
        limit = self.concurrency or setup.settings.concurrency or DEFAULT_CONCURRENCY
        self.slots[setup.name] = asyncio.Semaphore(limit)
        self.foreground[setup.name] = Foreground()

    async def _apply_one(self, plan: Plan, change: PlanChange) -> AssetOutcome:
        started = time.monotonic()
        try:
            if change.action is Action.DELETE:
                return await self._delete(plan, change)
            if change.action is Action.UNCONFIRMED and self.runner is None:
                raise AssetFailed(unconfirmed_failure(change))
            if change.waits_for is not None:
                return await self._copy_when_generated(plan, change, started)
            try:
                if change.source is not None:  # a move from the old file may be waited for too
                    return await self._restore(plan, change, started)
                return await self._generate(plan, change, started)
            finally:
                if change.asset is not None:
                    self._finished(change.asset.content_key).set()
                    if self.runner is not None and change.source is None:
                        await self.runner.release(change.asset.content_key)
        except (AssetFailed, WanplanError) as exc:  # a shared state or cache out of reach
            self.emit(ApplyEvent(change.address, "failed", str(exc), time.monotonic() - started))
            return AssetOutcome(change.address, change.action, ok=False, error=str(exc))
        except (asyncio.CancelledError, Interrupted):
            if not self.interrupted:
                raise
            return AssetOutcome(
                change.address, change.action, ok=False, error="interrupted", interrupted=True
            )
        except Exception as exc:  # a bug or an unforeseen answer: this asset fails, not all
            reason = f"unexpected {type(exc).__name__}: {exc}"
            self.emit(ApplyEvent(change.address, "failed", reason, time.monotonic() - started))
            return AssetOutcome(change.address, change.action, ok=False, error=reason)

    # ---- no provider call ----------------------------------------------------------------

    async def _delete(self, plan: Plan, change: PlanChange) -> AssetOutcome:
        record = change.previous
        assert record is not None
        await self._forget(plan, record)
        self.emit(ApplyEvent(change.address, "deleted", record.output_path))
        return AssetOutcome(change.address, change.action, ok=True)

    async def _cache_move_sources(self, plan: Plan) -> None:
        """Every old file a move takes its result from goes into the cache before any output
        is written or removed: moves that trade paths (two assets swapping their output
        names) cannot overwrite a result not yet kept. A source that cannot be cached fails
        its own change later, when `_restore` tries again."""
        for change in plan.changes:
            if change.file_source is not None and change.source is not None:
                with contextlib.suppress(AssetFailed, OSError, WanplanError):
                    await self._cache_moved_file(change.file_source, change.source.blob_sha256)

    async def _cache_moved_file(self, record: AssetRecord, sha256: str) -> None:
        """A move planned from the old file (its result was not in the cache): the file goes
        into the cache first, checked to be the very bytes recorded."""
        if await asyncio.to_thread(self.blobs.has, sha256):
            return
        path = self.project.root / record.output_path
        try:
            confine.check_destination(self.project.outputs_dir, path, OUTPUTS)
            added = await asyncio.to_thread(self.blobs.add_file, path)
        except (OSError, confine.Confined) as exc:
            raise AssetFailed(
                f"{record.output_path}, the result it moves from, cannot be read ({exc}); "
                "plan again"
            ) from None
        if added != sha256:
            raise AssetFailed(
                f"{record.output_path}, the result it moves from, changed since the plan; plan "
                "again"
            )

    async def _forget(self, plan: Plan, record: AssetRecord, keep: str = "") -> None:
        """Forget an address and remove its output file, unless that path is another's now:
        the new address of a move (`keep`), an address that stays, or a file this apply
        writes."""
        path = record.output_path
        if path != keep and path not in self._kept_paths and path not in self.outputs.claimed:
            self.outputs.remove(record.output_path)
            provenance.remove(self.project.root, record.output_path)
        await self._store(self.state.forget_assets, plan.profile, [record.address])

    async def _restore(self, plan: Plan, change: PlanChange, started: float) -> AssetOutcome:
        source, asset = change.source, change.asset
        assert source is not None and asset is not None
        if change.file_source is not None:
            await self._cache_moved_file(change.file_source, source.blob_sha256)
        path = await self.outputs.materialise(plan, change, source.blob_sha256, source.extension)
        message = path
        if change.moved is not None:  # a rename: the old address goes once the new one is kept
            await self._forget(plan, change.moved, keep=path)
            message += f" (moved from {change.moved.address})"
        kind = "reused" if change.action is Action.REUSE else "repaired"
        self.emit(ApplyEvent(change.address, kind, message, time.monotonic() - started))
        return AssetOutcome(change.address, change.action, ok=True, output_path=path)

    def _finished(self, content_key: str) -> asyncio.Event:
        return self._generated.setdefault(content_key, asyncio.Event())

    async def _copy_when_generated(
        self, plan: Plan, change: PlanChange, started: float
    ) -> AssetOutcome:
        """Another change of this plan makes the same content: wait for it, copy its bytes."""
        asset = change.asset
        assert asset is not None
        await self._finished(asset.content_key).wait()
        source = await self._store(self.state.generation, asset.content_key)
        if source is None or not await asyncio.to_thread(self.blobs.has, source.blob_sha256):
            raise AssetFailed(f"skipped: {change.waits_for}, which makes the same content, failed")
        return await self._restore(plan, dataclasses.replace(change, source=source), started)

    # ---- generation ----------------------------------------------------------------------

    async def _generate(self, plan: Plan, change: PlanChange, started: float) -> AssetOutcome:
        asset = change.asset
        assert asset is not None
        provider = self.providers[asset.provider]
        # Paid before this apply only when planned as a resume: a key another runner submitted
        # meanwhile was in this plan's estimate.
        committed = change.action is Action.RESUME
        if self.runner is not None:
            change = await self._claimed(plan, provider, change)
            if change.source is not None:  # another runner made it meanwhile
                return await self._restore(plan, change, started)
        resuming = change.action is Action.RESUME and change.task is not None
        self._check_output_folder(asset, plan.profile)  # before paying for what cannot be kept
        if not resuming:  # a file of the user's in the way: said before paying, not after
            await asyncio.to_thread(
                self.outputs.check_before_paying, asset.address, asset.output, plan.profile
            )
        # Upstream outputs first, before taking a provider slot that the upstream may need.
        inputs = () if resuming else await self._request_inputs(asset)
        quote: asyncio.Future[Decimal | None] | None = None
        quoted: Decimal | None = None
        async with self._slot(asset.provider):
            if resuming:
                assert change.task is not None
                if not change.task.task_id:  # never submit (and pay) in place of a resume
                    raise AssetFailed("the task to resume has no task id; plan again")
                task_ref, task_id = change.task.id, change.task.task_id
                estimate = change.task.estimated_cost
                quoted = change.task.quoted_cost
                self._uncollected[task_ref] = quoted if quoted is not None else estimate
                submitted_at: float | None = None
                self.emit(
                    ApplyEvent(asset.address, "running", f"task {task_id} (submitted before)")
                )
            else:
                # --replace of a submit whose outcome is unknown: the user pays again
                # knowingly, and the old row is closed with the new one's intent, not before.
                replaces = change.task if change.task and change.task.outcome_unknown else None
                estimate = change.estimated_cost
                self.emit(ApplyEvent(asset.address, "submitting", "", time.monotonic() - started))
                task_ref, submitted = await self._submit(
                    plan, provider, asset, inputs, estimate, replaces
                )
                task_id = submitted.task_id
                self._uncollected[task_ref] = estimate
                submitted_at = time.monotonic()
                self.emit(
                    ApplyEvent(asset.address, "submitted", task_id, time.monotonic() - started)
                )
                if self.interrupted:
                    raise Interrupted
                if submitted.quote is not None:
                    quote = asyncio.ensure_future(self._quote(submitted, task_ref))
            # The slot is the provider's: held while the task runs there, given back as soon as
            # it ends, so the next submit does not wait for this download.
            try:
                status = await self._wait(provider, task_ref, task_id, asset.model_id, submitted_at)
                if quote is not None:
                    quoted = await quote
                    if quoted is not None:
                        self._uncollected[task_ref] = quoted
            finally:
                if quote is not None:
                    quote.cancel()
        ready_at, foreground = time.monotonic(), self.foreground[asset.provider]
        await foreground.collecting_turn(ready_at)
        async with self.downloads:
            await foreground.collecting_turn(ready_at)  # the wait for a download slot
            self.emit(ApplyEvent(asset.address, "downloading", "", time.monotonic() - started))
            fetched = await self._download(provider, task_id, asset, status.result_urls[0])
        collected = Collected(
            fetched,
            task_id,
            task_ref,
            task_spend(asset, status, quoted, estimate, self.project.catalog),
        )
        path = await self.outputs.materialise(
            plan, change, fetched.sha256, fetched.extension, collected
        )
        kind = {Action.CREATE: "created", Action.REPLACE: "replaced", Action.RESUME: "resumed"}.get(
            change.action, "repaired"
        )
        self._uncollected.pop(task_ref, None)
        spent = collected.spend.amount
        self.emit(ApplyEvent(asset.address, kind, path, time.monotonic() - started, spent))
        return AssetOutcome(
            change.address,
            change.action,
            ok=True,
            spent=spent,
            output_path=path,
            committed_before=committed,
        )

    async def _claimed(self, plan: Plan, provider: Provider, change: PlanChange) -> PlanChange:
        """The content key held for this runner, and the change as the state now has it.

        Another runner holding the key is waited for; then (or when its lease lapsed) the
        state says what is left to do: its generation, reused; a task recorded for the key,
        resumed, never submitted again; a submit whose outcome is unknown, reconciled; or
        nothing, and this runner generates it as planned."""
        asset = change.asset
        assert asset is not None and self.runner is not None
        key = asset.content_key

        def waiting(holder: str) -> None:
            self.emit(ApplyEvent(change.address, "waiting", f"another runner makes it ({holder})"))

        await self.runner.claim(key, waiting)
        if change.address not in plan.force_replace:
            made = await self._store(self.state.generation, key)
            if made is not None and await asyncio.to_thread(self.blobs.has, made.blob_sha256):
                return dataclasses.replace(change, action=Action.REUSE, source=made, task=None)
        resumed = change.task if change.action is Action.RESUME else None
        planned = resumed.id if resumed is not None else None
        rows = [
            t
            for t in await self._store(self.state.open_tasks)
            if t.content_key == key and t.id != planned
        ]
        for row in sorted(rows, key=lambda t: t.id, reverse=True):
            if row.task_id and not row.outcome_unknown:
                return dataclasses.replace(change, action=Action.RESUME, task=row)
        for row in rows:
            if row.outcome_unknown:
                adopted = await self._reconcile(provider, asset, row.id)
                if adopted is not None:
                    task = row._replace(task_id=adopted, status=SUBMITTED)
                    return dataclasses.replace(change, action=Action.RESUME, task=task)
        if change.action is Action.UNCONFIRMED:
            # Another runner held it while this one planned: settled now, no task was made.
            # Generating it is a cost this plan did not show: not paid without a new plan.
            raise AssetFailed(
                "its earlier submit made no task (settled by another runner); apply again to "
                "generate it"
            )
        return change

    def _check_output_folder(self, asset: ResolvedAsset, profile: str) -> None:
        folder = (
            self.project.root / declared_output_path(asset.address, asset.output, profile, "x")
        ).parent
        try:
            confine.check_folder(self.project.outputs_dir, folder, OUTPUTS)
        except confine.Confined as exc:
            where = self.project.relative(folder)
            raise AssetFailed(f"{where}/ {exc}; nothing was sent") from None

    @contextlib.asynccontextmanager
    async def _slot(self, provider: str) -> AsyncIterator[None]:
        """One of the provider's concurrent tasks (the account's, across runners sharing the
        state); while waiting for it, results are collected only when no slot needs
        refilling (foreground.py)."""
        slots = self.slots[provider]
        with self.foreground[provider].queued():
            await slots.acquire()
        try:
            if self.runner is None:
                yield
                return
            limit = self.setups[provider].settings.concurrency or DEFAULT_CONCURRENCY
            with self.foreground[provider].queued():
                shared = self.runner.slot(provider, limit)
                await shared.__aenter__()
            try:
                yield
            finally:
                await shared.__aexit__(None, None, None)
        finally:
            slots.release()

    async def _request_inputs(self, asset: ResolvedAsset) -> tuple[RequestInput, ...]:
        """The asset's inputs as files to send; another asset's output is waited for when this
        plan makes it, and taken from the cache."""
        inputs: list[RequestInput] = []
        for ref in asset.inputs:
            if ref.upstream_key is None:
                path = None if ref.is_url else self.project.root / ref.source
                inputs.append(RequestInput(ref.field, ref.source, ref.sha256, path))
                continue
            if ref.upstream_key in self._producing:  # made (or made again) by this plan
                await self._finished(ref.upstream_key).wait()  # set when its generation ends
            made = await self._store(self.state.generation, ref.upstream_key)
            if made is not None and not await asyncio.to_thread(self.blobs.has, made.blob_sha256):
                # The cache lost it (a fresh CI runner): the upstream's output has the bytes.
                await asyncio.to_thread(self._recache, ref.upstream, made.blob_sha256)
            if made is None or not await asyncio.to_thread(self.blobs.has, made.blob_sha256):
                raise AssetFailed(f"skipped: {ref.upstream}, whose output it uses, failed")
            # Blob calls (a download from a shared cache) run beside the state's thread, not
            # on it: they would hold up the heartbeat and every journal write.
            local = await asyncio.to_thread(self.blobs.local_path, made.blob_sha256)
            inputs.append(
                RequestInput(
                    ref.field,
                    f"{OUTPUTS_DIR}/{ref.upstream}.{made.extension}",
                    made.blob_sha256,
                    local,
                )
            )
        return tuple(inputs)

    def _recache(self, address: str | None, sha256: str) -> None:
        """Put an output back into the cache when its bytes are still the recorded ones."""
        record = self._records.get(address or "")
        if record is None or record.output_sha256 != sha256:
            return
        path = self.project.root / record.output_path
        with contextlib.suppress(OSError):
            if path.is_file() and sha256_file(path) == sha256:
                self.blobs.add_file(path)

    async def _submit(
        self,
        plan: Plan,
        provider: Provider,
        asset: ResolvedAsset,
        inputs: tuple[RequestInput, ...],
        estimate: Decimal | None,
        replaces: TaskRecord | None = None,
    ) -> tuple[int, SubmittedTask]:
        """Submit once, whatever fails (PRODUCT §6): the journal row is written just before
        the request and its task id committed before anything else; a refusal is retried
        (429, 503) or fails the asset; an unknown outcome is reconciled before anything is
        submitted again for the asset."""
        request = await self._prepare(
            provider,
            GenerationRequest(
                address=asset.address,
                content_key=asset.content_key,
                model_id=asset.model_id,
                mode=asset.mode,
                params=asset.params,
                inputs=inputs,
            ),
        )
        for attempt in range(1, MAX_UNKNOWN_OUTCOMES + 1):
            task_ref, submitted = await self._submit_once(
                plan, provider, asset, request, estimate, replaces
            )
            if submitted is not None:
                return task_ref, submitted
            last = attempt == MAX_UNKNOWN_OUTCOMES
            adopted = await self._reconcile(
                provider, asset, task_ref, replaces, trust_none=not last
            )
            if adopted is not None:
                return task_ref, SubmittedTask(adopted)
        raise AssetFailed(  # the last unknown submit's "none" is not trusted: not reached
            f"{MAX_UNKNOWN_OUTCOMES} submits in a row ended without an answer; apply again later"
        )

    async def _prepare(self, provider: Provider, request: GenerationRequest) -> GenerationRequest:
        """Send the input files first (uploads): a failure there made no task."""
        if not isinstance(provider, PreparesInputs):
            return request
        try:
            return await with_retries(
                lambda: provider.prepare(request), submit_is_retryable, self.backoff, self.rng
            )
        except ProviderAuthError as exc:
            self.stopped_by = str(exc)
            raise AssetFailed(str(exc)) from None
        except (ProviderError, httpx.HTTPError) as exc:
            raise AssetFailed(_reason(exc)) from None

    async def _submit_once(
        self,
        plan: Plan,
        provider: Provider,
        asset: ResolvedAsset,
        request: GenerationRequest,
        estimate: Decimal | None,
        replaces: TaskRecord | None,
    ) -> tuple[int, SubmittedTask | None]:
        """One submit, retried only while surely refused. Returns the journal row and the
        task, or no task when the outcome is unknown (the row is then `unconfirmed`)."""
        timing = self.setups[provider.name].timing
        rate = self.rates[provider.name]
        # At most one submit per (provider, model) with an unknown outcome at a time: its
        # window in the task list then holds no other unknown submit (reconcile.py).
        async with self._model_gate(provider.name, asset.model_id):
            if self.stopped_by:
                raise AssetFailed(f"not submitted: {self.stopped_by}")
            if self.interrupted:
                raise Interrupted
            task_ref: int | None = None
            rng = self.rng
            # A body that carries its input files inline takes longer to send.
            timeout = timing.submit_timeout + _inline_bytes(request) / INLINE_BYTES_PER_SECOND
            for attempt in range(self.backoff.attempts):
                await rate.acquire()
                if task_ref is not None and (self.stopped_by or self.interrupted):
                    # Refused before; not sent again now that the apply is stopping.
                    await self._journal_status(task_ref, FAILED, "not sent again: apply stopped")
                    if self.interrupted:
                        raise Interrupted
                    raise AssetFailed(f"not submitted: {self.stopped_by}")
                if self.runner is not None and not await self.runner.still_holds(asset.content_key):
                    # This runner stalled past its lease: another may be making it now.
                    if task_ref is not None:
                        await self._journal_status(task_ref, FAILED, "not sent again: claim lapsed")
                    raise AssetFailed(
                        "not submitted: this runner's claim on it lapsed (it stalled for over "
                        "[state] lease_seconds) and another runner may be making it; apply again"
                    )
                answer_by = time.time() + timeout
                # A submit under way is not cancelled by Ctrl-C: its task id must be recorded.
                # It is under way from its intent's write to its task id's commit, and so is
                # the provider's foreground (no result is collected meanwhile).
                self._submitting.add(asset.address)
                try:
                    with self.foreground[provider.name].submitting():
                        task_ref = await self._journal_send(
                            plan, asset, estimate, task_ref, answer_by
                        )
                        submitted, error = await self._send(provider, request, answer_by)
                        if submitted is not None:
                            await self._journal_task_id(
                                asset,
                                provider.name,
                                task_ref,
                                submitted.task_id,
                                replaces,
                                estimate,
                            )
                            return task_ref, submitted
                finally:
                    self._submitting.discard(asset.address)
                assert error is not None
                if isinstance(error, ProviderAuthError):
                    self.stopped_by = str(error)
                    await self._journal_status(task_ref, FAILED, str(error))
                    raise AssetFailed(str(error))
                if not surely_refused(error):
                    # The provider itself answered (a 500, an unreadable answer): anything it
                    # made, it made before answering. Otherwise (a gateway's 502, 504 or 52x, a
                    # timeout, a dropped connection) it may still be handling the request.
                    answered = isinstance(error, ProviderError) and error.status in (None, 500)
                    late = 0.0 if answered else timeout
                    reason = f"unconfirmed: {_reason(error)}"
                    await self._journal_unconfirmed(task_ref, reason, time.time() + late)
                    # The next submit of this model is sent after this window (both padded).
                    await asyncio.sleep(late + 2 * timing.clock_pad)
                    return task_ref, None
                if not submit_is_retryable(error) or attempt + 1 >= self.backoff.attempts:
                    await self._journal_status(task_ref, FAILED, _reason(error))
                    raise AssetFailed(_reason(error))
                hinted = error.retry_after if isinstance(error, ProviderError) else None
                await asyncio.sleep(
                    min(hinted or self.backoff.delay(attempt, rng), self.backoff.cap * 4)
                )
        raise AssertionError("unreachable: the last attempt returns or raises")

    @staticmethod
    async def _send(
        provider: Provider, request: GenerationRequest, answer_by: float
    ) -> tuple[SubmittedTask | None, BaseException | None]:
        """The one request that can make a task: its answer, or the error it ended with.
        Bounded, so that its window in the task list is."""
        try:
            submitted = await _bounded(provider.submit(request), max(answer_by - time.time(), 0.1))
        except (ProviderError, httpx.HTTPError, TimeoutError) as exc:
            return None, exc
        return submitted, None

    @contextlib.asynccontextmanager
    async def _model_gate(
        self, provider: str, model_id: str, *, reading_list: bool = False
    ) -> AsyncIterator[None]:
        """The submit turn of one model in this run. Beside other runners, its gate too:
        shared by submits, held alone while `reading_list` (the task list for an unknown
        submit), so that no submit of the model is in flight anywhere meanwhile."""
        if not self.one_submit_per_model:  # only bench/ measures without it
            yield
            return
        async with self._gates.setdefault((provider, model_id), asyncio.Lock()):
            if self.runner is None:
                yield
                return
            async with self.runner.gate(f"{provider}/{model_id}", shared=not reading_list):
                yield

    async def _journal_send(
        self,
        plan: Plan,
        asset: ResolvedAsset,
        estimate: Decimal | None,
        task_ref: int | None,
        answer_by: float,
    ) -> int:
        """The intent row, written just before the request (again before a retry)."""
        try:
            if task_ref is not None:
                await self._urgent(self.state.record_sending, task_ref, answer_by)
                return task_ref
            return await self._urgent(
                self.state.record_intent,
                provider=asset.provider,
                model_id=asset.model_id,
                content_key=asset.content_key,
                address=asset.address,
                profile=plan.profile,
                estimated_cost=estimate,
                answer_by=answer_by,
            )
        except StateWriteError as exc:
            self.stopped_by = f"the state cannot be written: {exc}"
            raise AssetFailed(f"not submitted: {exc}") from None

    async def _journal_task_id(
        self,
        asset: ResolvedAsset,
        provider: str,
        task_ref: int,
        task_id: str,
        replaces: TaskRecord | None = None,
        estimate: Decimal | None = None,
    ) -> None:
        """The task id, committed before anything else is done with the answer (with it, the
        close of the unknown submit an `apply --replace` pays again for). If it cannot be, no
        further submit is sent, and the id is reported for `wanplan import`."""

        def commit() -> None:
            with self.state.transaction():
                self.state.record_submitted(task_ref, task_id)
                if self.runner is not None and self.draws_reservation and estimate is not None:
                    self.runner.coordination.draw(self.runner.holder, estimate)
                if replaces is not None:
                    self.state.record_task_status(
                        replaces.id, ABANDONED, "replaced knowingly (apply --replace)"
                    )

        try:
            await self._urgent(commit)
        except StateWriteError as exc:
            self.stopped_by = f"the state cannot be written: {exc}"
            self.unrecorded.append(UnrecordedTask(asset.address, provider, task_id))
            raise AssetFailed(
                f"{provider} task {task_id} was made but the state cannot record it ({exc}); "
                f"once there is room: wanplan import {asset.address} --task-id {task_id}"
            ) from None

    async def _journal_status(self, task_ref: int, status: str, error: str | None) -> None:
        with contextlib.suppress(StateWriteError):  # the row stays open: shown as unconfirmed
            await self._store(self.state.record_task_status, task_ref, status, error)

    async def _journal_unconfirmed(self, task_ref: int, reason: str, until: float | None) -> None:
        """`until`: the end of its window, once known (None keeps the one recorded)."""
        ends = None if until is None else iso(until)
        with contextlib.suppress(StateWriteError):  # the intent row says as much
            await self._store(self.state.record_unconfirmed, task_ref, reason, ends)

    async def _reconcile(
        self,
        provider: Provider,
        asset: ResolvedAsset,
        task_ref: int,
        replaces: TaskRecord | None = None,
        *,
        trust_none: bool = True,
    ) -> str | None:
        """Settle an unknown submit now: wait until the provider's task list can be trusted for
        its window, then adopt its task (its id is returned), or learn that none was made
        (None: submit again; without `trust_none`, the row stays unconfirmed instead), or fail
        the asset with the two ways out."""
        setup = self.setups[provider.name]
        row = await self._store(self.state.task, task_ref)
        assert row is not None
        if not isinstance(provider, ListsTasks):
            raise AssetFailed(unconfirmed_failure_for(asset.address, row))
        prompt = asset.params.get("prompt")
        prompts = {asset.content_key: prompt if isinstance(prompt, str) else None}
        if trust_none:  # a "none" already judged for this content key: this one is doubted
            doubted = reconcile.doubted_before
            trust_none = not await self._store(doubted, row, self.state.judged_none)
        settles_at = setup.timing.settles_at(row)
        for _ in range(MAX_LIST_READS):
            await asyncio.sleep(max(settles_at - time.time(), 0.0))
            # Under the model's gate: no submit of it is in flight, whose task would be in
            # the list before its id is in the journal. Every unknown submit of the model is
            # judged together, so that each one's task is known to be no stranger's.
            async with self._model_gate(provider.name, asset.model_id, reading_list=True):
                rows = [
                    t
                    for t in await self._store(self.state.open_tasks)
                    if t.outcome_unknown
                    and (t.provider, t.model_id) == (provider.name, asset.model_id)
                ]
                verdicts = await reconcile.examine(
                    rows, {provider.name: setup}, self._known_task_ids, prompts
                )
                verdict = verdicts.get(task_ref)
                if verdict is None:  # settled meanwhile (another runner, or its late answer)
                    now = await self._store(self.state.task, task_ref)
                    if now is not None and now.task_id and now.status != NOT_CREATED:
                        return now.task_id
                    if now is not None and now.status == NOT_CREATED and trust_none:
                        return None
                    raise AssetFailed(unconfirmed_failure_for(asset.address, now or row))
                if verdict.outcome is reconcile.Outcome.NOT_CREATED and not trust_none:
                    verdict = reconcile.lag_doubt(provider.name, setup.timing.listing_lag)
                if verdict.outcome is not reconcile.Outcome.WAIT:
                    return await self._settled(asset, provider.name, task_ref, verdict, replaces)
            settles_at = (verdict.settles_at or time.time()) + 0.05
        raise AssetFailed(unconfirmed_failure_for(asset.address, row))

    async def _known_task_ids(self, provider: str, task_ids: list[str]) -> dict[str, str | None]:
        return await self._store(self.state.known_task_ids, provider, task_ids)

    async def _settled(
        self,
        asset: ResolvedAsset,
        provider: str,
        task_ref: int,
        verdict: reconcile.Verdict,
        replaces: TaskRecord | None,
    ) -> str | None:
        if verdict.outcome is reconcile.Outcome.ADOPT and verdict.task_id is not None:
            row = await self._store(self.state.task, task_ref)
            estimate = row.estimated_cost if row is not None else None
            await self._journal_task_id(
                asset, provider, task_ref, verdict.task_id, replaces, estimate
            )
            self.emit(ApplyEvent(asset.address, "adopted", verdict.reason))
            return verdict.task_id
        if verdict.outcome is reconcile.Outcome.NOT_CREATED:
            await self._journal_status(task_ref, NOT_CREATED, verdict.reason)
            return None
        await self._journal_unconfirmed(task_ref, f"unconfirmed: {verdict.reason}", None)
        row = await self._store(self.state.task, task_ref)
        assert row is not None
        raise AssetFailed(unconfirmed_failure_for(asset.address, row))

    async def _quote(self, submitted: SubmittedTask, task_ref: int) -> Decimal | None:
        """The provider's price quote, asked only now that the task id is committed, and
        recorded beside it (a resumed task is then recorded at it)."""
        assert submitted.quote is not None
        try:
            quoted = await asyncio.wait_for(submitted.quote(), QUOTE_GRACE_SECONDS)
            if quoted is not None:
                await self._store(self.state.record_quote, task_ref, quoted)
        except Exception:  # slow, refused or unrecordable: the ledger keeps the estimate
            return None
        return quoted

    async def _wait(
        self,
        provider: Provider,
        task_ref: int,
        task_id: str,
        model_id: str,
        submitted_at: float | None = None,
    ) -> TaskStatus:
        """Poll until the task ends; the finished status has a result URL. `submitted_at`
        (monotonic) is known for tasks submitted in this run: only those teach the schedule how
        long this model's tasks take."""
        started = submitted_at if submitted_at is not None else time.monotonic()
        schedule = self.schedules.setdefault((provider.name, model_id), PollSchedule())
        configured = self.setups[provider.name].settings.poll_interval
        if configured:
            timer = schedule.timer(lambda attempt: configured, lambda: 1.0)
        else:
            timer = schedule.timer(provider.poll_delay, lambda: self.time_scale[provider.name])
        deadline = started + MAX_WAIT_SECONDS
        learned = self.learned.setdefault((provider.name, model_id), asyncio.Event())
        # A task from an earlier run has been running all along: ask at once.
        first_poll_now = submitted_at is None
        while True:
            delay = timer.next_delay(time.monotonic() - started)
            if first_poll_now:
                delay, first_poll_now = 0.0, False
            with self.foreground[provider.name].due(delay) as due:
                if learned.is_set():
                    await asyncio.sleep(delay)
                else:
                    # Until a first task of this model ends, tasks poll on the advised rhythm;
                    # when one does, the others stop waiting and poll at the learned duration.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(learned.wait(), delay)
                        left = timer.until_estimate(time.monotonic() - started) or 0.0
                        delay = left * schedule.rng.uniform(1.0, 1.0 + JITTER)
                        due.move(delay)
                        await asyncio.sleep(delay)
            sent_at = time.monotonic() - started

            async def poll() -> TaskStatus:
                await self.rates[provider.name].acquire()
                return await provider.poll(task_id, model_id)

            try:
                with self.foreground[provider.name].polling():
                    status = await with_retries(poll, read_is_retryable, self.backoff, self.rng)
            except ProviderAuthError as exc:
                self.stopped_by = str(exc)
                raise AssetFailed(f"polling task {task_id}: {exc}") from None
            except (ProviderError, httpx.HTTPError) as exc:
                raise AssetFailed(
                    f"polling task {task_id}: {_reason(exc)}; apply again to resume"
                ) from None
            if status.state is TaskState.RUNNING:
                timer.running(sent_at)
            elif status.state is TaskState.SUCCEEDED:
                if not status.result_urls:
                    self._uncollected.pop(task_ref, None)  # nothing to collect, ever
                    await self._store(
                        self.state.record_task_status,
                        task_ref,
                        FAILED,
                        "succeeded without a result",
                    )
                    raise AssetFailed(f"task {task_id} succeeded without a result URL")
                if submitted_at is not None:
                    timer.done(sent_at, status.duration)
                    learned.set()
                await self._store(self.state.record_task_status, task_ref, SUCCEEDED)
                return status
            elif status.state is TaskState.FAILED:
                self._uncollected.pop(task_ref, None)  # a failed task is not charged
                await self._store(self.state.record_task_status, task_ref, FAILED, status.error)
                raise AssetFailed(f"{provider.name} task {task_id} failed: {status.error}")
            else:
                self._uncollected.pop(task_ref, None)  # gone: nothing left to collect
                await self._store(
                    self.state.record_task_status, task_ref, FAILED, "task expired at the provider"
                )
                raise AssetFailed(
                    f"{provider.name} no longer knows task {task_id}; plan again to regenerate it"
                )
            if time.monotonic() > deadline:
                raise AssetFailed(
                    f"task {task_id} still running after {MAX_WAIT_SECONDS} s; "
                    "apply again to resume"
                )

    async def _fresh_url(self, provider: Provider, task_id: str, model_id: str) -> str:
        """Poll a finished task again: providers hand out a fresh result URL."""
        await self.rates[provider.name].acquire()
        try:
            status = await with_retries(
                lambda: provider.poll(task_id, model_id), read_is_retryable, self.backoff, self.rng
            )
        except (ProviderError, httpx.HTTPError) as exc:
            raise AssetFailed(f"asking for a fresh result URL: {_reason(exc)}") from None
        if status.state is not TaskState.SUCCEEDED or not status.result_urls:
            raise AssetFailed(
                f"the result URL of task {task_id} expired and no fresh one is given; "
                "plan again to regenerate it"
            )
        return status.result_urls[0]

    async def _download(
        self, provider: Provider, task_id: str, asset: ResolvedAsset, url: str
    ) -> Downloaded:
        """Download with retries; an expired URL is replaced by polling the task again."""
        rng = self.rng
        refreshed = False
        for attempt in range(self.backoff.attempts):
            try:
                return await download(self.clients[asset.provider], url, self.blobs)
            except CacheRefused as exc:
                # The cache takes no result: what is made next could not be kept either.
                self.stopped_by = f"the cache cannot be written: {exc}"
                raise AssetFailed(f"{exc}; the task is recorded: apply again collects it") from None
            except DownloadError as exc:
                if exc.expired and not refreshed:
                    refreshed = True
                    url = await self._fresh_url(provider, task_id, asset.model_id)
                    continue
                if not exc.retryable or attempt + 1 >= self.backoff.attempts:
                    raise AssetFailed(f"{exc}; apply again to retry the download") from None
                await asyncio.sleep(self.backoff.delay(attempt, rng))
        raise AssetFailed("result download kept failing; apply again to retry it")


async def _bounded(submit: Awaitable[SubmittedTask], seconds: float) -> SubmittedTask:
    """The submit, given up after `seconds` (TimeoutError); an answer that arrived just as
    time ran out is kept, never cancelled away (its task id must be committed)."""
    running = asyncio.ensure_future(submit)
    try:
        return await asyncio.wait_for(asyncio.shield(running), seconds)
    except TimeoutError:
        if running.done() and not running.cancelled() and running.exception() is None:
            return running.result()
        running.cancel()
        await asyncio.wait([running])  # let it finish cancelling; its error is not ours
        raise


def _inline_bytes(request: GenerationRequest) -> int:
    """Bytes of local input files the submit itself carries (not sent ahead by `prepare`)."""
    total = 0
    for item in request.inputs:
        if item.path is not None and item.sent_as is None:
            with contextlib.suppress(OSError):
                total += item.path.stat().st_size
    return total


def _reason(exc: BaseException) -> str:
    if isinstance(exc, httpx.HTTPError):
        return f"network error ({type(exc).__name__})"
    if isinstance(exc, TimeoutError) and not str(exc):
        return "no answer within the submit timeout"
    return str(exc)


def run_apply(
    project: Project,
    plan: Plan,
    state: StateWriter,
    blobs: BlobStore,
    *,
    setups: dict[str, ProviderSetup] | None = None,
    concurrency: int | None = None,
    on_event: EventSink = ignore,
    state_disk: Path | None = None,
    backoff: Backoff | None = None,
    rng: random.Random | None = None,
    runner: RunnerSettings | None = None,
) -> ApplyResult:
    """Run the plan's changes. `state_disk`: a local state's folder, whose free space is
    checked with the cache's and outputs' before the first submit. `runner`: this apply
    among others sharing the state."""
    if setups is None:
        setups = setup_providers(project.config, providers_needed(plan))
    if any(change.generates for change in plan.changes):
        check_free_space(project, state_disk)
    engine = ApplyEngine(
        project,
        state,
        blobs,
        setups,
        concurrency=concurrency,
        on_event=on_event,
        backoff=backoff,
        rng=rng,
        runner=runner,
    )
    try:
        return asyncio.run(engine.run(plan))
    finally:
        engine.close()
