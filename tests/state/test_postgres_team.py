"""Runners sharing one PostgreSQL state (PRODUCT §11), each through a writer connection of its
own: content-key claims, one model's submits at a time, the provider's slots and request rate,
the day's budget reservations, the heartbeat that keeps them, and the shared state lock.

Leases run on the server's clock: a test lets one lapse by sleeping well past it, and checks a
renewed one well before its new end, so no assertion hangs on a tight margin."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest

from wanplan.errors import StateError
from wanplan.state.lock import this_process
from wanplan.state.postgres import PostgresState, PostgresStore
from wanplan.state.postgres_team import PostgresTeam

SHORT = 0.3
"""A lease that a test lets lapse, by sleeping LAPSED."""
LAPSED = 0.6
LONG = 60.0
"""A lease that never lapses within a test."""
SESSION_GONE = 10.0
"""How long the server may take to end the session of a closed connection."""
DAY = "2030-01-02"

Runner = tuple[PostgresState, PostgresTeam]
OpenRunner = Callable[[], Runner]


@pytest.fixture
def runner(postgres_url: str) -> Iterator[OpenRunner]:
    """Opens one runner: a writer connection of its own and its coordination. Every runner
    opened is closed after the test (closing an already closed one does nothing)."""
    store = PostgresStore(postgres_url)
    opened: list[PostgresState] = []

    def open_runner() -> Runner:
        writer = store.open_writer()
        opened.append(writer)
        return writer, writer.coordination()

    yield open_runner
    for writer in opened:
        writer.close()


def eventually(check: Callable[[], bool], within: float = SESSION_GONE) -> bool:
    """Whether `check` comes true within `within` seconds (a closed connection's session
    ends a moment after, on the server)."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def rows(writer: PostgresState, sql: str, *params: object) -> list[tuple[object, ...]]:
    return [tuple(row) for row in writer.conn.execute(sql, list(params)).fetchall()]


def count(writer: PostgresState, sql: str, *params: object) -> int:
    return int(writer.conn.execute(sql, list(params)).fetchone()[0])


# ---- content keys ------------------------------------------------------------------------------


def test_a_claimed_key_is_refused_to_another_runner_with_its_holder(runner: OpenRunner) -> None:
    _, a = runner()
    _, b = runner()
    assert a.claim("key-1", "runner-a", LONG) is None
    assert b.claim("key-1", "runner-b", LONG) == "runner-a"
    assert a.claim("key-1", "runner-a", LONG) is None  # its own holder may claim it again
    assert b.claim("key-2", "runner-b", LONG) is None  # another key is free
    assert b.live_claims() == {"key-1": "runner-a", "key-2": "runner-b"}


def test_a_lapsed_claim_is_taken_over_and_a_released_one_is_free_at_once(
    runner: OpenRunner,
) -> None:
    _, a = runner()
    _, b = runner()
    assert a.claim("key-1", "runner-a", SHORT) is None
    assert b.claim("key-1", "runner-b", LONG) == "runner-a"
    time.sleep(LAPSED)
    assert b.claim("key-1", "runner-b", LONG) is None
    assert a.claim("key-1", "runner-a", LONG) == "runner-b"
    b.release_claim("key-1", "runner-b")
    assert a.claim("key-1", "runner-a", LONG) is None
    b.release_claim("key-1", "runner-b")  # not its holder's: releases nothing
    assert b.claim("key-1", "runner-b", LONG) == "runner-a"


def test_live_claims_leave_out_the_lapsed(runner: OpenRunner) -> None:
    _, a = runner()
    _, b = runner()
    assert a.claim("short", "runner-a", SHORT) is None
    assert a.claim("long", "runner-a", LONG) is None
    assert b.claim("other", "runner-b", LONG) is None
    assert b.live_claims() == {"short": "runner-a", "long": "runner-a", "other": "runner-b"}
    time.sleep(LAPSED)
    assert b.live_claims() == {"long": "runner-a", "other": "runner-b"}


def test_a_heartbeat_keeps_a_claim_past_its_first_lease(runner: OpenRunner) -> None:
    _, a = runner()
    _, b = runner()
    assert a.claim("kept", "runner-a", SHORT) is None
    assert a.claim("also-kept", "runner-a", SHORT) is None
    assert b.claim("not-kept", "runner-b", SHORT) is None
    assert a.heartbeat("runner-a", LONG) == 2  # how many claims it holds
    time.sleep(LAPSED)
    assert b.claim("kept", "runner-b", LONG) == "runner-a"
    assert a.live_claims() == {"kept": "runner-a", "also-kept": "runner-a"}
    assert a.claim("not-kept", "runner-a", LONG) is None  # B's, unrenewed, lapsed


# ---- one model's submits -----------------------------------------------------------------------


def test_a_gate_admits_one_runner_until_released(runner: OpenRunner) -> None:
    _, a = runner()
    _, b = runner()
    assert a.try_gate("p/m")
    assert not b.try_gate("p/m")
    assert b.try_gate("p/other")  # another model's gate is its own
    a.release_gate("p/m")
    assert b.try_gate("p/m")
    assert not a.try_gate("p/m")
    b.release_gate("p/m")
    b.release_gate("p/other")
    assert a.try_gate("p/other")


def test_submits_share_a_gate_that_a_reconcile_holds_alone(runner: OpenRunner) -> None:
    _, a = runner()
    _, b = runner()
    _, c = runner()
    assert a.try_gate("p/m", shared=True)
    assert b.try_gate("p/m", shared=True)  # two runners submit the model at once
    assert not c.try_gate("p/m")  # a reconcile waits for every submit in flight
    a.release_gate("p/m", shared=True)
    assert not c.try_gate("p/m")
    b.release_gate("p/m", shared=True)
    assert c.try_gate("p/m")
    assert not a.try_gate("p/m", shared=True)  # no submit while it reads the task list
    c.release_gate("p/m")
    assert a.try_gate("p/m", shared=True)


def test_a_gate_goes_with_its_runners_connection(runner: OpenRunner) -> None:
    writer_a, a = runner()
    _, b = runner()
    assert a.try_gate("p/m")
    assert not b.try_gate("p/m")
    writer_a.close()  # runner A dies without releasing it
    assert eventually(lambda: b.try_gate("p/m"))


def test_a_shared_gate_goes_with_its_runners_connection(runner: OpenRunner) -> None:
    writer_a, a = runner()
    _, b = runner()
    assert a.try_gate("p/m", shared=True)
    assert not b.try_gate("p/m")
    writer_a.close()  # runner A dies mid-submit
    assert eventually(lambda: b.try_gate("p/m"))


# ---- the provider's limits ---------------------------------------------------------------------


def test_slots_admit_the_limit_across_runners(runner: OpenRunner) -> None:
    _, a = runner()
    _, b = runner()
    first = a.take_slot("prov", 2, "runner-a", LONG)
    second = a.take_slot("prov", 2, "runner-a", LONG)
    assert first is not None and second is not None and first != second
    assert b.take_slot("prov", 2, "runner-b", LONG) is None
    assert b.take_slot("elsewhere", 2, "runner-b", LONG) is not None  # its own limit
    b.release_slot("prov", first, "runner-b")  # not its holder's: releases nothing
    assert b.take_slot("prov", 2, "runner-b", LONG) is None
    a.release_slot("prov", first, "runner-a")
    assert b.take_slot("prov", 2, "runner-b", LONG) == first
    assert a.take_slot("prov", 2, "runner-a", LONG) is None


def test_a_slot_whose_lease_lapsed_is_free_again(runner: OpenRunner) -> None:
    _, a = runner()
    _, b = runner()
    assert a.take_slot("prov", 1, "runner-a", SHORT) is not None
    assert b.take_slot("prov", 1, "runner-b", LONG) is None
    time.sleep(LAPSED)
    assert b.take_slot("prov", 1, "runner-b", LONG) is not None
    assert a.take_slot("prov", 1, "runner-a", LONG) is None


def test_concurrent_runners_never_hold_more_slots_than_the_limit(runner: OpenRunner) -> None:
    limit, rounds = 2, 40
    runners = [runner() for _ in range(3)]
    guard = threading.Lock()
    held: set[int] = set()
    most = 0
    taken = [0] * len(runners)
    overlaps: list[str] = []
    failures: list[BaseException] = []
    start = threading.Barrier(len(runners))

    def work(index: int) -> None:
        nonlocal most
        writer, team = runners[index]
        holder = f"runner-{index}"
        try:
            start.wait()
            while taken[index] < rounds:
                slot = team.take_slot("prov", limit, holder, LONG)
                if slot is None:
                    time.sleep(0.001)
                    continue
                with guard:
                    if slot in held:
                        overlaps.append(f"slot {slot} held twice")
                    held.add(slot)
                    most = max(most, len(held))
                live = count(writer, "select count(*) from slots where provider = %s", "prov")
                if not 1 <= live <= limit:  # its own row, and never beyond the limit
                    overlaps.append(f"{live} rows in slots")
                with guard:
                    held.discard(slot)
                team.release_slot("prov", slot, holder)
                taken[index] += 1
        except BaseException as exc:  # reported by the test, in its own thread
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(runners))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    assert overlaps == []
    assert taken == [rounds] * len(runners)
    assert 1 <= most <= limit
    assert count(runners[0][0], "select count(*) from slots") == 0


def test_the_request_rate_is_one_bucket_shared_by_the_runners(runner: OpenRunner) -> None:
    _, a = runner()
    _, b = runner()
    # 6 a minute: one token each 10 s, the bucket holds one. A tight margin on the told wait
    # is not needed: whatever the machine's pauses, it stays within (5, 10] seconds.
    assert a.take_request("prov", 6) == 0
    wait = a.take_request("prov", 6)
    assert 5 < wait <= 10
    wait = b.take_request("prov", 6)  # B's first request meets A's empty bucket
    assert 5 < wait <= 10
    assert b.take_request("elsewhere", 6) == 0  # another provider's bucket is its own


def test_a_request_may_go_once_the_told_wait_is_over(runner: OpenRunner) -> None:
    _, a = runner()
    _, b = runner()
    assert a.take_request("prov", 60) == 0  # 1 a second: the bucket holds one
    wait = b.take_request("prov", 60)
    assert 0 < wait <= 1.0
    time.sleep(wait + 0.1)
    assert b.take_request("prov", 60) == 0
    assert a.take_request("prov", 60) > 0  # B took the token that refilled


# ---- the day's budget --------------------------------------------------------------------------


def test_a_reservation_counts_for_the_others_until_drawn_or_released(
    runner: OpenRunner,
) -> None:
    writer_a, a = runner()
    _, b = runner()
    with a.budget_turn():
        assert a.reserved(DAY, "runner-a") == 0
        a.reserve("runner-a", DAY, Decimal("1.50"), LONG)
    assert b.reserved(DAY, "runner-b") == Decimal("1.50")
    assert a.reserved(DAY, "runner-a") == 0  # its own is left out
    assert b.reserved("2030-01-03", "runner-b") == 0  # another day's
    with writer_a.transaction():
        a.draw("runner-a", Decimal("0.50"))
    assert b.reserved(DAY, "runner-b") == Decimal("1.00")
    with writer_a.transaction():
        a.draw("runner-a", Decimal("2.00"))  # more than reserved: nothing left, never less
    assert b.reserved(DAY, "runner-b") == 0
    with b.budget_turn():
        b.reserve("runner-b", DAY, Decimal("0.25"), LONG)
    assert a.reserved(DAY, "runner-a") == Decimal("0.25")
    b.release_reservation("runner-b")
    assert a.reserved(DAY, "runner-a") == 0


def test_a_draw_outside_a_committed_transaction_is_not_seen(runner: OpenRunner) -> None:
    writer_a, a = runner()
    _, b = runner()
    with a.budget_turn():
        a.reserve("runner-a", DAY, Decimal("1.50"), LONG)

    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned), writer_a.transaction():
        a.draw("runner-a", Decimal("0.50"))
        raise Abandoned
    assert b.reserved(DAY, "runner-b") == Decimal("1.50")  # the draw went with its commit


def test_a_lapsed_reservation_counts_nothing(runner: OpenRunner) -> None:
    _, a = runner()
    _, b = runner()
    with a.budget_turn():
        a.reserve("runner-a", DAY, Decimal("1.50"), SHORT)
    with b.budget_turn():
        b.reserve("runner-b", DAY, Decimal("0.75"), LONG)
    _, c = runner()
    assert c.reserved(DAY, "runner-c") == Decimal("2.25")
    time.sleep(LAPSED)
    assert c.reserved(DAY, "runner-c") == Decimal("0.75")


def test_one_runner_at_a_time_takes_its_budget_turn(runner: OpenRunner) -> None:
    _, a = runner()
    _, b = runner()
    steps: list[str] = []
    a_inside = threading.Event()
    failures: list[BaseException] = []

    def runner_a() -> None:
        try:
            with a.budget_turn():
                a.reserve("runner-a", DAY, Decimal("1.50"), LONG)
                steps.append("A in")
                a_inside.set()
                time.sleep(0.5)
                steps.append("A out")
        except BaseException as exc:  # reported by the test, in its own thread
            failures.append(exc)
            a_inside.set()

    thread = threading.Thread(target=runner_a)
    thread.start()
    assert a_inside.wait(10)
    with b.budget_turn():
        steps.append("B in")
        seen = b.reserved(DAY, "runner-b")  # A's turn is over: its reservation is committed
    thread.join(10)
    assert failures == []
    assert steps == ["A in", "A out", "B in"]
    assert seen == Decimal("1.50")


# ---- the heartbeat, and leaving ----------------------------------------------------------------


def test_a_heartbeat_renews_slots_and_reservations_too(runner: OpenRunner) -> None:
    _, a = runner()
    _, b = runner()
    _, c = runner()
    assert a.take_slot("prov", 2, "runner-a", SHORT) is not None
    assert c.take_slot("prov", 2, "runner-c", SHORT) is not None
    with a.budget_turn():
        a.reserve("runner-a", DAY, Decimal("1.50"), SHORT)
    with c.budget_turn():
        c.reserve("runner-c", DAY, Decimal("0.75"), SHORT)
    time.sleep(0.2)
    assert a.heartbeat("runner-a", LONG) == 0  # it holds no claim
    time.sleep(LAPSED - 0.2)
    # A's slot and reservation live on; C's, not renewed, lapsed.
    assert b.reserved(DAY, "runner-b") == Decimal("1.50")
    assert b.take_slot("prov", 2, "runner-b", LONG) is not None
    assert b.take_slot("prov", 2, "runner-b", LONG) is None


def test_release_all_lets_go_of_one_holders_things_only(runner: OpenRunner) -> None:
    writer_a, a = runner()
    _, b = runner()
    for team, holder in ((a, "runner-a"), (b, "runner-b")):
        assert team.claim(f"key-{holder}", holder, LONG) is None
        assert team.take_slot("prov", 2, holder, LONG) is not None
        with team.budget_turn():
            team.reserve(holder, DAY, Decimal("1.00"), LONG)
    a.release_all("runner-a")
    for table in ("claims", "slots", "reservations"):
        assert rows(writer_a, f"select holder from {table}") == [("runner-b",)], table
    assert a.live_claims() == {"key-runner-b": "runner-b"}
    assert a.reserved(DAY, "runner-a") == Decimal("1.00")
    assert a.take_slot("prov", 2, "runner-a", LONG) is not None  # A's slot is free again
    assert b.take_slot("prov", 2, "runner-b", LONG) is None  # B's is still held


# ---- the state lock, shared by applies ---------------------------------------------------------


def test_applies_share_the_state_lock_and_maintenance_takes_it_alone(
    runner: OpenRunner,
) -> None:
    writer_a, _ = runner()
    writer_b, _ = runner()
    writer_c, _ = runner()
    apply_a = this_process("wanplan apply (runner A)")
    apply_b = this_process("wanplan apply (runner B)")
    maintenance = this_process("wanplan gc")
    assert writer_a.acquire_lock(apply_a, 0, shared=True) == []
    assert writer_b.acquire_lock(apply_b, 0, shared=True) == []
    holder, _ = writer_c.try_lock(maintenance)
    assert holder is not None
    assert (holder.id, holder.command) in {
        (apply_a.id, apply_a.command),
        (apply_b.id, apply_b.command),
    }
    writer_a.release_lock(apply_a.id)
    holder, _ = writer_c.try_lock(maintenance)  # B still applies
    assert holder is not None and holder.id == apply_b.id
    writer_b.release_lock(apply_b.id)
    assert writer_c.try_lock(maintenance) == (None, [])
    holder = writer_c.lock_holder()
    assert holder is not None and holder.id == maintenance.id
    # Held alone: no apply shares it, and it names the maintenance.
    holder, _ = writer_a.try_lock(this_process("wanplan apply (runner A)"), shared=True)
    assert holder is not None and holder.command == "wanplan gc"
    writer_c.release_lock(maintenance.id)
    assert writer_a.try_lock(apply_a, shared=True) == (None, [])
    writer_a.release_lock(apply_a.id)
    assert rows(writer_a, "select name from locks") == []


def test_a_dead_applys_share_goes_with_its_connection(runner: OpenRunner) -> None:
    writer_a, _ = runner()
    writer_c, _ = runner()
    apply_a = this_process("wanplan apply (runner A)")
    maintenance = this_process("wanplan gc")
    assert writer_a.acquire_lock(apply_a, 0, shared=True) == []
    holder, _ = writer_c.try_lock(maintenance)
    assert holder is not None and holder.id == apply_a.id
    assert rows(writer_c, "select name from locks") == [(f"apply:{apply_a.id}",)]
    writer_a.close()  # runner A dies without releasing the lock
    writer_c.acquire_lock(maintenance, SESSION_GONE)
    assert rows(writer_c, "select name, id from locks") == [("state", maintenance.id)]


def test_a_dead_maintenance_row_is_not_named_as_the_holder_of_a_shared_lock(
    runner: OpenRunner,
) -> None:
    (maintenance, _), (applying, _), (other, _) = runner(), runner(), runner()
    assert maintenance.acquire_lock(this_process("wanplan gc (dead)"), 0) == []
    maintenance.close()  # dies holding it alone: its row stays behind
    live = this_process("wanplan apply (live)")
    applying.acquire_lock(live, SESSION_GONE, shared=True)  # once the dead session has ended
    holder, _ = other.try_lock(this_process("wanplan gc (second)"))
    assert holder is not None and holder.id == live.id, holder


def test_a_live_holder_is_not_forced_and_a_dead_ones_row_is_removed(runner: OpenRunner) -> None:
    (applying, _), (other, _) = runner(), runner()
    live = this_process("wanplan apply (live)")
    assert applying.acquire_lock(live, 0, shared=True) == []
    with pytest.raises(StateError, match="through its open connection to the state"):
        other.force_unlock(live.id)
    with pytest.raises(StateError) as waited:
        other.acquire_lock(this_process("wanplan gc"), 0)
    assert "force-unlock" not in str(waited.value)
    assert "as its connection to the state closes" in str(waited.value)
    session = applying.conn.info.backend_pid
    applying.close()  # the run dies; its row is left
    assert eventually(
        lambda: count(other, "select count(*) from pg_stat_activity where pid = %s", session) == 0
    )
    assert other.force_unlock(live.id).id == live.id
    assert count(other, "select count(*) from locks where id = %s", live.id) == 0


def test_forcing_a_dead_applys_row_names_the_live_apply_that_holds_the_lock(
    runner: OpenRunner,
) -> None:
    (dead, _), (applying, _), (other, _) = runner(), runner(), runner()
    gone = this_process("wanplan apply (dead)")
    assert dead.acquire_lock(gone, 0, shared=True) == []
    live = this_process("wanplan apply (live)")
    assert applying.acquire_lock(live, 0, shared=True) == []
    dead.conn.execute("select pg_advisory_unlock_all()")  # its share gone, its row left
    with pytest.raises(StateError) as refused:
        other.force_unlock(gone.id)
    message = str(refused.value)
    assert message.startswith(f"the state is locked by {live.describe()} through its open")
    assert f"the row of {gone.describe()} goes once the lock is free" in message


def test_runners_that_disagree_on_the_limit_never_exceed_the_lower(runner: OpenRunner) -> None:
    (_, team_a), (_, team_b) = runner(), runner()
    assert [team_a.take_slot("p", 4, "a", LONG) for _ in range(4)] == [0, 1, 2, 3]
    team_a.release_slot("p", 0, "a")
    team_a.release_slot("p", 1, "a")
    assert team_b.take_slot("p", 2, "b", LONG) is None  # two run already
    assert team_b.take_slot("p", 3, "b", LONG) == 0


def test_two_runners_collecting_one_task_record_it_once(runner: OpenRunner) -> None:
    """A runner that took a stalled key over and the stalled one both finish the same task:
    the second's take waits for the first's transaction and then finds the task collected."""
    (first, _), (second, _) = runner(), runner()
    ref = first.record_intent(
        provider="sim",
        model_id="sim/wan-2.2/t2v",
        content_key="k-shared",
        address="a",
        profile="default",
        estimated_cost=Decimal("0.50"),
    )
    first.record_submitted(ref, "t-1")
    outcome: list[bool] = []
    with first.transaction():
        assert first.take_collection(ref) is True
        late = threading.Thread(target=lambda: outcome.append(second.take_collection(ref)))
        late.start()
        time.sleep(SHORT)
        assert outcome == []  # waiting on the first runner's row lock
    late.join(timeout=LONG)
    assert outcome == [False]
