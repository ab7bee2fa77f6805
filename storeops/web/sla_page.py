"""The SLA board (发货时效): orders due within 4 hours, overdue ones and how late, and the
on-time shipping rate by day over the last 30 days against the 98% target.

Reads the orders tables (:mod:`storeops.orders.sla_board`); only ``?store=`` is read (the
cockpit's period does not apply: the board is about now). ``ORDER_VIEW`` sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from storeops.accounts.permissions import Permission
from storeops.api.auth import CurrentUser, db_url_of, require
from storeops.api.context import Scope, resolve_scope
from storeops.api.limits import STORE_NAME_CHARS
from storeops.common.timeutil import utcnow, zone
from storeops.db.engine import session_factory
from storeops.orders.sla import DUE_SOON_HOURS, ON_TIME_TARGET, DayRate
from storeops.web import format as fmt
from storeops.web.i18n import translate
from storeops.web.pages import page_lang, render
from storeops.web.views import ANIMATION_MS

router = APIRouter(include_in_schema=False)


def now() -> datetime:
    """The board's clock (tests move it)."""
    return utcnow()


def duration(delta: timedelta, lang: str) -> str:
    """``2 小时 05 分`` / ``2 h 05 min``; ``3 天 4 小时`` past two days."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    hours, minutes = divmod(minutes, 60)
    if hours >= 48:
        return translate(lang, "ship.sla.days_hours", days=hours // 24, hours=hours % 24)
    return translate(lang, "ship.sla.hours_minutes", hours=hours, minutes=f"{minutes:02d}")


def rate_text(rate: Decimal | None) -> str:
    return fmt.percent(None if rate is None else float(rate))


@dataclass(frozen=True)
class DueRow:
    href: str
    order: str
    stage: str
    channel: str
    paid: str
    due: str
    left: str
    note: str


def _local(moment: datetime | None, tz: str) -> str:
    if moment is None:
        return fmt.DASH
    return moment.astimezone(zone(tz)).strftime("%m-%d %H:%M")


def due_rows(orders: list, tz: str, lang: str) -> list[DueRow]:
    from storeops.web.i18n import catalog

    words = catalog(lang)
    return [DueRow(
        href=f"/orders/{o.order_id}", order=o.platform_order_id,
        stage=words.get(f"orders.stage.{o.stage}", o.stage),
        channel=words.get(f"ship.sla.channel_{o.channel}", o.channel),
        paid=_local(o.paid_at, tz), due=_local(o.due_at, tz), left=duration(o.left, lang),
        note=o.ship_error or o.hold_reason or "",
    ) for o in orders]


def rate_chart(days: list[DayRate], lang: str, currency: str) -> dict[str, Any]:
    """ECharts option: the on-time rate per day (bars, red below the target) and the 98%
    target (a line); static/chart_format.js writes the percentages."""
    rate_name = translate(lang, "ship.sla.series_rate")
    target_name = translate(lang, "ship.sla.series_target",
                            target=rate_text(ON_TIME_TARGET))
    lowest = min((d.rate for d in days if d.rate is not None), default=ON_TIME_TARGET)
    floor = max(Decimal(0), min(lowest, ON_TIME_TARGET) - Decimal("0.05"))
    floor = (floor * 10).to_integral_value(rounding="ROUND_FLOOR") / 10  # 0.9, 0.8 …
    bars = []
    for d in days:
        value = None if d.rate is None else float(d.rate)
        colour = "#16a34a" if d.meets_target else "#e1251b"
        bars.append({"value": value, "itemStyle": {"color": colour}})
    return {
        "animationDuration": ANIMATION_MS,
        "storeops": fmt.chart_format(currency, lang, y_axes=("percent",),
                                     series=("percent", "percent")),
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [rate_name, target_name], "top": 0},
        "grid": {"left": 64, "right": 24, "top": 36, "bottom": 30},
        "xAxis": {"type": "category", "data": [d.day.strftime("%m-%d") for d in days]},
        "yAxis": [{"type": "value", "min": float(floor), "max": 1}],
        "series": [
            {"name": rate_name, "type": "bar", "data": bars},
            {"name": target_name, "type": "line", "symbol": "none",
             "itemStyle": {"color": "#6b7280"}, "lineStyle": {"type": "dashed"},
             "data": [float(ON_TIME_TARGET)] * len(days)},
        ],
    }


def day_rows(days: list[DayRate], lang: str) -> list[dict[str, Any]]:
    return [{"day": d.day.isoformat(), "due": fmt.count(d.due), "shipped": fmt.count(d.shipped),
             "on_time": fmt.count(d.on_time), "late_open": fmt.count(d.late_open),
             "rate": rate_text(d.rate),
             "css": "" if d.meets_target is None else ("sla-good" if d.meets_target else "sla-bad")}
            for d in reversed(days)]


def sla_scope(request: Request, store: str | None) -> Scope:
    with session_factory(db_url_of(request))() as session:
        return resolve_scope(session, store, None, None)


@router.get("/sla")
def sla_page(
    request: Request,
    user: CurrentUser = require(Permission.ORDER_VIEW),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
) -> Response:
    from storeops.orders.sla_board import board

    sc = sla_scope(request, store)
    lang = page_lang(request)
    tz = sc.store.timezone
    moment = now()
    with session_factory(db_url_of(request))() as session:
        found = board(session, sc.store.id, tz, moment)
    total = found.total
    context = {
        "hours": found.hours,
        "soon_hours": DUE_SOON_HOURS,
        "now_text": moment.astimezone(zone(tz)).strftime("%Y-%m-%d %H:%M"),
        "due_soon": due_rows(found.due_soon, tz, lang),
        "overdue": due_rows(found.overdue, tz, lang),
        "due_soon_count": found.due_soon_count,
        "overdue_count": found.overdue_count,
        "rate": rate_text(total.rate if total else None),
        "rate_css": "" if total is None or total.meets_target is None else (
            "sla-good" if total.meets_target else "sla-bad"),
        "rate_due": fmt.count(total.due if total else 0),
        "rate_on_time": fmt.count(total.on_time if total else 0),
        "target": rate_text(ON_TIME_TARGET),
        "days": day_rows(found.days, lang),
        "first_day": found.days[0].day.isoformat() if found.days else "",
        "last_day": found.days[-1].day.isoformat() if found.days else "",
        "charts": {"sla": rate_chart(found.days, lang, sc.store.currency)},
    }
    return render(request, "sla.html", context, user=user, sc=sc)


def overview_card(db_url: str, user: CurrentUser, sc: Scope, lang: str) -> dict[str, Any] | None:
    """The overview's 按时发货率 card: the last 30 days' on-time rate against 98%, the open
    orders late now, a link to the board; None for a user who may not see orders."""
    if not user.can(Permission.ORDER_VIEW):
        return None
    from urllib.parse import urlencode

    from storeops.orders.sla_board import on_time_total

    with session_factory(db_url)() as session:
        total = on_time_total(session, sc.store.id, sc.store.timezone, now())
    late = total.late_open if total else 0
    return {
        "rate": rate_text(total.rate if total else None),
        "css": "" if total is None or total.meets_target is None else (
            "sla-good" if total.meets_target else "sla-bad"),
        "counted": translate(lang, "ship.sla.counted", on_time=fmt.count(total.on_time if total
                                                                         else 0),
                             due=fmt.count(total.due if total else 0)),
        "target": translate(lang, "ship.sla.target", target=rate_text(ON_TIME_TARGET)),
        "late": translate(lang, "ship.sla.card_late", count=fmt.count(late)) if late else "",
        "href": "/sla?" + urlencode({"store": sc.store.name}),
    }
