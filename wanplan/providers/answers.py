"""Reading a provider's answer as hostile input: at most MAX_ANSWER_BYTES of it, JSON that must
be an object, and every field checked for its type where it is read. Anything off is a
ProviderError naming the provider, the call and the field ("wavespeed: poll answered data.status
as a number (7), expected a string"), so the asset fails with that reason and the apply goes on.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import time
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from wanplan.errors import ProviderError

MAX_ANSWER_BYTES = 4 * 1024 * 1024
"""An API answer is a few kB of JSON; a bigger one is refused before it fills the memory."""
MAX_SHOWN = 120
"""Characters of a provider's text shown in a reason (a message, a status, a URL)."""
MAX_TASK_SECONDS = 7 * 24 * 3600.0
# A task id goes into URL paths and the state: a plain identifier, not a path or a query.
TASK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,255}")


def clip(text: str, limit: int = MAX_SHOWN) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


async def read_capped(
    client: httpx.AsyncClient, request: httpx.Request, provider: str, what: str
) -> httpx.Response:
    """Send `request` and read its answer, refusing one over MAX_ANSWER_BYTES (decoded, so a
    small compressed body cannot expand into gigabytes)."""
    too_large = ProviderError(
        provider, f"{what} answer too large (over {MAX_ANSWER_BYTES} bytes); not read"
    )
    response = await client.send(request, stream=True)
    try:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
            raise too_large
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_ANSWER_BYTES:
                raise too_large
    finally:
        await response.aclose()
    # The body is decoded already: the copy must not say it is still compressed.
    headers = [
        (name, value)
        for name, value in response.headers.multi_items()
        if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx.Response(
        response.status_code, headers=headers, content=bytes(body), request=request
    )


def json_object(response: httpx.Response) -> tuple[dict[str, Any], str | None]:
    """(the body as a JSON object, None), or ({}, what is wrong with it)."""
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested 100,000 deep
        return {}, "a body that is not JSON"
    if not isinstance(body, dict):
        return {}, f"{describe(body)} instead of a JSON object"
    return body, None


def describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({clip(repr(value), 40)})"
    if isinstance(value, str):
        return f"a string ({clip(value, 60)!r})"
    if isinstance(value, list):
        return "a list"
    return "an object"


class Answer:
    """A JSON object from a provider, read field by field."""

    def __init__(self, provider: str, what: str, data: dict[str, Any], where: str = "") -> None:
        self.provider = provider
        self.what = what
        self.data = data
        self.where = where

    def error(self, message: str) -> ProviderError:
        return ProviderError(self.provider, f"{self.what} {message}")

    def _name(self, key: str) -> str:
        return f"{self.where}{key}"

    def _wrong(self, key: str, value: object, expected: str) -> ProviderError:
        return self.error(f"answered {self._name(key)} as {describe(value)}, expected {expected}")

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def object(self, key: str) -> Answer:
        value = self.data.get(key)
        if value is None:
            raise self.error(f"answered without {self._name(key)}")
        if not isinstance(value, dict):
            raise self._wrong(key, value, "an object")
        return Answer(self.provider, self.what, value, f"{self._name(key)}.")

    def text(self, key: str) -> str:
        value = self.data.get(key)
        if value is None or value == "":
            raise self.error(f"answered without {self._name(key)}")
        if not isinstance(value, str):
            raise self._wrong(key, value, "a string")
        return value

    def optional_text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self._wrong(key, value, "a string")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        """A list of non-empty strings (URLs); missing or null is an empty list."""
        value = self.data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self._wrong(key, value, "a list")
        for index, item in enumerate(value):
            if not isinstance(item, str) or not item:
                raise self._wrong(f"{key}[{index}]", item, "a URL string")
        return tuple(value)

    def task_id(self, key: str) -> str:
        value = self.text(key)
        if not TASK_ID.fullmatch(value):
            raise self.error(
                f"answered {self._name(key)} {clip(value, 60)!r}, which is not a plain task id"
            )
        return value

    def unknown_status(self, key: str, value: str) -> ProviderError:
        # A status wanplan does not know may be a new way of ending: polling it for hours
        # would only delay the news. The asset fails now; its task stays recorded, so the next
        # apply resumes it (no second payment) once the provider answers a known status.
        return self.error(f"answered an unknown {self._name(key)} {clip(value, 60)!r}")


def seconds(value: object, per_second: float = 1.0) -> float | None:
    """A duration a provider reports (in units of 1/per_second s), when it is a sane one:
    polling learns from it, and an infinite or negative one must not become an endless wait."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value) / per_second
    return number if math.isfinite(number) and 0 < number <= MAX_TASK_SECONDS else None


_SUB_MICROSECONDS = re.compile(r"(\.\d{6})\d+")


def iso_epoch(value: object) -> float | None:
    """An ISO 8601 time ("2025-05-19T06:09:15.948268264Z", nanoseconds allowed; UTC when it
    names no zone) as epoch seconds; None when unreadable."""
    if not isinstance(value, str) or not value:
        return None
    text = _SUB_MICROSECONDS.sub(r"\1", value.strip()).replace("Z", "+00:00")
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


_PLAUSIBLE_PAST = 40 * 86400.0
_PLAUSIBLE_FUTURE = 86400.0


def plausible_epoch(value: float | None) -> float:
    """A task's creation time as the provider gave it, or NaN when it is missing or cannot be
    one (years off: a unit or a time zone misread). NaN is in every window: never ruled out."""
    if value is None or not math.isfinite(value):
        return math.nan
    now = time.time()
    return value if now - _PLAUSIBLE_PAST <= value <= now + _PLAUSIBLE_FUTURE else math.nan


def same_model(listed: object, model_id: str) -> bool:
    """Whether a listed item is of this model; an item that does not say is kept."""
    if listed is None:
        return True
    return isinstance(listed, str) and listed.strip().lower() == model_id.strip().lower()


def whole_number(value: object) -> int | None:
    """A count a provider gives (a list's total), or None when it gives none that reads."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def usd(value: object) -> Decimal | None:
    """An amount of USD as an answer gives it (a number or its text); None when it is not a
    finite amount of at least zero (a boolean, a word, NaN)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount >= 0 else None
