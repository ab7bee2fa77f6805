"""The best stack on carts of 12 lines with 4 candidate promotions per line (exact), and on
20-line carts (never worse than greedy).

The reference is an independent dynamic program over subsets of lines: promotion by promotion,
the best total for every set of lines, trying every subset of them for the promotion
(3^12 steps per promotion).
"""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from pricing_oracle import cents, tier_cut

from storeops.pricing.engine import price_cart
from storeops.pricing.model import (
    Cart,
    CartLine,
    Offers,
    Promotion,
    PromotionKind,
    Scope,
    Tier,
)

K = PromotionKind


def best_by_subsets(lines: list[CartLine], promos: list[Promotion]) -> int:
    n = len(lines)
    full = (1 << n) - 1
    amount = [0] * (1 << n)
    pieces = [0] * (1 << n)
    for mask in range(1, 1 << n):
        low = (mask & -mask).bit_length() - 1
        amount[mask] = amount[mask & (mask - 1)] + cents(lines[low].price) * lines[low].qty
        pieces[mask] = pieces[mask & (mask - 1)] + lines[low].qty
    best = [0] * (1 << n)  # with no promotion yet
    for p in promos:
        allowed = sum(1 << i for i, ln in enumerate(lines)
                      if p.scope.covers(ln.sku, ln.category))
        cut = [tier_cut(p, amount[m], pieces[m]) if m & ~allowed == 0 else 0
               for m in range(1 << n)]
        new = list(best)
        for mask in range(1, 1 << n):
            top = best[mask]
            sub = mask & allowed
            while sub:
                v = best[mask ^ sub] + cut[sub]
                if v > top:
                    top = v
                sub = (sub - 1) & mask & allowed
            new[mask] = top
        best = new
    return best[full]


def random_case(seed: int, shared: bool, n: int = 12) -> tuple[Cart, list[Promotion]]:
    rng = random.Random(seed)
    cats = ["a", "b", "c"]
    lines = [CartLine(f"S{i}", rng.randint(1, 3),
                      Decimal(rng.choice(["19.90", "49.00", "89.00", "129.00", "259.00"])),
                      rng.choice(cats)) for i in range(n)]
    skus = [ln.sku for ln in lines]
    promos = []
    for j in range(4 if shared else 7):
        if shared:
            scope = Scope()
        else:
            scope = Scope(skus=frozenset(rng.sample(skus, 7)))
        kind = j % 3
        if kind == 0:
            t = rng.choice([199, 299, 399])
            promos.append(Promotion(f"fr{j}", K.FULL_REDUCTION, scope, tiers=(
                Tier(threshold=Decimal(t), off=Decimal(rng.choice([30, 50]))),
                Tier(threshold=Decimal(2 * t), off=Decimal(rng.choice([80, 120]))))))
        elif kind == 1:
            promos.append(Promotion(f"mb{j}", K.MULTI_BUY, scope, tiers=(
                Tier(qty=3, percent=Decimal("10")), Tier(qty=5, percent=Decimal("20")))))
        else:
            promos.append(Promotion(f"fd{j}", K.FULL_DISCOUNT, scope, tiers=(
                Tier(threshold=Decimal(rng.choice([300, 500])), percent=Decimal("15")),)))
    if not shared:  # every line: at most 4 candidates
        for i, ln in enumerate(lines):
            mine = [p for p in promos if p.scope.covers(ln.sku)]
            for p in mine[4:]:
                k = promos.index(p)
                promos[k] = Promotion(p.id, p.kind, Scope(skus=p.scope.skus - {ln.sku}),
                                      tiers=p.tiers)
            assert sum(p.scope.covers(ln.sku) for p in promos) <= 4, i
    return Cart(tuple(lines)), promos


@pytest.mark.parametrize(("seed", "shared"), [(1, True), (2, True), (3, False), (4, False)])
def test_twelve_lines_four_candidates_exact(seed: int, shared: bool) -> None:
    cart, promos = random_case(seed, shared)
    result = price_cart(cart, Offers(tuple(promos)))
    goods = sum(cents(ln.price) * ln.qty for ln in cart.lines)
    assert cents(result.payable) == goods - best_by_subsets(list(cart.lines), promos)
    assert result.notes == ()  # the search finished: exact


def plain_greedy_cut(lines: list[CartLine], promos: list[Promotion]) -> int:
    """Dearest line first, each into the promotion where it gains most now."""
    joined: dict[str, list[CartLine]] = {p.id: [] for p in promos}

    def cut(p: Promotion, members: list[CartLine]) -> int:
        return tier_cut(p, sum(cents(m.price) * m.qty for m in members),
                        sum(m.qty for m in members))

    for ln in sorted(lines, key=lambda x: -cents(x.price) * x.qty):
        options = [p for p in promos if p.scope.covers(ln.sku, ln.category)]
        if options:
            best = max(options, key=lambda p: cut(p, joined[p.id] + [ln]) - cut(p, joined[p.id]))
            joined[best.id].append(ln)
    return sum(cut(p, joined[p.id]) for p in promos)


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_twenty_lines_never_worse_than_greedy(seed: int) -> None:
    cart, promos = random_case(seed, False, n=20)
    result = price_cart(cart, Offers(tuple(promos)))
    goods = sum(cents(ln.price) * ln.qty for ln in cart.lines)
    assert cents(result.payable) <= goods - plain_greedy_cut(list(cart.lines), promos)
    assert sum(ln.final_amount for ln in result.lines) == result.payable


@pytest.mark.parametrize("seed", [8, 9])
def test_twenty_lines_with_a_competing_coupon_never_worse_than_greedy(seed: int) -> None:
    # a whole-cart shop coupon whose threshold only a cart with few promotions reaches:
    # greedy takes every promotion first, then the coupon if its threshold still holds
    from storeops.pricing.model import Coupon, CouponScope

    cart, promos = random_case(seed, False, n=20)
    goods = sum(cents(ln.price) * ln.qty for ln in cart.lines)
    greedy_cut = plain_greedy_cut(list(cart.lines), promos)
    threshold = Decimal(goods - greedy_cut // 2) / 100  # reached only with half the cut
    coupon = Coupon("big", CouponScope.SHOP, Decimal("300"), threshold)
    after = goods - greedy_cut
    greedy_payable = after - min(30000, after) if after >= cents(threshold) else after
    result = price_cart(cart, Offers(tuple(promos), (coupon,)))
    assert cents(result.payable) <= greedy_payable
    assert result.notes  # beyond 12 lines: the heuristic, and the result says so
    assert sum(ln.final_amount for ln in result.lines) == result.payable
    for ln in result.lines:
        assert sum(d.amount for d in ln.discounts) == ln.list_amount - ln.final_amount
