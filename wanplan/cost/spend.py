"""What a collected task cost, by the best figure there is, and where that figure came from.

The ledger's `source` says it: "reported" (the provider's own amount, or the usage it bills
priced at the catalog's unit price), "quote" (the provider's price quote for the request),
"estimate" (the plan's catalog estimate) or "unknown" (no price anywhere: the amount is None,
never $0).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from wanplan.catalog.model import Catalog
from wanplan.providers.base import TaskStatus
from wanplan.spec.resolved import ResolvedAsset

REPORTED = "reported"
QUOTE = "quote"
ESTIMATE = "estimate"
UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Spend:
    amount: Decimal | None
    source: str


def task_spend(
    asset: ResolvedAsset,
    status: TaskStatus,
    quoted: Decimal | None,
    estimate: Decimal | None,
    catalog: Catalog,
) -> Spend:
    """`catalog`: the project's, with its prices.toml."""
    if status.reported_cost is not None:
        return Spend(status.reported_cost, REPORTED)
    billed = billed_usage(asset, status.billed_seconds, catalog)
    if billed is not None:
        return Spend(billed, REPORTED)
    if quoted is not None:
        return Spend(quoted, QUOTE)
    return Spend(estimate, ESTIMATE if estimate is not None else UNKNOWN)


def billed_usage(asset: ResolvedAsset, seconds: float | None, catalog: Catalog) -> Decimal | None:
    """Billed seconds at the catalog's per-second price for this model and resolution; None
    when either is unknown (the estimate stands then, never $0)."""
    if seconds is None:
        return None
    price = catalog.price(asset.provider, asset.model_id, asset.mode, asset.resolution)
    if price is None or price.unit != "second":
        return None
    return price.price * max(Decimal(str(seconds)), Decimal(price.minimum_seconds))
