"""Exactness benchmark: 12-line carts, 4 candidate cross-item promotions per line, a coupon
whose threshold competes with the promotions.

Each case (fixed seeds) is a 12-line cart (list prices 19.90-259.00, qty 1-3) with either 4
store-wide promotions (满减 tiers, 多买 3件9折/5件8折, 满折) or 7 promotions scoped to 7 of the
12 SKUs each (trimmed so that no line has more than 4 candidates), and a whole-cart shop coupon
of 300 yuan whose threshold is the goods total minus half of what plain greedy takes off: the
coupon is reached only by a cart that gives up about half of its promotions, so the search
must find the largest promotion cut that still leaves the threshold. With ``--pair`` a
platform coupon (whole cart, threshold goods minus a third of the greedy cut, 150 off) and a
scoped shop coupon join in. With ``--scoped`` the competing coupons are scoped instead: a
shop coupon on category a (100 off, threshold its lines' goods minus half their share of the
greedy cut) and a platform coupon on categories a and b (150 off, threshold their goods minus
a third of their share). With ``--many-coupons`` the candidates are 2-3 shop and 2-3
platform coupons with nested and overlapping scopes (category a, a+b, maybe the whole cart;
b, b+c, maybe the whole cart; ``pricing_oracle.many_coupons``), each threshold its lines'
goods minus a half, a third or a quarter of their share of the greedy cut. Prints how many
cases the engine proves exact (no 启发式 note), the median and max CPU time per cart. Run::

    .venv/bin/python bench/price_exact_bench.py [--cases 200] [--seed 0]
        [--pair | --scoped | --many-coupons]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from pricing_oracle import (  # noqa: E402
    cents,
    many_coupons,
    plain_greedy_cut,
    random_case,
    scoped_coupons,
)

from storeops.pricing.engine import price_cart  # noqa: E402
from storeops.pricing.model import (  # noqa: E402
    Cart,
    Coupon,
    CouponScope,
    Offers,
    PromotionKind,
    Scope,
)

K = PromotionKind


def case(seed: int, shared: bool, pair: bool = False, n: int = 12,
         scoped: bool = False, many: bool = False) -> tuple[Cart, Offers]:
    """The 12-line carts of tests/test_pricing_engine_optimal.py with a whole-cart coupon whose
    threshold competes with the promotions (``pair``: a platform and a category coupon too;
    ``scoped``: two competing category coupons instead; ``many``: 4-6 competing candidates)."""
    cart, promos = random_case(seed, shared, n)
    lines = list(cart.lines)
    goods = sum(cents(ln.price) * ln.qty for ln in lines)
    cut = plain_greedy_cut(lines, promos)
    if many:
        return Cart(tuple(lines)), Offers(tuple(promos),
                                          many_coupons(lines, cut, random.Random(seed)))
    if scoped:
        return Cart(tuple(lines)), Offers(tuple(promos), scoped_coupons(lines, cut))
    coupons = [Coupon("big", CouponScope.SHOP, Decimal("300"),
                      Decimal(goods - cut // 2) / 100)]
    if pair:
        coupons.append(Coupon("plat", CouponScope.PLATFORM, Decimal("150"),
                              Decimal(goods - cut // 3) / 100))
        coupons.append(Coupon("cat", CouponScope.SHOP, Decimal("60"), Decimal("300"),
                              Scope(categories=frozenset({"a"}))))
    return Cart(tuple(lines)), Offers(tuple(promos), tuple(coupons))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pair", action="store_true")
    ap.add_argument("--scoped", action="store_true")
    ap.add_argument("--many-coupons", action="store_true")
    args = ap.parse_args()
    times, exact = [], 0
    for k in range(args.cases):
        cart, offers = case(args.seed + k, shared=k % 2 == 0, pair=args.pair,
                            scoped=args.scoped, many=args.many_coupons)
        t0 = time.thread_time()
        result = price_cart(cart, offers)
        times.append((time.thread_time() - t0) * 1000)
        exact += not result.notes
    times.sort()
    print(f"{args.cases} carts of 12 lines x 4 candidates with a competing coupon"
          f"{' (+ platform and scoped coupons)' if args.pair else ''}"
          f"{' (scoped shop and platform coupons)' if args.scoped else ''}"
          f"{' (2-3 shop and 2-3 platform candidates)' if args.many_coupons else ''}: "
          f"exact {exact}/{args.cases}, "
          f"CPU median {statistics.median(times):.1f} ms, "
          f"p90 {times[int(len(times) * 0.9)]:.1f} ms, max {times[-1]:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
