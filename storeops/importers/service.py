"""Importing one file: the entry point of the CLI and of the web upload page.

One file is one transaction: a file that cannot be read changes nothing, and an error while
writing rolls back everything of that file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import polars as pl

from storeops.catalog.stores import bump_data_version, get_or_create_store, next_data_version
from storeops.common.errors import StoreopsError
from storeops.common.timeutil import utcnow
from storeops.db.bulk import sqlite_indexes_built_after
from storeops.db.engine import import_transaction
from storeops.importers.mapping import JD_SPEC, OrderSpec, load_mapping
from storeops.importers.models import ImportBatch
from storeops.importers.order_rows import DuplicateTracker, check_order_rows
from storeops.importers.order_store import OrderWriter, OrderWriteResult, large_cache
from storeops.importers.reading import RetryEncoding, TableStream, prefetch, read_table
from storeops.importers.spill import Spill
from storeops.importers.summary import (
    ImportSummary,
    ReasonText,
    RejectsWriter,
    attach_rejects,
    check_rejects_target,
)
from storeops.importers.summary import write_rejects as save_rejects
from storeops.orders.grouping import group_sales, refund_lines
from storeops.orders.models import OrderLine

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
    max_bytes: int | None = None,
    complete: bool = False,
    rejects_to: Path | None = None,
    sheet: str | int | None = None,
    reason_text: ReasonText | None = None,
) -> ImportSummary:
    """Import ``path`` as ``kind`` (orders, products, traffic, ads) into ``db_url``.

    ``reason_text(key, reason)``: the words of the rejects file's reason column, chosen by
    the caller (the CLI in the terminal's language, the import page in the page's: the
    importer knows no languages); None: the importer's English reasons.

    ``rejects_to``: where the rejects file goes (a file or a folder); by default
    ``<input>.rejects.csv`` in the working directory.
    ``sheet``: the workbook's sheet (name or 1-based number; default: the mapping's, else the
    first).
    ``complete``: the file holds every line of each order it mentions, so a changed order is
    replaced whole; otherwise lines are matched and stored lines it omits are kept.

    ``max_bytes``: the most a (compressed) file may expand to, for uploads
    (``storeops.config.max_upload_bytes``); a gzip file is refused past 100× its size anyway.
    """
    path = Path(path)
    name = source_name or path.name
    step = progress or (lambda _stage, _fraction: None)
    if kind not in KINDS:
        raise ImportUsageError(f"unknown import kind {kind!r} (one of: {', '.join(KINDS)})",
                               key="import.unknown_kind", kind=kind, choices=", ".join(KINDS))
    if write_rejects:
        check_rejects_target(rejects_to)
    if kind == "orders":
        spec = _order_spec(fmt, mapping)
        if sheet is not None:
            spec = dataclasses.replace(spec, sheet=sheet)
        return _import_orders(db_url, path, name, spec, store,
                              write_rejects, step, max_bytes, complete, rejects_to,
                              reason_text)
    from storeops.importers.tables import import_table

    step("reading", 0.0)
    table = read_table(path, name=name, max_bytes=max_bytes, sheet=sheet)
    frame = table.frame
    summary = ImportSummary(kind=kind, source_name=name, read=frame.height)
    rejects = import_table(db_url, kind, path, name, frame, store, summary, mapping)
    attach_rejects(summary, frame, rejects)
    if write_rejects:
        written = save_rejects(path, frame, rejects, rejects_to, reason_text)
        summary.rejects_file = str(written) if written else None
    step("done", 1.0)
    return summary


def _order_spec(fmt: str | None, mapping: Path | None) -> OrderSpec:
    if mapping is not None:
        return load_mapping(Path(mapping))
    if fmt in (None, "jd"):
        return JD_SPEC
    raise ImportUsageError(f"unknown order format {fmt!r}: use --format jd or --mapping FILE",
                           key="import.unknown_order_format", format=fmt)


def file_sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            while block := fh.read(1 << 20):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def _import_orders(
    db_url: str, path: Path, name: str, spec: OrderSpec, store: str | None,
    write_rejects: bool, step: Progress, max_bytes: int | None, complete: bool = False,
    rejects_to: Path | None = None, reason_text: ReasonText | None = None,
) -> ImportSummary:
    """Read and check the file chunk by chunk (nothing is written yet), then write it in
    groups of whole orders in one transaction; the rejects file appears once it committed."""
    encoding = spec.encoding
    while True:
        summary = ImportSummary(kind="orders", source_name=name)
        rejects = RejectsWriter(summary, keep_file=write_rejects, reason_text=reason_text)
        spill = Spill(expected_bytes=_expected_text_bytes(path))
        try:
            try:
                _read_orders(path, name, spec, encoding, max_bytes, summary, rejects, spill,
                             step)
            except RetryEncoding:
                # a file taken for UTF-8 that is not UTF-8 further on: read it again as GBK
                encoding = "gb18030"
                continue
            _write_orders(db_url, path, name, spec, store, spill, summary, step, complete)
            written = rejects.finish(path, rejects_to)
            summary.rejects_file = str(written) if written else None
        finally:
            rejects.discard()
            spill.close()
        step("done", 1.0)
        return summary


def _expected_text_bytes(path: Path) -> int:
    """About how much text the file holds (gzip: ~8× its size), to size the spill."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            gz = fh.read(2) == b"\x1f\x8b"
    except OSError:
        return 0
    return size * 8 if gz else size


def _read_orders(
    path: Path, name: str, spec: OrderSpec, encoding: str | None, max_bytes: int | None,
    summary: ImportSummary, rejects: RejectsWriter, spill: Spill, step: Progress,
) -> None:
    stream = TableStream(path, name, spec.file_format, encoding, max_bytes, sheet=spec.sheet)
    duplicates = DuplicateTracker()
    excluded: Counter[str] = Counter()
    step("reading", 0.0)
    for n, frame in enumerate(prefetch(stream.chunks())):
        checked = check_order_rows(frame, spec, name, duplicates)
        summary.read += frame.height
        excluded.update(checked.excluded)
        rejects.add(frame, checked.rejects)
        freight = int(checked.accepted.get_column("is_freight").sum())
        summary.freight += freight
        summary.imported += checked.accepted.height - freight
        spill.add(checked.accepted)
        step(f"reading ({summary.read:,} rows)", min(0.5, 0.05 * (n + 1)))
    summary.excluded = sum(excluded.values())
    summary.excluded_by_sku = dict(excluded.most_common())


def _write_orders(
    db_url: str, path: Path, name: str, spec: OrderSpec, store_name: str | None,
    spill: Spill, summary: ImportSummary, step: Progress, complete: bool = False,
) -> None:
    now = utcnow()
    result = OrderWriteResult()
    paid_time_mapped = "paid_time" in spec.columns
    # every key an import writes comes from rows it read in its own transaction
    with import_transaction(db_url, foreign_keys=False) as session, large_cache(session):
        store, _created = get_or_create_store(
            session, store_name, timezone=spec.timezone, currency=spec.currency
        )
        summary.store = store.name
        version = next_data_version(session, store.id)
        batch = ImportBatch(store_id=store.id, kind="orders", source_name=name,
                            file_sha256=file_sha256(path), status="running", started_at=now)
        session.add(batch)
        session.flush()
        writer = OrderWriter(session, store.id, batch.id, now, version, result, complete)
        total = max(spill.rows, 1)
        done = 0
        # order lines are most of what an import writes: their secondary indexes are built
        # once afterwards when the load is larger than the table (SQLite)
        with sqlite_indexes_built_after(session.connection(), OrderLine.__table__,
                                        spill.rows):
            # the next group is read back and grouped in a thread (Polars and Arrow release
            # the GIL) while SQLite writes this one: 7% off a 5.4 M-line file, for one
            # group's memory (~110 MB)
            # (closed on the way out, also on an error: its thread ends before the spill)
            with closing(prefetch(_prepared_groups(spill, store.timezone,
                                                   paid_time_mapped))) as groups:
                for rows, orders, lines, refunds in groups:
                    step("writing orders", 0.5 + 0.5 * done / total)
                    done += rows
                    writer.write(orders, lines, refunds)
        summary.unchanged = result.rows_unchanged
        summary.orders_created = result.orders_created
        summary.orders_updated = result.orders_updated
        summary.orders_unchanged = result.orders_unchanged
        summary.orders_partial = result.orders_partial
        summary.lines_kept = result.lines_kept
        summary.refunds = result.refunds
        summary.products_created = result.products_created
        summary.customers_created = result.customers_created
        if result.changed:
            bumped = bump_data_version(session, store.id)
            if bumped != version:  # cannot happen while the store row is locked
                raise RuntimeError(f"data_version moved during the import ({bumped} != {version})")
        _finish_batch(batch, summary)
        summary.batch_id = batch.id


Prepared = tuple[int, pl.DataFrame, pl.DataFrame, pl.DataFrame]


def _prepared_groups(spill: Spill, timezone: str, paid_time_mapped: bool
                     ) -> Iterator[Prepared]:
    """Each group of whole orders as (rows, orders, goods lines, refunds)."""
    for group in spill.groups():
        orders, lines = group_sales(group.filter(~pl.col("is_refund")), timezone,
                                    paid_time_mapped=paid_time_mapped)
        refunds = refund_lines(group.filter(pl.col("is_refund")), timezone)
        # a refunded freight line is money given back, but for no product
        refunds = refunds.with_columns(
            pl.when(pl.col("is_freight")).then(None).otherwise(pl.col("sku")).alias("sku"))
        yield group.height, orders, lines, refunds


def _finish_batch(batch: ImportBatch, summary: ImportSummary) -> None:
    batch.status = "done"
    batch.rows_read = summary.read
    batch.rows_imported = summary.imported
    batch.rows_rejected = summary.rejected
    batch.summary_json = json.dumps(summary.to_dict(), ensure_ascii=False)
    batch.finished_at = utcnow()
