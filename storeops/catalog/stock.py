"""A SKU's stock status (库存状态) from its units in stock and its recent sales (pure).

The rule, in one place for the SKU table, its exports and the SKU page:

* 缺货 (``out``): no unit in stock;
* 库存紧张 (``low``): fewer units than ``LOW_COVER_DAYS`` days of the SKU's average daily
  units sold in the period shown, or, when it sold nothing then, fewer than ``LOW_UNITS``;
* 有货 (``in_stock``): anything more;
* 未知 (``unknown``): no stock figure (the products file had no 库存 column).
"""

from __future__ import annotations

OUT, LOW, IN_STOCK, UNKNOWN = "out", "low", "in_stock", "unknown"
STATUSES = (OUT, LOW, IN_STOCK, UNKNOWN)
LOW_COVER_DAYS = 7  # stock under a week of sales at the period's pace is low
LOW_UNITS = 10  # the low line of a SKU without sales in the period


def low_line(units_sold: int | None, days: int) -> float:
    """Units below which stock is low: a week of average daily sales, else LOW_UNITS."""
    if units_sold and days > 0:
        return LOW_COVER_DAYS * units_sold / days
    return float(LOW_UNITS)


def stock_status(stock: int | None, units_sold: int | None, days: int) -> str:
    """One of STATUSES for ``stock`` units, given ``units_sold`` over ``days`` days."""
    if stock is None:
        return UNKNOWN
    if stock <= 0:
        return OUT
    return LOW if stock < low_line(units_sold, days) else IN_STOCK


# Sorting by stock status: the ones to act on first.
SORT_RANK = {OUT: 0, LOW: 1, IN_STOCK: 2, UNKNOWN: 3}
