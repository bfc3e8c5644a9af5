"""Reconciliation: settle submits whose outcome is unknown against the provider's task list
(PRODUCT §6, PROVIDERS.md §4c).

A journal row is `intent` (the process died around its submit) or `unconfirmed` (the submit
failed in a way that may still have made a task: a 500, a dropped connection). Before anything
is submitted again for it, the provider's list of the account's tasks of that model is read
for the row's window (submit_window.py), leaving out every task the journal knows:

- exactly one candidate in the window, whose prompt matches where the provider tells it, or,
  where it does not, while no other client makes tasks of the model: adopted (the row gets its
  task id) and collected, never paid again;
- none, proven: the list was read to its end, every item readable, no task in the window with
  another prompt (the provider may report a rewritten one) and none made just after it (a
  task stamped late): `not_created`, and the asset is generated normally;
- anything else (several candidates, one another unknown submit could claim too, one that
  cannot be told from another client's, a window older than the provider keeps its list, a row
  from a wanplan that kept no window): the row stays `unconfirmed`, for the user to settle
  (`wanplan import`, or `apply --replace`).

A row is judged once its window, and every window overlapping it, has settled past the
listing's lag. Apply sends one submit per (provider, model) at a time and waits after an
unknown outcome until its window has closed (engine.py), so windows rarely overlap and one
candidate is the row's own task.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import enum
import inspect
import math
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

import httpx

from wanplan.apply.backoff import Backoff
from wanplan.apply.providers import ProviderSetup, listing_setups, lists_tasks
from wanplan.apply.retry import read_is_retryable, with_retries
from wanplan.config import Config
from wanplan.errors import ProviderError
from wanplan.plan.model import Action, Plan, PlanChange
from wanplan.providers.base import ListedTask, ListsTasks
from wanplan.state.base import StateReader, StateWriter
from wanplan.state.records import NOT_CREATED, SUBMITTED, TaskRecord, epoch, iso

CONTEXT_SECONDS = 300.0
"""How far around the windows the listing is read, to see whether another client is active."""
MAX_WAIT_SECONDS = 600.0
LISTING_BACKOFF = Backoff(base=0.5, attempts=4)
"""A task list read again on 429, 5xx and network errors, as polls are."""
RETENTION_MARGIN = 3600.0
"""A window this close to the end of the provider's retention is not trusted to be listed."""
SHOWN_CANDIDATES = 3
LIST_MAY_LAG = "the list may lag more than listing_lag"
"""In a row's reason when a second unknown submit of its asset followed a "none": that row's
own "none" is never taken on trust (only its task, once listed, settles it)."""
NONE_MEMORY_SECONDS = 3600.0
"""How long a "none" verdict for a content key makes the next unknown submit of it doubtful,
and how long that doubt lasts: a list an hour behind is no lag but an outage, so past it a
"none" proves again what PRODUCT §6 says it proves."""
JudgedNone = Callable[[str, str, str], int]
"""The journal's count of a content key's submits judged to have made no task, sent between
two times."""


def lag_doubt(provider: str, listing_lag: float) -> Verdict:
    """A "none" not taken on trust: an earlier submit of the same content key was judged to
    have made no task too, and a list that lags past `listing_lag` would look just so."""
    return Verdict(
        Outcome.UNCONFIRMED,
        f"{provider}'s task list shows no task of it yet, as it showed none for an earlier "
        f"submit of it: {LIST_MAY_LAG} ({listing_lag:g} s, [providers.{provider}]); not "
        "submitted again",
    )


def doubted_before(row: TaskRecord, judged_none: JudgedNone) -> bool:
    """Whether a submit of the row's content key sent within the hour before it was judged to
    have made no task."""
    sent = epoch(row.sent_at or row.submitted_at)
    return judged_none(row.content_key, iso(sent - NONE_MEMORY_SECONDS), iso(sent)) > 0


def _doubt_lasts(row: TaskRecord, now: float) -> bool:
    """Whether a doubt about this row's "none" still holds (within the hour after its end)."""
    end = epoch(row.unknown_until or row.sent_at or row.submitted_at)
    return now < end + NONE_MEMORY_SECONDS


def _doubting_repeated_nones(
    verdicts: dict[int, Verdict],
    rows: Iterable[TaskRecord],
    setups: Mapping[str, ProviderSetup],
    judged_none: JudgedNone,
    now: float,
) -> dict[int, Verdict]:
    for row in rows:
        verdict = verdicts.get(row.id)
        none = verdict is not None and verdict.outcome is Outcome.NOT_CREATED
        doubtful = none and row.provider in setups and _doubt_lasts(row, now)
        if doubtful and doubted_before(row, judged_none):
            verdicts[row.id] = lag_doubt(row.provider, setups[row.provider].timing.listing_lag)
    return verdicts


class Outcome(enum.StrEnum):
    ADOPT = "adopt"
    NOT_CREATED = "not_created"
    UNCONFIRMED = "unconfirmed"
    WAIT = "wait"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str
    task_id: str | None = None
    settles_at: float | None = None
    """For WAIT: from when the listing can be trusted for this row."""


KnownIds = Callable[
    [str, list[str]], Mapping[str, str | None] | Awaitable[Mapping[str, str | None]]
]
"""The journal's look-up of the task ids it holds, each with when its submit was sent
(awaitable when the state is off the loop)."""


async def examine(
    rows: Iterable[TaskRecord],
    setups: Mapping[str, ProviderSetup],
    known: KnownIds,
    prompts: Mapping[str, str | None],
    now: float | None = None,
) -> dict[int, Verdict]:
    """A verdict for each row; reads the providers' task lists, writes nothing."""
    now = time.time() if now is None else now
    rows = list(rows)
    groups: dict[tuple[str, str], list[TaskRecord]] = defaultdict(list)
    for row in rows:
        groups[(row.provider, row.model_id)].append(row)
    verdicts: dict[int, Verdict] = {}
    async with _providers(setups, {provider for provider, _ in groups}) as listers:
        for (provider, model_id), group in groups.items():
            lister = listers.get(provider)
            setup = setups.get(provider)
            if lister is None or setup is None:
                reason = _cannot_list(provider, setup is not None)
                verdicts.update({row.id: Verdict(Outcome.UNCONFIRMED, reason) for row in group})
                continue
            verdicts.update(
                await _examine_model(lister, setup, model_id, group, known, prompts, now)
            )
    for row in rows:
        verdict = verdicts.get(row.id)
        doubted = LIST_MAY_LAG in (row.error or "") and _doubt_lasts(row, now)
        if verdict and verdict.outcome is Outcome.NOT_CREATED and doubted:
            reason = (row.error or "").removeprefix("unconfirmed: ")
            verdicts[row.id] = Verdict(Outcome.UNCONFIRMED, reason)
    return verdicts


def _cannot_list(provider: str, has_setup: bool) -> str:
    if has_setup:
        return f"{provider} cannot list its tasks, so wanplan cannot tell whether it made one"
    return f"the task list of {provider} was not read (no key here)"


@contextlib.asynccontextmanager
async def _providers(
    setups: Mapping[str, ProviderSetup], names: set[str]
) -> AsyncIterator[dict[str, ListsTasks]]:
    clients: list[httpx.AsyncClient] = []
    listers: dict[str, ListsTasks] = {}
    try:
        for name in sorted(names):
            setup = setups.get(name)
            if setup is None:
                continue
            client = setup.client()
            clients.append(client)
            provider = setup.build(client)
            if isinstance(provider, ListsTasks):
                listers[name] = provider
        yield listers
    finally:
        for client in clients:
            await client.aclose()


async def _examine_model(
    lister: ListsTasks,
    setup: ProviderSetup,
    model_id: str,
    rows: list[TaskRecord],
    known: KnownIds,
    prompts: Mapping[str, str | None],
    now: float,
) -> dict[int, Verdict]:
    timing = setup.timing
    verdicts: dict[int, Verdict] = {}
    judged: list[TaskRecord] = []
    retention = getattr(lister, "LISTING_RETENTION", None)
    for row in rows:
        start, _ = timing.window(row)
        if row.sent_at is None:
            verdicts[row.id] = Verdict(
                Outcome.UNCONFIRMED,
                "recorded by an older wanplan, which kept no send window to look in",
            )
        elif retention is not None and start < now - retention + RETENTION_MARGIN:
            verdicts[row.id] = Verdict(
                Outcome.UNCONFIRMED,
                f"older than the {retention / 3600:g} h {setup.name} keeps its task list",
            )
        else:
            judged.append(row)
    windows = {row.id: timing.window(row) for row in judged}
    ready: list[TaskRecord] = []
    for row in judged:
        # A row is judged once its window, and every window overlapping it, has settled: a
        # task in the overlap may be either's.
        latest = max(
            timing.settles_at(other)
            for other in judged
            if _overlap(windows[other.id], windows[row.id])
        )
        if now < latest:
            reason = f"{setup.name}'s task list may not show it yet"
            verdicts[row.id] = Verdict(Outcome.WAIT, reason, settles_at=latest)
        else:
            ready.append(row)
    if not ready:
        return verdicts
    after = min(start for start, _ in windows.values()) - CONTEXT_SECONDS
    before = max(end for _, end in windows.values()) + CONTEXT_SECONDS
    try:
        listing = await with_retries(
            lambda: lister.list_tasks(model_id, after, before), read_is_retryable, LISTING_BACKOFF
        )
    except Exception as exc:  # an answer it could not read is no proof of anything
        reason = f"could not read {setup.name}'s task list ({_describe(exc)})"
        verdicts.update({row.id: Verdict(Outcome.UNCONFIRMED, reason) for row in ready})
        return verdicts
    looked_up = known(setup.name, [task.task_id for task in listing.tasks])
    ours = await looked_up if inspect.isawaitable(looked_up) else looked_up
    strangers = [task for task in listing.tasks if task.task_id not in ours]
    candidates = {
        row.id: [task for task in strangers if _inside(task, windows[row.id])] for row in judged
    }
    # Tasks nobody here made, outside every window: another client uses this model.
    outside_windows = [
        task for task in strangers if not any(_inside(task, window) for window in windows.values())
    ]
    matches = _PromptCheck(lister, model_id)
    for row in ready:
        prompt = prompts.get(row.content_key)
        found: list[tuple[ListedTask, bool | None]] = []
        other_prompts = 0
        floor = _made_before(row, listing.tasks, ours)
        earlier = [t for t in candidates[row.id] if floor is not None and t.created_at <= floor]
        for task in candidates[row.id]:
            match = await matches.check(task, prompt)
            if match is False:  # another prompt: not to be adopted as this row's task
                other_prompts += 1
            else:
                found.append((task, match))
        # A task stamped no later than one of ours that was sent earlier is most likely
        # another client's: another client is active, so only a matching prompt adopts and
        # nothing is proven not made. (It stays a candidate: a stamp to the whole second, or
        # from another machine of the provider's, can put this row's own task there too.)
        active = bool(outside_windows or earlier)
        verdicts[row.id] = _judge(
            _Seen(setup.name, model_id, found, listing.complete, active),
            other_prompts=other_prompts,
        )
    return _without_shared_claims(verdicts, candidates)


def _overlap(one: tuple[float, float], other: tuple[float, float]) -> bool:
    return one[0] <= other[1] and other[0] <= one[1]


def _made_before(
    row: TaskRecord, listed: Iterable[ListedTask], ours: Mapping[str, str | None]
) -> float | None:
    """When the provider made the latest listed task of ours (the listing is of this row's
    model) whose submit was sent before this row's. Submits of a model go one at a time, each
    after the one before was answered (or its window closed), so this row's task, if there is
    one, was made after that one on the provider's own clock, whatever its skew from ours."""
    if row.sent_at is None:
        return None
    sent = epoch(row.sent_at)
    times = [
        task.created_at
        for task in listed
        if not math.isnan(task.created_at)
        and (when := ours.get(task.task_id)) is not None
        and epoch(when) < sent
    ]
    return max(times, default=None)


def _inside(task: ListedTask, window: tuple[float, float]) -> bool:
    """A task without a readable creation time cannot be ruled out of any window."""
    return math.isnan(task.created_at) or window[0] <= task.created_at <= window[1]


class _PromptCheck:
    """Whether a candidate's prompt is the row's: True, False, or None when unknown."""

    def __init__(self, lister: ListsTasks, model_id: str) -> None:
        self.lister = lister
        self.model_id = model_id
        self._prompts: dict[str, str | None] = {}

    async def check(self, task: ListedTask, prompt: str | None) -> bool | None:
        if prompt is None:
            return None
        theirs = task.prompt
        if theirs is None:
            if task.task_id not in self._prompts:
                try:
                    fetched = await with_retries(
                        lambda: self.lister.task_prompt(task.task_id, self.model_id),
                        read_is_retryable,
                        LISTING_BACKOFF,
                    )
                except Exception:  # unreadable or refused: the prompt is not known
                    fetched = None
                self._prompts[task.task_id] = fetched
            theirs = self._prompts[task.task_id]
        return None if theirs is None else theirs.strip() == prompt.strip()


@dataclass(frozen=True)
class _Seen:
    """What the task list showed for one row's window."""

    provider: str
    model_id: str
    found: list[tuple[ListedTask, bool | None]]
    """Candidates not ruled out, each with whether its prompt matches (None: not known)."""
    complete: bool
    others_active: bool


def _judge(seen: _Seen, *, other_prompts: int) -> Verdict:
    provider, model_id, found = seen.provider, seen.model_id, seen.found
    if not found:
        # "No task" must be proven: by a list read to its end, with nothing in the window
        # that could still be this submit's (a prompt the provider may have rewritten), and
        # no task nobody here made anywhere around it: one just outside the window may be this
        # submit's, stamped late, to the whole second, or by a clock that is off.
        if not seen.complete:
            why = f"{provider}'s task list was too long to read to its end"
        elif other_prompts:
            why = (
                f"{provider} made {other_prompts} task(s) of {model_id} then, with another "
                "prompt; wanplan cannot rule out that one is its own"
            )
        elif seen.others_active:
            why = (
                f"{provider} made tasks of {model_id} around that time that nobody here made; "
                "one may be its own, stamped late or by a clock that is off"
            )
        else:
            return Verdict(
                Outcome.NOT_CREATED,
                f"{provider} made no task of {model_id} while it was sent (its task list shows "
                "none): nothing was paid",
            )
        return Verdict(Outcome.UNCONFIRMED, why)
    if len(found) == 1:
        task, match = found[0]
        if match or not seen.others_active:
            how = "its prompt matches" if match else "the only one in the window"
            return Verdict(
                Outcome.ADOPT,
                f"adopted {provider} task {task.task_id} from its task list ({how})",
                task.task_id,
            )
        return Verdict(
            Outcome.UNCONFIRMED,
            f"{provider} task {task.task_id} was made then, but another client also makes "
            f"tasks of {model_id} on this account and {provider} does not say whose it is",
        )
    ids = [task.task_id for task, _ in found]
    shown = ", ".join(ids[:SHOWN_CANDIDATES]) + (" …" if len(ids) > SHOWN_CANDIDATES else "")
    return Verdict(
        Outcome.UNCONFIRMED,
        f"{len(ids)} {provider} tasks were made while it was sent ({shown}); wanplan cannot "
        "tell which is its own",
    )


def _without_shared_claims(
    verdicts: dict[int, Verdict], candidates: Mapping[int, list[ListedTask]]
) -> dict[int, Verdict]:
    """A task that two rows could each adopt is adopted by neither."""
    claimed: dict[str, int] = defaultdict(int)
    for tasks in candidates.values():
        for task in tasks:
            claimed[task.task_id] += 1
    for row_id, verdict in list(verdicts.items()):
        if verdict.outcome is Outcome.ADOPT and claimed[verdict.task_id or ""] > 1:
            verdicts[row_id] = Verdict(
                Outcome.UNCONFIRMED,
                f"task {verdict.task_id} falls in the window of more than one unconfirmed "
                "submit; wanplan cannot tell whose it is",
            )
    return verdicts


def _describe(exc: BaseException) -> str:
    if isinstance(exc, httpx.HTTPError):
        return f"network error ({type(exc).__name__})"
    if isinstance(exc, ProviderError):
        return str(exc)
    return f"an answer it could not read ({type(exc).__name__})"


def clock_time(epoch: float) -> str:
    """ "07:41:05 UTC", for messages."""
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%H:%M:%S UTC")


def run_examine(
    rows: list[TaskRecord],
    setups: Mapping[str, ProviderSetup],
    known: KnownIds,
    prompts: Mapping[str, str | None],
    now: float | None = None,
) -> dict[int, Verdict]:
    return asyncio.run(examine(rows, setups, known, prompts, now))


def settle(
    state: StateWriter,
    setups: Mapping[str, ProviderSetup],
    prompts: Mapping[str, str | None],
    *,
    on_wait: Callable[[int, float], None] = lambda rows, seconds: None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    only: Collection[str] | None = None,
) -> dict[int, Verdict]:
    """Apply's reconciliation, under the state lock: wait until the windows have settled (at
    most MAX_WAIT_SECONDS), judge every unknown submit of these providers, and record each
    verdict in the journal. Returns the verdicts by journal row. `only`: the content keys
    this runner holds among others (PRODUCT §11); every unknown submit is still judged with
    them (another runner's overlapping window may hold the only candidate), but only theirs
    are recorded."""
    deadline = clock() + MAX_WAIT_SECONDS
    while True:
        rows = [t for t in state.open_tasks() if t.outcome_unknown and t.provider in setups]
        mine = [t for t in rows if only is None or t.content_key in only]
        if not mine:
            return {}
        verdicts = run_examine(rows, setups, state.known_task_ids, prompts, clock())
        verdicts = _doubting_repeated_nones(verdicts, mine, setups, state.judged_none, clock())
        waits = [s for t in mine if (s := verdicts[t.id].settles_at) is not None]
        if waits and max(waits) <= deadline:
            on_wait(len(waits), max(max(waits) - clock(), 0.0))
            sleep(max(max(waits) - clock(), 0.0) + 0.05)
            continue
        with state.transaction():
            for row in mine:
                current = state.task(row.id)
                if current is not None and current.outcome_unknown:  # not settled meanwhile
                    _record(state, row, verdicts[row.id], setups[row.provider])
        return {t.id: verdicts[t.id] for t in mine}


def _record(state: StateWriter, row: TaskRecord, verdict: Verdict, setup: ProviderSetup) -> None:
    if verdict.outcome is Outcome.ADOPT and verdict.task_id is not None:
        state.record_submitted(row.id, verdict.task_id, verdict.reason)
    elif verdict.outcome is Outcome.NOT_CREATED:
        state.record_task_status(row.id, NOT_CREATED, verdict.reason)
    else:
        # An intent (a process that died) keeps its whole window once it is `unconfirmed`.
        end = setup.timing.window(row)[1] - setup.timing.clock_pad if row.sent_at else None
        state.record_unconfirmed(row.id, verdict.reason, None if end is None else iso(end))


def unconfirmed_changes(plan: Plan) -> list[PlanChange]:
    return [c for c in plan.changes if c.action is Action.UNCONFIRMED and c.task is not None]


def _prompts(changes: Iterable[PlanChange]) -> dict[str, str | None]:
    prompts: dict[str, str | None] = {}
    for change in changes:
        if change.asset is not None:
            prompt = change.asset.params.get("prompt")
            prompts[change.asset.content_key] = prompt if isinstance(prompt, str) else None
    return prompts


def settle_plan(
    plan: Plan,
    state: StateWriter,
    config: Config,
    replan: Callable[[], Plan],
    on_wait: Callable[[int, float], None],
    transport: httpx.AsyncBaseTransport | None = None,
    only: Collection[str] | None = None,
) -> Plan:
    """Apply's step before confirmation: settle the plan's unconfirmed submits where the
    providers can list their tasks (with a key here), then plan again on the new journal.
    `only`: among other runners, the content keys this one holds (see `settle`)."""
    changes = unconfirmed_changes(plan)
    names = sorted({c.task.provider for c in changes if c.task})
    setups = listing_setups(config, names, transport)
    if not setups:
        return plan
    settle(state, setups, _prompts(plan.changes), on_wait=on_wait, only=only)
    return replan()


def look(
    plan: Plan,
    reader: StateReader,
    config: Config,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Plan:
    """`plan`'s read-only view of the same: where the provider's key is set, its task list is
    read (a free request that changes nothing) and the plan shows what apply would do."""
    changes = unconfirmed_changes(plan)
    names = sorted({c.task.provider for c in changes if c.task})
    setups = listing_setups(config, names, transport)
    rows = [c.task for c in changes if c.task is not None and c.task.provider in setups]
    verdicts = run_examine(rows, setups, reader.known_task_ids, _prompts(changes)) if rows else {}
    verdicts = _doubting_repeated_nones(verdicts, rows, setups, reader.judged_none, time.time())
    for change in changes:
        assert change.task is not None
        if change.task.provider not in setups and lists_tasks(change.task.provider):
            verdicts[change.task.id] = Verdict(
                Outcome.UNCONFIRMED,
                f"{change.task.provider}'s task list was not read (no key here); apply reads it",
            )
    return revised(plan, verdicts)


def revised(plan: Plan, verdicts: Mapping[int, Verdict]) -> Plan:
    """The plan with each unconfirmed change replaced by what its verdict makes of it."""
    estimator = plan.estimator or (lambda asset: None)
    changes: list[PlanChange] = []
    for change in plan.changes:
        verdict = verdicts.get(change.task.id) if change.task is not None else None
        if change.action is not Action.UNCONFIRMED or verdict is None or change.asset is None:
            changes.append(change)
        elif verdict.outcome is Outcome.ADOPT and change.task is not None:
            task = change.task._replace(task_id=verdict.task_id, status=SUBMITTED)
            changes.append(
                dataclasses.replace(
                    change,
                    action=Action.RESUME,
                    reasons=(verdict.reason,),
                    task=task,
                    cost_at_risk=Decimal(0),
                )
            )
        elif verdict.outcome is Outcome.NOT_CREATED:
            changes.append(
                dataclasses.replace(
                    change,
                    action=Action.CREATE if change.previous is None else Action.REPLACE,
                    reasons=(verdict.reason,),
                    estimated_cost=estimator(change.asset),
                    task=None,
                    cost_at_risk=Decimal(0),
                )
            )
        else:
            when = (
                f"; apply waits until {clock_time(verdict.settles_at)} to decide"
                if verdict.settles_at is not None
                else ""
            )
            # The reason apply recorded is shown already: said again only when new.
            said = any(verdict.reason in reason for reason in change.reasons)
            reasons = (
                change.reasons if said and not when else (*change.reasons, verdict.reason + when)
            )
            changes.append(dataclasses.replace(change, reasons=reasons))
    return dataclasses.replace(plan, changes=changes)
