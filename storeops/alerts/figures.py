"""What an alert rule measures: daily series of a figure per scope, read in few queries.

:func:`series` returns, for one metric and one scope of a rule, one :class:`ScopeSeries` per
scope member (the store; each SKU, category, traffic source or ad campaign asked for), each
with one :class:`Point` per period, oldest first. The last point is the period the rule
checks:

* ``grain="daily"``: store-local days ending on the last *closed* day, the day before
  ``as_of``'s store-local day (``periods`` days in all);
* ``grain="intraday"``: the same, ending on ``as_of``'s own day (today so far); the store's
  order figures (:data:`INTRADAY_METRICS`) are then every day's up to ``as_of``'s time of day.

Days before the store's first fact are None (no history), not zeros.

Metrics are every key of :data:`storeops.metrics.definitions.METRICS` on the cuts it supports
(``store`` is the day cut; ``sku``, ``category`` and ``source`` are the KPI engine's
dimensions; ad figures only per store or campaign), plus the special figures documented in
``docs/alert_figures.md``: ``source_share``, ``gmv_pace``, ``stock_cover``, ``ship_deadline``,
``campaign_cpc``.

Speed: the KPI figures come from the metrics warehouse (DuckDB over the store's Arrow/Parquet
snapshot) through the KPI engine's own fact queries (:mod:`storeops.metrics.queries`) and the
same :func:`~storeops.metrics.definitions.derive`, so a figure equals ``storeops kpi`` for the
same day and scope to the cent. The families of facts a metric needs run as one statement for
every scope member and every day at once (the day is part of the group key), never one query
per SKU or per day. Facts are kept per snapshot version for a few calls, so several rules on
the same figures share one read.

Values are ``Decimal`` (money in currency units with 2 places; rates as fractions; counts
whole) or ``None`` where the figure is unknown (no traffic rows for a day, a ratio over
zero).
"""

from __future__ import annotations

import calendar
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from storeops.common.errors import StoreopsError
from storeops.common.money import from_cents
from storeops.metrics import queries
from storeops.metrics.definitions import METRICS, base_facts, derive, money_ratio, rate
from storeops.metrics.queries import Grouping
from storeops.metrics.warehouse import (
    Warehouse,
    ensure_calendar,
    open_store,
    store_timezone,
)

GRAINS = ("daily", "intraday")
SCOPE_KINDS = ("store", "sku", "category", "source", "campaign")
SPECIAL_METRICS = ("source_share", "gmv_pace", "stock_cover", "ship_deadline", "ship_overdue",
                   "campaign_cpc")
MAX_PERIODS = 800
# Points one call may return (members × days): a year of every one of 2,000 SKUs is ~730,000.
MAX_POINTS = 800_000
DEFAULT_PERIODS = 57  # the checked day and 8 weeks before it (the anomaly check's history)


class FiguresError(StoreopsError, ValueError):
    pass


@dataclass(frozen=True)
class Point:
    period: str  # 'YYYY-MM-DD' (store-local day)
    value: Decimal | None


@dataclass(frozen=True)
class ScopeSeries:
    # store | sku:<platform sku id> | category:<name> | source:<name> | campaign:<name>
    scope_key: str
    scope_label: str
    points: list[Point]
    unit: str = ""  # money | rate | count | days | ratio
    # Figures behind the last point where a rule's words need them (e.g. the target to date
    # of gmv_pace, the safety and max lines of stock_cover).
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def last(self) -> Point | None:
        return self.points[-1] if self.points else None


def _unit(metric: str) -> str:
    if metric in METRICS:
        return METRICS[metric].unit
    return {"source_share": "rate", "gmv_pace": "rate", "stock_cover": "days",
            "ship_deadline": "count", "ship_overdue": "count",
            "campaign_cpc": "money"}.get(metric, "")


# --- window ---------------------------------------------------------------------------------


def local_day(as_of: datetime | date, tz: str) -> date:
    """``as_of``'s store-local day (a naive datetime is taken as UTC; a date is that day)."""
    if isinstance(as_of, datetime):
        moment = as_of if as_of.tzinfo is not None else as_of.replace(tzinfo=UTC)
        return moment.astimezone(ZoneInfo(tz)).date()
    return as_of


def window(as_of: datetime | date, tz: str, grain: str, periods: int) -> tuple[date, date]:
    """(first, last) store-local days of a series: ``periods`` days ending on the last closed
    day (daily) or on today (intraday)."""
    if grain not in GRAINS:
        raise FiguresError(f"unknown grain {grain!r}: choose one of {', '.join(GRAINS)}",
                           key="alerts.figures.unknown_grain", grain=grain,
                           choices=", ".join(GRAINS))
    if not 1 <= int(periods) <= MAX_PERIODS:
        raise FiguresError(f"periods must be 1..{MAX_PERIODS}, not {periods}",
                           key="alerts.figures.bad_periods", periods=periods,
                           limit=MAX_PERIODS)
    today = local_day(as_of, tz)
    last = today if grain == "intraday" else today - timedelta(days=1)
    return last - timedelta(days=int(periods) - 1), last


def _days(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


# --- scopes ---------------------------------------------------------------------------------


def _scope_kind(scope: Mapping[str, Any] | None) -> str:
    kind = (scope or {}).get("kind", "store")
    if kind not in SCOPE_KINDS:
        raise FiguresError(f"unknown scope kind {kind!r}: choose one of {', '.join(SCOPE_KINDS)}",
                           key="alerts.figures.unknown_scope", kind=kind,
                           choices=", ".join(SCOPE_KINDS))
    return kind


def _scope_value(scope: Mapping[str, Any]) -> str | None:
    """The scope's one member, or None for every member ("all" or absent)."""
    value = scope.get("value")
    if value is None or str(value) == "all":
        return None
    return str(value)


def _cut(kind: str) -> str:
    return "day" if kind == "store" else kind


def check_metric_scope(metric: str, scope: Mapping[str, Any] | None) -> None:
    """Raise :class:`FiguresError` when ``metric`` cannot be measured on ``scope``."""
    kind = _scope_kind(scope)
    if metric in SPECIAL_METRICS:
        allowed = {"source_share": ("source",), "gmv_pace": ("store",),
                   "stock_cover": ("sku",), "ship_deadline": ("store",),
                   "ship_overdue": ("store",),
                   "campaign_cpc": ("store", "campaign")}[metric]
    elif metric in METRICS:
        allowed = tuple(k for k in SCOPE_KINDS
                        if k != "campaign" and _cut(k) in METRICS[metric].cuts)
        if metric in ("ad_spend", "roas", "ad_gmv"):
            allowed += ("campaign",)
    else:
        raise FiguresError(f"unknown metric {metric!r}", key="alerts.figures.unknown_metric",
                           metric=metric)
    if kind not in allowed:
        raise FiguresError(
            f"metric {metric} is not measured per {kind}: choose a scope of "
            f"{', '.join(allowed)}", key="alerts.figures.metric_scope", metric=metric,
            kind=kind, choices=", ".join(allowed))


# --- facts: one statement per metric family for every scope member and day ------------------


@dataclass(frozen=True)
class _DayBy(Grouping):
    """A dimension cut (sku, category, source) crossed with the day: group key
    ``'YYYY-MM-DD|<member>'``; ``products``, when set, keeps only these products' rows."""

    products: tuple[int, ...] | None = None

    def key_and_join(self, day_col: str, table: str = "") -> tuple[str, str]:
        inner = Grouping(self.cut, self.first, self.last)
        member, join = inner.key_and_join(day_col, table)
        keep = ""
        if self.products is not None:
            keep = f" AND x.product_id IN ({', '.join(str(int(p)) for p in self.products)})"
        key = f"(cal.day_label || '|' || COALESCE(CAST({member} AS VARCHAR), ''))"
        return key, f"{join} JOIN {{calendar}} cal ON cal.day = x.{day_col}{keep}"


_cache_lock = threading.Lock()
_facts_cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
CACHE_SIZE = 24
SNAPSHOT_KEY_LEN = 5  # (db_url, store_id, base path, delta path, data_version)


def _cached(key: tuple[Any, ...], compute: Any) -> Any:
    """``compute()``, kept under ``key`` (which starts with the snapshot's key) for the next
    calls; entries of an older snapshot of the same store are dropped when a newer one
    arrives, and the least recently used beyond CACHE_SIZE."""
    with _cache_lock:
        if key in _facts_cache:
            _facts_cache.move_to_end(key)
            return _facts_cache[key]
    value = compute()
    snapshot, store = key[:SNAPSHOT_KEY_LEN], key[:2]
    with _cache_lock:
        for old in [k for k in _facts_cache if k[:2] == store and k[:SNAPSHOT_KEY_LEN] != snapshot]:
            del _facts_cache[old]
        _facts_cache[key] = value
        while len(_facts_cache) > CACHE_SIZE:
            _facts_cache.popitem(last=False)
    return value


def clear_cache() -> None:
    with _cache_lock:
        _facts_cache.clear()


def _snapshot_key(db_url: str, wh: Warehouse) -> tuple[Any, ...]:
    snap = wh.snapshot
    return (db_url, snap.store_id, str(snap.path), str(snap.delta), snap.data_version)


def _families(metrics: Iterable[str], cut: str) -> tuple[str, ...]:
    fams = queries.families_for(base_facts(metrics))
    if cut != "day":
        # per-member facts that the day cut cannot hold are read apart (products) or not at
        # all (ads and trailing windows are not per SKU, category or source)
        fams = tuple(f for f in fams if f not in ("products", "ads", "repurchase"))
    return fams


def daily_facts(db_url: str, wh: Warehouse, cut: str, first: date, last: date,
                families: tuple[str, ...], products: tuple[int, ...] | None = None,
                ) -> dict[Any, dict[str, int]]:
    """Base facts per day (cut ``day``, keys day labels) or per (day label, member) for a
    dimension cut, for ``first..last``; one statement for all the ``families``."""
    key = (*_snapshot_key(db_url, wh), cut, first, last, families, products)

    def compute() -> dict[Any, dict[str, int]]:
        if not families or products == ():
            return {}
        if cut == "day":
            return dict(queries.collect_facts(wh, Grouping("day", first, last), families))
        ensure_calendar(first, last)
        found = queries.collect_facts(wh, _DayBy(cut, first, last, products=products),
                                      families)
        out: dict[Any, dict[str, int]] = {}
        for k, facts in found.items():
            day, _, member = str(k).partition("|")
            out[(day, member)] = facts
        return out

    return _cached(key, compute)


def _products(db_url: str, wh: Warehouse) -> dict[int, tuple[str, str | None, str | None, str]]:
    """product id → (platform sku id, title, category, status), from the snapshot."""
    key = (*_snapshot_key(db_url, wh), "products")

    def compute() -> dict[int, tuple[str, str | None, str | None, str]]:
        rows = wh.run("SELECT product_id, platform_sku_id, title, category, status"
                      " FROM {products}")
        return {int(r[0]): (str(r[1]), r[2], r[3], r[4]) for r in rows}

    return _cached(key, compute)


def _on_sale_by(db_url: str, wh: Warehouse, cut: str) -> dict[str, int]:
    """SKUs on sale now per member of the cut (sell-through's denominator)."""
    key = (*_snapshot_key(db_url, wh), "on_sale", cut)

    def compute() -> dict[str, int]:
        member = "product_id" if cut == "sku" else "category"
        rows = wh.run(f"SELECT {member}, SUM(CASE WHEN status = 'on_sale' THEN 1 ELSE 0 END)"
                      f" FROM {{products}} GROUP BY {member}")
        return {("" if k is None else str(k)): int(n or 0) for k, n in rows}

    return _cached(key, compute)


def top_skus(db_url: str, wh: Warehouse, first: date, last: date, n: int) -> list[int]:
    """The ``n`` SKUs (product ids) with the largest GMV (goods) over ``first..last``; ties by
    id, SKUs without sales left out."""
    key = (*_snapshot_key(db_url, wh), "top", first, last)

    def compute() -> list[tuple[int, int]]:
        found = queries.collect_facts(wh, Grouping("sku", first, last), ("sales",))
        ranked = [(int(f.get("goods_gmv") or 0), int(k)) for k, f in found.items()
                  if k is not None and f.get("goods_gmv")]
        ranked.sort(key=lambda r: (-r[0], r[1]))
        return ranked

    return [pid for _, pid in _cached(key, compute)[:max(0, int(n))]]


def first_day(db_url: str, wh: Warehouse) -> str | None:
    """The store's first day with any fact (an order, a refund, traffic, ad spend), ISO; None
    for a store without any. Days before it have no figures (None), not zeros: a store's
    history starts there, and an anomaly check must not read a run of zeros as its past."""
    key = (*_snapshot_key(db_url, wh), "first_day")

    def compute() -> str | None:
        rows = wh.run(
            "SELECT MIN(d) FROM (SELECT MIN(placed_date) AS d FROM {lines}"
            " UNION ALL SELECT MIN(refund_date) AS d FROM {refunds}"
            " UNION ALL SELECT MIN(day) AS d FROM {traffic}"
            " UNION ALL SELECT MIN(day) AS d FROM {ads}) t")
        found = rows[0][0] if rows else None
        return None if found is None else str(found)[:10]

    return _cached(key, compute)


def _as_value(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(int(value))


def _store_name(db_url: str, store_id: int) -> str:
    from sqlalchemy import select

    from storeops.catalog.stores import STORES
    from storeops.db.engine import get_engine

    with get_engine(db_url).connect() as conn:
        name = conn.execute(select(STORES.c.name).where(STORES.c.id == store_id)).scalar()
    return str(name) if name is not None else f"store {store_id}"


def _kpi_series(db_url: str, store_id: int, metric: str, scope: Mapping[str, Any],
                first: date, last: date) -> list[ScopeSeries]:
    kind = _scope_kind(scope)
    cut = _cut(kind)
    wh = open_store(db_url, store_id)
    days = _days(first, last)
    unit = METRICS[metric].unit
    fams = _families([metric], cut)
    if kind == "store":
        facts = daily_facts(db_url, wh, "day", first, last, fams)
        start = first_day(db_url, wh) or "9999"
        points = [Point(d, _as_value(derive(facts.get(d, {}), "day", [metric])[metric])
                        if d >= start else None) for d in days]
        return [ScopeSeries("store", _store_name(db_url, store_id), points, unit)]

    value = _scope_value(scope)
    products = _products(db_url, wh)
    members: list[str] | None = None  # None: every member with activity in the window
    only: tuple[int, ...] | None = None
    if kind == "sku":
        if scope.get("top") is not None:
            only = tuple(top_skus(db_url, wh, first, last, int(scope["top"])))
            members = [str(p) for p in only]
        elif value is not None:
            by_sku = {info[0]: pid for pid, info in products.items()}
            pid = by_sku.get(value)
            only = (pid,) if pid is not None else ()
            members = [str(pid)] if pid is not None else []
    facts = daily_facts(db_url, wh, cut, first, last, fams, only)
    if members is None:
        found = sorted({m for (_, m) in facts if m != "" or kind != "sku"})
        if kind != "sku" and value is not None:
            found = [m for m in found if m == value] or [value]
        if kind == "sku":
            found.sort(key=int)
        members = found
    if len(members) * len(days) > MAX_POINTS:
        raise FiguresError(
            f"{len(members)} {kind} × {len(days)} days is more than {MAX_POINTS:,} figures:"
            " choose a top N, fewer members or fewer days", key="alerts.figures.too_many",
            members=len(members), kind=kind, days=len(days), limit=f"{MAX_POINTS:,}")
    needs_on_sale = "products" in queries.families_for(base_facts([metric]))
    start = first_day(db_url, wh) or "9999"
    on_sale = _on_sale_by(db_url, wh, cut) if needs_on_sale else {}
    out = []
    for member in members:
        if kind == "sku":
            info = products.get(int(member), (member, None, None, ""))
            scope_key = f"sku:{info[0]}"
            label = f"{info[0]} {info[1]}" if info[1] else info[0]
        else:
            scope_key = f"{kind}:{member}"
            label = member
        points = []
        for d in days:
            if d < start:
                points.append(Point(d, None))
                continue
            group = dict(facts.get((d, member), {}))
            if needs_on_sale:
                group["on_sale_products"] = on_sale.get(member, 0)
            points.append(Point(d, _as_value(derive(group, cut, [metric])[metric])))
        out.append(ScopeSeries(scope_key, label, points, unit))
    return out


def series(db_url: str, store_id: int, metric: str, scope: Mapping[str, Any] | None,
           grain: str = "daily", as_of: datetime | date | None = None,
           periods: int = DEFAULT_PERIODS) -> list[ScopeSeries]:
    """One series per scope member of ``metric``, ``periods`` points each, oldest first; the
    last point is the period a rule checks (see the module's docstring)."""
    scope = dict(scope or {"kind": "store"})
    check_metric_scope(metric, scope)
    tz = store_timezone(db_url, store_id)
    moment = datetime.now(UTC) if as_of is None else as_of
    first, last = window(moment, tz, grain, periods)
    if (grain == "intraday" and metric in INTRADAY_METRICS and _scope_kind(scope) == "store"
            and isinstance(moment, datetime)):
        return _intraday_series(db_url, store_id, metric, moment, tz, first, last)
    if metric in METRICS and _scope_kind(scope) != "campaign":
        return _kpi_series(db_url, store_id, metric, scope, first, last)
    return _special_series(db_url, store_id, metric, scope, grain, moment, first, last)


# Store figures an intraday check reads up to the same time of day on every day (the
# realtime view's definitions, storeops.metrics.realtime).
INTRADAY_METRICS = ("gmv", "goods_gmv", "orders", "buyers", "aov", "placed_amount",
                    "placed_orders")


def _intraday_series(db_url: str, store_id: int, metric: str, as_of: datetime, tz: str,
                     first: date, last: date) -> list[ScopeSeries]:
    """Each day's figure up to ``as_of``'s time of day, today's so far: deals counted at
    the moment they were made (paid; cash on delivery: placed) on the 成交 rule of their day,
    orders placed at the moment they were placed, read straight from the orders tables as
    今日实时 reads them (one statement for the whole window)."""
    from storeops.common.timeutil import day_bounds_utc
    from storeops.metrics.deal_rule import counted_at
    from storeops.metrics.realtime import _tally
    from storeops.metrics.realtime_query import window_orders

    zone = ZoneInfo(tz)
    moment = as_of if as_of.tzinfo is not None else as_of.replace(tzinfo=UTC)
    clock = moment.astimezone(zone).timetz()
    from sqlalchemy import func, select

    from storeops.db.engine import get_engine
    from storeops.orders.models import Order

    with get_engine(db_url).connect() as conn:  # the store's history starts here
        opened = conn.execute(select(func.min(Order.placed_date))
                              .where(Order.store_id == store_id)).scalar()
    begins = "9999" if opened is None else str(opened)[:10]
    start, end = day_bounds_utc(first, last, tz)
    rows = window_orders(db_url, store_id, first, last, start, end)
    by_day: dict[date, list[Any]] = {}
    for row in rows:  # an order matters to the day it was placed and the day it counts on
        days = {row.placed_date}
        at = counted_at(placed_at=row.placed_at, paid_at=row.paid_at, cod=row.cod)
        if at is not None:
            days.add(at.astimezone(zone).date())
        for day in days:
            by_day.setdefault(day, []).append(row)
    points = []
    for d in _days(first, last):
        if d < begins:
            points.append(Point(d, None))
            continue
        day = date.fromisoformat(d)
        until = min(moment, datetime.combine(day, clock).astimezone(UTC))
        facts = _tally(by_day.get(day, []), day, until, tz).facts()
        points.append(Point(d, _as_value(derive(facts, "day", [metric])[metric])))
    return [ScopeSeries("store", _store_name(db_url, store_id), points, METRICS[metric].unit,
                        {"time_of_day": clock.strftime("%H:%M")})]


def _special_series(db_url: str, store_id: int, metric: str, scope: Mapping[str, Any],
                    grain: str, as_of: datetime | date, first: date, last: date,
                    ) -> list[ScopeSeries]:
    if metric == "source_share":
        return _source_share(db_url, store_id, scope, first, last)
    if metric == "gmv_pace":
        return _gmv_pace(db_url, store_id, first, last)
    if metric == "stock_cover":
        return _stock_cover(db_url, store_id, scope, as_of, first, last)
    if metric in ("ship_deadline", "ship_overdue"):
        return _ship_deadline(db_url, store_id, metric, as_of, first, last)
    return _campaign_series(db_url, store_id, metric, scope, first, last)


def _source_share(db_url: str, store_id: int, scope: Mapping[str, Any], first: date,
                  last: date) -> list[ScopeSeries]:
    """A traffic source's share of the store's UV, per day."""
    wh = open_store(db_url, store_id)
    facts = daily_facts(db_url, wh, "source", first, last, ("traffic",))
    store_uv: dict[str, int] = {}
    members: set[str] = set()
    for (day, member), group in facts.items():
        if group.get("uv") is not None:
            store_uv[day] = store_uv.get(day, 0) + int(group["uv"])
        members.add(member)
    value = _scope_value(scope)
    wanted = sorted(members) if value is None else [value]
    out = []
    for member in wanted:
        points = []
        for d in _days(first, last):
            uv = (facts.get((d, member)) or {}).get("uv")
            total = store_uv.get(d)
            share = rate(int(uv or 0), total) if total else None
            points.append(Point(d, _as_value(share)))
        out.append(ScopeSeries(f"source:{member}", member, points, "rate"))
    return out


PACE_PLACES = Decimal("0.000001")


def _gmv_pace(db_url: str, store_id: int, first: date, last: date) -> list[ScopeSeries]:
    """Each day's month GMV to date over the month's GMV target to date (pro rata of the
    month's days, :func:`storeops.metrics.targets.progress`): 1 is on pace."""
    from storeops.db.engine import unit_of_work
    from storeops.metrics.month_pace import expected_by
    from storeops.metrics.targets import get_targets

    start = first.replace(day=1)
    wh = open_store(db_url, store_id)
    fams = _families(["gmv"], "day")
    facts = daily_facts(db_url, wh, "day", start, last, fams)
    months = sorted({d[:7] for d in _days(first, last)})
    with unit_of_work(db_url) as session:
        targets = {m: get_targets(session, store_id, m).get("gmv") for m in months}
    points: list[Point] = []
    detail: dict[str, Any] = {}
    running, month = Decimal(0), ""
    for d in _days(start, last):
        if d[:7] != month:
            running, month = Decimal(0), d[:7]
        running += derive(facts.get(d, {}), "day", ["gmv"])["gmv"]
        if d < first.isoformat():
            continue
        day = date.fromisoformat(d)
        days_in_month = calendar.monthrange(day.year, day.month)[1]
        target = targets.get(month)
        value = None
        expected = None
        if target is not None and target > 0:
            expected = expected_by(target, days_in_month, day.day)
            if expected > 0:
                value = (running / expected).quantize(PACE_PLACES)
        points.append(Point(d, value))
        detail = {"target": target, "expected_to_date": expected, "actual_to_date": running,
                  "days_elapsed": day.day, "days_in_month": days_in_month, "month": month}
    return [ScopeSeries("store", _store_name(db_url, store_id), points, "rate", detail)]


SAFETY_DAYS = 7  # domain reference §7: safety stock 7–15 days of sales (the low end)
MAX_DAYS = 45  # maximum stock 30–45 days (the high end)
COVER_SALES_DAYS = 28  # average daily sales over these days (four whole weeks)


def _stock_units(db_url: str, store_id: int, moments: list[datetime],
                 ) -> tuple[dict[int, list[int | None]], dict[int, int]]:
    """(units available per product id at each of ``moments``, safety buffer per product id).

    Where a SKU has inventory stock levels: on hand less reserved, summed over its warehouses,
    now, less the ledger's movements after each moment (never below 0). Else the products'
    stock figure, known now only: the last moment gets it, earlier ones None (None throughout
    when the stock is unknown). The safety buffer is the current one."""
    from bisect import bisect_left

    from sqlalchemy import func, select

    from storeops.catalog.models import Product
    from storeops.db.engine import get_engine
    from storeops.inventory.models import StockLevel, StockMovement

    n = len(moments)
    with get_engine(db_url).connect() as conn:
        stock: dict[int, list[int | None]] = {
            int(pid): [None] * (n - 1) + [None if units is None else int(units)]
            for pid, units in conn.execute(select(Product.id, Product.stock)
                                           .where(Product.store_id == store_id))}
        buffers: dict[int, int] = {}
        now: dict[int, int] = {}
        for pid, on_hand, reserved, buffer in conn.execute(
            select(StockLevel.product_id, func.sum(StockLevel.on_hand),
                   func.sum(StockLevel.reserved), func.sum(StockLevel.safety_buffer))
            .where(StockLevel.store_id == store_id).group_by(StockLevel.product_id)
        ):
            now[int(pid)] = int(on_hand or 0) - int(reserved or 0)
            buffers[int(pid)] = int(buffer or 0)
        after: dict[int, list[int]] = {pid: [0] * (n + 1) for pid in now}
        if now:
            for pid, at, delta in conn.execute(
                select(StockMovement.product_id, StockMovement.at,
                       StockMovement.on_hand_delta - StockMovement.reserved_delta)
                .where(StockMovement.store_id == store_id, StockMovement.at > moments[0])
            ):
                diff = after.get(int(pid))
                if diff is None or not delta:
                    continue
                k = bisect_left(moments, at if at.tzinfo else at.replace(tzinfo=UTC))
                diff[0] += int(delta)  # moved after moments[0 .. k-1]
                diff[k] -= int(delta)
    for pid, current in now.items():
        running, values = 0, []
        diff = after[pid]
        for k in range(n):
            running += diff[k]
            values.append(max(0, current - running))
        stock[pid] = values
    return stock, buffers


def _stock_cover(db_url: str, store_id: int, scope: Mapping[str, Any],
                 as_of: datetime | date, first: date, last: date) -> list[ScopeSeries]:
    """Per SKU, each day of the window: the days of sales (the 28 days ending that day) the
    available stock at the day's end (the last day: at ``as_of`` when that is earlier)
    covers."""
    tz = store_timezone(db_url, store_id)
    zone = ZoneInfo(tz)
    now = as_of if isinstance(as_of, datetime) else datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    days = _days(first, last)
    moments = [min(now, datetime.combine(date.fromisoformat(d) + timedelta(days=1),
                                         datetime.min.time(), zone).astimezone(UTC))
               for d in days]
    sales_first = first - timedelta(days=COVER_SALES_DAYS - 1)
    wh = open_store(db_url, store_id)
    products = _products(db_url, wh)
    kind = _scope_kind(scope)
    value = _scope_value(scope)
    only: tuple[int, ...] | None = None
    if kind == "sku" and scope.get("top") is not None:
        only = tuple(top_skus(db_url, wh, last - timedelta(days=COVER_SALES_DAYS - 1), last,
                              int(scope["top"])))
        wanted = list(only)
    elif kind == "sku" and value is not None:
        wanted = [pid for pid, info in products.items() if info[0] == value]
        only = tuple(wanted)
    else:  # every SKU on sale
        wanted = sorted(pid for pid, info in products.items() if info[3] == "on_sale")
    if len(wanted) * len(days) > MAX_POINTS:
        raise FiguresError(
            f"{len(wanted)} sku × {len(days)} days is more than {MAX_POINTS:,} figures:"
            " choose a top N, fewer members or fewer days", key="alerts.figures.too_many",
            members=len(wanted), kind="sku", days=len(days), limit=f"{MAX_POINTS:,}")
    facts = daily_facts(db_url, wh, "sku", sales_first, last, ("sales",), only)
    sold: dict[str, dict[str, int]] = {}
    for (day, member), group in facts.items():
        sold.setdefault(member, {})[day] = int(group.get("units") or 0)
    all_days = _days(sales_first, last)
    stock, buffers = _stock_units(db_url, store_id, moments)
    out = []
    for pid in wanted:
        info = products.get(pid, (str(pid), None, None, ""))
        by_day = sold.get(str(pid), {})
        running = [0]
        for d in all_days:
            running.append(running[-1] + by_day.get(d, 0))
        units_now = stock.get(pid, [None] * len(days))
        buffer = buffers.get(pid, 0)
        points, detail = [], {}
        for k, d in enumerate(days):
            end = k + COVER_SALES_DAYS  # index in all_days of day d, plus one
            daily = Decimal(running[end] - running[end - COVER_SALES_DAYS]) / COVER_SALES_DAYS
            units = units_now[k]
            cover = None
            if units is not None and daily > 0:
                cover = (Decimal(units) / daily).quantize(Decimal("0.1"))
            safety = Decimal(SAFETY_DAYS)
            if buffer and daily > 0:
                safety = max(safety, (Decimal(buffer) / daily).quantize(Decimal("0.1")))
            points.append(Point(d, cover))
            detail = {"available": units, "daily_units": daily.quantize(Decimal("0.01")),
                      "safety_days": safety, "max_days": Decimal(MAX_DAYS),
                      "safety_buffer": buffer, "sales_days": COVER_SALES_DAYS}
        label = f"{info[0]} {info[1]}" if info[1] else info[0]
        out.append(ScopeSeries(f"sku:{info[0]}", label, points, "days", detail))
    return out


def _ship_deadline(db_url: str, store_id: int, metric: str, as_of: datetime | date,
                   first: date, last: date) -> list[ScopeSeries]:
    """Open paid orders due within the next hours or already late (the SLA board's rules,
    :mod:`storeops.orders.sla_board`), at ``as_of``'s time of day on each day of the window.

    The last point, when it is ``as_of`` itself, is the SLA board's own count; earlier moments
    are rebuilt from the orders' times: paid (cash on delivery: placed) by then, neither
    shipped nor cancelled by then. Orders held now (locked, paused) and orders closed without
    a shipping time (finished in a file export) are left out of the earlier moments, as the
    board leaves them out now."""
    from storeops.db.engine import unit_of_work
    from storeops.orders.sla_board import board

    tz = store_timezone(db_url, store_id)
    now = as_of if isinstance(as_of, datetime) else datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    local = now.astimezone(ZoneInfo(tz))
    moments = [datetime.combine(date.fromisoformat(d), local.timetz()).astimezone(UTC)
               for d in _days(first, last)]
    counts: list[tuple[int, int]] = []
    with unit_of_work(db_url) as session:
        found = board(session, store_id, tz, now, days=1)
        earlier = [m for m in moments if m < now - timedelta(minutes=1)]
        if earlier:
            counts = _past_due_counts(session, store_id, found.hours, earlier)
    out_points = []
    detail: dict[str, Any] = {}
    for k, moment in enumerate(moments):
        if k < len(counts):
            soon, late = counts[k]
        elif moment <= now + timedelta(minutes=1):
            soon, late = found.due_soon_count, found.overdue_count
            detail = {"due_soon": soon, "overdue": late, "hours": found.hours}
        else:  # later than the check: not known yet
            out_points.append(Point(moment.astimezone(ZoneInfo(tz)).date().isoformat(), None))
            continue
        value = late + (soon if metric == "ship_deadline" else 0)
        out_points.append(Point(moment.astimezone(ZoneInfo(tz)).date().isoformat(),
                                Decimal(value)))
        if not detail or k < len(counts):
            detail = {"due_soon": soon, "overdue": late, "hours": found.hours}
    return [ScopeSeries("store", _store_name(db_url, store_id), out_points, "count", detail)]


def _past_due_counts(session: Any, store_id: int, hours: int,
                     moments: list[datetime]) -> list[tuple[int, int]]:
    """(due soon, late) at each of ``moments`` (sorted, aware), from the orders' times."""
    from bisect import bisect_left, bisect_right

    from sqlalchemy import or_, select

    from storeops.orders.models import Order
    from storeops.orders.sla import DUE_SOON_HOURS, MAX_SLA_HOURS, due_time
    from storeops.orders.sla_board import CLOSED, LOOK_BACK_DAYS

    soon_span = timedelta(hours=DUE_SOON_HOURS)
    look_back = timedelta(days=LOOK_BACK_DAYS)
    lo, hi = moments[0], moments[-1]
    rows = session.execute(
        select(Order.paid_at, Order.placed_at, Order.cod, Order.due_at, Order.shipped_at,
               Order.cancelled_at, Order.status, Order.stage)
        .where(Order.store_id == store_id, Order.deleted.is_(False),
               Order.placed_at >= lo - look_back - timedelta(hours=MAX_SLA_HOURS),
               Order.placed_at <= hi,
               or_(Order.shipped_at.is_(None), Order.shipped_at > lo),
               or_(Order.cancelled_at.is_(None), Order.cancelled_at > lo))
    ).all()
    soon = [0] * (len(moments) + 1)  # difference arrays over the moments' indexes
    late = [0] * (len(moments) + 1)
    held = ("locked", "paused")

    def add(counter: list[int], start: datetime, end: datetime, *, closed_end: bool) -> None:
        """+1 at every moment in [start, end] (closed_end) or [start, end)."""
        i = bisect_left(moments, start)
        j = bisect_right(moments, end) if closed_end else bisect_left(moments, end)
        if i < j:
            counter[i] += 1
            counter[j] -= 1

    for paid_at, placed_at, cod, due_at, shipped_at, cancelled_at, status, stage in rows:
        if stage in held or status in held:
            continue
        if shipped_at is None and (status in CLOSED or stage in CLOSED) and (
                status != "cancelled" or cancelled_at is None):
            continue  # closed without a shipping time: unknown, as on the board
        due = due_at or due_time(paid_at, hours, cod=bool(cod), placed_at=placed_at)
        owed_from = placed_at if cod else paid_at
        if due is None or owed_from is None:
            continue
        ends = [t for t in (shipped_at, cancelled_at) if t is not None]
        end = min(ends) if ends else hi + timedelta(days=1)  # open until shipped / cancelled
        # due soon: from due - 4 h (once owed) to the due time itself
        start = max(owed_from, due - soon_span)
        add(soon, start, min(due, end - timedelta(microseconds=1)), closed_end=True)
        # late: after the due time, for up to LOOK_BACK_DAYS (the board's horizon)
        add(late, max(owed_from, due + timedelta(microseconds=1)),
            min(end, due + look_back + timedelta(microseconds=1)), closed_end=False)
    out, running_soon, running_late = [], 0, 0
    for k in range(len(moments)):
        running_soon += soon[k]
        running_late += late[k]
        out.append((running_soon, running_late))
    return out


def _campaign_series(db_url: str, store_id: int, metric: str, scope: Mapping[str, Any],
                     first: date, last: date) -> list[ScopeSeries]:
    """Ad figures per campaign (or the store's, all campaigns) per day, from the ads table:
    campaign_cpc = spend / clicks, ad_spend, ad_gmv, roas = attributed GMV / spend."""
    from sqlalchemy import func, select

    from storeops.ads.models import AdSpendDaily as Ad
    from storeops.db.engine import get_engine

    kind = _scope_kind(scope)
    value = _scope_value(scope)
    group = Ad.campaign if kind == "campaign" else None
    cols = [Ad.day, func.sum(Ad.spend_cents), func.sum(Ad.clicks),
            func.sum(Ad.attributed_gmv_cents)]
    stmt = select(*cols, *([group] if group is not None else [])).where(
        Ad.store_id == store_id, Ad.day >= first, Ad.day <= last)
    if kind == "campaign" and value is not None:
        stmt = stmt.where(Ad.campaign == value)
    stmt = stmt.group_by(Ad.day, *([group] if group is not None else []))
    with get_engine(db_url).connect() as conn:
        rows = conn.execute(stmt).all()
    by: dict[str, dict[str, tuple[int, int, int]]] = {}
    for row in rows:
        member = str(row[4]) if group is not None else "store"
        day = row[0] if isinstance(row[0], date) else date.fromisoformat(str(row[0])[:10])
        by.setdefault(member, {})[day.isoformat()] = (int(row[1] or 0), int(row[2] or 0),
                                                      int(row[3] or 0))
    if kind == "store":
        by.setdefault("store", {})
        members = ["store"]
    else:
        members = sorted(by) if value is None else [value]
    out = []
    for member in members:
        points = []
        for d in _days(first, last):
            spend, clicks, gmv = by.get(member, {}).get(d, (0, 0, 0))
            if metric == "campaign_cpc":
                v: Any = money_ratio(spend, clicks)
            elif metric == "ad_spend":
                v = from_cents(spend)
            elif metric == "ad_gmv":
                v = from_cents(gmv)
            else:  # roas
                v = rate(gmv, spend)
            points.append(Point(d, _as_value(v)))
        key = "store" if member == "store" else f"campaign:{member}"
        label = _store_name(db_url, store_id) if member == "store" else member
        out.append(ScopeSeries(key, label, points, _unit(metric)))
    return out
