"""Every fault knob, checked through plain HTTP against each provider's protocol and in its own
shape. In process, on the fake clock, unless the fault lives on the wire (truncation, delay)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.emulator.conftest import (
    DASHSCOPE,
    IN_PROCESS_URL,
    LATENCY,
    FakeClock,
    Wire,
    error_code,
    finish,
    in_process_client,
)
from wanplan.emulator import Emulator, EmulatorTransport, Knobs

UNAUTHORIZED = {
    "wavespeed": "401",
    "dashscope": "InvalidApiKey",
    "apixo": "401",
    "wanapi": "invalid_api_key",
}
RATE_LIMITED = {
    "wavespeed": "429",
    "dashscope": "Throttling.RateQuota",
    "apixo": "429",
    "wanapi": "rate_limit_exceeded",
}
UNAVAILABLE = {
    "wavespeed": "503",
    "dashscope": "ServiceUnavailable",
    "apixo": "503",
    "wanapi": "service_unavailable",
}
GONE = {"wavespeed": "404", "apixo": "404", "wanapi": "not_found"}


def submit_answer(wire: Wire, client: httpx.Client, prompt: str = "x") -> httpx.Response:
    return client.post(wire.submit_path, json=wire.body(prompt), headers=wire.headers)


def test_missing_or_empty_key_is_401(wire: Wire, emulator: Emulator) -> None:
    for key in (None, "", "  "):
        with in_process_client(emulator, key) as anonymous:
            answer = submit_answer(wire, anonymous)
            assert answer.status_code == 401
            assert error_code(wire, answer) == UNAUTHORIZED[wire.name]
            assert wire.poll(anonymous, "any").status_code == 401


def test_only_listed_keys_are_accepted(wire: Wire, emulator: Emulator) -> None:
    emulator.set_knobs(api_keys=["good-key"])
    with (
        in_process_client(emulator, "bad-key") as bad,
        in_process_client(emulator, "good-key") as ok,
    ):
        assert error_code(wire, submit_answer(wire, bad)) == UNAUTHORIZED[wire.name]
        assert submit_answer(wire, ok).status_code == 200


def test_rate_limit_burst_answers_429_with_retry_after(
    wire: Wire, emulator: Emulator, client: httpx.Client
) -> None:
    emulator.set_knobs(rate_limit_burst=2, retry_after=3)
    for _ in range(2):
        answer = submit_answer(wire, client)
        assert answer.status_code == 429 and answer.headers["Retry-After"] == "3"
        assert error_code(wire, answer) == RATE_LIMITED[wire.name]
    assert submit_answer(wire, client).status_code == 200
    assert emulator.knobs.rate_limit_burst == 0
    assert [entry.fault for entry in emulator.log] == ["429", "429", None]


def test_every_kth_request_is_rate_limited(
    wire: Wire, emulator: Emulator, client: httpx.Client
) -> None:
    emulator.set_knobs(rate_limit_every=3)
    statuses = [submit_answer(wire, client).status_code for _ in range(6)]
    assert statuses == [200, 200, 429, 200, 200, 429]


def test_server_errors_in_the_provider_shape(
    wire: Wire, emulator: Emulator, client: httpx.Client
) -> None:
    emulator.set_knobs(server_error_burst=1, server_error_status=503, retry_after=2)
    unavailable = submit_answer(wire, client)
    assert unavailable.status_code == 503 and unavailable.headers["Retry-After"] == "2"
    assert error_code(wire, unavailable) == UNAVAILABLE[wire.name]
    emulator.set_knobs(server_error_every=2, server_error_status=500)
    answers = [submit_answer(wire, client) for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 500, 200, 500]
    assert "Retry-After" not in answers[1].headers


def test_faults_can_spare_submits(wire: Wire, emulator: Emulator, client: httpx.Client) -> None:
    emulator.set_knobs(rate_limit_every=1, fault_methods=["get"])
    task_id = wire.submit(client)
    assert wire.poll(client, task_id).status_code == 429


def test_expired_task_is_gone(
    wire: Wire, emulator: Emulator, client: httpx.Client, clock: FakeClock
) -> None:
    task_id = wire.submit(client)
    url = wire.result_url(finish(wire, client, clock, task_id))
    assert url is not None
    emulator.set_knobs(task_ttl=LATENCY)
    answer = wire.poll(client, task_id)
    if wire.name == "dashscope":
        assert answer.status_code == 200
        assert answer.json()["output"] == {"task_id": task_id, "task_status": "UNKNOWN"}
    else:
        assert answer.status_code == 404 and error_code(wire, answer) == GONE[wire.name]
    assert client.get(url).status_code == 404


def test_result_urls_expire_and_polling_again_renews_them(
    wire: Wire, emulator: Emulator, client: httpx.Client, clock: FakeClock
) -> None:
    emulator.set_knobs(url_ttl=60)
    task_id = wire.submit(client)
    first = wire.result_url(finish(wire, client, clock, task_id))
    assert first is not None and "Expires=" in first and "Signature=" in first
    assert client.get(first).status_code == 200
    clock.advance(61)
    expired = client.get(first)
    assert expired.status_code == 403 and b"<Code>AccessDenied</Code>" in expired.content
    fresh = wire.result_url(wire.poll(client, task_id).json())
    assert fresh is not None and fresh != first
    assert client.get(fresh).status_code == 200
    tampered = fresh.replace("Expires=", "Expires=9")
    assert client.get(tampered).status_code == 403


def test_failure_rate_is_seeded_and_uses_provider_codes(wire: Wire, clock: FakeClock) -> None:
    def outcomes(rate: float) -> list[str]:
        emulator = Emulator(Knobs(latency=LATENCY, failure_rate=rate, failure_seed=7), clock=clock)
        with in_process_client(emulator) as http:
            ids = [wire.submit(http) for _ in range(8)]
            clock.advance(LATENCY)
            return [wire.state(wire.poll(http, task_id).json()) for task_id in ids]

    first = outcomes(0.5)
    assert first == outcomes(0.5)
    assert set(first) == {wire.succeeded, wire.failed}
    assert set(outcomes(1.0)) == {wire.failed}


def test_concurrency_cap_per_key(wire: Wire, emulator: Emulator, clock: FakeClock) -> None:
    emulator.set_knobs(concurrency_cap=1, retry_after=4)
    with in_process_client(emulator, "key-a") as a, in_process_client(emulator, "key-b") as b:
        first = wire.submit(a)
        assert wire.submit(b)  # another key has its own slots
        second = submit_answer(wire, a)
        if wire.name in ("dashscope", "wanapi"):
            assert second.status_code == 429 and second.headers["Retry-After"] == "4"
            expected = {"dashscope": "Throttling.AllocationQuota"}
            code = expected.get(wire.name, "concurrency_limit_exceeded")
            assert error_code(wire, second) == code
            clock.advance(LATENCY)
            assert submit_answer(wire, a).status_code == 200  # the slot is free again
            return
        assert second.status_code == 200
        queued = wire.task_id(second.json())
        clock.advance(LATENCY * 0.9)
        waiting = {"wavespeed": "created", "apixo": "pending"}[wire.name]
        assert wire.state(wire.poll(a, queued).json()) == waiting
        clock.advance(LATENCY * 0.2)  # the first has ended: the second started when it did
        assert wire.state(wire.poll(a, first).json()) == wire.succeeded
        assert wire.state(wire.poll(a, queued).json()) != wire.succeeded
        clock.advance(LATENCY * 0.9)
        assert wire.state(wire.poll(a, queued).json()) == wire.succeeded


def test_truncated_download_in_process(emulator: Emulator, clock: FakeClock) -> None:
    emulator.set_knobs(truncate_downloads=True)
    with in_process_client(emulator) as http:
        task_id = DASHSCOPE.submit(http)
        url = DASHSCOPE.result_url(finish(DASHSCOPE, http, clock, task_id))
        assert url is not None
        with http.stream("GET", url) as answer:
            declared = int(answer.headers["content-length"])
            with pytest.raises(httpx.RemoteProtocolError):
                answer.read()
    (download,) = emulator.downloads
    assert not download.complete and download.sent == declared // 2
    assert download.size == declared == emulator.results[task_id].size


def test_truncated_and_slow_downloads_on_loopback(live: tuple[Emulator, str]) -> None:
    emulator, base_url = live
    emulator.set_knobs(latency=0, download_chunk_size=4096)
    with httpx.Client(base_url=base_url, headers={"Authorization": "Bearer k"}) as http:
        task_id = DASHSCOPE.submit(http)
        url = DASHSCOPE.result_url(DASHSCOPE.poll(http, task_id).json())
        assert url is not None
        emulator.set_knobs(download_delay=0.03)
        started = time.monotonic()
        whole = http.get(url)
        chunks = -(-emulator.results[task_id].size // 4096)
        assert time.monotonic() - started >= 0.03 * (chunks - 1)
        assert len(whole.content) == emulator.results[task_id].size
        emulator.set_knobs(download_delay=0, truncate_downloads=True)
        with pytest.raises(httpx.RemoteProtocolError):
            http.get(url)
        emulator.set_knobs(truncate_downloads=False)
        assert http.get(url).content == whole.content  # the server recovered
    assert [d.complete for d in emulator.downloads] == [True, False, True]


def test_slow_download_in_an_async_client(emulator: Emulator, clock: FakeClock) -> None:
    emulator.set_knobs(download_delay=0.02, download_chunk_size=8192)

    async def download() -> tuple[bytes, float]:
        async with httpx.AsyncClient(
            transport=EmulatorTransport(emulator),
            base_url=IN_PROCESS_URL,
            headers={"Authorization": "Bearer k"},
        ) as http:
            created = await http.post(
                DASHSCOPE.submit_path, json=DASHSCOPE.body("x"), headers=DASHSCOPE.headers
            )
            task_id = created.json()["output"]["task_id"]
            clock.advance(LATENCY)
            url = (await http.get(f"/api/v1/tasks/{task_id}")).json()["output"]["video_url"]
            started = time.monotonic()
            body = await http.get(url)
            return body.content, time.monotonic() - started

    content, seconds = asyncio.run(download())
    (record,) = emulator.results.values()
    chunks = -(-record.size // 8192)
    assert len(content) == record.size and seconds >= 0.02 * (chunks - 1)
