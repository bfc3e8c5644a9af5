"""Alibaba Cloud Model Studio / DashScope (PROVIDERS.md §2), under `/api/v1`.

Create with `POST /services/aigc/video-generation/video-synthesis` (first+last-frame `kf2v`
models and speech-to-video `wan2.2-s2v`, dashscope_s2v.py:
`/services/aigc/image2video/video-synthesis`) and the header `X-DashScope-Async: enable`
(without it: 403 `AccessDenied`, as the service answers synchronous calls). Query with
`GET /tasks/{id}`; cancel a PENDING task with `POST /tasks/{id}/cancel`. Every answer has a
top-level `request_id`; task answers always have `output.task_id` and `output.task_status`:
PENDING → RUNNING → SUCCEEDED | FAILED | CANCELED, and UNKNOWN (HTTP 200) for an unknown or
expired id. Errors are top-level `{"request_id","code","message"}`. Over the concurrency cap a
submit gets 429 `Throttling.AllocationQuota`. A text-to-video task without a prompt is accepted
and fails as a FAILED task. Local files arrive as `oss://` keys (see oss.py; the header
`X-DashScope-OssResourceResolve: enable` is then required) or `data:` base64 URLs.
"""

from __future__ import annotations

import datetime
import re
import uuid
from typing import Any

from wanplan.emulator import dashscope_fields, dashscope_messages, dashscope_s2v, results, times
from wanplan.emulator.backend import Backend
from wanplan.emulator.faults import Fault
from wanplan.emulator.protocol import retry_after_headers
from wanplan.emulator.tasks import Failure, Phase, Task
from wanplan.emulator.wire import Request, Response, json_response

PREFIX = "/api/v1/"
SYNTHESIS = {
    "services/aigc/video-generation/video-synthesis": "video",
    "services/aigc/image2video/video-synthesis": "keyframe",
    "services/aigc/text2image/image-synthesis": "image",
    dashscope_messages.PATH: "messages",
}
"""Create paths, and which models each serves: kf2v and s2v on the keyframe path, t2i on the
image path (wan2.5 and below), wan2.6's image models on the messages path, every other video model
on the video path."""
MODEL = re.compile(r"^wanx?2\.[1-7]-(t2v|i2v|kf2v|r2v|videoedit|t2i|image|s2v)(-[a-z]+)?$")
URL_FIELDS = (
    "img_url",
    "image_url",
    "first_frame_url",
    "last_frame_url",
    "audio_url",
    "reference_url",
)
MEDIA_TYPES = {
    "i2v": ("first_frame", "last_frame", "driving_audio", "first_clip"),
    "r2v": ("reference_image", "reference_video"),
    "videoedit": ("video", "reference_image"),
}
"""Wan 2.7's documented `input.media[].type` per model (PROVIDERS.md §2, §4b: no grid_image)."""
LIST_FIELDS = ("reference_video_urls", "reference_urls")
_STATUS = {
    Phase.QUEUED: "PENDING",
    Phase.RUNNING: "RUNNING",
    Phase.SUCCEEDED: "SUCCEEDED",
    Phase.FAILED: "FAILED",
    Phase.CANCELED: "CANCELED",
}
DEFAULT_FAILURE = ("DataInspectionFailed", "Input data may contain inappropriate content.")
_SERVER_ERRORS = {
    500: ("InternalError", "An internal error has occured, please try again later."),
    502: ("BadGateway", "Bad gateway, please try again later."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable, please retry."),
    504: ("RequestTimeOut", "Request timed out, please try again later."),
}
MISSING_PROMPT = Failure("InvalidParameter", "Field required: input.prompt")
BAD_URL = "The provided URL does not appear to be valid. Ensure it is correctly formatted."


def _request_id() -> str:
    return str(uuid.uuid4())


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    payload = {"request_id": _request_id(), "code": code, "message": message}
    return json_response(status, payload, headers)


def _not_found(request: Request) -> Response:
    return error(404, "NotFound", f"Not found: {request.method} {request.path}")


def mode_of(model: str, payload: dict[str, Any]) -> str:
    kind = MODEL.match(model)
    family = kind.group(1) if kind else "t2v"
    if family == "i2v":
        has_last = payload.get("last_frame_url") or any(
            isinstance(m, dict) and m.get("type") == "last_frame"
            for m in _items(payload.get("media"))
        )
        return "flf2v" if has_last else "i2v"
    return {"kf2v": "flf2v", "videoedit": "edit", "image": "t2i"}.get(family, family)


def input_urls(payload: dict[str, Any]) -> list[str]:
    """Every URL in `input`: the single fields, the lists and `media[].url`."""
    urls = [payload[name] for name in URL_FIELDS if isinstance(payload.get(name), str)]
    for name in LIST_FIELDS:
        urls += [url for url in _items(payload.get(name)) if isinstance(url, str)]
    for item in _items(payload.get("media")):
        if isinstance(item, dict) and isinstance(item.get("url"), str):
            urls.append(item["url"])
    return urls + dashscope_messages.image_urls(payload)


def _check_media(model: str, payload: dict[str, Any]) -> Response | None:
    kind = MODEL.match(model)
    allowed = MEDIA_TYPES.get(kind.group(1) if kind else "", ())
    for item in _items(payload.get("media")):
        media_type = item.get("type") if isinstance(item, dict) else None
        if media_type not in allowed:
            return error(
                400,
                "InvalidParameter",
                f"input.media type {media_type!r} is not supported by {model}; "
                f"supported: {', '.join(allowed)}",
            )
    return None


def _served(model: str) -> str:
    if dashscope_messages.speaks_messages(model):
        return "messages"
    if "kf2v" in model or dashscope_s2v.speaks_s2v(model):
        return "keyframe"
    return "image" if "-t2i" in model else "video"


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


class DashScope:
    name = "dashscope"

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def owns(self, path: str) -> bool:
        return path.rstrip("/") == f"{PREFIX}tasks" or path.startswith(
            (f"{PREFIX}services/", f"{PREFIX}tasks/", f"{PREFIX}uploads")
        )

    def unauthorized(self, request: Request) -> Response:
        return error(401, "InvalidApiKey", "Invalid API-key provided.")

    def fault(self, request: Request, fault: Fault) -> Response:
        if fault.status == 429:
            code, message = (
                "Throttling.RateQuota",
                "Requests rate limit exceeded, please try again later.",
            )
        else:
            code, message = _SERVER_ERRORS[fault.status]
        return error(fault.status, code, message, retry_after_headers(fault))

    def bad_request(self, request: Request, message: str) -> Response:
        return error(400, "InvalidParameter", message)

    def handle(self, request: Request, key_id: str) -> Response:
        route = request.path.removeprefix(PREFIX).rstrip("/")
        if request.method == "POST" and route in SYNTHESIS:
            return self._create(request, route, key_id)
        if route == "tasks" and request.method == "GET":
            return self._list(request, key_id)
        parts = route.split("/")
        if parts[0] == "tasks" and len(parts) == 2 and request.method == "GET":
            return self._query(parts[1])
        if parts[0] == "tasks" and len(parts) == 3 and parts[2] == "cancel":
            return self._cancel(parts[1]) if request.method == "POST" else _not_found(request)
        if route == "uploads" and request.method == "GET":
            return self._policy(request)
        return _not_found(request)

    def _create(self, request: Request, route: str, key_id: str) -> Response:
        if (request.header("x-dashscope-async") or "").lower() != "enable":
            return error(403, "AccessDenied", "current user api does not support synchronous calls")
        body = request.json_object()
        model = body.get("model")
        if not isinstance(model, str) or not MODEL.match(model):
            return error(400, "InvalidParameter", "Model not exist.")
        if "-s2v" in model and not dashscope_s2v.speaks_s2v(model):  # wan2.2-s2v-detect
            return error(400, "InvalidParameter", "Model not exist.")
        if SYNTHESIS[route] != _served(model):
            return error(400, "InvalidParameter", "Model not exist.")
        payload = body.get("input")
        parameters = body.get("parameters") or {}
        if not isinstance(payload, dict) or not isinstance(parameters, dict):
            return error(400, "InvalidParameter", "input and parameters must be JSON objects")
        messages = dashscope_messages.speaks_messages(model)
        wrong = dashscope_messages.refusal(model, payload, parameters) if messages else None
        speech = dashscope_s2v.speaks_s2v(model)
        if speech:
            wrong = dashscope_s2v.refusal(model, payload, parameters)
        elif not messages:
            wrong = dashscope_fields.refusal(model, payload, parameters)
        if wrong is not None:
            return error(400, "InvalidParameter", wrong)
        refusal = self._check_urls(request, payload) or _check_media(model, payload)
        if refusal is not None:
            return refusal
        cap = self.backend.knobs.concurrency_cap
        if cap is not None and self.backend.in_flight(key_id) >= cap:
            return error(
                429,
                "Throttling.AllocationQuota",
                "Allocated quota exceeded, please increase your quota limit.",
                {"Retry-After": str(self.backend.knobs.retry_after)},
            )
        mode = mode_of(model, payload)
        prompt = dashscope_messages.prompt(payload) if messages else payload.get("prompt")
        missing = MISSING_PROMPT if mode in ("t2v", "t2i") and not prompt else None
        task = self.backend.create_task(
            task_id=str(uuid.uuid4()),
            provider=self.name,
            model=model,
            key_id=key_id,
            media=results.media_spec(
                "image" if mode == "t2i" else "video",
                self._seconds(payload) if speech else parameters.get("duration"),
                self._aspect(payload, parameters),
                results.request_seed(self.name, model, body, request.origin),
            ),
            origin=request.origin,
            prompt=prompt if isinstance(prompt, str) else None,
            details={
                "prompt": prompt,
                "resolution": _sr(parameters, 480 if speech else 720),  # s2v: 480P [doc]
                "image": mode == "t2i",
                "messages": messages,
            },
            failure=Failure("InvalidParameter", "Field required: input.prompt")
            if missing
            else None,
        )
        return json_response(
            200,
            {"request_id": _request_id(), "output": {"task_id": task.id, "task_status": "PENDING"}},
        )

    def _check_urls(self, request: Request, payload: dict[str, Any]) -> Response | None:
        resolve = (request.header("x-dashscope-ossresourceresolve") or "").lower() == "enable"
        for url in input_urls(payload):
            if url.startswith("oss://"):
                if not resolve or self.backend.input_bytes(url) is None:
                    return error(400, "InvalidParameter", BAD_URL)
            elif url.startswith("data:"):
                if self.backend.input_bytes(url) is None:
                    return error(400, "InvalidParameter", "The data URL is not valid base64.")
            elif not url.startswith(("http://", "https://")):
                return error(400, "InvalidParameter", BAD_URL)
        return None

    def _seconds(self, payload: dict[str, Any]) -> int | None:
        """Speech-to-video lasts as long as its audio (the default length where the emulator
        cannot read it: a URL it does not hold, an MP3)."""
        return dashscope_s2v.seconds(self.backend.input_bytes(str(payload["audio_url"])))

    def _aspect(self, payload: dict[str, Any], parameters: dict[str, Any]) -> str | None:
        ratio = parameters.get("ratio")
        if isinstance(ratio, str):
            return ratio
        from_size = results.ratio_of_size(parameters.get("size"))
        if from_size is not None:
            return from_size
        for url in input_urls(payload):
            found = results.ratio_of_image(self.backend.input_bytes(url))
            if found is not None:
                return found
        return None

    def _query(self, task_id: str) -> Response:
        task = self.backend.find(task_id, self.name)
        if task is None:
            output = {"task_id": task_id, "task_status": "UNKNOWN"}
            return json_response(200, {"request_id": _request_id(), "output": output})
        return json_response(200, self.answer(task))

    def answer(self, task: Task) -> dict[str, Any]:
        phase = self.backend.phase(task)
        output: dict[str, Any] = {
            "task_id": task.id,
            "task_status": _STATUS[phase],
            "submit_time": times.dashscope(task.created_at),
        }
        if task.started_at is not None and phase is not Phase.QUEUED:
            output["scheduled_time"] = times.dashscope(task.started_at)
        answer: dict[str, Any] = {"request_id": _request_id(), "output": output}
        if phase.terminal and task.ends_at is not None:
            output["end_time"] = times.dashscope(task.ends_at)
        image = bool(task.details.get("image"))
        if phase is Phase.SUCCEEDED and task.details.get("messages"):
            output.update(dashscope_messages.output(self.backend.result_url(task)))
        elif phase is Phase.SUCCEEDED and image:  # text-to-image: output.results[].url
            output["results"] = [{"url": self.backend.result_url(task)}]
        elif phase is Phase.SUCCEEDED:
            output["video_url"] = self.backend.result_url(task)
        if isinstance(task.details.get("prompt"), str):
            output["orig_prompt"] = task.details["prompt"]
        if phase is Phase.SUCCEEDED and image:
            answer["usage"] = {"image_count": 1}
        elif phase is Phase.SUCCEEDED:
            answer["usage"] = {
                "video_duration": task.media.seconds,
                "video_count": 1,
                "SR": task.details.get("resolution", 720),
            }
        if phase is Phase.FAILED and task.failure is not None:
            output["code"] = task.failure.code or DEFAULT_FAILURE[0]
            output["message"] = task.failure.message or DEFAULT_FAILURE[1]
        return answer

    def _list(self, request: Request, key_id: str) -> Response:
        """The task list (PROVIDERS.md §4c): the account's tasks, newest first. Its
        start_time/end_time (YYYYMMDDhhmmss) are read as Beijing time (UTC+8), one reading of
        an undocumented time zone that a client must pad for; `gmt_create` is epoch ms."""
        query = request.query
        try:
            start = _list_time(query.get("start_time"))
            end = _list_time(query.get("end_time"))
            page = int(query.get("page_no") or 1)
            size = int(query.get("page_size") or 10)
        except ValueError:
            return error(400, "InvalidParameter", "start_time and end_time are YYYYMMDDhhmmss")
        if page < 1 or not 1 <= size <= 100:
            return error(400, "InvalidParameter", "page_no >= 1 and page_size 1-100")
        model, status = query.get("model_name") or None, query.get("status") or None
        tasks = [
            task
            for task in self.backend.listed(self.name, key_id, model)
            if (start is None or task.created_at >= start)
            and (end is None or task.created_at <= end)
            and (status is None or _STATUS[self.backend.phase(task)] == status)
        ]
        items = [self.list_item(task, key_id) for task in tasks[(page - 1) * size : page * size]]
        return json_response(
            200,
            {
                "request_id": _request_id(),
                "total": len(tasks),
                "total_page": max(-(-len(tasks) // size), 1),
                "page_no": page,
                "page_size": size,
                "data": items,
            },
        )

    def list_item(self, task: Task, key_id: str) -> dict[str, Any]:
        phase = self.backend.phase(task)
        item: dict[str, Any] = {
            "task_id": task.id,
            "status": _STATUS[phase],
            "model_name": task.model,
            "request_id": _request_id(),
            "gmt_create": int(task.created_at * 1000),
            "api_key_id": key_id,
            "region": "ap-southeast-1",
        }
        if task.started_at is not None:
            item["start_time"] = int(task.started_at * 1000)
        if phase.terminal and task.ends_at is not None:
            item["end_time"] = int(task.ends_at * 1000)
        return item

    def _cancel(self, task_id: str) -> Response:
        task = self.backend.find(task_id, self.name)
        if task is None or self.backend.phase(task) is not Phase.QUEUED:
            return error(
                400,
                "UnsupportedOperation",
                "Failed to cancel the task, please confirm if the task is in PENDING status.",
            )
        task.canceled_at = self.backend.now()
        return json_response(200, {"request_id": _request_id()})

    def _policy(self, request: Request) -> Response:
        model = request.query.get("model")
        if request.query.get("action") != "getPolicy" or not model:
            return error(400, "InvalidParameter", "action=getPolicy and model are required")
        data = self.backend.oss.policy(model, request.origin, self.backend.now())
        return json_response(200, {"request_id": _request_id(), "data": data})

    def notification(self, task: Task) -> tuple[str, Any] | None:
        return None


_BEIJING = datetime.timezone(datetime.timedelta(hours=8))


def _list_time(value: str | None) -> float | None:
    if not value:
        return None
    moment = datetime.datetime.strptime(value, "%Y%m%d%H%M%S")
    return moment.replace(tzinfo=_BEIJING).timestamp()


def _sr(parameters: dict[str, Any], default: int = 720) -> int:
    resolution = str(parameters.get("resolution") or "").upper().removesuffix("P")
    if resolution.isdigit():
        return int(resolution)
    sides = [int(side) for side in str(parameters.get("size") or "").split("*") if side.isdigit()]
    return min(sides) if len(sides) == 2 else default
