"""wanapi.io (PROVIDERS.md §4), an OpenAI-shaped proxy: POST /video/generations, poll
/video/generations/{id}."""

from __future__ import annotations

from typing import Any, ClassVar

from wanplan.errors import ProviderError
from wanplan.providers import wire
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
        params = request.params
        body: dict[str, Any] = {"model": request.model_id, "prompt": params.get("prompt", "")}
        image = request.input("image")
        if image is not None:
            # No upload flow: a local file travels as a data: URL.
            body["image"] = wire.data_url(image.path) if image.path is not None else image.source
        if params.get("duration") is not None:
            body["duration"] = params["duration"]
        if params.get("aspect_ratio"):
            body["aspect_ratio"] = params["aspect_ratio"]
        if params.get("seed") is not None:
            body["seed"] = params["seed"]
        body.update(params.get("params") or {})
        return body

    async def submit(self, request: GenerationRequest) -> SubmittedTask:
        response = await self.client.post(
            f"{self.api}/video/generations",
            headers=wire.bearer(self.context.api_key),
            json=self.body(request),
        )
        task_id = self._check(response, "submit").get("id")
        if not isinstance(task_id, str) or not task_id:
            raise ProviderError(self.name, "submit answered without an id")
        return SubmittedTask(task_id)

    async def poll(self, task_id: str, model_id: str) -> TaskStatus:
        response = await self.client.get(
            f"{self.api}/video/generations/{task_id}", headers=wire.bearer(self.context.api_key)
        )
        if response.status_code == 404:
            return TaskStatus(TaskState.GONE, error="generation not found (expired)")
        body = self._check(response, "poll")
        status = str(body.get("status", ""))
        if status == "succeeded":
            url = body.get("video_url")
            return TaskStatus(
                TaskState.SUCCEEDED, result_urls=(url,) if isinstance(url, str) and url else ()
            )
        if status == "failed":
            error = body.get("error")
            reason = (
                " ".join(str(error[k]) for k in ("code", "message") if error.get(k))
                if isinstance(error, dict)
                else error
            )
            return TaskStatus(TaskState.FAILED, error=str(reason or "failed"))
        if status in ("queued", "processing", "running", "pending"):
            return TaskStatus(TaskState.RUNNING)
        raise ProviderError(self.name, f"poll answered an unknown status {status!r}")
