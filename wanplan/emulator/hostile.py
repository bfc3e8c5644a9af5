"""Hostile answers: a provider (or something in its place) answering submits and polls with
bodies a client must survive. Only tasks whose prompt holds `Knobs.hostile_marker` get them, so
one apply can hold a hostile asset and a healthy one.

Shapes (`Knobs.hostile_submit`, `Knobs.hostile_poll`):

    not_json             an HTML page with status 200
    not_object           the real answer wrapped in a JSON list
    huge                 6 MiB of JSON (the client caps what it reads)
    deep                 a list nested 100,000 deep (a recursive parser overflows)
    id_number            the task id a number
    id_object            the task id an object
    status_number        the status a number
    status_unknown       a status the protocol does not have ("exploded")
    status_missing       no status field
    result_wrong_type    the result field of the wrong type (a string for a list, a list for a
                         string, an object for APIXO's resultJson string)
    nulls                every field of the task object null
    envelope_not_object  the task object a string (wanapi has no envelope: not_object)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from wanplan.emulator.backend import Backend
from wanplan.emulator.knobs import HostileShape
from wanplan.emulator.wire import Request, Response, json_response

HUGE_BYTES = 6 * 1024 * 1024
DEPTH = 100_000


@dataclass(frozen=True, slots=True)
class Fields:
    """Where a protocol's task answer keeps what a client reads."""

    envelope: str | None
    task_id: str
    status: str
    result: str


FIELDS = {
    "wavespeed": Fields("data", "id", "status", "outputs"),
    "dashscope": Fields("output", "task_id", "task_status", "video_url"),
    "apixo": Fields("data", "taskId", "state", "resultJson"),
    "wanapi": Fields(None, "id", "status", "video_url"),
}


def hostile_answer(
    provider: str, request: Request, response: Response, backend: Backend
) -> Response:
    """The answer a marked task's submit or poll gets under the hostile knobs; else `response`."""
    knobs = backend.knobs
    shape = knobs.hostile_submit if request.method == "POST" else knobs.hostile_poll
    fields = FIELDS.get(provider)
    if shape is None or fields is None or response.status != 200:
        return response
    body = response.json()
    task_object = body.get(fields.envelope) if fields.envelope else body
    if not isinstance(task_object, dict):
        return response
    task = backend.find(str(task_object.get(fields.task_id)), provider)
    if task is None or not task.hostile:
        return response  # another request (an upload, a price quote) or a healthy task
    return shaped(shape, body, task_object, fields)


def shaped(
    shape: HostileShape, body: dict[str, Any], task: dict[str, Any], fields: Fields
) -> Response:
    if shape == "not_json":
        page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
        return Response(200, {"Content-Type": "text/html"}, page)
    if shape == "not_object" or (shape == "envelope_not_object" and fields.envelope is None):
        return json_response(200, [body])
    if shape == "huge":
        padding = {"padding": "x" * HUGE_BYTES, **body}
        return json_response(200, padding)
    if shape == "deep":
        return Response(200, {"Content-Type": "application/json"}, b"[" * DEPTH + b"]" * DEPTH)
    if shape == "envelope_not_object":
        assert fields.envelope is not None
        return json_response(200, {**body, fields.envelope: "ok"})
    changed = dict(task)
    if shape == "id_number":
        changed[fields.task_id] = 12345
    elif shape == "id_object":
        changed[fields.task_id] = {"id": task.get(fields.task_id)}
    elif shape == "status_number":
        changed[fields.status] = 7
    elif shape == "status_unknown":
        changed[fields.status] = "exploded"
    elif shape == "status_missing":
        changed.pop(fields.status, None)
    elif shape == "nulls":
        changed = dict.fromkeys(task)
    elif shape == "result_wrong_type" and task.get(fields.result):
        changed[fields.result] = _wrong_type(fields.result, task[fields.result])
    if fields.envelope is None:
        return json_response(200, changed)
    return json_response(200, {**body, fields.envelope: changed})


def _wrong_type(name: str, value: Any) -> Any:
    if name == "resultJson":  # a JSON string: send the object itself
        return json.loads(value)
    if isinstance(value, list):
        return value[0] if value else ""
    return [value]
