"""The wire that finds tasks after a submit whose outcome is unknown (PROVIDERS.md §4c), and the
knobs that make such submits: WaveSpeed's prediction history, DashScope's task list and each
task's `orig_prompt`, an answer dropped after the task was made, a slow price quote, a listing
that lags, and another client on the same account."""

from __future__ import annotations

import datetime
import time

import dashscope  # test-only dependency (pyproject: dev)
import httpx
import pytest

from tests.emulator.conftest import DASHSCOPE, KEY, WAVESPEED, FakeClock, in_process_client
from wanplan.emulator import Emulator, Knobs, running

HISTORY = "/api/v3/predictions"
MODEL = "alibaba/wan-2.5/text-to-video"


def iso(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).isoformat().replace("+00:00", "Z")


def history(client: httpx.Client, **body: object) -> httpx.Response:
    return client.post(HISTORY, json={"page": 1, "page_size": 100, **body})


def test_wavespeed_history_lists_the_accounts_predictions_newest_first(
    emulator: Emulator, client: httpx.Client, clock: FakeClock
) -> None:
    first = WAVESPEED.submit(client, "first")
    clock.advance(10)
    second = WAVESPEED.submit(client, "second")
    clock.advance(1)
    with in_process_client(emulator, key="another-account") as stranger:
        WAVESPEED.submit(stranger, "not ours")

    answer = history(client, model=MODEL)
    assert answer.status_code == 200
    items = answer.json()["data"]["items"]
    assert [item["id"] for item in items] == [second, first]  # the other key's is not listed
    assert all("input" not in item and "prompt" not in item for item in items)
    created = items[0]["created_at"]
    assert created.endswith("Z") and len(created.split(".")[1]) == 10  # nanoseconds + Z

    window = history(client, model=MODEL, created_after=iso(clock.now - 5))
    assert [item["id"] for item in window.json()["data"]["items"]] == [second]
    paged = client.post(HISTORY, json={"page": 2, "page_size": 1, "model": MODEL})
    assert [item["id"] for item in paged.json()["data"]["items"]] == [first]
    assert client.post(HISTORY, json={"model": MODEL}).status_code == 400  # page required


def test_dashscope_task_list_reads_its_window_in_beijing_time(
    emulator: Emulator, client: httpx.Client, clock: FakeClock
) -> None:
    task_id = DASHSCOPE.submit(client, "a lantern")
    beijing = datetime.timezone(datetime.timedelta(hours=8))
    around = [
        datetime.datetime.fromtimestamp(clock.now + shift, beijing).strftime("%Y%m%d%H%M%S")
        for shift in (-60, 60)
    ]
    answer = client.get(
        "/api/v1/tasks",
        params={"start_time": around[0], "end_time": around[1], "model_name": "wan2.5-t2v-preview"},
    ).json()
    (item,) = answer["data"]
    assert (item["task_id"], item["status"]) == (task_id, "PENDING")
    assert item["gmt_create"] == int(clock.now * 1000)
    # The same clock times read as UTC miss it by eight hours: a client must pad.
    utc = [
        datetime.datetime.fromtimestamp(clock.now + shift, datetime.UTC).strftime("%Y%m%d%H%M%S")
        for shift in (-60, 60)
    ]
    missed = client.get("/api/v1/tasks", params={"start_time": utc[0], "end_time": utc[1]})
    assert missed.json()["data"] == []
    # The task's own answer gives its prompt while it is still pending.
    query = client.get(f"/api/v1/tasks/{task_id}").json()
    assert query["output"]["orig_prompt"] == "a lantern"


def test_a_lagging_listing_shows_a_new_task_only_after_the_lag(
    emulator: Emulator, client: httpx.Client, clock: FakeClock
) -> None:
    emulator.set_knobs(listing_lag=1.0)
    task_id = WAVESPEED.submit(client)
    assert history(client).json()["data"]["items"] == []
    assert WAVESPEED.poll(client, task_id).status_code == 200  # the task itself is known at once
    clock.advance(1.0)
    assert [item["id"] for item in history(client).json()["data"]["items"]] == [task_id]


@pytest.mark.parametrize("wire", [WAVESPEED, DASHSCOPE], ids=lambda w: w.name)
def test_a_dropped_answer_made_its_task(wire: object, emulator: Emulator) -> None:
    emulator.set_knobs(drop_answer_rate=1.0)
    with in_process_client(emulator) as client, pytest.raises(httpx.RemoteProtocolError):
        wire.submit(client)  # type: ignore[attr-defined]
    (task,) = emulator.tasks()
    assert task.details["prompt"] == "a quiet lake"
    assert emulator.log[-1].fault == "dropped"


def test_a_dropped_answer_closes_the_real_connection() -> None:
    emulator = Emulator(Knobs(latency=0.05, drop_answer_rate=1.0))
    with (
        running(emulator) as base_url,
        httpx.Client(base_url=base_url) as client,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        client.post(
            f"/api/v3/{MODEL}",
            json={"prompt": "cut off"},
            headers={"Authorization": f"Bearer {KEY}"},
        )
    assert len(emulator.tasks()) == 1


def test_a_slow_price_quote_answers_late() -> None:
    emulator = Emulator(Knobs(latency=0.05, price_quote_delay=0.4))
    with running(emulator) as base_url, httpx.Client(base_url=base_url) as client:
        started = time.monotonic()
        answer = client.post(
            "/api/v3/model/price",
            json={"model_id": MODEL, "inputs": {"duration": 5}},
            headers={"Authorization": f"Bearer {KEY}"},
        )
        assert answer.status_code == 200 and time.monotonic() - started >= 0.4


def test_another_client_makes_a_task_of_the_same_model_at_the_same_moment(
    emulator: Emulator, client: httpx.Client
) -> None:
    emulator.set_knobs(other_client_rate=1.0)
    own = WAVESPEED.submit(client, "mine")
    items = history(client, model=MODEL).json()["data"]["items"]
    assert len(items) == 2 and own in {item["id"] for item in items}
    other = next(task for task in emulator.tasks() if task.id != own)
    assert other.details["prompt"] != "mine" and other.model == MODEL


def test_the_dashscope_sdk_lists_tasks(
    live: tuple[Emulator, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, base_url = live
    monkeypatch.setattr(dashscope, "base_http_api_url", f"{base_url}/api/v1")
    made = dashscope.VideoSynthesis.async_call(
        model="wan2.5-t2v-preview", prompt="A kite", size="832*480", api_key=KEY
    )
    assert made.status_code == 200, made
    listed = dashscope.VideoSynthesis.list(
        model_name="wan2.5-t2v-preview", page_size=10, api_key=KEY
    )
    assert listed.status_code == 200, listed
    ids = [item["task_id"] for item in (listed.output or {}).get("data") or listed.data]
    assert made.output.task_id in ids
