"""A project's own prices (PRODUCT §5): `prices.toml` at the project root, the catalog's price
columns under `[[prices]]`, overriding the catalog's row for the same provider, model id, mode
and resolution (a team's contract prices, discounts). Read within the project's confinement,
like the settings; a mistake is one line naming the file, the line and the field."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from wanplan.catalog.model import Catalog, PriceEntry
from wanplan.errors import SpecError, SpecIssue
from wanplan.spec.load import read_toml
from wanplan.spec.locate import locate

PRICES_FILE = "prices.toml"
TEAM_SOURCE = "prices.toml"
"""The source a row without one is shown with."""


class _PricesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prices: list[PriceEntry] = []


def load_team_prices(root: Path, catalog: Catalog) -> list[PriceEntry]:
    """The project's price rows, checked against the catalog's models; [] without the file."""
    path = root / PRICES_FILE
    if not path.exists() and not path.is_symlink():
        return []
    data, text = read_toml(root, path, PRICES_FILE)
    rows = data.get("prices")
    if isinstance(rows, list):
        for row in rows:
            if isinstance(row, dict):
                _defaults(row)
    try:
        prices = _PricesFile.model_validate(data).prices
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        raise SpecError(
            [SpecIssue(PRICES_FILE, _line(text, loc), ".".join(loc), message)]
        ) from None
    for index, price in enumerate(prices):
        if catalog.model_by_id(price.provider, price.model_id, price.mode) is None:
            raise SpecError(
                [
                    SpecIssue(
                        PRICES_FILE,
                        _line(text, ("prices", str(index), "model_id")),
                        f"prices.{index}",
                        f"{price.provider} has no {price.mode} model {price.model_id!r} in the "
                        "catalog; `wanplan models` lists them",
                    )
                ]
            )
    return prices


def _line(text: str, loc: tuple[str, ...]) -> int | None:
    """The line of `prices.N.field`: the field's line within the N-th `[[prices]]` table (or
    the table's header when the field is missing), else wherever `locate` finds it."""
    if len(loc) >= 2 and loc[0] == "prices" and loc[1].isdigit():
        headers = [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == "[[prices]]"]
        index = int(loc[1])
        if index < len(headers):
            start = headers[index]
            end = headers[index + 1] if index + 1 < len(headers) else None
            lines = text.splitlines()[start : (end - 1) if end else None]
            field = loc[2] if len(loc) > 2 else None
            for offset, line in enumerate(lines, start + 1):
                if field and line.split("=", 1)[0].strip() == field:
                    return offset
            return start
    return locate(text, loc)


def _defaults(row: dict[str, Any]) -> None:
    """TOML has no decimal: a price written as 0.08 is the decimal of its text. A row may leave
    out the currency (USD) and its source (this file)."""
    price = row.get("price")
    if isinstance(price, int | float) and not isinstance(price, bool):
        row["price"] = Decimal(str(price))
    row.setdefault("currency", "USD")
    row.setdefault("source", TEAM_SOURCE)
