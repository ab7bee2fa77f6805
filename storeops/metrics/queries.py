"""Base facts per group, as plain ANSI SQL over the warehouse tables.

Each fact family returns ``{group key: {fact: int}}`` for the store-local days ``first..last``.
A *grouping* says how rows are cut: ``all`` (one group, key ``None``), ``period`` (a calendar
table of (day, day/week/month label) rows joined on the fact's day), ``sku``,
``category`` (through products), ``source``, or ``windows``: any number of named date
ranges at once (a period, the one before it, the month to date, each bar of a trend), each a
group of its own, so that a page's figures come from one statement instead of one per range.

:func:`collect_facts` runs every fact family a grouping asks for as *one* statement (the
families' queries side by side under ``UNION ALL``, tagged with their family): the engine
plans and schedules them together and the caller pays one round trip.

The SQL uses only ANSI constructs (CTEs, ``CASE``, ``COUNT(DISTINCT)``, ``BETWEEN``,
``VALUES`` lists, window functions) so it can run on another engine.

Which metric each query feeds, and which cuts a metric allows, is declared in
:mod:`storeops.metrics.definitions`; facts a cut does not support are simply not queried.
The 成交 rule (which orders are deals, and on which day) is computed once per row when the
snapshot is exported (:mod:`storeops.metrics.deal_days`, column ``deal_date``); :func:`deals`
is how every query of deal figures reads it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from storeops.metrics.periods import calendar_rows
from storeops.metrics.warehouse import Warehouse, ensure_calendar

Facts = dict[Any, dict[str, int]]
# Trailing repurchase windows (商智's 近30天/近90天复购率), in days.
REPURCHASE_WINDOWS = (30, 90)
WINDOWS = "win"  # the CTE of (window key, day) rows a ``windows`` grouping joins


@dataclass(frozen=True)
class Grouping:
    cut: str  # all | day | week | month | sku | category | source | windows
    first: date
    last: date
    only: tuple[Any, ...] | None = None  # restrict to these group keys (a top-N's second pass)
    windows: tuple[tuple[str, date, date], ...] = ()  # cut "windows": (key, first, last) each
    # Only this SKU's rows (products.id): the SKU page's trend, sources and funnel. Facts that
    # are not per SKU (ad spend, freight, trailing repurchase, SKUs on sale) are not read.
    product: int | None = None

    @classmethod
    def of_windows(cls, windows: Sequence[tuple[str, date, date]]) -> Grouping:
        """Each named range ``(key, first, last)`` a group of its own (ranges may overlap)."""
        if not windows:
            raise ValueError("no windows")
        return cls("windows", min(w[1] for w in windows), max(w[2] for w in windows),
                   windows=tuple(windows))

    @property
    def is_period(self) -> bool:
        return self.cut in ("day", "week", "month")

    @property
    def is_dated(self) -> bool:
        """Groups are ranges of days (trailing windows and ad spend can be cut so)."""
        return self.cut in ("all", "windows") or self.is_period

    def key_and_join(self, day_col: str, table: str = "") -> tuple[str, str]:
        """SQL of the group key and of the join it needs, for a fact table aliased ``x``."""
        if self.cut == "all":
            return "0", ""
        if self.is_period:
            return f"cal.{self.cut}_label", (
                f" JOIN {{calendar}} cal ON cal.day = x.{day_col}"
            )
        if self.cut == "windows":  # a row falls in every window holding its day
            return "w.k", f" JOIN {WINDOWS} w ON w.day = x.{day_col}"
        if self.cut == "sku":
            return "x.product_id", ""
        if self.cut == "category":
            if table == "products":
                return "x.category", ""
            return "p.category", " LEFT JOIN {products} p ON p.product_id = x.product_id"
        if self.cut == "source":
            return "x.source", ""
        raise ValueError(f"unknown cut {self.cut!r}")

    def windows_cte(self) -> tuple[str, list[Any]]:
        """``win AS (...)``: one (key, day) row per day of each window, and its parameters."""
        rows = ", ".join("(?, CAST(? AS DATE), CAST(? AS DATE))" for _ in self.windows)
        sql = (
            f"{WINDOWS} AS (SELECT w.k, cal.day FROM (VALUES {rows}) AS w(k, lo, hi)"
            " JOIN {calendar} cal ON cal.day BETWEEN w.lo AND w.hi)"
        )
        return sql, [v for window in self.windows for v in window]


@dataclass(frozen=True)
class Part:
    """One family's query: ``SELECT key, fact…`` rows for the facts ``names``."""

    sql: str
    params: list[Any]
    names: tuple[str, ...]  # the first columns after the key; ``width`` columns in all
    width: int = 0
    nulls_are_zero: bool = False  # counts over a window without any row are a true 0
    active_only: bool = False  # fill only groups another family found active


def _period(g: Grouping, key: str, day_col: str) -> tuple[str, list[Any]]:
    """WHERE clause (without the keyword) and parameters: the period, and ``g.only``.

    Deals (``deal_date``) are already cut to the period by :func:`deals`.
    """
    if day_col == "deal_date":
        sql, params = "1 = 1", []
    else:
        sql, params = f"x.{day_col} BETWEEN ? AND ?", [g.first, g.last]
    if g.product is not None:
        sql += " AND x.product_id = ?"
        params.append(g.product)
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


def _collect(rows: list[tuple[Any, ...]], part: Part, out: Facts, g: Grouping) -> None:
    for row in rows:
        key = None if g.cut == "all" else row[0]
        if part.active_only and not (key in out or (g.only is not None and key in g.only)):
            continue  # only groups with activity in the period are reported
        bucket = out[key]
        for name, value in zip(part.names, row[1:1 + len(part.names)], strict=True):
            if value is None and part.nulls_are_zero:
                value = 0
            # NULL (a sum over no rows) stays None: derive() tells unknown from zero.
            bucket[name] = None if value is None else int(value)


def deals(table: str, columns: str, first: date, last: date) -> tuple[str, list[Any]]:
    """SQL of the 成交 rows of ``table`` (orders or lines) counted on days ``first..last``,
    each with its ``deal_date``, and the parameters.

    Which orders are deals and on which store-local day (paid: the day of payment; cash on
    delivery: the day placed; cancelled: out unless cancelled on a later day) was decided when
    the snapshot was exported (:mod:`storeops.metrics.deal_days`); ``deal_date`` is NULL for
    an order that never counts. Lines and orders are sorted by the day placed, which is the
    deal's day or close before it, so the range still skips most Parquet row groups.
    """
    sql = (
        f"SELECT {columns}, x.deal_date FROM {{{table}}} x"
        " WHERE x.deal_date BETWEEN ? AND ?"
    )
    return sql, [first, last]


LINE_COLUMNS = ("x.order_id, x.product_id, x.quantity, x.amount_cents, x.customer_id,"
                " x.source, x.on_sale")
ORDER_COLUMNS = "x.order_id, x.customer_id, x.source, x.freight_cents"


def sales(g: Grouping) -> list[Part]:
    """Goods sold (成交: line amounts after item promotions and merchant discounts), units and
    on-sale SKUs sold, on the day each order counts as a deal."""
    key, join = g.key_and_join("deal_date")
    src, params = deals("lines", LINE_COLUMNS, g.first, g.last)
    where, more = _period(g, key, "deal_date")
    sql = (
        f"SELECT {key} AS k, SUM(x.amount_cents), SUM(x.quantity),"
        # 动销: SKUs on sale now with a sale; one sold and since taken off sale is in neither
        # count, so the rate never passes 100%.
        f" COUNT(DISTINCT CASE WHEN x.on_sale = 1 THEN x.product_id END)"
        f" FROM ({src}) x{join}"
        f" WHERE {where}" + _group_by(g, key)
    )
    return [Part(sql, params + more, ("goods_gmv", "units", "sold_products"))]


def placed_sales(g: Grouping) -> list[Part]:
    """Goods ordered (下单): line amounts of every order on the day it was placed."""
    key, join = g.key_and_join("placed_date")
    where, params = _period(g, key, "placed_date")
    sql = (
        f"SELECT {key} AS k, SUM(x.amount_cents) FROM {{lines}} x{join}"
        f" WHERE {where}" + _group_by(g, key)
    )
    return [Part(sql, params, ("placed_goods",))]


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


def orders(g: Grouping) -> list[Part]:
    """成交 orders, buyers, freight and the period's repurchase, on each deal's day.

    Orders of the group (``og``, one row per group and order) are counted per (group,
    customer), then rolled up per group; the NULL-customer row holds the guest orders, each a
    buyer. By SKU or category an order counts once for every SKU / category it holds lines
    of, and its freight is not split.
    """
    key, join = g.key_and_join("deal_date")
    if g.cut in ("sku", "category") or g.product is not None:
        src, params = deals("lines", LINE_COLUMNS, g.first, g.last)
        fields = "DISTINCT {key} AS k, x.order_id, x.customer_id, 0 AS freight_cents"
    else:
        src, params = deals("orders", ORDER_COLUMNS, g.first, g.last)
        fields = "{key} AS k, x.order_id, x.customer_id, x.freight_cents"
    where, more = _period(g, key, "deal_date")
    og = f"SELECT {fields.format(key=key)} FROM ({src}) x{join} WHERE {where}"
    names = ("orders", "freight", "buyers", "repeat_customers", "identified_customers")
    return [Part(_customer_rollup(og), params + more, names)]


def placed(g: Grouping) -> list[Part]:
    """下单: every order placed in the group (unpaid and cancelled ones included), its
    customers (guests once per order) and its freight."""
    key, join = g.key_and_join("placed_date")
    where, params = _period(g, key, "placed_date")
    # An order once per SKU / category, freight not split.
    if g.cut in ("sku", "category") or g.product is not None:
        fields = f"DISTINCT {key} AS k, x.order_id, x.customer_id, 0 AS freight_cents"
        table = "lines"
    else:
        fields = f"{key} AS k, x.order_id, x.customer_id, x.freight_cents"
        table = "orders"
    og = f"SELECT {fields} FROM {{{table}}} x{join} WHERE {where}"
    # The rollup's first three sums; repeat and identified customers are the 成交 family's.
    return [Part(_customer_rollup(og), params,
                 ("placed_orders", "placed_freight", "placed_buyers"), width=5)]


def _ends(g: Grouping) -> tuple[str, list[Any], date]:
    """SQL of (group key, last day) rows, its parameters, and the earliest of those days."""
    if g.cut == "all":
        return "SELECT 0 AS k, CAST(? AS DATE) AS end_day", [g.last], g.last
    if g.cut == "windows":
        return (f"SELECT e.k, MAX(e.day) AS end_day FROM {WINDOWS} e GROUP BY e.k", [],
                min(window[2] for window in g.windows))
    sql = (
        f"SELECT cal.{g.cut}_label AS k, MAX(cal.day) AS end_day FROM {{calendar}} cal"
        f" WHERE cal.day BETWEEN ? AND ? GROUP BY cal.{g.cut}_label"
    )
    return sql, [g.first, g.last], min(day for day, _ in _period_ends(g.first, g.last, g.cut))


def repurchase(g: Grouping) -> list[Part]:
    """商智's trailing repurchase: for the W days ending on each period's last day (W = 30,
    90), identified customers with ≥ 2 deals in the window, and those with ≥ 1.

    Each deal covers the windows that end on the W days from its own day on; a customer is a
    repeat buyer for the windows ending from their second deal's day until W - 1 days after the
    first of the two. Those spans, clipped so that one customer's never overlap, become
    +1/-1 events whose running sum, read on each period's last day, is the count: one pass
    over the deals, whatever the number of periods.
    """
    if not g.is_dated or g.product is not None:
        return []
    ends_sql, ends_params, first_end = _ends(g)
    parts = []
    for window in REPURCHASE_WINDOWS:
        start = first_end - timedelta(days=window - 1)
        src, params = deals("orders", ORDER_COLUMNS, start, g.last)
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
        # No deal in the window at all is a true zero (the rate is then None, 0 / 0).
        parts.append(Part(sql, params + ends_params,
                          (f"repeat_customers_{window}d", f"customers_{window}d"),
                          nulls_are_zero=True))
    return parts


def _period_ends(first: date, last: date, cut: str) -> list[tuple[date, str]]:
    ends: dict[str, date] = {}
    for day, lab in calendar_rows(first, last, cut):
        ends[lab] = max(day, ends.get(lab, day))
    return [(day, lab) for lab, day in ends.items()]


def refunds(g: Grouping) -> list[Part]:
    key, join = g.key_and_join("refund_date")
    where, params = _period(g, key, "refund_date")
    sql = (
        f"SELECT {key} AS k, SUM(x.amount_cents) FROM {{refunds}} x{join}"
        f" WHERE {where}" + _group_by(g, key)
    )
    return [Part(sql, params, ("refund_amount",))]


TRAFFIC_FACTS = ("uv", "pv", "exposure", "clicks", "cart_users", "bounce_visits")


def traffic(g: Grouping) -> list[Part]:
    key, join = g.key_and_join("day")
    where, params = _period(g, key, "day")
    sums = ", ".join(f"SUM(x.{c})" for c in TRAFFIC_FACTS)
    sql = (
        f"SELECT {key} AS k, {sums} FROM {{traffic}} x{join}"
        f" WHERE {where}" + _group_by(g, key)
    )
    return [Part(sql, params, TRAFFIC_FACTS)]


def ads(g: Grouping) -> list[Part]:
    if not g.is_dated or g.product is not None:
        return []
    key, join = g.key_and_join("day")
    where, params = _period(g, key, "day")
    sql = (
        f"SELECT {key} AS k, SUM(x.spend_cents), SUM(x.attributed_gmv_cents)"
        f" FROM {{ads}} x{join} WHERE {where}" + _group_by(g, key)
    )
    return [Part(sql, params, ("ad_spend", "ad_gmv"))]


ON_SALE = "SELECT COUNT(*) AS n FROM {products} x WHERE x.status = 'on_sale'"


def products_on_sale(g: Grouping) -> list[Part]:
    """Products on sale now (the snapshot's status), per SKU/category or for every period."""
    names = ("on_sale_products",)
    if g.cut == "source" or g.product is not None:
        return []
    if g.cut in ("sku", "category"):
        key, join = g.key_and_join("", table="products")
        sql = (
            f"SELECT {key} AS k, SUM(CASE WHEN x.status = 'on_sale' THEN 1 ELSE 0 END)"
            f" FROM {{products}} x{join}" + _group_by(g, key)
        )
        # Only groups with activity in the period are reported; this fills their denominator.
        return [Part(sql, [], names, nulls_are_zero=True, active_only=True)]
    if g.cut == "all":
        return [Part(f"SELECT 0 AS k, n FROM ({ON_SALE}) s", [], names)]
    if g.cut == "windows":
        groups, params = f"SELECT DISTINCT e.k FROM {WINDOWS} e", []
    else:
        groups = (f"SELECT DISTINCT cal.{g.cut}_label AS k FROM {{calendar}} cal"
                  " WHERE cal.day BETWEEN ? AND ?")
        params = [g.first, g.last]
    return [Part(f"SELECT p.k, s.n FROM ({groups}) p CROSS JOIN ({ON_SALE}) s", params, names)]


def statement(g: Grouping, parts: Sequence[Part]) -> tuple[str, list[Any]]:
    """One SQL statement running every part: rows of (part index, key, fact…), the facts
    padded with NULLs to the widest part."""
    width = max(len(p.names) for p in parts)
    selects, params = [], []
    if g.cut == "windows":
        cte, params = g.windows_cte()
    for i, part in enumerate(parts):
        cols = [f"c{n}" for n in range(max(part.width, len(part.names)))]
        used = [f"q.{c}" for c in cols[:len(part.names)]]
        pad = ["NULL"] * (width - len(used))
        fields = ", ".join([f"{i} AS part", "q.k", *used, *pad])
        selects.append(f"SELECT {fields} FROM ({part.sql}) AS q(k, {', '.join(cols)})")
        params += part.params
    sql = " UNION ALL ".join(selects)
    if g.cut == "windows":
        sql = f"WITH {cte} {sql}"
    return sql, params


def collect_facts(wh: Warehouse, g: Grouping, parts: tuple[str, ...] | None = None) -> Facts:
    """Base facts of every group; ``parts`` limits which fact families are read. Every family
    asked for is one part of a single statement."""
    if g.is_period or g.cut == "windows":
        ensure_calendar(g.first, g.last)
    todo = [part for name, family in FAMILIES.items() if parts is None or name in parts
            for part in family(g)]
    out: Facts = defaultdict(dict)
    if not todo:
        return out
    sql, params = statement(g, todo)
    rows: list[list[tuple[Any, ...]]] = [[] for _ in todo]
    for row in wh.run(sql, params):
        rows[row[0]].append(row[1:])
    # Parts that fill only the groups others found active go last.
    for i in sorted(range(len(todo)), key=lambda i: todo[i].active_only):
        _collect(rows[i], todo[i], out, g)
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
