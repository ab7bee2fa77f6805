"""View models of the cockpit pages: plain data built from service results (no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from storeops.metrics.definitions import METRICS
from storeops.metrics.periods import calendar_rows
from storeops.metrics.targets import PRO_RATA_METRICS
from storeops.web import format as fmt
from storeops.web.format import PLAIN_RATIOS
from storeops.web.i18n import label_or_raw, metric_label, translate

# The overview's cards, in display order: 成交 (deals, by payment day), then 下单 (orders
# placed, by order day), traffic, after-sales and customers, under 京东商智's names.
CARD_METRICS = (
    "gmv", "orders", "buyers", "aov",
    "placed_amount", "placed_orders", "placed_conversion_rate", "conversion_rate",
    "uv", "pv", "uv_value", "add_to_cart_rate",
    "bounce_rate", "click_through_rate", "sell_through",
    "refund_amount", "refund_rate", "repurchase_rate", "repurchase_rate_90d",
    "ad_spend", "roas",
)
# Targets shown on cards (the monthly targets the form sets).
TARGET_CARD_METRICS = ("gmv", "uv", "conversion_rate", "aov")
ANIMATION_MS = 300  # short: the figures matter more than the effect
# Columns of the SKU tables: metric keys in display order.
SKU_METRICS = ("gmv", "orders", "units", "uv", "pv", "conversion_rate", "add_to_cart_rate",
               "refund_amount")


@dataclass(frozen=True)
class Card:
    key: str
    label: str
    value: str
    change: str
    change_class: str
    has_target: bool = False
    target: str | None = None
    achievement: str | None = None
    achievement_pct: float | None = None
    exact: str | None = None  # the exact figure behind a 万/亿 value, for its tooltip
    href: str | None = None  # the overview showing this metric's trend
    selected: bool = False  # its trend is the one on the page
    time_progress: str | None = None  # 时间进度 of the target's month (sums only)
    time_progress_pct: float | None = None


def _progress_entry(progress: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """One metric of :func:`storeops.metrics.targets.target_progress`'s result."""
    entry = (progress or {}).get("metrics", {}).get(key)
    return entry if isinstance(entry, Mapping) else {}


def kpi_cards(
    comparison: Mapping[str, Any],
    targets: Mapping[str, Any],
    progress: Mapping[str, Any],
    lang: str,
    currency: str,
    *,
    links: Mapping[str, str] | None = None,
    selected: str | None = None,
    targets_apply: bool = True,
    time_progress: float | None = None,
) -> list[Card]:
    """The cards, each linking to its trend (``links``); target blocks only where the month's
    target applies to the view, with the month's time progress on the sums that grow
    through it (see :mod:`storeops.metrics.month_pace`)."""
    current = comparison.get("current", {})
    changes = comparison.get("change", {})
    cards = []
    for key in CARD_METRICS:
        text, css = fmt.change_badge(key, changes.get(key))
        card: dict[str, Any] = {
            "key": key, "label": metric_label(key, lang),
            "value": fmt.metric_value(key, current.get(key), currency, compact_lang=lang),
            "exact": fmt.metric_value(key, current.get(key), currency),
            "change": text, "change_class": css,
            "href": (links or {}).get(key), "selected": key == selected,
        }
        if key in TARGET_CARD_METRICS and targets_apply:
            card["has_target"] = True
            if time_progress is not None and key in PRO_RATA_METRICS:
                card["time_progress"] = fmt.percent(time_progress, 1)
                card["time_progress_pct"] = max(0.0, min(time_progress, 1.0)) * 100
            target = targets.get(key)
            if target is not None:
                card["target"] = fmt.metric_value(key, target, currency)
                achieved = _progress_entry(progress, key).get("achievement")
                if achieved is not None:
                    card["achievement"] = fmt.percent(float(achieved), 1)
                    card["achievement_pct"] = max(0.0, min(float(achieved), 1.0)) * 100
        cards.append(Card(**card))
    return cards


def period_spans(first: date, last: date, by: str) -> list[tuple[date, date]]:
    """(first day, last day) inside ``first..last`` of each period of the cut ``by``, in the
    order of the trend's bars (a week or month at either end only its days in the range)."""
    spans: dict[str, list[date]] = {}
    for day, label in calendar_rows(first, last, by):
        spans.setdefault(label, []).append(day)
    return [(days[0], days[-1]) for days in spans.values()]


def chart_kind(key: str) -> str:
    """How static/chart_format.js writes a metric: money (¥), percent (rates), ratio (ROAS,
    two decimals) or count."""
    unit = METRICS[key].unit
    if unit == "money":
        return "money"
    if unit == "rate":
        return "ratio" if key in PLAIN_RATIOS else "percent"
    return "count"


def _chart_value(key: str, value: Any) -> float | int | None:
    """A metric's value as a chart point: None (a gap) where it is unknown."""
    if value is None:
        return None
    return int(value) if chart_kind(key) == "count" else float(value)


def trend_chart(series: Sequence[Mapping[str, Any]], lang: str,
                currency: str = "CNY", *, line: str = "orders",
                names: tuple[str, str] = ("overview.series_gmv", "overview.series_orders"),
                ) -> dict[str, Any]:
    """ECharts option: GMV bars on the left axis, the count ``line`` (orders; UV on the SKU
    page) on the right axis, by period; ``names`` are the catalog keys of the two series.
    ``storeops`` tells static/chart_format.js how to write the axes and the tooltip."""
    gmv_name, line_name = (translate(lang, key) for key in names)
    return {
        "animationDuration": ANIMATION_MS,
        "storeops": fmt.chart_format(currency, lang, y_axes=("money", "count"),
                                     series=("money", "count")),
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [gmv_name, line_name], "top": 0},
        "grid": {"left": 60, "right": 50, "top": 36, "bottom": 30},
        "xAxis": {"type": "category", "data": [r["period"] for r in series]},
        "yAxis": [
            {"type": "value", "name": gmv_name},
            {"type": "value", "name": line_name, "splitLine": {"show": False}},
        ],
        "series": [
            {"name": gmv_name, "type": "bar", "yAxisIndex": 0, "itemStyle": {"color": "#e1251b"},
             "data": [float(r.get("gmv") or 0) for r in series]},
            {"name": line_name, "type": "line", "yAxisIndex": 1, "smooth": True,
             "itemStyle": {"color": "#2f6fdf"},
             "data": [int(r.get(line) or 0) for r in series]},
        ],
    }


def metric_trend_chart(
    key: str, series: Sequence[Mapping[str, Any]], baseline: Sequence[Mapping[str, Any]],
    lang: str, currency: str = "CNY", *, baseline_name: str,
) -> dict[str, Any]:
    """ECharts option: one metric's trend (bars for amounts and counts, a line for rates) with
    the baseline period's trend as a dashed line, point by point (the first day against the
    baseline's first day …); the axis in the metric's unit (¥, %, count)."""
    name = metric_label(key, lang)
    kind = chart_kind(key)
    points = [_chart_value(key, r.get(key)) for r in series]
    base = [_chart_value(key, r.get(key)) for r in baseline][:len(points)]
    base += [None] * (len(points) - len(base))  # a shorter baseline (29 Feb): a gap
    return {
        "animationDuration": ANIMATION_MS,
        "storeops": fmt.chart_format(currency, lang, y_axes=(kind,), series=(kind, kind)),
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [name, baseline_name], "top": 0},
        "grid": {"left": 60, "right": 30, "top": 36, "bottom": 30},
        "xAxis": {"type": "category", "data": [r["period"] for r in series]},
        "yAxis": [{"type": "value", "name": name}],
        "series": [
            {"name": name, "type": "line" if METRICS[key].unit == "rate" else "bar",
             "itemStyle": {"color": "#e1251b"}, "data": points},
            {"name": baseline_name, "type": "line", "lineStyle": {"type": "dashed"},
             "itemStyle": {"color": "#9aa3af"}, "data": base},
        ],
    }


def traffic_chart(sources: Sequence[Mapping[str, Any]], lang: str,
                  currency: str = "CNY") -> dict[str, Any]:
    """ECharts option: a ring of UV by source (the tooltip's count with separators)."""
    return {
        "animationDuration": ANIMATION_MS,
        "storeops": fmt.chart_format(currency, lang, series=("count",)),
        "tooltip": {"trigger": "item", "formatter": "{b}: {c} ({d}%)"},
        "legend": {"bottom": 0},
        "series": [{
            "type": "pie", "radius": ["34%", "56%"], "center": ["50%", "45%"],
            # Labels sit against the chart's edges, whole ("搜索 48.59%", never "搜索 48.5…"),
            # on a phone too.
            "label": {"formatter": "{b}\n{d}%", "overflow": "none", "alignTo": "edge",
                      "edgeDistance": 4},
            "labelLine": {"length": 8, "length2": 0},
            "data": [{"name": label_or_raw(lang, "source", s.get("source")),
                      "value": int(s.get("uv") or 0)} for s in sources],
        }],
    }


# Funnel steps counted from traffic data (the rest from orders).
TRAFFIC_STEPS = frozenset({"exposure", "click", "cart"})


@dataclass(frozen=True)
class FunnelStepView:
    key: str
    label: str
    value: str
    rate: str | None
    typical: str | None
    width_pct: float
    weakest: bool


def funnel_view(result: Mapping[str, Any], lang: str) -> tuple[list[FunnelStepView], str]:
    """The steps (bar widths on a log scale, exposure dwarfs payments) and the weakest-step
    sentence."""
    import math

    steps = list(result.get("steps", []))
    weakest = result.get("weakest")
    top = max((int(s.get("value") or 0) for s in steps), default=0)
    views = []
    # Without exposure the traffic steps were not measured: "—", never a 0 that reads as a
    # real figure, and no step judged.
    no_traffic = bool(steps) and not steps[0].get("value")
    judged = any(s.get("rate") is not None and s.get("typical") for s in steps)
    sentence = translate(lang, "overview.funnel_no_traffic" if no_traffic else
                         "overview.weakest_within" if judged else "overview.weakest_none")
    for s in steps:
        value = int(s.get("value") or 0)
        width = 0.0
        if top > 0 and value > 0:
            width = max(6.0, 100 * math.log10(value + 1) / math.log10(top + 1))
        typical = s.get("typical")
        typical_text = (
            translate(lang, "overview.typical", low=fmt.percent(typical[0], 0),
                      high=fmt.percent(typical[1], 0)) if typical else None
        )
        label = translate(lang, f"funnel.{s['key']}")
        rate = fmt.percent(s.get("rate"), 1) if s.get("rate") is not None else None
        shown = fmt.DASH if no_traffic and s["key"] in TRAFFIC_STEPS else fmt.count(value)
        views.append(FunnelStepView(s["key"], label, shown, rate, typical_text,
                                    width, s["key"] == weakest))
        if s["key"] == weakest and typical:
            sentence = translate(
                lang, "overview.weakest", step=label, rate=rate or fmt.DASH,
                low=fmt.percent(typical[0], 0), high=fmt.percent(typical[1], 0),
            )
    return views, sentence


def sku_row(row: Mapping[str, Any], lang: str, currency: str) -> dict[str, Any]:
    """One SKU for a table: identity fields as they are, metrics formatted."""
    cells = {k: fmt.metric_value(k, row.get(k), currency) for k in SKU_METRICS}
    return {
        "platform_sku_id": row.get("platform_sku_id") or "",
        "title": row.get("title") or "",
        "category": row.get("category") or "",
        "status": label_or_raw(lang, "status", row.get("status")),
        "cells": cells,
    }


# The period a page shows when none is asked for: the last 30 full days, as 京东商智 does
# (today is still partial).
DEFAULT_DAYS = 30
# Period shortcuts in 商智's order; their labels are period.shortcut_<key> in the catalogs.
SHORTCUTS = ("yesterday", "last_7", "last_30", "this_week", "this_month", "last_month",
             "last_year")


def default_period(today: date) -> tuple[date, date]:
    """Yesterday and the 29 days before it (store-local ``today``)."""
    yesterday = today - timedelta(days=1)
    return yesterday - timedelta(days=DEFAULT_DAYS - 1), yesterday


def period_shortcuts(today: date) -> list[tuple[str, date, date]]:
    """(key, first, last) of each shortcut. Periods end yesterday, the last full day; this
    week and this month start on their first day, which is today alone on that day itself."""
    yesterday = today - timedelta(days=1)
    week_start = today - timedelta(days=today.weekday())
    month_start = today.replace(day=1)
    previous_month_last = month_start - timedelta(days=1)
    return [
        ("yesterday", yesterday, yesterday),
        ("last_7", yesterday - timedelta(days=6), yesterday),
        ("last_30", *default_period(today)),
        ("this_week", week_start, max(week_start, yesterday)),
        ("this_month", month_start, max(month_start, yesterday)),
        ("last_month", previous_month_last.replace(day=1), previous_month_last),
        ("last_year", yesterday - timedelta(days=364), yesterday),
    ]
