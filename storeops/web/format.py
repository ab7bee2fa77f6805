"""Numbers as the cockpit shows them (pure functions)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from storeops.common.money import format_money, to_cents
from storeops.metrics.definitions import METRICS

DASH = "—"
# Rates are fractions shown as percentages; ROAS is a plain ratio ("3.25"), not a share.
PLAIN_RATIOS = frozenset({"roas"})
# Chinese convention (京东商智 too): a rise is red, a fall is green, whatever the metric: a
# higher refund rate is still "up", red. The arrow says the same for colour-blind readers.
RISE, FALL, FLAT = "rise", "fall", "flat"


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


def change_class(change: float | None) -> str:
    """The css class of a change by its direction only: ``rise`` (red), ``fall`` (green)."""
    if not change:
        return FLAT
    return RISE if change > 0 else FALL


def change_badge(key: str, change: float | None) -> tuple[str, str]:
    """(text, css class) for a relative change: ``▲ 12.3%`` red, ``▼ 4.0%`` green, by
    direction for every metric (``key`` kept for callers; it no longer changes the colour)."""
    if change is None:
        return DASH, FLAT
    if change == 0:
        return "0.0%", FLAT
    arrow = "▲" if change > 0 else "▼"
    return f"{arrow} {abs(change) * 100:.1f}%", change_class(change)
