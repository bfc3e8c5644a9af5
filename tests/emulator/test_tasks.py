"""The task state machine on its own: phases over the latency, the concurrency cap."""

from __future__ import annotations

from wanplan.emulator.tasks import MediaSpec, Phase, Task, TaskStore


def task(task_id: str, at: float, key: str = "k", latency: float = 4.0) -> Task:
    return Task(task_id, "p", "m", key, MediaSpec("video", 5, None, b""), at, latency, "o")


def test_phases_follow_the_latency() -> None:
    store = TaskStore()
    store.add(one := task("a", 0.0), 0.0, None)
    assert [one.phase(t) for t in (0.0, 0.99, 1.0, 3.99, 4.0)] == [
        Phase.QUEUED,
        Phase.QUEUED,
        Phase.RUNNING,
        Phase.RUNNING,
        Phase.SUCCEEDED,
    ]
    assert store.get("a", 100.0, None, ttl=100.0) is None  # expired
    assert store.get("a", 99.0, None, ttl=100.0) is one


def test_cap_starts_each_waiting_task_when_a_slot_frees() -> None:
    store = TaskStore()
    for index, name in enumerate("abc"):
        store.add(task(name, float(index)), float(index), cap=2)
    store.advance(10.0, cap=2)
    starts = {t.id: t.started_at for t in store.all()}
    assert starts == {"a": 0.0, "b": 1.0, "c": 4.0}  # c waited for a to end, not for a poll


def test_lifting_the_cap_starts_waiting_tasks_now() -> None:
    store = TaskStore()
    store.add(task("a", 0.0), 0.0, cap=1)
    store.add(waiting := task("b", 0.0), 0.0, cap=1)
    store.advance(1.0, cap=1)
    assert waiting.started_at is None and store.in_flight("k", 1.0, cap=1) == 2
    store.advance(2.0, cap=None)
    assert waiting.started_at == 2.0


def test_a_canceled_waiting_task_holds_no_slot() -> None:
    store = TaskStore()
    store.add(task("a", 0.0), 0.0, cap=1)
    store.add(canceled := task("b", 0.0), 0.0, cap=1)
    store.add(third := task("c", 0.0), 0.0, cap=1)
    canceled.canceled_at = 1.0
    store.advance(5.0, cap=1)
    assert canceled.phase(5.0) is Phase.CANCELED and third.started_at == 4.0
