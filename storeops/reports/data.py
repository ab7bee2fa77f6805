"""The figures of a weekly or monthly operations report (seed 002 §3.11).

A report covers one period of store-local days: an ISO week ``YYYY-Www`` (Monday to Sunday)
or a calendar month ``YYYY-MM``. :func:`gather` reads every section once; the XLSX and PDF
writers only lay them out. The KPI figures are :func:`storeops.metrics.service.kpi_summary`'s
for the same days, so a report equals ``storeops kpi --from FIRST --to LAST`` to the cent.

Sections: KPIs against the previous period (the week before, the month before) and against the
month's targets (``monthly_targets``; a week's sums take each of its days' share of its month's
target, its rates the target of the month holding its Thursday), the daily trend, traffic by
source and the funnel, the top and bottom SKUs with their change, what moved GMV (SKUs,
categories and order sources contributing most to the change, and GMV's change split into
visitors × conversion × AOV), refunds by reason, and where those areas hold data: the
period's promotions, stock below its safety line or out, and shipping on time.

Values: money ``Decimal``, counts ``int``, rates ``float`` fractions, ``None`` where unknown
(as the metrics services give them).
"""

from __future__ import annotations

import calendar
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storeops.common.errors import StoreopsError
from storeops.common.money import from_cents
from storeops.metrics.periods import check_day, parse_month

log = logging.getLogger(__name__)

KINDS = ("weekly", "monthly")
# The KPI rows of a report, in order (京东商智 names come from the metric definitions).
KPI_KEYS = ("gmv", "orders", "buyers", "aov", "units", "uv", "pv", "conversion_rate",
            "uv_value", "refund_amount", "refund_rate", "placed_amount", "placed_orders",
            "add_to_cart_rate", "bounce_rate", "repurchase_rate", "ad_spend", "roas")
TARGET_KEYS = ("gmv", "uv", "conversion_rate", "aov")
PRO_RATA = ("gmv", "uv")
DAILY_KEYS = ("gmv", "orders", "buyers", "aov", "uv", "conversion_rate", "refund_amount")
SKU_KEYS = ("gmv", "units", "orders", "buyers", "uv", "conversion_rate", "refund_amount")
TOP_N = 10
MOVERS_N = 5
LIST_LIMIT = 50
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


class ReportError(StoreopsError, ValueError):
    pass


@dataclass(frozen=True)
class Period:
    kind: str  # weekly | monthly
    label: str  # 2026-W44 | 2026-10
    first: date
    last: date
    prev_label: str
    prev_first: date
    prev_last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ReportError(f"unknown report kind {kind!r}: choose weekly or monthly",
                          key="reports.bad_kind", kind=kind)
    return kind


def week_label(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def month_label(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def parse_week(text: str) -> tuple[date, date]:
    """``YYYY-Www`` (ISO week) → its Monday and Sunday."""
    found = _WEEK.match((text or "").strip())
    try:
        if not found:
            raise ValueError
        monday = date.fromisocalendar(int(found.group(1)), int(found.group(2)), 1)
    except ValueError:
        raise ReportError(f"bad week {text!r}: expected YYYY-Www, an ISO week such as 2026-W44",
                          key="reports.bad_week", text=text) from None
    check_day(monday, "week")
    return monday, monday + timedelta(days=6)


def period_of(kind: str, text: str) -> Period:
    """The report period ``text`` of ``kind`` and the one before it."""
    check_kind(kind)
    if kind == "weekly":
        first, last = parse_week(text)
        prev_first, prev_last = first - timedelta(days=7), first - timedelta(days=1)
        return Period(kind, week_label(first), first, last, week_label(prev_first),
                      prev_first, prev_last)
    first, last = parse_month(text)
    prev_last = first - timedelta(days=1)
    prev_first = prev_last.replace(day=1)
    return Period(kind, month_label(first), first, last, month_label(prev_first), prev_first,
                  prev_last)


def previous_label(kind: str, moment_day: date) -> str:
    """The period a report built on ``moment_day`` covers: the last full week or month."""
    if kind == "weekly":
        monday = moment_day - timedelta(days=moment_day.weekday())
        return week_label(monday - timedelta(days=7))
    return month_label(moment_day.replace(day=1) - timedelta(days=1))


@dataclass
class ReportData:
    store: str
    store_id: int
    currency: str
    timezone: str
    period: Period
    kpis: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)  # kpi_summary of the period
    previous: dict[str, Any] = field(default_factory=dict)
    daily: list[dict[str, Any]] = field(default_factory=list)
    traffic: list[dict[str, Any]] = field(default_factory=list)
    funnel: dict[str, Any] = field(default_factory=dict)
    top_skus: list[dict[str, Any]] = field(default_factory=list)
    bottom_skus: list[dict[str, Any]] = field(default_factory=list)
    movers: list[dict[str, Any]] = field(default_factory=list)
    drivers: list[dict[str, Any]] = field(default_factory=list)  # GMV = UV × CR × AOV
    refunds: dict[str, Any] = field(default_factory=dict)
    promotions: list[dict[str, Any]] | None = None
    stock: dict[str, Any] | None = None
    shipping: dict[str, Any] | None = None


def _change(current: Any, previous: Any) -> float | None:
    from storeops.metrics.service import change

    return change(current, previous)


def week_targets(targets_by_month: dict[str, dict[str, Decimal]], first: date,
                 last: date) -> dict[str, Decimal | None]:
    """Targets over ``first..last``: a sum (GMV, UV) adds each day's share of its month's target
    (None when a month touched has none); a rate (conversion, AOV) is the target of the month
    holding the middle day (a week's Thursday)."""
    out: dict[str, Decimal | None] = {}
    middle = first + timedelta(days=(last - first).days // 2)
    for key in TARGET_KEYS:
        if key not in PRO_RATA:
            out[key] = targets_by_month.get(month_label(middle), {}).get(key)
            continue
        total = Decimal(0)
        day = first
        while day <= last:
            month_target = targets_by_month.get(month_label(day), {}).get(key)
            if month_target is None:
                total = None  # type: ignore[assignment]
                break
            total += month_target / calendar.monthrange(day.year, day.month)[1]
            day += timedelta(days=1)
        if total is None:
            out[key] = None
        else:
            out[key] = total.quantize(Decimal("0.01")) if key == "gmv" else Decimal(round(total))
    return out


def _targets(session: Session, store_id: int, period: Period) -> dict[str, Decimal | None]:
    from storeops.metrics.targets import get_targets

    months = {month_label(period.first), month_label(period.last)}
    found = {m: get_targets(session, store_id, m) for m in months}
    if period.kind == "monthly":
        return {k: found[period.label].get(k) for k in TARGET_KEYS}
    return week_targets(found, period.first, period.last)


def _kpis(summary: dict[str, Any], previous: dict[str, Any],
          targets: dict[str, Decimal | None]) -> list[dict[str, Any]]:
    from storeops.metrics.definitions import METRICS

    rows = []
    for key in KPI_KEYS:
        target = targets.get(key)
        value = summary.get(key)
        achievement = None
        if target is not None and value is not None and target > 0:
            achievement = round(float(Decimal(str(value)) / target), 6)
        rows.append({"key": key, "unit": METRICS[key].unit, "value": value,
                     "previous": previous.get(key), "change": _change(value, previous.get(key)),
                     "target": target, "achievement": achievement})
    return rows


def _sku_key(row: dict[str, Any]) -> Any:
    return row.get("product_id")


def _skus(db_url: str, store_id: int, p: Period) -> tuple[list, list, dict, dict]:
    """(top, bottom, GMV per SKU now, GMV per SKU before)."""
    from storeops.metrics.service import kpi_by

    everyone = kpi_by(db_url, store_id, p.first, p.last, dimension="sku",
                      metrics=list(SKU_KEYS))
    before = kpi_by(db_url, store_id, p.prev_first, p.prev_last, dimension="sku",
                    metrics=["gmv", "units"])
    before_by = {_sku_key(r): r for r in before}

    def with_change(row: dict[str, Any]) -> dict[str, Any]:
        prev = before_by.get(_sku_key(row), {})
        return {**row, "previous_gmv": prev.get("gmv", Decimal("0.00")),
                "previous_units": prev.get("units", 0),
                "gmv_change": _change(row["gmv"], prev.get("gmv")),
                "units_change": _change(row["units"], prev.get("units"))}

    top = [with_change(r) for r in everyone[:TOP_N]]
    # Bottom: the weakest sellers among SKUs with any activity (visited, sold or refunded).
    weakest = sorted(everyone, key=lambda r: (r["gmv"], -(r.get("uv") or 0),
                                              str(r.get("platform_sku_id"))))
    top_ids = {_sku_key(r) for r in top}
    bottom = [with_change(r) for r in weakest if _sku_key(r) not in top_ids][:TOP_N]
    now_by = {_sku_key(r): r for r in everyone}
    return top, bottom, now_by, before_by


def _movers(db_url: str, store_id: int, p: Period, now_skus: dict, before_skus: dict,
            gmv_delta: Decimal) -> list[dict[str, Any]]:
    """The SKUs, categories and order sources whose GMV moved most (largest rises and falls),
    each with its share of the store's GMV change."""
    from storeops.metrics.service import kpi_by

    out: list[dict[str, Any]] = []

    def add(dimension: str, now: dict, before: dict, name: Any) -> None:
        deltas = []
        for key in set(now) | set(before):
            cur = (now.get(key) or {}).get("gmv") or Decimal("0.00")
            old = (before.get(key) or {}).get("gmv") or Decimal("0.00")
            if cur != old:
                deltas.append((cur - old, key, cur, old))
        deltas.sort(key=lambda d: (d[0], str(d[1])))
        falls = [d for d in deltas if d[0] < 0][:MOVERS_N]
        rises = [d for d in reversed(deltas) if d[0] > 0][:MOVERS_N]
        for delta, key, cur, old in rises + falls:
            row = now.get(key) or before.get(key) or {}
            out.append({"dimension": dimension, "key": name(key, row), "title": row.get("title"),
                        "gmv": cur, "previous_gmv": old, "delta": delta,
                        "change": _change(cur, old),
                        "share_of_change": (round(float(delta / gmv_delta), 6)
                                            if gmv_delta else None)})

    add("sku", now_skus, before_skus, lambda k, r: r.get("platform_sku_id") or str(k))
    for dimension in ("category", "source"):
        now = {r[dimension]: r for r in kpi_by(db_url, store_id, p.first, p.last,
                                               dimension=dimension, metrics=["gmv"])}
        before = {r[dimension]: r for r in kpi_by(db_url, store_id, p.prev_first, p.prev_last,
                                                  dimension=dimension, metrics=["gmv"])}
        add(dimension, now, before, lambda k, r: "—" if k is None else str(k))
    return out


def _drivers(summary: dict[str, Any], previous: dict[str, Any]) -> list[dict[str, Any]]:
    """GMV = visitors × conversion × AOV: each factor's change (the why of a GMV change)."""
    return [{"key": key, "value": summary.get(key), "previous": previous.get(key),
             "change": _change(summary.get(key), previous.get(key))}
            for key in ("gmv", "uv", "conversion_rate", "aov", "buyers")]


def _refunds(session: Session, store_id: int, p: Period, gmv: Decimal) -> dict[str, Any]:
    from storeops.aftersales.models import Refund

    rows = session.execute(
        select(Refund.reason, func.count(), func.coalesce(func.sum(Refund.amount_cents), 0))
        .where(Refund.store_id == store_id, Refund.refund_date >= p.first,
               Refund.refund_date <= p.last)
        .group_by(Refund.reason)
    ).all()
    total_cents = sum(int(r[2]) for r in rows)
    reasons = [{"reason": r[0], "count": int(r[1]), "amount": from_cents(int(r[2])),
                "share": round(int(r[2]) / total_cents, 6) if total_cents else None}
               for r in rows]
    reasons.sort(key=lambda r: (-r["amount"], str(r["reason"] or "")))
    return {"amount": from_cents(total_cents), "count": sum(r["count"] for r in reasons),
            "rate": round(float(from_cents(total_cents) / gmv), 6) if gmv else None,
            "reasons": reasons}


def _promotions(session: Session, store: Any, p: Period) -> list[dict[str, Any]] | None:
    """The promotions that ran during the period, with their results where they have any."""
    try:
        from storeops.common.timeutil import day_bounds_utc
        from storeops.pricing.models import PromotionRecord
        from storeops.pricing.results_query import results_for
    except ImportError:  # pragma: no cover - the pricing area is part of storeops
        return None
    start, end = day_bounds_utc(p.first, p.last, store.timezone)
    records = session.scalars(
        select(PromotionRecord).where(
            PromotionRecord.store_id == store.id, PromotionRecord.start_at.is_not(None),
            PromotionRecord.start_at < end,
            (PromotionRecord.end_at.is_(None)) | (PromotionRecord.end_at >= start),
            PromotionRecord.status.not_in(("draft", "cancelled", "rejected")),
        ).order_by(PromotionRecord.start_at, PromotionRecord.code)
    ).all()
    out = []
    for record in records:
        row: dict[str, Any] = {"code": record.code, "name": record.name, "kind": record.kind,
                               "status": record.status, "start_at": record.start_at,
                               "end_at": record.end_at, "gmv": None, "incremental_gmv": None,
                               "discount_cost": None, "roi": None}
        try:
            r = results_for(session, record, so_far=True)
            row.update(gmv=r.total.during.gmv, incremental_gmv=r.total.incremental_gmv,
                       discount_cost=r.total.discount_cost, roi=r.total.roi)
        except StoreopsError as exc:  # not started, no window …: listed without results
            log.debug("promotion %s has no results: %s", record.code, exc)
        out.append(row)
    return out


def _stock(session: Session, store_id: int) -> dict[str, Any] | None:
    """Stock now (a report is read now): SKUs out of stock and below their safety line, from
    the stock ledger where the store keeps one, else from the products file's 库存."""
    from storeops.catalog.models import Product
    from storeops.inventory.models import StockLevel

    levels = session.execute(
        select(StockLevel.product_id, func.sum(StockLevel.on_hand - StockLevel.reserved),
               func.sum(StockLevel.safety_buffer))
        .where(StockLevel.store_id == store_id).group_by(StockLevel.product_id)
    ).all()
    products = {p.id: p for p in session.scalars(
        select(Product).where(Product.store_id == store_id))}
    rows = []
    if levels:
        source = "ledger"
        for product_id, available, safety in levels:
            available, safety = int(available or 0), int(safety or 0)
            status = "out" if available <= 0 else ("below_safety" if available < safety
                                                   else None)
            if status:
                prod = products.get(product_id)
                rows.append({"sku": prod.platform_sku_id if prod else str(product_id),
                             "title": prod.title if prod else None,
                             "available": available, "safety": safety, "status": status})
    else:
        source = "products"
        for prod in products.values():
            stock = getattr(prod, "stock", None)
            if stock is None or prod.status != "on_sale":
                continue
            if stock <= 0:
                rows.append({"sku": prod.platform_sku_id, "title": prod.title,
                             "available": int(stock), "safety": None, "status": "out"})
        if not any(getattr(p, "stock", None) is not None for p in products.values()):
            return None
    rows.sort(key=lambda r: (r["status"] != "out", r["available"] - (r["safety"] or 0),
                             r["sku"]))
    return {"source": source, "out": sum(r["status"] == "out" for r in rows),
            "below_safety": sum(r["status"] == "below_safety" for r in rows),
            "rows": rows[:LIST_LIMIT], "total": len(rows)}


def _shipping(session: Session, store_id: int, tz: str, p: Period,
              now: datetime) -> dict[str, Any] | None:
    from storeops.orders.sla import ON_TIME_TARGET, overall
    from storeops.orders.sla_board import rate_days

    days = rate_days(session, store_id, tz, p.first, p.last, now)
    total = overall(days)
    if total is None or not total.due:
        return None
    return {"target": ON_TIME_TARGET, "due": total.due, "shipped": total.shipped,
            "on_time": total.on_time, "late_open": total.late_open, "rate": total.rate,
            "days": [{"day": d.day, "due": d.due, "shipped": d.shipped, "on_time": d.on_time,
                      "late_open": d.late_open, "rate": d.rate} for d in days]}


def _optional(db_url: str, what: str, read: Any) -> Any:
    """A section of an area that may hold nothing for this store, read in a session of its
    own; a failure there leaves the section out rather than the whole report."""
    from storeops.db.engine import session_factory

    try:
        with session_factory(db_url)() as session:
            return read(session)
    except Exception:  # noqa: BLE001 - the report's core sections must still be written
        log.exception("report section %s could not be read; left out", what)
        return None


def gather(db_url: str, store_id: int, kind: str, period: str,
           now: datetime | None = None) -> ReportData:
    """Every section of the report of ``kind`` for ``period`` (see the module's docstring)."""
    from storeops.catalog.models import Store
    from storeops.common.timeutil import utcnow
    from storeops.db.engine import session_factory
    from storeops.metrics.service import (
        computed_together,
        funnel,
        kpi_series,
        kpi_summary,
        traffic_by_source,
    )

    p = period_of(kind, period)
    moment = now or utcnow()
    with session_factory(db_url)() as session:
        store = session.get(Store, store_id)
        if store is None:
            raise ReportError(f"no store with id {store_id}", key="reports.no_store",
                              store=store_id)
        data = ReportData(store.name, store.id, store.currency, store.timezone, p)
        targets = _targets(session, store_id, p)
        with computed_together(db_url, store_id, [(p.first, p.last), (p.prev_first,
                                                                      p.prev_last)],
                               [(p.first, p.last, "day"), (p.prev_first, p.prev_last, "day")]):
            data.summary = kpi_summary(db_url, store_id, p.first, p.last)
            data.previous = kpi_summary(db_url, store_id, p.prev_first, p.prev_last)
            days = kpi_series(db_url, store_id, p.first, p.last, by="day")
            before = kpi_series(db_url, store_id, p.prev_first, p.prev_last, by="day")
        data.kpis = _kpis(data.summary, data.previous, targets)
        for i, row in enumerate(days):
            prev = before[i] if i < len(before) else {}
            data.daily.append({"day": row["period"], **{k: row[k] for k in DAILY_KEYS},
                               "previous_day": prev.get("period"),
                               "previous_gmv": prev.get("gmv")})
        now_src = traffic_by_source(db_url, store_id, p.first, p.last)
        old_src = {r["source"]: r for r in traffic_by_source(db_url, store_id, p.prev_first,
                                                             p.prev_last)}
        data.traffic = [{**r, "previous_uv": old_src.get(r["source"], {}).get("uv"),
                         "change": _change(r["uv"], old_src.get(r["source"], {}).get("uv"))}
                        for r in now_src]
        data.funnel = funnel(db_url, store_id, p.first, p.last)
        data.top_skus, data.bottom_skus, now_skus, before_skus = _skus(db_url, store_id, p)
        gmv_delta = data.summary["gmv"] - data.previous["gmv"]
        data.movers = _movers(db_url, store_id, p, now_skus, before_skus, gmv_delta)
        data.drivers = _drivers(data.summary, data.previous)
        data.refunds = _refunds(session, store_id, p, data.summary["gmv"])
    data.promotions = _optional(db_url, "promotions", lambda s: _promotions(s, store, p))
    data.stock = _optional(db_url, "stock", lambda s: _stock(s, store_id))
    data.shipping = _optional(db_url, "shipping", lambda s: _shipping(s, store_id,
                                                                      store.timezone, p, moment))
    return data
