"""The best stack when a whole-cart coupon's threshold competes with the promotions, against an
exhaustive enumeration.

Each case has 7-10 lines with up to 4 candidate cross-item promotions per line and a whole-cart
shop coupon (300 off) whose threshold is the goods minus about half of what the promotions can
take: the coupon counts only when the lines give up part of their promotions, so the engine
must find the largest promotion cut that still leaves the threshold. The reference enumerates
every assignment of every line to one of its promotions or none (as the distinct per-promotion
sums of amount and pieces, which is every assignment's outcome), prices each with its own tier
arithmetic and coupon rules, and keeps the lowest payable. Each case runs twice: as the engine
chooses, and with the short branch and bound turned off so that the dynamic program over the
cross-item totals (``optimizer.by_cut_values``) decides alone.
"""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from pricing_oracle import cap_candidates, cents, mixed_promotions, tier_cut

from storeops.pricing import optimizer
from storeops.pricing.engine import price_cart
from storeops.pricing.model import (
    Cart,
    CartLine,
    Coupon,
    CouponScope,
    Offers,
    Promotion,
    PromotionKind,
)

K = PromotionKind


def make_case(seed: int, n: int, shared: bool, pair: bool, alike: bool = False,
              off: str = "300") -> tuple[Cart, Offers, set[int]]:
    """``alike``: lines of two prices, one piece each (many interchangeable lines); ``off``:
    the whole-cart coupon's value (a small one is not worth giving promotions up)."""
    rng = random.Random(seed)
    prices = ["49.00", "89.00"] if alike else ["19.90", "49.00", "89.00", "129.00", "259.00"]
    lines = [CartLine(f"S{i}", 1 if alike else rng.randint(1, 3),
                      Decimal(rng.choice(prices)), "c") for i in range(n)]
    skus = [ln.sku for ln in lines]
    promos = mixed_promotions(rng, skus, 4 if shared else 6, None if shared else n // 2 + 1,
                              reduction_at=(99, 199, 299), reduction_off=((20, 30), (60, 90)),
                              discount_at=(200, 300))
    if not shared:
        cap_candidates(lines, promos)
    goods = sum(cents(ln.price) * ln.qty for ln in lines)
    totals = reachable(lines, promos)
    most = max(totals)
    coupons = [Coupon("big", CouponScope.SHOP, Decimal(off),
                      Decimal(goods - most // 2 - rng.randint(0, 99)) / 100)]
    if pair:
        coupons.append(Coupon("plat", CouponScope.PLATFORM, Decimal("100"),
                              Decimal(goods - most // 3) / 100))
    return Cart(tuple(lines)), Offers(tuple(promos), tuple(coupons)), totals


def reachable(lines: list[CartLine], promos: list[Promotion]) -> set[int]:
    """Every cross-item total some assignment reaches: line by line, every choice, as the
    per-promotion (amount, pieces) each assignment leads to."""
    states = {tuple((0, 0) for _ in promos)}
    for ln in lines:
        a, q = cents(ln.price) * ln.qty, ln.qty
        mine = [j for j, p in enumerate(promos) if p.scope.covers(ln.sku, ln.category)]
        new = set(states)
        for s in states:
            for j in mine:
                t = list(s)
                t[j] = (s[j][0] + a, s[j][1] + q)
                new.add(tuple(t))
        states = new
    return {sum(tier_cut(p, a, n) for p, (a, n) in zip(promos, s, strict=True))
            for s in states}


def lowest_payable(cart: Cart, offers: Offers, totals: set[int]) -> int:
    goods = sum(cents(ln.price) * ln.qty for ln in cart.lines)
    best = None
    shops = [None] + [c for c in offers.coupons if c.scope == CouponScope.SHOP]
    plats = [None] + [c for c in offers.coupons if c.scope == CouponScope.PLATFORM]
    for x in totals:
        after = goods - x
        for shop in shops:
            for plat in plats:
                left = after
                for c in (shop, plat):  # whole-cart coupons: thresholds on the amount after
                    if c is not None and after > 0 and after >= cents(c.threshold):
                        left -= min(cents(c.off), left)
                best = left if best is None else min(best, left)
    return best


CASES = [(1, 7, True, False), (2, 8, False, False), (3, 7, True, True), (4, 7, False, True),
         (5, 7, False, False), (6, 7, True, False), (7, 10, True, False, True),
         (8, 10, False, False, True), (9, 7, True, True, False, "5"),
         (10, 8, False, False, False, "5")]


@pytest.fixture(scope="module")
def references() -> dict[tuple, tuple[Cart, Offers, int, int]]:
    """Per case: the cart, the offers, the lowest payable and the largest cross-item total."""
    out = {}
    for case in CASES:
        cart, offers, totals = make_case(*case)
        out[case] = (cart, offers, lowest_payable(cart, offers, totals), max(totals))
    return out


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("forced", [False, True], ids=["engine", "value-dp-alone"])
def test_competing_whole_cart_coupon_exact(case, forced: bool, references,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    cart, offers, payable, _ = references[case]
    if forced:
        monkeypatch.setattr(optimizer, "SHORT_NODES", 0)
    result = price_cart(cart, offers)
    assert cents(result.payable) == payable
    assert result.notes == ()  # proven exact
    assert sum(ln.final_amount for ln in result.lines) == result.payable
    for ln in result.lines:
        assert sum(d.amount for d in ln.discounts) == ln.list_amount - ln.final_amount


def test_the_cases_compete(references) -> None:
    # a 300 coupon wins, and only by giving up part of the promotions; a 5 coupon is given up
    for cart, offers, payable, most in references.values():
        result = price_cart(cart, offers)
        if offers.coupons[0].off < 100:
            assert "big" not in result.applied
            continue
        goods = sum(cents(ln.price) * ln.qty for ln in cart.lines)
        assert "big" in result.applied
        cross = goods - cents(result.payable) - sum(
            cents(d.amount) for ln in result.lines for d in ln.discounts if d.kind == "coupon")
        assert 0 < cross < most
        assert goods - most > payable  # the coupon beats taking every promotion
