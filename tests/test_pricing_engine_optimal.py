"""The best stack on carts of 12 lines with 4 candidate promotions per line (exact), and on
20-line carts (never worse than greedy).

The reference is an independent dynamic program over subsets of lines: promotion by promotion,
the best total for every set of lines, trying every subset of them for the promotion
(3^12 steps per promotion).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from pricing_oracle import cents, plain_greedy_cut, random_case, tier_cut

from storeops.pricing.engine import price_cart
from storeops.pricing.model import (
    CartLine,
    Offers,
    Promotion,
    PromotionKind,
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


@pytest.mark.parametrize(("seed", "shared"), [(1, True), (2, True), (3, False), (4, False)])
def test_twelve_lines_four_candidates_exact(seed: int, shared: bool) -> None:
    cart, promos = random_case(seed, shared)
    result = price_cart(cart, Offers(tuple(promos)))
    goods = sum(cents(ln.price) * ln.qty for ln in cart.lines)
    assert cents(result.payable) == goods - best_by_subsets(list(cart.lines), promos)
    assert result.notes == ()  # the search finished: exact


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
