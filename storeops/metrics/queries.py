"""Base facts per group, as plain ANSI SQL over the warehouse tables.

Each function returns ``{group key: {fact: int}}`` for the store-local days ``first..last``.
A *grouping* says how rows are cut: ``all`` (one group, key ``None``), ``period`` (a calendar
table of (day, day/week/month label) rows joined on the fact's day), ``sku``,
``category`` (through products) or ``source``. The SQL uses only ANSI constructs (CTEs,
``CASE``, ``COUNT(DISTINCT)``, ``BETWEEN``) so it can run on another engine.

Which metric each query feeds, and which cuts a metric allows, is declared in
:mod:`storeops.metrics.definitions`; facts a cut does not support are simply not queried.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from storeops.metrics.periods import calendar_rows
from storeops.metrics.warehouse import Warehouse, ensure_calendar
from storeops.orders.states import OrderStatus

Facts = dict[Any, dict[str, int]]
# storeops.orders.states.is_sale, in SQL: every order that is not cancelled is a sale.
SALE = f"x.status <> '{OrderStatus.CANCELLED.value}'"


@dataclass(frozen=True)
class Grouping:
    cut: str  # all | day | week | month | sku | category | source
    first: date
    last: date
    only: tuple[Any, ...] | None = None  # restrict to these group keys (a top-N's second pass)

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
    """WHERE clause (without the keyword) and parameters: the period, and ``g.only``."""
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


def sales(wh: Warehouse, g: Grouping, out: Facts) -> None:
    key, join = g.key_and_join("placed_date")
    where, params = _period(g, key, "placed_date")
    sql = (
        f"SELECT {key} AS k, SUM(x.amount_cents), SUM(x.quantity),"
        # 动销: SKUs on sale now with a sale; one sold and since taken off sale is in neither
        # count, so the rate never passes 100%.
        f" COUNT(DISTINCT CASE WHEN x.on_sale = 1 THEN x.product_id END)"
        f" FROM {{lines}} x{join}"
        f" WHERE {where} AND {SALE}" + _group_by(g, key)
    )
    _collect(wh.run(sql, params), ("gmv", "units", "sold_products"), out, g)


def orders(wh: Warehouse, g: Grouping, out: Facts) -> None:
    """Order counts, buyers (guests count once per order), freight and repurchase.

    Orders of the group (``og``, one row per order) are counted per (group, customer), then
    rolled up per group; the NULL-customer row holds the guest orders, each a buyer.
    """
    key, join = g.key_and_join("placed_date")
    where, params = _period(g, key, "placed_date")
    sale = f"CASE WHEN {SALE} THEN 1 ELSE 0 END"
    if g.cut in ("sku", "category"):
        # An order counts once for every SKU / category it holds lines of; freight not split.
        og = (
            f"SELECT DISTINCT {key} AS k, x.order_id, x.customer_id, x.paid, {sale} AS sale,"
            f" 0 AS freight_cents FROM {{lines}} x{join} WHERE {where}"
        )
    else:
        og = (
            f"SELECT {key} AS k, x.order_id, x.customer_id, x.paid, {sale} AS sale,"
            f" x.freight_cents FROM {{orders}} x{join} WHERE {where}"
        )
    sql = (
        f"WITH og AS ({og}),"
        " pc AS (SELECT k, customer_id, COUNT(*) AS placed, SUM(sale) AS sale_orders,"
        "  SUM(sale * paid) AS paid_orders, SUM(sale * freight_cents) AS freight"
        "  FROM og GROUP BY k, customer_id)"
        " SELECT k, SUM(sale_orders), SUM(placed), SUM(paid_orders), SUM(freight),"
        " SUM(CASE WHEN customer_id IS NULL THEN sale_orders"
        "  WHEN sale_orders > 0 THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN customer_id IS NOT NULL AND sale_orders >= 2 THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN customer_id IS NOT NULL AND sale_orders >= 1 THEN 1 ELSE 0 END)"
        " FROM pc GROUP BY k"
    )
    names = ("orders", "placed_orders", "paid_orders", "freight", "buyers",
             "repeat_customers", "identified_customers")
    _collect(wh.run(sql, params), names, out, g)


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
    "sales": sales, "orders": orders, "refunds": refunds, "traffic": traffic, "ads": ads,
    "products": products_on_sale,
}
FAMILY_FACTS = {
    "sales": ("gmv", "units", "sold_products"),
    "orders": ("orders", "placed_orders", "paid_orders", "freight", "buyers",
               "repeat_customers", "identified_customers"),
    "refunds": ("refund_amount",),
    "traffic": TRAFFIC_FACTS,
    "ads": ("ad_spend", "ad_gmv"),
    "products": ("on_sale_products",),
}


def families_for(facts: set[str]) -> tuple[str, ...]:
    """The fact families (queries) that produce ``facts``."""
    return tuple(name for name, produced in FAMILY_FACTS.items() if facts & set(produced))
