"""APIXO's and wanapi's protocols through plain HTTP, in process on a fake clock."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.emulator.conftest import (
    APIXO,
    LATENCY,
    WANAPI,
    FakeClock,
    error_code,
    in_process_client,
    sha256,
)
from wanplan.emulator import Emulator, Knobs


def test_apixo_task_moves_pending_processing_success(
    client: httpx.Client, clock: FakeClock, emulator: Emulator
) -> None:
    submit = client.post(APIXO.submit_path, json=APIXO.body("a kite"))
    assert submit.json() == {
        "code": 200,
        "message": "success",
        "data": {"taskId": submit.json()["data"]["taskId"]},
    }
    task_id = submit.json()["data"]["taskId"]
    first = APIXO.poll(client, task_id).json()["data"]
    assert first["state"] == "pending" and first["resultJson"] == ""
    assert first["completeTime"] is None and first["failCode"] == ""
    clock.advance(LATENCY / 2)
    assert APIXO.poll(client, task_id).json()["data"]["state"] == "processing"
    clock.advance(LATENCY)
    data = APIXO.poll(client, task_id).json()["data"]
    assert data["state"] == "success" and isinstance(data["resultJson"], str)
    (url,) = json.loads(data["resultJson"])["resultUrls"]
    assert data["costTime"] == LATENCY * 1000
    assert data["completeTime"] - data["createTime"] == LATENCY * 1000
    assert sha256(client.get(url).content) == emulator.results[task_id].sha256


def test_apixo_failures_use_its_fail_codes(client: httpx.Client, clock: FakeClock) -> None:
    flagged = APIXO.submit(client, "a kite [fail]")
    unreadable = client.post(
        APIXO.submit_path,
        json={"input": {"mode": "image-to-video", "prompt": "x", "image_urls": ["ftp://a"]}},
    ).json()["data"]["taskId"]
    clock.advance(LATENCY)
    data = APIXO.poll(client, flagged).json()["data"]
    assert (data["state"], data["failCode"]) == ("failed", "CONTENT_VIOLATION")
    assert data["failMsg"] and data["resultJson"] == ""
    assert APIXO.poll(client, unreadable).json()["data"]["failCode"] == "INVALID_IMAGE_URL"


def test_apixo_refusals(client: httpx.Client) -> None:
    task_id = APIXO.submit(client)
    other_model = client.get("/api/v1/statusTask/wan-2-6-video", params={"taskId": task_id})
    assert other_model.status_code == 404 and error_code(APIXO, other_model) == "404"
    assert client.get("/api/v1/statusTask/wan-2-5").status_code == 400
    unknown_model = client.post("/api/v1/generateTask/wan-9", json=APIXO.body("x"))
    assert unknown_model.status_code == 404
    problems: list[dict[str, Any]] = [
        {"input": {"prompt": "x" * 801}},
        {"input": {"mode": "image-to-video", "prompt": "x"}},
        {"input": {"prompt": "x", "aspect_ratio": "4:3"}},
        {"request_type": "callback", "input": {"prompt": "x"}},
        {"provider": "cheapest", "input": {"prompt": "x"}},
        {"input": {}},
    ]
    for body in problems:
        answer = client.post(APIXO.submit_path, json=body)
        assert answer.status_code == 400, body
        assert error_code(APIXO, answer) == "400"
    # Each model's own fields (PROVIDERS.md §4b): wan-2-5 rewrites prompts with
    # enable_prompt_expansion and takes no audio; 2.6 and 2.7 say prompt_extend, audio_urls.
    for model, body in [
        ("wan-2-5", {"prompt": "x", "prompt_extend": False}),
        ("wan-2-5", {"prompt": "x", "audio_urls": ["https://a/b.mp3"]}),
        ("wan-2-6-video", {"prompt": "x", "enable_prompt_expansion": False}),
        ("wan-2-6-video", {"prompt": "x", "mode": "video-edit"}),
        ("wan-2-7-video", {"prompt": "x", "mode": "video-edit"}),  # no video_urls
        ("wan-2-7-video", {"prompt": "x", "duration": 16}),
    ]:
        answer = client.post(f"/api/v1/generateTask/{model}", json={"input": body})
        assert answer.status_code == 400, (model, body)
        assert answer.json()["data"]["error"].startswith("input."), answer.json()
    for model, body in [
        ("wan-2-6-video", {"prompt": "x", "prompt_extend": False, "duration": 15}),
        ("wan-2-7-video", {"prompt": "x", "aspect_ratio": "4:3", "audio_urls": ["https://a/b"]}),
        ("wan-2-7-video", {"prompt": "x", "mode": "video-edit", "video_urls": ["https://a/v"]}),
    ]:
        answer = client.post(f"/api/v1/generateTask/{model}", json={"input": body})
        assert answer.status_code == 200, answer.json()


def test_apixo_callback_posts_the_poll_envelope(clock: FakeClock) -> None:
    sent: list[tuple[str, Any]] = []

    def post(url: str, payload: Any) -> int:
        sent.append((url, payload))
        return 200

    emulator = Emulator(Knobs(latency=LATENCY), clock=clock, post_callback=post)
    with in_process_client(emulator) as client:
        body = {
            **APIXO.body("x"),
            "request_type": "callback",
            "callback_url": "http://127.0.0.1:9/cb",
        }
        task_id = client.post(APIXO.submit_path, json=body).json()["data"]["taskId"]
        outside = {**body, "callback_url": "https://example.com/cb"}
        client.post(APIXO.submit_path, json=outside)
        assert emulator.deliver_callbacks() == []  # nothing has ended yet
        clock.advance(LATENCY)
        deliveries = emulator.deliver_callbacks()
        assert emulator.deliver_callbacks() == []  # each task is announced once
        polled = APIXO.poll(client, task_id).json()
    ((url, payload),) = sent
    assert url == "http://127.0.0.1:9/cb" and payload == polled
    refused = next(d for d in deliveries if d.url.startswith("https://example.com"))
    assert refused.status is None and "loopback" in (refused.error or "")


def test_wanapi_generation_queued_to_succeeded(
    client: httpx.Client, clock: FakeClock, emulator: Emulator
) -> None:
    answer = client.post(WANAPI.submit_path, json=WANAPI.body("a kite"))
    assert answer.status_code == 200
    created = answer.json()
    assert created["id"].startswith("gen_") and created["status"] == "queued"
    clock.advance(LATENCY / 2)
    assert WANAPI.poll(client, created["id"]).json()["status"] == "processing"
    clock.advance(LATENCY)
    done = WANAPI.poll(client, created["id"]).json()
    assert done["status"] == "succeeded"
    assert sha256(client.get(done["video_url"]).content) == emulator.results[done["id"]].sha256


def test_wanapi_failure_and_errors(client: httpx.Client, clock: FakeClock) -> None:
    failed = WANAPI.submit(client, "x [fail]")
    clock.advance(LATENCY)
    answer = WANAPI.poll(client, failed).json()
    assert answer["status"] == "failed" and answer["error"]["code"] == "content_policy_violation"
    assert "video_url" not in answer
    missing = client.get("/v1/video/generations/gen_nope")
    assert missing.status_code == 404 and error_code(WANAPI, missing) == "not_found"
    bad = {
        "model_not_found": {"model": "wan-9", "prompt": "x"},
        "missing_required_parameter": {"model": "wan-2-1"},
        "invalid_aspect_ratio": {"model": "wan-2-1", "prompt": "x", "aspect_ratio": "4:3"},
        "invalid_duration": {"model": "wan-2-1", "prompt": "x", "duration": "five"},
    }
    for code, body in bad.items():
        refused = client.post(WANAPI.submit_path, json=body)
        assert refused.status_code == 400 and error_code(WANAPI, refused) == code
        assert refused.json()["error"]["type"] == "invalid_request_error"


def test_wanapi_refuses_a_field_its_docs_do_not_list(client: httpx.Client) -> None:
    answer = client.post(WANAPI.submit_path, json={**WANAPI.body("a kite"), "seed": 7})
    assert answer.status_code == 400
    assert "seed" in answer.json()["error"]["message"]
