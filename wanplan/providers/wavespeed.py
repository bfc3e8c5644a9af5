"""WaveSpeed v3 (PROVIDERS.md §1): a flat body posted to /api/v3/{model_id}, polled at
/api/v3/predictions/{id}/result; local files go through the media upload ticket.

Spend: after each submit, and only once its task id is committed, the same body goes to the
free price quote (`POST /api/v3/model/price`); the ledger records that quote as what the task
cost ("quote"), its discounted price where one is given. A quote that fails, is slow or reads
oddly is dropped: the generation goes on and the ledger keeps the estimate. The quote is for
the ledger only; `plan` never sends a request to a provider (PRODUCT §5).

A submit whose outcome is unknown is looked for in the prediction history (`POST
/api/v3/predictions`, PROVIDERS.md §4c): its items carry the model and the creation time, no
inputs.
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any, ClassVar

import httpx

from wanplan.errors import ProviderError
from wanplan.money import format_usd
from wanplan.providers import answers, wire
from wanplan.providers.base import (
    GenerationRequest,
    ListedTask,
    RequestInput,
    SubmittedTask,
    TaskListing,
    TaskState,
    TaskStatus,
)
from wanplan.providers.http import HttpProvider, ListingPage

_RUNNING = {"created", "processing", "queued", "pending"}
_FAILED = {"failed", "cancelled", "timeout", "deleted"}
# Wan 2.1 and 2.2 take the frame as "W*H"; from 2.5 on, image-to-video takes a resolution.
_SIZED_IMAGE_TO_VIDEO = ("wavespeed-ai/wan-2.2/image-to-video",)
PAGE_SIZE = 100


class WaveSpeedProvider(HttpProvider):
    name: ClassVar[str] = "wavespeed"
    key_env: ClassVar[str | None] = "WAVESPEED_API_KEY"
    DEFAULT_BASE_URL: ClassVar[str] = "https://api.wavespeed.ai"
    API_PATH: ClassVar[str] = "/api/v3"
    DEFAULT_LISTING_LAG: ClassVar[float] = 15.0
    LISTING_RETENTION: ClassVar[float] = 7 * 86400.0
    """Predictions are kept 7 days (PROVIDERS.md §4b)."""

    def poll_delay(self, attempt: int) -> float:
        # The docs ask for at least 5 s between polls of a video task.
        return 5.0

    async def upload(self, item: RequestInput) -> str:
        """The media upload ticket: announce the file, PUT its bytes, use its download URL."""
        assert item.path is not None
        what = f"upload of {item.source}"
        ticket = await self._call(
            "POST",
            f"{self.api}/media/uploads",
            what,
            json={
                "filename": item.name,
                "size": item.path.stat().st_size,
                "content_type": wire.media_type(item.name),
            },
        )
        data = self._answer(ticket, what).object("data")
        upload = data.object("upload")
        target = upload.optional_text("url")
        if str(upload.get("method") or "").upper() != "PUT" or target is None:
            raise ProviderError(self.name, f"{what}: no upload instruction")
        headers = upload.get("headers")
        put = self.client.build_request(
            "PUT",
            target,
            content=item.path.read_bytes(),
            headers={str(k): str(v) for k, v in headers.items()}
            if isinstance(headers, dict)
            else {},
        )
        await self._upload_to(put, what)
        return data.text("download_url")

    async def _send_input(self, item: RequestInput, model_id: str) -> str | None:
        return await self.upload(item)

    async def _url(self, item: RequestInput | None) -> str | None:
        if item is None:
            return None
        if item.sent_as is not None:
            return item.sent_as
        return await self.upload(item) if item.path is not None else item.source

    async def body(self, request: GenerationRequest) -> dict[str, Any]:
        """The model's inputs, flat, as WaveSpeed takes them."""
        params = request.params
        # prompt, negative_prompt, seed (-1 random), duration, enable_prompt_expansion, audio,
        # size or resolution per model: PROVIDERS.md §1 and §4b, unless a line says otherwise.
        body: dict[str, Any] = {"prompt": params.get("prompt", "")}
        if "negative_prompt" in params:
            body["negative_prompt"] = params["negative_prompt"]
        resolution = str(params["resolution"])
        if request.mode in ("t2v", "t2i"):
            # An image edit keeps its last image's frame without a size [doc: wan-2.5/image-edit
            # llms.txt]: no size where images are edited.
            if not wire.listed(request, "references"):
                body["size"] = wire.size(resolution, params.get("aspect_ratio"))
        elif request.mode == "r2v":
            # `videos` (required), one optional `image`, a resolution; no size [doc, §4b].
            found = wire.references(request)
            if len(found.get("image", [])) > 1:  # validation refuses it: never drop one
                raise ProviderError(self.name, "reference-to-video takes one image reference")
            body["videos"] = [await self._url(item) for item in found.get("video", [])]
            if found.get("image"):
                body["image"] = await self._url(found["image"][0])
            body["resolution"] = resolution
        elif request.mode == "edit":  # video, resolution, reference images (§1, unverified)
            body["video"] = await self._url(request.input("video"))
            body["resolution"] = resolution
        else:
            first = request.input("image") or request.input("first_frame")
            body["image"] = await self._url(first)
            # 2.2 i2v: size and last_image; 2.5+: resolution; 2.1: neither (§1).
            if request.model_id in _SIZED_IMAGE_TO_VIDEO:
                body["size"] = wire.size(resolution, "16:9")
            elif not request.model_id.startswith("wavespeed-ai/wan-2.1/"):
                body["resolution"] = resolution
            last = await self._url(request.input("last_frame"))
            if last:
                body["last_image"] = last
        if request.mode != "r2v":  # elsewhere references travel as `images` and `videos`
            for kind, items in wire.references(request).items():
                body[f"{kind}s"] = [await self._url(item) for item in items]
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
        with self._sending_inputs():
            body = await self.body(request)
        response = await self._call("POST", f"{self.api}/{request.model_id}", "submit", json=body)
        task_id = self._answer(response, "submit").object("data").task_id("id")
        return SubmittedTask(task_id, quote=lambda: self.quote(request.model_id, body))

    async def quote(self, model_id: str, body: dict[str, Any]) -> Decimal | None:
        """The free price quote for this request in USD, or None when there is none to trust
        (for the ledger: a quote that fails is no reason to stop)."""
        try:
            return await self.price_quote(model_id, body)
        except (httpx.HTTPError, ProviderError):
            return None

    async def quote_request(self, request: GenerationRequest) -> Decimal:
        with self._sending_inputs():
            body = await self.body(request)
        return await self.price_quote(request.model_id, body)

    async def price_quote(self, model_id: str, body: dict[str, Any]) -> Decimal:
        """`POST /model/price {model_id, inputs}` → `data{price, discounted_price, currency}`
        (PROVIDERS.md §4b): the discounted price where one is given is what is debited."""
        what = "price quote"
        response = await self._call(
            "POST", f"{self.api}/model/price", what, json={"model_id": model_id, "inputs": body}
        )
        if response.status_code != 200:
            self._check(response, what)
            raise ProviderError(self.name, f"{what}: HTTP {response.status_code}")
        try:
            answer = json.loads(response.content, parse_float=Decimal)
        except (ValueError, RecursionError):
            raise ProviderError(self.name, f"{what}: the answer is not JSON") from None
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, dict) or data.get("currency", "USD") != "USD":
            raise ProviderError(self.name, f"{what}: no price in USD in the answer")
        price = answers.usd(data.get("discounted_price"))
        if price is None:
            price = answers.usd(data.get("price"))
        if price is None:
            raise ProviderError(self.name, f"{what}: no price in the answer")
        if price <= 0:  # a quote of nothing is no price: unknown, never $0 spent
            raise ProviderError(self.name, f"{what}: it answered {format_usd(price)}; not trusted")
        return price

    async def balance(self) -> Decimal | None:
        """`GET /balance` → `data.balance` in USD; another page documents `/account/balance`
        with `data{balance, currency}`: both are read (PROVIDERS.md §4d)."""
        for path in ("balance", "account/balance"):
            response = await self._call("GET", f"{self.api}/{path}", "balance")
            if response.status_code == 404:
                continue
            data = self._check(response, "balance").get("data")
            if not isinstance(data, dict) or data.get("currency", "USD") != "USD":
                return None
            return answers.usd(data.get("balance"))
        return None

    async def poll(self, task_id: str, model_id: str) -> TaskStatus:
        response = await self._call("GET", f"{self.api}/predictions/{task_id}/result", "poll")
        if response.status_code == 404:
            return TaskStatus(TaskState.GONE, error="task not found (expired)")
        data = self._answer(response, "poll").object("data")
        status = data.text("status")
        if status == "completed":
            timings = data.get("timings")
            inference = timings.get("inference") if isinstance(timings, dict) else None
            return TaskStatus(
                TaskState.SUCCEEDED,
                result_urls=self._result_urls(data.texts("outputs")),
                duration=answers.seconds(inference, per_second=1000),
            )
        if status in _FAILED:
            error = data.get("error")
            reason = answers.clip(error) if isinstance(error, str) and error else status
            return TaskStatus(TaskState.FAILED, error=reason)
        if status in _RUNNING:
            return TaskStatus(TaskState.RUNNING)
        raise data.unknown_status("status", status)

    async def list_tasks(self, model_id: str, after: float, before: float) -> TaskListing:
        """The prediction history of this model between two times, every page of it."""

        async def page(number: int) -> ListingPage:
            response = await self._call(
                "POST",
                f"{self.api}/predictions",
                "prediction history",
                json={
                    "page": number,
                    "page_size": PAGE_SIZE,
                    "model": model_id,
                    "created_after": _iso(after),
                    "created_before": _iso(before),
                },
            )
            data = self._answer(response, "prediction history").object("data")
            items = data.get("items")
            if items is None:  # an empty history, as some backends write it
                items = []
            if not isinstance(items, list):
                raise data.error("answered data.items that is not a list")
            return ListingPage(items, total=answers.whole_number(data.get("total")))

        return await self._read_listing(page, lambda item: _listed(item, model_id))

    async def task_prompt(self, task_id: str, model_id: str) -> str | None:
        """WaveSpeed documents no inputs in a prediction; where one carries them, the prompt."""
        response = await self._call("GET", f"{self.api}/predictions/{task_id}/result", "poll")
        if response.status_code == 404:
            return None
        data = self._answer(response, "poll").object("data")
        given = data.get("input")
        prompt = given.get("prompt") if isinstance(given, dict) else None
        return prompt if isinstance(prompt, str) else None


def _iso(epoch: float) -> str:
    moment = datetime.datetime.fromtimestamp(epoch, datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _listed(item: object, model_id: str) -> ListedTask | None:
    """A history item of this model, None for another model's; ValueError if unreadable.
    One without a readable creation time is kept at time NaN, which every window holds."""
    if not isinstance(item, dict):
        raise ValueError("not an object")
    task_id = item.get("id")
    if not isinstance(task_id, str) or not answers.TASK_ID.fullmatch(task_id):
        raise ValueError("no task id")
    if not answers.same_model(item.get("model"), model_id):
        return None
    return ListedTask(task_id, answers.plausible_epoch(answers.iso_epoch(item.get("created_at"))))
