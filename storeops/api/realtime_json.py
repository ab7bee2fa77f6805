"""``GET /api/v1/realtime``: the 今日实时 figures as JSON (today so far against yesterday up to
the same time, by hour), the same figures as the page's (:mod:`storeops.metrics.realtime`).

Money is a decimal string, counts integers, changes fractions; times are store-local ISO 8601
with their offset. Only ``?store=`` is read: the view is always today.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import Field, create_model

from storeops.accounts.permissions import Permission
from storeops.api import schemas
from storeops.api.auth import db_url_of, require
from storeops.api.context import resolve_scope
from storeops.api.limits import STORE_NAME_CHARS
from storeops.db.engine import session_factory
from storeops.metrics import realtime_query
from storeops.metrics.definitions import METRICS
from storeops.metrics.realtime import REALTIME_METRICS

router = APIRouter(prefix="/api/v1", tags=["storeops"], responses=schemas.ERROR_RESPONSES)
_TYPES: dict[str, Any] = {"money": Decimal, "count": int}


def _fields(as_change: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in REALTIME_METRICS:
        m = METRICS[key]
        desc = f"{m.label_en} ({m.label_zh})"
        if as_change:
            out[key] = (float | None, Field(None, description=f"Relative change of {desc} "
                                            "against yesterday up to the same time"))
        else:
            out[key] = (_TYPES[m.unit] | None, Field(None, description=desc))
    return out


RealtimeValues = create_model("RealtimeValues", __base__=schemas._Model, **_fields(False))
RealtimeChanges = create_model("RealtimeChanges", __base__=schemas._Model, **_fields(True))


class RealtimeHour(schemas._Model):
    hour: int = Field(ge=0, le=23, description="Store-local hour (its 60 minutes)")
    gmv: Decimal = Field(description="成交金额 of today in that hour")
    orders: int = Field(description="成交单量 of today in that hour")
    yesterday_gmv: Decimal = Field(description="成交金额 yesterday in that hour, up to the "
                                   "same time of day")
    yesterday_orders: int


class RealtimeOut(schemas._Model):
    store: str
    timezone: str
    as_of: datetime = Field(description="Now, store-local")
    day: date = Field(description="Today, store-local")
    compared_day: date = Field(description="Yesterday")
    compared_until: datetime = Field(description="Yesterday at now's time of day")
    today: RealtimeValues  # type: ignore[valid-type]
    yesterday: RealtimeValues  # type: ignore[valid-type]
    change: RealtimeChanges  # type: ignore[valid-type]
    hours: list[RealtimeHour] = Field(description="Hours 0 to the current one")
    cumulative_today: list[Decimal | None] = Field(
        description="24 values: 成交金额 so far at the end of each hour (null: still to come)")
    cumulative_yesterday: list[Decimal] = Field(
        description="24 values: yesterday's 成交金额 at the end of each hour, whole day")


@router.get("/realtime", response_model=RealtimeOut,
            dependencies=[require(Permission.KPI_VIEW)])
def realtime(
    request: Request,
    store: str | None = Query(None, max_length=STORE_NAME_CHARS,
                              description="Store name; default: the only/first store."),
) -> dict[str, Any]:
    """Today so far against yesterday up to the same time, and by hour (read live from the
    orders, not the analytics snapshot)."""
    db = db_url_of(request)
    with session_factory(db)() as session:
        info = resolve_scope(session, store, None, None).store
    f = realtime_query.realtime_figures(db, info.id, info.timezone, realtime_query.now())
    return {
        "store": info.name, "timezone": info.timezone, "as_of": f.clock.now,
        "day": f.clock.today, "compared_day": f.clock.yesterday,
        "compared_until": f.clock.yesterday_cut, "today": f.today, "yesterday": f.yesterday,
        "change": f.change, "hours": [vars(h) for h in f.hours],
        "cumulative_today": list(f.cumulative_today),
        "cumulative_yesterday": list(f.cumulative_yesterday),
    }
