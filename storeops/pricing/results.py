"""What a promotion earned: its window against a baseline of the weeks before (pure: rows in,
figures out; the database is read by :mod:`storeops.pricing.results_query`).

**Which sales count.** The 成交 rule of 京东商智, written once in
:mod:`storeops.metrics.deal_rule`: an order is a deal at the moment it was paid (cash on
delivery: placed), on that store-local day; a cancelled order is left out unless it was
cancelled on a later day than the one it counts on; an unpaid order never counts. A deal is in
a window when that moment is in ``[start, end)``. Only the order's lines whose SKU the
promotion's scope covers count (the others, and the freight, which belongs to no SKU, are
left out): GMV is the sum of those lines' amounts (``order_lines.amount_cents``: unit price ×
quantity less the line's share of the seller discount, i.e. what the buyer paid for it).

**Figures of a window**, per SKU and in total: GMV, units, orders (orders with at least one
such line), buyers (distinct customers; an order without a known customer is a buyer of its
own, as on the other pages) and AOV = GMV / orders.

**Baseline.** The same weekdays and hours of the four weeks before: the window shifted back by
1, 2, 3 and 4 steps, one step being the window's length rounded up to whole weeks (7 days for a
window of up to 7 days, 14 for 8–14 days …), so that no baseline window overlaps the promotion
or another baseline window. Shifts are made on the store's local wall clock. The baseline is
the average of the four windows' figures (money rounded half-up to 0.01; units, orders and
buyers exact, so 2.5 units is possible).

**Discount cost** = Σ over the window's lines of (list price × quantity − line amount). The
list price is the product's list price now (``products.list_price_cents``: what the store sells
it at without the promotion); a SKU without one adds 0 and is listed in ``no_list_price``. A
line sold above the list price adds a negative amount: the sum is kept as the formula says.

**Margin** after cost and commission = GMV − unit cost × units − commission, the commission
being GMV × the SKU's category commission (``category_commissions``), else the store's
``commission_rate``, else 0. A SKU without a cost counts 0 and is listed in ``no_cost``.
Incremental GMV and incremental margin are the window's figure less the baseline's.

**ROI** = incremental margin / discount cost; ``None`` when the discount cost is 0 or less
(nothing was given away, so there is nothing to return on).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from storeops.common.timeutil import local_date, zone
from storeops.metrics.deal_rule import counted_at, deal_day
from storeops.pricing.model import Scope

CENT = Decimal("0.01")
WEEKS = 4
ZERO = Decimal("0")


def cents(value: Decimal) -> Decimal:
    """Money rounded half-up to 0.01."""
    return value.quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class SaleLine:
    """One order line with its order's fields (times aware, money in yuan)."""

    order_id: int
    customer_id: int | None
    status: str
    cod: bool
    placed_at: datetime
    placed_date: date
    paid_at: datetime | None
    cancelled_at: datetime | None
    sku: str
    quantity: int
    amount: Decimal  # what the buyer paid for the line (after the seller discount)


@dataclass(frozen=True)
class SkuTerms:
    """What the margin of a SKU needs: its category, list price, unit cost, commission rate."""

    category: str | None = None
    list_price: Decimal | None = None
    cost: Decimal | None = None
    commission_rate: Decimal = ZERO  # 0.05 = 5%
    title: str | None = None


@dataclass(frozen=True)
class Figures:
    """The figures of one window (or the baseline's average), of one SKU or of all."""

    gmv: Decimal = ZERO
    units: Decimal = ZERO
    orders: Decimal = ZERO
    buyers: Decimal = ZERO
    discount_cost: Decimal = ZERO
    goods_cost: Decimal = ZERO  # unit cost × units
    commission: Decimal = ZERO

    @property
    def aov(self) -> Decimal | None:
        return cents(self.gmv / self.orders) if self.orders else None

    @property
    def margin(self) -> Decimal:
        return self.gmv - self.goods_cost - self.commission


@dataclass(frozen=True)
class Comparison:
    """A SKU's (or the total's) figures during the promotion against the baseline."""

    sku: str | None  # None: all SKUs
    during: Figures
    baseline: Figures
    title: str | None = None

    @property
    def incremental_gmv(self) -> Decimal:
        return self.during.gmv - self.baseline.gmv

    @property
    def incremental_margin(self) -> Decimal:
        return self.during.margin - self.baseline.margin

    @property
    def discount_cost(self) -> Decimal:
        return self.during.discount_cost

    @property
    def roi(self) -> Decimal | None:
        """Incremental margin per yuan of discount, to 4 places; None without a discount."""
        cost = self.discount_cost
        if cost <= 0:
            return None
        return (self.incremental_margin / cost).quantize(Decimal("0.0001"), ROUND_HALF_UP)


@dataclass(frozen=True)
class DayPoint:
    day: date  # a store-local day of the promotion
    gmv: Decimal
    baseline_gmv: Decimal


@dataclass(frozen=True)
class Results:
    start: datetime  # store-local, as every time of the results
    end: datetime
    baseline_windows: tuple[tuple[datetime, datetime], ...]
    total: Comparison
    skus: tuple[Comparison, ...]  # by GMV during the promotion, largest first
    days: tuple[DayPoint, ...]
    no_list_price: tuple[str, ...] = ()  # SKUs sold in a window without a list price
    no_cost: tuple[str, ...] = ()  # … without a unit cost
    so_far: bool = False  # the promotion has not ended: figures up to ``end``


def baseline_windows(start: datetime, end: datetime, tz: str,
                     weeks: int = WEEKS) -> tuple[tuple[datetime, datetime], ...]:
    """The ``weeks`` windows the baseline averages, nearest first: ``[start, end)`` shifted
    back by whole steps of ceil(length / 7 days) weeks, on the store's wall clock."""
    if end <= start:
        raise ValueError("a window ends after it starts")
    length = end - start
    step_weeks = max(1, -(-length // timedelta(days=7)))
    local_start, local_end = start.astimezone(zone(tz)), end.astimezone(zone(tz))
    out = []
    for k in range(1, weeks + 1):
        back = timedelta(days=7 * step_weeks * k)
        # Aware arithmetic in one zone is wall-clock arithmetic; fold keeps a DST hour.
        out.append((_wall(local_start - back, tz), _wall(local_end - back, tz)))
    return tuple(out)


def _wall(moment: datetime, tz: str) -> datetime:
    """The moment of a wall-clock time (re-reading its offset after arithmetic)."""
    return moment.replace(tzinfo=None).replace(tzinfo=zone(tz))


def deal_moment(line: SaleLine, tz: str) -> datetime | None:
    """When the line's order is a deal (商智's rule), or None when it is never one."""
    if deal_day(placed_date=line.placed_date, paid_at=line.paid_at,
                cancelled_at=line.cancelled_at, cod=line.cod, status=line.status,
                tz=tz) is None:
        return None
    return counted_at(placed_at=line.placed_at, paid_at=line.paid_at, cod=line.cod)


@dataclass
class _Tally:
    gmv: Decimal = ZERO
    units: int = 0
    orders: set[int] = field(default_factory=set)
    customers: set[int] = field(default_factory=set)
    guest_orders: set[int] = field(default_factory=set)
    discount_cost: Decimal = ZERO
    goods_cost: Decimal = ZERO
    commission: Decimal = ZERO

    def add(self, line: SaleLine, terms: SkuTerms) -> None:
        self.gmv += line.amount
        self.units += line.quantity
        self.orders.add(line.order_id)
        if line.customer_id is None:
            self.guest_orders.add(line.order_id)
        else:
            self.customers.add(line.customer_id)
        if terms.list_price is not None:
            self.discount_cost += terms.list_price * line.quantity - line.amount
        if terms.cost is not None:
            self.goods_cost += terms.cost * line.quantity
        self.commission += line.amount * terms.commission_rate

    def figures(self) -> Figures:
        return Figures(gmv=self.gmv, units=Decimal(self.units), orders=Decimal(len(self.orders)),
                       buyers=Decimal(len(self.customers) + len(self.guest_orders)),
                       discount_cost=cents(self.discount_cost),
                       goods_cost=cents(self.goods_cost), commission=cents(self.commission))


def _average(figures: Sequence[Figures]) -> Figures:
    n = Decimal(len(figures))
    if not n:
        return Figures()

    def avg(name: str) -> Decimal:
        return sum((getattr(f, name) for f in figures), ZERO) / n

    return Figures(gmv=cents(avg("gmv")), units=avg("units"), orders=avg("orders"),
                   buyers=avg("buyers"),
                   discount_cost=cents(avg("discount_cost")),
                   goods_cost=cents(avg("goods_cost")), commission=cents(avg("commission")))


def _which(moment: datetime, windows: Sequence[tuple[datetime, datetime]]) -> int | None:
    for i, (a, b) in enumerate(windows):
        if a <= moment < b:
            return i
    return None


def promotion_results(
    lines: Iterable[SaleLine], *, scope: Scope, start: datetime, end: datetime, tz: str,
    terms: Mapping[str, SkuTerms], so_far: bool = False,
) -> Results:
    """The promotion's figures during ``[start, end)`` against the baseline, per SKU and in
    total, and its GMV by store-local day; ``lines`` may hold any others (they are ignored)."""
    bases = baseline_windows(start, end, tz)
    windows = ((start, end), *bases)  # 0: during; 1..4: baseline
    total = [_Tally() for _ in windows]
    by_sku: dict[str, list[_Tally]] = defaultdict(lambda: [_Tally() for _ in windows])
    first_day = local_date(start, tz)
    day_count = (local_date(end - timedelta(microseconds=1), tz) - first_day).days + 1
    day_gmv = [[ZERO] * day_count for _ in windows]
    no_list, no_cost = set(), set()
    for line in lines:
        sku_terms = terms.get(line.sku, SkuTerms())
        if not scope.covers(line.sku, sku_terms.category):
            continue
        moment = deal_moment(line, tz)
        if moment is None:
            continue
        w = _which(moment, windows)
        if w is None:
            continue
        total[w].add(line, sku_terms)
        by_sku[line.sku][w].add(line, sku_terms)
        if sku_terms.list_price is None:
            no_list.add(line.sku)
        if sku_terms.cost is None:
            no_cost.add(line.sku)
        # The day of the promotion this moment corresponds to (a baseline day by its shift).
        index = (local_date(moment, tz) - local_date(windows[w][0], tz)).days
        if 0 <= index < day_count:
            day_gmv[w][index] += line.amount

    def compare(sku: str | None, tallies: list[_Tally]) -> Comparison:
        during = tallies[0].figures()
        baseline = _average([t.figures() for t in tallies[1:]])
        title = terms[sku].title if sku is not None and sku in terms else None
        return Comparison(sku=sku, during=during, baseline=baseline, title=title)

    skus = sorted((compare(sku, t) for sku, t in by_sku.items()),
                  key=lambda c: (-c.during.gmv, -c.baseline.gmv, c.sku or ""))
    days = tuple(
        DayPoint(day=first_day + timedelta(days=i), gmv=day_gmv[0][i],
                 baseline_gmv=cents(sum((day_gmv[w][i] for w in range(1, len(windows))), ZERO)
                                    / len(bases)))
        for i in range(day_count))
    local = zone(tz)
    return Results(start=start.astimezone(local), end=end.astimezone(local),
                   baseline_windows=bases, total=compare(None, total),
                   skus=tuple(skus), days=days, no_list_price=tuple(sorted(no_list)),
                   no_cost=tuple(sorted(no_cost)), so_far=so_far)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(cents(value))


def _number(value: Decimal) -> str:
    return format(value, "f")


def figures_dict(f: Figures) -> dict[str, str | None]:
    return {"gmv": _money(f.gmv), "units": _number(f.units), "orders": _number(f.orders),
            "buyers": _number(f.buyers), "aov": _money(f.aov),
            "discount_cost": _money(f.discount_cost), "goods_cost": _money(f.goods_cost),
            "commission": _money(f.commission), "margin": _money(f.margin)}


def comparison_dict(c: Comparison) -> dict[str, object]:
    out: dict[str, object] = {}
    if c.sku is not None:
        out["sku"] = c.sku
        out["title"] = c.title
    out.update({
        "during": figures_dict(c.during), "baseline": figures_dict(c.baseline),
        "incremental_gmv": _money(c.incremental_gmv), "discount_cost": _money(c.discount_cost),
        "margin": _money(c.during.margin), "incremental_margin": _money(c.incremental_margin),
        "roi": None if c.roi is None else str(c.roi),
    })
    return out


def results_dict(r: Results) -> dict[str, object]:
    """The results as JSON: money as decimal strings, times ISO 8601."""
    return {
        "start": r.start.isoformat(), "end": r.end.isoformat(), "so_far": r.so_far,
        "baseline_windows": [[a.isoformat(), b.isoformat()] for a, b in r.baseline_windows],
        "total": comparison_dict(r.total),
        "skus": [comparison_dict(c) for c in r.skus],
        "days": [{"day": d.day.isoformat(), "gmv": _money(d.gmv),
                  "baseline_gmv": _money(d.baseline_gmv)} for d in r.days],
        "no_list_price": list(r.no_list_price), "no_cost": list(r.no_cost),
    }
