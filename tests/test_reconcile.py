"""Reconciliation's rules (apply/reconcile.py), against a provider whose task list the test
writes: what is adopted, what is proven never made, and what stays unconfirmed."""

from __future__ import annotations

import asyncio
import math
from typing import Any, ClassVar

import httpx
import pytest

from wanplan.apply.providers import ProviderSetup
from wanplan.apply.reconcile import Outcome, Verdict, examine
from wanplan.config import ProviderSettings
from wanplan.providers.base import ListedTask, ProviderContext, TaskListing
from wanplan.state.records import INTENT, UNCONFIRMED, TaskRecord, iso

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
    prompts: dict[str, str | None] | None = None,
    now: float = NOW,
) -> dict[int, Verdict]:
    setup = ProviderSetup("fake", lister, ProviderSettings(), "https://fake.invalid", None)  # type: ignore[arg-type]

    def knows(provider: str, ids: list[str]) -> set[str]:
        return set(ids) & known

    return asyncio.run(examine(rows, {"fake": setup}, knows, prompts or {}, now))


def listed(task_id: str, at: float, prompt: str | None = None) -> ListedTask:
    return ListedTask(task_id, at, prompt)


def test_no_task_in_the_settled_window_proves_none_was_made(lister: type[Lister]) -> None:
    lister.tasks = [listed("before", T0 - 30), listed("after", T0 + 30)]
    verdict = judge(lister, [row()], known={"before", "after"})[1]
    assert verdict.outcome is Outcome.NOT_CREATED


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


def test_another_prompt_is_never_adopted(lister: type[Lister]) -> None:
    lister.tasks = [listed("theirs", T0 + 0.5, prompt="Their shot.")]
    verdict = judge(lister, [row()], prompts={"key-1": "My shot."})[1]
    assert verdict.outcome is Outcome.NOT_CREATED


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
