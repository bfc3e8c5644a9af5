"""WaveSpeed v3 (PROVIDERS.md §1). Every answer is the `{"code","message","data"}` envelope; the
submit body is the model's inputs, flat, posted to `/api/v3/<model id with slashes>`.

Status: `created` while queued (also while waiting for a slot over the concurrency cap: WaveSpeed
queues, it does not refuse), `processing`, then `completed` with `outputs` or `failed` with
`error` (HTTP 200). Unknown or expired predictions are 404. `?webhook=` gets the bare
prediction object when the task ends. `enable_sync_mode` answers the finished prediction at once.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from decimal import Decimal
from typing import Any

from wanplan.emulator import results, times
from wanplan.emulator.backend import Backend
from wanplan.emulator.faults import Fault
from wanplan.emulator.multipart import BadForm, parse_form
from wanplan.emulator.protocol import retry_after_headers
from wanplan.emulator.tasks import Failure, Phase, Task
from wanplan.emulator.wire import Request, Response, json_response
from wanplan.providers.answers import iso_epoch

PREFIX = "/api/v3/"
MODEL_ID = re.compile(r"^(wavespeed-ai|alibaba)/wan-2\.\d+/[a-z0-9][a-z0-9-]*$")
MODELS = (
    "wavespeed-ai/wan-2.1/t2v-480p",
    "wavespeed-ai/wan-2.1/t2v-720p",
    "wavespeed-ai/wan-2.1/i2v-480p",
    "wavespeed-ai/wan-2.1/i2v-720p",
    "wavespeed-ai/wan-2.2/t2v-480p",
    "wavespeed-ai/wan-2.2/t2v-720p",
    "wavespeed-ai/wan-2.2/image-to-video",
    "alibaba/wan-2.5/text-to-video",
    "alibaba/wan-2.5/image-to-video",
    "alibaba/wan-2.5/text-to-video-fast",
    "alibaba/wan-2.5/image-to-video-fast",
    "alibaba/wan-2.5/text-to-image",
    "alibaba/wan-2.5/image-edit",
    "alibaba/wan-2.6/text-to-video",
    "alibaba/wan-2.6/image-to-video",
    "alibaba/wan-2.6/image-to-video-flash",
    "alibaba/wan-2.7/text-to-video",
    "alibaba/wan-2.7/image-to-video",
    "alibaba/wan-2.7/reference-to-video",
    "alibaba/wan-2.7/video-edit",
)
# Simulated USD per second of output by resolution, for the free price quote.
PRICE_PER_SECOND = {"480p": Decimal("0.05"), "720p": Decimal("0.10"), "1080p": Decimal("0.15")}
_STATUS = {
    Phase.QUEUED: "created",
    Phase.RUNNING: "processing",
    Phase.SUCCEEDED: "completed",
    Phase.FAILED: "failed",
    Phase.CANCELED: "cancelled",
}
REQUIRED = {
    "t2v": ("prompt",),
    "t2i": ("prompt",),
    "i2v": ("image",),
    "edit": ("video",),
    "r2v": ("videos",),
}
# What the docs pin down per model (PROVIDERS.md §4b), refused otherwise as WaveSpeed's input
# validation does: Wan 2.5 text-to-video has no square size; Wan 2.7 reference-to-video takes
# `videos` and one optional `image`, a `resolution`, and no `size` or `images`.
_WAN25_SIZES = ("832*480", "480*832", "1280*720", "720*1280", "1920*1080", "1080*1920")
SIZES = {
    "alibaba/wan-2.5/text-to-video": _WAN25_SIZES,
    "alibaba/wan-2.5/text-to-video-fast": _WAN25_SIZES[2:],
}
FIELDS = {
    # [doc: wavespeed.ai/models/alibaba/wan-2.5/image-edit/llms.txt]
    "alibaba/wan-2.5/image-edit": frozenset(
        {
            "prompt",
            "images",
            "size",
            "negative_prompt",
            "seed",
            "enable_prompt_expansion",
            "enable_sync_mode",
        }
    ),
    "alibaba/wan-2.7/reference-to-video": frozenset(
        {
            "prompt",
            "negative_prompt",
            "videos",
            "image",
            "resolution",
            "duration",
            "enable_prompt_expansion",
            "seed",
            "enable_sync_mode",
        }
    ),
}
DEFAULT_ERROR = "The content was flagged by the safety checker; try a different prompt."


def envelope(status: int, data: Any, message: str = "success") -> Response:
    return json_response(status, {"code": status, "message": message, "data": data})


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(status, {"code": status, "message": message, "data": None}, headers)


_COMMON = frozenset(
    {"prompt", "negative_prompt", "seed", "enable_prompt_expansion", "enable_sync_mode"}
)
FIELDS_BY_MODE = {
    # PROVIDERS.md §1: t2v `size`, 2.5/2.6 `audio`; i2v `image`, `resolution` (2.5+), 2.2
    # `size` and `last_image`; t2i `size`; 2.7 video edit `video`, reference `images`.
    "t2v": _COMMON | {"duration", "size", "audio"},
    "i2v": _COMMON | {"duration", "image", "resolution", "size", "last_image", "audio"},
    "t2i": _COMMON | {"size"},
    "edit": _COMMON | {"duration", "video", "images", "resolution"},
}
"""The other models' documented inputs, by the mode their id names."""


def _undocumented(model: str, body: dict[str, Any]) -> str | None:
    """Why the model's documented inputs refuse this body, if they do."""
    allowed = FIELDS.get(model) or FIELDS_BY_MODE.get(mode_of(model))
    if allowed is not None:
        extra = sorted(set(body) - allowed)
        if extra:
            return f"Unsupported parameter(s) for {model}: {', '.join(extra)}"
    sizes = SIZES.get(model)
    if sizes is not None and "size" in body and body["size"] not in sizes:
        return f"size must be one of {', '.join(sizes)}"
    if model == "alibaba/wan-2.5/image-edit":
        images = body.get("images")
        if not isinstance(images, list) or not 1 <= len(images) <= 2:
            return "images must list 1 to 2 image URLs"
    if model == "alibaba/wan-2.7/reference-to-video":
        if not isinstance(body.get("videos"), list) or not all(
            isinstance(v, str) for v in body["videos"]
        ):
            return "videos must be a list of URLs"
        if "image" in body and not isinstance(body["image"], str):
            return "image must be one URL"
    return None


def mode_of(model: str) -> str:
    name = model.rpartition("/")[2]
    if "text-to-image" in name or name.endswith("t2i") or name == "image-edit":
        return "t2i"
    if "image-to-video" in name or "i2v" in name:
        return "i2v"
    if "reference-to-video" in name:
        return "r2v"
    if "video-edit" in name:
        return "edit"
    return "t2v"


class WaveSpeed:
    name = "wavespeed"

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def owns(self, path: str) -> bool:
        return path.startswith(PREFIX)

    def unauthorized(self, request: Request) -> Response:
        return error(401, "Unauthorized: invalid or missing API key")

    def fault(self, request: Request, fault: Fault) -> Response:
        if fault.status == 429:
            message = "Too many requests, please slow down and retry later"
        else:
            message = "Internal server error, please retry later"
        return error(fault.status, message, retry_after_headers(fault))

    def bad_request(self, request: Request, message: str) -> Response:
        return error(400, message)

    def handle(self, request: Request, key_id: str) -> Response:
        route = request.path.removeprefix(PREFIX).rstrip("/")
        if request.method == "GET" and route.startswith("predictions/"):
            task_id = route.removeprefix("predictions/").removesuffix("/result")
            return self._prediction(task_id)
        if request.method == "GET" and route == "balance":
            return envelope(200, {"balance": self.backend.knobs.balance})
        if request.method == "GET" and route == "models":
            return envelope(200, [{"model_id": model, "type": "video"} for model in MODELS])
        if request.method == "POST" and route == "media/uploads":
            return self._upload_ticket(request)
        if request.method == "POST" and route == "media/upload/binary":
            return self._upload_binary(request)
        if request.method == "POST" and route == "model/price":
            return self._price(request)
        if request.method == "POST" and route == "predictions":
            return self._history(request, key_id)
        if request.method == "POST" and "/" in route:
            return self._submit(request, route, key_id)
        return error(404, f"Not found: {request.method} {request.path}")

    def _submit(self, request: Request, model: str, key_id: str) -> Response:
        if not MODEL_ID.match(model):
            return error(404, f"Model not found: {model}")
        body = request.json_object()
        mode = mode_of(model)
        for field in REQUIRED.get(mode, ()):
            if not body.get(field):
                return error(400, f"{field} is required")
        problem = _undocumented(model, body)
        if problem:
            return error(400, problem)
        listed = body.get("images")
        last = listed[-1] if isinstance(listed, list) and listed else None
        image = self.backend.input_bytes(body.get("image") or last)  # an edit keeps its frame
        aspect = (
            results.ratio_of_size(body.get("size"))
            or body.get("aspect_ratio")
            or results.ratio_of_image(image)
        )
        seed = results.request_seed(self.name, model, body, request.origin)
        kind = "image" if mode == "t2i" else "video"
        sync = body.get("enable_sync_mode") is True
        task = self.backend.create_task(
            task_id=uuid.uuid4().hex,
            provider=self.name,
            model=model,
            key_id=key_id,
            media=results.media_spec(kind, body.get("duration"), aspect, seed),
            origin=request.origin,
            prompt=body.get("prompt"),
            details={"callback_url": request.query.get("webhook")},
            latency=0.0 if sync else None,
        )
        return envelope(200, self.prediction(task))

    def _prediction(self, task_id: str) -> Response:
        task = self.backend.find(task_id, self.name)
        if task is None:
            return error(404, f"Prediction not found: {task_id}")
        return envelope(200, self.prediction(task))

    def prediction(self, task: Task) -> dict[str, Any]:
        phase = self.backend.phase(task)
        done = phase is Phase.SUCCEEDED
        return {
            "id": task.id,
            "model": task.model,
            "status": _STATUS[phase],
            "outputs": [self.backend.result_url(task)] if done else [],
            "urls": {"get": f"{task.origin}{PREFIX}predictions/{task.id}/result"},
            "has_nsfw_contents": [False] if done else [],
            "created_at": times.iso_z(task.created_at),
            "error": _error_text(task.failure) if phase is Phase.FAILED else "",
            "timings": {"inference": round(task.latency * 1000) if done else 0},
        }

    def notification(self, task: Task) -> tuple[str, Any] | None:
        url = task.details.get("callback_url")
        return (url, self.prediction(task)) if url else None

    def _upload_ticket(self, request: Request) -> Response:
        body = request.json_object()
        filename = body.get("filename")
        if not isinstance(filename, str) or not filename:
            return error(400, "filename is required")
        content_type = str(body.get("content_type") or "application/octet-stream")
        path, token = self.backend.uploads.ticket(filename, content_type)
        return envelope(
            200,
            {
                "upload": {
                    "method": "PUT",
                    "url": f"{request.origin}{path}?token={token}",
                    "headers": {"Content-Type": content_type},
                },
                "download_url": f"{request.origin}{path}",
                "filename": filename,
                "size": body.get("size"),
                "content_type": content_type,
            },
        )

    def _upload_binary(self, request: Request) -> Response:
        try:
            part = parse_form(request.header("content-type"), request.body).get("file")
        except BadForm as exc:
            return error(400, str(exc))
        if part is None or part.filename is None:
            return error(400, "file is required")
        content_type = part.content_type or "application/octet-stream"
        path = self.backend.uploads.add(part.filename, content_type, part.data)
        return envelope(
            200,
            {
                "type": content_type.partition("/")[0],
                "download_url": f"{request.origin}{path}",
                "filename": part.filename,
                "size": len(part.data),
            },
        )

    def _price(self, request: Request) -> Response:
        failing = self.backend.knobs.price_quote_status
        if failing != 200:
            return error(failing, "Price quote unavailable, please retry later")
        body = request.json_object()
        model = body.get("model_id")
        if not isinstance(model, str) or not MODEL_ID.match(model):
            return error(404, f"Model not found: {model}")
        inputs = body.get("inputs")
        if not isinstance(inputs, dict):
            inputs = {}
        resolution = _resolution(inputs, model)
        seconds = results.seconds(inputs.get("duration"))
        price = PRICE_PER_SECOND.get(resolution, PRICE_PER_SECOND["720p"]) * seconds
        data: dict[str, Any] = {
            "model_id": model,
            "price": float(price),
            "currency": "USD",
            "unit": "per_request",
        }
        discount = self.backend.knobs.price_discount_rate
        if discount is not None:
            data["discounted_price"] = float(price * (1 - discount))
            data["discount_rate"] = float(discount)
        answer = envelope(200, data)
        return dataclasses.replace(answer, delay=self.backend.knobs.price_quote_delay)

    def _history(self, request: Request, key_id: str) -> Response:
        """The prediction history (PROVIDERS.md §4c): the account's predictions, newest first,
        filtered by model, status and creation time; `page` and `page_size` (1–100) required.
        Items carry no inputs."""
        body = request.json_object()
        page, size = body.get("page"), body.get("page_size")
        if not isinstance(page, int) or not isinstance(size, int):
            return error(400, "page (>= 1) and page_size (1-100) are required")
        if not _whole(page, 1) or not _whole(size, 1, 100):
            return error(400, "page (>= 1) and page_size (1-100) are required")
        after = iso_epoch(body.get("created_after"))
        before = iso_epoch(body.get("created_before"))
        if (body.get("created_after") and after is None) or (
            body.get("created_before") and before is None
        ):
            return error(400, "created_after and created_before must be ISO 8601 times")
        model = body.get("model") if isinstance(body.get("model"), str) else None
        status = body.get("status")
        items = [
            self.history_item(task)
            for task in self.backend.listed(self.name, key_id, model)
            if (after is None or task.created_at >= after)
            and (before is None or task.created_at <= before)
        ]
        if isinstance(status, str) and status:
            items = [item for item in items if item["status"] == status]
        start = (page - 1) * size
        return envelope(
            200, {"page": page, "total": len(items), "items": items[start : start + size]}
        )

    def history_item(self, task: Task) -> dict[str, Any]:
        item = self.prediction(task)
        item["created_at"] = times.iso_nanos(task.created_at)
        item["executionTime"] = item["timings"]["inference"]
        return item


def _whole(value: Any, low: int, high: int | None = None) -> bool:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value >= low
        and (high is None or value <= high)
    )


def _resolution(inputs: dict[str, Any], model: str) -> str:
    if isinstance(inputs.get("resolution"), str):
        return str(inputs["resolution"]).lower()
    sides = [int(side) for side in str(inputs.get("size", "")).split("*") if side.isdigit()]
    if len(sides) == 2:
        short = min(sides)
        return "1080p" if short >= 1080 else "720p" if short >= 720 else "480p"
    for resolution in PRICE_PER_SECOND:
        if model.endswith(resolution):
            return resolution
    return "720p"


def _error_text(failure: Failure | None) -> str:
    if failure is None or failure.code is None:
        return (failure.message if failure else None) or DEFAULT_ERROR
    return f"{failure.code}: {failure.message or 'generation failed'}"
