"""APIXO aggregator (PROVIDERS.md §3), under `/api/v1`.

Submit `POST /generateTask/{model}` `{"request_type","callback_url","provider","input"}` →
`data.taskId`; poll `GET /statusTask/{model}?taskId=` → `data.state` pending | processing |
success | failed, `resultJson` a JSON *string* holding `{"resultUrls": [...]}` ("" until
success), `failCode`/`failMsg` ("" unless failed), `createTime`/`completeTime`/`costTime` in ms
(null until the task ends). A task polled under another model, unknown or expired is 404. Over
the concurrency cap tasks wait in `pending` (the documented 1000-task limit reads as a queue).
An image the emulator cannot see fails the task with `INVALID_IMAGE_URL`; one over 10 MB with
`IMAGE_TOO_LARGE`. With `callback_url`, the poll envelope is POSTed there when the task ends.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from wanplan.emulator import results, times
from wanplan.emulator.backend import Backend
from wanplan.emulator.faults import Fault
from wanplan.emulator.protocol import retry_after_headers
from wanplan.emulator.tasks import Failure, Phase, Task
from wanplan.emulator.wire import Request, Response, json_response

SUBMIT = "/api/v1/generateTask/"
STATUS = "/api/v1/statusTask/"
BALANCE = "/api/v1/apikeys/current-balance"
MODELS = ("wan-2-5", "wan-2-5-video", "wan-2-6-video", "wan-2-7-video")
MODES = {
    "text-to-video": "t2v",
    "image-to-video": "i2v",
    "image-to-video-flash": "i2v",
    "reference-to-video": "r2v",
    "reference-to-video-flash": "r2v",
    "video-edit": "edit",
}
# Each model's documented input (PROVIDERS.md §3 and §4b); anything else is refused with 400
# and its detail in `data.error`, as APIXO answers.
_COMMON = frozenset({"mode", "prompt", "resolution", "duration", "negative_prompt", "seed"})
_WAN25 = _COMMON | {"image_urls", "aspect_ratio", "enable_prompt_expansion"}
FIELDS = {
    "wan-2-5": _WAN25,
    "wan-2-5-video": _WAN25,
    # Its reference modes are documented, their media field is not: video_urls as 2.7's.
    "wan-2-6-video": _COMMON
    | {"image_urls", "video_urls", "audio_urls", "aspect_ratio", "prompt_extend"},
    "wan-2-7-video": _COMMON
    | {"image_urls", "video_urls", "audio_urls", "aspect_ratio", "prompt_extend"},
}
MODEL_MODES = {
    "wan-2-5": ("text-to-video", "image-to-video"),
    "wan-2-5-video": ("text-to-video", "image-to-video"),
    "wan-2-6-video": (
        "text-to-video",
        "image-to-video",
        "image-to-video-flash",
        "reference-to-video",
        "reference-to-video-flash",
    ),
    "wan-2-7-video": ("text-to-video", "image-to-video", "reference-to-video", "video-edit"),
}
MAX_PROMPTS = {"wan-2-5": 800, "wan-2-5-video": 800, "wan-2-6-video": 1500}
RATIOS = {"wan-2-7-video": ("16:9", "9:16", "1:1", "4:3", "3:4")}
MAX_IMAGE_BYTES = 10 * 1024 * 1024
_STATE = {
    Phase.QUEUED: "pending",
    Phase.RUNNING: "processing",
    Phase.SUCCEEDED: "success",
    Phase.FAILED: "failed",
    Phase.CANCELED: "failed",
}
DEFAULT_FAILURE = ("CONTENT_VIOLATION", "The content was rejected by the moderation system.")
_SERVER_ERRORS = {500: "Internal server error", 503: "Service unavailable"}


def envelope(data: Any) -> Response:
    return json_response(200, {"code": 200, "message": "success", "data": data})


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(status, {"code": status, "message": message, "data": None}, headers)


def invalid(detail: str) -> Response:
    """A 400 with its detail in `data.error` (PROVIDERS.md §4b)."""
    return json_response(400, {"code": 400, "message": "Bad Request", "data": {"error": detail}})


class Apixo:
    name = "apixo"

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def owns(self, path: str) -> bool:
        return path.startswith((SUBMIT, STATUS)) or path == BALANCE

    def unauthorized(self, request: Request) -> Response:
        return error(401, "Unauthorized: invalid or missing API key")

    def fault(self, request: Request, fault: Fault) -> Response:
        message = (
            "Too many requests, rate limit exceeded"
            if fault.status == 429
            else _SERVER_ERRORS.get(fault.status, "Server error")
        )
        return error(fault.status, message, retry_after_headers(fault))

    def bad_request(self, request: Request, message: str) -> Response:
        return error(400, message)

    def handle(self, request: Request, key_id: str) -> Response:
        if request.method == "POST" and request.path.startswith(SUBMIT):
            return self._submit(request, request.path.removeprefix(SUBMIT), key_id)
        if request.method == "GET" and request.path.startswith(STATUS):
            return self._status(request, request.path.removeprefix(STATUS))
        if request.method == "GET" and request.path == BALANCE:
            return json_response(
                200, {"code": 200, "msg": "success", "data": self.backend.knobs.balance}
            )
        return error(404, f"Not found: {request.method} {request.path}")

    def _submit(self, request: Request, model: str, key_id: str) -> Response:
        if model not in MODELS:
            return error(404, f"Model not found: {model}")
        body = request.json_object()
        payload = body.get("input")
        if not isinstance(payload, dict):
            return error(400, "input is required")
        request_type = body.get("request_type", "async")
        callback_url = body.get("callback_url")
        if request_type not in ("async", "callback"):
            return error(400, "request_type must be async or callback")
        if request_type == "callback" and not callback_url:
            return error(400, "callback_url is required when request_type is callback")
        if body.get("provider", "auto") not in ("auto", "value", "official"):
            return error(400, "provider must be auto, value or official")
        problem = _check_input(model, payload)
        if problem is not None:
            return invalid(problem)
        images: list[str] = payload.get("image_urls") or []
        mode = MODES[payload.get("mode") or ("image-to-video" if images else "text-to-video")]
        image = self.backend.input_bytes(images[0]) if images else None
        task = self.backend.create_task(
            task_id=uuid.uuid4().hex,
            provider=self.name,
            model=model,
            key_id=key_id,
            media=results.media_spec(
                "video",
                payload.get("duration"),
                payload.get("aspect_ratio") or results.ratio_of_image(image),
                results.request_seed(self.name, model, body, request.origin),
            ),
            origin=request.origin,
            prompt=payload.get("prompt"),
            details={"callback_url": callback_url if request_type == "callback" else None},
            failure=_image_failure(images, image) if mode == "i2v" else None,
        )
        return envelope({"taskId": task.id})

    def _status(self, request: Request, model: str) -> Response:
        task_id = request.query.get("taskId")
        if not task_id:
            return error(400, "taskId is required")
        task = self.backend.find(task_id, self.name)
        if task is None or task.model != model:
            return error(404, f"Task not found: {task_id}")
        return envelope(self.record(task))

    def record(self, task: Task) -> dict[str, Any]:
        phase = self.backend.phase(task)
        ended = phase.terminal and task.ends_at is not None
        result = ""
        if phase is Phase.SUCCEEDED:
            result = json.dumps({"resultUrls": [self.backend.result_url(task)]})
        failure = task.failure or Failure()
        failed = phase in (Phase.FAILED, Phase.CANCELED)
        return {
            "taskId": task.id,
            "model": task.model,
            "state": _STATE[phase],
            "resultJson": result,
            "failCode": (failure.code or DEFAULT_FAILURE[0]) if failed else "",
            "failMsg": (failure.message or DEFAULT_FAILURE[1]) if failed else "",
            "createTime": times.millis(task.created_at),
            "completeTime": times.millis(task.ends_at) if ended and task.ends_at else None,
            "costTime": (
                times.millis(task.ends_at - task.created_at) if ended and task.ends_at else None
            ),
        }

    def notification(self, task: Task) -> tuple[str, Any] | None:
        url = task.details.get("callback_url")
        if not url:
            return None
        return url, {"code": 200, "message": "success", "data": self.record(task)}


def _check_input(model: str, payload: dict[str, Any]) -> str | None:
    extra = sorted(set(payload) - FIELDS[model])
    if extra:
        return f"input.{extra[0]} is not a parameter of {model}"
    mode = payload.get("mode")
    modes = MODEL_MODES[model]
    if mode is not None and (not isinstance(mode, str) or mode not in modes):
        return f"input.mode must be one of {', '.join(modes)}"
    prompt = payload.get("prompt")
    if not isinstance(prompt, str) or not prompt:
        return "input.prompt is required"
    limit = MAX_PROMPTS.get(model)
    if limit is not None and len(prompt) > limit:
        return f"input.prompt must be at most {limit} characters"
    for field in ("image_urls", "video_urls", "audio_urls"):
        urls = payload.get(field)
        if urls is not None and (
            not isinstance(urls, list) or not all(isinstance(url, str) for url in urls)
        ):
            return f"input.{field} must be a list of URLs"
    if mode in ("image-to-video", "image-to-video-flash") and not payload.get("image_urls"):
        return "input.image_urls is required for image-to-video"
    if mode == "video-edit" and not payload.get("video_urls"):
        return "input.video_urls is required for video-edit"
    if payload.get("resolution", "720p") not in ("480p", "720p", "1080p"):
        return "input.resolution must be 720p or 1080p"
    ratios = RATIOS.get(model, ("16:9", "9:16", "1:1"))
    if payload.get("aspect_ratio", "16:9") not in ratios:
        return f"input.aspect_ratio must be one of {', '.join(ratios)}"
    duration = payload.get("duration", 5)
    durations = range(5, 11, 5) if model in ("wan-2-5", "wan-2-5-video") else range(2, 16)
    if mode in ("reference-to-video", "reference-to-video-flash", "video-edit"):
        durations = range(2, 11)
    keeps_length = mode == "video-edit" and duration == 0  # the input's own length
    if not isinstance(duration, int) or (duration not in durations and not keeps_length):
        return f"input.duration must be {durations[0]}-{durations[-1]}"
    return None


def _image_failure(urls: list[str], data: bytes | None) -> Failure | None:
    if not urls or (data is None and not urls[0].startswith(("http://", "https://"))):
        return Failure("INVALID_IMAGE_URL", "The image URL could not be downloaded.")
    if data is not None and len(data) > MAX_IMAGE_BYTES:
        return Failure("IMAGE_TOO_LARGE", "The image is larger than 10 MB.")
    return None
