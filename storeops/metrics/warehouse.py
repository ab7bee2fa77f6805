"""The analytics warehouse: Parquet snapshots per store, read through DuckDB.

The OLTP database (SQLite or PostgreSQL) is the truth. For analytics each store's facts are
exported as Arrow (ADBC, :mod:`storeops.metrics.export`) into Parquet under
``warehouse_dir(db_url)/store_<id>/``: a *base* holding every table and a *delta* holding what
changed since, named by ``manifest.json`` with the store's ``data_version`` they stand for.
Importers and the simulator bump ``data_version`` (and stamp the rows they write with it); the
next query sees the difference and refreshes: only the changed rows are exported, so the first
query after a day of orders stays well under a second on millions of lines. How snapshots are
built, merged, compacted and published atomically is :mod:`storeops.metrics.snapshots`.

Engine: one in-memory DuckDB database per process, queried through a cursor per thread (a
DuckDB connection must not be used by two threads at once; cursors of one database may run
in parallel), so requests never queue behind one lock. Only DDL (views over a newly published
snapshot, the calendar table) takes a short lock. A process forked after DuckDB was opened
(``storeops serve --workers N``) opens its own; the snapshot folders are shared through the
file system and a file lock per store.

Queries against the warehouse are plain ANSI SQL over views named in :class:`Warehouse.tables`,
so they can move to another engine that reads Parquet (DuckDB-specific syntax is confined to
creating the views).
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from storeops.catalog.stores import STORES, StoreError
from storeops.config import warehouse_dir
from storeops.db.engine import get_engine

if TYPE_CHECKING:
    import duckdb
    import polars as pl  # noqa: F401 - the annotations of _export_specs

# Bump when the exported tables or their columns change: old snapshots are then rebuilt.
SCHEMA_VERSION = 4  # 4: lines and orders carry deal_date (storeops.metrics.deal_days)
MANIFEST = "manifest.json"
# The calendar first covers these years; a query outside them extends it.
CALENDAR_FROM, CALENDAR_TO = date(2000, 1, 1), date(2040, 12, 31)

# Logical table → (export SQL with {sid}, column schema). Written sorted by SORT_KEYS (in Polars,
# cheaper than in SQLite) so that a period's rows sit in few Parquet row groups and DuckDB
# skips the rest by their min/max statistics.
# Times (paid_at, cancelled_at) are UTC as ISO text, 'YYYY-MM-DD HH:MM:SS[.ffffff]': text comes
# through every driver alike and sorts as time. The export adds to lines and orders the
# store-local day each order counts as a deal on (``deal_date``, storeops.metrics.deal_days),
# so that no query converts times.
# The logical tables, in export order; their export SQL and Polars schemas are ``TABLES``.
TABLE_NAMES = ("lines", "orders", "refunds", "traffic", "ads", "products")


def _export_specs() -> dict[str, Any]:
    """``TABLES`` and ``LINES_OWN``, made on first use (module ``__getattr__``): their column
    types are Polars types, and a query on a current snapshot must not import Polars (a
    command's start-up time). Only building a snapshot needs them."""
    import polars as pl

    tables: dict[str, tuple[str, dict[str, pl.DataType]]] = {
        "lines": (
            "SELECT l.order_id, l.product_id, l.quantity, l.amount_cents, o.placed_date, o.status,"
            " o.customer_id, o.source, o.platform_order_id, o.freight_cents,"
            " CASE WHEN o.paid_at IS NULL THEN 0 ELSE 1 END AS paid,"
            " CAST(o.paid_at AS VARCHAR) AS paid_at,"
            " CAST(o.cancelled_at AS VARCHAR) AS cancelled_at,"
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
            "SELECT r.refund_date, r.amount_cents, r.product_id, r.order_id, o.source,"
            " r.id AS refund_id"  # the key an incremental refresh replaces refund rows by
            " FROM refunds r LEFT JOIN orders o ON o.id = r.order_id"
            " WHERE r.store_id = {sid}",
            {
                "refund_date": pl.Date, "amount_cents": pl.Int64, "product_id": pl.Int64,
                "order_id": pl.Int64, "source": pl.String, "refund_id": pl.Int64,
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

    # A full rebuild reads only these columns of the lines and completes them from the orders and
    # products it exports (storeops.metrics.export.Assemble): the database joining every line to
    # its order and SKU and handing over 15 columns per line costs ~7x more. The incremental
    # refresh (a few thousand lines) runs the lines' SQL above; tests hold the two equal.
    lines_own: tuple[str, dict[str, pl.DataType]] = (
        "SELECT order_id, product_id, quantity, amount_cents FROM order_lines"
        " WHERE store_id = {sid}",
        {"order_id": pl.Int64, "product_id": pl.Int64, "quantity": pl.Int64,
         "amount_cents": pl.Int64},
    )
    assert tuple(tables) == TABLE_NAMES
    return {"TABLES": tables, "LINES_OWN": lines_own}


def __getattr__(name: str) -> Any:
    if name in ("TABLES", "LINES_OWN"):
        specs = _export_specs()
        globals().update(specs)
        return specs[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


SORT_KEYS: dict[str, tuple[str, ...]] = {
    "lines": ("placed_date", "order_id"), "orders": ("placed_date", "order_id"),
    "refunds": ("refund_date",), "traffic": ("day",), "ads": ("day",),
    "products": ("product_id",),
}



@dataclass(frozen=True)
class Snapshot:
    store_id: int
    path: Path  # the base: one Parquet file per table
    data_version: int
    rows: dict[str, int]  # rows per table as the views show them (base less replaced + delta)
    delta: Path | None = None  # changes since the base (storeops.metrics.snapshots)
    base_version: int = 0


def store_dir(db_url: str, store_id: int) -> Path:
    return warehouse_dir(db_url) / f"store_{int(store_id)}"


def store_facts(db_url: str, store_id: int) -> tuple[int, str]:
    """(data_version, timezone) of the store, straight from the OLTP database."""
    with get_engine(db_url).connect() as conn:
        row = conn.execute(
            select(STORES.c.data_version, STORES.c.timezone).where(STORES.c.id == store_id)
        ).first()
    if row is None:
        raise StoreError(f"no store with id {store_id}", key="store.no_id", id=store_id)
    return int(row[0] or 0), row[1]


def refresh(db_url: str, store_id: int, force: bool = False) -> Snapshot:
    """The store's current snapshot, refreshed first if its data changed (or ``force``)."""
    from storeops.metrics import manifest

    if not force:
        version, _ = store_facts(db_url, store_id)
        snap = manifest.current(store_dir(db_url, store_id), store_id, version)
        if snap is not None:  # the common case: nothing to build, nothing heavy imported
            return snap
    from storeops.metrics import snapshots

    return snapshots.refresh(db_url, store_id, force)


# --- DuckDB: one database per process, a cursor per thread ---------------------------------

CALENDAR = "storeops_calendar"
VIEW_GENERATIONS = 32  # views of a superseded snapshot are dropped this many refreshes later

_db: duckdb.DuckDBPyConnection | None = None  # used for DDL only, under _ddl
_db_pid = 0
_ddl = threading.Lock()
_local = threading.local()  # .cursor, .db: this thread's cursor and the database it is of
_views: dict[Path, tuple[tuple[Path, Path | None], dict[str, str]]] = {}  # store dir → views
_retired: deque[list[str]] = deque()
_generation = 0
_calendar_span: tuple[date, date] | None = None


def _database() -> duckdb.DuckDBPyConnection:
    """The process's database (call with ``_ddl`` held); a forked child opens its own."""
    global _db, _db_pid, _calendar_span, _generation
    if _db is None or _db_pid != os.getpid():
        import duckdb

        _db = duckdb.connect(":memory:")
        # Snapshot files never change once published (new ones get new names): their
        # Parquet footers can be cached across queries.
        _db.execute("SET parquet_metadata_cache = true")
        threads = os.environ.get("STOREOPS_DUCKDB_THREADS")
        if threads:
            _db.execute(f"SET threads = {int(threads)}")
        _db_pid = os.getpid()
        _views.clear()
        _retired.clear()
        _calendar_span = None
        _generation = 0
    return _db


def _cursor() -> duckdb.DuckDBPyConnection:
    """This thread's cursor: a connection of its own to the process's one database."""
    cur = getattr(_local, "cursor", None)
    if cur is not None and _local.db is _db and _db_pid == os.getpid():
        return cur
    with _ddl:
        db = _database()
        cur = db.cursor()
    _local.cursor, _local.db = cur, db
    return cur


def ensure_calendar(first: date, last: date) -> None:
    """Make the calendar table (day → day/week/month labels) cover ``first..last``.

    Period cuts join facts to this table: a real table costs far less per query than a
    literal ``VALUES`` list of every day, and it is plain SQL on any engine.
    """
    global _calendar_span
    span = _calendar_span
    if span is not None and span[0] <= first and last <= span[1] and _db_pid == os.getpid():
        return
    with _ddl:
        con = _database()
        span = _calendar_span
        if span is not None and span[0] <= first and last <= span[1]:
            return
        lo = min(first, span[0] if span else CALENDAR_FROM)
        hi = max(last, span[1] if span else CALENDAR_TO)
        # Labels as storeops.metrics.periods.period_label writes them (a test holds the two
        # equal); DuckDB-specific SQL, like the views, confined to setting the engine up.
        con.execute(
            f"CREATE OR REPLACE TABLE {CALENDAR} AS SELECT CAST(d AS DATE) AS day,"
            " strftime(d, '%Y-%m-%d') AS day_label, strftime(d, '%G-W%V') AS week_label,"
            " strftime(d, '%Y-%m') AS month_label"
            " FROM generate_series(CAST(? AS DATE), CAST(? AS DATE), INTERVAL 1 DAY) AS g(d)",
            [lo, hi],
        )
        _calendar_span = (lo, hi)


@dataclass(frozen=True)
class Warehouse:
    """The snapshot of one store opened as DuckDB views; ``tables`` maps logical names."""

    snapshot: Snapshot
    tables: dict[str, str]

    def run(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run ANSI SQL whose ``{lines}``-style placeholders name the snapshot's tables."""
        return _cursor().execute(sql.format(**self.tables), list(params)).fetchall()


def open_path(path: Path, snapshot: Snapshot | None = None) -> Warehouse:
    """Views over the snapshot whose base is ``path`` (reused while it stays current).

    Each published snapshot gets views of its own names: a query already planned on the
    previous views keeps reading them (and their files, kept for a while) undisturbed.
    """
    from storeops.metrics.manifest import view_sql

    global _generation
    path = path.resolve()
    snap = snapshot or Snapshot(0, path, 0, {})
    delta = snap.delta.resolve() if snap.delta is not None else None
    key, identity = path.parent, (path, delta)
    known = _views.get(key)
    if known is not None and known[0] == identity and _db_pid == os.getpid():
        return Warehouse(snap, known[1])
    with _ddl:
        con = _database()
        known = _views.get(key)
        if known is not None and known[0] == identity:
            return Warehouse(snap, known[1])
        _generation += 1
        names: dict[str, str] = {}
        for name in TABLE_NAMES:
            view = f"w{_generation}_{name}"
            con.execute(f"CREATE VIEW {view} AS {view_sql(name, path, delta)}")
            names[name] = view
        names["calendar"] = CALENDAR
        if known is not None:
            _retired.append([v for n, v in known[1].items() if n != "calendar"])
        while len(_retired) > VIEW_GENERATIONS:
            for view in _retired.popleft():
                con.execute(f"DROP VIEW IF EXISTS {view}")
        _views[key] = (identity, names)
        return Warehouse(snap, names)


def open_store(db_url: str, store_id: int) -> Warehouse:
    """The store's warehouse, refreshed if its data changed."""
    snap = refresh(db_url, store_id)
    return open_path(snap.path, snap)


def store_timezone(db_url: str, store_id: int) -> str:
    return store_facts(db_url, store_id)[1]
