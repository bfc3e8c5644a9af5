"""Alibaba Cloud Model Studio / DashScope (PROVIDERS.md §2).

Several protocols share one task API: Wan 2.7 takes `input.media[]`; 2.1–2.6 take `size` (t2v) or
`img_url` + `resolution` (i2v); the first+last-frame `*kf2v*` models and speech-to-video
(`wan2.2-s2v`: `image_url` + `audio_url`) post to another path, and so do text-to-image
(`text2image`) and wan2.6's image models (messages, dashscope_messages.py).
Local files go through the upload policy (an OSS form upload, then `oss://` with the
`X-DashScope-OssResourceResolve` header). A finished task's `usage.video_duration` is the
seconds DashScope bills: the ledger records them at the catalog's unit price ("reported").

A submit whose outcome is unknown is looked for in the task list (`GET /tasks`, PROVIDERS.md
§4c): the time zone of its window is not documented, so the window asked for is padded by a day
each way and the items are filtered on `gmt_create` (epoch milliseconds); a task's own answer
gives its prompt (`orig_prompt`) where the service returns it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import hashlib
import math
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from wanplan.config import ProviderSettings
from wanplan.errors import ProviderError, WanplanError
from wanplan.providers import answers, dashscope_messages, wire
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

# Region → (its id, the shared endpoint). Names and ids both work. Frankfurt and Tokyo have
# no shared endpoint of their own: the SDK sends them to the international one, and their
# workspace endpoints are their own [sdk: dashscope 2.0 v2/_config.py, common/env.py].
REGIONS: dict[str, tuple[str, str]] = {
    "singapore": ("ap-southeast-1", "https://dashscope-intl.aliyuncs.com/api/v1"),
    "beijing": ("cn-beijing", "https://dashscope.aliyuncs.com/api/v1"),
    "virginia": ("us-east-1", "https://dashscope-us.aliyuncs.com/api/v1"),
    "hongkong": ("cn-hongkong", "https://cn-hongkong.dashscope.aliyuncs.com/api/v1"),
    "frankfurt": ("eu-central-1", "https://dashscope-intl.aliyuncs.com/api/v1"),
    "tokyo": ("ap-northeast-1", "https://dashscope-intl.aliyuncs.com/api/v1"),
}
_BY_ID = {region_id: name for name, (region_id, _) in REGIONS.items()}
VIDEO_PATH = "/services/aigc/video-generation/video-synthesis"
IMAGE_PATH = "/services/aigc/text2image/image-synthesis"
"""Text-to-image, async, for wan2.5 and below [sdk: v2/resources/images.py]."""
KEYFRAME_PATH = "/services/aigc/image2video/video-synthesis"
"""First+last frame (`kf2v`) and speech-to-video (`wan2.2-s2v`) models post here."""
S2V_DOC = "https://www.alibabacloud.com/help/en/model-studio/wan-s2v-api"
# The docs suggest polling every 15 s; ramp up to it, as the SDK does.
_POLL_RAMP = (2.0, 3.0, 5.0, 8.0, 10.0, 15.0)
PAGE_SIZE = 100
_ZONE_PAD = 86400.0
"""The task list's start/end time zone is undocumented: ask for a day more each way."""


def region_base_url(settings: ProviderSettings) -> str:
    """The region's shared endpoint, or with `workspace` its workspace endpoint
    `https://{workspace}.{region id}.maas.aliyuncs.com/api/v1` [doc, sdk]."""
    region = settings.region or "singapore"
    name = _BY_ID.get(region, region)
    if name not in REGIONS:
        raise WanplanError(
            f"[providers.dashscope] region {region!r} is unknown; choose one of "
            f"{', '.join(REGIONS)} (or their ids: {', '.join(_BY_ID)})"
        )
    region_id, shared = REGIONS[name]
    if settings.workspace:
        return f"https://{settings.workspace}.{region_id}.maas.aliyuncs.com/api/v1"
    return shared


class DashScopeProvider(HttpProvider):
    name: ClassVar[str] = "dashscope"
    key_env: ClassVar[str | None] = "DASHSCOPE_API_KEY"
    DEFAULT_LISTING_LAG: ClassVar[float] = 15.0
    LISTING_RETENTION: ClassVar[float] = 86400.0
    """Tasks are kept 24 hours (PROVIDERS.md §2)."""

    @classmethod
    def default_base_url(cls, settings: ProviderSettings) -> str:
        return region_base_url(settings)

    def poll_delay(self, attempt: int) -> float:
        return _POLL_RAMP[min(attempt, len(_POLL_RAMP) - 1)]

    def _message(self, body: dict[str, Any]) -> str:
        return " ".join(str(body[k]) for k in ("code", "message") if body.get(k))

    async def upload(self, item: RequestInput, model_id: str) -> str:
        """The upload policy: a signed OSS form upload; the input becomes `oss://<key>`."""
        assert item.path is not None
        what = f"upload policy for {item.source}"
        answer = await self._call(
            "GET", f"{self.api}/uploads", what, params={"action": "getPolicy", "model": model_id}
        )
        policy = self._answer(answer, what).object("data")
        host, directory = policy.text("upload_host"), policy.text("upload_dir")
        suffix = PurePosixPath(item.name).suffix.lower()
        key = f"{directory.rstrip('/')}/{item.sha256 or 'input'}{suffix}"
        fields = {
            "OSSAccessKeyId": policy.optional_text("oss_access_key_id") or "",
            "Signature": policy.optional_text("signature") or "",
            "policy": policy.optional_text("policy") or "",
            "key": key,
            "x-oss-object-acl": policy.optional_text("x_oss_object_acl") or "private",
            "x-oss-forbid-overwrite": policy.optional_text("x_oss_forbid_overwrite") or "true",
            "success_action_status": "200",
        }
        # The OSS host is not DashScope: the form carries its own signature, never our key.
        form = self.client.build_request(
            "POST",
            host,
            data=fields,
            files={"file": (item.name, item.path.read_bytes(), wire.media_type(item.name))},
        )
        await self._upload_to(form, f"upload of {item.source}")
        return f"oss://{key}"

    async def _url(self, item: RequestInput | None, model_id: str) -> str | None:
        return None if item is None else await self._upload_or_url(item, model_id)

    async def _media(self, request: GenerationRequest) -> list[dict[str, str]]:
        """Wan 2.7's `input.media[]`: each input with its role."""
        model = request.model_id
        media = []
        for field, kind in (
            # A video is an edit's source, or for i2v the clip to continue [doc, sdk: §4b].
            ("video", "first_clip" if request.mode == "i2v" else "video"),
            ("image", "first_frame"),
            ("first_frame", "first_frame"),
            ("last_frame", "last_frame"),
            ("audio", "driving_audio"),
        ):
            url = await self._url(request.input(field), model)
            if url:
                media.append({"type": kind, "url": url})
        grid = wire.listed(request, "grid")
        if grid:  # no grid input is documented: composed into the first frame (PRODUCT §3)
            url = grid[0].sent_as or await self._composed(grid, model)
            media.insert(0, {"type": "first_frame", "url": url})
        for kind, items in wire.references(request).items():
            for item in items:
                url = await self._upload_or_url(item, model)
                media.append({"type": f"reference_{kind}", "url": url})
        return media

    async def prepare(self, request: GenerationRequest) -> GenerationRequest:
        """Each local input uploaded, and a grid composed and uploaded too, before the submit:
        the submit then sends its request alone (its time limit is the request's). The
        composed image's URL rides on the grid's first item."""
        request = await super().prepare(request)
        grid = wire.listed(request, "grid")
        if not grid or grid[0].sent_as is not None:
            return request
        with self._sending_inputs():
            url = await self._composed(grid, request.model_id)
        first = dataclasses.replace(grid[0], sent_as=url)
        inputs = tuple(first if item is grid[0] else item for item in request.inputs)
        return dataclasses.replace(request, inputs=inputs)

    async def _composed(self, grid: list[RequestInput], model_id: str) -> str:
        """The grid's images on one 3×3 image, uploaded as any local input is."""
        from wanplan.providers import grid_image  # Pillow: only for an asset with a grid

        paths = [item.path for item in grid if item.path is not None]
        if len(paths) != len(grid):  # validation refuses URLs: never leave an image out
            raise ProviderError(self.name, "a grid to compose takes files, not URLs")
        try:  # off the event loop: decoding nine large images takes a while
            data = await asyncio.to_thread(grid_image.compose_grid, paths)
        except (OSError, ValueError) as exc:
            raise ProviderError(self.name, f"the grid could not be composed ({exc})") from None
        with tempfile.TemporaryDirectory(prefix="wanplan-grid-") as folder:
            path = Path(folder) / "grid.png"
            path.write_bytes(data)
            digest = hashlib.sha256(data).hexdigest()
            return await self.upload(RequestInput("grid", "grid.png", digest, path), model_id)

    async def _send_input(self, item: RequestInput, model_id: str) -> str | None:
        if item.field.startswith("grid["):
            return None  # composed into one image with the others, then uploaded
        return await self.upload(item, model_id)

    async def _upload_or_url(self, item: RequestInput, model_id: str) -> str:
        if item.sent_as is not None:
            return item.sent_as
        return await self.upload(item, model_id) if item.path is not None else item.source

    async def payload(self, request: GenerationRequest) -> tuple[str, dict[str, Any]]:
        """(path, body) for this request's protocol."""
        params, model = request.params, request.model_id
        if dashscope_messages.speaks_messages(model):
            references = wire.listed(request, "references")
            urls = [await self._upload_or_url(item, model) for item in references]
            return dashscope_messages.PATH, dashscope_messages.body(request, urls)
        resolution = str(params["resolution"]).upper()
        if request.mode == "s2v":
            return KEYFRAME_PATH, await self._speech_body(request, resolution)
        inputs: dict[str, Any] = {}
        parameters: dict[str, Any] = {}
        # Every protocol below: input.prompt, negative_prompt; parameters duration,
        # prompt_extend, seed, watermark (PROVIDERS.md §2, §4b) unless it says otherwise.
        if params.get("prompt"):
            inputs["prompt"] = params["prompt"]
        if params.get("negative_prompt"):
            inputs["negative_prompt"] = params["negative_prompt"]
        path = VIDEO_PATH
        if model.startswith("wan2.7-"):  # resolution, ratio, audio_url, media[] (§2)
            parameters["resolution"] = resolution
            if request.mode in ("t2v", "r2v"):
                parameters["ratio"] = params.get("aspect_ratio", "16:9")
            if request.mode == "t2v":
                audio = await self._url(request.input("audio"), model)
                if audio:
                    inputs["audio_url"] = audio
            else:
                inputs["media"] = await self._media(request)
        elif "kf2v" in model:  # first_frame_url, last_frame_url, resolution (§2)
            path = KEYFRAME_PATH
            inputs["first_frame_url"] = await self._url(request.input("first_frame"), model)
            inputs["last_frame_url"] = await self._url(request.input("last_frame"), model)
            parameters["resolution"] = resolution
        elif request.mode == "t2i":  # size, n [sdk: v2/resources/images.py]
            path = IMAGE_PATH
            parameters["size"] = wire.size(str(params["resolution"]), params.get("aspect_ratio"))
            parameters["n"] = 1
        elif request.mode == "r2v":  # wan2.6-r2v (-flash): reference videos, a size [§4b]
            # It takes videos only (the catalog's reference kinds): each reference is one.
            inputs["reference_video_urls"] = [
                await self._upload_or_url(item, model)
                for item in wire.listed(request, "references")
            ]
            parameters["size"] = wire.size(str(params["resolution"]), params.get("aspect_ratio"))
        elif request.mode == "t2v":  # size "W*H" (§2)
            parameters["size"] = wire.size(str(params["resolution"]), params.get("aspect_ratio"))
        else:  # img_url, resolution (§2)
            inputs["img_url"] = await self._url(request.input("image"), model)
            parameters["resolution"] = resolution
        if params.get("duration") is not None:
            parameters["duration"] = params["duration"]
        if params.get("prompt_expansion") is not None:
            parameters["prompt_extend"] = params["prompt_expansion"]
        if params.get("seed") is not None:
            parameters["seed"] = params["seed"]
        if params.get("watermark") is not None:
            parameters["watermark"] = params["watermark"]
        parameters.update(params.get("params") or {})
        return path, {"model": model, "input": inputs, "parameters": parameters}

    async def _speech_body(self, request: GenerationRequest, resolution: str) -> dict[str, Any]:
        """wan2.2-s2v [doc: S2V_DOC]: an image and an audio, a resolution, and nothing else
        (no prompt, seed, duration, prompt_extend or watermark is documented)."""
        model = request.model_id
        inputs = {
            "image_url": await self._url(request.input("image"), model),  # required [doc]
            "audio_url": await self._url(request.input("audio"), model),  # required [doc]
        }
        parameters: dict[str, Any] = {"resolution": resolution}  # 480P | 720P [doc]
        parameters.update(request.params.get("params") or {})
        return {"model": model, "input": inputs, "parameters": parameters}

    async def submit(self, request: GenerationRequest) -> SubmittedTask:
        with self._sending_inputs():
            path, body = await self.payload(request)
        headers = {**self._headers(), "X-DashScope-Async": "enable"}
        if "oss://" in str(body["input"]):
            headers["X-DashScope-OssResourceResolve"] = "enable"
        response = await self._call(
            "POST", f"{self.api}{path}", "submit", headers=headers, json=body
        )
        return SubmittedTask(self._answer(response, "submit").object("output").task_id("task_id"))

    async def poll(self, task_id: str, model_id: str) -> TaskStatus:
        response = await self._call("GET", f"{self.api}/tasks/{task_id}", "poll")
        answer = self._answer(response, "poll")
        output = answer.object("output")
        status = output.text("task_status")
        if status == "SUCCEEDED":
            if output.get("choices") is not None:
                url = dashscope_messages.image_url(output)
            elif output.get("results") is not None:
                url = _image_url(output)
            else:
                url = output.text("video_url")
            usage = answer.get("usage")
            return TaskStatus(
                TaskState.SUCCEEDED,
                result_urls=self._result_urls((url,)),
                billed_seconds=_billed_seconds(usage),
                duration=_seconds_between(output.get("submit_time"), output.get("end_time")),
                extra={"usage": usage} if isinstance(usage, dict) else {},
            )
        if status in ("FAILED", "CANCELED"):
            reason = " ".join(str(output.get(k)) for k in ("code", "message") if output.get(k))
            return TaskStatus(TaskState.FAILED, error=answers.clip(reason) or status)
        if status == "UNKNOWN":
            return TaskStatus(TaskState.GONE, error="task unknown or expired (24 h)")
        if status in ("PENDING", "RUNNING"):
            return TaskStatus(TaskState.RUNNING)
        raise output.unknown_status("task_status", status)

    async def list_tasks(self, model_id: str, after: float, before: float) -> TaskListing:
        """The account's tasks of this model created between two times, every page."""

        async def page(number: int) -> ListingPage:
            response = await self._call(
                "GET",
                f"{self.api}/tasks",
                "task list",
                params={
                    "start_time": _list_time(after - _ZONE_PAD),
                    "end_time": _list_time(before + _ZONE_PAD),
                    "model_name": model_id,
                    "page_no": number,
                    "page_size": PAGE_SIZE,
                },
            )
            answer = self._answer(response, "task list")
            items = answer.get("data")
            if items is None:
                items = answer.get("tasks")  # what the Python v2 SDK reads
            if items is None:  # an empty list, as some backends write it
                items = []
            if not isinstance(items, list):
                raise answer.error("answered no list of tasks (data or tasks)")
            return ListingPage(
                items,
                answers.whole_number(answer.get("total")),
                answers.whole_number(answer.get("total_page")),
            )

        def read(item: object) -> ListedTask | None:
            listed = _listed(item, model_id)
            # The window asked for was padded for its time zone: the padding is left out here.
            inside = listed is not None and not (
                listed.created_at < after or listed.created_at > before
            )
            return listed if inside else None

        return await self._read_listing(page, read)

    async def task_prompt(self, task_id: str, model_id: str) -> str | None:
        """`output.orig_prompt` of the task's own answer, where the service gives it."""
        response = await self._call("GET", f"{self.api}/tasks/{task_id}", "task query")
        output = self._answer(response, "task query").object("output")
        prompt = output.get("orig_prompt")
        return prompt if isinstance(prompt, str) else None


def _image_url(output: answers.Answer) -> str:
    """A text-to-image task's `output.results[0].url`."""
    results = output.get("results")
    first = results[0] if isinstance(results, list) and results else None
    url = first.get("url") if isinstance(first, dict) else None
    if not isinstance(url, str) or not url:
        raise output.error("answered no output.results[0].url")
    return url


def _list_time(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC).strftime("%Y%m%d%H%M%S")


def _listed(item: object, model_id: str) -> ListedTask | None:
    """A listed task of this model; None for another model's; ValueError for one it cannot read.
    One without a readable `gmt_create` is kept at time NaN, which no filter drops and every
    window holds (it cannot be ruled out)."""
    if not isinstance(item, dict):
        raise ValueError("not an object")
    task_id = item.get("task_id")
    if not isinstance(task_id, str) or not answers.TASK_ID.fullmatch(task_id):
        raise ValueError("no task id")
    if not answers.same_model(item.get("model_name"), model_id):
        return None
    return ListedTask(task_id, answers.plausible_epoch(_epoch_ms(item.get("gmt_create"))))


def _epoch_ms(value: object) -> float:
    """`gmt_create` (epoch milliseconds, a number or digits) as seconds; NaN if unreadable."""
    if isinstance(value, bool):
        return math.nan
    try:
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            value = float(value.strip())
        number = float(value) if isinstance(value, int | float) else math.nan
        # Epoch milliseconds as documented; a value that can only be seconds is read as such.
        seconds = number if 0 < number < 1e11 else number / 1000
    except (ValueError, OverflowError):
        return math.nan
    return seconds if math.isfinite(seconds) else math.nan


def _billed_seconds(usage: object) -> float | None:
    """`usage.video_duration`: the seconds of video DashScope bills (per second of output)."""
    return answers.seconds(usage.get("video_duration") if isinstance(usage, dict) else None)


def _seconds_between(start: object, end: object) -> float | None:
    """DashScope writes times as "2025-09-01 12:00:00.123"."""
    try:
        begun = datetime.datetime.fromisoformat(str(start))
        ended = datetime.datetime.fromisoformat(str(end))
        return answers.seconds((ended - begun).total_seconds())
    except (ValueError, TypeError, OverflowError):  # TypeError: one naive, one aware
        return None
