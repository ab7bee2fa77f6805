"""Every metric of the store, defined once (京东商智 definitions, domain reference §2).

A metric is either a *base fact* (a sum or a distinct count the warehouse computes), a *total*
of base facts (``addends``), or a *ratio* of two other metrics. The engine computes base facts
per group with SQL (:mod:`storeops.metrics.queries`) and derives every total and ratio here, in
:func:`derive`, so that a rule lives in exactly one place.

成交 (a deal), as 京东商智 counts it: an order that is paid, counted on the store-local day of
payment (cash on delivery: on the day it was placed). A cancelled order is left out when it was
cancelled on the day it counts on, or when its cancellation time is unknown (file exports);
one cancelled on a later day stays in the day it was paid. 下单 figures count every order on
the store-local day it was placed, unpaid and cancelled ones included. Money is the goods'
amount after item promotions and merchant discounts (order lines) plus the order's freight;
freight belongs to an order, so cuts by SKU or category hold goods only.

Value types in results:

* money: ``Decimal`` with 2 places in the store's currency (cents converted once, here);
* count: ``int``;
* rate: ``float`` fraction (0..1 for rates; ROAS is a plain ratio), rounded to 6 places.

A ratio with a zero or null denominator is ``None``; so is any metric on a cut it does not
support (declared in ``cuts``), e.g. ad spend by SKU.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from storeops.common.money import CENTS, from_cents

Unit = Literal["money", "count", "rate"]
Kind = Literal["sum", "distinct", "total", "ratio"]

PERIOD_CUTS = ("day", "week", "month")
DIMENSIONS = ("sku", "category", "source")
ALL_CUTS = frozenset(PERIOD_CUTS + DIMENSIONS)
NO_DIMENSION = frozenset(PERIOD_CUTS)
RATE_PLACES = 6


@dataclass(frozen=True)
class Metric:
    key: str
    label_zh: str
    label_en: str
    unit: Unit
    kind: Kind
    facts: tuple[str, ...]  # warehouse tables read
    cuts: frozenset[str] = ALL_CUTS
    numerator: str | None = None  # ratios: metric keys
    denominator: str | None = None
    addends: tuple[str, ...] = ()  # totals: base facts added up (those the cut supports)
    base: bool = False  # a helper fact, not one of the cockpit's named metrics

    @property
    def unknown_without_rows(self) -> bool:
        """Traffic comes from its own import: no traffic rows means unknown, not zero visitors.

        Orders, refunds and ads are different: a period without any is a true zero.
        """
        return self.kind == "sum" and self.facts == _TRAFFIC


def _m(key: str, zh: str, en: str, unit: Unit, kind: Kind, facts: tuple[str, ...], **kw: Any):
    return Metric(key, zh, en, unit, kind, facts, **kw)


_ORDERS = ("orders",)
_LINES = ("order_lines",)
_TRAFFIC = ("traffic",)
_ADS = ("ads",)
_NOT_SOURCE = frozenset(PERIOD_CUTS + ("sku", "category"))

_PER_ORDER = frozenset(PERIOD_CUTS + ("source",))  # freight is not split over an order's SKUs
_WINDOWED = frozenset(PERIOD_CUTS)  # trailing windows end on a period's last day

METRICS: dict[str, Metric] = {
    m.key: m
    for m in [
        # 成交 (deals): paid orders on the day of payment, see the module's docstring.
        _m("gmv", "成交金额", "GMV", "money", "total", _LINES + _ORDERS,
           addends=("goods_gmv", "freight")),
        _m("goods_gmv", "商品成交金额", "Goods GMV", "money", "sum", _LINES),
        _m("orders", "成交单量", "Orders", "count", "distinct", _ORDERS),
        _m("buyers", "成交客户数", "Buyers", "count", "distinct", _ORDERS),
        _m("aov", "客单价", "AOV", "money", "ratio", _ORDERS,
           numerator="gmv", denominator="buyers"),
        _m("units", "成交件数", "Units", "count", "sum", _LINES),
        # 下单 (orders placed): every order on the day it was placed, unpaid ones included.
        _m("placed_amount", "下单金额", "Amount ordered", "money", "total", _LINES + _ORDERS,
           addends=("placed_goods", "placed_freight")),
        _m("placed_orders", "下单单量", "Orders placed", "count", "distinct", _ORDERS),
        _m("placed_buyers", "下单客户数", "Ordering customers", "count", "distinct", _ORDERS),
        _m("refund_amount", "退款金额", "Refund amount", "money", "sum", ("refunds",)),
        _m("refund_rate", "退款率", "Refund rate", "rate", "ratio", ("refunds",) + _LINES,
           numerator="refund_amount", denominator="gmv"),
        _m("repurchase_rate", "复购率", "Repurchase rate", "rate", "ratio", _ORDERS,
           numerator="repeat_customers", denominator="identified_customers"),
        _m("repurchase_rate_30d", "近30天复购率", "Repurchase rate (30 days)", "rate", "ratio",
           _ORDERS, cuts=_WINDOWED, numerator="repeat_customers_30d",
           denominator="customers_30d"),
        _m("repurchase_rate_90d", "近90天复购率", "Repurchase rate (90 days)", "rate", "ratio",
           _ORDERS, cuts=_WINDOWED, numerator="repeat_customers_90d",
           denominator="customers_90d"),
        _m("uv", "访客数", "Visitors (UV)", "count", "sum", _TRAFFIC),
        _m("pv", "浏览量", "Page views (PV)", "count", "sum", _TRAFFIC),
        _m("conversion_rate", "成交转化率", "Conversion rate", "rate", "ratio",
           _ORDERS + _TRAFFIC, numerator="buyers", denominator="uv"),
        _m("placed_conversion_rate", "下单转化率", "Order conversion rate", "rate", "ratio",
           _ORDERS + _TRAFFIC, numerator="placed_buyers", denominator="uv"),
        _m("uv_value", "UV价值", "UV value", "money", "ratio", _LINES + _TRAFFIC,
           numerator="gmv", denominator="uv"),
        _m("bounce_rate", "跳失率", "Bounce rate", "rate", "ratio", _TRAFFIC,
           numerator="bounce_visits", denominator="uv"),
        _m("add_to_cart_rate", "加购率", "Add-to-cart rate", "rate", "ratio", _TRAFFIC,
           numerator="cart_users", denominator="uv"),
        _m("click_through_rate", "点击率", "Click-through rate", "rate", "ratio", _TRAFFIC,
           numerator="clicks", denominator="exposure"),
        # Products are not tied to a traffic or order source, so no source cut.
        _m("sell_through", "动销率", "Sell-through", "rate", "ratio", _LINES + ("products",),
           cuts=_NOT_SOURCE, numerator="sold_products", denominator="on_sale_products"),
        # Ad spend is booked per campaign and day: it cannot be split by SKU, category or source.
        _m("ad_spend", "广告花费", "Ad spend", "money", "sum", _ADS, cuts=NO_DIMENSION),
        _m("roas", "投入产出比(ROAS)", "ROAS", "rate", "ratio", _ADS, cuts=NO_DIMENSION,
           numerator="ad_gmv", denominator="ad_spend"),
        # Base facts.
        _m("exposure", "曝光量", "Exposure", "count", "sum", _TRAFFIC, base=True),
        _m("clicks", "点击量", "Clicks", "count", "sum", _TRAFFIC, base=True),
        _m("cart_users", "加购人数", "Add-to-cart users", "count", "sum", _TRAFFIC, base=True),
        _m("bounce_visits", "跳失访客数", "Bounce visits", "count", "sum", _TRAFFIC, base=True),
        # Freight is per order: it cannot be split across the SKUs of the order.
        _m("freight", "运费", "Freight", "money", "sum", _ORDERS, cuts=_PER_ORDER, base=True),
        _m("placed_goods", "下单商品金额", "Goods ordered", "money", "sum", _LINES, base=True),
        _m("placed_freight", "下单运费", "Freight ordered", "money", "sum", _ORDERS,
           cuts=_PER_ORDER, base=True),
        _m("ad_gmv", "广告成交金额", "Ad-attributed GMV", "money", "sum", _ADS,
           cuts=NO_DIMENSION, base=True),
        _m("repeat_customers", "复购客户数", "Repeat customers", "count", "distinct", _ORDERS,
           base=True),
        _m("identified_customers", "识别客户数", "Identified customers", "count", "distinct",
           _ORDERS, base=True),
        _m("repeat_customers_30d", "近30天复购客户数", "Repeat customers (30 days)", "count",
           "distinct", _ORDERS, cuts=_WINDOWED, base=True),
        _m("customers_30d", "近30天成交客户数", "Customers (30 days)", "count", "distinct",
           _ORDERS, cuts=_WINDOWED, base=True),
        _m("repeat_customers_90d", "近90天复购客户数", "Repeat customers (90 days)", "count",
           "distinct", _ORDERS, cuts=_WINDOWED, base=True),
        _m("customers_90d", "近90天成交客户数", "Customers (90 days)", "count", "distinct",
           _ORDERS, cuts=_WINDOWED, base=True),
        # On-sale SKUs with a sale in the period (the numerator of sell-through).
        _m("sold_products", "动销商品数", "Products sold", "count", "distinct", _LINES,
           cuts=_NOT_SOURCE, base=True),
        _m("on_sale_products", "在售商品数", "Products on sale", "count", "distinct",
           ("products",), cuts=_NOT_SOURCE, base=True),
    ]
}

# The cockpit's named metrics, in display order.
METRIC_KEYS: tuple[str, ...] = tuple(k for k, m in METRICS.items() if not m.base)
BASE_FACT_KEYS: tuple[str, ...] = tuple(
    k for k, m in METRICS.items() if m.kind in ("sum", "distinct")
)
# Money facts arrive from SQL as integer cents.
CENTS_FACTS = frozenset(k for k in BASE_FACT_KEYS if METRICS[k].unit == "money")

# Funnel steps: (step key, base fact, typical step rate range from the previous step).
FUNNEL_STEPS: tuple[tuple[str, str, tuple[float, float] | None], ...] = (
    ("exposure", "exposure", None),
    ("click", "clicks", (0.05, 0.10)),
    ("cart", "cart_users", (0.15, 0.25)),
    ("order", "placed_orders", (0.30, 0.40)),  # 下单单量: every order placed
    ("pay", "orders", (0.80, 0.90)),  # 成交单量: paid (cash on delivery: placed), kept
)


class UnknownMetric(ValueError):
    pass


def metric(key: str) -> Metric:
    try:
        return METRICS[key]
    except KeyError:
        raise UnknownMetric(key) from None


def label(key: str, lang: str = "zh") -> str:
    m = metric(key)
    return m.label_en if lang.startswith("en") else m.label_zh


def supports(key: str, cut: str) -> bool:
    return cut in metric(key).cuts


def base_facts(keys: Iterable[str]) -> set[str]:
    """The base facts the metrics ``keys`` are computed from."""
    out: set[str] = set()
    for key in keys:
        m = metric(key)
        if m.kind == "ratio":
            out |= base_facts([m.numerator or "", m.denominator or ""])
        elif m.kind == "total":
            out |= set(m.addends)
        else:
            out.add(key)
    return out


def rate(numerator: int | float | None, denominator: int | float | None) -> float | None:
    """A fraction rounded to 6 places; None when the denominator is zero or unknown."""
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, RATE_PLACES)


def money_ratio(cents: int | None, denominator: int | None) -> Decimal | None:
    """Money per unit (AOV, UV value): cents / n as currency, half up to the cent."""
    if cents is None or not denominator:
        return None
    return (Decimal(cents) / Decimal(denominator) / 100).quantize(CENTS, rounding=ROUND_HALF_UP)


def total(facts: Mapping[str, int | None], key: str, cut: str) -> int:
    """A total (GMV, amount ordered) in cents: its addends that the cut supports.

    By SKU or category that is the goods alone: an order's freight is not split over its SKUs.
    """
    return sum(int(facts.get(a) or 0) for a in METRICS[key].addends if cut in METRICS[a].cuts)


def derive(
    facts: Mapping[str, int | None], cut: str = "day", keys: Iterable[str] | None = None
) -> dict[str, Any]:
    """Metrics (all, or ``keys``) from the base facts of one group (money facts in cents).

    Missing facts count as zero for sums, except traffic facts, which are None (unknown)
    when no traffic row fell in the group; metrics the cut does not support are None.
    """
    facts = dict(facts)
    for key, m in METRICS.items():  # totals first: ratios (AOV, refund rate) divide them
        if m.kind == "total":
            facts[key] = total(facts, key, cut)
    out: dict[str, Any] = {}
    for key in METRICS if keys is None else keys:
        m = METRICS[key]
        if cut not in m.cuts:
            out[key] = None
        elif m.kind != "ratio":
            raw = facts.get(key)
            if raw is None and m.unknown_without_rows:
                out[key] = None
                continue
            value = int(raw or 0)
            out[key] = from_cents(value) if m.unit == "money" else value
        else:
            num = facts.get(m.numerator or "") or 0
            den = facts.get(m.denominator or "")
            out[key] = money_ratio(num, den) if m.unit == "money" else rate(num, den)
    return out
