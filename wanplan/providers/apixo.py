"""APIXO aggregator (PROVIDERS.md §3), async mode: POST /generateTask/{model}, poll
/statusTask/{model}?taskId=, the result URLs inside the `resultJson` string."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, ClassVar

from wanplan.providers import answers, wire
from wanplan.providers.base import (
    GenerationRequest,
    RequestInput,
    SubmittedTask,
    TaskState,
    TaskStatus,
)
from wanplan.providers.http import HttpProvider

_MODES = {
    "t2v": "text-to-video",
    "i2v": "image-to-video",
    "r2v": "reference-to-video",
    "edit": "video-edit",
}
_LEGACY = "wan-2-5"
"""wan-2-5's body (PROVIDERS.md §3): `enable_prompt_expansion`, one image in `image_urls`.
wan-2-6-video and wan-2-7-video (§4b): `prompt_extend`, media in `image_urls`, `video_urls`
and `audio_urls`."""
VARIANT = "/"
"""A catalog model id `wan-2-6-video/flash` is APIXO's model `wan-2-6-video` with its mode's
`-flash` variant (`image-to-video-flash`, PROVIDERS.md §4b): one model id on the wire, two in
the catalog, so the variant is in the content key and the prices are apart."""
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
        return wire.data_url(item) if item.path is not None else item.source

    def body(self, request: GenerationRequest) -> dict[str, Any]:
        """`input`: mode, prompt, image_urls, resolution, duration, aspect_ratio (t2v),
        negative_prompt, seed and the rewrite switch (PROVIDERS.md §3); video_urls, audio_urls
        and prompt_extend for wan-2-6-video and wan-2-7-video (§4b)."""
        params = request.params
        variant = request.model_id.partition(VARIANT)[2]
        mode = f"{_MODES[request.mode]}-{variant}" if variant else _MODES[request.mode]
        data: dict[str, Any] = {"mode": mode, "prompt": params.get("prompt", "")}
        images = [i for i in (request.input("image"),) if i is not None]
        videos = [i for i in (request.input("video"),) if i is not None]
        for kind, items in wire.references(request).items():
            (videos if kind == "video" else images).extend(items)
        if images:
            data["image_urls"] = [self._url(item) for item in images]
        if videos:
            data["video_urls"] = [self._url(item) for item in videos]
        audio = request.input("audio")
        if audio is not None:
            data["audio_urls"] = [self._url(audio)]
        data["resolution"] = params["resolution"]
        if params.get("duration") is not None:
            data["duration"] = params["duration"]
        if request.mode in ("t2v", "r2v") and params.get("aspect_ratio"):
            data["aspect_ratio"] = params["aspect_ratio"]
        if params.get("negative_prompt"):
            data["negative_prompt"] = params["negative_prompt"]
        if params.get("prompt_expansion") is not None:
            rewrite = "enable_prompt_expansion" if request.model_id == _LEGACY else "prompt_extend"
            data[rewrite] = params["prompt_expansion"]
        if params.get("seed") is not None:
            data["seed"] = params["seed"]
        data.update(params.get("params") or {})
        return {"request_type": "async", "input": data}

    def _message(self, body: dict[str, Any]) -> str:
        """A 400's detail is in `data.error` (PROVIDERS.md §4b), beside its message."""
        detail = body.get("data")
        error = detail.get("error") if isinstance(detail, dict) else None
        return ": ".join(str(part) for part in (body.get("message"), error) if part)

    async def submit(self, request: GenerationRequest) -> SubmittedTask:
        with self._sending_inputs():
            body = self.body(request)
        response = await self._call(
            "POST", f"{self.api}/generateTask/{_model(request.model_id)}", "submit", json=body
        )
        return SubmittedTask(self._answer(response, "submit").object("data").task_id("taskId"))

    async def balance(self) -> Decimal | None:
        """`GET /apikeys/current-balance` → `{"code": 200, "data": 74.87}` in USD (§4d)."""
        response = await self._call("GET", f"{self.api}/apikeys/current-balance", "balance")
        return answers.usd(self._check(response, "balance").get("data"))

    async def poll(self, task_id: str, model_id: str) -> TaskStatus:
        response = await self._call(
            "GET", f"{self.api}/statusTask/{_model(model_id)}", "poll", params={"taskId": task_id}
        )
        if response.status_code == 404:
            return TaskStatus(TaskState.GONE, error="task not found (expired)")
        data = self._answer(response, "poll").object("data")
        state = data.text("state")
        if state == "success":
            return TaskStatus(
                TaskState.SUCCEEDED,
                result_urls=self._result_urls(self._result(data)),
                duration=_seconds_between(data.get("createTime"), data.get("completeTime")),
            )
        if state == "failed":
            reason = " ".join(str(data.get(k)) for k in ("failCode", "failMsg") if data.get(k))
            return TaskStatus(TaskState.FAILED, error=answers.clip(reason) or "failed")
        if state in ("pending", "processing"):
            return TaskStatus(TaskState.RUNNING)
        raise data.unknown_status("state", state)

    def _result(self, data: answers.Answer) -> tuple[str, ...]:
        """`data.resultJson`: a JSON string holding `{"resultUrls": [...]}`."""
        encoded = data.optional_text("resultJson") or "{}"
        try:
            result = json.loads(encoded)
        except (ValueError, RecursionError):
            raise data.error("answered a data.resultJson that is not JSON") from None
        if not isinstance(result, dict):
            raise data.error(f"answered data.resultJson as {answers.describe(result)}")
        return answers.Answer(self.name, data.what, result, "data.resultJson.").texts("resultUrls")


def _model(model_id: str) -> str:
    """APIXO's own model, without the catalog's variant."""
    return model_id.partition(VARIANT)[0]


def _seconds_between(start_ms: object, end_ms: object) -> float | None:
    if isinstance(start_ms, int | float) and isinstance(end_ms, int | float):
        return answers.seconds(end_ms - start_ms, per_second=1000)
    return None
