"""WaveSpeed v3 (PROVIDERS.md §1): a flat body posted to /api/v3/{model_id}, polled at
/api/v3/predictions/{id}/result; local files go through the media upload ticket.

Spend: beside each submit, the same body goes to the free price quote (`POST
/api/v3/model/price`), and the ledger records that quote as what the task cost ("quote"). It is
one extra request per task, sent at the same time as the submit so that it does not delay it,
and waited for at most QUOTE_GRACE_SECONDS after the submit answers. A quote that fails, is
slow or reads oddly is dropped: the generation goes on and the ledger keeps the estimate. The
quote is for the ledger only; `plan` never sends a request to a provider (PRODUCT §5).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import httpx

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

_RUNNING = {"created", "processing", "queued", "pending"}
_FAILED = {"failed", "cancelled", "timeout", "deleted"}
# Wan 2.1 and 2.2 take the frame as "W*H"; from 2.5 on, image-to-video takes a resolution.
_SIZED_IMAGE_TO_VIDEO = ("wavespeed-ai/wan-2.2/image-to-video",)
QUOTE_GRACE_SECONDS = 1.0


class WaveSpeedProvider(HttpProvider):
    name: ClassVar[str] = "wavespeed"
    key_env: ClassVar[str | None] = "WAVESPEED_API_KEY"
    DEFAULT_BASE_URL: ClassVar[str] = "https://api.wavespeed.ai"
    API_PATH: ClassVar[str] = "/api/v3"

    def poll_delay(self, attempt: int) -> float:
        # The docs ask for at least 5 s between polls of a video task.
        return 5.0

    async def upload(self, item: RequestInput) -> str:
        """The media upload ticket: announce the file, PUT its bytes, use its download URL."""
        assert item.path is not None
        ticket = await self.client.post(
            f"{self.api}/media/uploads",
            headers=self._headers(),
            json={
                "filename": item.path.name,
                "size": item.path.stat().st_size,
                "content_type": wire.media_type(item.path),
            },
        )
        data = self._check(ticket, f"upload of {item.source}").get("data") or {}
        upload = data.get("upload") or {}
        if str(upload.get("method", "")).upper() != "PUT" or not upload.get("url"):
            raise ProviderError(self.name, f"upload of {item.source}: no upload instruction")
        put = self.client.build_request(
            "PUT",
            upload["url"],
            content=item.path.read_bytes(),
            headers=upload.get("headers") or {},
        )
        answer = await self.client.send(put)
        if not 200 <= answer.status_code < 300:
            raise ProviderError(
                self.name, f"upload of {item.source}: HTTP {answer.status_code}", retryable=True
            )
        url = data.get("download_url")
        if not isinstance(url, str) or not url:
            raise ProviderError(self.name, f"upload of {item.source}: no download_url")
        return url

    async def _url(self, item: RequestInput | None) -> str | None:
        if item is None:
            return None
        return await self.upload(item) if item.path is not None else item.source

    async def body(self, request: GenerationRequest) -> dict[str, Any]:
        """The model's inputs, flat, as WaveSpeed takes them."""
        params = request.params
        body: dict[str, Any] = {"prompt": params.get("prompt", "")}
        if "negative_prompt" in params:
            body["negative_prompt"] = params["negative_prompt"]
        resolution = str(params["resolution"])
        if request.mode == "t2v":
            body["size"] = wire.size(resolution, params.get("aspect_ratio"))
        else:
            first = request.input("image") or request.input("first_frame")
            body["image"] = await self._url(first)
            if request.model_id in _SIZED_IMAGE_TO_VIDEO:
                body["size"] = wire.size(resolution, "16:9")
            elif not request.model_id.startswith("wavespeed-ai/wan-2.1/"):
                body["resolution"] = resolution
            last = await self._url(request.input("last_frame"))
            if last:
                body["last_image"] = last
        audio = await self._url(request.input("audio"))
        if audio:
            body["audio"] = audio
        if params.get("duration") is not None:
            body["duration"] = params["duration"]
        if params.get("prompt_expansion") is not None:
            body["enable_prompt_expansion"] = params["prompt_expansion"]
        body["seed"] = params["seed"] if params.get("seed") is not None else -1
        body.update(params.get("params") or {})
        return body

    async def submit(self, request: GenerationRequest) -> SubmittedTask:
        body = await self.body(request)
        quote = asyncio.ensure_future(self.quote(request.model_id, body))
        try:
            response = await self.client.post(
                f"{self.api}/{request.model_id}", headers=self._headers(), json=body
            )
            data = self._check(response, "submit").get("data") or {}
            task_id = data.get("id")
            if not isinstance(task_id, str) or not task_id:
                raise ProviderError(self.name, "submit answered without a task id")
        except BaseException:
            quote.cancel()
            raise
        quoted: Decimal | None = None
        with contextlib.suppress(TimeoutError):
            quoted = await asyncio.wait_for(quote, QUOTE_GRACE_SECONDS)
        return SubmittedTask(task_id, quoted_cost=quoted)

    async def quote(self, model_id: str, body: dict[str, Any]) -> Decimal | None:
        """The free price quote for this request in USD, or None when there is none to trust."""
        try:
            response = await self.client.post(
                f"{self.api}/model/price",
                headers=self._headers(),
                json={"model_id": model_id, "inputs": body},
            )
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        try:
            answer = json.loads(response.content, parse_float=Decimal)
        except ValueError:
            return None
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict) or data.get("currency", "USD") != "USD":
            return None
        price = data.get("price")
        if isinstance(price, bool) or not isinstance(price, int | Decimal | str):
            return None
        try:
            amount = Decimal(price)
        except InvalidOperation:
            return None
        return amount if amount.is_finite() and amount >= 0 else None

    async def poll(self, task_id: str, model_id: str) -> TaskStatus:
        response = await self.client.get(
            f"{self.api}/predictions/{task_id}/result", headers=self._headers()
        )
        if response.status_code == 404:
            return TaskStatus(TaskState.GONE, error="task not found (expired)")
        data = self._check(response, "poll").get("data") or {}
        status = str(data.get("status", ""))
        if status == "completed":
            outputs = data.get("outputs") or []
            timings = data.get("timings") if isinstance(data.get("timings"), dict) else {}
            inference = timings.get("inference") if timings else None
            return TaskStatus(
                TaskState.SUCCEEDED,
                result_urls=tuple(u for u in outputs if isinstance(u, str)),
                duration=inference / 1000 if isinstance(inference, int | float) else None,
            )
        if status in _FAILED:
            return TaskStatus(TaskState.FAILED, error=str(data.get("error") or status))
        if status in _RUNNING:
            return TaskStatus(TaskState.RUNNING)
        raise ProviderError(self.name, f"poll answered an unknown status {status!r}")
