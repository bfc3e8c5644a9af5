"""`wanplan prices update` (PRODUCT §5): a project's prices.toml filled from a provider's own
free price quote (WaveSpeed's), asked with the account's key, so that the discounts and
contract prices the provider gives that account are what plans estimate.

Each of the provider's catalog models is quoted at each resolution and each duration it takes
(the quote is free and sends nothing to generate). The quotes are fitted to a catalog price
row: a price per second with the minimum billed seconds the quotes show, or a price per item
for a model of one duration (or an image). Quotes that no such row reproduces at every duration
are not written, and are named: a row would mislead at some duration."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import tomli_w

from wanplan import atomic
from wanplan.catalog.model import VIDEO_MODES, Catalog, ModelEntry, PriceEntry
from wanplan.errors import ProviderAuthError, ProviderError
from wanplan.money import format_usd
from wanplan.providers.base import GenerationRequest, QuotesPrices, RequestInput
from wanplan.spec.load import read_toml

QUOTES_AT_ONCE = 4
_ATTEMPTS = 3
_TOLERANCE = Decimal("0.000001")
# What a quote is asked for: the inputs each mode requires, as URLs the quote never fetches.
_PLACEHOLDER = "https://example.invalid/wanplan-price-quote"
INPUT_PRICED_MODES = frozenset({"r2v", "edit"})
"""Modes whose price depends on the input video's length: a quote of a placeholder input
cannot give it, so they are named as not quoted (their rows stay as they were)."""
_INPUTS: Mapping[str, tuple[tuple[str, str], ...]] = {
    "i2v": (("image", ".png"),),
    "flf2v": (("image", ".png"), ("last_frame", ".png")),
    "r2v": (("references[0]", ".mp4"),),
    "edit": (("video", ".mp4"),),
}


@dataclass(frozen=True, slots=True)
class QuotedPrice:
    entry: PriceEntry
    before: PriceEntry | None
    """The row that applied until now (the catalog's or the project's); None: unknown."""

    @property
    def changed(self) -> bool:
        """Whether it prices anything differently (its source and date aside)."""
        if self.before is None:
            return True
        kept = {"source", "as_of"}
        return self.before.model_dump(exclude=kept) != self.entry.model_dump(exclude=kept)


@dataclass(frozen=True, slots=True)
class Unquoted:
    model_id: str
    mode: str
    resolution: str
    reason: str


@dataclass(frozen=True)
class PriceUpdate:
    provider: str
    path: Path
    quoted: list[QuotedPrice]
    unquoted: list[Unquoted]
    written: bool


def fit(quotes: Mapping[int | None, Decimal]) -> tuple[str, Decimal, int] | None:
    """(unit, price, minimum_seconds) of the one catalog row that gives every quote (by
    duration; None: a model without durations), or None when no row does."""
    durations = sorted(d for d in quotes if d is not None)
    if len(quotes) == 1:
        return "item", next(iter(quotes.values())), 0
    if len(durations) != len(quotes):
        return None
    longest = durations[-1]
    rate = _plain(quotes[longest] / longest)
    for minimum in (0, *durations):
        if all(abs(rate * max(d, minimum) - quotes[d]) <= _TOLERANCE for d in durations):
            return "second", rate, minimum if minimum > durations[0] else 0
    return None


def _plain(amount: Decimal) -> Decimal:
    """At most 6 decimals, trailing zeros dropped, never in exponent form (`1E+1`)."""
    text = format(amount.quantize(Decimal("0.000001")), "f").rstrip("0").rstrip(".")
    return Decimal(text)


def quote_request(model: ModelEntry, resolution: str, duration: int | None) -> GenerationRequest:
    params: dict[str, Any] = {"prompt": "price quote", "resolution": resolution}
    if duration is not None:
        params["duration"] = duration
    if model.default_aspect_ratio:
        params["aspect_ratio"] = model.default_aspect_ratio
    inputs = tuple(
        RequestInput(name, f"{_PLACEHOLDER}{suffix}", None, sent_as=f"{_PLACEHOLDER}{suffix}")
        for name, suffix in _INPUTS.get(model.mode, ())
    )
    return GenerationRequest("price-quote", "", model.model_id, model.mode, params, inputs)


async def quote_models(
    provider: QuotesPrices, models: Sequence[ModelEntry]
) -> dict[tuple[ModelEntry, str], dict[int | None, Decimal] | str]:
    """Per (model, resolution): the quotes by duration, or why they could not be had. A
    refused key stops everything (ProviderAuthError)."""
    turns = asyncio.Semaphore(QUOTES_AT_ONCE)

    async def one(model: ModelEntry, resolution: str, duration: int | None) -> Decimal | str:
        request = quote_request(model, resolution, duration)
        for attempt in range(_ATTEMPTS):
            async with turns:
                try:
                    quoted = await provider.quote_request(request)
                except ProviderAuthError:
                    raise
                except ProviderError as exc:
                    if not exc.retryable or attempt == _ATTEMPTS - 1:
                        return str(exc)
                except httpx.HTTPError as exc:
                    return f"{type(exc).__name__}: the price quote could not be reached"
                else:
                    return quoted  # never 0: price_quote refuses a quote of nothing
            await asyncio.sleep(2**attempt)  # a busy quote (429, 503): again, a little later
        return "no quote"  # not reached: the last attempt returns

    asked = [
        (model, resolution, duration)
        for model in models
        if model.mode not in INPUT_PRICED_MODES
        for resolution in model.resolutions
        for duration in (
            model.durations if model.mode in VIDEO_MODES and model.durations else (None,)
        )
    ]
    jobs = [asyncio.ensure_future(one(*question)) for question in asked]
    try:
        answers = await asyncio.gather(*jobs)
    finally:  # a refused key: the quotes still waiting are not asked
        for job in jobs:
            job.cancel()
    found: dict[tuple[ModelEntry, str], dict[int | None, Decimal] | str] = {
        (model, resolution): (
            "its price depends on the input video's length, which a quote cannot see; write "
            "its row in prices.toml by hand"
        )
        for model in models
        if model.mode in INPUT_PRICED_MODES
        for resolution in model.resolutions
    }
    for (model, resolution, duration), answer in zip(asked, answers, strict=True):
        key = (model, resolution)
        if isinstance(found.get(key), str):
            continue
        if isinstance(answer, str):
            found[key] = answer
        else:
            prices = found.setdefault(key, {})
            assert isinstance(prices, dict)
            prices[duration] = answer
    return found


def price_rows(
    provider_name: str,
    catalog: Catalog,
    quotes: Mapping[tuple[ModelEntry, str], dict[int | None, Decimal] | str],
    today: datetime.date,
) -> tuple[list[QuotedPrice], list[Unquoted]]:
    quoted: list[QuotedPrice] = []
    unquoted: list[Unquoted] = []
    for (model, resolution), answer in quotes.items():
        if isinstance(answer, str):
            unquoted.append(Unquoted(model.model_id, model.mode, resolution, answer))
            continue
        shape = fit(answer)
        if shape is None:
            shown = ", ".join(
                f"{d} s {format_usd(p)}"
                for d, p in sorted(answer.items(), key=lambda kv: kv[0] or 0)
            )
            unquoted.append(
                Unquoted(
                    model.model_id,
                    model.mode,
                    resolution,
                    f"the quotes ({shown}) fit no price per second or per item",
                )
            )
            continue
        unit, price, minimum = shape
        entry = PriceEntry(
            provider=provider_name,
            model_id=model.model_id,
            mode=model.mode,
            resolution=resolution,
            unit=unit,
            price=price,
            minimum_seconds=minimum,
            currency="USD",
            source=f"{provider_name} price quote for this account (wanplan prices update)",
            as_of=today,
        )
        before = catalog.price(provider_name, model.model_id, model.mode, resolution)
        quoted.append(QuotedPrice(entry, before))
    return quoted, unquoted


def merged_file(existing: Sequence[Mapping[str, Any]], rows: Sequence[PriceEntry]) -> str:
    """prices.toml with `rows` in place of the rows for the same provider, model id, mode and
    resolution, and every other row kept as it was."""
    fresh = {(r.provider, r.model_id, r.mode, r.resolution): r for r in rows}

    def key(row: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(row.get(k) for k in ("provider", "model_id", "mode", "resolution"))

    kept = [dict(row) for row in existing if key(row) not in fresh]
    documents = kept + [_document(r) for r in rows]
    header = (
        "# This project's own prices (PRODUCT §5): they override the catalog's for the same\n"
        "# provider, model id, mode and resolution. `wanplan prices update` rewrites the rows it\n"
        "# quotes and keeps the others.\n\n"
    )
    return header + tomli_w.dumps({"prices": documents})


def _document(entry: PriceEntry) -> dict[str, Any]:
    """The row as prices.toml writes it: its columns in order, defaults left out, the price
    as the text of its decimal (TOML has no decimal type)."""
    return entry.model_dump(exclude_defaults=True) | {"price": format(entry.price, "f")}


def save_prices(root: Path, name: str, rows: Sequence[PriceEntry]) -> Path:
    """Write `rows` into the project's prices file, keeping its other rows; its path."""
    path = root / name
    existing: list[Any] = []
    if path.exists():
        existing = list(read_toml(root, path, name)[0].get("prices", []))
    atomic.write_text(path, merged_file(existing, rows))
    return path
