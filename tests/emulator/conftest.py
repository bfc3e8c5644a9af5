"""Shared fixtures for the emulator's tests: an in-process emulator on a fake clock (instant),
a live one on a loopback port, and one small description per wire protocol so a fault can be
checked in every provider's own shape by the same test."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from wanplan.emulator import IN_PROCESS_URL, Emulator, EmulatorTransport, Knobs, running

KEY = "sk-test-0123456789abcdef"
LATENCY = 10.0
"""Task latency on the fake clock: long, since moving the clock costs nothing."""


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass(frozen=True)
class Wire:
    """How to drive one provider's protocol with plain HTTP."""

    name: str
    submit_path: str
    body: Callable[[str], dict[str, Any]]
    task_id: Callable[[Any], str]
    poll_target: Callable[[str], str]
    state: Callable[[Any], str]
    result_url: Callable[[Any], str | None]
    succeeded: str
    failed: str
    headers: dict[str, str] = field(default_factory=dict)

    def submit(self, client: httpx.Client, prompt: str = "a quiet lake", **extra: Any) -> str:
        response = client.post(
            self.submit_path, json={**self.body(prompt), **extra}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        return self.task_id(response.json())

    def poll(self, client: httpx.Client, task_id: str) -> httpx.Response:
        return client.get(self.poll_target(task_id))


def _apixo_url(answer: Any) -> str | None:
    text = answer["data"]["resultJson"]
    return json.loads(text)["resultUrls"][0] if text else None


WAVESPEED = Wire(
    "wavespeed",
    "/api/v3/alibaba/wan-2.5/text-to-video",
    lambda prompt: {"prompt": prompt, "size": "1280*720", "duration": 5},
    lambda answer: answer["data"]["id"],
    lambda task_id: f"/api/v3/predictions/{task_id}/result",
    lambda answer: answer["data"]["status"],
    lambda answer: (answer["data"]["outputs"] or [None])[0],
    "completed",
    "failed",
)
DASHSCOPE = Wire(
    "dashscope",
    "/api/v1/services/aigc/video-generation/video-synthesis",
    lambda prompt: {
        "model": "wan2.5-t2v-preview",
        "input": {"prompt": prompt},
        "parameters": {"size": "1280*720", "duration": 5},
    },
    lambda answer: answer["output"]["task_id"],
    lambda task_id: f"/api/v1/tasks/{task_id}",
    lambda answer: answer["output"]["task_status"],
    lambda answer: answer["output"].get("video_url"),
    "SUCCEEDED",
    "FAILED",
    {"X-DashScope-Async": "enable"},
)
APIXO = Wire(
    "apixo",
    "/api/v1/generateTask/wan-2-5",
    lambda prompt: {
        "request_type": "async",
        "input": {"mode": "text-to-video", "prompt": prompt, "duration": 5, "aspect_ratio": "16:9"},
    },
    lambda answer: answer["data"]["taskId"],
    lambda task_id: f"/api/v1/statusTask/wan-2-5?taskId={task_id}",
    lambda answer: answer["data"]["state"],
    _apixo_url,
    "success",
    "failed",
)
WANAPI = Wire(
    "wanapi",
    "/v1/video/generations",
    lambda prompt: {"model": "wan-2-2", "prompt": prompt, "duration": 5, "aspect_ratio": "16:9"},
    lambda answer: answer["id"],
    lambda task_id: f"/v1/video/generations/{task_id}",
    lambda answer: answer["status"],
    lambda answer: answer.get("video_url"),
    "succeeded",
    "failed",
)
WIRES = [WAVESPEED, DASHSCOPE, APIXO, WANAPI]


def error_code(wire: Wire, response: httpx.Response) -> str:
    """The error's code after checking the body has exactly the provider's error shape."""
    body = response.json()
    if wire.name in ("wavespeed", "apixo"):
        assert set(body) == {"code", "message", "data"}
        # APIXO puts a 400's detail in data.error (PROVIDERS.md §4b); otherwise data is null.
        detail = body["data"] if wire.name == "apixo" and response.status_code == 400 else None
        assert body["data"] == detail and (detail is None or set(detail) == {"error"})
        assert body["code"] == response.status_code and isinstance(body["message"], str)
        return str(body["code"])
    if wire.name == "dashscope":
        assert set(body) == {"request_id", "code", "message"}
        return str(body["code"])
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "code"}
    return str(body["error"]["code"])


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator(clock: FakeClock) -> Emulator:
    """In process, on the fake clock."""
    return Emulator(Knobs(latency=LATENCY), clock=clock)


def in_process_client(emulator: Emulator, key: str | None = KEY) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return httpx.Client(
        transport=EmulatorTransport(emulator), base_url=IN_PROCESS_URL, headers=headers
    )


@pytest.fixture
def client(emulator: Emulator) -> Iterator[httpx.Client]:
    with in_process_client(emulator) as http:
        yield http


@pytest.fixture
def live() -> Iterator[tuple[Emulator, str]]:
    """A real-time emulator on a loopback port: (emulator, base URL)."""
    emulator = Emulator(Knobs(latency=0.05))
    with running(emulator) as base_url:
        yield emulator, base_url


@pytest.fixture(params=WIRES, ids=lambda wire: wire.name)
def wire(request: pytest.FixtureRequest) -> Wire:
    return request.param  # type: ignore[no-any-return]


def finish(wire: Wire, client: httpx.Client, clock: FakeClock, task_id: str) -> Any:
    """Move the fake clock past the task's end and answer its final poll."""
    clock.advance(LATENCY + 0.001)
    response = wire.poll(client, task_id)
    assert response.status_code == 200, response.text
    return response.json()


class Receiver:
    """A loopback HTTP server that records the JSON bodies POSTed to it."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.bodies: list[Any] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def wait(self, count: int = 1, timeout: float = 15.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while len(self.bodies) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.bodies


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    found.thread.start()
    yield found
    found.server.shutdown()
    found.server.server_close()
    found.thread.join()
