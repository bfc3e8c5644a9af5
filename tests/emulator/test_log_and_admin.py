"""The request log (what tests assert on; keys never stored) and the admin endpoints that steer
a separately running emulator."""

from __future__ import annotations

import json

import httpx

from tests.emulator.conftest import APIXO, KEY, WANAPI, WAVESPEED, Wire, in_process_client
from wanplan.emulator import Emulator, Knobs


def test_every_request_is_logged_and_the_key_never(wire: Wire, emulator: Emulator) -> None:
    with in_process_client(emulator) as http:
        task_id = wire.submit(http, "a gull")
        wire.poll(http, task_id)
    submit, poll = emulator.log
    assert (submit.provider, submit.method, submit.path) == (wire.name, "POST", wire.submit_path)
    assert submit.status == 200 and submit.fault is None
    assert submit.headers["authorization"] == "Bearer [REDACTED]"
    assert "a gull" in json.dumps(submit.json)
    assert poll.method == "GET" and poll.json is None
    assert KEY not in repr(emulator.log) and KEY not in json.dumps(
        [entry.as_dict() for entry in emulator.log]
    )


def test_requests_filters(emulator: Emulator, client: httpx.Client) -> None:
    WAVESPEED.submit(client)
    task_id = APIXO.submit(client)
    APIXO.poll(client, task_id)
    client.get("/nowhere")
    assert len(emulator.requests(provider="apixo")) == 2
    assert [e.path for e in emulator.requests(method="get", provider="apixo")] == [
        "/api/v1/statusTask/wan-2-5"
    ]
    assert emulator.requests(path_prefix="/api/v3/")[0].provider == "wavespeed"
    (unknown,) = emulator.requests(provider="unknown")
    assert unknown.status == 404 and unknown.path == "/nowhere"
    assert emulator.requests(path="/api/v1/statusTask/wan-2-5")[0].query == {"taskId": task_id}


def test_upload_tokens_are_not_logged(emulator: Emulator, client: httpx.Client) -> None:
    ticket = client.post("/api/v3/media/uploads", json={"filename": "a.png"}).json()["data"]
    token = ticket["upload"]["url"].partition("token=")[2]
    assert client.put(ticket["upload"]["url"], content=b"x").status_code == 200
    put = emulator.requests(method="PUT")[0]
    assert put.query == {"token": "[REDACTED]"} and token not in repr(emulator.log)


def test_long_strings_are_shortened_in_the_log(emulator: Emulator, client: httpx.Client) -> None:
    image = "data:image/png;base64," + "A" * 5000
    client.post(WANAPI.submit_path, json={**WANAPI.body("x"), "image": image})
    logged = emulator.log[0].json["image"]
    assert len(logged) < 300 and logged.endswith("(5022 chars)")


def test_admin_endpoints_steer_a_running_emulator(live: tuple[Emulator, str]) -> None:
    emulator, base_url = live
    with httpx.Client(base_url=base_url) as admin:
        changed = admin.post("/_emulator/knobs", json={"latency": 0, "api_keys": ["secret-k"]})
        assert changed.status_code == 200
        assert changed.json()["latency"] == 0 and changed.json()["api_keys"] == "[1 redacted]"
        assert "secret-k" not in admin.get("/_emulator/knobs").text
        invalid = admin.post("/_emulator/knobs", json={"latency": -1, "no_such_knob": 1})
        assert invalid.status_code == 400
        assert "latency" in invalid.json()["error"] and "no_such_knob" in invalid.json()["error"]
        assert emulator.knobs.latency == 0  # all or nothing
        assert admin.post("/_emulator/knobs", content=b"[1]").status_code == 400

        headers = {"Authorization": "Bearer secret-k"}
        with httpx.Client(base_url=base_url, headers=headers) as user:
            task_id = WAVESPEED.submit(user)
        log = admin.get("/_emulator/log", params={"provider": "wavespeed"}).json()["requests"]
        assert [entry["path"] for entry in log] == [WAVESPEED.submit_path]
        assert "secret-k" not in json.dumps(log)
        assert admin.get("/_emulator/log").json()["requests"] == log  # admin calls not logged

        done = admin.get(f"/api/v3/predictions/{task_id}", headers=headers).json()["data"]
        admin.get(done["outputs"][0])
        results = admin.get("/_emulator/results").json()
        assert results["results"][task_id]["sha256"] == emulator.results[task_id].sha256
        assert results["downloads"][0]["complete"] is True

        assert admin.post("/_emulator/reset").json() == {"reset": True}
        assert emulator.log == [] and emulator.results == {}
        assert emulator.knobs.latency == 0.05 and emulator.knobs.api_keys is None
        assert admin.get(f"/api/v3/predictions/{task_id}", headers=headers).status_code == 404
        assert admin.get("/_emulator/nothing").status_code == 404


def test_reset_restores_the_initial_knobs_in_place() -> None:
    knobs = Knobs(latency=1.5, failure_rate=0.25)
    emulator = Emulator(knobs)
    emulator.set_knobs(latency=3, rate_limit_burst=2)
    emulator.reset()
    assert emulator.knobs is knobs
    assert (knobs.latency, knobs.failure_rate, knobs.rate_limit_burst) == (1.5, 0.25, 0)
