"""The 今日实时 page: today so far by hour against yesterday up to the same time.

Figures come from the OLTP tables (:mod:`storeops.metrics.realtime_query`), so an order paid a
minute ago shows at the next refresh; the page asks for its live part again every 60 s through
HTMX (the ``HX-Request`` header: the fragment alone). The period of other pages does not apply:
only ``?store=`` is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from storeops.accounts.permissions import Permission
from storeops.api.auth import CurrentUser, db_url_of, require
from storeops.api.context import Scope, resolve_scope
from storeops.api.limits import STORE_NAME_CHARS
from storeops.db.engine import session_factory
from storeops.metrics import realtime_query
from storeops.metrics.realtime import REALTIME_METRICS, Realtime
from storeops.web import format as fmt
from storeops.web.i18n import metric_label, translate
from storeops.web.pages import full_days_default, page_lang, render
from storeops.web.views import ANIMATION_MS

router = APIRouter(include_in_schema=False)
REFRESH_SECONDS = 60


@dataclass(frozen=True)
class RealtimeCard:
    """A card as the overview draws it; ``previous`` is yesterday up to the same time."""

    key: str
    label: str
    value: str
    exact: str
    change: str
    change_class: str
    previous: str


@dataclass(frozen=True)
class HourView:
    hour: str
    gmv: str
    orders: str
    yesterday_gmv: str
    yesterday_orders: str
    current: bool


def realtime_cards(figures: Realtime, lang: str, currency: str) -> list[RealtimeCard]:
    """The overview's cards, each against yesterday up to the same time."""
    cards = []
    for key in REALTIME_METRICS:
        text, css = fmt.change_badge(key, figures.change.get(key))
        value = figures.today.get(key)
        cards.append(RealtimeCard(
            key=key, label=metric_label(key, lang),
            value=fmt.metric_value(key, value, currency, compact_lang=lang),
            exact=fmt.metric_value(key, value, currency), change=text, change_class=css,
            previous=fmt.metric_value(key, figures.yesterday.get(key), currency),
        ))
    return cards


def hour_label(hour: int, lang: str) -> str:
    return translate(lang, "realtime.hour", hour=f"{hour:02d}")


def hour_rows(figures: Realtime, lang: str, currency: str) -> list[HourView]:
    return [
        HourView(hour_label(r.hour, lang), fmt.money(r.gmv, currency), fmt.count(r.orders),
                 fmt.money(r.yesterday_gmv, currency), fmt.count(r.yesterday_orders),
                 r.hour == figures.clock.hour)
        for r in figures.hours
    ]


def cumulative_chart(figures: Realtime, lang: str, currency: str) -> dict[str, Any]:
    """ECharts option: today's cumulative 成交金额 by hour (up to the current hour) against
    yesterday's whole day; static/chart_format.js writes the ¥ axis and tooltip."""
    today_name = translate(lang, "realtime.series_today")
    yesterday_name = translate(lang, "realtime.series_yesterday")

    def edge(values: tuple[Any, ...]) -> list[float | None]:
        return [None if v is None else float(v) for v in values]  # floats only at the chart

    return {
        "animationDuration": ANIMATION_MS,
        "storeops": fmt.chart_format(currency, lang, y_axes=("money",),
                                     series=("money", "money")),
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [today_name, yesterday_name], "top": 0},
        "grid": {"left": 70, "right": 24, "top": 36, "bottom": 30},
        "xAxis": {"type": "category", "boundaryGap": False,
                  "data": [hour_label(h, lang) for h in range(24)]},
        "yAxis": [{"type": "value"}],
        "series": [
            {"name": today_name, "type": "line", "itemStyle": {"color": "#e1251b"},
             "data": edge(figures.cumulative_today)},
            {"name": yesterday_name, "type": "line", "itemStyle": {"color": "#9ca3af"},
             "lineStyle": {"type": "dashed"}, "data": edge(figures.cumulative_yesterday)},
        ],
    }


def realtime_scope(request: Request, store: str | None) -> Scope:
    """The store asked for (period parameters are not read: the view is today)."""
    with session_factory(db_url_of(request))() as session:
        return full_days_default(resolve_scope(session, store, None, None))


@router.get("/realtime")
def realtime_page(
    request: Request,
    user: CurrentUser = require(Permission.KPI_VIEW),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
) -> Response:
    sc = realtime_scope(request, store)
    lang = page_lang(request)
    currency = sc.store.currency
    figures = realtime_query.realtime_figures(db_url_of(request), sc.store.id,
                                              sc.store.timezone, realtime_query.now())
    clock = figures.clock
    context = {
        "cards": realtime_cards(figures, lang, currency),
        "hours": hour_rows(figures, lang, currency),
        "charts": {"realtime": cumulative_chart(figures, lang, currency)},
        "updated": clock.now.strftime("%H:%M"),
        "cut": clock.yesterday_cut.strftime("%H:%M"),
        "today": clock.today.isoformat(),
        "yesterday": clock.yesterday.isoformat(),
        "refresh_seconds": REFRESH_SECONDS,
        "live_url": "/realtime?" + urlencode({"store": sc.store.name}),
    }
    # HTMX's refresh asks for the live part only.
    template = "_realtime_live.html" if request.headers.get("HX-Request") else "realtime.html"
    return render(request, template, context, user=user, sc=sc)

