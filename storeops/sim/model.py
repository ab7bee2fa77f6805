"""A seeded generator of a realistic JD.com POP store (pure: no I/O, no clock).

Everything follows from ``SimConfig``: the same config gives the same store, row for row.
Daily traffic per SKU and source comes first; carts, orders and payments are drawn from it with
the funnel rates of the domain reference §2 (click 5–10% of exposure, add to cart 15–25% of
UV, order 30–40% of cart users, pay 80–90% of orders), so that conversion (buyers / UV) lands
near 4%. Orders get 1–3 lines, 满减 discounts spread over the lines with
``allocate_cents``, freight under ¥99, statuses by age, and a few refunds a few days later.
About 3% are cash on delivery (paid when the parcel arrives; a few refused at the door);
unpaid orders are cancelled by JD after 24 h; a few paid orders are cancelled, some the day
they were paid and some later, each with its cancellation time.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from storeops.common.money import allocate_cents, line_amount_cents
from storeops.orders.states import OrderStatus
from storeops.sim.catalog import SimProduct, generate_products

SOURCES = ("search", "campaign", "recommend", "category")
SOURCE_MIX = (0.53, 0.22, 0.15, 0.10)  # JD's typical traffic mix (domain reference §2)
# Monday … Sunday: weekends bring more visitors.
WEEKDAY_FACTOR = (0.93, 0.91, 0.94, 0.97, 1.03, 1.17, 1.14)
# Share of the day's orders placed in each local hour: quiet nights, lunch and evening peaks.
HOUR_WEIGHTS = (
    1.4, 0.7, 0.35, 0.25, 0.2, 0.3, 0.8, 1.8, 3.0, 4.2, 5.0, 5.0,
    4.6, 4.4, 4.8, 4.9, 4.7, 4.5, 4.6, 5.4, 6.3, 6.8, 5.8, 3.2,
)
# 满减 tiers (threshold, reduction) in cents, highest first.
FULL_REDUCTION = ((29_900, 5_000), (19_900, 3_000), (9_900, 1_000))
FREIGHT_CENTS = 600
FREE_FREIGHT_FROM_CENTS = 9_900
COD_SHARE = 0.03  # 货到付款: rare on JD today
COD_REFUSED = 0.08  # cash-on-delivery parcels refused at the door
PAID_CANCELLED = 0.015  # paid orders the buyer cancels before the parcel leaves
UNPAID_CANCEL_AFTER = timedelta(hours=24)  # JD cancels an order unpaid for 24 h
REFUND_REASONS = (
    ("七天无理由退货", 45), ("质量问题", 20), ("商品与描述不符", 12),
    ("物流破损", 10), ("发错货", 8), ("少件/漏发", 5),
)
AD_CAMPAIGNS = (
    "京东快车-搜索推广", "京东快车-推荐推广", "京东展位-首焦轮播", "购物触点-猜你喜欢",
    "京东海投-智能投放",
)
EVENT_DAYS = 3
EVENT_TRAFFIC = (3.4, 4.6, 3.1)  # traffic multiple on each day of the event


@dataclass(frozen=True)
class SimConfig:
    end: date  # last simulated store-local day (included)
    days: int = 180
    seed: int = 7
    skus: int = 300
    timezone: str = "Asia/Shanghai"
    base_uv: int = 9_000  # store UV on an ordinary weekday at the start
    growth: float = 0.30  # traffic growth over a year
    # The moment the simulation stops (aware); default the end of ``end``. A build for "today"
    # passes the clock here so that today holds only the hours gone by.
    as_of: datetime | None = None

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError("days must be at least 1")

    @property
    def start(self) -> date:
        return self.end - timedelta(days=self.days - 1)


@dataclass(frozen=True)
class SimEvent:
    name: str
    first: date
    last: date


@dataclass(slots=True)
class SimCustomer:
    platform_account: str
    masked_contact: str


@dataclass(slots=True)
class SimLine:
    line_no: int
    product_index: int
    quantity: int
    unit_price_e4: int
    amount_cents: int  # price × quantity less this line's share of the seller discount


@dataclass(slots=True)
class SimOrder:
    platform_order_id: str
    customer_index: int
    status: str
    placed_at: datetime
    paid_at: datetime | None
    shipped_at: datetime | None
    finished_at: datetime | None
    goods_cents: int
    seller_discount_cents: int
    freight_cents: int
    paid_cents: int | None
    source: str
    lines: list[SimLine]
    cod: bool = False  # cash on delivery: paid when delivered
    cancelled_at: datetime | None = None


@dataclass(slots=True)
class SimRefund:
    platform_refund_id: str
    order_index: int
    line_no: int
    product_index: int
    quantity: int
    amount_cents: int
    refunded_at: datetime
    reason: str


@dataclass(slots=True)
class SimTraffic:
    day: date
    product_index: int
    source: str
    uv: int
    pv: int
    exposure: int
    clicks: int
    cart_users: int
    bounce_visits: int


@dataclass(slots=True)
class SimAdSpend:
    day: date
    campaign: str
    spend_cents: int
    impressions: int
    clicks: int
    attributed_orders: int
    attributed_gmv_cents: int


@dataclass
class SimStore:
    config: SimConfig
    event: SimEvent
    products: list[SimProduct]
    customers: list[SimCustomer] = field(default_factory=list)
    orders: list[SimOrder] = field(default_factory=list)
    refunds: list[SimRefund] = field(default_factory=list)
    traffic: list[SimTraffic] = field(default_factory=list)
    ads: list[SimAdSpend] = field(default_factory=list)


# --- small samplers (random.Random has no Poisson or binomial) -------------------------------

def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam < 25:
        limit, k, p = math.exp(-lam), 0, rng.random()
        while p > limit:
            k += 1
            p *= rng.random()
        return k
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))


def _binomial(rng: random.Random, n: int, p: float) -> int:
    if n <= 0:
        return 0
    if n < 15:
        rand = rng.random
        return sum(1 for _ in range(n) if rand() < p)
    mean = n * p
    return min(n, max(0, round(rng.gauss(mean, math.sqrt(mean * (1 - p))))))


# --- the calendar -----------------------------------------------------------------------------

def pick_event(start: date, end: date) -> SimEvent:
    """The period's big campaign: 双11 or 618 when the period holds it, else a store anniversary
    (店庆) in the middle, so that every simulated period shows a spike."""
    for year in range(end.year, start.year - 1, -1):
        for name, first in (("双11", date(year, 11, 9)), ("618", date(year, 6, 16))):
            last = first + timedelta(days=EVENT_DAYS - 1)
            if start <= first and last <= end:
                return SimEvent(name, first, last)
    middle = start + (end - start) // 2
    first = max(start, middle - timedelta(days=1))
    return SimEvent("店庆", first, min(end, first + timedelta(days=EVENT_DAYS - 1)))


def day_traffic_factor(config: SimConfig, event: SimEvent, day: date) -> float:
    """Expected store UV of ``day`` relative to ``base_uv``: trend × weekday × campaign."""
    age = (day - config.start).days
    factor = (1 + config.growth * age / 365) * WEEKDAY_FACTOR[day.weekday()]
    if event.first <= day <= event.last:
        factor *= EVENT_TRAFFIC[min((day - event.first).days, len(EVENT_TRAFFIC) - 1)]
    return factor


# --- the generator ----------------------------------------------------------------------------

def generate_store(config: SimConfig) -> SimStore:
    rng = random.Random(config.seed)
    tz = ZoneInfo(config.timezone)
    event = pick_event(config.start, config.end)
    store = SimStore(config, event, generate_products(rng, config.skus, config.days))
    as_of = config.as_of or datetime.combine(config.end, time(23, 59, 59), tz)
    as_of = as_of.astimezone(UTC)
    urn: list[int] = []  # customer indexes, once per order: frequent buyers come back more
    ad_campaigns = rng.sample(AD_CAMPAIGNS, rng.randint(2, 4))
    ad_roas = {name: rng.uniform(2.3, 4.6) for name in ad_campaigns}
    ad_weight = {name: rng.uniform(0.5, 1.5) for name in ad_campaigns}
    hour_cum = _cumulative(HOUR_WEIGHTS)
    for day_index in range(config.days):
        day = config.start + timedelta(days=day_index)
        in_event = event.first <= day <= event.last
        elapsed = _elapsed_share(day, as_of, tz, hour_cum)
        cells, cart_weights = _day_traffic(rng, store, day_index, day, in_event, elapsed)
        first_order = len(store.orders)
        _day_orders(rng, store, day_index, day, in_event, cells, cart_weights, urn, tz,
                    hour_cum, as_of)
        _day_ads(rng, store, day, store.orders[first_order:], ad_campaigns, ad_roas, ad_weight)
    _refunds(rng, store, as_of)
    return store


def _cumulative(weights: tuple[float, ...] | list[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _elapsed_share(day: date, as_of: datetime, tz: ZoneInfo, hour_cum: list[float]) -> float:
    """The share of ``day``'s visitors that came before ``as_of`` (1 for a day gone by)."""
    local = as_of.astimezone(tz)
    if local.date() > day:
        return 1.0
    if local.date() < day:
        return 0.0
    hour = local.hour
    before = hour_cum[hour - 1] if hour else 0.0
    this_hour = hour_cum[hour] - before
    return (before + this_hour * (local.minute / 60)) / hour_cum[-1]


def _day_traffic(
    rng: random.Random, store: SimStore, day_index: int, day: date, in_event: bool,
    elapsed: float = 1.0,
) -> tuple[list[tuple[int, str]], list[int]]:
    """Append the day's traffic rows; return the cells with cart users and their counts."""
    config = store.config
    store_uv = config.base_uv * day_traffic_factor(config, store.event, day) * elapsed
    store_uv *= math.exp(rng.gauss(0, 0.05))
    mix = [share * math.exp(rng.gauss(0, 0.08)) for share in SOURCE_MIX]
    if in_event:
        mix[1] *= 2.6  # campaign pages carry the event
    mix_total = sum(mix)
    mix = [m / mix_total for m in mix]
    click_rate = rng.uniform(0.06, 0.09)
    cart_rate = rng.uniform(0.16, 0.19)
    cells: list[tuple[int, str]] = []
    cart_weights: list[int] = []
    rand, traffic = rng.random, store.traffic
    for index, product in enumerate(store.products):
        if product.off_shelf_day is not None and day_index >= product.off_shelf_day:
            continue
        sku_uv = store_uv * product.popularity
        for source, share in zip(SOURCES, mix, strict=True):
            uv = _poisson(rng, sku_uv * share)
            if uv == 0:
                continue
            # A visitor is a click that reached the product page: a few click twice.
            clicks = uv + int(uv * 0.06 * rand())
            exposure = int(clicks / (click_rate * (0.9 + 0.2 * rand()))) + 1
            cart = _binomial(rng, uv, cart_rate)
            traffic.append(
                SimTraffic(
                    day, index, source, uv, uv + int(uv * (0.8 + 1.6 * rand())), exposure,
                    clicks, cart, int(uv * (0.3 + 0.15 * rand())),
                )
            )
            if cart:
                cells.append((index, source))
                cart_weights.append(cart)
    return cells, cart_weights


def _day_orders(
    rng: random.Random,
    store: SimStore,
    day_index: int,
    day: date,
    in_event: bool,
    cells: list[tuple[int, str]],
    cart_weights: list[int],
    urn: list[int],
    tz: ZoneInfo,
    hour_cum: list[float],
    as_of: datetime,
) -> None:
    if not cells:
        return
    products = store.products
    on_sale = [
        i for i, p in enumerate(products)
        if p.off_shelf_day is None or day_index < p.off_shelf_day
    ]
    on_sale_cum = _cumulative([products[i].popularity for i in on_sale])
    order_rate = rng.uniform(0.30, 0.32)
    pay_rate = rng.uniform(0.81, 0.87)
    count = _binomial(rng, sum(cart_weights), order_rate)
    firsts = rng.choices(cells, weights=cart_weights, k=count)
    midnight = datetime.combine(day, time(0, 0), tz)
    rand = rng.random
    for first_index, source in firsts:
        chosen = [first_index]
        extra = rand()
        for _ in range(2 if extra < 0.08 else 1 if extra < 0.30 else 0):
            other = on_sale[_bisect(on_sale_cum, rand() * on_sale_cum[-1])]
            if other not in chosen:
                chosen.append(other)
        lines, gross = [], []
        for product_index in chosen:
            quantity = 1 if (q := rand()) < 0.8 else 2 if q < 0.95 else 3
            price = products[product_index].list_price_cents
            if in_event:  # 直降 during the campaign
                price = price * 9 // 10
            unit_e4 = price * 100
            gross.append(line_amount_cents(unit_e4, quantity))
            lines.append(SimLine(len(lines) + 1, product_index, quantity, unit_e4, 0))
        goods = sum(gross)
        discount = 0
        if rand() < (0.9 if in_event else 0.55):
            for threshold, cut in FULL_REDUCTION:
                if goods >= threshold:
                    discount = cut
                    break
        for line, amount, share in zip(lines, gross, allocate_cents(discount, gross),
                                       strict=True):
            line.amount_cents = amount - share
        freight = FREIGHT_CENTS if goods - discount < FREE_FREIGHT_FROM_CENTS else 0
        placed = as_of + timedelta(seconds=1)
        for _ in range(100):  # today: only the hours gone by
            hour = _bisect(hour_cum, rand() * hour_cum[-1])
            placed = midnight + timedelta(hours=hour, seconds=int(rand() * 3600))
            placed = placed.astimezone(UTC)
            if placed <= as_of:
                break
        else:
            placed = midnight.astimezone(UTC)
        customer = _customer(rng, store, urn)
        order = SimOrder(
            platform_order_id="", customer_index=customer, status="",
            placed_at=placed, paid_at=None, shipped_at=None, finished_at=None,
            goods_cents=goods, seller_discount_cents=discount, freight_cents=freight,
            paid_cents=None, source=source, lines=lines,
        )
        order.cod = rand() < COD_SHARE
        _lifecycle(rng, order, order.cod or rand() < pay_rate, in_event, as_of)
        store.orders.append(order)
    # JD order ids grow with time; number the day's orders in the order they were placed.
    day_orders = store.orders[len(store.orders) - count:]
    day_orders.sort(key=lambda o: o.placed_at)
    base = 280_000_000_000 + day_index * 40_000
    for n, order in enumerate(day_orders):
        order.platform_order_id = str(base + n * 7 + rng.randrange(7))
    store.orders[len(store.orders) - count:] = day_orders


def _bisect(cumulative: list[float], x: float) -> int:
    lo, hi = 0, len(cumulative) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cumulative[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _customer(rng: random.Random, store: SimStore, urn: list[int]) -> int:
    """An existing customer (about a quarter of orders), else a new JD account."""
    if urn and rng.random() < 0.27:
        index = rng.choice(urn)
    else:
        index = len(store.customers)
        n = index + 1
        store.customers.append(
            SimCustomer(
                platform_account=f"jd_{n:06d}{rng.getrandbits(28):07x}",
                masked_contact=f"1{rng.choice('3578')}{rng.randrange(10)}****"
                f"{rng.randrange(10_000):04d}",
            )
        )
    urn.append(index)
    return index


def _lifecycle(
    rng: random.Random, order: SimOrder, pays: bool, in_event: bool, as_of: datetime
) -> None:
    """Status and times by age: JD cancels unpaid orders after 24 h; paid ones ship within a
    day or two (longer in a campaign) and finish when the buyer confirms a few days later.
    Cash on delivery ships unpaid and is paid (or refused) when it arrives."""
    placed = order.placed_at
    if not pays:
        if as_of - placed < UNPAID_CANCEL_AFTER:
            order.status = OrderStatus.WAIT_PAY
        else:
            order.status = OrderStatus.CANCELLED
            order.cancelled_at = placed + UNPAID_CANCEL_AFTER
        return
    if order.cod:
        ready = placed + timedelta(seconds=int(60 + rng.expovariate(1 / 600)))
    else:
        ready = placed + timedelta(seconds=int(30 + rng.expovariate(1 / 420)))
        if ready > as_of:
            order.status = OrderStatus.WAIT_PAY
            return
        order.paid_at = ready
        order.paid_cents = _payable(order)
        if rng.random() < PAID_CANCELLED:  # the buyer cancels before the parcel leaves
            # Within minutes to two days: some on the day of payment, some on a later day.
            cancelled = ready + timedelta(minutes=rng.uniform(5, 48 * 60))
            if cancelled <= as_of:
                order.status = OrderStatus.CANCELLED
                order.cancelled_at = cancelled
                return
    ship_hours = rng.uniform(2, 40 if in_event else 26)
    shipped = ready + timedelta(hours=ship_hours)
    if shipped > as_of:
        order.status = OrderStatus.WAIT_STOCK_OUT
        return
    order.shipped_at = shipped
    finished = shipped + timedelta(hours=rng.uniform(40, 160))
    if order.cod and rng.random() < COD_REFUSED:  # refused at the door: never paid
        refused = shipped + timedelta(hours=rng.uniform(20, 60))
        if refused <= as_of:
            order.status = OrderStatus.CANCELLED
            order.cancelled_at = refused
            return
    if finished > as_of:
        order.status = OrderStatus.SHIPPED
        return
    if order.cod:  # the courier collects on delivery
        order.paid_at = finished
        order.paid_cents = _payable(order)
    order.finished_at = finished
    order.status = OrderStatus.FINISHED


def _payable(order: SimOrder) -> int:
    return order.goods_cents - order.seller_discount_cents + order.freight_cents


def _refunds(rng: random.Random, store: SimStore, as_of: datetime) -> None:
    """About 2.6% of shipped orders come back a few days after shipping."""
    reasons = [r for r, _ in REFUND_REASONS]
    weights = [w for _, w in REFUND_REASONS]
    for order_index, order in enumerate(store.orders):
        if order.shipped_at is None or rng.random() >= 0.026:
            continue
        refunded_at = order.shipped_at + timedelta(hours=rng.uniform(24, 7 * 24))
        if refunded_at > as_of:
            continue
        line = rng.choice(order.lines)
        quantity = line.quantity if rng.random() < 0.8 else 1
        amount = allocate_cents(line.amount_cents, [quantity, line.quantity - quantity])[0]
        store.refunds.append(
            SimRefund(
                platform_refund_id=str(6_100_000_000 + len(store.refunds) * 13
                                       + rng.randrange(13)),
                order_index=order_index, line_no=line.line_no,
                product_index=line.product_index, quantity=quantity, amount_cents=amount,
                refunded_at=refunded_at, reason=rng.choices(reasons, weights)[0],
            )
        )


def _day_ads(
    rng: random.Random,
    store: SimStore,
    day: date,
    orders: list[SimOrder],
    campaigns: list[str],
    roas: dict[str, float],
    weights: dict[str, float],
) -> None:
    """京准通 spend of the day: 5–8% of sales, split over the campaigns, ROAS around 2–5."""
    sales = sum(order_gmv_cents(o) for o in orders if o.status != OrderStatus.CANCELLED)
    if sales <= 0:
        return
    aov = sales / max(1, len(orders))
    budget = sales * rng.uniform(0.05, 0.08)
    total_weight = sum(weights.values())
    for name in campaigns:
        spend = int(budget * weights[name] / total_weight)
        if spend <= 0:
            continue
        gmv = int(spend * max(1.5, min(6.0, roas[name] * math.exp(rng.gauss(0, 0.15)))))
        clicks = max(1, int(spend / rng.uniform(80, 250)))  # CPC ¥0.8–2.5
        store.ads.append(
            SimAdSpend(
                day, name, spend, int(clicks / rng.uniform(0.008, 0.025)), clicks,
                max(1, round(gmv / aov)), gmv,
            )
        )


# --- figures of a generated store (used by targets and tests) --------------------------------

def deal_day(order: SimOrder, tz: ZoneInfo) -> date | None:
    """The store-local day an order counts as 成交 (京东商智), or None when it never does.

    The simulator's own reading of storeops.metrics.queries.deals (tests check that the two
    agree on a written store): paid day, cash on delivery on the order day; cancelled on that
    day (or at an unknown time) is no deal.
    """
    if order.cod:
        day = order.placed_at.astimezone(tz).date()
    elif order.paid_at is not None:
        day = order.paid_at.astimezone(tz).date()
    else:
        return None
    if order.status == OrderStatus.CANCELLED and (
        order.cancelled_at is None or order.cancelled_at.astimezone(tz).date() <= day
    ):
        return None
    return day


def order_gmv_cents(order: SimOrder) -> int:
    """An order's 成交金额 when it is a deal: line amounts plus freight."""
    return sum(line.amount_cents for line in order.lines) + order.freight_cents


@dataclass(frozen=True)
class DailyFigures:
    gmv_cents: int
    uv: int
    buyers: int


def daily_figures(store: SimStore) -> dict[date, DailyFigures]:
    """GMV, UV and buyers (成交, as storeops counts them) per store-local day."""
    tz = ZoneInfo(store.config.timezone)
    uv: dict[date, int] = {}
    for row in store.traffic:
        uv[row.day] = uv.get(row.day, 0) + row.uv
    gmv: dict[date, int] = {}
    buyers: dict[date, set[int]] = {}
    for order in store.orders:
        day = deal_day(order, tz)
        if day is None:
            continue
        gmv[day] = gmv.get(day, 0) + order_gmv_cents(order)
        buyers.setdefault(day, set()).add(order.customer_index)
    return {
        day: DailyFigures(gmv.get(day, 0), uv.get(day, 0), len(buyers.get(day, ())))
        for day in sorted(set(uv) | set(gmv))
    }


def monthly_targets(
    store: SimStore, uplift: Decimal = Decimal("1.08")
) -> dict[str, dict[str, Decimal]]:
    """Targets for the end month and the month before: the recent daily run rate (last 28
    days, campaign days left out) over the whole month, raised by ``uplift``.

    Money in currency units, rates as fractions (the ``monthly_targets`` table's units).
    """
    figures = daily_figures(store)
    event = store.event
    recent = [
        f for day, f in figures.items()
        if (store.config.end - day).days < 28 and not event.first <= day <= event.last
    ] or list(figures.values())
    gmv = sum(f.gmv_cents for f in recent)
    uv = sum(f.uv for f in recent)
    buyers = sum(f.buyers for f in recent)
    days = max(1, len(recent))
    end = store.config.end
    previous = end.replace(day=1) - timedelta(days=1)
    targets: dict[str, dict[str, Decimal]] = {}
    for month_day in (previous, end):
        month_len = _days_in_month(month_day)
        month_gmv = Decimal(gmv) / 100 / days * month_len * uplift
        targets[f"{month_day:%Y-%m}"] = {
            "gmv": month_gmv.quantize(Decimal(1), rounding=ROUND_HALF_UP),
            "uv": (Decimal(uv) / days * month_len * uplift).quantize(
                Decimal(1), rounding=ROUND_HALF_UP),
            "conversion_rate": (Decimal(buyers) / max(1, uv) * uplift).quantize(
                Decimal("0.0001"), rounding=ROUND_HALF_UP),
            "aov": (Decimal(gmv) / 100 / max(1, buyers) * Decimal("1.02")).quantize(
                Decimal(1), rounding=ROUND_HALF_UP),
        }
    return targets


def _days_in_month(day: date) -> int:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return (following - day.replace(day=1)).days
