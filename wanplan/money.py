"""Money is Decimal, formatted in one place. An unknown amount is None, never zero."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def as_decimal_string(amount: Decimal | None) -> str | None:
    """The JSON form: a decimal string with at least two places, or None."""
    if amount is None:
        return None
    quantized = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    return str(quantized if quantized == amount else amount.normalize())


MICROS_PER_USD = 1_000_000


def as_micros(amount: Decimal | str | None) -> int | None:
    """An amount as an exact integer of millionths of a dollar, for SQL to sum and sort (the
    ledger keeps it beside the decimal text); rounded half up past the sixth decimal."""
    if amount is None:
        return None
    return int((Decimal(amount) * MICROS_PER_USD).to_integral_value(rounding=ROUND_HALF_UP))


def in_micros(amount: Decimal | None) -> Decimal | None:
    """An amount rounded as `as_micros` rounds it: what the ledger keeps, so that its decimal
    text and its integer are one figure."""
    micros = as_micros(amount)
    return None if micros is None else Decimal(micros) / MICROS_PER_USD


def format_usd(amount: Decimal | None) -> str:
    if amount is None:
        return "unknown"
    return f"${amount.quantize(CENT, rounding=ROUND_HALF_UP)}"


def total(amounts: list[Decimal | None]) -> tuple[Decimal, int]:
    """Sum of the known amounts, and how many were unknown."""
    known = [a for a in amounts if a is not None]
    return sum(known, Decimal(0)), len(amounts) - len(known)


def format_total(amount: tuple[Decimal, int]) -> str:
    """A `total()`: `$1.50`, `$1.50 + 2 of unknown price`, or `unknown (2 of unknown price)`
    when nothing of it is known: an unknown price is never shown as $0."""
    known, unknown = amount
    if not unknown:
        return format_usd(known)
    if not known:
        return f"unknown ({unknown} of unknown price)"
    return f"{format_usd(known)} + {unknown} of unknown price"
