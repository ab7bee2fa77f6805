"""Offers compiled for the engine: integer cents, promotions indexed by SKU and category.

Pure, no I/O. ``compile_offers(offers)`` is cached by the identity of the ``Offers`` value (the
API prices many carts against one set of offers); the cache keeps the offers alive so an id is
never reused while cached.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from storeops.common.money import to_cents
from storeops.pricing.model import (
    CROSS_ITEM,
    ITEM_LEVEL,
    Coupon,
    CouponScope,
    Offers,
    Promotion,
    PromotionKind,
    Scope,
)

Ratio = tuple[int, int]  # a percent as numerator / denominator (12.5 -> (25, 2))


def ratio(value: Decimal) -> Ratio:
    num, den = Decimal(value).as_integer_ratio()
    return num, den


def rdiv(num: int, den: int) -> int:
    """``num / den`` rounded half up (num >= 0, den > 0)."""
    return (2 * num + den) // (2 * den)


def percent_of(amount: int, pct: Ratio) -> int:
    """What is left of ``amount`` cents after ``pct`` percent off, rounded half up."""
    num, den = pct
    return rdiv(amount * (100 * den - num), 100 * den)


@dataclass(slots=True)
class CTier:
    qty: int | None
    threshold: int | None  # cents
    off: int | None  # cents
    pct: Ratio | None  # percent off


@dataclass(slots=True)
class CPromo:
    """A promotion in cents."""

    promo: Promotion
    id: str
    kind: PromotionKind
    price: int | None = None
    off: int | None = None
    pct: Ratio | None = None
    limit: int | None = None  # flash: min(per_order_limit, quota)
    member_prices: dict[str, int] = field(default_factory=dict)
    tiers: tuple[CTier, ...] = ()
    repeat: bool = False
    cap: int | None = None
    bundle: tuple[tuple[str, int], ...] = ()
    bundle_skus: frozenset[str] = frozenset()
    rate: Ratio = (1, 1)  # an upper bound of discount / amount (cross-item), for the search
    always: bool = False  # no start and no end
    kind_value: str = ""  # kind.value (an enum's value is a slow property)
    # the tiers for the search (non-repeating cross-item kinds): (qty, threshold, off, k1, k2,
    # k3), 0 for a missing qty/threshold; a percent tier has k3 > 0 and takes
    # amount - (2 x amount x k1 + k2) // k3 off (percent_of, written out)
    fast: tuple[tuple[int, int, int, int, int, int], ...] = ()
    texts: dict[int, str] = field(default_factory=dict)  # explanation per tier (engine's cache)


@dataclass(slots=True)
class CCoupon:
    coupon: Coupon
    id: str
    shop: bool
    off: int
    threshold: int
    all_lines: bool
    text: str = ""  # explanation (engine's cache)


def _tier(t) -> CTier:
    return CTier(qty=t.qty,
                 threshold=None if t.threshold is None else to_cents(t.threshold),
                 off=None if t.off is None else to_cents(t.off),
                 pct=None if t.percent is None else ratio(t.percent))


def _rate(cp: CPromo) -> Ratio:
    """disc(S) <= rate x amount(S) for every set S (cross-item kinds)."""
    best_num, best_den = 0, 1
    for t in cp.tiers:
        if t.pct is not None:
            num, den = t.pct[0], t.pct[1] * 100
        elif t.off is not None and t.threshold:
            num, den = t.off, t.threshold
        else:
            return (1, 1)  # a fixed amount off a number of pieces: at most all of it
        if num * best_den > best_num * den:
            best_num, best_den = num, den
    if best_num >= best_den:
        return (1, 1)
    return (best_num, best_den)


def compile_promotion(p: Promotion) -> CPromo:
    cp = CPromo(promo=p, id=p.id, kind=p.kind, always=p.start is None and p.end is None,
                kind_value=p.kind.value)
    if p.price is not None:
        cp.price = to_cents(p.price)
    if p.off is not None:
        cp.off = to_cents(p.off)
    if p.percent is not None:
        cp.pct = ratio(p.percent)
    if p.kind == PromotionKind.FLASH_SALE:
        limits = [x for x in (p.per_order_limit, p.quota) if x is not None]
        cp.limit = min(limits) if limits else None
    cp.member_prices = {k: to_cents(v) for k, v in p.member_prices.items()}
    cp.tiers = tuple(_tier(t) for t in p.tiers)
    cp.repeat = p.repeat
    cp.cap = None if p.cap is None else to_cents(p.cap)
    cp.bundle = tuple((b.sku, b.qty) for b in p.bundle_items)
    cp.bundle_skus = frozenset(b.sku for b in p.bundle_items)
    if p.kind in CROSS_ITEM and p.kind != PromotionKind.BUNDLE:
        cp.rate = _rate(cp)
        fast = []
        for t in cp.tiers:
            if t.pct is None:
                fast.append((t.qty or 0, t.threshold or 0, t.off or 0, 0, 0, 0))
            else:
                num, den = t.pct
                fast.append((t.qty or 0, t.threshold or 0, 0, 100 * den - num, 100 * den,
                             200 * den))
        cp.fast = tuple(fast)
    return cp


def compile_coupon(c: Coupon) -> CCoupon:
    s = c.skus
    all_lines = (s.skus is None and not s.categories and not s.exclude_skus
                 and not s.exclude_categories)
    return CCoupon(coupon=c, id=c.id, shop=c.scope == CouponScope.SHOP, off=to_cents(c.off),
                   threshold=to_cents(c.threshold), all_lines=all_lines)


class _Index:
    """Offers of one kind group by the SKUs and categories their scope names."""

    def __init__(self) -> None:
        self.by_sku: dict[str, list[int]] = {}
        self.by_category: dict[str, list[int]] = {}
        self.everywhere: list[int] = []

    def add(self, i: int, scope: Scope) -> None:
        if scope.skus is None and not scope.categories:
            self.everywhere.append(i)
            return
        for sku in scope.skus or ():
            self.by_sku.setdefault(sku, []).append(i)
        for cat in scope.categories:
            self.by_category.setdefault(cat, []).append(i)

    def lookup(self, sku: str, category: str | None) -> list[int]:
        found = self.by_sku.get(sku, [])
        if category is not None and category in self.by_category:
            found = found + self.by_category[category]
        if self.everywhere:
            found = found + self.everywhere
        return found


@dataclass
class CompiledOffers:
    offers: Offers
    promos: list[CPromo]
    coupons: list[CCoupon]
    item_index: _Index
    cross_index: _Index
    gift_index: _Index

    scoped: dict[tuple[int, str, str | None], list[CPromo]] = field(default_factory=dict)
    # (coupon id, sku, category) -> whether a scoped coupon covers it (the engine's cache)
    coupon_covers: dict[tuple[str, str, str | None], bool] = field(default_factory=dict)

    def promotions_for(self, index: _Index, sku: str, category: str | None,
                       at: datetime | None) -> list[CPromo]:
        """The promotions of ``index`` whose scope covers the SKU and that run at ``at``."""
        key = (id(index), sku, category)
        inscope = self.scoped.get(key)
        if inscope is None:
            inscope = []
            seen: set[int] = set()
            for i in index.lookup(sku, category):
                if i in seen:
                    continue
                seen.add(i)
                cp = self.promos[i]
                if cp.promo.scope.covers(sku, category) and (
                        cp.kind != PromotionKind.BUNDLE or sku in cp.bundle_skus):
                    inscope.append(cp)
            if len(self.scoped) < 200_000:
                self.scoped[key] = inscope
        if at is None:
            return inscope
        return [cp for cp in inscope if cp.always or cp.promo.active_at(at)]


def _build(offers: Offers) -> CompiledOffers:
    promos = [compile_promotion(p) for p in offers.promotions]
    item_index, cross_index, gifts = _Index(), _Index(), _Index()
    for i, cp in enumerate(promos):
        if cp.kind in ITEM_LEVEL:
            item_index.add(i, cp.promo.scope)
        elif cp.kind in CROSS_ITEM:
            scope = cp.promo.scope
            if cp.kind == PromotionKind.BUNDLE and scope.skus is None and not scope.categories:
                scope = Scope(skus=cp.bundle_skus)  # a bundle's lines are its items
            cross_index.add(i, scope)
        else:
            gifts.add(i, cp.promo.scope)
    return CompiledOffers(offers=offers, promos=promos,
                          coupons=[compile_coupon(c) for c in offers.coupons],
                          item_index=item_index, cross_index=cross_index, gift_index=gifts)


_CACHE: OrderedDict[int, CompiledOffers] = OrderedDict()
_CACHE_SIZE = 64


def compile_offers(offers: Offers) -> CompiledOffers:
    """The compiled form of ``offers``, cached by identity (the newest 64 kept)."""
    key = id(offers)
    hit = _CACHE.get(key)
    if hit is not None and hit.offers is offers:
        _CACHE.move_to_end(key)
        return hit
    compiled = _build(offers)
    _CACHE[key] = compiled
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return compiled
