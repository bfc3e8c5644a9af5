"""A project with its backends: the workflows every command runs.

A `Workspace` is the project plus its opened state store and blob store, and the timing the
engine retries with; each is injectable (tests pass a fast backoff, a seeded random source or
another store). Its methods are the workflows (`plan`, `apply`, `import_task`, `refresh`,
`collect_garbage`, `forget`, `move`, `spend`, `report`, ...): they return values, and the CLI
only parses arguments, calls one of them and renders what comes back.

The one flow every writer shares lives here once (`_writing`): check on a read-only view (a
refusal it can foresee leaves the state untouched), take the lock, and check again under it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from wanplan import backends
from wanplan.apply.backoff import Backoff
from wanplan.apply.team import GATE_WAIT_SECONDS, RunnerSettings, runner_id
from wanplan.errors import ApplyRefused, StateError, StateWriteError, WanplanError
from wanplan.project import DEFAULT_PROFILE, Project
from wanplan.spec.suggest import did_you_mean
from wanplan.state.lock import LockHolder, this_process

if TYPE_CHECKING:
    import httpx

    from wanplan.apply.events import ApplyResult, AssetOutcome, EventSink
    from wanplan.blobs import BlobStore
    from wanplan.cost.ledger import SpendReport
    from wanplan.cost.price_update import PriceUpdate
    from wanplan.maintenance.adopt import Candidate
    from wanplan.maintenance.collect import Collection
    from wanplan.maintenance.move import Moved
    from wanplan.maintenance.refresh import RefreshReport
    from wanplan.plan.compare import Comparison
    from wanplan.plan.model import Plan
    from wanplan.plan.saved import SavedPlan
    from wanplan.spec.resolved import ResolvedAsset
    from wanplan.state.base import StateReader, StateStore, StateWriter
    from wanplan.state.records import AssetRecord, StateSnapshot

GATE_POLL_SECONDS = 0.05
"""How often a model's submit turn is asked for while another runner has it."""

DEFAULT_BACKOFF = Backoff()
"""The engine's retry rhythm (1 s base, ×2, 30 s cap, full jitter)."""


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True)
class PlanRequest:
    """What to plan: the profile, and the addresses a run is limited to or must regenerate."""

    profile: str = DEFAULT_PROFILE
    targets: tuple[str, ...] = ()
    force_replace: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApplyRequest(PlanRequest):
    saved: SavedPlan | None = None
    """A plan saved by `plan --out`: applied exactly, refused when anything changed since."""
    auto_approve: bool = False
    max_cost: Decimal | None = None
    allow_unknown_cost: bool = False
    skip_balance_check: bool = False
    """Do not refuse a plan above a balance the provider reports (an account that tops up)."""
    concurrency: int | None = None


@dataclass(frozen=True)
class PlanOutcome:
    plan: Plan
    comparison: Comparison | None = None

    def check_cost_gate(self, limit: Decimal, *, allow_unknown_cost: bool) -> None:
        """Refuse (exit 4) when this change would spend more than `limit`: every change's
        estimate, or with a comparison only the changes that differ from the base."""
        from wanplan.cost.budget import check_cost_gate
        from wanplan.money import total

        changes = self.comparison.own if self.comparison is not None else self.plan.changes
        check_cost_gate(
            total([c.estimated_cost for c in changes]),
            limit,
            allow_unknown_cost=allow_unknown_cost,
            unknown=[c.address for c in changes if c.estimated_cost is None],
        )


class ApplyPrompts(Protocol):
    """What apply needs from whoever runs it: a person at a terminal, CI, or a test."""

    def show(self, plan: Plan) -> None:
        """The plan, as it will be applied (or as it was refused)."""

    def can_confirm(self) -> bool:
        """Whether someone can answer a question (a terminal, not CI)."""

    def confirm(self, plan: Plan) -> bool:
        """Ask before anything is sent; True to go on."""

    def progress(self, plan: Plan) -> AbstractContextManager[EventSink]:
        """Where the run's events go while it lasts."""


@dataclass
class Workspace:
    project: Project
    warn: Callable[[str], None] = _quiet
    """Where warnings go (a lock being waited for, a budget warning)."""
    lock_timeout: float = 0.0
    """Seconds to wait for another process holding the state lock."""
    backoff: Backoff = field(default_factory=lambda: DEFAULT_BACKOFF)
    rng: random.Random | None = None
    """The jitter's random source; None: a fresh unseeded one."""
    state_store: StateStore | None = None
    blob_store: BlobStore | None = None
    transport: httpx.AsyncBaseTransport | None = None
    """Every provider request goes through it (tests: the emulator in process); None: the
    providers' own clients."""

    @classmethod
    def open(cls, directory: Path | str = ".", **options: Any) -> Workspace:
        return cls(Project.at(directory), **options)

    @cached_property
    def state(self) -> StateStore:
        return self.state_store or backends.open_state(self.project)

    @cached_property
    def cache(self) -> BlobStore:
        return self.blob_store or backends.open_cache(self.project)

    # ---- opening the state ----------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[StateReader]:
        self.project.require()
        _ = self.project.config  # settings errors first: they affect everything after
        reader = self.state.open_reader()
        try:
            yield reader
        finally:
            reader.close()

    @contextmanager
    def _writing(
        self,
        *,
        check: Callable[[StateReader], object] | None = None,
        create: bool = False,
        shared: bool = False,
    ) -> Iterator[StateWriter]:
        """The state, locked for this process until the block ends. Without `create`, a
        project with no state yet is an error rather than a new empty state.

        `check` runs first on a read-only view, so that a refusal it can foresee (a misspelt
        address) leaves the state untouched, not even locked and unlocked; the operation checks
        again under the lock, which is authoritative. `shared`: an apply, which shares the
        lock with other runners where the state coordinates them (PRODUCT §11)."""
        self.project.require()
        self.project.check_confined()
        self.state.check_confined()
        if not create and not self.state.exists():
            raise StateError(f"there is no state yet ({self.state.label})")
        if check is not None:
            with self._reading() as reader:
                check(reader)
        with self._locked(self.state, shared=shared) as state:
            yield state

    @contextmanager
    def _locked(self, store: StateStore, *, shared: bool = False) -> Iterator[StateWriter]:
        """`store` opened for writing and locked for this process until the block ends."""
        state = store.open_writer()
        holder = this_process()

        def waiting(holding: LockHolder) -> None:
            self.warn(f"waiting for the state lock held by {holding.describe()}")

        try:
            warnings = state.acquire_lock(holder, self.lock_timeout, waiting, shared=shared)
            for warning in warnings:
                self.warn(warning)
        except BaseException:
            state.close()
            raise
        try:
            yield state
        finally:
            try:
                state.release_lock(holder.id)
            except StateWriteError as exc:
                self.warn(
                    f"the state lock could not be released ({exc}); the next apply breaks it, "
                    "since this process will be gone"
                )
            finally:
                state.close()

    # ---- plan and apply --------------------------------------------------------------------

    def _plan_with(self, state: StateReader, request: PlanRequest) -> Plan:
        from wanplan.plan.planner import make_plan

        return make_plan(
            self.project,
            profile=request.profile,
            targets=request.targets,
            force_replace=request.force_replace,
            state=state,
            blobs=self.cache,
        )

    def plan(self, request: PlanRequest, *, compare_to: Path | None = None) -> PlanOutcome:
        """The plan, read-only. Submits whose outcome is unknown are looked up in the providers'
        task lists where a key is set (a free request), so the plan shows what apply will do."""
        from wanplan.apply import reconcile
        from wanplan.spec.declared import settings

        settings(self.project, request.profile)  # with the specs' problems, all at once
        with self._reading() as reader:  # make_plan checks outputs/ and the cache links
            plan = self._plan_with(reader, request)
            if reconcile.unconfirmed_changes(plan):
                plan = reconcile.look(plan, reader, self.project.config, self.transport)
        comparison = None
        if compare_to is not None:
            from wanplan.plan.compare import compare

            comparison = compare(plan, compare_to)
        return PlanOutcome(plan, comparison)

    def check_plan_path(self, path: Path) -> None:
        """Refuse, before planning, a --out that would overwrite the project's own files."""
        from wanplan.plan.saved import check_plan_path

        check_plan_path(self.project, path, self.state)

    def save_plan(self, path: Path, plan: Plan) -> None:
        from wanplan.plan.saved import saved_document, write_saved_plan

        self.check_plan_path(path)
        write_saved_plan(path, saved_document(self.project, plan))

    def _check(
        self,
        plan: Plan,
        state: StateReader,
        request: ApplyRequest,
        *,
        final: bool,
        reserved_today: Decimal = Decimal(0),
    ) -> None:
        """Refuse a stale saved plan or one over budget, before anything is written or sent.
        Warnings are for the final check only (the one under the lock). `reserved_today`:
        what other runners reserved against max_per_day."""
        if request.saved is not None:
            from wanplan.plan.saved import check_fresh

            check_fresh(request.saved, self.project, plan)
        if not plan.has_changes:
            return
        from wanplan.cost.budget import check_budget, spent_on, today

        caps = self.project.config.budget
        spent_today = None
        if caps.max_per_day is not None:
            day = today()
            # Open tasks first: one collected between the two reads is then counted twice
            # (the safe side of the cap), never missed.
            in_flight = state.open_tasks()
            spent_today = spent_on(state.ledger(day), day, in_flight)
        warnings = check_budget(
            plan,
            caps,
            max_cost=request.max_cost,
            spent_today=spent_today,
            allow_unknown_cost=request.allow_unknown_cost,
            reserved_today=reserved_today,
        )
        for warning in warnings if final else ():
            self.warn(warning)

    def apply(self, request: ApplyRequest, prompts: ApplyPrompts) -> ApplyResult | None:
        """Generate, reuse and delete what the plan shows, after confirmation; None when there
        was nothing to do.

        First a read-only plan and its checks: invalid specs, nothing to do, a stale plan, a
        plan over budget or no way to confirm must not create or touch the state. Then the
        plan again with the state locked for writing, which is authoritative."""
        from wanplan.apply.providers import providers_needed, setup_providers
        from wanplan.spec.declared import settings

        settings(self.project, request.profile)  # with the specs' problems, all at once
        with self._reading() as reader:  # make_plan checks outputs/ and the cache links
            first = self._plan_with(reader, request)
            try:
                self._check(first, reader, request, final=False)
            except WanplanError:
                prompts.show(first)  # the refusal reads against the plan
                raise
        if not first.has_changes:
            prompts.show(first)
            return None
        if not request.auto_approve and not prompts.can_confirm():
            prompts.show(first)
            raise ApplyRefused(
                "apply needs confirmation and there is no terminal to ask: "
                "review the plan and run `wanplan apply -y`"
            )
        setup_providers(self.project.config, providers_needed(first))  # keys: before writing
        with self._writing(create=True, shared=True) as state:
            coordination = state.coordination()
            if coordination is None:
                return self._apply_locked(state, request, prompts, None)
            lease = self.project.config.state.lease_seconds
            runner = RunnerSettings(coordination, runner_id(), lease)
            try:
                return self._apply_locked(state, request, prompts, runner)
            finally:
                with suppress(StateWriteError):  # left, it all lapses with its lease
                    coordination.release_all(runner.holder)

    def _apply_locked(
        self,
        state: StateWriter,
        request: ApplyRequest,
        prompts: ApplyPrompts,
        runner: RunnerSettings | None,
    ) -> ApplyResult | None:
        """Apply's authoritative half, with the state open for writing: plan again, settle
        unknown submits, check (and reserve against the day's budget), confirm, run."""
        from wanplan.apply import engine, reconcile
        from wanplan.apply.providers import providers_needed, setup_providers

        config = self.project.config

        def replan() -> Plan:
            return self._plan_with(state, request)

        plan = replan()
        if reconcile.unconfirmed_changes(plan):
            with self._settling(plan, runner) as mine:
                plan = reconcile.settle_plan(
                    plan, state, config, replan, self._waiting_for_list, self.transport, mine
                )
        runner = self._check_and_reserve(plan, state, request, runner)
        reserved_at = time.monotonic()
        prompts.show(plan)
        if not plan.has_changes:
            return None
        setups = setup_providers(config, providers_needed(plan), self.transport)
        if not request.skip_balance_check:  # before the question: a "yes" then refused is no use
            from wanplan.apply.balance import check_balances

            check_balances(plan, setups, self.warn)  # exit 4 before the first submit
        if not request.auto_approve and not prompts.confirm(plan):
            raise ApplyRefused("apply cancelled; nothing was changed")
        if runner is not None and time.monotonic() - reserved_at > runner.lease_seconds / 3:
            # A long answer at the prompt: the reservation (and claims) may have lapsed, and
            # others reserved meanwhile. Checked and reserved again before anything is sent.
            runner = self._check_and_reserve(
                plan, state, request, dataclasses.replace(runner, reserved=False)
            )
        if any(change.generates for change in plan.changes):
            self.cache.check()  # a result the cache cannot keep would be paid for, lost
        with prompts.progress(plan) as on_event:
            return engine.run_apply(
                self.project,
                plan,
                state,
                self.cache,
                setups=setups,
                concurrency=request.concurrency,
                on_event=on_event,
                state_disk=self.state.disk,
                backoff=self.backoff,
                rng=self.rng,
                runner=runner,
            )

    @contextmanager
    def _settling(self, plan: Plan, runner: RunnerSettings | None) -> Iterator[set[str] | None]:
        """Before this apply settles its unknown submits beside other runners: it claims their
        content keys (yielded: the verdicts it may record; another runner's are its own) and
        takes its models' gates alone, in one order, so that no runner's submit of them is in
        flight while the providers' task lists are read. Alone: None (every verdict)."""
        if runner is None:
            yield None
            return
        from wanplan.apply.reconcile import unconfirmed_changes

        team, holder = runner.coordination, runner.holder
        changes = [c for c in unconfirmed_changes(plan) if c.task is not None]
        mine = {
            c.task.content_key
            for c in changes
            if c.task is not None
            and team.claim(c.task.content_key, holder, runner.lease_seconds) is None
        }
        gates = sorted({f"{c.task.provider}/{c.task.model_id}" for c in changes if c.task})
        taken: list[str] = []
        try:
            for name in gates:
                deadline = time.monotonic() + GATE_WAIT_SECONDS
                while not (held := team.try_gate(name)) and time.monotonic() < deadline:
                    time.sleep(GATE_POLL_SECONDS)
                if held:
                    taken.append(name)
                else:  # runners keep submitting it: its submits stay for the engine to settle
                    mine -= {
                        c.task.content_key
                        for c in changes
                        if c.task and f"{c.task.provider}/{c.task.model_id}" == name
                    }
            yield mine
        finally:
            for name in reversed(taken):
                with suppress(StateWriteError):
                    team.release_gate(name)

    def _check_and_reserve(
        self,
        plan: Plan,
        state: StateWriter,
        request: ApplyRequest,
        runner: RunnerSettings | None,
    ) -> RunnerSettings | None:
        """The final checks. Beside other runners, a plan under a max_per_day is checked
        against what is spent and what they reserved, and its estimate reserved, in one turn
        no other runner can enter: two applies can never cross the cap together."""
        if runner is None or not plan.has_changes or self.project.config.budget.max_per_day is None:
            self._check(plan, state, request, final=True)
            return runner
        from wanplan.cost.budget import today

        team, day = runner.coordination, today()
        with team.budget_turn():
            others = team.reserved(day, runner.holder)
            self._check(plan, state, request, final=True, reserved_today=others)
            team.reserve(runner.holder, day, plan.estimated_cost, runner.lease_seconds)
        return dataclasses.replace(runner, reserved=True)

    def _waiting_for_list(self, submits: int, seconds: float) -> None:
        self.warn(
            f"waiting {seconds:.0f} s for the provider's task list to show every task before "
            f"deciding about {submits} submit(s) whose outcome is unknown"
        )

    # ---- maintenance -----------------------------------------------------------------------

    def import_task(
        self,
        address: str,
        task_id: str,
        *,
        provider: str | None = None,
        profile: str = DEFAULT_PROFILE,
        on_start: Callable[[Candidate], None] = lambda _: None,
        on_event: EventSink | None = None,
    ) -> tuple[Candidate, AssetOutcome]:
        """Adopt a task made outside wanplan (or whose submit's outcome was unknown): poll it,
        download it and record it as `address` would be, without submitting anything."""
        from wanplan.apply.events import ignore
        from wanplan.apply.providers import setup_providers
        from wanplan.maintenance.adopt import adopt, candidate

        with self._reading() as reader:
            found = candidate(self.project, reader, address, provider, profile)
        # The key, before writing.
        setups = setup_providers(self.project.config, [found.asset.provider], self.transport)
        on_start(found)
        self.cache.check()
        with self._writing(create=True) as writer:
            outcome = adopt(
                self.project,
                writer,
                self.cache,
                found,
                task_id=task_id,
                profile=profile,
                setups=setups,
                on_event=on_event or ignore,
                state_disk=self.state.disk,
            )
        return found, outcome

    def refresh(self, profile: str | None = None) -> RefreshReport:
        """Check every recorded output and cached blob against its sha256."""
        from wanplan.maintenance.refresh import refresh

        with self._writing() as writer:
            return refresh(self.project, writer, self.cache, profile)

    def collect_garbage(self, *, dry_run: bool) -> Collection:
        """Remove cached blobs no asset in the state or the specs uses (under the lock)."""
        from wanplan.maintenance.collect import collect_garbage, declared_content_keys

        with self._writing() as writer:
            # Invalid specs: refuse rather than guess what they would keep.
            declared = declared_content_keys(self.project, writer.file_stamps())
            return collect_garbage(
                writer, self.cache, dry_run=dry_run, keep=declared, project=self.project
            )

    def forget(self, addresses: Sequence[str], profile: str) -> list[AssetRecord]:
        """`state rm`: forget addresses in the state; no file is deleted."""
        from wanplan.maintenance.forget import chosen, forget

        def check(reader: StateReader) -> None:
            chosen(reader, profile, addresses)

        with self._writing(check=check) as writer:
            return forget(writer, profile, addresses)

    def move(self, source: str, destination: str, profile: str) -> Moved:
        """`state mv`: rename an address (and its default output file) without generating."""
        from wanplan.maintenance.move import move, planned_move

        def check(reader: StateReader) -> None:
            planned_move(self.project, reader, profile, source, destination)

        with self._writing(check=check) as writer:
            return move(self.project, writer, profile, source, destination)

    def force_unlock(self, lock_id: str) -> LockHolder:
        """Remove the lock held by `lock_id`, whoever holds it."""
        if not self.state.exists():
            raise StateError("there is no state yet, so nothing is locked")
        self.project.check_confined()
        state = self.state.open_writer()
        try:
            return state.force_unlock(lock_id)
        finally:
            state.close()

    def unlock_if_dead(self) -> None:
        """Leave the state complete and unlocked when its lock's holder was a process on this
        machine that is gone; a live holder is refused with its details."""
        if not self.state.exists():
            return
        self.project.check_confined()
        with self._reading() as reader:
            if reader.lock_holder() is None and self.state.at_rest():
                return  # nothing to clear: leave the file's bytes (and git) alone
        # Taking the lock breaks a dead local holder (with a warning); leaving releases it and
        # leaves the state at rest.
        with self._writing():
            return

    def pull(self, addresses: Sequence[str] = (), profile: str | None = None) -> list[AssetRecord]:
        """Write recorded outputs that are missing here or differ, from the cache (verified
        against the state's digest); returns those written. Reads the state only."""
        from wanplan import confine

        self.project.check_confined()  # outputs/ and the cache: never through a link out
        with self._reading() as reader:
            records = [r for r in reader.all_assets() if profile is None or r.profile == profile]
        if addresses:
            known = {r.address for r in records}
            unknown = [a for a in addresses if a not in known]
            if unknown:
                raise WanplanError(
                    f"{unknown[0]} is not in the state{did_you_mean(unknown[0], sorted(known))}"
                )
            records = [r for r in records if r.address in addresses]
        written: list[AssetRecord] = []
        for record in records:
            path = self.project.root / record.output_path
            try:
                confine.check_destination(self.project.outputs_dir, path, confine.OUTPUTS)
                if confine.sha256_regular(path) == record.output_sha256:
                    continue
            except FileNotFoundError:
                pass
            except confine.Confined as exc:
                done = f"{len(written)} written before it" if written else "nothing was written"
                raise WanplanError(f"{record.output_path} {exc}; {done}") from None
            try:
                self.cache.copy_to(record.output_sha256, path)
            except OSError as exc:
                done = f"{len(written)} written before it" if written else "nothing was written"
                if isinstance(exc, FileNotFoundError) and not self.cache.shared:
                    raise WanplanError(
                        f"{record.output_path}: this machine's cache (.wanplan/) has no copy; "
                        "pull from the shared one: set [cache] url or WANPLAN_CACHE_URL; "
                        f"{done}"
                    ) from None
                raise WanplanError(
                    f"{record.output_path}: cannot be pulled ({exc.strerror or exc}); {done}"
                ) from None
            written.append(record)
        return written

    def copy_state(self, where: str) -> tuple[str, StateSnapshot]:
        """Copy this state (journal, ledger, assets, lineage) into an empty one elsewhere: a
        PostgreSQL URL or an SQLite file's path. Both are locked while it is copied, so nothing
        changes under it. Returns the target's label and what was copied."""
        target = backends.open_state_at(self.project, where)
        if target.label == self.state.label:
            raise WanplanError(f"--to {target.label} is this project's own state")
        with self._writing() as source, self._locked(target) as writer:
            snapshot = source.snapshot()
            writer.restore(snapshot)
        return target.label, snapshot

    def push(self) -> list[str]:
        """Upload the blobs of recorded generations that are on this disk and not yet in a
        shared cache; returns their names."""
        with self._reading() as reader:
            recorded = {g.blob_sha256 for g in reader.all_generations()}
        return [blob.name for blob in self.cache.push_local(recorded)]

    # ---- reading -------------------------------------------------------------------------

    def recorded(self, profile: str | None = None) -> list[AssetRecord]:
        """Every asset the state records (of one profile, or all)."""
        with self._reading() as reader:
            records = reader.all_assets()
        return [r for r in records if profile is None or r.profile == profile]

    def show(self, address: str | None, profile: str) -> dict[str, Any]:
        """What the state records: every asset of a profile, or one in detail."""
        from wanplan.render.records import asset_document, summary_document

        with self._reading() as reader:
            records = reader.assets(profile)
            if address is None:
                return summary_document(reader, profile, records)
            record = records.get(address)
            if record is None:
                raise WanplanError(
                    f"{address} is not in the state (profile {profile})"
                    f"{did_you_mean(address, sorted(records))}"
                )
            return asset_document(record, reader.generation_details(record.content_key))

    def output_of(self, address: str, profile: str) -> AssetRecord:
        """The record of an asset's output, refused when there is none on disk."""
        with self._reading() as reader:
            records = reader.assets(profile)
        record = records.get(address)
        if record is None:
            raise WanplanError(
                f"{address} has no output in profile {profile}"
                f"{did_you_mean(address, sorted(records))}; run `wanplan apply` to generate it"
            )
        if not (self.project.root / record.output_path).exists():
            raise WanplanError(f"{record.output_path} is missing; run `wanplan apply` to repair it")
        return record

    def spend(
        self,
        groupings: Sequence[str],
        *,
        since: datetime.date | None = None,
        until: datetime.date | None = None,
        profile: str | None = None,
    ) -> SpendReport:
        """What apply spent, from the ledger, grouped."""
        from wanplan.cost.ledger import select, spend_report

        with self._reading() as reader:
            entries = select(reader.ledger(), since=since, until=until, profile=profile)
        return spend_report(entries, groupings)

    def update_prices(
        self, provider: str = "wavespeed", model_ids: tuple[str, ...] = (), *, dry_run: bool = False
    ) -> PriceUpdate:
        """prices.toml filled from the provider's free price quote for this account (PRODUCT
        §5): every catalog model of the provider (or those of `model_ids`), at each resolution
        and duration. Nothing is generated or paid; `dry_run` writes nothing."""
        from wanplan.apply.providers import setup_providers
        from wanplan.catalog.team_prices import PRICES_FILE
        from wanplan.cost import price_update
        from wanplan.providers.base import QuotesPrices
        from wanplan.providers.registry import provider_class

        catalog = self.project.catalog  # a broken prices.toml is named before any request
        if not issubclass(provider_class(provider), QuotesPrices):  # an unknown one is named
            raise WanplanError(
                f"{provider} has no price quote to read prices from; write its rows in "
                f"{PRICES_FILE} by hand (columns: `wanplan models --format json`)"
            )
        models = [
            m
            for m in catalog.models
            if m.provider == provider and (not model_ids or m.model_id in model_ids)
        ]
        missing = sorted(set(model_ids) - {m.model_id for m in models})
        if missing:
            raise WanplanError(
                f"{provider} has no model {missing[0]!r} in the catalog; `wanplan models "
                f"--provider {provider}` lists them"
            )
        setup = setup_providers(self.project.config, [provider], self.transport)[provider]

        async def quote() -> dict[Any, Any]:
            async with setup.client() as client:
                quoting = setup.build(client)
                assert isinstance(quoting, QuotesPrices)
                return await price_update.quote_models(quoting, models)

        quotes = asyncio.run(quote())
        quoted, unquoted = price_update.price_rows(
            provider, catalog, quotes, datetime.datetime.now(datetime.UTC).date()
        )
        path = self.project.root / PRICES_FILE
        written = bool(quoted) and not dry_run
        if written:
            price_update.save_prices(self.project.root, PRICES_FILE, [q.entry for q in quoted])
        return price_update.PriceUpdate(provider, path, quoted, unquoted, written)

    def report(
        self, out: Path, profile: str | None = None, *, self_contained: bool = False
    ) -> Path:
        """Write the HTML gallery; returns the path of its index.html."""
        from wanplan.report.build import build_report

        with self._reading() as reader:
            index, _ = build_report(
                self.project, reader, out, profile, self_contained=self_contained
            )
        return index

    def declared_assets(self) -> list[ResolvedAsset]:
        """The specs, resolved (unchanged input files are not hashed again)."""
        from wanplan.key.file_hashes import FileHasher
        from wanplan.spec.declared import resolve_specs

        with self._reading() as reader:
            stamps = reader.file_stamps()
        catalog = self.project.catalog
        return resolve_specs(self.project, FileHasher(self.project.root, stamps), catalog)
