"""Importing one file: the entry point of the CLI and of the web upload page.

One file is one transaction: a file that cannot be read changes nothing, and an error while
writing rolls back everything of that file.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import polars as pl

from storeops.catalog.stores import bump_data_version, get_or_create_store
from storeops.common.errors import StoreopsError
from storeops.common.timeutil import utcnow
from storeops.db.engine import unit_of_work
from storeops.db.models import ImportBatch
from storeops.importers.mapping import JD_SPEC, OrderSpec, load_mapping
from storeops.importers.order_rows import CheckedRows, check_order_rows, with_row_numbers
from storeops.importers.order_store import (
    OrderWriteResult,
    ensure_customers,
    ensure_products,
    large_cache,
    write_orders,
    write_refunds,
)
from storeops.importers.reading import read_table
from storeops.importers.summary import ImportSummary, attach_rejects
from storeops.importers.summary import write_rejects as save_rejects
from storeops.orders.grouping import group_sales, refund_lines

KINDS = ("orders", "products", "traffic", "ads")
Progress = Callable[[str, float], None]  # (stage, fraction done 0..1)


class ImportUsageError(StoreopsError):
    """An import asked for in a way that cannot work (unknown kind or format)."""


def import_file(
    db_url: str,
    kind: str,
    path: Path,
    *,
    fmt: str | None = None,
    mapping: Path | None = None,
    store: str | None = None,
    source_name: str | None = None,
    write_rejects: bool = True,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import ``path`` as ``kind`` (orders, products, traffic, ads) into ``db_url``."""
    path = Path(path)
    name = source_name or path.name
    step = progress or (lambda _stage, _fraction: None)
    if kind not in KINDS:
        raise ImportUsageError(f"unknown import kind {kind!r} (one of: {', '.join(KINDS)})")
    if kind == "orders":
        spec = _order_spec(fmt, mapping)
        step("reading", 0.0)
        table = read_table(path, name=name, file_format=spec.file_format,
                           encoding=spec.encoding)
        frame = with_row_numbers(table.frame)
        step("checking", 0.2)
        checked = check_order_rows(frame, spec, name)
        rejects = checked.rejects
        summary = ImportSummary(kind=kind, source_name=name, read=frame.height)
        attach_rejects(summary, frame, rejects)
        _write_orders(db_url, path, name, spec, store, checked, summary, step)
    else:
        from storeops.importers.tables import import_table

        step("reading", 0.0)
        table = read_table(path, name=name)
        frame = with_row_numbers(table.frame)
        summary = ImportSummary(kind=kind, source_name=name, read=frame.height)
        rejects = import_table(db_url, kind, path, name, frame, store, summary, mapping)
        attach_rejects(summary, frame, rejects)
    if write_rejects:
        written = save_rejects(path, frame, rejects)
        summary.rejects_file = str(written) if written else None
    step("done", 1.0)
    return summary


def _order_spec(fmt: str | None, mapping: Path | None) -> OrderSpec:
    if mapping is not None:
        return load_mapping(Path(mapping))
    if fmt in (None, "jd"):
        return JD_SPEC
    raise ImportUsageError(f"unknown order format {fmt!r}: use --format jd or --mapping FILE")


def file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _write_orders(
    db_url: str, path: Path, name: str, spec: OrderSpec, store_name: str | None,
    checked: CheckedRows, summary: ImportSummary, step: Progress,
) -> None:
    now = utcnow()
    result = OrderWriteResult()
    with unit_of_work(db_url) as session, large_cache(session):
        store, _created = get_or_create_store(
            session, store_name, timezone=spec.timezone, currency=spec.currency
        )
        summary.store = store.name
        batch = ImportBatch(store_id=store.id, kind="orders", source_name=name,
                            file_sha256=file_sha256(path), status="running", started_at=now)
        session.add(batch)
        session.flush()
        conn = session.connection()
        step("grouping", 0.35)
        orders, lines = group_sales(checked.sales, store.timezone)
        refunds = refund_lines(checked.refunds, store.timezone)
        step("products and customers", 0.45)
        wanted = pl.concat([
            lines.select("sku", "title", "seller_code"),
            refunds.select("sku", "title", "seller_code"),
        ])
        products, result.products_created = ensure_products(conn, store.id, wanted, now)
        customers, result.customers_created = ensure_customers(
            conn, store.id,
            pl.concat([orders.select("customer", "contact"),
                       refunds.select("customer", "contact")]),
            now,
        )
        lines = lines.join(products, on="sku", how="left")
        orders = orders.join(customers, on="customer", how="left", maintain_order="left")
        refunds = refunds.join(products, on="sku", how="left").join(
            customers, on="customer", how="left")
        step("writing orders", 0.55)
        write_orders(session, store.id, orders, lines, batch.id, now, result)
        step("writing refunds", 0.9)
        write_refunds(conn, store.id, refunds, batch.id, result)
        summary.imported = summary.read - summary.rejected
        summary.unchanged = result.rows_unchanged
        summary.orders_created = result.orders_created
        summary.orders_updated = result.orders_updated
        summary.orders_unchanged = result.orders_unchanged
        summary.refunds = result.refunds
        summary.products_created = result.products_created
        summary.customers_created = result.customers_created
        changed = (result.orders_created or result.orders_updated or result.refunds
                   or result.products_created or result.customers_created)
        if changed:
            bump_data_version(session, store.id)
        _finish_batch(batch, summary)
        summary.batch_id = batch.id


def _finish_batch(batch: ImportBatch, summary: ImportSummary) -> None:
    batch.status = "done"
    batch.rows_read = summary.read
    batch.rows_imported = summary.imported
    batch.rows_rejected = summary.rejected
    batch.summary_json = json.dumps(summary.to_dict(), ensure_ascii=False)
    batch.finished_at = utcnow()
