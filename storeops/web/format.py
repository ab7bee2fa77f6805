"""Numbers as the cockpit shows them (pure functions)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from storeops.common.money import format_money, to_cents
from storeops.metrics.definitions import METRICS

DASH = "—"
# Rates are fractions shown as percentages; ROAS is a plain ratio ("3.25"), not a share.
PLAIN_RATIOS = frozenset({"roas"})
# An increase of these is bad news: their change is coloured as a loss.
LOWER_IS_BETTER = frozenset({"refund_amount", "refund_rate", "bounce_rate", "ad_spend"})


def money(value: Decimal | int | float | None, currency: str = "CNY") -> str:
    if value is None:
        return DASH
    try:
        return format_money(to_cents(Decimal(str(value))), currency)
    except (InvalidOperation, ValueError, OverflowError):  # not finite, or past any real sum
        return DASH


def count(value: int | None) -> str:
    return DASH if value is None else f"{int(value):,}"


def percent(value: float | None, places: int = 2) -> str:
    return DASH if value is None else f"{value * 100:.{places}f}%"


def metric_value(key: str, value: object, currency: str = "CNY") -> str:
    """A metric's value formatted by its unit in the definitions."""
    if value is None:
        return DASH
    unit = METRICS[key].unit if key in METRICS else "count"
    if unit == "money":
        return money(value, currency)  # type: ignore[arg-type]
    if unit == "rate":
        if key in PLAIN_RATIOS:
            return f"{float(value):.2f}"  # type: ignore[arg-type]
        return percent(value)  # type: ignore[arg-type]
    return count(value)  # type: ignore[arg-type]


def change_badge(key: str, change: float | None) -> tuple[str, str]:
    """(text, css class) for a relative change: ``▲ 12.3%`` coloured good or bad."""
    if change is None:
        return DASH, "flat"
    if change == 0:
        return "0.0%", "flat"
    arrow = "▲" if change > 0 else "▼"
    good = (change > 0) != (key in LOWER_IS_BETTER)
    return f"{arrow} {abs(change) * 100:.1f}%", "good" if good else "bad"
