"""Reconciliation's rules (apply/reconcile.py), against a provider whose task list the test
writes: what is adopted, what is proven never made, and what stays unconfirmed."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import math
import time
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import httpx
import pytest

from wanplan.apply.providers import ProviderSetup
from wanplan.apply.reconcile import Outcome, Verdict, examine, settle
from wanplan.config import ProviderSettings
from wanplan.providers.base import ListedTask, ProviderContext, TaskListing
from wanplan.providers.dashscope import DashScopeProvider
from wanplan.providers.wavespeed import WaveSpeedProvider
from wanplan.state.records import INTENT, NOT_CREATED, UNCONFIRMED, TaskRecord, iso

T0 = 1_800_000_000.0
NOW = T0 + 60


class Lister:
    """A provider that can list its tasks: the test sets what the list holds."""

    name: ClassVar[str] = "fake"
    key_env: ClassVar[str | None] = None
    DEFAULT_LISTING_LAG: ClassVar[float] = 2.0
    DEFAULT_SUBMIT_TIMEOUT: ClassVar[float] = 10.0
    CLOCK_PAD: ClassVar[float] = 0.0
    tasks: ClassVar[list[ListedTask]] = []
    complete: ClassVar[bool] = True
    prompts: ClassVar[dict[str, str]] = {}
    calls: ClassVar[list[tuple[float, float]]] = []

    def __init__(self, context: ProviderContext) -> None:
        self.context = context

    @classmethod
    def make_client(cls, settings: ProviderSettings) -> httpx.AsyncClient:
        return httpx.AsyncClient()

    async def list_tasks(self, model_id: str, after: float, before: float) -> TaskListing:
        type(self).calls.append((after, before))
        return TaskListing(tuple(self.tasks), complete=self.complete)

    async def task_prompt(self, task_id: str, model_id: str) -> str | None:
        return self.prompts.get(task_id)


@pytest.fixture
def lister() -> type[Lister]:
    class Fresh(Lister):
        tasks: ClassVar[list[ListedTask]] = []
        prompts: ClassVar[dict[str, str]] = {}
        calls: ClassVar[list[tuple[float, float]]] = []

    return Fresh


def row(
    ident: int = 1,
    *,
    sent: float = T0,
    until: float | None = T0 + 1,
    key: str = "key-1",
    status: str = UNCONFIRMED,
) -> TaskRecord:
    return TaskRecord(
        id=ident,
        provider="fake",
        model_id="fake/wan",
        task_id=None,
        content_key=key,
        address=f"asset-{ident}",
        profile="default",
        status=status,
        submitted_at=iso(sent),
        updated_at=iso(sent),
        estimated_cost=None,
        error="unconfirmed: HTTP 500",
        sent_at=iso(sent),
        unknown_until=None if until is None else iso(until),
    )


def judge(
    lister: type[Lister],
    rows: list[TaskRecord],
    *,
    known: set[str] = frozenset(),  # type: ignore[assignment]
    known_sent: dict[str, str] | None = None,
    prompts: dict[str, str | None] | None = None,
    now: float = NOW,
) -> dict[int, Verdict]:
    """`known`: task ids the journal holds; `known_sent`: when some of them were sent."""
    known_sent = known_sent or {}
    setup = ProviderSetup("fake", lister, ProviderSettings(), "https://fake.invalid", None)  # type: ignore[arg-type]

    def knows(provider: str, ids: list[str]) -> dict[str, str | None]:
        return {task_id: known_sent.get(task_id) for task_id in set(ids) & set(known)}

    return asyncio.run(examine(rows, {"fake": setup}, knows, prompts or {}, now))


def listed(task_id: str, at: float, prompt: str | None = None) -> ListedTask:
    return ListedTask(task_id, at, prompt)


def test_no_task_in_the_settled_window_proves_none_was_made(lister: type[Lister]) -> None:
    lister.tasks = [listed("before", T0 - 30), listed("after", T0 + 30)]
    verdict = judge(lister, [row()], known={"before", "after"})[1]
    assert verdict.outcome is Outcome.NOT_CREATED


def test_a_none_that_followed_a_none_is_no_proof_but_its_task_still_settles_it(
    lister: type[Lister],
) -> None:
    from wanplan.apply.reconcile import LIST_MAY_LAG

    doubted = row()._replace(error=f"unconfirmed: no task yet: {LIST_MAY_LAG} (3 s)")
    lister.tasks = [listed("before", T0 - 30), listed("after", T0 + 30)]
    verdict = judge(lister, [doubted], known={"before", "after"})[1]
    assert verdict.outcome is Outcome.UNCONFIRMED and LIST_MAY_LAG in verdict.reason
    lister.tasks = [listed("mine", T0 + 0.4)]
    verdict = judge(lister, [doubted])[1]
    assert (verdict.outcome, verdict.task_id) == (Outcome.ADOPT, "mine")


def test_an_unsettled_submit_says_its_cause_in_one_sentence() -> None:
    from wanplan.apply.failures import unconfirmed_failure_for

    told = unconfirmed_failure_for("clip", row()._replace(error="unconfirmed: please retry."))
    assert "please retry. Found on fake's dashboard" in told and ".." not in told


def test_the_one_unknown_task_in_the_window_is_adopted(lister: type[Lister]) -> None:
    lister.tasks = [listed("mine", T0 + 0.4), listed("known", T0 + 0.2)]
    verdict = judge(lister, [row()], known={"known"})[1]
    assert (verdict.outcome, verdict.task_id) == (Outcome.ADOPT, "mine")


def test_a_window_not_yet_settled_waits_for_the_listing_lag(lister: type[Lister]) -> None:
    lister.tasks = []
    verdict = judge(lister, [row()], now=T0 + 1.5)[1]  # ends at T0+1, lag 2 s
    assert verdict.outcome is Outcome.WAIT
    assert verdict.settles_at == pytest.approx(T0 + 3)
    assert lister.calls == []  # nothing judged, nothing read yet


def test_a_killed_submit_counts_its_window_to_the_submit_timeout(lister: type[Lister]) -> None:
    # No end known (the process died): the task may have been made until the timeout.
    lister.tasks = [listed("late", T0 + 9)]
    assert judge(lister, [row(until=None, status=INTENT)], now=T0 + 5)[1].outcome is Outcome.WAIT
    verdict = judge(lister, [row(until=None, status=INTENT)])[1]
    assert (verdict.outcome, verdict.task_id) == (Outcome.ADOPT, "late")


def test_two_candidates_stay_unconfirmed_and_name_them(lister: type[Lister]) -> None:
    lister.tasks = [listed("one", T0 + 0.2), listed("two", T0 + 0.8)]
    verdict = judge(lister, [row()])[1]
    assert verdict.outcome is Outcome.UNCONFIRMED
    assert "one" in verdict.reason and "two" in verdict.reason


def test_another_clients_activity_forbids_adopting_without_a_prompt(lister: type[Lister]) -> None:
    # A task nobody here made, outside the window: someone else uses this model, so the one
    # candidate cannot be told from theirs.
    lister.tasks = [listed("candidate", T0 + 0.5), listed("theirs", T0 - 100)]
    verdict = judge(lister, [row()])[1]
    assert verdict.outcome is Outcome.UNCONFIRMED
    assert "another client" in verdict.reason


def test_a_matching_prompt_adopts_despite_another_client(lister: type[Lister]) -> None:
    lister.tasks = [listed("theirs-now", T0 + 0.3), listed("mine", T0 + 0.5)]
    lister.prompts = {"theirs-now": "Their shot.", "mine": "My shot."}
    verdict = judge(lister, [row()], prompts={"key-1": "My shot."})[1]
    assert (verdict.outcome, verdict.task_id) == (Outcome.ADOPT, "mine")


def test_another_prompt_is_never_adopted_nor_taken_as_proof_of_none(
    lister: type[Lister],
) -> None:
    # The provider may have rewritten the prompt it reports: not ours to adopt, and not a
    # proof that none of ours exists either.
    lister.tasks = [listed("theirs", T0 + 0.5, prompt="Their shot.")]
    verdict = judge(lister, [row()], prompts={"key-1": "My shot."})[1]
    assert verdict.outcome is Outcome.UNCONFIRMED and "another prompt" in verdict.reason


def test_a_task_made_just_after_the_window_is_no_proof_of_none(lister: type[Lister]) -> None:
    # A provider that stamps a task late (its backend still working after a 504) or a clock
    # off by more than the pad: the empty window proves nothing.
    lister.tasks = [listed("late", T0 + 4)]
    verdict = judge(lister, [row()])[1]
    assert verdict.outcome is Outcome.UNCONFIRMED and "stamped late" in verdict.reason
    lister.tasks = [listed("early", T0 - 0.9)]  # stamped to the whole second, before the send
    assert judge(lister, [row()])[1].outcome is Outcome.UNCONFIRMED


def test_a_window_older_than_the_listing_keeps_is_never_judged(lister: type[Lister]) -> None:
    lister.LISTING_RETENTION = 86400.0  # type: ignore[attr-defined]
    verdict = judge(lister, [row()], now=T0 + 86400)[1]
    assert verdict.outcome is Outcome.UNCONFIRMED and "keeps its task list" in verdict.reason
    assert lister.calls == []


def test_a_row_from_before_send_windows_were_kept_is_never_judged(lister: type[Lister]) -> None:
    old = row()._replace(sent_at=None, unknown_until=None)
    verdict = judge(lister, [old])[1]
    assert verdict.outcome is Outcome.UNCONFIRMED and "older wanplan" in verdict.reason


def test_an_unreadable_listing_leaves_it_unconfirmed(lister: type[Lister]) -> None:
    async def garbled(self: Any, model_id: str, after: float, before: float) -> TaskListing:
        raise ValueError("Exceeds the limit (4300 digits) for integer string conversion")

    lister.list_tasks = garbled  # type: ignore[method-assign]
    verdict = judge(lister, [row()])[1]
    assert verdict.outcome is Outcome.UNCONFIRMED and "could not read" in verdict.reason


def test_a_row_waits_only_for_windows_that_overlap_its_own(lister: type[Lister]) -> None:
    settled = row(1, sent=T0, until=T0 + 1)
    overlapping = row(2, sent=T0 + 0.5, until=T0 + 50)
    apart = row(3, sent=T0 + 40, until=T0 + 58)
    lister.tasks = [listed("mine", T0 + 0.2)]
    verdicts = judge(lister, [settled, apart], now=T0 + 10)
    assert verdicts[1].outcome is Outcome.ADOPT  # a later, separate window does not hold it
    assert verdicts[3].outcome is Outcome.WAIT
    verdicts = judge(lister, [settled, overlapping], now=T0 + 10)
    assert {v.outcome for v in verdicts.values()} == {Outcome.WAIT}


def test_a_task_in_two_windows_is_adopted_by_neither(lister: type[Lister]) -> None:
    lister.tasks = [listed("shared", T0 + 1.0)]
    verdicts = judge(lister, [row(1, until=T0 + 1.0), row(2, sent=T0 + 1.0, until=T0 + 2)])
    assert {v.outcome for v in verdicts.values()} == {Outcome.UNCONFIRMED}


def test_a_listing_cut_short_proves_nothing(lister: type[Lister]) -> None:
    lister.tasks, lister.complete = [], False
    assert judge(lister, [row()])[1].outcome is Outcome.UNCONFIRMED


def test_a_task_without_a_readable_time_cannot_be_ruled_out(lister: type[Lister]) -> None:
    lister.tasks = [listed("timeless", math.nan), listed("mine", T0 + 0.5)]
    assert judge(lister, [row()])[1].outcome is Outcome.UNCONFIRMED


def test_a_failing_listing_leaves_it_unconfirmed(lister: type[Lister]) -> None:
    async def broken(self: Any, model_id: str, after: float, before: float) -> TaskListing:
        raise httpx.ReadTimeout("slow")

    lister.list_tasks = broken  # type: ignore[method-assign]
    verdict = judge(lister, [row()])[1]
    assert verdict.outcome is Outcome.UNCONFIRMED and "ReadTimeout" in verdict.reason


def test_a_provider_that_cannot_list_leaves_it_unconfirmed() -> None:
    class Mute:
        name: ClassVar[str] = "fake"
        key_env: ClassVar[str | None] = None

        def __init__(self, context: ProviderContext) -> None:
            self.context = context

        @classmethod
        def make_client(cls, settings: ProviderSettings) -> httpx.AsyncClient:
            return httpx.AsyncClient()

    verdict = judge(Mute, [row()])[1]  # type: ignore[arg-type]
    assert verdict.outcome is Outcome.UNCONFIRMED and "cannot list" in verdict.reason


REAL = time.time()


def listing_of(provider: type[Any], *pages: dict[str, Any]) -> TaskListing:
    """What a provider's list_tasks makes of these answers, one per page (then empty pages)."""
    served = list(pages)

    async def serve(request: httpx.Request) -> httpx.Response:
        empty = {"data": {"items": []}} if provider is WaveSpeedProvider else {"data": []}
        return httpx.Response(200, json=served.pop(0) if served else empty)

    async def read() -> TaskListing:
        async with httpx.AsyncClient(transport=httpx.MockTransport(serve)) as client:
            context = ProviderContext(ProviderSettings(), client, "https://p.invalid", "k", None)
            lister = provider(context)
            return await lister.list_tasks("m", REAL - 10, REAL + 10)  # type: ignore[no-any-return]

    return asyncio.run(read())


@pytest.mark.parametrize(
    "item",
    [
        "not an object",
        {"task_id": 7},
        {"task_id": "../../etc/passwd"},
        {"task_id": ""},
    ],
)
def test_a_dashscope_item_it_cannot_read_makes_the_listing_no_proof(item: object) -> None:
    good = {"task_id": "t-1", "model_name": "m", "gmt_create": int(REAL * 1000)}
    listing = listing_of(DashScopeProvider, {"data": [good, item], "total_page": 1})
    assert [task.task_id for task in listing.tasks] == ["t-1"] and not listing.complete


@pytest.mark.parametrize("created", ["²", "9" * 5000, 10**400, True, None, "soon"])
def test_a_dashscope_time_it_cannot_read_is_kept_in_every_window(created: object) -> None:
    item = {"task_id": "t-1", "model_name": "m", "gmt_create": created}
    listing = listing_of(DashScopeProvider, {"tasks": [item]})
    (task,) = listing.tasks
    assert math.isnan(task.created_at) and listing.complete


def iso_nanos(epoch: float) -> str:
    moment = datetime.datetime.fromtimestamp(int(epoch), datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + ".123456789Z"


def test_a_wavespeed_item_it_cannot_read_makes_the_listing_no_proof() -> None:
    items = [{"id": "p-1", "model": "m", "created_at": iso_nanos(REAL)}, [1]]
    listing = listing_of(WaveSpeedProvider, {"code": 200, "data": {"items": items}})
    assert [task.task_id for task in listing.tasks] == ["p-1"] and not listing.complete
    assert listing.tasks[0].created_at == pytest.approx(int(REAL) + 0.123, abs=0.001)


def test_a_short_page_is_not_the_end_of_the_list() -> None:
    # A server that serves 2 items a page though 100 were asked for, with a total of 3.
    def page(*ids: str) -> dict[str, Any]:
        items = [{"id": i, "model": "m", "created_at": iso_nanos(REAL)} for i in ids]
        return {"code": 200, "data": {"items": items, "total": 3}}

    listing = listing_of(WaveSpeedProvider, page("a", "b"), page("c"))
    assert [task.task_id for task in listing.tasks] == ["a", "b", "c"] and listing.complete
    empty = listing_of(WaveSpeedProvider, {"code": 200, "data": {"items": None, "total": 0}})
    assert empty.tasks == () and empty.complete


@pytest.mark.parametrize(
    ("created", "seconds"),
    [(int(REAL * 1000), True), (int(REAL), True), (1747634955000 - 10**12, False)],
    ids=["milliseconds", "seconds", "far-off"],  # stable across xdist's workers
)
def test_a_dashscope_time_in_seconds_or_far_off_is_read_or_kept_unknown(
    created: int, seconds: bool
) -> None:
    listing = listing_of(DashScopeProvider, {"data": [{"task_id": "t", "gmt_create": created}]})
    (task,) = listing.tasks
    assert (task.created_at == pytest.approx(int(REAL), abs=1)) is seconds
    assert seconds or math.isnan(task.created_at)


def test_a_bounded_submit_keeps_an_answer_and_gives_up_on_silence() -> None:
    from wanplan.apply.engine import _bounded
    from wanplan.providers.base import SubmittedTask

    async def answer(after: float) -> SubmittedTask:
        await asyncio.sleep(after)
        return SubmittedTask("task-1")

    async def scenario() -> tuple[str, bool]:
        kept = (await _bounded(answer(0.01), 1.0)).task_id
        silent = answer(5.0)
        try:
            await _bounded(silent, 0.05)
        except TimeoutError:
            return kept, True
        return kept, False

    assert asyncio.run(scenario()) == ("task-1", True)


def test_a_task_made_before_an_earlier_submit_of_ours_is_never_adopted(
    lister: type[Lister],
) -> None:
    # Found by the chaos test: our earlier submit was answered (its task is known), another
    # client made a task at that moment, and this submit was killed before it was sent. The
    # stranger is the only unknown task in this row's padded window, but it was made before
    # the earlier submit's task, and this row was sent after that one's answer: not ours.
    # (The provider's clock runs 0.25 s ahead: both stamps fall inside this row's window.)
    lister.tasks = [listed("earlier", T0 + 0.05), listed("stranger", T0 + 0.05)]
    verdict = judge(
        lister,
        [row(status=INTENT, until=T0 + 1)],
        known={"earlier"},
        known_sent={"earlier": iso(T0 - 0.2)},
    )[1]
    assert verdict.outcome is Outcome.UNCONFIRMED, verdict
    assert "another client" in verdict.reason


def test_this_submits_task_after_an_earlier_one_of_ours_is_still_adopted(
    lister: type[Lister],
) -> None:
    lister.tasks = [listed("earlier", T0 + 0.05), listed("mine", T0 + 0.3)]
    verdict = judge(lister, [row()], known={"earlier"}, known_sent={"earlier": iso(T0 - 0.2)})[1]
    assert (verdict.outcome, verdict.task_id) == (Outcome.ADOPT, "mine")


def test_a_later_submit_of_ours_rules_nothing_out(lister: type[Lister]) -> None:
    # Sent after this row: this row's task came first, so a candidate before it may be ours.
    lister.tasks = [listed("mine", T0 + 0.2), listed("later", T0 + 0.6)]
    verdict = judge(lister, [row()], known={"later"}, known_sent={"later": iso(T0 + 0.5)})[1]
    assert (verdict.outcome, verdict.task_id) == (Outcome.ADOPT, "mine")


def test_an_earlier_stamp_never_narrows_the_candidates_to_a_stranger(
    lister: type[Lister],
) -> None:
    # From review: this row's own task is stamped a hair before our earlier task (another of
    # the provider's machines), and a teammate made one with the same prompt later in the
    # window. Ruling out the early one would leave the teammate's as the only match.
    lister.tasks = [listed("earlier", T0 + 0.30), listed("own", T0 + 0.29)]
    lister.tasks += [listed("theirs", T0 + 0.6)]
    lister.prompts = {"own": "A fern.", "theirs": "A fern."}
    verdict = judge(
        lister,
        [row()],
        known={"earlier"},
        known_sent={"earlier": iso(T0 - 0.2)},
        prompts={"key-1": "A fern."},
    )[1]
    assert verdict.outcome is Outcome.UNCONFIRMED, verdict


class _Journal:
    """The journal settle reads and writes, in memory: what it recorded, by row."""

    def __init__(self, rows: list[TaskRecord]) -> None:
        self.rows = {r.id: r for r in rows}
        self.written: dict[int, str] = {}

    def open_tasks(self) -> list[TaskRecord]:
        return [r for r in self.rows.values() if r.id not in self.written]

    def task(self, ident: int) -> TaskRecord | None:
        return self.rows.get(ident)

    def known_task_ids(self, provider: str, ids: Sequence[str]) -> dict[str, str | None]:
        return {}

    def judged_none(self, content_key: str, since: str, before: str) -> int:
        return sum(
            1
            for r in self.rows.values()
            if self.written.get(r.id) == NOT_CREATED
            and r.content_key == content_key
            and since <= (r.sent_at or r.submitted_at) < before
        )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        yield

    def record_submitted(self, ident: int, task_id: str, note: str | None = None) -> None:
        self.written[ident] = f"adopted {task_id}"

    def record_task_status(self, ident: int, status: str, error: str | None = None) -> None:
        self.written[ident] = status

    def record_unconfirmed(self, ident: int, reason: str, until: str | None) -> None:
        self.written[ident] = "unconfirmed"


def test_among_runners_every_unknown_submit_is_judged_and_only_ones_own_recorded(
    lister: type[Lister],
) -> None:
    """From review: settling only this runner's rows let its window adopt the task another
    runner's overlapping unknown submit made (a wrong video, and that runner paying again)."""
    lister.tasks = [listed("their-task", T0 + 0.8)]  # no prompt in the listing
    mine = row(1, sent=T0, until=T0 + 1.0, key="K1")
    theirs = row(2, sent=T0 + 0.5, until=T0 + 1.5, key="K2")
    journal = _Journal([mine, theirs])
    setup = ProviderSetup("fake", lister, ProviderSettings(), "https://fake.invalid", None)  # type: ignore[arg-type]
    verdicts = settle(
        journal,  # type: ignore[arg-type]
        {"fake": setup},
        {"K1": "mine"},
        clock=lambda: NOW,
        sleep=lambda _: None,
        only={"K1"},
    )
    assert verdicts[1].outcome is Outcome.UNCONFIRMED  # the task may be either's
    assert journal.written == {1: "unconfirmed"}  # the other runner's row is its own


def test_settling_doubts_a_none_for_a_key_already_judged_none(lister: type[Lister]) -> None:
    """A submit of K1 was judged to have made no task; another of K1 is unknown and its
    window looks empty too: not taken on trust, it stays unconfirmed."""
    lister.tasks = []
    earlier, later = row(1, sent=T0 - 20, key="K1"), row(2, key="K1")
    journal = _Journal([earlier, later])
    journal.written[1] = NOT_CREATED
    setup = ProviderSetup("fake", lister, ProviderSettings(), "https://fake.invalid", None)  # type: ignore[arg-type]
    verdicts = settle(journal, {"fake": setup}, {}, clock=lambda: NOW, sleep=lambda _: None)  # type: ignore[arg-type]
    assert verdicts[2].outcome is Outcome.UNCONFIRMED and "may lag" in verdicts[2].reason
    assert journal.written == {1: NOT_CREATED, 2: "unconfirmed"}


def test_a_doubt_lasts_an_hour_and_needs_a_none_from_the_hour_before(
    lister: type[Lister],
) -> None:
    from wanplan.apply.reconcile import LIST_MAY_LAG, NONE_MEMORY_SECONDS

    lister.tasks = []
    setup = ProviderSetup("fake", lister, ProviderSettings(), "https://fake.invalid", None)  # type: ignore[arg-type]

    def settled(rows: list[TaskRecord], judged: set[int], now: float) -> Verdict:
        journal = _Journal(rows)
        journal.written.update(dict.fromkeys(judged, NOT_CREATED))
        verdicts = settle(journal, {"fake": setup}, {}, clock=lambda: now, sleep=lambda _: None)  # type: ignore[arg-type]
        return verdicts[rows[-1].id]

    earlier = row(1, sent=T0 - 20, key="K1")
    # A "none" more than an hour before: no doubt.
    long_ago = row(1, sent=T0 - NONE_MEMORY_SECONDS - 20, key="K1")
    assert settled([long_ago, row(2, key="K1")], {1}, NOW).outcome is Outcome.NOT_CREATED
    # A "none" after this row's send: no doubt about this one.
    after = row(1, sent=T0 + 0.5, key="K1")
    assert settled([after, row(2, key="K1")], {1}, NOW).outcome is Outcome.NOT_CREATED
    # Doubted within the hour; an hour past its end, its "none" proves again.
    assert settled([earlier, row(2, key="K1")], {1}, NOW).outcome is Outcome.UNCONFIRMED
    late = NOW + NONE_MEMORY_SECONDS
    assert settled([earlier, row(2, key="K1")], {1}, late).outcome is Outcome.NOT_CREATED
    marked = row(2)._replace(error=f"unconfirmed: {LIST_MAY_LAG}")
    assert settled([marked], set(), NOW).outcome is Outcome.UNCONFIRMED
    assert settled([marked], set(), late).outcome is Outcome.NOT_CREATED
