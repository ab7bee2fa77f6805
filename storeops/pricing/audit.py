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

All stacked offers must be running at one common moment at or after the audit's moment
``at`` (for intervals, windows that overlap pairwise share a moment): offers whose windows
do not overlap never stack. The audit sweeps the windows of the offers that cover a SKU and
evaluates every maximal set of offers running together (a moment with fewer offers never
does better). Filler items are assumed to exist at any amount within every scope the SKU is
in: the figure is a bound the buyer can reach when such items exist, and never above what
they can reach. Amounts round half-up to 0.01 at each stage, as the engine does.

Speed: offers are indexed by SKU and category; the window sweep is cached per set of
covering offers, the coupon step function per set of coupons; a SKU's work is then a few
Decimal products and a bisection per maximal set.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from storeops.common.errors import StoreopsError
from storeops.common.money import from_cents, to_cents
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


def _maximal_sets(entries: list[_Entry], members: Sequence[int]
                  ) -> list[tuple[frozenset[int], datetime]]:
    """The maximal sets of the given entries running together, each with the moment it
    starts (the latest start among them)."""
    always = [n for n in members if not entries[n].windowed]
    timed = [n for n in members if entries[n].windowed]
    if not timed:
        return [(frozenset(always), _MIN)]
    events: list[tuple[datetime, int, int]] = []
    for n in timed:
        events.append((entries[n].start, 1, n))
        events.append((entries[n].end, 0, n))  # ends first at the same moment: [start, end)
    events.sort()
    active: set[int] = set()
    grew = False
    moment = _MIN
    found: list[tuple[frozenset[int], datetime]] = []
    for when, kind, n in events:
        if kind == 0:
            if grew:
                found.append((frozenset(active | set(always)), moment))
                grew = False
            active.discard(n)
        else:
            active.add(n)
            grew = True
            moment = when
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


@dataclass(frozen=True)
class _CrossOption:
    amount: Decimal  # C: the promotion's lines' amount (the SKU + filler)
    off: Decimal  # R: what the promotion takes off C
    text: str


def _tier_text(promo: Promotion, tier: CTier, times: int) -> str:
    if tier.threshold is not None:
        head = f"满{short(from_cents(tier.threshold))}"
    elif promo.kind == PromotionKind.MULTI_BUY:
        head = f"{tier.qty}件"
    else:
        head = f"满{tier.qty}件"
    if tier.pct is not None:
        what = _fold(Decimal(tier.pct[0]) / Decimal(tier.pct[1]))
    else:
        what = f"减{short(from_cents(tier.off or 0))}"
    text = ("每" if promo.repeat else "") + head + what
    if promo.cap is not None:
        text += f"，封顶{short(promo.cap)}"
    return ("多买优惠" if promo.kind == PromotionKind.MULTI_BUY else "") + text


def _cross_options(compiled: CPromo, price: Decimal, cheapest: Decimal) -> list[_CrossOption]:
    """The candidate carts for one cross-item promotion (not a bundle): at each the amount
    of the promotion's lines and what it takes off (the engine's tier arithmetic). The
    reduction is a step function of the amount and the unit price falls by reduction /
    amount, so only the SKU alone and the left ends of the steps (the thresholds above the
    SKU's price, the piece counts of the tiers) can be best."""
    promo = compiled.promo
    tiers = promo.tiers
    if not tiers:
        return []
    amounts: list[tuple[Decimal, int]] = [(price, 1)]
    if tiers[0].threshold is not None:
        marks = [t.threshold for t in tiers if t.threshold is not None]
        if promo.repeat:
            step = marks[0]
            amounts.append((step * math.ceil(price / step), 1))
        else:
            amounts += [(mark, 1) for mark in marks if mark > price]
    else:
        piece = min(cheapest, price)
        amounts += [(price + piece * (t.qty - 1), t.qty) for t in tiers
                    if t.qty is not None and t.qty > 1]
    options: list[_CrossOption] = []
    for amount, pieces in sorted(set(amounts)):
        off_cents, tier, times = tier_discount_cents(compiled, to_cents(amount), pieces)
        if off_cents <= 0 or tier is None:
            continue
        if amount > price:
            filler = (f"（凑单至{pieces}件）" if tier.threshold is None
                      else f"（凑单至满{short(amount)}）")
        else:
            filler = ""
        options.append(_CrossOption(amount, from_cents(off_cents),
                                    _tier_text(promo, tier, times) + filler))
    return options


def _bundle_option(promo: Promotion, sku: str, price: Decimal,
                   list_prices: dict[str, Decimal]) -> _CrossOption | None:
    if promo.price is None:
        return None
    amount = ZERO
    for item in promo.bundle_items:
        unit = price if item.sku == sku else list_prices.get(item.sku)
        if unit is None:
            return None  # a bundle item the audit does not know: no price to share by
        amount += unit * item.qty
    off = amount - promo.price
    if off <= 0 or amount <= 0:
        return None
    name = promo.name or promo.id
    return _CrossOption(amount, min(off, amount),
                        f"套装{name} {yuan(promo.price)}（按金额分摊）")


def points_yuan(points: PointsRule | None, payable: Decimal) -> Decimal:
    """Yuan paid with points on ``payable``: at most ``max_share`` of it and the balance, in
    whole points."""
    if points is None or points.balance <= 0 or points.rate <= 0 or payable <= 0:
        return ZERO
    most = (payable * points.max_share * points.rate).to_integral_value(ROUND_FLOOR)
    used = min(int(most), points.balance)
    return Decimal(used) / Decimal(points.rate)


@dataclass
class _CouponSteps:
    """The coupon stage of one set of coupons as a step function of the cart amount ``A``
    after promotions: at each threshold the best shop + platform pair, and the factor
    ``(A − coupons − points) / A`` the SKU's unit price is multiplied by."""

    points: PointsRule | None
    thresholds: list[Decimal] = field(default_factory=list)
    pairs: list[tuple[Coupon | None, Coupon | None]] = field(default_factory=list)
    factors: list[Decimal] = field(default_factory=list)
    best_from: list[int] = field(default_factory=list)  # index of the lowest factor at or after

    @classmethod
    def build(cls, shop: Sequence[Coupon], platform: Sequence[Coupon],
              points: PointsRule | None) -> _CouponSteps:
        steps = cls(points)
        marks = sorted({c.threshold for c in (*shop, *platform)} | {ZERO})
        for mark in marks:
            s = max((c for c in shop if c.threshold <= mark), key=lambda c: c.off, default=None)
            p = max((c for c in platform if c.threshold <= mark), key=lambda c: c.off,
                    default=None)
            steps.thresholds.append(mark)
            steps.pairs.append((s, p))
            steps.factors.append(steps.factor(mark, s, p))
        best = len(marks) - 1
        steps.best_from = [0] * len(marks)
        for n in range(len(marks) - 1, -1, -1):
            if steps.factors[n] <= steps.factors[best]:
                best = n
            steps.best_from[n] = best
        return steps

    def factor(self, amount: Decimal, shop: Coupon | None, platform: Coupon | None) -> Decimal:
        if amount <= 0:
            return ONE
        off = (shop.off if shop else ZERO) + (platform.off if platform else ZERO)
        payable = max(amount - off, ZERO)
        return (payable - points_yuan(self.points, payable)) / amount

    def best(self, least: Decimal) -> tuple[Decimal, Coupon | None, Coupon | None]:
        """The cart amount ``A ≥ least`` with the lowest factor, and its coupons."""
        n = bisect_right(self.thresholds, least) - 1
        shop, platform = self.pairs[n]
        amount, factor = least, self.factor(least, shop, platform)
        if n + 1 < len(self.thresholds):
            m = self.best_from[n + 1]
            if self.factors[m] < factor:
                amount = self.thresholds[m]
                shop, platform = self.pairs[m]
        return amount, shop, platform


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
        self.entries = _entries(offers, at)
        self.index = _Index(self.entries)
        self.list_prices = {s.sku: s.price for s in skus}
        self.covering = [self.index.covering(s.sku, s.category) for s in skus]
        # the cheapest list price among the audited SKUs each cross-item promotion covers
        self.cheapest: dict[int, Decimal] = {}
        for s, members in zip(skus, self.covering, strict=True):
            for n in members:
                if self.entries[n].role == _CROSS:
                    known = self.cheapest.get(n)
                    if known is None or s.price < known:
                        self.cheapest[n] = s.price
        self._sets: dict[tuple[int, ...], list[tuple[frozenset[int], datetime]]] = {}
        self._coupons: dict[frozenset[int], _CouponSteps] = {}
        self._compiled: dict[int, CPromo] = {}

    def compiled(self, n: int) -> CPromo:
        found = self._compiled.get(n)
        if found is None:
            promo = self.entries[n].offer
            assert isinstance(promo, Promotion)
            found = self._compiled[n] = compile_promotion(promo)
        return found

    def sets(self, members: tuple[int, ...]) -> list[tuple[frozenset[int], datetime]]:
        found = self._sets.get(members)
        if found is None:
            found = self._sets[members] = _maximal_sets(self.entries, members)
        return found

    def coupon_steps(self, members: frozenset[int]) -> _CouponSteps:
        key = frozenset(n for n in members if self.entries[n].role in (_SHOP, _PLATFORM))
        found = self._coupons.get(key)
        if found is None:
            shop = [self.entries[n].offer for n in key if self.entries[n].role == _SHOP]
            platform = [self.entries[n].offer for n in key if self.entries[n].role == _PLATFORM]
            found = self._coupons[key] = _CouponSteps.build(shop, platform,  # type: ignore[arg-type]
                                                            self.points)
        return found

    def reach(self, sku: AuditSku, members: tuple[int, ...]) -> Reach:
        price = money(sku.price)
        best: Reach | None = None
        for active, moment in self.sets(members):
            found = self._reach_in(sku, price, active, moment)
            if best is None or found.lowest < best.lowest or (
                    found.lowest == best.lowest and len(found.stack) < len(best.stack)):
                best = found
        assert best is not None
        return best

    def _reach_in(self, sku: AuditSku, price: Decimal, active: frozenset[int],
                  moment: datetime) -> Reach:
        entries = self.entries
        # 1. item level
        unit, item_text, item_id, tier, group = price, "", None, None, False
        for n in active:
            entry = entries[n]
            if entry.role != _ITEM:
                continue
            promo = entry.offer
            assert isinstance(promo, Promotion)
            value, text, member = _item_price(promo, price)
            if value < unit:
                unit, item_text, item_id, tier = value, text, promo.id, member
                group = promo.kind == PromotionKind.GROUP_BUY
        # 2. one cross-item promotion, 3. coupons, 4. points: the best combination
        steps = self.coupon_steps(active)
        options: list[tuple[_CrossOption | None, str | None]] = [(None, None)]
        for n in active:
            entry = entries[n]
            if entry.role != _CROSS:
                continue
            promo = entry.offer
            assert isinstance(promo, Promotion)
            if promo.kind == PromotionKind.BUNDLE:
                option = _bundle_option(promo, sku.sku, unit, self.list_prices)
                if option is not None:
                    options.append((option, promo.id))
                continue
            for option in _cross_options(self.compiled(n), unit, self.cheapest.get(n, unit)):
                options.append((option, promo.id))
        best: tuple[Decimal, tuple] | None = None
        for option, cross_id in options:
            if option is None:
                after_cross, least = unit, unit
            else:
                share = money(option.off * unit / option.amount)
                after_cross = unit - share
                least = option.amount - option.off
            amount, shop, platform = steps.best(least)
            off = (shop.off if shop else ZERO) + (platform.off if platform else ZERO)
            off = min(off, amount)
            after_coupons = after_cross
            if off > 0 and amount > 0:
                after_coupons = after_cross - money(off * after_cross / amount)
            payable = amount - off
            pts = points_yuan(self.points, payable)
            final = after_coupons
            if pts > 0 and payable > 0:
                final = after_coupons - money(pts * after_coupons / payable)
            final = max(final, ZERO)
            candidate = (final, (option, cross_id, amount, shop, platform, pts, payable))
            if best is None or final < best[0]:
                best = candidate
        assert best is not None
        final, (option, cross_id, amount, shop, platform, pts, payable) = best
        stack: list[str] = []
        texts: list[str] = []
        if item_id is not None:
            stack.append(item_id)
            texts.append(item_text)
        if option is not None and cross_id is not None:
            stack.append(cross_id)
            texts.append(option.text)
        least = unit if option is None else option.amount - option.off
        filled = amount > least and (shop or platform)
        coupon_filler = f"（凑单至满{short(amount)}）" if filled else ""
        for n, coupon in enumerate(c for c in (shop, platform) if c is not None):
            stack.append(coupon.id)
            texts.append(_coupon_text(coupon) + (coupon_filler if n == 0 else ""))
        if pts > 0 and self.points is not None:
            stack.append(POINTS_ID)
            if pts < money(payable * self.points.max_share):
                texts.append(f"京豆抵扣{yuan(pts)}元")
            else:
                share = format((self.points.max_share * HUNDRED).normalize(), "f")
                texts.append(f"京豆抵扣{share}%")
        when = None if moment == _MIN else moment
        if when is None and self.at is not None:
            when = self.at
        return Reach(sku=sku.sku, price=price, lowest=money(final), stack=tuple(stack),
                     explanation=" → ".join(texts) if texts else "无优惠：按原价",
                     at=when, item_price=unit,
                     cross_amount=None if option is None else option.amount,
                     cross_off=None if option is None else option.off,
                     coupon_amount=amount if (shop or platform) else None,
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
