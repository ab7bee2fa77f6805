"""The analytics warehouse: a Parquet snapshot per store, read by one DuckDB per process.

The OLTP database (SQLite or PostgreSQL) is the truth. For analytics each store's facts are
exported with Polars into ``warehouse_dir(db_url)/store_<id>/snap-<version>-<token>/`` and a
``manifest.json`` beside it names the current snapshot, the store's ``data_version`` it was
built from and the snapshot schema version. Importers and the simulator bump ``data_version``;
the next query sees the difference and rebuilds lazily.

Safety: a snapshot is written into a temporary folder and renamed into place, then the
manifest is replaced atomically (``os.replace``), so a reader sees the old snapshot or the new
one, never half of one. Builders of one store take an exclusive file lock, and re-check the
manifest once they hold it, so two processes never build the same version twice at once. The
store's version is read *before* the export: a write racing with the export can only make the
snapshot look older than it is, which costs one more rebuild, never a stale answer.

The exports are plain SQL (portable across SQLite and PostgreSQL); queries against the
snapshot are plain ANSI SQL over views named in :class:`Warehouse.tables`, so they can move to
another engine that reads Parquet (DuckDB-specific syntax is confined to creating the views).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from sqlalchemy import select

from storeops.catalog.stores import StoreError
from storeops.common.timeutil import utcnow
from storeops.config import warehouse_dir
from storeops.db.engine import get_engine
from storeops.db.models import Store
from storeops.metrics.periods import calendar_rows, period_label

# Bump when the exported tables or their columns change: old snapshots are then rebuilt.
SCHEMA_VERSION = 3
MANIFEST = "manifest.json"
EXPORT_BATCH = 200_000
# The calendar first covers these years; a query outside them extends it.
CALENDAR_FROM, CALENDAR_TO = date(2000, 1, 1), date(2040, 12, 31)
KEEP_SNAPSHOTS = 2  # the current one and the one before, which a reader may still be using

# Logical table → (export SQL with {sid}, column schema). Written sorted by SORT_KEYS (in Polars,
# cheaper than in SQLite) so that a period's rows sit in few Parquet row groups and DuckDB
# skips the rest by their min/max statistics.
# Times (paid_at, cancelled_at) are UTC as ISO text, 'YYYY-MM-DD HH:MM:SS[.ffffff]': text comes
# through every driver alike, sorts as time (so Parquet statistics still prune) and the metric
# queries turn it into store-local days (storeops.metrics.queries, 成交 rules).
TABLES: dict[str, tuple[str, dict[str, pl.DataType]]] = {
    "lines": (
        "SELECT l.order_id, l.product_id, l.quantity, l.amount_cents, o.placed_date, o.status,"
        " o.customer_id, o.source, o.platform_order_id, o.freight_cents,"
        " CASE WHEN o.paid_at IS NULL THEN 0 ELSE 1 END AS paid,"
        " CAST(o.paid_at AS VARCHAR) AS paid_at, CAST(o.cancelled_at AS VARCHAR) AS cancelled_at,"
        " CASE WHEN o.cod THEN 1 ELSE 0 END AS cod,"
        # the SKU's status now: sell-through counts SKUs on sale that sold
        " CASE WHEN p.status = 'on_sale' THEN 1 ELSE 0 END AS on_sale"
        " FROM order_lines l JOIN orders o ON o.id = l.order_id"
        " JOIN products p ON p.id = l.product_id"
        " WHERE l.store_id = {sid}",
        {
            "order_id": pl.Int64, "product_id": pl.Int64, "quantity": pl.Int64,
            "amount_cents": pl.Int64, "placed_date": pl.Date, "status": pl.String,
            "customer_id": pl.Int64, "source": pl.String, "platform_order_id": pl.String,
            "freight_cents": pl.Int64, "paid": pl.Int8, "on_sale": pl.Int8,
            "paid_at": pl.String, "cancelled_at": pl.String, "cod": pl.Int8,
        },
    ),
    "orders": (
        "SELECT id AS order_id, platform_order_id, placed_date, status, customer_id, source,"
        " freight_cents, CASE WHEN paid_at IS NULL THEN 0 ELSE 1 END AS paid,"
        " CAST(paid_at AS VARCHAR) AS paid_at, CAST(cancelled_at AS VARCHAR) AS cancelled_at,"
        " CASE WHEN cod THEN 1 ELSE 0 END AS cod"
        " FROM orders WHERE store_id = {sid}",
        {
            "order_id": pl.Int64, "platform_order_id": pl.String, "placed_date": pl.Date,
            "status": pl.String, "customer_id": pl.Int64, "source": pl.String,
            "freight_cents": pl.Int64, "paid": pl.Int8, "paid_at": pl.String,
            "cancelled_at": pl.String, "cod": pl.Int8,
        },
    ),
    "refunds": (
        "SELECT r.refund_date, r.amount_cents, r.product_id, r.order_id, o.source"
        " FROM refunds r LEFT JOIN orders o ON o.id = r.order_id"
        " WHERE r.store_id = {sid}",
        {
            "refund_date": pl.Date, "amount_cents": pl.Int64, "product_id": pl.Int64,
            "order_id": pl.Int64, "source": pl.String,
        },
    ),
    "traffic": (
        "SELECT day, product_id, source, uv, pv, exposure, clicks, cart_users, bounce_visits"
        " FROM traffic_daily WHERE store_id = {sid}",
        {
            "day": pl.Date, "product_id": pl.Int64, "source": pl.String, "uv": pl.Int64,
            "pv": pl.Int64, "exposure": pl.Int64, "clicks": pl.Int64,
            "cart_users": pl.Int64, "bounce_visits": pl.Int64,
        },
    ),
    "ads": (
        "SELECT day, campaign, spend_cents, attributed_gmv_cents"
        " FROM ad_spend_daily WHERE store_id = {sid}",
        {
            "day": pl.Date, "campaign": pl.String, "spend_cents": pl.Int64,
            "attributed_gmv_cents": pl.Int64,
        },
    ),
    "products": (
        "SELECT id AS product_id, platform_sku_id, title, category, status"
        " FROM products WHERE store_id = {sid}",
        {
            "product_id": pl.Int64, "platform_sku_id": pl.String, "title": pl.String,
            "category": pl.String, "status": pl.String,
        },
    ),
}

SORT_KEYS: dict[str, tuple[str, ...]] = {
    "lines": ("placed_date", "order_id"), "orders": ("placed_date", "order_id"),
    "refunds": ("refund_date",), "traffic": ("day",), "ads": ("day",),
    "products": ("product_id",),
}


@dataclass(frozen=True)
class Snapshot:
    store_id: int
    path: Path  # the folder holding one Parquet file per table
    data_version: int
    rows: dict[str, int]


def store_dir(db_url: str, store_id: int) -> Path:
    return warehouse_dir(db_url) / f"store_{int(store_id)}"


def _store_facts(db_url: str, store_id: int) -> tuple[int, str]:
    """(data_version, timezone) of the store, straight from the OLTP database."""
    with get_engine(db_url).connect() as conn:
        row = conn.execute(
            select(Store.data_version, Store.timezone).where(Store.id == store_id)
        ).first()
    if row is None:
        raise StoreError(f"no store with id {store_id}")
    return int(row[0] or 0), row[1]


def _read_manifest(sdir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((sdir / MANIFEST).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _usable(manifest: dict[str, Any] | None, sdir: Path, version: int) -> bool:
    return (
        manifest is not None
        and manifest.get("schema_version") == SCHEMA_VERSION
        and manifest.get("data_version") == version
        and (sdir / manifest.get("snapshot", "-")).is_dir()
    )


def _to_snapshot(store_id: int, sdir: Path, manifest: dict[str, Any]) -> Snapshot:
    return Snapshot(
        store_id, sdir / manifest["snapshot"], int(manifest["data_version"]),
        dict(manifest.get("rows", {})),
    )


@contextmanager
def _build_lock(sdir: Path) -> Iterator[None]:
    sdir.mkdir(parents=True, exist_ok=True)
    with open(sdir / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _conform(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Give every column its declared type (SQLite hands dates back as text)."""
    exprs = []
    for name, dtype in schema.items():
        col = pl.col(name)
        if name not in frame.columns:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
        elif dtype == pl.Date and frame.schema[name] == pl.String:
            exprs.append(col.str.slice(0, 10).str.to_date("%Y-%m-%d").alias(name))
        else:
            exprs.append(col.cast(dtype).alias(name))
    return frame.select(exprs) if len(frame.columns) else pl.DataFrame(schema=schema)


def export_table(db_url: str, store_id: int, name: str) -> pl.DataFrame:
    sql, schema = TABLES[name]
    with get_engine(db_url).connect() as conn:
        # The driver's own connection: SQLAlchemy's row processing would double the cost.
        # Batches keep only EXPORT_BATCH rows as Python objects at a time.
        raw = conn.connection.dbapi_connection
        batches = [
            _conform(batch, schema) for batch in pl.read_database(
                sql.format(sid=int(store_id)), raw, iter_batches=True,
                batch_size=EXPORT_BATCH, infer_schema_length=None,
            )
        ]
    frame = pl.concat(batches) if batches else pl.DataFrame(schema=schema)
    return frame.sort(list(SORT_KEYS[name]), maintain_order=True)


def _build(db_url: str, store_id: int, sdir: Path, version: int) -> dict[str, Any]:
    token = uuid.uuid4().hex[:10]
    tmp = sdir / f".tmp-{token}"
    tmp.mkdir(parents=True)
    rows: dict[str, int] = {}
    try:
        for name in TABLES:
            frame = export_table(db_url, store_id, name)
            frame.write_parquet(tmp / f"{name}.parquet", row_group_size=100_000)
            rows[name] = frame.height
        final = sdir / f"snap-{version}-{token}"
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    manifest = {
        "store_id": int(store_id), "data_version": version, "schema_version": SCHEMA_VERSION,
        "snapshot": final.name, "built_at": utcnow().isoformat(), "rows": rows,
    }
    write_manifest(sdir, manifest)
    _prune(sdir, keep=final.name)
    return manifest


def write_manifest(sdir: Path, manifest: dict[str, Any]) -> None:
    """Replace the manifest atomically (also used by the benchmark's generator)."""
    tmp = sdir / f".{MANIFEST}.{uuid.uuid4().hex[:8]}"
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, sdir / MANIFEST)


def _prune(sdir: Path, keep: str) -> None:
    snaps = sorted(
        (p for p in sdir.glob("snap-*") if p.is_dir() and p.name != keep),
        key=lambda p: p.stat().st_mtime, reverse=True,
    )
    for old in snaps[KEEP_SNAPSHOTS - 1:]:
        shutil.rmtree(old, ignore_errors=True)
    for tmp in sdir.glob(".tmp-*"):  # left by a builder that died; we hold the lock
        shutil.rmtree(tmp, ignore_errors=True)


def refresh(db_url: str, store_id: int, force: bool = False) -> Snapshot:
    """The store's current snapshot, rebuilt first if the store's data changed (or ``force``)."""
    version, _ = _store_facts(db_url, store_id)
    sdir = store_dir(db_url, store_id)
    manifest = _read_manifest(sdir)
    if not force and _usable(manifest, sdir, version):
        return _to_snapshot(store_id, sdir, manifest)  # type: ignore[arg-type]
    with _build_lock(sdir):
        manifest = _read_manifest(sdir)
        if not force and _usable(manifest, sdir, version):
            return _to_snapshot(store_id, sdir, manifest)  # type: ignore[arg-type]
        manifest = _build(db_url, store_id, sdir, version)
    return _to_snapshot(store_id, sdir, manifest)


# --- DuckDB, one connection per process --------------------------------------------------

_con: duckdb.DuckDBPyConnection | None = None
_lock = threading.RLock()  # a DuckDB connection is not for concurrent use across threads
_views: dict[Path, tuple[Path, dict[str, str]]] = {}  # snapshot parent → (snapshot, names)


CALENDAR = "storeops_calendar"
_calendar_span: tuple[date, date] | None = None


def _connection() -> duckdb.DuckDBPyConnection:
    global _con
    if _con is None:
        _con = duckdb.connect(":memory:")
        threads = os.environ.get("STOREOPS_DUCKDB_THREADS")
        if threads:
            _con.execute(f"SET threads = {int(threads)}")
    return _con


def ensure_calendar(first: date, last: date) -> None:
    """Make the calendar table (day → day/week/month labels) cover ``first..last``.

    Period cuts join facts to this table: a real table costs far less per query than a
    literal ``VALUES`` list of every day, and it is plain SQL on any engine.
    """
    global _calendar_span
    with _lock:
        span = _calendar_span
        if span is not None and span[0] <= first and last <= span[1]:
            return
        lo = min(first, span[0] if span else CALENDAR_FROM)
        hi = max(last, span[1] if span else CALENDAR_TO)
        rows = calendar_rows(lo, hi, "day")
        frame = pl.DataFrame({
            "day": [d for d, _ in rows],
            "day_label": [lab for _, lab in rows],
            "week_label": [period_label(d, "week") for d, _ in rows],
            "month_label": [period_label(d, "month") for d, _ in rows],
        })
        con = _connection()
        con.register("calendar_frame", frame.to_arrow())
        con.execute(f"CREATE OR REPLACE TABLE {CALENDAR} AS SELECT * FROM calendar_frame")
        con.unregister("calendar_frame")
        _calendar_span = (lo, hi)


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Warehouse:
    """The snapshot of one store opened as DuckDB views; ``tables`` maps logical names."""

    snapshot: Snapshot
    tables: dict[str, str]

    def run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run ANSI SQL whose ``{lines}``-style placeholders name the snapshot's tables."""
        with _lock:
            return _connection().execute(sql.format(**self.tables), list(params)).fetchall()


def open_path(path: Path, snapshot: Snapshot | None = None) -> Warehouse:
    """Views over the Parquet files in ``path`` (reused while the snapshot stays current)."""
    path = path.resolve()
    snap = snapshot or Snapshot(0, path, 0, {})
    key = path.parent
    with _lock:
        known = _views.get(key)
        if known is not None and known[0] == path:
            return Warehouse(snap, known[1])
        prefix = f"w{len(_views) if known is None else _index(key)}_"
        names: dict[str, str] = {}
        con = _connection()
        for name in TABLES:
            view = prefix + name
            source = _sql_string(str(path / f"{name}.parquet"))
            con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM read_parquet({source})")
            names[name] = view
        names["calendar"] = CALENDAR
        _views[key] = (path, names)
        return Warehouse(snap, names)


def _index(key: Path) -> int:
    return list(_views).index(key)


def open_store(db_url: str, store_id: int) -> Warehouse:
    """The store's warehouse, refreshed if its data changed."""
    snap = refresh(db_url, store_id)
    return open_path(snap.path, snap)


def store_timezone(db_url: str, store_id: int) -> str:
    return _store_facts(db_url, store_id)[1]
