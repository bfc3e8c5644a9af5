"""Steering a separately running emulator over HTTP, under `/_emulator/` (never logged, no key):

GET  /_emulator/log[?provider=P]   the request log (keys redacted)
GET  /_emulator/knobs              the knobs (accepted keys shown as a count)
POST /_emulator/knobs              change knobs: a JSON object of knob → value; 400 if invalid
POST /_emulator/reset              forget tasks, uploads, results, log; restore initial knobs
GET  /_emulator/results            sha256 of each result file made, and each download
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from pydantic import ValidationError

from wanplan.emulator.wire import BadJson, Request, Response, json_response

if TYPE_CHECKING:
    from wanplan.emulator.app import Emulator

PREFIX = "/_emulator"


def handle(emulator: Emulator, request: Request) -> Response:
    route = (request.method, request.path.removeprefix(PREFIX).rstrip("/"))
    if route == ("GET", "/log"):
        entries = emulator.requests(provider=request.query.get("provider"))
        return json_response(200, {"requests": [entry.as_dict() for entry in entries]})
    if route == ("GET", "/knobs"):
        return json_response(200, emulator.knobs.public())
    if route == ("POST", "/knobs"):
        try:
            emulator.set_knobs(**request.json_object())
        except BadJson as exc:
            return json_response(400, {"error": str(exc)})
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, item['loc']))}: {item['msg']}" for item in exc.errors()
            )
            return json_response(400, {"error": problems})
        return json_response(200, emulator.knobs.public())
    if route == ("POST", "/reset"):
        emulator.reset()
        return json_response(200, {"reset": True})
    if route == ("GET", "/results"):
        return json_response(
            200,
            {
                "results": {
                    task_id: dataclasses.asdict(record)
                    for task_id, record in emulator.results.items()
                },
                "downloads": [
                    {**dataclasses.asdict(item), "complete": item.complete}
                    for item in emulator.downloads
                ],
            },
        )
    return json_response(404, {"error": f"no admin endpoint {request.method} {request.path}"})
