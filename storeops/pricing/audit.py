"""破价 audit: the lowest unit price any allowed stack of a store's offers can reach, SKU by
SKU, against the SKU's floor (pure: values in, values out; the database side is
:mod:`storeops.pricing.audit_store`).

**The floor** (:func:`sku_floor`): the SKU's explicit floor price when it has one; else the
price at which, after JD's commission on the category, the margin over cost is the store's
minimum margin: ``price × (1 − commission) − cost = min_margin × cost``, i.e.
``cost × (1 + min_margin) / (1 − commission)``, half-up to 0.01. A SKU with neither a floor
nor a cost has no floor: it is reported as such and counted, never silently dropped.

**The lowest reachable unit price** of a SKU is the lowest price per unit the buyer pays for
one unit of it in the most generous cart the offers allow, stacked in JD's order:

1. *Item level*: the lowest of the direct cuts, flash sales, group-buy prices and member
   prices (any member tier; the buyer may be a member buying as a group) that cover the SKU;
   never above the list price.
2. *One cross-item promotion* the SKU can join (满减, 每满 with its cap, 满折, multi-buy, bundle)
   at its most generous reachable tier. The buyer fills the cart with other items of the
   promotion's scope exactly to the threshold (``凑单``): a 满199减30 takes at most 30/199 of
   the eligible amount, reached with a cart of exactly 199.00 (or of the SKU alone when its
   price is already above a threshold: 30/price). A tier counted in pieces is filled with
   pieces at the cheapest list price among the audited SKUs the promotion covers. A bundle
   takes ``1 − bundle price / (the SKU at its item-level price + the other items at their
   list prices)``. Since the engine apportions an order-level reduction in proportion to the
   line amounts, the SKU's unit price falls by the same ratio as the promotion's amount.
3. *Coupons*: at most one shop and one platform coupon covering the SKU; their thresholds
   test the cart's amount after promotions, which is at least what stage 2 left of its cart
   (the SKU and its filler) and may be filled further with items outside the cross-item
   promotion. The cart amount after promotions, ``A``, is chosen to minimise the unit price:
   ``(A − off) / A``, off never more than ``A`` (a no-threshold coupon worth more than the
   SKU takes it to 0.00).
4. *Points* (京豆): at most ``max_share`` of the payable and at most the balance
   (``balance / rate`` yuan, in whole points).

So the lowest unit price is ``item price × (1 − R(C) / C) × (A − K(A)) / A × (1 − P / pay)``
minimised over the stack, the promotion's amount ``C ≥ item price`` and the cart after
promotions ``A ≥ C − R(C)`` (``R``, ``K``: what the promotion and the coupons take off;
``P``: the points on ``pay = A − K(A)``). The stages are not independent: a 满199减30 filled
to 199 leaves a cart of 169, so a 满100减20 coupon then takes 20/169, not 20/100; the product
of each stage's best ratio would be a price no cart reaches. Each of ``R`` and ``K`` is a
step function whose ratio falls within a step, so only the SKU alone and the thresholds can
be best: the search looks at those.

All stacked offers must be running at one common moment at or after the audit's moment
``at`` (for intervals, windows that overlap pairwise share a moment): offers whose windows
do not overlap never stack. The audit sweeps the windows of the offers that cover a SKU and
evaluates every maximal set of offers running together (a moment with fewer offers never
does better). Filler items are assumed to exist at any amount within every scope the SKU is
in: the buyer reaches the figure when such items exist (tests/test_promo_audit.py prices the
cart the audit describes with the engine), and pays no less when they do not: it is a lower
bound. Amounts round half-up to 0.01 at each stage, as the engine does.

Speed (bench/audit_bench.py: 10,000 SKUs, 200 promotions, 50 coupons in a few seconds of
CPU): offers are indexed by SKU and category; the window sweep is cached per set of covering
offers and the coupon step function per set of coupons; the search runs in integer cents
with float factors, visits the maximal sets in the order of an optimistic bound and stops
when the bound passes the best found, and evaluates only the near-best candidates exactly.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from storeops.common.errors import StoreopsError
from storeops.pricing.engine_compile import CPromo, CTier, compile_promotion
from storeops.pricing.engine_cross import tier_discount_cents
from storeops.pricing.model import (
    CROSS_ITEM,
    ITEM_LEVEL,
    Coupon,
    CouponScope,
    Offers,
    PointsRule,
    Promotion,
    PromotionKind,
    Scope,
)

CENT = Decimal("0.01")
ZERO = Decimal("0")
ONE = Decimal("1")
HUNDRED = Decimal("100")
_MIN = datetime.min.replace(tzinfo=UTC)
_MAX = datetime.max.replace(tzinfo=UTC)
POINTS_ID = "points"


def money(value: Decimal) -> Decimal:
    """Half-up to 0.01, as the engine rounds."""
    return value.quantize(CENT, ROUND_HALF_UP)


def yuan(value: Decimal) -> str:
    return format(money(value), "f")


def short(value: Decimal) -> str:
    """A threshold or a reduction as a poster writes it: 199, 30, 99.50."""
    amount = money(value)
    return format(amount.quantize(ONE), "f") if amount == amount.to_integral_value() else \
        format(amount, "f")


def sku_floor(price_cents: int | None, cost_cents: int | None, floor_price_cents: int | None,
              commission_rate: Decimal | None, min_margin: Decimal | None) -> Decimal | None:
    """The lowest unit price the store accepts for a SKU, in yuan.

    The explicit floor when set; else ``cost × (1 + min_margin) / (1 − commission_rate)``
    half-up to 0.01: the price at which, after JD's commission, the margin over cost is the
    minimum margin (cost 50.00, margin 10%, commission 8%: 55 / 0.92 = 59.78). ``None`` when
    the SKU has neither (``price_cents`` is the list price, kept for the caller's report).
    """
    del price_cents  # the floor does not depend on the list price
    if floor_price_cents is not None:
        return money(Decimal(floor_price_cents) / HUNDRED)
    if cost_cents is None:
        return None
    rate = commission_rate if commission_rate is not None else ZERO
    margin = min_margin if min_margin is not None else ZERO
    if not ZERO <= rate < ONE:
        raise StoreopsError(f"commission rate {rate} is not between 0 and 1",
                            key="errors.promo_audit.commission", rate=str(rate))
    cost = Decimal(cost_cents) / HUNDRED
    return money(cost * (ONE + margin) / (ONE - rate))


@dataclass(frozen=True)
class AuditSku:
    sku: str
    price: Decimal  # list price per unit
    category: str | None = None
    floor: Decimal | None = None  # None: no floor (no explicit floor and no cost)
    title: str | None = None


@dataclass(frozen=True)
class Reach:
    """The lowest unit price a SKU reaches, how, and the cart that reaches it."""

    sku: str
    price: Decimal
    lowest: Decimal
    stack: tuple[str, ...] = ()  # offer ids in stacking order ("points" for points)
    explanation: str = ""  # Chinese: "直降至89.00 → 满199减30（凑单至满199）→ …"
    at: datetime | None = None  # a moment every offer of the stack runs (None: any)
    item_price: Decimal | None = None  # after stage 1
    cross_amount: Decimal | None = None  # amount of the cross-item promotion's lines
    cross_off: Decimal | None = None  # what the cross-item promotion takes off them
    coupon_amount: Decimal | None = None  # cart amount after promotions the coupons test
    member_tier: str | None = None  # the member tier whose price stage 1 took
    group_buy: bool = False


@dataclass(frozen=True)
class FloorBreach:
    sku: str
    floor: Decimal
    lowest_unit_price: Decimal
    stack: tuple[str, ...]
    explanation: str
    price: Decimal | None = None
    at: datetime | None = None
    title: str | None = None

    @property
    def gap(self) -> Decimal:
        """How far below the floor (positive)."""
        return self.floor - self.lowest_unit_price


@dataclass(frozen=True)
class AuditReport:
    checked: int  # SKUs audited
    breaches: tuple[FloorBreach, ...]  # below floor, the largest gap first
    no_floor: tuple[str, ...]  # SKUs without a floor (no floor price, no cost)
    lowest: dict[str, Reach] = field(default_factory=dict)  # every SKU's lowest
    at: datetime | None = None
    unpriced: tuple[str, ...] = ()  # SKUs left out: no list price (the database side)

    @property
    def no_floor_count(self) -> int:
        return len(self.no_floor)


# --- offers, indexed ----------------------------------------------------------------------------

_ITEM, _CROSS, _SHOP, _PLATFORM = 0, 1, 2, 3


@dataclass(frozen=True)
class _Entry:
    role: int
    offer: Promotion | Coupon
    start: datetime  # clipped to the horizon
    end: datetime

    @property
    def windowed(self) -> bool:
        return self.start > _MIN or self.end < _MAX


def _window(offer: Promotion | Coupon, at: datetime | None) -> tuple[datetime, datetime] | None:
    start = offer.start or _MIN
    end = offer.end or _MAX
    if at is not None:
        start = max(start, at)
    if start >= end:
        return None
    return start, end


def _entries(offers: Offers, at: datetime | None) -> list[_Entry]:
    found: list[_Entry] = []
    for promo in offers.promotions:
        if promo.kind in ITEM_LEVEL:
            role = _ITEM
        elif promo.kind in CROSS_ITEM:
            role = _CROSS
        else:
            continue  # a gift takes nothing off
        window = _window(promo, at)
        if window is not None:
            found.append(_Entry(role, promo, *window))
    for coupon in offers.coupons:
        window = _window(coupon, at)
        if window is not None:
            role = _SHOP if coupon.scope == CouponScope.SHOP else _PLATFORM
            found.append(_Entry(role, coupon, *window))
    return found


def _scope(entry: _Entry) -> Scope:
    offer = entry.offer
    return offer.skus if isinstance(offer, Coupon) else offer.scope


class _Index:
    """Which entries may cover a SKU: those of every SKU, by SKU, by category."""

    def __init__(self, entries: list[_Entry]) -> None:
        self.entries = entries
        self.everyone: list[int] = []  # all SKUs, no exclusions: no check needed
        self.everyone_but: list[int] = []  # all SKUs minus exclusions
        self.by_sku: dict[str, list[int]] = {}
        self.by_category: dict[str, list[int]] = {}
        for n, entry in enumerate(entries):
            offer = entry.offer
            if isinstance(offer, Promotion) and offer.kind == PromotionKind.BUNDLE:
                for item in offer.bundle_items:
                    self.by_sku.setdefault(item.sku, []).append(n)
                continue
            scope = _scope(entry)
            if scope.skus is None and not scope.categories:
                if scope.exclude_skus or scope.exclude_categories:
                    self.everyone_but.append(n)
                else:
                    self.everyone.append(n)
                continue
            for sku in scope.skus or ():
                self.by_sku.setdefault(sku, []).append(n)
            for category in scope.categories:
                self.by_category.setdefault(category, []).append(n)

    def covering(self, sku: str, category: str | None) -> tuple[int, ...]:
        entries = self.entries
        found = set(self.everyone)
        for n in self.everyone_but:
            if _scope(entries[n]).covers(sku, category):
                found.add(n)
        for n in self.by_sku.get(sku, ()):
            offer = entries[n].offer
            if isinstance(offer, Promotion) and offer.kind == PromotionKind.BUNDLE:
                found.add(n)
            elif _scope(entries[n]).covers(sku, category):
                found.add(n)
        if category is not None:
            for n in self.by_category.get(category, ()):
                if _scope(entries[n]).covers(sku, category):
                    found.add(n)
        return tuple(sorted(found))


@dataclass(frozen=True)
class _Set:
    """Offers running together: item-level and cross-item entries, the coupons' key."""

    items: tuple[int, ...]
    crosses: tuple[int, ...]
    coupons: frozenset[int]
    moment: datetime


def _sweep_keys(entries: list[_Entry]) -> list[tuple[int, tuple | None]]:
    """Per entry: its role group (items, crosses, coupons) and its two sweep events (integer
    keys: sorting them is cheaper than sorting datetimes), None when it always runs."""
    moments = sorted({e.start for e in entries} | {e.end for e in entries})
    key = {m: k for k, m in enumerate(moments)}
    found: list[tuple[int, tuple | None]] = []
    for n, entry in enumerate(entries):
        group = entry.role if entry.role < _SHOP else 2
        events = ((key[entry.start], 1, n, group), (key[entry.end], 0, n, group)) \
            if entry.windowed else None
        found.append((group, events))
    return found


def _maximal_sets(entries: list[_Entry], members: Sequence[int],
                  keys: list[tuple[int, tuple | None]]) -> list[_Set]:
    """The maximal sets of the given entries running together (a sweep over their windows;
    an end comes before a start at the same moment: windows are [start, end)), each with the
    moment it starts (the latest start among them), split by role."""
    always: list[list[int]] = [[], [], []]  # items, crosses, coupons
    events: list[tuple[int, int, int, int]] = []
    for n in members:
        group, pair = keys[n]
        if pair is None:
            always[group].append(n)
        else:
            events += pair
    if not events:
        return [_Set(tuple(always[0]), tuple(always[1]), frozenset(always[2]), _MIN)]
    events.sort()
    active: list[set[int]] = [set(), set(), set()]
    grew = False
    latest = -1
    found: list[_Set] = []
    for _, kind, n, group in events:
        if kind == 0:
            if grew:
                found.append(_Set((*always[0], *active[0]), (*always[1], *active[1]),
                                  frozenset((*always[2], *active[2])), entries[latest].start))
                grew = False
            active[group].discard(n)
        else:
            active[group].add(n)
            grew = True
            latest = n
    return found


# --- the stages ---------------------------------------------------------------------------------

def _item_price(promo: Promotion, price: Decimal) -> tuple[Decimal, str, str | None]:
    """(unit price, Chinese text, member tier) of an item-level promotion on ``price``."""
    kind = promo.kind
    if kind == PromotionKind.MEMBER_PRICE:
        if not promo.member_prices:
            return price, "", None
        tier, value = min(promo.member_prices.items(), key=lambda kv: kv[1])
        unit = min(money(value), price)
        return unit, f"会员价{yuan(unit)}（{tier}）", tier
    if kind == PromotionKind.DIRECT:
        if promo.price is not None:
            unit = money(promo.price)
        elif promo.off is not None:
            unit = money(price - promo.off)
        elif promo.percent is not None:
            unit = money(price * (HUNDRED - promo.percent) / HUNDRED)
        else:
            unit = price
        unit = max(min(unit, price), ZERO)
        return unit, f"直降至{yuan(unit)}", None
    unit = price if promo.price is None else max(min(money(promo.price), price), ZERO)
    label = "秒杀价" if kind == PromotionKind.FLASH_SALE else "拼购价"
    return unit, f"{label}{yuan(unit)}", None


def _fold(percent: Decimal) -> str:
    """Percent off as JD says it: 20 → 8折, 15 → 8.5折."""
    fold = (HUNDRED - percent) / Decimal(10)
    text = format(fold.normalize(), "f")
    return f"{text}折"


def _tier_text(promo: Promotion, tier: CTier) -> str:
    if tier.threshold is not None:
        head = f"满{short(_yuan_of(tier.threshold))}"
    elif promo.kind == PromotionKind.MULTI_BUY:
        head = f"{tier.qty}件"
    else:
        head = f"满{tier.qty}件"
    if tier.pct is not None:
        what = _fold(Decimal(tier.pct[0]) / Decimal(tier.pct[1]))
    else:
        what = f"减{short(_yuan_of(tier.off or 0))}"
    text = ("每" if promo.repeat else "") + head + what
    if promo.cap is not None:
        text += f"，封顶{short(promo.cap)}"
    return ("多买优惠" if promo.kind == PromotionKind.MULTI_BUY else "") + text


def _yuan_of(cents: int) -> Decimal:
    return Decimal(cents) / HUNDRED


def _cents(value: Decimal) -> int:
    return int((value * HUNDRED).to_integral_value(ROUND_HALF_UP))


def _half_up(num: int, den: int) -> int:
    """``num / den`` half-up, for num ≥ 0 and den > 0 (the engine's rounding)."""
    return (2 * num + den) // (2 * den)


# The search compares unit prices in float cents; candidates within this of the best are
# evaluated exactly (each of three stages rounds by at most half a cent).
_SLACK = 2.0

# A candidate cart of the cross-item stage: (entry or -1, amount of its lines in cents, cents
# off them, pieces). The SKU alone without promotion is (-1, unit, 0, 1).
_Option = tuple[int, int, int, int]


def _cross_options(n: int, compiled: CPromo, marks: Sequence[tuple[int, int]], unit: int,
                   cheapest: int) -> list[_Option]:
    """The candidate carts for one cross-item promotion (not a bundle) on a unit price of
    ``unit`` cents: the amount of the promotion's lines and what it takes off them (the
    engine's tier arithmetic). The reduction is a step function of the amount and the unit
    price falls by reduction / amount, so only the SKU alone and the left ends of the steps
    (the thresholds above the unit price — ``marks``, precomputed — and the piece counts of
    the tiers) can be best."""
    tiers = compiled.tiers
    if not tiers:
        return []
    options: list[_Option] = []
    off, _, _ = tier_discount_cents(compiled, unit, 1)
    if off > 0:
        options.append((n, unit, off, 1))
    first = tiers[0]
    if first.threshold is not None:
        if compiled.repeat:
            step = first.threshold
            amount = -(-unit // step) * step
            if amount > unit:
                off, _, _ = tier_discount_cents(compiled, amount, 1)
                if off > 0:
                    options.append((n, amount, off, 1))
        else:
            options += [(n, mark, off) + (1,) for mark, off in marks if mark > unit]
    else:
        piece = min(cheapest, unit)
        for tier in tiers:
            if tier.qty is not None and tier.qty > 1:
                amount = unit + piece * (tier.qty - 1)
                off, _, _ = tier_discount_cents(compiled, amount, tier.qty)
                if off > 0:
                    options.append((n, amount, off, tier.qty))
    return options


def points_yuan(points: PointsRule | None, payable: Decimal) -> Decimal:
    """Yuan paid with points on ``payable``: at most ``max_share`` of it and the balance, in
    whole points."""
    if points is None or points.balance <= 0 or points.rate <= 0 or payable <= 0:
        return ZERO
    most = (payable * points.max_share * points.rate).to_integral_value(ROUND_FLOOR)
    used = min(int(most), points.balance)
    return Decimal(used) / Decimal(points.rate)


class _CouponSteps:
    """The coupon stage of one set of coupons as a step function of the cart amount ``A``
    (cents) after promotions: at each threshold the best shop + platform pair, and the
    factor ``(A − coupons − points) / A`` (a float, for the search) the SKU's unit price is
    multiplied by."""

    def __init__(self, shop: Sequence[tuple[int, int, int]],
                 platform: Sequence[tuple[int, int, int]], points: PointsRule | None) -> None:
        # coupons as (threshold, off, entry) in cents
        self.points = points
        if points is not None and points.balance > 0 and points.rate > 0:
            share_num, share_den = points.max_share.as_integer_ratio()
            self._points = (share_num * points.rate, 100 * share_den, points.balance,
                            100 / points.rate)
        else:
            self._points = None
        marks = sorted({c[0] for c in (*shop, *platform)} | {0})
        self.thresholds = marks
        self.pairs: list[tuple[int, int, int]] = []  # (shop entry, platform entry, off)
        self.factors: list[float] = []
        for mark in marks:
            s = max((c for c in shop if c[0] <= mark), key=lambda c: c[1], default=None)
            p = max((c for c in platform if c[0] <= mark), key=lambda c: c[1], default=None)
            off = (s[1] if s else 0) + (p[1] if p else 0)
            self.pairs.append((s[2] if s else -1, p[2] if p else -1, off))
            self.factors.append(self.factor(mark, off))
        # the lowest factor at any amount: above a threshold, or 0 for a no-threshold coupon
        # (it takes all of a small enough cart); points alone keep at least 1 − max share
        floor = 0.0 if self.pairs[0][2] > 0 else (
            1 - float(points.max_share) if self._points is not None else 1.0)
        self.least = min([floor, *self.factors[1:]])
        best = len(marks) - 1
        self.best_from = [0] * len(marks)
        for n in range(len(marks) - 1, -1, -1):
            if self.factors[n] <= self.factors[best]:
                best = n
            self.best_from[n] = best

    def factor(self, amount: int, off: int) -> float:
        if amount <= 0:
            return 1.0
        payable = amount - off if off < amount else 0
        if self._points is not None and payable > 0:
            num, den, balance, cents_per_point = self._points
            used = payable * num // den
            payable = payable - (used if used < balance else balance) * cents_per_point
        return payable / amount

    def best(self, least: int) -> tuple[int, int, float]:
        """The cart amount ``A ≥ least`` with the lowest factor: (A, index of its pair,
        factor)."""
        n = bisect_right(self.thresholds, least) - 1
        factor = self.factor(least, self.pairs[n][2])
        if n + 1 < len(self.thresholds):
            m = self.best_from[n + 1]
            if self.factors[m] < factor:
                return self.thresholds[m], m, self.factors[m]
        return least, n, factor


def _coupon_text(coupon: Coupon) -> str:
    label = "店铺券" if coupon.scope == CouponScope.SHOP else "平台券"
    if coupon.threshold > 0:
        return f"{label}满{short(coupon.threshold)}减{short(coupon.off)}"
    return f"{label}无门槛减{short(coupon.off)}"


# --- the audit ----------------------------------------------------------------------------------

class _Auditor:
    def __init__(self, skus: Sequence[AuditSku], offers: Offers, at: datetime | None) -> None:
        self.at = at
        self.points = offers.points
        self.entries = entries = _entries(offers, at)
        self.index = _Index(entries)
        self.list_cents = {s.sku: _cents(s.price) for s in skus}
        self.covering = [self.index.covering(s.sku, s.category) for s in skus]
        self.compiled: dict[int, CPromo] = {}
        self.marks: dict[int, list[tuple[int, int]]] = {}
        self.coupon_terms: dict[int, tuple[int, int, int]] = {}
        for n, entry in enumerate(entries):
            offer = entry.offer
            if isinstance(offer, Coupon):
                self.coupon_terms[n] = (_cents(offer.threshold), _cents(offer.off), n)
            elif entry.role == _CROSS and offer.kind != PromotionKind.BUNDLE:
                cp = self.compiled[n] = compile_promotion(offer)
                marks: list[tuple[int, int]] = []
                if cp.tiers and cp.tiers[0].threshold is not None and not cp.repeat:
                    for tier in cp.tiers:
                        if tier.threshold is not None:
                            off, _, _ = tier_discount_cents(cp, tier.threshold, 1)
                            if off > 0:
                                marks.append((tier.threshold, off))
                self.marks[n] = marks
        # the most of its price a SKU keeps through each cross-item promotion (a bound)
        self.keeps: dict[int, float] = {n: 1 - cp.rate[0] / cp.rate[1]
                                        for n, cp in self.compiled.items()}
        for n, entry in enumerate(entries):
            if entry.role == _CROSS and n not in self.compiled:
                self.keeps[n] = 0.0  # a bundle: no cheap bound, always looked at
        # the cheapest list price among the audited SKUs each cross-item promotion covers
        self.cheapest: dict[int, int] = {}
        for s, members in zip(skus, self.covering, strict=True):
            price = self.list_cents[s.sku]
            for n in members:
                if entries[n].role == _CROSS and price < self.cheapest.get(n, price + 1):
                    self.cheapest[n] = price
        self.sweep_keys = _sweep_keys(entries)
        self._sets: dict[tuple[int, ...], list[tuple[_Set, float, _CouponSteps]]] = {}
        self._coupons: dict[frozenset[int], _CouponSteps] = {}

    def sets(self, members: tuple[int, ...]) -> list[tuple[_Set, float, _CouponSteps]]:
        found = self._sets.get(members)
        if found is None:
            found = self._sets[members] = [
                (active, min((self.keeps[n] for n in active.crosses), default=1.0),
                 self.coupon_steps(active.coupons))
                for active in _maximal_sets(self.entries, members, self.sweep_keys)]
        return found

    def coupon_steps(self, key: frozenset[int]) -> _CouponSteps:
        found = self._coupons.get(key)
        if found is None:
            shop = [self.coupon_terms[n] for n in key if self.entries[n].role == _SHOP]
            platform = [self.coupon_terms[n] for n in key if self.entries[n].role == _PLATFORM]
            found = self._coupons[key] = _CouponSteps(shop, platform, self.points)
        return found

    def _bundle(self, n: int, sku: str, unit: int) -> _Option | None:
        promo = self.entries[n].offer
        assert isinstance(promo, Promotion)
        if promo.price is None:
            return None
        amount = 0
        for item in promo.bundle_items:
            price = unit if item.sku == sku else self.list_cents.get(item.sku)
            if price is None:
                return None  # a bundle item the audit does not know: no price to share by
            amount += price * item.qty
        off = amount - _cents(promo.price)
        return (n, amount, off, 1) if off > 0 and amount > 0 else None

    def reach(self, sku: AuditSku, members: tuple[int, ...]) -> Reach:
        """Search with integer cents and float factors over every maximal set and candidate
        cart, the sets in the order of an optimistic bound (lowest item price × the largest
        cross-item ratio × the lowest coupon and points factor) and no further than the best
        found; then the near-best candidates exactly (the engine's rounding)."""
        entries = self.entries
        price = _cents(sku.price)
        item_units: dict[int, int] = {}
        ordered: list[tuple[float, int, int, int, _Set, _CouponSteps]] = []
        for k, (active, keep, steps) in enumerate(self.sets(members)):
            unit, item_n = price, -1
            for n in active.items:
                value = item_units.get(n)
                if value is None:
                    promo = entries[n].offer
                    assert isinstance(promo, Promotion)
                    value = item_units[n] = _cents(_item_price(promo, sku.price)[0])
                if value < unit:
                    unit, item_n = value, n
            # after the cross-item stage the SKU keeps at least unit × cross, and the cart
            # the coupons test is at least that much: the coupons' lowest factor from there
            kept = unit * keep
            bound = kept * steps.best(int(kept))[2]
            ordered.append((bound, k, unit, item_n, active, steps))
        ordered.sort(key=lambda x: (x[0], x[1]))
        options_of: dict[tuple[int, int], list[_Option]] = {}
        found: list[tuple[float, int, _Option, int, tuple[int, int, int], _Set]] = []
        least_value = math.inf
        for bound, _, unit, item_n, active, steps in ordered:
            if bound > least_value + _SLACK:
                break
            options: list[_Option] = [(-1, unit, 0, 1)]
            for n in active.crosses:
                key = (n, unit)
                cached = options_of.get(key)
                if cached is None:
                    if n in self.marks:
                        cached = _cross_options(n, self.compiled[n], self.marks[n], unit,
                                                self.cheapest.get(n, unit))
                    else:
                        bundle = self._bundle(n, sku.sku, unit)
                        cached = [bundle] if bundle is not None else []
                    options_of[key] = cached
                options += cached
            for option in options:
                _, amount, off, _ = option
                after = unit - off * unit / amount if amount > 0 else unit
                total, pair, factor = steps.best(amount - off)
                value = after * factor
                if value <= least_value + _SLACK:
                    least_value = min(least_value, value)
                    found.append((value, item_n, option, total, steps.pairs[pair], active))
        best: tuple[Decimal, int] | None = None
        chosen: tuple | None = None
        seen: set[tuple] = set()
        for value, item_n, option, total, pair, active in found:
            key = (item_n, option, total, pair)
            if value > least_value + _SLACK or key in seen:
                continue
            seen.add(key)
            score = self._final(sku.price, item_n, option, total, pair)
            if best is None or score < best:
                best, chosen = score, (item_n, option, total, pair, active)
        assert chosen is not None
        return self._exact(sku, *chosen)

    def _final(self, price: Decimal, item_n: int, option: _Option, total: int,
               pair: tuple[int, int, int]) -> tuple[Decimal, int]:
        """(the candidate's exact lowest unit price, the number of offers it stacks): the
        engine's half-up cents at each stage, as :meth:`_exact` computes them."""
        unit = _cents(price)
        stacked = 0
        if item_n >= 0:
            promo = self.entries[item_n].offer
            assert isinstance(promo, Promotion)
            unit = _cents(_item_price(promo, money(price))[0])
            stacked += 1
        cross_n, amount, off, _ = option
        after = unit
        if cross_n >= 0:
            after = unit - _half_up(off * unit, amount)
            stacked += 1
        shop_n, platform_n, coupon_off = pair
        coupon_off = min(coupon_off, total)
        stacked += (shop_n >= 0) + (platform_n >= 0)
        if coupon_off > 0 and total > 0:
            after -= _half_up(coupon_off * after, total)
        final = _yuan_of(after)
        payable = _yuan_of(total - coupon_off)
        pts = points_yuan(self.points, payable)
        if pts > 0 and payable > 0:
            final -= money(pts * final / payable)
            stacked += 1
        return money(max(final, ZERO)), stacked

    def _exact(self, sku: AuditSku, item_n: int, option: _Option, total: int,
               pair: tuple[int, int, int], active: _Set) -> Reach:
        """The chosen candidate as a :class:`Reach`: its figures (:meth:`_final`) and words."""
        entries = self.entries
        lowest, _ = self._final(sku.price, item_n, option, total, pair)
        price = money(sku.price)
        stack: list[str] = []
        texts: list[str] = []
        unit = _cents(price)
        tier, group = None, False
        if item_n >= 0:
            promo = entries[item_n].offer
            assert isinstance(promo, Promotion)
            value, text, tier = _item_price(promo, price)
            unit = _cents(value)
            group = promo.kind == PromotionKind.GROUP_BUY
            stack.append(promo.id)
            texts.append(text)
        cross_n, amount, off, pieces = option
        if cross_n >= 0:
            promo = entries[cross_n].offer
            assert isinstance(promo, Promotion)
            stack.append(promo.id)
            if promo.kind == PromotionKind.BUNDLE:
                name = promo.name or promo.id
                texts.append(f"套装{name} {yuan(promo.price or ZERO)}（按金额分摊）")
            else:
                _, used, _ = tier_discount_cents(self.compiled[cross_n], amount, pieces)
                assert used is not None
                filler = ""
                if amount > unit:
                    filler = (f"（凑单至{pieces}件）" if used.threshold is None
                              else f"（凑单至满{short(_yuan_of(amount))}）")
                texts.append(_tier_text(promo, used) + filler)
        least = amount - off
        shop_n, platform_n, coupon_off = pair
        coupon_off = min(coupon_off, total)
        coupons = [entries[n].offer for n in (shop_n, platform_n) if n >= 0]
        filler = f"（凑单至满{short(_yuan_of(total))}）" if total > least and coupons else ""
        for k, coupon in enumerate(coupons):
            assert isinstance(coupon, Coupon)
            stack.append(coupon.id)
            texts.append(_coupon_text(coupon) + (filler if k == 0 else ""))
        payable = _yuan_of(total - coupon_off)
        pts = points_yuan(self.points, payable)
        if pts > 0 and payable > 0 and self.points is not None:
            stack.append(POINTS_ID)
            if pts < money(payable * self.points.max_share):
                texts.append(f"京豆抵扣{yuan(pts)}元")
            else:
                share = format((self.points.max_share * HUNDRED).normalize(), "f")
                texts.append(f"京豆抵扣{share}%")
        when = None if active.moment == _MIN else active.moment
        if when is None and self.at is not None:
            when = self.at
        return Reach(sku=sku.sku, price=price, lowest=lowest,
                     stack=tuple(stack),
                     explanation=" → ".join(texts) if texts else "无优惠：按原价",
                     at=when, item_price=_yuan_of(unit),
                     cross_amount=_yuan_of(amount) if cross_n >= 0 else None,
                     cross_off=_yuan_of(off) if cross_n >= 0 else None,
                     coupon_amount=_yuan_of(total) if coupons else None,
                     member_tier=tier, group_buy=group)


def audit(skus: Sequence[AuditSku], offers: Offers, at: datetime | None = None) -> AuditReport:
    """The whole audit: every SKU's lowest reachable unit price, those below their floor
    (the largest gap first), those without a floor."""
    auditor = _Auditor(skus, offers, at)
    lowest: dict[str, Reach] = {}
    breaches: list[FloorBreach] = []
    no_floor: list[str] = []
    for sku, members in zip(skus, auditor.covering, strict=True):
        found = auditor.reach(sku, members)
        lowest[sku.sku] = found
        if sku.floor is None:
            no_floor.append(sku.sku)
        elif found.lowest < sku.floor:
            breaches.append(FloorBreach(
                sku=sku.sku, floor=sku.floor, lowest_unit_price=found.lowest,
                stack=found.stack, explanation=found.explanation, price=found.price,
                at=found.at, title=sku.title))
    breaches.sort(key=lambda b: (-b.gap, b.sku))
    return AuditReport(checked=len(skus), breaches=tuple(breaches), no_floor=tuple(no_floor),
                       lowest=lowest, at=at)


def audit_floor(skus: Sequence[AuditSku], offers: Offers,
                at: datetime | None = None) -> list[FloorBreach]:
    """The SKUs whose lowest reachable unit price is below their floor, the largest gap
    first."""
    return list(audit(skus, offers, at).breaches)


def offers_plus(base: Offers, extra: Offers | None) -> Offers:
    """``base`` with ``extra`` on top (an entry of ``extra`` replaces one of the same id; its
    points rule, when it has one, replaces the base's)."""
    if extra is None:
        return base
    promo_ids = {p.id for p in extra.promotions}
    coupon_ids = {c.id for c in extra.coupons}
    return Offers(
        promotions=tuple(p for p in base.promotions if p.id not in promo_ids) + extra.promotions,
        coupons=tuple(c for c in base.coupons if c.id not in coupon_ids) + extra.coupons,
        points=extra.points or base.points)
