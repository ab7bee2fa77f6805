"""Tier arithmetic of the cross-item promotions and gifts, in integer cents (pure).

- A tier is reached when the joined lines have at least its ``qty`` pieces and/or its
  ``threshold`` amount (the amount after item-level prices). Only one tier counts: the one that
  takes the most off (tiers are not cumulative). ``off`` is a fixed amount off the joined lines
  together (a multi-buy "2件减10" takes 10 off the group, not per piece); ``percent`` is percent
  off their amount, the discounted amount rounded half up to 0.01.
- ``repeat`` (每满): the first tier repeats as often as it fits (每满100减10 on 250 takes 20);
  ``cap`` caps what it takes off.
- Bundle: complete sets are formed from the joined lines' units, the dearest units first (a
  line with two unit prices - flash units and the rest - gives its dearer units first, the
  buyer's better choice); each set's value is its items' item-level unit prices, and a set is
  formed only while its value exceeds the bundle price, so the discount is the sum over the
  sets formed of value - price (with equal unit prices: sets x value - sets x price when
  positive). So no bundle, like every cross-item kind, takes less when more lines join it.
- Never more off than the joined amount.
"""

from __future__ import annotations

from decimal import Decimal

from storeops.common.money import from_cents, to_cents
from storeops.pricing.engine_compile import CPromo, CTier, compile_promotion, percent_of
from storeops.pricing.model import Promotion, PromotionKind


def tier_reached(t: CTier, amount: int, pieces: int) -> bool:
    if t.qty is None and t.threshold is None:
        return True
    return ((t.qty is None or pieces >= t.qty)
            and (t.threshold is None or amount >= t.threshold))


def _tier_off(t: CTier, amount: int) -> int:
    if t.pct is not None:
        return amount - percent_of(amount, t.pct)
    return t.off or 0


def tier_discount_cents(cp: CPromo, amount: int, pieces: int) -> tuple[int, CTier | None, int]:
    """(cents off, the tier that counts, times it applies) for a multi-buy, full reduction or
    full discount on lines of ``amount`` cents and ``pieces`` pieces."""
    if amount <= 0 or not cp.tiers:
        return 0, None, 0
    if cp.repeat:
        t = cp.tiers[0]
        if t.threshold:
            times = amount // t.threshold
        elif t.qty:
            times = pieces // t.qty
        else:
            times = 1
        if times <= 0:
            return 0, None, 0
        off = _tier_off(t, amount) * times if t.pct is None else _tier_off(t, amount)
        if cp.cap is not None and off > cp.cap:
            off = cp.cap
        return (off if off < amount else amount), t, times
    best, best_tier = 0, None
    for t in cp.tiers:  # tier_reached and _tier_off, inlined: this runs in the search
        q, th = t.qty, t.threshold
        if (q is None or pieces >= q) and (th is None or amount >= th):
            pct = t.pct
            if pct is None:
                off = t.off or 0
            else:
                den = 200 * pct[1]
                off = amount - (2 * amount * (100 * pct[1] - pct[0]) + 100 * pct[1]) // den
            if off > best:
                best, best_tier = off, t
    if cp.cap is not None and best > cp.cap:
        best = cp.cap
    return (best if best < amount else amount), best_tier, 1 if best_tier else 0


def cut_cents(cp: CPromo, amount: int, pieces: int) -> int:
    """``tier_discount_cents(cp, amount, pieces)[0]``, faster (the search's inner loop)."""
    if amount <= 0 or not cp.fast:
        return tier_discount_cents(cp, amount, pieces)[0] if amount > 0 else 0
    if cp.repeat:  # the first tier, as often as it fits
        q, th, off, k1, k2, k3 = cp.fast[0]
        times = amount // th if th else (pieces // q if q else 1)
        if times <= 0:
            return 0
        off = amount - (2 * amount * k1 + k2) // k3 if k3 else off * times
        cap = cp.cap
        if cap is not None and off > cap:
            off = cap
        return off if off < amount else amount
    best = 0
    for q, th, off, k1, k2, k3 in cp.fast:
        if pieces >= q and amount >= th:
            if k3:
                off = amount - (2 * amount * k1 + k2) // k3
            if off > best:
                best = off
    cap = cp.cap
    if cap is not None and best > cap:
        best = cap
    return best if best < amount else amount


def bundle_discount_cents(cp: CPromo,
                          units: dict[str, list[tuple[int, int]]]) -> tuple[int, int]:
    """(cents off, sets) of a bundle; ``units[sku]`` lists (unit price in cents, units) of the
    joined lines of that SKU, dearest first."""
    if not cp.bundle or cp.price is None:
        return 0, 0
    most = min(sum(n for _, n in units.get(sku, ())) // qty for sku, qty in cp.bundle)
    if most <= 0:
        return 0, 0
    # set k takes the k-th dearest units of each item; form sets while they save money
    set_values = [0] * most
    for sku, qty in cp.bundle:
        k = taken = 0
        for unit, n in units[sku]:
            while n and k < most:
                take = min(n, qty - taken)
                set_values[k] += unit * take
                n -= take
                taken += take
                if taken == qty:
                    k, taken = k + 1, 0
            if k >= most:
                break
    off = sets = 0
    for value in set_values:
        if value <= cp.price:
            break
        off += value - cp.price
        sets += 1
    return off, sets


def cross_discount(promotion: Promotion, amount: Decimal, pieces: int) -> Decimal:
    """What a multi-buy, full reduction or full discount takes off lines worth ``amount``
    (after item-level prices) with ``pieces`` pieces, in yuan (public helper for the audits)."""
    cp = compile_promotion(promotion)
    if cp.kind == PromotionKind.BUNDLE:
        raise ValueError("use bundle_discount for a bundle")
    off, _, _ = tier_discount_cents(cp, to_cents(amount), pieces)
    return from_cents(off) or Decimal("0.00")


def bundle_discount(promotion: Promotion, unit_prices: dict[str, list[Decimal]]) -> Decimal:
    """What a bundle takes off units at ``unit_prices`` (per SKU), in yuan."""
    cp = compile_promotion(promotion)
    units = {sku: sorted(((to_cents(p), 1) for p in prices), reverse=True)
             for sku, prices in unit_prices.items()}
    off, _ = bundle_discount_cents(cp, units)
    return from_cents(off) or Decimal("0.00")


def gift_reached(cp: CPromo, amount: int, pieces: int) -> bool:
    """A gift promotion is reached when any of its tiers is (no tiers: any purchase)."""
    if amount <= 0 and pieces <= 0:
        return False
    if not cp.tiers:
        return True
    return any(tier_reached(t, amount, pieces) for t in cp.tiers)
