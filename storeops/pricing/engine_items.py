"""Item-level prices (pure, integer cents): direct cut, flash sale, group buy, member price.

A line's unit price is the lowest of its list price and every applicable item-level price:
direct (``price``, list − ``off``, or ``percent`` off the list price, rounded half up to 0.01,
never below 0), group buy (only when the cart is bought as a group), member price (the cart's
member tier). A flash sale price counts only when lower than that, and only for
min(per-order limit, quota) units, counted across the cart's lines in cart order (one flash
sale per line: the lowest-priced one with units left; of equal prices, the one that names the
SKU, then one that names its category, then a store-wide one, each kind in file order, so a
narrow flash sale's units go first and a store-wide one's are left for other lines); the rest
of the line's units keep the other price, so a line can have two unit prices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from storeops.common.money import from_cents, to_cents
from storeops.pricing.engine_compile import CompiledOffers, CPromo, compile_offers, percent_of
from storeops.pricing.model import Cart, CartLine, Offers, Promotion, PromotionKind


@dataclass(slots=True)
class ItemLine:
    line: CartLine
    list_unit: int  # cents
    segments: list[tuple[int, int, CPromo | None]]  # (units, unit cents, promotion)
    amount: int  # cents after item-level prices

    @property
    def list_amount(self) -> int:
        return self.list_unit * self.line.qty


def _unit_price(cp: CPromo, list_unit: int, cart: Cart) -> int | None:
    kind = cp.kind
    if kind == PromotionKind.DIRECT:
        if cp.price is not None:
            return cp.price
        if cp.off is not None:
            return max(0, list_unit - cp.off)
        if cp.pct is not None:
            return percent_of(list_unit, cp.pct)
        return None
    if kind == PromotionKind.GROUP_BUY:
        return cp.price if cart.group_buy else None
    if kind == PromotionKind.MEMBER_PRICE:
        if cart.member_tier is None:
            return None
        return cp.member_prices.get(cart.member_tier)
    return None


_CENTS: dict[Decimal, int] = {}  # list price -> cents (most carts repeat a store's prices)
_CENTS_SIZE = 20_000


def price_items(cart: Cart, compiled: CompiledOffers, at: datetime | None) -> list[ItemLine]:
    left: dict[str, int] = {}  # flash sale id -> units left at its price in this order
    out: list[ItemLine] = []
    cents_of = _CENTS
    promotions_for, index = compiled.promotions_for, compiled.item_index
    for line in cart.lines:
        list_unit = cents_of.get(line.price)
        if list_unit is None:
            list_unit = to_cents(line.price)
            if len(cents_of) < _CENTS_SIZE:
                cents_of[line.price] = list_unit
        rest, rest_promo = list_unit, None
        flashes: list[CPromo] = []
        for cp in promotions_for(index, line.sku, line.category, at):
            if cp.kind == PromotionKind.FLASH_SALE:
                if cp.price is not None:
                    flashes.append(cp)
                continue
            unit = _unit_price(cp, list_unit, cart)
            if unit is not None and unit < rest:
                rest, rest_promo = unit, cp
        segments: list[tuple[int, int, CPromo | None]] = []
        qty = line.qty
        best_flash = None
        for cp in flashes:
            units_left = left.get(cp.id, cp.limit)
            if cp.price < rest and (units_left is None or units_left > 0) and (
                    best_flash is None or cp.price < best_flash.price):
                best_flash = cp
        if best_flash is not None and qty > 0:
            units_left = left.get(best_flash.id, best_flash.limit)
            k = qty if units_left is None else min(qty, units_left)
            if units_left is not None:
                left[best_flash.id] = units_left - k
            segments.append((k, best_flash.price, best_flash))
            qty -= k
        if qty > 0 or not segments:
            segments.append((qty, rest, rest_promo))
        if len(segments) > 1:
            segments.sort(key=lambda s: -s[1])
            amount = sum(n * u for n, u, _ in segments)
        else:
            amount = segments[0][0] * segments[0][1]
        out.append(ItemLine(line, list_unit, segments, amount))
    return out


def item_unit_price(line: CartLine, promos: Offers | tuple[Promotion, ...], cart: Cart,
                    at: datetime | None = None) -> tuple[Decimal, Promotion | None]:
    """The lowest unit price item-level promotions give ``line`` in ``cart`` (a flash sale
    counts for its first unit), and the promotion that gives it (None: the list price)."""
    offers = promos if isinstance(promos, Offers) else Offers(promotions=tuple(promos))
    one = Cart(lines=(line,), member_tier=cart.member_tier, group_buy=cart.group_buy)
    priced = price_items(one, compile_offers(offers), at)[0]
    unit, promo = min(((u, p) for n, u, p in priced.segments if n > 0 or line.qty == 0),
                      key=lambda s: s[0])
    return from_cents(unit) or Decimal("0.00"), None if promo is None else promo.promo
