"""The sim's service, answered in process through an httpx transport: the sim provider talks
HTTP like every other provider, so apply takes the same path (submit, poll, download).

Task ids carry everything the service needs (submit time, content key, media shape), so a task
survives the process that submitted it, as it would on a real service: `resume` works offline.
A test can make a task fail with `params = { sim_fail = "reason" }`.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx

from wanplan.providers.sim import media

HOST = "sim.wanplan.invalid"
BASE_URL = f"https://{HOST}/v1"
_VIDEO_MODES = {"t2v", "i2v", "flf2v", "r2v", "edit", "s2v"}


def _encode(task: dict[str, Any]) -> str:
    fail = task["f"]
    fail_code = base64.urlsafe_b64encode(fail.encode()).decode().rstrip("=") if fail else "-"
    aspect = (task["a"] or "-").replace(":", "x")
    return f"sim.{task['t']}.{task['k'][:16]}.{task['m']}.{aspect}.{task['d']}.{fail_code}"


def _decode(task_id: str) -> dict[str, Any] | None:
    parts = task_id.split(".")
    if len(parts) != 7 or parts[0] != "sim" or not parts[1].isdigit() or not parts[5].isdigit():
        return None
    fail = None
    if parts[6] != "-":
        try:
            fail = base64.urlsafe_b64decode(parts[6] + "=" * (-len(parts[6]) % 4)).decode()
        except ValueError:
            return None
    aspect = None if parts[4] == "-" else parts[4].replace("x", ":")
    return {
        "t": int(parts[1]),
        "k": parts[2],
        "m": parts[3],
        "a": aspect,
        "d": int(parts[5]),
        "f": fail,
    }


class SimService:
    def __init__(self, latency: float) -> None:
        self.latency = latency

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")
        if request.method == "POST" and parts == ["v1", "tasks"]:
            return self._submit(json.loads(request.content))
        if request.method == "GET" and len(parts) == 3 and parts[:2] == ["v1", "tasks"]:
            return self._status(parts[2])
        if request.method == "GET" and len(parts) == 3 and parts[:2] == ["v1", "files"]:
            return self._file(parts[2])
        return httpx.Response(404, json={"error": f"no route {request.method} {request.url.path}"})

    def _submit(self, body: dict[str, Any]) -> httpx.Response:
        params = body.get("params") or {}
        extra = params.get("params") or {}
        task = {
            "t": time.time_ns() // 1_000_000,
            "k": body["content_key"],
            "m": body["mode"],
            "a": params.get("aspect_ratio"),
            "d": params.get("duration") or 0,
            "f": extra.get("sim_fail"),
        }
        return httpx.Response(200, json={"id": _encode(task), "status": "queued"})

    def _status(self, task_id: str) -> httpx.Response:
        task = _decode(task_id)
        if task is None:
            return httpx.Response(404, json={"error": "task not found"})
        elapsed = time.time_ns() // 1_000_000 - task["t"]
        if elapsed < self.latency * 1000:
            return httpx.Response(200, json={"id": task_id, "status": "running"})
        if task.get("f"):
            return httpx.Response(200, json={"id": task_id, "status": "failed", "error": task["f"]})
        ext = "gif" if task["m"] in _VIDEO_MODES else "png"
        return httpx.Response(
            200,
            json={
                "id": task_id,
                "status": "succeeded",
                "result_url": f"{BASE_URL}/files/{task_id}.{ext}",
                "seconds": task["d"],
            },
        )

    def _file(self, name: str) -> httpx.Response:
        task_id, _, ext = name.rpartition(".")
        task = _decode(task_id)
        if task is None:
            return httpx.Response(404, json={"error": "file not found"})
        seed = task["k"].encode()
        if ext == "gif":
            return httpx.Response(
                200,
                content=media.animation(seed, task["a"], task["d"]),
                headers={"content-type": "image/gif"},
            )
        return httpx.Response(
            200, content=media.still(seed, task["a"]), headers={"content-type": "image/png"}
        )
