"""破价 audit benchmark: 10,000 SKUs against 200 promotions and 50 coupons, in process.

The case is generated with a fixed seed: SKUs in 40 categories priced 9.90–2,999.00, cost
40–75% of the price, a third with an explicit floor, 3% without floor; promotions of every
kind (direct cuts and flash sales on SKU lists, member and group prices, 满减 tiers and 每满
with caps over categories or the whole shop, 满折, multi-buy, bundles), shop and platform
coupons with and without thresholds, a points rule; windows spread over the next 30 days
(some open-ended, some overlapping). Prints the time of each run, the median of ``--runs``,
the CPU time of each (the wall time grows with the machine's load; the CPU time does not
much), the peak memory of the process (and Python's own allocations during one run), the
number of SKUs below floor; exits 1 when the median wall time is over 30 s.

Run::

    .venv/bin/python bench/audit_bench.py [--skus 10000] [--promotions 200] [--coupons 50]
                                          [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from storeops.pricing.audit import AuditSku, audit
from storeops.pricing.model import (
    BundleItem,
    Coupon,
    CouponScope,
    Offers,
    PointsRule,
    Promotion,
    PromotionKind,
    Scope,
    Tier,
)

LIMIT_S = 30.0
SEED = 20261204
NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
K = PromotionKind


def money(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def build(n_skus: int, n_promotions: int, n_coupons: int,
          seed: int = SEED) -> tuple[list[AuditSku], Offers]:
    rnd = random.Random(seed)
    categories = [f"cat{n:02d}" for n in range(40)]
    skus: list[AuditSku] = []
    bands: dict[float, list[str]] = {}
    for n in range(n_skus):
        band = rnd.choice((9.9, 19.9, 29.9, 49, 59, 79, 89, 99, 129, 199, 299, 399, 599, 999,
                           1999, 2999))
        bands.setdefault(band, []).append(f"SKU{n:06d}")
        price = money(band * rnd.uniform(0.95, 1.05))
        cost = price * Decimal(str(round(rnd.uniform(0.30, 0.60), 2)))
        roll = rnd.random()
        if roll < 0.03:
            floor = None
        elif roll < 0.36:
            floor = (cost * Decimal("1.05")).quantize(Decimal("0.01"))
        else:
            floor = (cost * Decimal("1.10") / Decimal("0.94")).quantize(Decimal("0.01"))
        skus.append(AuditSku(f"SKU{n:06d}", price, rnd.choice(categories), floor))
    ids = [s.sku for s in skus]
    by_id = {s.sku: s for s in skus}

    def window() -> tuple[datetime | None, datetime | None]:
        if rnd.random() < 0.15:
            return None, None
        start = NOW + timedelta(hours=rnd.randint(-72, 30 * 24))
        return start, start + timedelta(hours=rnd.choice((2, 6, 24, 72, 7 * 24, 14 * 24)))

    def some_skus(low: int, high: int) -> frozenset[str]:
        return frozenset(rnd.sample(ids, rnd.randint(low, high)))

    def alike(low: int, high: int) -> frozenset[str]:
        """SKUs of one price band (a flash sale or member price has one price for all)."""
        band = bands[rnd.choice(list(bands))]
        return frozenset(rnd.sample(band, min(len(band), rnd.randint(low, high))))

    def wide_scope() -> Scope:
        roll = rnd.random()
        if roll < 0.3:
            return Scope(exclude_skus=some_skus(0, 20))
        if roll < 0.8:
            return Scope(categories=frozenset(rnd.sample(categories, rnd.randint(1, 4))))
        return Scope(skus=some_skus(50, 400))

    mix = ((K.DIRECT, 0.30), (K.FLASH_SALE, 0.10), (K.MEMBER_PRICE, 0.05), (K.GROUP_BUY, 0.05),
           (K.FULL_REDUCTION, 0.20), (K.FULL_DISCOUNT, 0.08), (K.MULTI_BUY, 0.12),
           (K.BUNDLE, 0.10))
    promotions: list[Promotion] = []
    for n in range(n_promotions):
        kind = rnd.choices([k for k, _ in mix], [w for _, w in mix])[0]
        start, end = window()
        pid = f"P{n:03d}"
        if kind == K.DIRECT:
            terms = rnd.choice(({"percent": Decimal(rnd.choice((5, 10, 15, 20)))},
                                {"off": money(rnd.choice((5, 10, 20, 50)))}))
            promotions.append(Promotion(pid, kind, scope=Scope(skus=some_skus(5, 80)),
                                        start=start, end=end, **terms))
        elif kind in (K.FLASH_SALE, K.GROUP_BUY):
            chosen = alike(1, 10)
            cheapest = min(by_id[s].price for s in chosen)
            promotions.append(Promotion(pid, kind, scope=Scope(skus=chosen), start=start,
                                        end=end, price=money(float(cheapest) * 0.7),
                                        per_order_limit=2, group_size=2))
        elif kind == K.MEMBER_PRICE:
            chosen = alike(5, 40)
            cheapest = float(min(by_id[s].price for s in chosen))
            promotions.append(Promotion(pid, kind, scope=Scope(skus=chosen), start=start,
                                        end=end, member_prices={
                                            "plus": money(cheapest * 0.9),
                                            "gold": money(cheapest * 0.85)}))
        elif kind == K.FULL_REDUCTION:
            if rnd.random() < 0.4:
                step = rnd.choice((100, 200, 300))
                promotions.append(Promotion(
                    pid, kind, scope=wide_scope(), start=start, end=end, repeat=True,
                    cap=money(step * 0.3),
                    tiers=(Tier(threshold=money(step),
                                off=money(step * rnd.choice((0.1, 0.15)))),)))
            else:
                base = rnd.choice((99, 199, 299))
                tiers = (Tier(threshold=money(base), off=money(base * 0.1)),
                         Tier(threshold=money(base * 2), off=money(base * 0.25)))
                promotions.append(Promotion(pid, kind, scope=wide_scope(), start=start, end=end,
                                            tiers=tiers))
        elif kind == K.FULL_DISCOUNT:
            promotions.append(Promotion(pid, kind, scope=wide_scope(), start=start, end=end,
                                        tiers=(Tier(threshold=money(rnd.choice((200, 300))),
                                                    percent=Decimal(rnd.choice((5, 10, 15)))),)))
        elif kind == K.MULTI_BUY:
            promotions.append(Promotion(pid, kind, scope=wide_scope(), start=start, end=end,
                                        tiers=(Tier(qty=2, percent=Decimal(10)),
                                               Tier(qty=3, percent=Decimal(20)))))
        else:
            items = rnd.sample(ids, rnd.randint(2, 3))
            value = sum(by_id[s].price for s in items)
            promotions.append(Promotion(pid, kind, start=start, end=end,
                                        price=money(float(value) * 0.8),
                                        bundle_items=tuple(BundleItem(s) for s in items)))
    coupons: list[Coupon] = []
    for n in range(n_coupons):
        start, end = window()
        shop = n < n_coupons * 3 // 5
        threshold = money(rnd.choice((0, 49, 99, 199, 299, 499)))
        off = money(rnd.choice((5, 10, 20, 30, 50)) if threshold else rnd.choice((3, 5, 10)))
        scope = wide_scope() if shop and rnd.random() < 0.5 else Scope()
        coupons.append(Coupon(f"C{n:03d}", CouponScope.SHOP if shop else CouponScope.PLATFORM,
                              off=off, threshold=threshold, skus=scope, start=start, end=end))
    points = PointsRule(balance=5000, rate=100, max_share=Decimal("0.5"))
    return skus, Offers(tuple(promotions), tuple(coupons), points)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=10_000)
    parser.add_argument("--promotions", type=int, default=200)
    parser.add_argument("--coupons", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)

    skus, offers = build(args.skus, args.promotions, args.coupons)
    kinds: dict[str, int] = {}
    for p in offers.promotions:
        kinds[p.kind.value] = kinds.get(p.kind.value, 0) + 1
    print(f"case: {len(skus)} SKUs, {len(offers.promotions)} promotions "
          f"({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}), "
          f"{len(offers.coupons)} coupons, points; audit at {NOW.isoformat()}")
    times: list[float] = []
    cpu: list[float] = []
    report = None
    for run in range(args.runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        report = audit(skus, offers, NOW)
        times.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
        print(f"run {run + 1}: {times[-1]:.2f} s ({cpu[-1]:.2f} s of CPU)")
    assert report is not None
    tracemalloc.start()
    audit(skus, offers, NOW)
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    median = statistics.median(times)
    print(f"median of {args.runs}: {median:.2f} s, {statistics.median(cpu):.2f} s of CPU "
          f"(limit {LIMIT_S:.0f} s; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs)")
    print(f"peak memory: process {peak_rss:.0f} MB, Python allocations during one run "
          f"{traced / 2**20:.1f} MB")
    print(f"checked {report.checked}, below floor {len(report.breaches)}, "
          f"without floor {report.no_floor_count}")
    if report.breaches:
        worst = report.breaches[0]
        print(f"worst: {worst.sku} floor {worst.floor} lowest {worst.lowest_unit_price} "
              f"({worst.explanation})")
    return 1 if median > LIMIT_S else 0


if __name__ == "__main__":
    sys.exit(main())
