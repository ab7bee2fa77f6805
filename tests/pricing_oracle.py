"""The reference tier arithmetic of the pricing tests and benchmarks, written out again apart
from the engine's (which it checks): integer cents, half-up, the best tier a line set reaches."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from storeops.pricing.model import Promotion


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
