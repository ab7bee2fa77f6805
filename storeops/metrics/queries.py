"""Base facts per group, as plain ANSI SQL over the warehouse tables.

Each function returns ``{group key: {fact: int}}`` for the store-local days ``first..last``.
A *grouping* says how rows are cut: ``all`` (one group, key ``None``), ``period`` (a calendar
table of (day, day/week/month label) rows joined on the fact's day), ``sku``,
``category`` (through products) or ``source``. The SQL uses only ANSI constructs (CTEs,
``CASE``, ``COUNT(DISTINCT)``, ``BETWEEN``, ``AT TIME ZONE``, window functions) so it can run
on another engine.

Which metric each query feeds, and which cuts a metric allows, is declared in
:mod:`storeops.metrics.definitions`; facts a cut does not support are simply not queried.
The 成交 rule (which orders are deals, and on which day) is :func:`deals`, used by every
query of deal figures.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from storeops.common.timeutil import DEFAULT_TIMEZONE
from storeops.metrics.periods import calendar_rows
from storeops.metrics.warehouse import Warehouse, ensure_calendar
from storeops.orders.states import OrderStatus

Facts = dict[Any, dict[str, int]]
CANCELLED = f"'{OrderStatus.CANCELLED.value}'"
# Trailing repurchase windows (商智's 近30天/近90天复购率), in days.
REPURCHASE_WINDOWS = (30, 90)


@dataclass(frozen=True)
class Grouping:
    cut: str  # all | day | week | month | sku | category | source
    first: date
    last: date
    only: tuple[Any, ...] | None = None  # restrict to these group keys (a top-N's second pass)
    tz: str = DEFAULT_TIMEZONE  # the store's: payment times become store-local days with it

    @property
    def is_period(self) -> bool:
        return self.cut in ("day", "week", "month")

    def key_and_join(self, day_col: str, table: str = "") -> tuple[str, str]:
        """SQL of the group key and of the join it needs, for a fact table aliased ``x``."""
        if self.cut == "all":
            return "0", ""
        if self.is_period:
            return f"cal.{self.cut}_label", (
                f" JOIN {{calendar}} cal ON cal.day = x.{day_col}"
            )
        if self.cut == "sku":
            return "x.product_id", ""
        if self.cut == "category":
            if table == "products":
                return "x.category", ""
            return "p.category", " LEFT JOIN {products} p ON p.product_id = x.product_id"
        if self.cut == "source":
            return "x.source", ""
        raise ValueError(f"unknown cut {self.cut!r}")


def _period(g: Grouping, key: str, day_col: str) -> tuple[str, list[Any]]:
    """WHERE clause (without the keyword) and parameters: the period, and ``g.only``.

    Deals (``deal_date``) are already cut to the period by :func:`deals`: testing their day
    again would make the engine compute every row's local day, which is the costly part.
    """
    if day_col == "deal_date":
        sql, params = "1 = 1", []
    else:
        sql, params = f"x.{day_col} BETWEEN ? AND ?", [g.first, g.last]
    if g.only is not None:
        keys = [k for k in g.only if k is not None]
        tests = [f"{key} IN ({', '.join('?' for _ in keys)})"] if keys else []
        if len(keys) < len(g.only):
            tests.append(f"{key} IS NULL")
        sql += f" AND ({' OR '.join(tests) or '1 = 0'})"
        params += keys
    return sql, params


def _group_by(g: Grouping, key: str) -> str:
    # One group: no GROUP BY, so an empty period still yields its row of NULL sums.
    return "" if g.cut == "all" else f" GROUP BY {key}"


def _collect(rows: list[tuple[Any, ...]], names: tuple[str, ...], out: Facts, g: Grouping):
    for row in rows:
        key = None if g.cut == "all" else row[0]
        bucket = out[key]
        for name, value in zip(names, row[1:], strict=True):
            # NULL (a sum over no rows) stays None: derive() tells unknown from zero.
            bucket[name] = None if value is None else int(value)


def _local_day(column: str) -> str:
    """SQL: the store-local day of a UTC time kept as ISO text (the timezone is a parameter)."""
    return f"CAST(CAST({column} AS TIMESTAMP) AT TIME ZONE 'UTC' AT TIME ZONE ? AS DATE)"


def utc_text(day: date, tz: str) -> str:
    """The start of the store-local ``day`` in UTC, as the snapshot writes times."""
    start = datetime.combine(day, time(0), ZoneInfo(tz)).astimezone(UTC)
    return start.strftime("%Y-%m-%d %H:%M:%S")


def deals(table: str, columns: str, first: date, last: date, tz: str) -> tuple[str, list[Any]]:
    """SQL of the 成交 rows of ``table`` (orders or lines) counted on days ``first..last``,
    each with its ``deal_date``, and the parameters.

    An order is a deal on the store-local day it was paid; cash on delivery on the day it was
    placed. A cancelled order is left out when its cancellation time is unknown (file exports
    carry none) or falls on the day it counts on; one cancelled on a later day stays.

    Two branches rather than one ``OR``: each filters one sorted column by a range, which lets
    the engine skip the Parquet row groups outside the period.
    """
    lo, hi = utc_text(first, tz), utc_text(last + timedelta(days=1), tz)
    sql = (
        f"SELECT * FROM ("
        f"SELECT {columns}, {_local_day('x.paid_at')} AS deal_date FROM {{{table}}} x"
        " WHERE x.cod = 0 AND x.paid_at >= ? AND x.paid_at < ?"
        f" UNION ALL SELECT {columns}, x.placed_date AS deal_date FROM {{{table}}} x"
        " WHERE x.cod = 1 AND x.placed_date BETWEEN ? AND ?) d"
        f" WHERE d.status <> {CANCELLED} OR (d.cancelled_at IS NOT NULL"
        f" AND {_local_day('d.cancelled_at')} > d.deal_date)"
    )
    return sql, [tz, lo, hi, first, last, tz]


LINE_COLUMNS = ("x.order_id, x.product_id, x.quantity, x.amount_cents, x.customer_id,"
                " x.source, x.status, x.cancelled_at, x.on_sale")
ORDER_COLUMNS = ("x.order_id, x.customer_id, x.source, x.status, x.cancelled_at,"
                 " x.freight_cents")


def sales(wh: Warehouse, g: Grouping, out: Facts) -> None:
    """Goods sold (成交: line amounts after item promotions and merchant discounts), units and
    on-sale SKUs sold, on the day each order counts as a deal."""
    key, join = g.key_and_join("deal_date")
    src, params = deals("lines", LINE_COLUMNS, g.first, g.last, g.tz)
    where, more = _period(g, key, "deal_date")
    sql = (
        f"SELECT {key} AS k, SUM(x.amount_cents), SUM(x.quantity),"
        # 动销: SKUs on sale now with a sale; one sold and since taken off sale is in neither
        # count, so the rate never passes 100%.
        f" COUNT(DISTINCT CASE WHEN x.on_sale = 1 THEN x.product_id END)"
        f" FROM ({src}) x{join}"
        f" WHERE {where}" + _group_by(g, key)
    )
    _collect(wh.run(sql, params + more), ("goods_gmv", "units", "sold_products"), out, g)


def placed_sales(wh: Warehouse, g: Grouping, out: Facts) -> None:
    """Goods ordered (下单): line amounts of every order on the day it was placed."""
    key, join = g.key_and_join("placed_date")
    where, params = _period(g, key, "placed_date")
    sql = (
        f"SELECT {key} AS k, SUM(x.amount_cents) FROM {{lines}} x{join}"
        f" WHERE {where}" + _group_by(g, key)
    )
    _collect(wh.run(sql, params), ("placed_goods",), out, g)


def _customer_rollup(og: str) -> str:
    """Per group: orders, buyers (guests count once per order), freight, repeat and
    identified customers, from ``og`` (one row per group and order: k, order_id,
    customer_id, freight_cents)."""
    return (
        f"WITH og AS ({og}),"
        " pc AS (SELECT k, customer_id, COUNT(*) AS n, SUM(freight_cents) AS freight"
        "  FROM og GROUP BY k, customer_id)"
        " SELECT k, SUM(n), SUM(freight),"
        " SUM(CASE WHEN customer_id IS NULL THEN n ELSE 1 END),"
        " SUM(CASE WHEN customer_id IS NOT NULL AND n >= 2 THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN customer_id IS NOT NULL THEN 1 ELSE 0 END)"
        " FROM pc GROUP BY k"
    )


def orders(wh: Warehouse, g: Grouping, out: Facts) -> None:
    """成交 orders, buyers, freight and the period's repurchase, on each deal's day.

    Orders of the group (``og``, one row per group and order) are counted per (group,
    customer), then rolled up per group; the NULL-customer row holds the guest orders, each a
    buyer. By SKU or category an order counts once for every SKU / category it holds lines
    of, and its freight is not split.
    """
    key, join = g.key_and_join("deal_date")
    if g.cut in ("sku", "category"):
        src, params = deals("lines", LINE_COLUMNS, g.first, g.last, g.tz)
        fields = "DISTINCT {key} AS k, x.order_id, x.customer_id, 0 AS freight_cents"
    else:
        src, params = deals("orders", ORDER_COLUMNS, g.first, g.last, g.tz)
        fields = "{key} AS k, x.order_id, x.customer_id, x.freight_cents"
    where, more = _period(g, key, "deal_date")
    og = f"SELECT {fields.format(key=key)} FROM ({src}) x{join} WHERE {where}"
    names = ("orders", "freight", "buyers", "repeat_customers", "identified_customers")
    _collect(wh.run(_customer_rollup(og), params + more), names, out, g)


def placed(wh: Warehouse, g: Grouping, out: Facts) -> None:
    """下单: every order placed in the group (unpaid and cancelled ones included), its
    customers (guests once per order) and its freight."""
    key, join = g.key_and_join("placed_date")
    where, params = _period(g, key, "placed_date")
    if g.cut in ("sku", "category"):  # an order once per SKU / category, freight not split
        fields = f"DISTINCT {key} AS k, x.order_id, x.customer_id, 0 AS freight_cents"
        table = "lines"
    else:
        fields = f"{key} AS k, x.order_id, x.customer_id, x.freight_cents"
        table = "orders"
    og = f"SELECT {fields} FROM {{{table}}} x{join} WHERE {where}"
    sql = _customer_rollup(og)
    rows = [(r[0], r[1], r[2], r[3]) for r in wh.run(sql, params)]
    _collect(rows, ("placed_orders", "placed_freight", "placed_buyers"), out, g)


def repurchase(wh: Warehouse, g: Grouping, out: Facts) -> None:
    """商智's trailing repurchase: for the W days ending on each period's last day (W = 30,
    90), identified customers with ≥ 2 deals in the window, and those with ≥ 1.

    Each deal covers the windows that end on the W days from its own day on; a customer is a
    repeat buyer for the windows ending from their second deal's day until W - 1 days after the
    first of the two. Those spans, clipped so that one customer's never overlap, become
    +1/-1 events whose running sum, read on each period's last day, is the count: one pass
    over the deals, whatever the number of periods.
    """
    if not (g.cut == "all" or g.is_period):
        return
    if g.cut == "all":
        ends_sql, ends_params = "SELECT 0 AS k, CAST(? AS DATE) AS end_day", [g.last]
    else:
        ends_sql = (
            f"SELECT cal.{g.cut}_label AS k, MAX(cal.day) AS end_day FROM {{calendar}} cal"
            f" WHERE cal.day BETWEEN ? AND ? GROUP BY cal.{g.cut}_label"
        )
        ends_params = [g.first, g.last]
    first_end = g.last if g.cut == "all" else min(
        day for day, _ in _period_ends(g.first, g.last, g.cut)
    )
    for window in REPURCHASE_WINDOWS:
        start = first_end - timedelta(days=window - 1)
        src, params = deals("orders", ORDER_COLUMNS, start, g.last, g.tz)
        w = window - 1
        sql = (
            f"WITH d AS (SELECT x.customer_id AS c, x.deal_date AS day,"
            "  LAG(x.deal_date, 1) OVER (PARTITION BY x.customer_id"
            "   ORDER BY x.deal_date, x.order_id) AS prev1,"
            "  LAG(x.deal_date, 2) OVER (PARTITION BY x.customer_id"
            "   ORDER BY x.deal_date, x.order_id) AS prev2"
            f"  FROM ({src}) x WHERE x.customer_id IS NOT NULL),"
            # Spans [lo, hi] of window-end days; lo after the previous span's end.
            " spans AS ("
            "  SELECT 'buyer' AS kind, CASE WHEN prev1 IS NULL THEN day"
            f"   WHEN prev1 + {w} + 1 > day THEN prev1 + {w} + 1 ELSE day END AS lo,"
            f"   day + {w} AS hi FROM d"
            "  UNION ALL"
            "  SELECT 'repeat' AS kind, CASE WHEN prev2 IS NULL THEN day"
            f"   WHEN prev2 + {w} + 1 > day THEN prev2 + {w} + 1 ELSE day END AS lo,"
            f"   prev1 + {w} AS hi FROM d WHERE prev1 IS NOT NULL),"
            " ev AS (SELECT kind, lo AS day, 1 AS delta FROM spans WHERE lo <= hi"
            "  UNION ALL SELECT kind, hi + 1 AS day, -1 AS delta FROM spans WHERE lo <= hi),"
            # One row per day first: the join below is then days × periods, not deals × periods.
            " evd AS (SELECT day, SUM(CASE WHEN kind = 'repeat' THEN delta ELSE 0 END) AS r,"
            "  SUM(CASE WHEN kind = 'buyer' THEN delta ELSE 0 END) AS b FROM ev GROUP BY day),"
            f" ends AS ({ends_sql})"
            " SELECT e.k, SUM(evd.r), SUM(evd.b)"
            " FROM ends e LEFT JOIN evd ON evd.day <= e.end_day GROUP BY e.k"
        )
        rows = wh.run(sql, params + ends_params)
        names = (f"repeat_customers_{window}d", f"customers_{window}d")
        # No deal in the window at all is a true zero (the rate is then None, 0 / 0).
        _collect([(k, a or 0, b or 0) for k, a, b in rows], names, out, g)


def _period_ends(first: date, last: date, cut: str) -> list[tuple[date, str]]:
    ends: dict[str, date] = {}
    for day, lab in calendar_rows(first, last, cut):
        ends[lab] = max(day, ends.get(lab, day))
    return [(day, lab) for lab, day in ends.items()]


def refunds(wh: Warehouse, g: Grouping, out: Facts) -> None:
    key, join = g.key_and_join("refund_date")
    where, params = _period(g, key, "refund_date")
    sql = (
        f"SELECT {key} AS k, SUM(x.amount_cents) FROM {{refunds}} x{join}"
        f" WHERE {where}" + _group_by(g, key)
    )
    _collect(wh.run(sql, params), ("refund_amount",), out, g)


TRAFFIC_FACTS = ("uv", "pv", "exposure", "clicks", "cart_users", "bounce_visits")


def traffic(wh: Warehouse, g: Grouping, out: Facts) -> None:
    key, join = g.key_and_join("day")
    where, params = _period(g, key, "day")
    sums = ", ".join(f"SUM(x.{c})" for c in TRAFFIC_FACTS)
    sql = (
        f"SELECT {key} AS k, {sums} FROM {{traffic}} x{join}"
        f" WHERE {where}" + _group_by(g, key)
    )
    _collect(wh.run(sql, params), TRAFFIC_FACTS, out, g)


def ads(wh: Warehouse, g: Grouping, out: Facts) -> None:
    if not (g.cut == "all" or g.is_period):
        return
    key, join = g.key_and_join("day")
    where, params = _period(g, key, "day")
    sql = (
        f"SELECT {key} AS k, SUM(x.spend_cents), SUM(x.attributed_gmv_cents)"
        f" FROM {{ads}} x{join} WHERE {where}" + _group_by(g, key)
    )
    _collect(wh.run(sql, params), ("ad_spend", "ad_gmv"), out, g)


def products_on_sale(wh: Warehouse, g: Grouping, out: Facts) -> None:
    """Products on sale now (the snapshot's status), per SKU/category or for every period."""
    if g.cut == "source":
        return
    if g.cut in ("sku", "category"):
        key, join = g.key_and_join("", table="products")
        sql = (
            f"SELECT {key} AS k, SUM(CASE WHEN x.status = 'on_sale' THEN 1 ELSE 0 END)"
            f" FROM {{products}} x{join}" + _group_by(g, key)
        )
        # Only groups with activity in the period are reported; this fills their denominator.
        for k, n in wh.run(sql):
            if k in out or (g.only is not None and k in g.only):
                out[k]["on_sale_products"] = int(n or 0)
        return
    (n,) = wh.run("SELECT COUNT(*) FROM {products} x WHERE x.status = 'on_sale'")[0]
    if g.cut == "all":
        out[None]["on_sale_products"] = int(n)
        return
    for lab in {lab for _, lab in calendar_rows(g.first, g.last, g.cut)}:
        out[lab]["on_sale_products"] = int(n)


def collect_facts(wh: Warehouse, g: Grouping, parts: tuple[str, ...] | None = None) -> Facts:
    """Base facts of every group; ``parts`` limits which fact families are read."""
    if g.is_period:
        ensure_calendar(g.first, g.last)
    out: Facts = defaultdict(dict)
    for name, fn in FAMILIES.items():
        if parts is None or name in parts:
            fn(wh, g, out)
    return out


FAMILIES = {
    "sales": sales, "orders": orders, "placed_sales": placed_sales, "placed": placed,
    "repurchase": repurchase, "refunds": refunds, "traffic": traffic, "ads": ads,
    "products": products_on_sale,
}
FAMILY_FACTS = {
    "sales": ("goods_gmv", "units", "sold_products"),
    "orders": ("orders", "freight", "buyers", "repeat_customers", "identified_customers"),
    "placed_sales": ("placed_goods",),
    "placed": ("placed_orders", "placed_freight", "placed_buyers"),
    "repurchase": tuple(f"{kind}_{w}d" for w in REPURCHASE_WINDOWS
                        for kind in ("repeat_customers", "customers")),
    "refunds": ("refund_amount",),
    "traffic": TRAFFIC_FACTS,
    "ads": ("ad_spend", "ad_gmv"),
    "products": ("on_sale_products",),
}


def families_for(facts: set[str]) -> tuple[str, ...]:
    """The fact families (queries) that produce ``facts``."""
    return tuple(name for name, produced in FAMILY_FACTS.items() if facts & set(produced))
