"""The balance check before the first submit (PRODUCT §6): where a provider reports the
account's balance (WaveSpeed, APIXO), a plan whose estimate there exceeds it is refused whole,
exit 4, nothing sent. A balance that cannot be read is no reason to refuse: it is warned of."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from decimal import Decimal

import httpx

from wanplan.apply.providers import ProviderSetup
from wanplan.errors import OverBudget, ProviderAuthError, ProviderError
from wanplan.money import format_usd
from wanplan.plan.model import Action, Plan
from wanplan.providers.base import ReportsBalance


def new_spend_by_provider(plan: Plan) -> dict[str, Decimal]:
    """What the plan's new submits are estimated to cost, by provider (a resumed task is paid
    already; an unknown price adds nothing it could be checked with)."""
    spend: dict[str, Decimal] = {}
    for change in plan.changes:
        if not change.generates or change.action is Action.RESUME or change.asset is None:
            continue
        if change.estimated_cost is not None:
            name = change.asset.provider
            spend[name] = spend.get(name, Decimal(0)) + change.estimated_cost
    return spend


async def _balances(setups: Mapping[str, ProviderSetup]) -> dict[str, Decimal | str | None]:
    """Each provider's balance, None when it reports none, or why it could not be read."""
    found: dict[str, Decimal | str | None] = {}
    for name, setup in setups.items():
        async with setup.client() as client:
            provider = setup.build(client)
            if not isinstance(provider, ReportsBalance):
                continue
            try:
                found[name] = await provider.balance()
            except ProviderAuthError:
                raise
            except (ProviderError, httpx.HTTPError) as exc:
                found[name] = f"{type(exc).__name__}: {exc}"
    return found


def check_balances(
    plan: Plan, setups: Mapping[str, ProviderSetup], warn: Callable[[str], None]
) -> None:
    """Refuse (OverBudget, exit 4) a plan whose new spend at a provider exceeds the balance
    that provider reports."""
    spend = new_spend_by_provider(plan)
    wanted = {name: setup for name, setup in setups.items() if spend.get(name)}
    if not wanted:
        return
    for name, balance in asyncio.run(_balances(wanted)).items():
        if isinstance(balance, str):
            warn(f"{name}: the balance could not be read ({balance}); not checked")
        elif balance is not None and spend[name] > balance:
            raise OverBudget(
                f"{name}: the balance is {format_usd(balance)}, below this plan's estimated "
                f"{format_usd(spend[name])} there; nothing was sent. Top up, or pass "
                "--skip-balance-check for an account that tops up by itself"
            )
