"""wanapi.io, an OpenAI-shaped proxy (PROVIDERS.md §4), under `/v1`.

`POST /video/generations` `{"model","prompt","image"?,"duration","aspect_ratio","webhook_url"?}`
→ `{"id":"gen_…","status":"queued",…}`; `GET /video/generations/{id}` → queued | processing |
succeeded (with `video_url`) | failed (with `error{message,code}`). Errors are
`{"error":{"message","type","code"}}`; unknown or expired generations are 404. Over the
concurrency cap a submit gets 429 `concurrency_limit_exceeded` with `Retry-After`, as an
OpenAI-shaped API refuses rather than queues. `webhook_url` gets the generation object when it
ends.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

from wanplan.emulator import results
from wanplan.emulator.backend import Backend
from wanplan.emulator.faults import Fault
from wanplan.emulator.protocol import retry_after_headers
from wanplan.emulator.tasks import Phase, Task
from wanplan.emulator.wire import Request, Response, json_response

PATH = "/v1/video/generations"
MODELS = ("wan-2-2", "wan-2-1")
ASPECT_RATIOS = ("16:9", "9:16", "1:1")
_STATUS = {
    Phase.QUEUED: "queued",
    Phase.RUNNING: "processing",
    Phase.SUCCEEDED: "succeeded",
    Phase.FAILED: "failed",
    Phase.CANCELED: "failed",
}
DEFAULT_FAILURE = ("content_policy_violation", "The prompt was rejected by the safety system.")
_SERVER_ERRORS = {
    500: ("server_error", "internal_error", "The server had an error, please retry."),
    502: ("server_error", "bad_gateway", "Bad gateway, please retry."),
    503: ("server_error", "service_unavailable", "The service is overloaded, please retry."),
    504: ("server_error", "timeout", "The server timed out, please retry."),
}
_ALPHABET = string.ascii_letters + string.digits
DOCUMENTED = frozenset({"model", "prompt", "image", "duration", "aspect_ratio", "webhook_url"})
"""The body PROVIDERS.md §4 lists; the emulator refuses anything else, so that an adapter
sending an undocumented field fails its tests."""


def error(
    status: int, kind: str, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    return json_response(
        status, {"error": {"message": message, "type": kind, "code": code}}, headers
    )


def invalid(code: str, message: str) -> Response:
    return error(400, "invalid_request_error", code, message)


class WanApi:
    name = "wanapi"

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def owns(self, path: str) -> bool:
        return path == PATH or path.startswith(PATH + "/")

    def unauthorized(self, request: Request) -> Response:
        return error(401, "authentication_error", "invalid_api_key", "Invalid API key provided.")

    def fault(self, request: Request, fault: Fault) -> Response:
        if fault.status == 429:
            seconds = fault.retry_after or 0
            message = f"Rate limit exceeded. Please retry after {seconds} seconds."
            return error(
                429, "rate_limit_error", "rate_limit_exceeded", message, retry_after_headers(fault)
            )
        kind, code, message = _SERVER_ERRORS[fault.status]
        return error(fault.status, kind, code, message, retry_after_headers(fault))

    def bad_request(self, request: Request, message: str) -> Response:
        return invalid("invalid_json", message)

    def handle(self, request: Request, key_id: str) -> Response:
        rest = request.path.removeprefix(PATH).strip("/")
        if request.method == "POST" and not rest:
            return self._create(request, key_id)
        if request.method == "GET" and rest and "/" not in rest:
            return self._get(rest)
        return error(404, "invalid_request_error", "not_found", f"Unknown path {request.path}")

    def _create(self, request: Request, key_id: str) -> Response:
        body = request.json_object()
        model = body.get("model")
        if model not in MODELS:
            return invalid("model_not_found", f"The model {model!r} does not exist.")
        extra = sorted(set(body) - DOCUMENTED)
        if extra:
            return invalid("unknown_parameter", f"Unrecognized request argument: {extra[0]}.")
        prompt = body.get("prompt")
        if not isinstance(prompt, str) or not prompt:
            return invalid("missing_required_parameter", "prompt is required.")
        duration = body.get("duration", 5)
        if not isinstance(duration, int) or not 1 <= duration <= results.MAX_SECONDS:
            return invalid("invalid_duration", "duration must be a whole number of seconds.")
        aspect = body.get("aspect_ratio", "16:9")
        if aspect not in ASPECT_RATIOS:
            return invalid("invalid_aspect_ratio", f"aspect_ratio must be one of {ASPECT_RATIOS}.")
        image = body.get("image")
        if image is not None and not isinstance(image, str):
            return invalid("invalid_image", "image must be a URL.")
        cap = self.backend.knobs.concurrency_cap
        if cap is not None and self.backend.in_flight(key_id) >= cap:
            retry = str(self.backend.knobs.retry_after)
            return error(
                429,
                "rate_limit_error",
                "concurrency_limit_exceeded",
                f"Too many generations in progress (limit {cap}).",
                {"Retry-After": retry},
            )
        task = self.backend.create_task(
            task_id="gen_" + "".join(secrets.choice(_ALPHABET) for _ in range(24)),
            provider=self.name,
            model=str(model),
            key_id=key_id,
            media=results.media_spec(
                "video",
                duration,
                str(aspect),
                results.request_seed(self.name, str(model), body, request.origin),
            ),
            origin=request.origin,
            prompt=prompt,
            details={"callback_url": body.get("webhook_url"), "mode": "i2v" if image else "t2v"},
        )
        return json_response(200, self.generation(task))

    def _get(self, generation_id: str) -> Response:
        task = self.backend.find(generation_id, self.name)
        if task is None:
            return error(
                404, "invalid_request_error", "not_found", f"Generation {generation_id} not found."
            )
        return json_response(200, self.generation(task))

    def generation(self, task: Task) -> dict[str, Any]:
        phase = self.backend.phase(task)
        answer: dict[str, Any] = {
            "id": task.id,
            "object": "video.generation",
            "status": _STATUS[phase],
            "model": task.model,
            "created_at": int(task.created_at),
        }
        if phase is Phase.SUCCEEDED:
            answer["video_url"] = self.backend.result_url(task)
            answer["duration"] = task.media.seconds
        if phase in (Phase.FAILED, Phase.CANCELED):
            failure = task.failure
            answer["error"] = {
                "code": (failure.code if failure else None) or DEFAULT_FAILURE[0],
                "message": (failure.message if failure else None) or DEFAULT_FAILURE[1],
            }
        return answer

    def notification(self, task: Task) -> tuple[str, Any] | None:
        url = task.details.get("callback_url")
        return (url, self.generation(task)) if url else None
