"""Writing checked orders, lines and refunds of one store (bulk, inside the caller's
transaction). Orders already stored with the same content hash are left alone; changed ones
are replaced as a whole (same row id, new lines).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import polars as pl
from sqlalchemy import Connection, delete, select, update
from sqlalchemy.orm import Session

from storeops.db.bulk import bulk_insert
from storeops.db.models import Customer, Order, OrderLine, Product, Refund

CHUNK = 900  # ids per IN (...) list: under SQLite's parameter limit


@contextmanager
def large_cache(session: Session) -> Iterator[None]:
    """A bigger SQLite page cache while one import writes: index inserts of half a million
    lines run about twice as fast; the connection gets its default back afterwards."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql("PRAGMA cache_size=-262144")  # KiB: up to 256 MiB
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(before)}")


@dataclass
class OrderWriteResult:
    orders_created: int = 0
    orders_updated: int = 0
    orders_unchanged: int = 0
    rows_unchanged: int = 0  # lines (file rows) of unchanged orders and known refunds
    refunds: int = 0
    products_created: int = 0
    customers_created: int = 0


def _frame(rows: list, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def ensure_products(
    conn: Connection, store_id: int, wanted: pl.DataFrame, now: datetime
) -> tuple[pl.DataFrame, int]:
    """Map ``sku`` → ``product_id``, creating unknown SKUs (on sale); returns (map, created)."""
    wanted = wanted.group_by("sku", maintain_order=True).agg(
        pl.col("title").drop_nulls().first(), pl.col("seller_code").drop_nulls().first()
    )
    schema = {"sku": pl.String, "product_id": pl.Int64}

    def existing() -> pl.DataFrame:
        rows = conn.execute(
            select(Product.platform_sku_id, Product.id).where(Product.store_id == store_id)
        ).all()
        return _frame(rows, schema)

    known = existing()
    missing = wanted.join(known, on="sku", how="anti")
    if missing.height == 0:
        return known, 0
    bulk_insert(
        conn, Product.__table__,
        ["store_id", "platform_sku_id", "seller_code", "title", "status", "created_at",
         "updated_at"],
        ((store_id, sku, code, title, "on_sale", now, now)
         for sku, title, code in missing.select("sku", "title", "seller_code").iter_rows()),
    )
    return existing(), missing.height


def ensure_customers(
    conn: Connection, store_id: int, wanted: pl.DataFrame, now: datetime
) -> tuple[pl.DataFrame, int]:
    """Map ``customer`` (platform account) → ``customer_id``, creating unknown ones."""
    wanted = wanted.filter(pl.col("customer").is_not_null()).group_by(
        "customer", maintain_order=True
    ).agg(pl.col("contact").drop_nulls().first())
    schema = {"customer": pl.String, "customer_id": pl.Int64}

    def existing() -> pl.DataFrame:
        rows = conn.execute(
            select(Customer.platform_account, Customer.id).where(Customer.store_id == store_id)
        ).all()
        return _frame(rows, schema)

    known = existing()
    missing = wanted.join(known, on="customer", how="anti")
    if missing.height == 0:
        return known, 0
    bulk_insert(
        conn, Customer.__table__,
        ["store_id", "platform_account", "masked_contact", "created_at"],
        ((store_id, acc, contact, now) for acc, contact in missing.iter_rows()),
    )
    return existing(), missing.height


ORDER_COLUMNS = [
    "store_id", "platform_order_id", "status", "deleted", "customer_id", "placed_at",
    "placed_date", "paid_at", "finished_at", "goods_cents", "seller_discount_cents",
    "freight_cents", "paid_cents", "source", "content_hash", "import_batch_id", "updated_at",
]
LINE_COLUMNS = [
    "order_id", "store_id", "line_no", "product_id", "quantity", "unit_price_e4", "amount_cents",
]


def write_orders(
    session: Session, store_id: int, orders: pl.DataFrame, lines: pl.DataFrame,
    batch_id: int, now: datetime, result: OrderWriteResult,
) -> None:
    """``orders`` carry customer_id; ``lines`` carry product_id (see ``ensure_*``)."""
    conn = session.connection()
    rows = conn.execute(
        select(Order.platform_order_id, Order.id, Order.content_hash).where(
            Order.store_id == store_id
        )
    ).all()
    known = _frame(rows, {"order_id": pl.String, "db_id": pl.Int64, "old_hash": pl.String})
    orders = orders.join(known, on="order_id", how="left", maintain_order="left")
    same = orders.filter(pl.col("old_hash") == pl.col("content_hash"))
    new = orders.filter(pl.col("db_id").is_null())
    changed = orders.filter(pl.col("db_id").is_not_null()
                            & (pl.col("old_hash") != pl.col("content_hash")))
    result.orders_unchanged += same.height
    result.rows_unchanged += lines.join(same.select("order_id"), on="order_id",
                                        how="semi").height
    if new.height:
        fields = [c if c != "platform_order_id" else "order_id" for c in ORDER_COLUMNS[1:-2]]
        bulk_insert(
            conn, Order.__table__, ORDER_COLUMNS,
            ((store_id, *r, batch_id, now) for r in new.select(fields).iter_rows()),
        )
        result.orders_created += new.height
    if changed.height:
        ids = changed.get_column("db_id").to_list()
        for i in range(0, len(ids), CHUNK):
            conn.execute(delete(OrderLine).where(OrderLine.order_id.in_(ids[i:i + CHUNK])))
        values = [
            {"id": r["db_id"], "status": r["status"], "deleted": r["deleted"],
             "customer_id": r["customer_id"], "placed_at": r["placed_at"],
             "placed_date": r["placed_date"], "paid_at": r["paid_at"],
             "finished_at": r["finished_at"], "goods_cents": r["goods_cents"],
             "seller_discount_cents": r["seller_discount_cents"],
             "freight_cents": r["freight_cents"], "paid_cents": r["paid_cents"],
             "source": r["source"], "content_hash": r["content_hash"],
             "import_batch_id": batch_id, "updated_at": now}
            for r in changed.iter_rows(named=True)
        ]
        session.execute(update(Order), values)
        result.orders_updated += changed.height
    if new.height or changed.height:
        ids = conn.execute(
            select(Order.platform_order_id, Order.id).where(
                Order.store_id == store_id, Order.import_batch_id == batch_id
            )
        ).all()
        id_map = _frame(ids, {"order_id": pl.String, "db_id": pl.Int64})
        todo = lines.join(id_map, on="order_id", how="inner").sort("db_id", "line_no")
        bulk_insert(
            conn, OrderLine.__table__, LINE_COLUMNS,
            todo.select(
                "db_id", pl.lit(store_id, pl.Int64), "line_no", "product_id", "quantity",
                "unit_price_e4", "amount_cents",
            ).rows(),
            expected_rows=todo.height,
        )


REFUND_COLUMNS = [
    "store_id", "platform_refund_id", "line_no", "customer_id", "product_id", "quantity",
    "amount_cents", "refunded_at", "refund_date", "reason", "import_batch_id",
]


def write_refunds(
    conn: Connection, store_id: int, refunds: pl.DataFrame, batch_id: int,
    result: OrderWriteResult,
) -> None:
    """Insert refund lines not stored yet; known (refund id, line) keys are left alone."""
    rows = conn.execute(
        select(Refund.platform_refund_id, Refund.line_no).where(Refund.store_id == store_id)
    ).all()
    known = _frame(rows, {"platform_refund_id": pl.String, "line_no": pl.Int64})
    fresh = refunds.join(known, on=["platform_refund_id", "line_no"], how="anti")
    result.rows_unchanged += refunds.height - fresh.height
    if fresh.height:
        bulk_insert(
            conn, Refund.__table__, REFUND_COLUMNS,
            ((store_id, *r, batch_id) for r in fresh.select(REFUND_COLUMNS[1:-1]).iter_rows()),
        )
    result.refunds += fresh.height
