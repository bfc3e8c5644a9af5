"""What the four HTTP providers share: construction, their client, their key on their calls,
and the reading of their answers: capped in size, checked for shape (answers.py), and mapped to
wanplan's errors. Each provider says how its errors read (`_message`)."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, ClassVar, NamedTuple
from urllib.parse import urlsplit

import httpx

from wanplan.config import ProviderSettings
from wanplan.errors import InputNotSent, ProviderAuthError, ProviderError
from wanplan.providers import answers, result_urls, wire
from wanplan.providers.base import (
    GenerationRequest,
    ListedTask,
    ProviderContext,
    RequestInput,
    TaskListing,
)

MAX_LISTING_PAGES = 50
"""Pages of a task list read at most; past them the list is incomplete (proves nothing)."""


class ListingPage(NamedTuple):
    items: list[Any]
    total: int | None = None
    """Items in the whole list, where the provider says."""
    pages: int | None = None
    """Pages in the whole list, where the provider says."""


class HttpProvider:
    name: ClassVar[str]
    key_env: ClassVar[str | None]
    DEFAULT_BASE_URL: ClassVar[str] = ""
    API_PATH: ClassVar[str] = ""
    """Appended to the base URL (WaveSpeed's base URL is written without its /api/v3)."""

    def __init__(self, context: ProviderContext) -> None:
        self.context = context
        self.client = context.client
        self.api = f"{context.base_url}{self.API_PATH}"
        self.on_loopback = wire.is_loopback(urlsplit(context.base_url).hostname or "")

    @classmethod
    def default_base_url(cls, settings: ProviderSettings) -> str:
        return cls.DEFAULT_BASE_URL

    @classmethod
    def make_client(cls, settings: ProviderSettings) -> httpx.AsyncClient:
        return wire.make_client(settings)

    async def prepare(self, request: GenerationRequest) -> GenerationRequest:
        """Send the request's local input files ahead of the submit (see PreparesInputs)."""
        inputs: list[RequestInput] = []
        with self._sending_inputs():
            for item in request.inputs:
                if item.path is not None and item.sent_as is None:
                    sent_as = await self._send_input(item, request.model_id)
                    item = dataclasses.replace(item, sent_as=sent_as)
                inputs.append(item)
        return dataclasses.replace(request, inputs=tuple(inputs))

    async def _send_input(self, item: RequestInput, model_id: str) -> str | None:
        """Upload one local file; None where the provider takes the file in the body itself."""
        return None

    async def _read_listing(
        self,
        page: Callable[[int], Awaitable[ListingPage]],
        read: Callable[[object], ListedTask | None],
    ) -> TaskListing:
        """Every page of a task list, read on until an empty page, the last page or the total
        (a page may hold fewer items than asked for). `read` raises ValueError for an item it
        cannot read, which makes the list incomplete: absence then proves nothing."""
        found: list[ListedTask] = []
        readable, seen = True, 0
        for number in range(1, MAX_LISTING_PAGES + 1):
            answer = await page(number)
            for item in answer.items:
                try:
                    listed = read(item)
                except ValueError:
                    readable = False
                    continue
                if listed is not None:
                    found.append(listed)
            seen += len(answer.items)
            if (
                not answer.items
                or (answer.pages is not None and number >= answer.pages)
                or (answer.total is not None and seen >= answer.total)
            ):
                return TaskListing(tuple(found), complete=readable)
        return TaskListing(tuple(found), complete=False)

    def _headers(self) -> dict[str, str]:
        return wire.bearer(self.context.api_key)

    def _message(self, body: dict[str, Any]) -> str:
        return str(body.get("message") or "")

    async def _call(
        self,
        method: str,
        url: str,
        what: str,
        *,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """An API call with the key, its answer read at most MAX_ANSWER_BYTES."""
        request = self.client.build_request(
            method, url, headers=headers or self._headers(), **kwargs
        )
        return await answers.read_capped(self.client, request, self.name, what)

    def _check(self, response: httpx.Response, what: str) -> dict[str, Any]:
        """The JSON object of a 2xx answer; anything else raised as wanplan's errors."""
        body, problem = answers.json_object(response)
        message = answers.clip(self._message(body))
        wire.raise_for_status(self.name, response, self.context.key_env, f"{what}: {message}")
        if 300 <= response.status_code < 400:
            location = answers.clip(response.headers.get("location", ""))
            raise ProviderError(
                self.name,
                f"{what} answered a redirect (HTTP {response.status_code}) to {location!r}; "
                "not followed",
            )
        if problem is not None:
            raise ProviderError(self.name, f"{what} answered {problem}")
        return body

    def _answer(self, response: httpx.Response, what: str) -> answers.Answer:
        return answers.Answer(self.name, what, self._check(response, what))

    def _allowed(self, url: str, what: str) -> None:
        """A URL an answer gave us to fetch from or send to: allowed by result_urls.py."""
        why = result_urls.refusal(url, self.on_loopback)
        if why is not None:
            raise ProviderError(self.name, f"{what} {answers.clip(url)!r} is not allowed: {why}")

    def _result_urls(self, urls: tuple[str, ...]) -> tuple[str, ...]:
        """The result URLs a finished task gives, each allowed by result_urls.py."""
        for url in urls:
            self._allowed(url, "result URL")
        return urls

    @contextlib.contextmanager
    def _sending_inputs(self) -> Iterator[None]:
        """Around what a submit does before the submit request itself (reading, uploading or
        encoding its input files): a failure there is InputNotSent, which the engine knows
        made no task. A refused key is still the key's failure."""
        try:
            yield
        except ProviderAuthError:
            raise
        except ProviderError as exc:
            reason = str(exc).removeprefix(f"{self.name}: ")
            raise InputNotSent(self.name, reason, retryable=exc.retryable) from None
        except httpx.HTTPError as exc:
            retryable = isinstance(exc, httpx.TransportError)
            reason = f"sending an input: network error ({type(exc).__name__})"
            raise InputNotSent(self.name, reason, retryable=retryable) from None
        except OSError as exc:
            reason = f"cannot read an input: {exc.strerror or exc}"
            raise InputNotSent(self.name, reason) from None

    async def _upload_to(self, request: httpx.Request, what: str) -> None:
        """Send an input file to the upload host an answer named (not the provider's API: the
        request carries its own signature, never our key): the host checked like a result
        URL, its answer read with the same cap as any other."""
        self._allowed(str(request.url), f"{what}: upload host")
        answer = await answers.read_capped(self.client, request, self.name, what)
        if not 200 <= answer.status_code < 300:
            raise ProviderError(self.name, f"{what}: HTTP {answer.status_code}", retryable=True)
