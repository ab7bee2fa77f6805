"""Order lines grouped into orders: totals, the seller discount spread over lines, and the
content hash that lets a re-import skip unchanged orders. Pure (Polars frames in and out).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import polars as pl

from storeops.common.money import allocate_cents
from storeops.orders.states import OrderStatus

ORDER_FIELDS = (
    "order_id", "status", "deleted", "customer", "contact", "source", "placed_at", "paid_at",
    "finished_at", "goods_cents", "seller_discount_cents", "freight_cents", "paid_cents",
)


def group_sales(
    lines: pl.DataFrame, store_timezone: str, *, paid_time_mapped: bool = True,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Sale lines → (orders, goods lines with ``line_no`` and ``amount_cents``).

    ``lines`` has: order_id, sku, quantity, unit_price_e4, gross_cents, placed_at, and the
    order-level columns status, deleted, customer, contact,
    source, paid_time, finished_time, goods_amount, settlement_amount, paid_amount, freight
    (amounts in cents, null when the file has none): the first row's status, the first
    non-empty value of the others. An order's time is its earliest line's. Optional columns:
    ``is_freight`` (the line is the order's freight: its amount goes to ``freight_cents``, it
    is no goods line) and ``cod`` (cash on delivery, on any row of the order).

    ``paid_at`` is the payment time from the file; a file without a payment-time column
    (``paid_time_mapped=False``) counts an order as paid when it was placed, unless its
    status says it is unpaid or cancelled.
    """
    for flag in ("is_freight", "cod"):
        if flag not in lines.columns:
            lines = lines.with_columns(pl.lit(False).alias(flag))
    goods_row = ~pl.col("is_freight")
    orders = lines.group_by("order_id", maintain_order=True).agg(
        pl.col("placed_at").min(),
        pl.col("gross_cents").filter(goods_row).sum().alias("lines_cents"),
        pl.col("gross_cents").filter(pl.col("is_freight")).sum().alias("freight_lines_cents"),
        pl.col("status").first(),
        pl.col("deleted").first(),
        pl.col("cod").any(),
        # a cell left empty on one row of an order is taken from another row of it
        *[pl.col(c).drop_nulls().first() for c in (
            "customer", "contact", "source", "paid_time", "finished_time", "goods_amount",
            "settlement_amount", "paid_amount", "freight",
        )],
    )
    lines = lines.filter(goods_row).with_columns(
        (pl.int_range(pl.len()).over("order_id") + 1).cast(pl.Int64).alias("line_no")
    )
    goods = pl.coalesce("goods_amount", "lines_cents")
    settled = pl.coalesce("settlement_amount", goods)
    freight = pl.col("freight").fill_null(0) + pl.col("freight_lines_cents")
    unpaid = pl.col("status").is_in([OrderStatus.WAIT_PAY.value, OrderStatus.CANCELLED.value])
    if paid_time_mapped:
        paid_at = pl.col("paid_time")
    else:
        paid_at = pl.when(~unpaid).then(pl.col("placed_at")).otherwise(None)
    orders = orders.with_columns(
        goods.alias("goods_cents"),
        (goods - settled).alias("seller_discount_cents"),
        freight.alias("freight_cents"),
        pl.coalesce("paid_amount", settled + freight).alias("paid_cents"),
        paid_at.alias("paid_at"),
        pl.col("finished_time").alias("finished_at"),
        (pl.col("lines_cents") - settled).alias("to_allocate"),
        pl.col("placed_at").dt.convert_time_zone(store_timezone).dt.date().alias("placed_date"),
    )
    lines = allocate(lines, orders.select("order_id", "to_allocate"))
    orders = orders.with_columns(content_hash(orders, lines))
    return orders, lines


def allocate(lines: pl.DataFrame, to_allocate: pl.DataFrame) -> pl.DataFrame:
    """amount_cents = gross less the line's pro-rata share, so lines sum to the settlement
    (``lines`` has order_id, gross_cents and a unique ``__row``, in line order)."""
    lines = lines.join(to_allocate, on="order_id", how="left")
    todo = lines.filter(pl.col("to_allocate") != 0)
    lines = lines.with_columns(pl.col("gross_cents").alias("amount_cents"))
    if todo.height:
        shares: list[int] = []
        rows: list[int] = []
        for part in todo.partition_by("order_id", maintain_order=True):
            weights = [max(w, 0) for w in part.get_column("gross_cents").to_list()]
            shares.extend(allocate_cents(int(part.get_column("to_allocate")[0]), weights))
            rows.extend(part.get_column("__row").to_list())
        share = pl.DataFrame({"__row": rows, "share": shares},
                             schema={"__row": pl.Int64, "share": pl.Int64})
        lines = lines.join(share, on="__row", how="left").with_columns(
            (pl.col("amount_cents") - pl.col("share").fill_null(0)).alias("amount_cents")
        ).drop("share")
    return lines.drop("to_allocate")


def content_hash(orders: pl.DataFrame, lines: pl.DataFrame) -> pl.Series:
    """md5 of everything stored about an order and its lines (stable across runs)."""
    line_text = lines.group_by("order_id").agg(
        pl.concat_str(
            [pl.col(c).cast(pl.String).fill_null("") for c in
             ("line_no", "sku", "quantity", "unit_price_e4", "amount_cents")],
            separator="|",
        ).sort_by("line_no").str.join(";").alias("lines_text")
    )
    # cash on delivery enters the text only when true, so that the hashes of the orders
    # stored before ``cod`` existed stay the same (a re-import changes nothing)
    cod = (pl.when(pl.col("cod")).then(pl.lit("\x1fcod")).otherwise(pl.lit(""))
           if "cod" in orders.columns else pl.lit(""))
    text = orders.join(line_text, on="order_id", how="left", maintain_order="left").select(
        pl.concat_str(
            [pl.col(c).cast(pl.String).fill_null("") for c in ORDER_FIELDS] + [
                pl.col("lines_text").fill_null("")],
            separator="\x1f",
        ) + cod
    ).to_series()
    digests = [hashlib.md5(t.encode(), usedforsecurity=False).hexdigest() for t in text]
    return pl.Series("content_hash", digests, dtype=pl.String)


def refund_lines(rows: pl.DataFrame, store_timezone: str) -> pl.DataFrame:
    """Refund rows → one refund per row, numbered within its refund id, amounts positive."""
    return rows.with_columns(
        pl.col("order_id").alias("platform_refund_id"),
        (pl.int_range(pl.len()).over("order_id") + 1).cast(pl.Int64).alias("line_no"),
        pl.col("quantity").abs().alias("quantity"),
        pl.col("gross_cents").abs().alias("amount_cents"),
        pl.col("placed_at").alias("refunded_at"),
        pl.col("placed_at").dt.convert_time_zone(store_timezone).dt.date().alias("refund_date"),
        pl.col("title").str.slice(0, 255).alias("reason"),
    )


def _hash_cell(value: object) -> str:
    """A value as ``content_hash`` writes it (Polars' cast to text)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + "+00:00"
    return str(value)


def content_hash_of(order: dict[str, object], lines: list[dict[str, object]]) -> str:
    """:func:`content_hash` of one order in plain Python (the order service's, per order):
    ``order`` has the ``ORDER_FIELDS`` (and ``cod``), each line line_no, sku, quantity,
    unit_price_e4 and amount_cents."""
    line_text = ";".join(
        "|".join(_hash_cell(line[c]) for c in
                 ("line_no", "sku", "quantity", "unit_price_e4", "amount_cents"))
        for line in sorted(lines, key=lambda x: int(x["line_no"])))  # type: ignore[call-overload]
    text = "\x1f".join([*(_hash_cell(order.get(c)) for c in ORDER_FIELDS), line_text])
    if order.get("cod"):
        text += "\x1fcod"
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()
