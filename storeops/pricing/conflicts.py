"""The conflict check of a store's promotions: what a merchant must fix before a campaign.

- ``cross_overlap``: an on-sale SKU in two cross-item promotions (multi-buy, full reduction,
  full discount, bundle) whose windows overlap: a line joins at most one, so the buyer (and
  the merchant's plan) gets only one of them.
- ``coupon_unreachable``: a coupon whose threshold no listed price can reach. Our reading:
  the coupon has a threshold above 0 and either no on-sale SKU is in its scope, or every
  on-sale SKU in its scope has a known stock (the most one order can take) and the sum of
  list price × stock over them stays below the threshold. An in-scope SKU of unknown stock
  can be bought in any number, so it reaches any threshold.
- ``flash_above_reference``: a flash sale whose price is above 70% of the reference price
  (the SKU's list price) of an on-sale SKU it covers: JD refuses such a 秒杀 (domain §6).

Off-shelf SKUs cannot be bought: they raise no conflict.

:func:`find_conflicts` is pure; :func:`store_conflicts` reads the store's draft, scheduled and
live entries and its SKUs. Each conflict has a catalog key (``promotions.conflict.<kind>``)
whose words exist in Chinese and English (:func:`conflict_text`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storeops.pricing.eligibility import FLASH_PRICE_SHARE
from storeops.pricing.model import CROSS_ITEM, Offers, PromotionKind, Scope

# JD's rule: a flash price at most 70% of the reference price (one place: the eligibility rules).
FLASH_MAX_SHARE = FLASH_PRICE_SHARE
SKUS_NAMED = 5  # SKUs a message names (the conflict keeps them all)


@dataclass(frozen=True)
class ListedSku:
    sku: str
    price: Decimal  # list price (the reference price)
    category: str | None = None
    on_sale: bool = True
    stock: int | None = None  # units in stock; None: unknown (no limit known)


@dataclass(frozen=True)
class Conflict:
    kind: str  # cross_overlap | coupon_unreachable | flash_above_reference
    codes: tuple[str, ...]  # the promotions/coupons concerned
    skus: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)  # for the message

    @property
    def key(self) -> str:
        return f"promotions.conflict.{self.kind}"


def windows_overlap(a_start: datetime | None, a_end: datetime | None,
                    b_start: datetime | None, b_end: datetime | None) -> bool:
    """Whether [a_start, a_end) and [b_start, b_end) share a moment (None: open)."""
    return (a_end is None or b_start is None or b_start < a_end) and \
        (b_end is None or a_start is None or a_start < b_end)


class _Catalog:
    """The listed SKUs as sets, so that a scope's SKUs are a few set operations (10,000 SKUs
    × hundreds of offers stay fast)."""

    def __init__(self, skus: Sequence[ListedSku]) -> None:
        self.all = frozenset(s.sku for s in skus)
        by_cat: dict[str, set[str]] = {}
        for s in skus:
            if s.category is not None:
                by_cat.setdefault(s.category, set()).add(s.sku)
        self.by_cat = by_cat

    def _in(self, categories: frozenset[str]) -> set[str]:
        out: set[str] = set()
        for c in categories:
            out |= self.by_cat.get(c, set())
        return out

    def covered(self, scope: Scope) -> frozenset[str]:
        """The listed SKUs ``scope`` covers (as :meth:`Scope.covers` decides one by one)."""
        if scope.skus is None and not scope.categories:
            base = set(self.all)
        else:
            base = (set(scope.skus) & self.all) if scope.skus is not None else set()
            base |= self._in(scope.categories)
        base -= scope.exclude_skus
        base -= self._in(scope.exclude_categories)
        return frozenset(base)


def _when(moment: datetime | None, tz: str | None) -> str:
    if moment is None:
        return "—"
    if tz is None:
        return moment.isoformat(timespec="minutes")
    from storeops.common.timeutil import zone

    return moment.astimezone(zone(tz)).strftime("%Y-%m-%d %H:%M")


def find_conflicts(offers: Offers, skus: Sequence[ListedSku],
                   tz: str | None = None) -> list[Conflict]:
    """Every conflict of ``offers`` over the store's SKUs (see the module's docstring), in a
    stable order: overlaps, then coupons, then flash sales. Times in messages are in ``tz``
    (the store's zone; None: ISO 8601 as stored)."""
    found: list[Conflict] = []
    listed = _Catalog(skus)
    cross = [p for p in offers.promotions if p.kind in CROSS_ITEM]
    selling = frozenset(s.sku for s in skus if s.on_sale)
    covered = {p.id: listed.covered(p.scope) & selling for p in cross}
    order = {s.sku: n for n, s in enumerate(skus)}
    for i, a in enumerate(cross):
        for b in cross[i + 1:]:
            if not windows_overlap(a.start, a.end, b.start, b.end):
                continue
            both = sorted(covered[a.id] & covered[b.id], key=order.__getitem__)
            if both:
                start = max((t for t in (a.start, b.start) if t), default=None)
                ends = [t for t in (a.end, b.end) if t]
                found.append(Conflict(
                    "cross_overlap", (a.id, b.id), tuple(both),
                    {"a": a.id, "b": b.id, "skus": ", ".join(both[:SKUS_NAMED]),
                     "count": len(both), "from": _when(start, tz),
                     "to": _when(min(ends) if ends else None, tz)}))
    on_sale = [s for s in skus if s.on_sale]
    for c in offers.coupons:
        if c.threshold <= 0:
            continue
        in_scope = listed.covered(c.skus)
        scope = [s for s in on_sale if s.sku in in_scope]
        if not scope:
            found.append(Conflict("coupon_unreachable", (c.id,), (),
                                  {"code": c.id, "threshold": f"{c.threshold:.2f}",
                                   "why": "no_sku"}))
            continue
        if any(s.stock is None for s in scope):
            continue
        most = sum((s.price * max(0, s.stock or 0) for s in scope), Decimal(0))
        if most < c.threshold:
            found.append(Conflict("coupon_unreachable", (c.id,), tuple(s.sku for s in scope),
                                  {"code": c.id, "threshold": f"{c.threshold:.2f}",
                                   "why": "too_high", "most": f"{most:.2f}"}))
    for p in offers.promotions:
        if p.kind != PromotionKind.FLASH_SALE or p.price is None:
            continue
        flash_skus = listed.covered(p.scope) & selling
        for s in skus:
            if s.price > 0 and s.sku in flash_skus and p.price > s.price * FLASH_MAX_SHARE:
                found.append(Conflict(
                    "flash_above_reference", (p.id,), (s.sku,),
                    {"code": p.id, "sku": s.sku, "price": f"{p.price:.2f}",
                     "reference": f"{s.price:.2f}",
                     "limit": f"{(s.price * FLASH_MAX_SHARE).quantize(Decimal('0.01')):.2f}"}))
    return found


def conflict_text(conflict: Conflict, lang: str) -> str:
    """The conflict in words, in ``lang`` (zh-CN or en)."""
    from storeops.web.i18n import translate

    key = conflict.key
    if conflict.kind == "coupon_unreachable":
        key = f"{key}_{conflict.params['why']}"
    return translate(lang, key, **conflict.params)


def listed_skus(session: Session, store_id: int) -> list[ListedSku]:
    """The store's SKUs with a list price, in SKU order."""
    from storeops.catalog.models import Product
    from storeops.common.money import from_cents

    rows = session.execute(select(Product.platform_sku_id, Product.list_price_cents,
                                  Product.category, Product.status, Product.stock)
                           .where(Product.store_id == store_id,
                                  Product.list_price_cents.is_not(None))
                           .order_by(Product.platform_sku_id))
    return [ListedSku(sku, from_cents(cents), category, status == "on_sale", stock)
            for sku, cents, category, status, stock in rows]


def store_conflicts(session: Session, store_id: int,
                    statuses: Iterable[str] = ("draft", "scheduled", "live")) -> list[Conflict]:
    """The conflicts among the store's entries of ``statuses`` (default: all that may still
    run) over its listed SKUs."""
    from storeops.catalog.models import Store
    from storeops.pricing.store import store_offers

    store = session.get(Store, store_id)
    return find_conflicts(store_offers(session, store_id, statuses),
                          listed_skus(session, store_id), store.timezone if store else None)
