"""Writing checked orders, lines and refunds of one store (bulk, inside the caller's
transaction). Orders already stored with the same content hash are left alone; changed ones
are replaced as a whole (same row id, new lines).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
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


def _ensure(
    conn: Connection, model: type[Product] | type[Customer], key: str, id_name: str,
    store_id: int, wanted: pl.DataFrame, columns: list[str], to_row: Callable[[tuple], tuple],
) -> tuple[pl.DataFrame, int]:
    """Map ``wanted[key]`` to the ids of ``model`` rows keyed by their platform key, inserting
    the missing ones with ``to_row(row of wanted)``; returns (map, created)."""
    platform_key = model.platform_sku_id if model is Product else model.platform_account

    def existing() -> pl.DataFrame:
        rows = conn.execute(
            select(platform_key, model.id).where(model.store_id == store_id)
        ).all()
        return _frame(rows, {key: pl.String, id_name: pl.Int64})

    known = existing()
    missing = wanted.join(known, on=key, how="anti")
    if missing.height == 0:
        return known, 0
    bulk_insert(conn, model.__table__, columns, (to_row(r) for r in missing.iter_rows()))
    return existing(), missing.height


def ensure_products(
    conn: Connection, store_id: int, wanted: pl.DataFrame, now: datetime
) -> tuple[pl.DataFrame, int]:
    """Map ``sku`` → ``product_id``, creating unknown SKUs (on sale); returns (map, created)."""
    wanted = wanted.group_by("sku", maintain_order=True).agg(
        pl.col("title").drop_nulls().first(), pl.col("seller_code").drop_nulls().first()
    )
    return _ensure(
        conn, Product, "sku", "product_id", store_id, wanted,
        ["store_id", "platform_sku_id", "title", "seller_code", "status", "created_at",
         "updated_at"],
        lambda r: (store_id, *r, "on_sale", now, now),
    )


def ensure_customers(
    conn: Connection, store_id: int, wanted: pl.DataFrame, now: datetime
) -> tuple[pl.DataFrame, int]:
    """Map ``customer`` (platform account) → ``customer_id``, creating unknown ones."""
    wanted = wanted.filter(pl.col("customer").is_not_null()).group_by(
        "customer", maintain_order=True
    ).agg(pl.col("contact").drop_nulls().first())
    return _ensure(
        conn, Customer, "customer", "customer_id", store_id, wanted,
        ["store_id", "platform_account", "masked_contact", "created_at"],
        lambda r: (store_id, *r, now),
    )


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
