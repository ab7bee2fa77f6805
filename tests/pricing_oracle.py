"""The reference arithmetic and random carts of the pricing tests and benchmarks, written out
again apart from the engine's (which they check): integer cents, half-up, the best tier a line
set reaches, the plain greedy assignment, and 12-line carts of up to 4 candidates a line."""

from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal

from storeops.pricing.model import Cart, CartLine, Promotion, PromotionKind, Scope, Tier

K = PromotionKind


def cents(d: Decimal) -> int:
    return int((d * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def tier_cut(p: Promotion, amount: int, pieces: int) -> int:
    """Multi-buy / full reduction / full discount: the cut of the best tier reached by
    ``amount`` cents over ``pieces`` pieces, never more than the amount."""
    best = 0
    for t in p.tiers:
        if (t.qty is None or pieces >= t.qty) and (t.threshold is None
                                                   or amount >= cents(t.threshold)):
            if t.off is not None:
                cut = cents(t.off)
            else:
                kept = (Decimal(amount) * (100 - t.percent) / 100).quantize(
                    Decimal(1), rounding=ROUND_HALF_UP)
                cut = amount - int(kept)
            best = max(best, cut)
    return min(best, amount)


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


def cap_candidates(lines: list[CartLine], promos: list[Promotion], most: int = 4) -> None:
    """Take lines out of SKU-scoped promotions (in place) until no line has more than ``most``
    candidates."""
    for ln in lines:
        mine = [p for p in promos if p.scope.covers(ln.sku)]
        for p in mine[most:]:
            k = promos.index(p)
            promos[k] = Promotion(p.id, p.kind, Scope(skus=p.scope.skus - {ln.sku}),
                                  tiers=p.tiers)
        assert sum(p.scope.covers(ln.sku) for p in promos) <= most


def random_case(seed: int, shared: bool, n: int = 12) -> tuple[Cart, list[Promotion]]:
    """``n`` lines; 4 store-wide promotions (``shared``) or 7 on 7 SKUs each, at most 4 a
    line: full reduction, multi-buy and full discount."""
    rng = random.Random(seed)
    cats = ["a", "b", "c"]
    lines = [CartLine(f"S{i}", rng.randint(1, 3),
                      Decimal(rng.choice(["19.90", "49.00", "89.00", "129.00", "259.00"])),
                      rng.choice(cats)) for i in range(n)]
    skus = [ln.sku for ln in lines]
    promos = []
    for j in range(4 if shared else 7):
        scope = Scope() if shared else Scope(skus=frozenset(rng.sample(skus, 7)))
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
    if not shared:
        cap_candidates(lines, promos)
    return Cart(tuple(lines)), promos
