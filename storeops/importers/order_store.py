"""Writing checked orders, lines and refunds of one store (bulk, inside the caller's
transaction). Orders already stored with the same content hash are left alone. A changed
order is replaced as a whole (same row id, new lines, the import's ``row_version``) only when
the source is authoritative for whole orders (``complete``: a file the user marks complete,
the connector); otherwise its lines are matched and updated, and stored lines the file does
not mention are kept (an export cut at a row limit or a date boundary loses nothing).

An import writes its file in groups of orders (``OrderWriter.write``), each group holding
every line of its orders, so that memory does not grow with the file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.orm import Session

from storeops.aftersales.models import Refund
from storeops.catalog.models import Product
from storeops.db.bulk import bulk_insert_frame
from storeops.importers.parsing import cents_of
from storeops.importers.reading import ROW
from storeops.members.models import Customer
from storeops.orders import file_updates
from storeops.orders.grouping import allocate, content_hash
from storeops.orders.models import Order, OrderLine

CHUNK = 900  # ids per IN (...) list: under any SQLite's parameter limit
UTC_TYPE = pl.Datetime("us", "UTC")


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
    orders_partial: int = 0  # stored orders of which the file held only some lines
    lines_kept: int = 0  # stored lines of those orders that the file did not mention
    refunds: int = 0
    products_created: int = 0
    customers_created: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.orders_created or self.orders_updated or self.refunds
                    or self.products_created or self.customers_created)


def _frame(rows: Sequence[Any], schema: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def _query_frame(conn: Connection, stmt: Any, schema: dict[str, Any]) -> pl.DataFrame:
    """The rows of ``stmt`` (a select binding integers and text only) as a frame. On SQLite
    the compiled statement runs on the driver's cursor: 20,000 rows in a quarter of the time
    SQLAlchemy's result rows take (the ids of an import's new orders)."""
    if conn.dialect.name == "sqlite":
        compiled = stmt.compile(dialect=conn.dialect)
        params = compiled.construct_params()
        args = [params[name] for name in compiled.positiontup or ()]
        if all(type(a) in (int, str) for a in args):
            cur = conn.connection.dbapi_connection.cursor()
            try:
                rows = cur.execute(str(compiled), args).fetchall()
            finally:
                cur.close()
            columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
            return pl.DataFrame([pl.Series(name, values, dtype=dtype) for (name, dtype), values
                                 in zip(schema.items(), columns, strict=True)])
    return _frame(conn.execute(stmt).all(), schema)


def _where_in(conn: Connection, stmt_for: Callable[[list], Any], keys: list,
              schema: dict[str, Any]) -> pl.DataFrame:
    """Rows of ``stmt_for(batch)`` for ``keys`` in batches of ``CHUNK`` (an IN list each)."""
    rows: list = []
    for i in range(0, len(keys), CHUNK):
        rows.extend(conn.execute(stmt_for(keys[i:i + CHUNK])).all())
    return _frame(rows, schema)


def _ensure(
    conn: Connection, model: type[Product] | type[Customer], key: str, id_name: str,
    store_id: int, wanted: pl.DataFrame, new_rows: Callable[[pl.DataFrame], pl.DataFrame],
    known: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, int]:
    """Map ``wanted[key]`` to the ids of ``model`` rows keyed by their platform key, inserting
    the missing ones (``new_rows(missing)`` gives their columns); returns (map of the wanted
    keys, created). ``known``: the store's rows already looked up, else they are queried."""
    platform_key = model.platform_sku_id if model is Product else model.platform_account
    schema = {key: pl.String, id_name: pl.Int64}
    keys = wanted.get_column(key).to_list()
    if known is None:
        known = _where_in(conn, lambda batch: select(platform_key, model.id).where(
            model.store_id == store_id, platform_key.in_(batch)), keys, schema)
    else:
        known = known.join(wanted.select(key), on=key, how="semi")
    missing = wanted.join(known, on=key, how="anti")
    if missing.height == 0:
        return known, 0
    before = conn.execute(select(func.max(model.id))).scalar() or 0
    bulk_insert_frame(conn, model.__table__, new_rows(missing))
    # ids above the old maximum: this transaction's rows (the store is locked while it writes)
    created = _query_frame(conn, select(platform_key, model.id).where(
        model.store_id == store_id, model.id > before), schema)
    created = created.join(missing.select(key), on=key, how="semi")
    return pl.concat([known, created]), missing.height


def ensure_products(
    conn: Connection, store_id: int, wanted: pl.DataFrame, now: datetime, version: int = 0,
    known: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, int]:
    """Map ``sku`` → ``product_id``, creating unknown SKUs (on sale, ``row_version`` =
    ``version``); returns (map, created)."""
    wanted = wanted.group_by("sku", maintain_order=True).agg(
        pl.col("title").drop_nulls().first(), pl.col("seller_code").drop_nulls().first()
    )
    return _ensure(
        conn, Product, "sku", "product_id", store_id, wanted,
        lambda m: m.select(
            pl.lit(store_id).alias("store_id"), pl.col("sku").alias("platform_sku_id"),
            "title", "seller_code", pl.lit("on_sale").alias("status"),
            pl.lit(now, UTC_TYPE).alias("created_at"), pl.lit(now, UTC_TYPE).alias("updated_at"),
            pl.lit(version).alias("row_version"),
        ),
        known,
    )


def ensure_customers(
    conn: Connection, store_id: int, wanted: pl.DataFrame, now: datetime,
    known: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, int]:
    """Map ``customer`` (platform account) → ``customer_id``, creating unknown ones."""
    wanted = wanted.filter(pl.col("customer").is_not_null()).group_by(
        "customer", maintain_order=True
    ).agg(pl.col("contact").drop_nulls().first())
    return _ensure(
        conn, Customer, "customer", "customer_id", store_id, wanted,
        lambda m: m.select(
            pl.lit(store_id).alias("store_id"), pl.col("customer").alias("platform_account"),
            pl.col("contact").alias("masked_contact"),
            pl.lit(now, UTC_TYPE).alias("created_at"),
        ),
        known,
    )


ORDER_FIELDS = [
    "status", "deleted", "customer_id", "placed_at", "placed_date", "paid_at", "finished_at",
    "goods_cents", "seller_discount_cents", "freight_cents", "paid_cents", "source", "cod",
    "content_hash",
]


class OrderWriter:
    """Writes one import's groups of orders into one store, in the caller's transaction.

    Every row it inserts or changes carries ``version`` as its ``row_version`` (the store's
    data_version after this import), so that the warehouse refreshes only what changed.
    """

    def __init__(self, session: Session, store_id: int, batch_id: int, now: datetime,
                 version: int, result: OrderWriteResult, complete: bool = False) -> None:
        self.session, self.conn = session, session.connection()
        self.complete = complete
        self.store_id, self.batch_id, self.now, self.version = store_id, batch_id, now, version
        self.result = result
        conn, sid = self.conn, store_id
        # Orders and refunds of other groups never collide with a group (a group holds every
        # line of its orders), so the stored ones are looked up only if the store had any.
        self.had_orders = conn.execute(
            select(Order.id).where(Order.store_id == sid).limit(1)).first() is not None
        self.had_refunds = conn.execute(
            select(Refund.id).where(Refund.store_id == sid).limit(1)).first() is not None
        # SKUs and customers recur across groups: their ids are kept for the whole import.
        self.products = _query_frame(conn, select(Product.platform_sku_id, Product.id).where(
            Product.store_id == sid), {"sku": pl.String, "product_id": pl.Int64})
        self.customers = _query_frame(conn, select(
            Customer.platform_account, Customer.id).where(Customer.store_id == sid),
            {"customer": pl.String, "customer_id": pl.Int64})

    def write(self, orders: pl.DataFrame, lines: pl.DataFrame, refunds: pl.DataFrame) -> None:
        """One group: ``orders``/``lines`` from ``group_sales``, ``refunds`` from
        ``refund_lines`` (a null ``sku`` for a freight refund, which has no product)."""
        wanted = pl.concat([
            lines.select("sku", "title", "seller_code"),
            refunds.filter(pl.col("sku").is_not_null()).select("sku", "title", "seller_code"),
        ])
        products, created = ensure_products(self.conn, self.store_id, wanted, self.now,
                                             self.version, self.products)
        if created:
            self.products = pl.concat([self.products, products]).unique("sku", keep="last")
        self.result.products_created += created
        people = pl.concat([orders.select("customer", "contact"),
                            refunds.select("customer", "contact")])
        customers, created = ensure_customers(self.conn, self.store_id, people, self.now,
                                              self.customers)
        if created:
            self.customers = pl.concat([self.customers, customers]).unique("customer",
                                                                           keep="last")
        self.result.customers_created += created
        lines = lines.join(products, on="sku", how="left")
        orders = orders.join(customers, on="customer", how="left", maintain_order="left")
        refunds = refunds.join(products, on="sku", how="left").join(
            customers, on="customer", how="left")
        self._orders(orders, lines)
        self._refunds(refunds)

    def _orders(self, orders: pl.DataFrame, lines: pl.DataFrame) -> None:
        conn, result = self.conn, self.result
        schema = {"order_id": pl.String, "db_id": pl.Int64, "old_hash": pl.String}
        if self.had_orders:
            known = _where_in(conn, lambda batch: select(
                Order.platform_order_id, Order.id, Order.content_hash).where(
                Order.store_id == self.store_id, Order.platform_order_id.in_(batch)),
                orders.get_column("order_id").to_list(), schema)
        else:
            known = pl.DataFrame(schema=schema)
        orders = orders.join(known, on="order_id", how="left", maintain_order="left")
        same = orders.filter(pl.col("old_hash") == pl.col("content_hash"))
        new = orders.filter(pl.col("db_id").is_null())
        changed = orders.filter(pl.col("db_id").is_not_null()
                                & (pl.col("old_hash") != pl.col("content_hash")))
        result.orders_unchanged += same.height
        result.rows_unchanged += lines.join(same.select("order_id"), on="order_id",
                                            how="semi").height
        if not self.complete and changed.height:
            changed, merged_lines, same_merged = self._merge(changed, lines)
            result.orders_unchanged += same_merged.height
            result.rows_unchanged += lines.join(same_merged.select("order_id"), on="order_id",
                                                how="semi").height
            lines = pl.concat([lines.join(changed.select("order_id"), on="order_id",
                                          how="anti").select(merged_lines.columns),
                               merged_lines], how="vertical_relaxed")
        ids = changed.select("order_id", "db_id")
        if new.height:
            before = conn.execute(select(func.max(Order.id))).scalar() or 0
            bulk_insert_frame(conn, Order.__table__, new.select(
                pl.lit(self.store_id).alias("store_id"),
                pl.col("order_id").alias("platform_order_id"), *ORDER_FIELDS,
                file_updates.stage_expr(),  # received, shipped, … as the status says
                pl.lit(self.batch_id).alias("import_batch_id"),
                pl.lit(self.now, UTC_TYPE).alias("updated_at"),
                pl.lit(self.version).alias("row_version"),
            ))
            result.orders_created += new.height
            # this transaction's orders: above the old maximum id, of this batch
            created = _query_frame(conn, select(Order.platform_order_id, Order.id).where(
                Order.id > before, Order.import_batch_id == self.batch_id),
                {"order_id": pl.String, "db_id": pl.Int64})
            ids = pl.concat([ids, created.join(new.select("order_id"), on="order_id",
                                               how="semi")])
        pending = None
        if changed.height:
            # old values for the events; stock an order holds is settled before its lines go
            pending = file_updates.before_replace(self.session, self.store_id, changed,
                                                   self.version)
            db_ids = changed.get_column("db_id").to_list()
            for i in range(0, len(db_ids), CHUNK):
                conn.execute(delete(OrderLine).where(OrderLine.order_id.in_(db_ids[i:i + CHUNK])))
            values = [
                {"id": r["db_id"], **{f: r[f] for f in ORDER_FIELDS},
                 "import_batch_id": self.batch_id, "updated_at": self.now,
                 "row_version": self.version}
                for r in changed.iter_rows(named=True)
            ]
            self.session.execute(update(Order), values)
            result.orders_updated += changed.height
        if ids.height:
            todo = lines.join(ids, on="order_id", how="inner").sort("db_id", "line_no")
            bulk_insert_frame(conn, OrderLine.__table__, todo.select(
                pl.col("db_id").alias("order_id"), pl.lit(self.store_id).alias("store_id"),
                "line_no", "product_id", "quantity", "unit_price_e4", "amount_cents",
            ))
        if pending is not None:  # one "updated" event per changed order; stages follow
            file_updates.after_replace(self.session, self.store_id, pending)

    def _merge(self, changed: pl.DataFrame, lines: pl.DataFrame
               ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """Stored orders that the file changes, when the file is not authoritative for whole
        orders: the file's lines are matched to the stored ones (same product, its n-th line
        in the order), matched lines take the file's values, lines only in the file are added
        after the stored ones, stored lines only in the database are kept. Returns (orders
        that still change, with their recomputed totals and hash; their merged lines; orders
        whose merged content is what is stored)."""
        key = ["db_id", "product_id", "occ"]
        line_cols = ["quantity", "unit_price_e4", "amount_cents"]
        stored = _where_in(self.conn, lambda batch: select(
            OrderLine.order_id, OrderLine.line_no, OrderLine.product_id, OrderLine.quantity,
            OrderLine.unit_price_e4, OrderLine.amount_cents).where(
            OrderLine.order_id.in_(batch)), changed.get_column("db_id").to_list(),
            {"db_id": pl.Int64, "line_no": pl.Int64, "product_id": pl.Int64,
             "quantity": pl.Int64, "unit_price_e4": pl.Int64, "amount_cents": pl.Int64})
        old_freight = _where_in(self.conn, lambda batch: select(
            Order.id, Order.freight_cents).where(Order.id.in_(batch)),
            changed.get_column("db_id").to_list(),
            {"db_id": pl.Int64, "old_freight": pl.Int64})
        occ = (pl.int_range(pl.len()).over(["db_id", "product_id"])).cast(pl.Int64).alias("occ")
        stored = stored.sort("db_id", "line_no").with_columns(occ)
        mine = lines.join(changed.select("order_id", "db_id"), on="order_id", how="inner")
        mine = mine.sort("db_id", "line_no").select(
            "db_id", "product_id", pl.col("line_no").alias("file_line_no"),
            *[pl.col(c).cast(pl.Int64).alias(f"file_{c}") for c in line_cols]).with_columns(occ)
        both = stored.join(mine, on=key, how="full", coalesce=True)
        in_file = pl.col("file_line_no").is_not_null()
        last = pl.col("line_no").max().over("db_id").fill_null(0)
        added = pl.when(in_file & pl.col("line_no").is_null()).then(
            pl.col("file_line_no")).rank("ordinal").over("db_id")
        both = both.sort("db_id", "line_no", "file_line_no", nulls_last=True).with_columns(
            pl.coalesce("line_no", last + added).cast(pl.Int64).alias("line_no"),
            *[pl.coalesce(f"file_{c}", c).alias(c) for c in line_cols],
            (~in_file).alias("kept"),
        )
        both = both.with_columns(
            cents_of(pl.col("unit_price_e4"), pl.col("quantity")).alias("gross_cents"))
        kept = both.group_by("db_id").agg(pl.col("kept").sum().alias("kept"),
                                          pl.col("gross_cents").sum().alias("merged_cents"))
        skus = self.products.select("product_id", "sku").unique("product_id")
        ids = changed.select("order_id", "db_id")
        # Totals as ``group_sales`` computes them, over the merged lines: amounts the file
        # gives for the whole order (JD) are taken at their word, else the lines are summed;
        # the freight is kept when the file shows none for the order (its freight line may
        # be cut off); the seller discount is spread again over all the merged lines.
        goods = pl.coalesce("goods_amount", "merged_cents")
        settled = pl.coalesce("settlement_amount", goods)
        no_freight = pl.col("freight").is_null() & (pl.col("freight_lines_cents") == 0)
        freight = pl.when(no_freight).then(pl.col("old_freight")).otherwise(
            pl.col("freight_cents"))
        orders = changed.join(kept, on="db_id", how="left").join(
            old_freight, on="db_id", how="left").with_columns(
            goods.alias("goods_cents"),
            (goods - settled).alias("seller_discount_cents"),
            freight.alias("freight_cents"),
            pl.coalesce("paid_amount", settled + freight).alias("paid_cents"),
            (pl.col("merged_cents") - settled).alias("to_allocate"),
        )
        merged = both.join(ids, on="db_id").join(skus, on="product_id", how="left").sort(
            "db_id", "line_no").with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64))
        merged = allocate(merged.drop("amount_cents"),
                          orders.select("order_id", "to_allocate")).select(
            "order_id", "db_id", "line_no", "sku", "product_id", *line_cols)
        orders = orders.with_columns(content_hash(orders, merged))
        partial = orders.filter(pl.col("kept") > 0)
        self.result.orders_partial += partial.height
        self.result.lines_kept += int(partial.get_column("kept").sum())
        same = orders.filter(pl.col("content_hash") == pl.col("old_hash"))
        still = orders.filter(pl.col("content_hash") != pl.col("old_hash"))
        merged = merged.join(still.select("order_id"), on="order_id", how="semi")
        return (still.drop("kept", "merged_cents", "old_freight", "to_allocate"),
                merged.drop("db_id"), same)

    def _refunds(self, refunds: pl.DataFrame) -> None:
        """Insert refund lines not stored yet; known (refund id, line) keys are left alone."""
        if refunds.height == 0:
            return
        if self.had_refunds:
            known = _where_in(self.conn, lambda batch: select(
                Refund.platform_refund_id, Refund.line_no).where(
                Refund.store_id == self.store_id, Refund.platform_refund_id.in_(batch)),
                refunds.get_column("platform_refund_id").unique().to_list(),
                {"platform_refund_id": pl.String, "line_no": pl.Int64})
            fresh = refunds.join(known, on=["platform_refund_id", "line_no"], how="anti")
        else:
            fresh = refunds
        self.result.rows_unchanged += refunds.height - fresh.height
        bulk_insert_frame(self.conn, Refund.__table__, fresh.select(
            pl.lit(self.store_id).alias("store_id"), "platform_refund_id", "line_no",
            "customer_id", "product_id", "quantity", "amount_cents", "refunded_at",
            "refund_date", "reason", pl.lit(self.batch_id).alias("import_batch_id"),
            pl.lit(self.version).alias("row_version"),
        ))
        self.result.refunds += fresh.height
