"""APIXO aggregator (PROVIDERS.md §3), async mode: POST /generateTask/{model}, poll
/statusTask/{model}?taskId=, the result URLs inside the `resultJson` string."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from wanplan.errors import ProviderError
from wanplan.providers import wire
from wanplan.providers.base import (
    GenerationRequest,
    RequestInput,
    SubmittedTask,
    TaskState,
    TaskStatus,
)
from wanplan.providers.http import HttpProvider

_MODES = {"t2v": "text-to-video", "i2v": "image-to-video"}
# A video takes 50–90 s: wait 50 s before the first poll, then every 5 s.
_FIRST_POLL = 50.0
_THEN = 5.0


class ApixoProvider(HttpProvider):
    name: ClassVar[str] = "apixo"
    key_env: ClassVar[str | None] = "APIXO_API_KEY"
    DEFAULT_BASE_URL: ClassVar[str] = "https://api.apixo.ai/api/v1"

    def poll_delay(self, attempt: int) -> float:
        return _FIRST_POLL if attempt == 0 else _THEN

    @staticmethod
    def _url(item: RequestInput) -> str:
        # APIXO has no upload flow: a local file travels as a data: URL (≤ 10 MB, checked
        # at validation).
        return wire.data_url(item.path) if item.path is not None else item.source

    def body(self, request: GenerationRequest) -> dict[str, Any]:
        params = request.params
        data: dict[str, Any] = {"mode": _MODES[request.mode], "prompt": params.get("prompt", "")}
        image = request.input("image")
        if image is not None:
            data["image_urls"] = [self._url(image)]
        data["resolution"] = params["resolution"]
        if params.get("duration") is not None:
            data["duration"] = params["duration"]
        if request.mode == "t2v" and params.get("aspect_ratio"):
            data["aspect_ratio"] = params["aspect_ratio"]
        if params.get("negative_prompt"):
            data["negative_prompt"] = params["negative_prompt"]
        if params.get("prompt_expansion") is not None:
            data["enable_prompt_expansion"] = params["prompt_expansion"]
        if params.get("seed") is not None:
            data["seed"] = params["seed"]
        data.update(params.get("params") or {})
        return {"request_type": "async", "input": data}

    async def submit(self, request: GenerationRequest) -> SubmittedTask:
        response = await self.client.post(
            f"{self.api}/generateTask/{request.model_id}",
            headers=wire.bearer(self.context.api_key),
            json=self.body(request),
        )
        data = self._check(response, "submit").get("data") or {}
        task_id = data.get("taskId")
        if not isinstance(task_id, str) or not task_id:
            raise ProviderError(self.name, "submit answered without data.taskId")
        return SubmittedTask(task_id)

    async def poll(self, task_id: str, model_id: str) -> TaskStatus:
        response = await self.client.get(
            f"{self.api}/statusTask/{model_id}",
            params={"taskId": task_id},
            headers=wire.bearer(self.context.api_key),
        )
        if response.status_code == 404:
            return TaskStatus(TaskState.GONE, error="task not found (expired)")
        data = self._check(response, "poll").get("data") or {}
        state = str(data.get("state", ""))
        if state == "success":
            try:
                result = json.loads(data.get("resultJson") or "{}")
            except (TypeError, ValueError):
                raise ProviderError(self.name, "poll answered an unreadable resultJson") from None
            urls = result.get("resultUrls") if isinstance(result, dict) else None
            return TaskStatus(
                TaskState.SUCCEEDED,
                result_urls=tuple(u for u in urls or [] if isinstance(u, str)),
                duration=_seconds_between(data.get("createTime"), data.get("completeTime")),
            )
        if state == "failed":
            reason = " ".join(str(data[k]) for k in ("failCode", "failMsg") if data.get(k))
            return TaskStatus(TaskState.FAILED, error=reason or "failed")
        if state in ("pending", "processing"):
            return TaskStatus(TaskState.RUNNING)
        raise ProviderError(self.name, f"poll answered an unknown state {state!r}")


def _seconds_between(start_ms: object, end_ms: object) -> float | None:
    if isinstance(start_ms, int | float) and isinstance(end_ms, int | float) and end_ms > start_ms:
        return (end_ms - start_ms) / 1000
    return None
