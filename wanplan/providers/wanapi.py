"""wanapi.io (PROVIDERS.md §4), an OpenAI-shaped proxy: POST /video/generations, poll
/video/generations/{id}."""

from __future__ import annotations

from typing import Any, ClassVar

from wanplan.providers import answers, wire
from wanplan.providers.base import (
    GenerationRequest,
    SubmittedTask,
    TaskState,
    TaskStatus,
)
from wanplan.providers.http import HttpProvider


class WanapiProvider(HttpProvider):
    name: ClassVar[str] = "wanapi"
    key_env: ClassVar[str | None] = "WANAPI_API_KEY"
    DEFAULT_BASE_URL: ClassVar[str] = "https://api.wanapi.io/v1"

    def poll_delay(self, attempt: int) -> float:
        return 5.0

    def _message(self, body: dict[str, Any]) -> str:
        error = body.get("error")
        if not isinstance(error, dict):
            return ""
        return " ".join(str(error[k]) for k in ("code", "message") if error.get(k))

    def body(self, request: GenerationRequest) -> dict[str, Any]:
        """model, prompt, image, duration, aspect_ratio (PROVIDERS.md §4)."""
        params = request.params
        body: dict[str, Any] = {"model": request.model_id, "prompt": params.get("prompt", "")}
        image = request.input("image")
        if image is not None:
            # No upload flow: a local file travels as a data: URL.
            body["image"] = wire.data_url(image) if image.path is not None else image.source
        if params.get("duration") is not None:
            body["duration"] = params["duration"]
        if params.get("aspect_ratio"):
            body["aspect_ratio"] = params["aspect_ratio"]
        body.update(params.get("params") or {})  # no seed: none is documented (§4)
        return body

    async def submit(self, request: GenerationRequest) -> SubmittedTask:
        with self._sending_inputs():
            body = self.body(request)
        response = await self._call("POST", f"{self.api}/video/generations", "submit", json=body)
        return SubmittedTask(self._answer(response, "submit").task_id("id"))

    async def poll(self, task_id: str, model_id: str) -> TaskStatus:
        response = await self._call("GET", f"{self.api}/video/generations/{task_id}", "poll")
        if response.status_code == 404:
            return TaskStatus(TaskState.GONE, error="generation not found (expired)")
        body = self._answer(response, "poll")
        status = body.text("status")
        if status == "succeeded":
            return TaskStatus(
                TaskState.SUCCEEDED, result_urls=self._result_urls((body.text("video_url"),))
            )
        if status == "failed":
            error = body.get("error")
            reason = (
                " ".join(str(error.get(k)) for k in ("code", "message") if error.get(k))
                if isinstance(error, dict)
                else str(error or "")
            )
            return TaskStatus(TaskState.FAILED, error=answers.clip(reason) or "failed")
        if status in ("queued", "processing", "running", "pending"):
            return TaskStatus(TaskState.RUNNING)
        raise body.unknown_status("status", status)
