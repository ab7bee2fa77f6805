"""Units in stock of the demo store's SKUs at the end of the simulation (pure).

Stock is days of cover at each SKU's pace over the last 30 simulated days, so that the stock
status (storeops.catalog.stock) comes out plausible: most SKUs in stock, a few low, a few out
(more of those among SKUs taken off shelf). Its own random stream: the rest of the store stays
what the same seed always gave.
"""

from __future__ import annotations

import random
from datetime import timedelta

from storeops.common.timeutil import local_date
from storeops.sim.model import SimStore

PACE_DAYS = 30
OUT_SHARE, LOW_SHARE = 0.06, 0.10  # of SKUs on sale
OFF_SHELF_OUT_SHARE = 0.5


def stock_levels(sim: SimStore) -> list[int]:
    """Units in stock per SKU of ``sim.products``, in their order."""
    from zoneinfo import ZoneInfo

    rng = random.Random(sim.config.seed * 1_000_003 + 17)
    tz = ZoneInfo(sim.config.timezone)
    since = sim.config.end - timedelta(days=PACE_DAYS - 1)
    units = [0] * len(sim.products)
    for order in sim.orders:
        if local_date(order.placed_at, tz) >= since:
            for line in order.lines:
                units[line.product_index] += line.quantity
    levels = []
    for product, sold in zip(sim.products, units, strict=True):
        daily = sold / PACE_DAYS
        draw = rng.random()
        out_share = OFF_SHELF_OUT_SHARE if product.status == "off_shelf" else OUT_SHARE
        if draw < out_share:
            levels.append(0)
        elif draw < out_share + LOW_SHARE:  # under a week of sales
            levels.append(max(1, int(daily * rng.uniform(1, 6))) if daily else rng.randint(1, 9))
        else:
            levels.append(max(10, int(daily * rng.uniform(10, 90)) + rng.randint(0, 20)))
    return levels
