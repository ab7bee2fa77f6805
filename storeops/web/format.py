"""Numbers as the cockpit shows them (pure functions)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from storeops.common.money import format_money, to_cents
from storeops.metrics.definitions import METRICS

DASH = "—"
# Rates are fractions shown as percentages; ROAS is a plain ratio ("3.25"), not a share.
PLAIN_RATIOS = frozenset({"roas"})
# Chinese convention (京东商智 too): a rise is red, a fall is green, whatever the metric: a
# higher refund rate is still "up", red. The arrow says the same for colour-blind readers.
RISE, FALL, FLAT = "rise", "fall", "flat"


# Large amounts as 京东商智 shows them on cards and chart axes (exact figures stay in tables
# and tooltips): 万 and 亿 in Chinese; M and B in English, where 万 means nothing.
COMPACT_UNITS: dict[str, tuple[tuple[int, str], ...]] = {
    "zh-CN": ((100_000_000, "亿"), (10_000, "万")),
    "en": ((1_000_000_000, "B"), (1_000_000, "M")),
}
CENT = Decimal("0.01")


def currency_symbol(currency: str = "CNY") -> str:
    """"¥" for CNY: the prefix :func:`format_money` puts before a figure (one table of them)."""
    return format_money(0, currency).removesuffix("0.00")


def money(value: Decimal | int | float | None, currency: str = "CNY") -> str:
    if value is None:
        return DASH
    try:
        return format_money(to_cents(Decimal(str(value))), currency)
    except (InvalidOperation, ValueError, OverflowError):  # not finite, or past any real sum
        return DASH


def money_compact(value: Decimal | int | float | None, currency: str = "CNY",
                  lang: str = "zh-CN") -> str:
    """``¥12.35万``, ``¥1.23亿`` (two decimals, half up); below 1万 the exact ``¥9,999.99``."""
    if value is None:
        return DASH
    try:
        amount = Decimal(str(value))
        if not amount.is_finite():
            return DASH
        for size, unit in COMPACT_UNITS.get(lang, COMPACT_UNITS["zh-CN"]):
            if abs(amount) >= size:
                scaled = (abs(amount) / size).quantize(CENT, ROUND_HALF_UP)
                sign = "-" if amount < 0 else ""
                return f"{sign}{currency_symbol(currency)}{scaled:,.2f}{unit}"
    except (InvalidOperation, ValueError, OverflowError):
        return DASH
    return money(amount, currency)


def count(value: int | None) -> str:
    return DASH if value is None else f"{int(value):,}"


def percent(value: float | None, places: int = 2) -> str:
    return DASH if value is None else f"{value * 100:.{places}f}%"


def metric_value(key: str, value: object, currency: str = "CNY", *,
                 compact_lang: str | None = None) -> str:
    """A metric's value formatted by its unit in the definitions; money in 万/亿 when
    ``compact_lang`` is given (cards), exact otherwise (tables)."""
    if value is None:
        return DASH
    unit = METRICS[key].unit if key in METRICS else "count"
    if unit == "money":
        if compact_lang:
            return money_compact(value, currency, compact_lang)  # type: ignore[arg-type]
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


def chart_format(currency: str, lang: str, *, y_axes: tuple[str, ...] = (),
                 series: tuple[str, ...] = ()) -> dict[str, Any]:
    """What static/chart_format.js needs to format a chart (options cannot carry functions and
    the CSP allows no inline script): the kind of each y axis and series ("money", "count",
    "percent", "ratio") and the money symbol and units, the same as :func:`money_compact`'s."""
    return {
        "yAxis": list(y_axes), "series": list(series),
        "symbol": currency_symbol(currency),
        "units": [list(u) for u in COMPACT_UNITS.get(lang, COMPACT_UNITS["zh-CN"])],
    }
