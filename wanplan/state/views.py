"""Views for people reading the state with SQL or Datasette: spend by day, provider and asset,
and each generation's prompt and model as columns (no JSON to parse).

Money is summed over `amount_micros` (an exact integer of millionths of a dollar), so `SUM` and
`ORDER BY` are numeric and exact; `amount_usd` is the same figure in dollars for reading (exact:
`numeric` on PostgreSQL, decimal text on SQLite, which has no exact decimal type).
Both backends get the same views with the same columns; only the SQL dialect differs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

PARAMS = ("prompt", "negative_prompt", "seed", "resolution", "duration", "aspect_ratio")
"""The generation parameters `generation_prompts` shows as columns."""


@dataclass(frozen=True)
class Dialect:
    json_text: Callable[[str, str], str]
    """SQL for a text value at params.<field> of a JSON column."""
    usd: Callable[[str], str]
    """SQL for dollars from an expression of micro-units."""


SQLITE = Dialect(
    json_text=lambda column, name: f"json_extract({column}, '$.params.{name}')",
    # SQLite has no exact decimal: the dollars as text, from integer arithmetic only (sort and
    # sum on amount_micros).
    usd=lambda micros: f"printf('%d.%06d', ({micros}) / 1000000, ({micros}) % 1000000)",
)
POSTGRES = Dialect(
    json_text=lambda column, name: f"({column}::jsonb #>> '{{params,{name}}}')",
    usd=lambda micros: f"round(({micros})::numeric / 1000000, 6)",
)


def _tally(dialect: Dialect, group: str) -> str:
    total = "coalesce(sum(amount_micros), 0)"
    return (
        f"select {group}, count(*) as tasks, count(*) - count(amount_micros)"
        f" as unknown_price_tasks, {total} as amount_micros, {dialect.usd(total)} as amount_usd"
        f" from ledger group by {group}"
    )


def view_definitions(dialect: Dialect) -> dict[str, str]:
    """Name → the SELECT each view is."""
    params = ", ".join(f"{dialect.json_text('g.material', p)} as {p}" for p in PARAMS)
    return {
        "spend": (
            "select l.id, l.recorded_at, l.day, l.provider, t.model_id, g.mode, l.address,"
            " l.profile, l.content_key, t.task_id, l.amount, l.amount_micros, l.currency,"
            f" l.source, {dialect.json_text('g.material', 'prompt')} as prompt"
            " from ledger l left join tasks t on t.id = l.task_ref"
            " left join generations g on g.content_key = l.content_key"
        ),
        "spend_by_day": _tally(dialect, "day"),
        "spend_by_provider": _tally(dialect, "provider"),
        "spend_by_asset": _tally(dialect, "address, profile"),
        "generation_prompts": (
            "select g.content_key, g.address, g.provider, g.model_id, g.mode,"
            f" {params}, g.task_id, g.created_at from generations g"
        ),
    }
