"""The 成交 rule as a column: the store-local day each order counts as a deal on, or none.

京东商智 counts an order as a deal (成交) on the store-local day it was paid; cash on delivery
on the day it was placed. A cancelled order is left out when its cancellation time is unknown
(file exports carry none) or falls on (or before) the day it would count on; one cancelled on a
later day stays in the day it was paid. An unpaid order is never a deal.

The analytics export computes this once per row, vectorised in Polars, as ``deal_date`` on the
``lines`` and ``orders`` tables (NULL: never a deal), so that the metric queries
(:func:`storeops.metrics.queries.deals`) filter one plain date column instead of converting
UTC times to local days for every row of every query.
"""

from __future__ import annotations

import polars as pl

from storeops.orders.states import OrderStatus

DEAL_DATE = "deal_date"
# Columns the rule reads from an exported row; tables holding them get ``deal_date``.
NEEDS = ("placed_date", "paid_at", "cancelled_at", "cod", "status")
COLUMNS: dict[str, pl.DataType] = {DEAL_DATE: pl.Date()}


def local_day(column: str, tz: str) -> pl.Expr:
    """The store-local day of a UTC time kept as ISO text ('YYYY-MM-DD HH:MM:SS[.ffffff]')."""
    return (
        pl.col(column).str.slice(0, 19)  # fractions of a second never move the day
        .str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us", time_zone="UTC", strict=True)
        .dt.convert_time_zone(tz).dt.date()
    )


def deal_date(tz: str) -> pl.Expr:
    """``deal_date`` of each row, with the store's timezone ``tz``."""
    counts_on = (
        pl.when(pl.col("cod") == 1).then(pl.col("placed_date"))
        .otherwise(local_day("paid_at", tz))  # NULL when unpaid
    )
    cancelled = pl.col("status") == OrderStatus.CANCELLED.value
    kept = ~cancelled | (
        pl.col("cancelled_at").is_not_null() & (local_day("cancelled_at", tz) > counts_on)
    )
    return pl.when(kept.fill_null(False)).then(counts_on).otherwise(None).alias(DEAL_DATE)


def has_rule_columns(frame: pl.DataFrame) -> bool:
    return all(name in frame.columns for name in NEEDS)


def with_deal_date(frame: pl.DataFrame, tz: str) -> pl.DataFrame:
    """``frame`` with its ``deal_date`` column (computed again if it had one)."""
    return frame.with_columns(deal_date(tz).cast(pl.Date))
