"""The analytics snapshots on disk: a Parquet base per store plus one cumulative delta.

Layout under ``warehouse_dir(db_url)/store_<id>/``::

    manifest.json            which base and delta are current, and at which data_version
    snap-<v>-<token>/        a base: one Parquet file per table of ``TABLES``, as of version v
    delta-<v>-<token>/       what changed since its base, as of version v:
        <table>.parquet        the changed rows of a keyed table (orders, lines, refunds, traffic)
        <table>.keys.parquet   the keys they replace in the base (order ids, refund ids, days)
        <table>.parquet        the whole table for the small ones (products, ads)

Writers stamp every row they insert or change with the store's new ``data_version``
(``row_version``; :func:`storeops.catalog.stores.bump_data_version`). A refresh exports only
rows with ``row_version`` above the snapshot's version: orders changed (with all of their lines
and refunds: the export's order columns ride on them), refunds changed, traffic days with a
changed row, and the small tables whole. It merges them into the previous delta (a key changed
again replaces its earlier delta rows) and publishes a new delta folder; the readers' views
take base rows whose key is not in the delta, plus the delta rows. When the delta passes
``COMPACT_SOFT`` of the base a new base is built in a background thread; past ``COMPACT_HARD``
(or when a check fails) the refresh rebuilds the base itself.

Checks that send a refresh to a full rebuild: no manifest or another schema, a store version
below the snapshot's (the database was restored or replaced), and row counts of orders and
refunds that differ from the database's afterwards (rows deleted, or written without a
``row_version``). A SKU whose status changed also re-exports the orders holding it, since the
lines carry the SKU's current status.

Safety: folders are written under a temporary name and renamed; the manifest is replaced
atomically (``os.replace``), so a reader sees the old snapshot or the new one, never half of
one. Folders of the last ``KEEP_SNAPSHOTS`` manifests are kept for readers still on them.
Builders of one store take an exclusive file lock and re-check the manifest once they hold it,
so several threads or processes never build the same version twice. The store's version is read
*before* the export: a write racing with it is exported again by the next refresh (its rows'
``row_version`` is above the published version), never lost.
"""

from __future__ import annotations

import dataclasses
import fcntl
import logging
import os
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storeops.common.timeutil import utcnow
from storeops.db.engine import get_engine
from storeops.metrics import export
from storeops.metrics.manifest import (  # noqa: F401 - re-exported: the snapshot's files
    CHANGED_ORDERS,
    KEYED,
    LAYOUT,
    MANIFEST,
    Keyed,
    current,
    folders,
    read_manifest,
    to_snapshot,
    usable,
    view_sql,
    write_manifest,
)
from storeops.metrics.warehouse import (
    LINES_OWN,
    SCHEMA_VERSION,
    SORT_KEYS,
    TABLES,
    Snapshot,
    store_dir,
    store_facts,
)

log = logging.getLogger(__name__)

KEEP_SNAPSHOTS = 3  # folders of the current manifest and of the two before it stay on disk
COMPACT_SOFT = 0.05  # delta rows / base rows: build a new base in the background
COMPACT_HARD = 0.25  # ...: rebuild before answering (the delta has grown too big to re-merge)
COMPACT_MIN_ROWS = 50_000  # a delta smaller than this is never worth a new base
ROW_GROUP = 100_000

# Relative sizes of the tables when no earlier snapshot tells (balances a full export).
EXPECTED_SHARE = {"lines": 100, "traffic": 80, "orders": 10, "refunds": 2}

# Small tables, exported whole on every refresh (a few thousand rows at most).
WHOLE = tuple(name for name in TABLES if name not in KEYED)
# Lines carry these columns of their SKU: a change in them re-exports the SKU's orders.
LINE_PRODUCT_COLUMNS = ("status",)
# Tables whose row count is compared with the database after an incremental refresh.
COUNTED = {"orders": "orders", "refunds": "refunds"}


# --- manifest and folders ------------------------------------------------------------------

@contextmanager
def build_lock(sdir: Path) -> Iterator[None]:
    sdir.mkdir(parents=True, exist_ok=True)
    with open(sdir / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _new_folder(sdir: Path, prefix: str, version: int) -> Iterator[tuple[Path, Path]]:
    """(temporary folder to fill, final name): renamed into place when the block succeeds."""
    token = uuid.uuid4().hex[:10]
    tmp = sdir / f".tmp-{token}"
    tmp.mkdir(parents=True)
    final = sdir / f"{prefix}-{version}-{token}"
    try:
        yield tmp, final
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _publish(sdir: Path, old: dict[str, Any] | None, manifest: dict[str, Any]) -> None:
    history = []
    if old is not None:
        history = [folders(old), *old.get("previous", [])][: KEEP_SNAPSHOTS - 1]
    manifest["previous"] = history
    manifest["built_at"] = utcnow().isoformat()
    write_manifest(sdir, manifest)
    keep = {name for names in [folders(manifest), *history] for name in names}
    for path in sdir.iterdir():
        stale = path.name.startswith((".tmp-", "snap-", "delta-")) and path.name not in keep
        if stale and path.is_dir():  # .tmp-: left by a builder that died; we hold the lock
            shutil.rmtree(path, ignore_errors=True)


def _write(frame: pl.DataFrame, path: Path, name: str) -> None:
    frame.sort(list(SORT_KEYS[name]), maintain_order=True).write_parquet(
        path, row_group_size=ROW_GROUP)


# --- exports -------------------------------------------------------------------------------

def _sql(store_id: int, name: str, where: str = "") -> str:
    sql = TABLES[name][0].format(sid=int(store_id))
    return f"SELECT * FROM ({sql}) t WHERE {where}" if where else sql


def _export(db_url: str, store_id: int, name: str, where: str = "",
            tz: str | None = None) -> pl.DataFrame:
    """Rows of one table (changed ones with ``where``), through the app's driver, with the
    store-local day columns of the store's timezone ``tz``."""
    frame = export.read_frame(db_url, _sql(store_id, name, where), TABLES[name][1])
    return export.local_columns(frame, tz)


def build_full(db_url: str, store_id: int, sdir: Path, version: int,
               old: dict[str, Any] | None) -> dict[str, Any]:
    """Export every table whole into a new base and publish it (the caller holds the lock)."""
    tz = store_facts(db_url, store_id)[1]  # deal days are store-local (deal_days)
    with _new_folder(sdir, "snap", version) as (tmp, final):
        sizes = (old or {}).get("rows") or {}
        jobs = [
            export.Job(_sql(store_id, name), TABLES[name][1], SORT_KEYS[name],
                       tmp / f"{name}.parquet", ROW_GROUP,
                       weight=int(sizes.get(name, EXPECTED_SHARE.get(name, 1))), tz=tz)
            for name in TABLES
        ]
        if SORT_KEYS["lines"] == SORT_KEYS["orders"]:  # assembled lines keep orders' order
            i = list(TABLES).index("lines")
            jobs[i] = dataclasses.replace(
                jobs[i], sql=LINES_OWN[0].format(sid=int(store_id)), schema=LINES_OWN[1],
                assemble=export.Assemble(tmp / "orders.parquet", tmp / "products.parquet",
                                         TABLES["lines"][1]))
        expected = sum(map(int, sizes.values())) if sizes else _stored_rows(db_url, store_id)
        rows = dict(zip(TABLES, export.export_tables(db_url, jobs, expected), strict=True))
    _plan_statistics(db_url)
    top = {}
    for name, spec in KEYED.items():  # newer keys cannot be in the base (see _replaced_in)
        value = pl.scan_parquet(final / f"{name}.parquet").select(
            pl.col(spec.key).max()).collect().item()
        top[name] = value.isoformat() if isinstance(value, date) else value
    manifest = {
        "store_id": int(store_id), "data_version": version, "schema_version": SCHEMA_VERSION,
        "layout": LAYOUT, "snapshot": final.name, "base_version": version, "delta": None,
        "rows": rows, "base_rows": rows, "delta_rows": {}, "base_top": top, "replaced": {},
    }
    _publish(sdir, old, manifest)
    return manifest


def _stored_rows(db_url: str, store_id: int) -> int:
    """Order lines and traffic rows of the store: the bulk of a full export."""
    with get_engine(db_url).connect() as conn:
        return sum(
            conn.execute(text(f"SELECT COUNT(*) FROM {table} WHERE store_id = :sid"),
                         {"sid": store_id}).scalar_one()
            for table in ("order_lines", "traffic_daily")
        )


def _plan_statistics(db_url: str) -> None:
    """Give SQLite's planner table statistics (a sampled ``ANALYZE``, tens of milliseconds).

    Without them SQLite guesses that ``store_id = ?`` picks few rows and reads a refresh's
    changed orders' lines by scanning every line of the store (2.5 s at 5 M lines) instead of
    looking them up by order (0.1 s). Skipped when a writer holds the database.
    """
    if export.backend(db_url) != "sqlite":
        return  # PostgreSQL's autovacuum keeps its own statistics
    # A connection of its own (the same SQLite library as the app's), waiting briefly.
    conn = sqlite3.connect(make_url(db_url).database or ":memory:", timeout=0.2)
    try:
        conn.execute("PRAGMA analysis_limit = 1000")
        conn.execute("ANALYZE")
        conn.commit()
    except sqlite3.OperationalError as exc:
        log.info("planner statistics not refreshed: %s", exc)
    finally:
        conn.close()


class _NeedsFull(Exception):
    """The incremental refresh found something only a full rebuild can fix."""


def _read(folder: Path | None, name: str, columns: list[str] | None = None) -> pl.DataFrame | None:
    if folder is None or not (folder / name).exists():
        return None
    return pl.read_parquet(folder / name, columns=columns)


def _flipped_products(new: pl.DataFrame, old: pl.DataFrame | None) -> list[int]:
    """SKUs whose columns that lines carry changed (lines of new SKUs come with their orders)."""
    cols = [c for c in LINE_PRODUCT_COLUMNS if c in new.columns]
    if old is None or not cols:
        return []
    joined = new.select("product_id", *cols).join(
        old.select("product_id", *cols), on="product_id", how="inner", suffix="_old")
    differs = pl.any_horizontal(
        [pl.col(c).ne_missing(pl.col(f"{c}_old")) for c in cols])
    return joined.filter(differs).get_column("product_id").to_list()


def build_delta(db_url: str, store_id: int, sdir: Path, version: int,
                old: dict[str, Any]) -> dict[str, Any]:
    """Export what changed since ``old`` and publish base + merged delta (lock held).

    Raises :class:`_NeedsFull` when the result would not equal a full rebuild, or when the
    delta has grown past ``COMPACT_HARD`` of the base.
    """
    since = int(old["data_version"])
    base = sdir / old["snapshot"]
    prev = sdir / old["delta"] if old.get("delta") else None
    fmt = {"sid": int(store_id), "since": since}
    base_rows = dict(old.get("base_rows") or old.get("rows") or {})
    replaced = {n: int(c) for n, c in (old.get("replaced") or {}).items()}
    rows: dict[str, int] = {}
    delta_rows: dict[str, int] = {}
    flipped: list[int] = []
    changed_orders = pl.DataFrame(schema={"order_id": pl.Int64})  # in this refresh
    tz = store_facts(db_url, store_id)[1]
    with _new_folder(sdir, "delta", version) as (tmp, final):
        for name in WHOLE:
            frame = _export(db_url, store_id, name)
            _write(frame, tmp / f"{name}.parquet", name)
            rows[name] = delta_rows[name] = frame.height
            if name == "products":
                older = _read(prev, "products.parquet")
                if older is None:
                    older = _read(base, "products.parquet")
                flipped = _flipped_products(frame, older)
        for name, spec in KEYED.items():
            where = spec.changed.format(**fmt)
            if name == "lines" and flipped:
                ids = ", ".join(str(int(p)) for p in flipped)
                where += (f" OR t.order_id IN (SELECT order_id FROM order_lines"
                          f" WHERE store_id = {int(store_id)} AND product_id IN ({ids}))")
            fresh = _export(db_url, store_id, name, where, tz)
            keys = fresh.select(spec.key).unique()
            if name == "lines":  # an order changed to fewer lines (or none) drops the rest
                keys = pl.concat([keys, changed_orders]).unique()
            if name == "orders":
                changed_orders = keys
            earlier = _read(prev, f"{name}.parquet")
            new_keys = keys
            if earlier is not None:  # changed again: the new rows replace the earlier ones
                fresh = pl.concat([earlier.join(keys, on=spec.key, how="anti"), fresh])
                earlier_keys = _read(prev, f"{name}.keys.parquet")
                new_keys = keys.join(earlier_keys, on=spec.key, how="anti")
                keys = pl.concat([earlier_keys, keys]).unique()
            _write(fresh, tmp / f"{name}.parquet", name)
            keys.sort(spec.key).write_parquet(tmp / f"{name}.keys.parquet")
            replaced[name] = replaced.get(name, 0) + _replaced_in(
                base, name, new_keys, (old.get("base_top") or {}).get(name))
            rows[name] = base_rows.get(name, 0) - replaced[name] + fresh.height
            delta_rows[name] = fresh.height
        _check(db_url, store_id, rows, base_rows, delta_rows)
    manifest = {
        "store_id": int(store_id), "data_version": version, "schema_version": SCHEMA_VERSION,
        "layout": LAYOUT, "snapshot": old["snapshot"],
        "base_version": int(old.get("base_version", since)), "delta": final.name,
        "rows": rows, "base_rows": base_rows, "delta_rows": delta_rows,
        "base_top": old.get("base_top"), "replaced": replaced,
    }
    _publish(sdir, old, manifest)
    return manifest


def _replaced_in(base: Path, name: str, keys: pl.DataFrame, top: Any) -> int:
    """Rows of the base whose key is among ``keys`` (keys first seen in this refresh).

    Keys above the base's largest (new orders, refunds, days) cannot be there: a day of new
    orders costs no scan of the base at all.
    """
    key = KEYED[name].key
    if top is not None:
        bound = date.fromisoformat(top) if TABLES[name][1][key] == pl.Date else top
        keys = keys.filter(pl.col(key) <= bound)
    if keys.height == 0:
        return 0
    return int(pl.scan_parquet(base / f"{name}.parquet").select(key)
               .join(keys.lazy(), on=key, how="semi").select(pl.len()).collect().item())


def delta_share(manifest: dict[str, Any]) -> float:
    """Rows of the keyed tables in the delta, as a share of those in the base (0 while the
    delta is under ``COMPACT_MIN_ROWS``)."""
    return _share(manifest.get("base_rows", {}), manifest.get("delta_rows", {}))


def _share(base_rows: dict[str, int], delta_rows: dict[str, int]) -> float:
    delta = sum(int(delta_rows.get(n, 0)) for n in KEYED)
    if delta < COMPACT_MIN_ROWS:
        return 0.0
    return delta / max(sum(int(base_rows.get(n, 0)) for n in KEYED), 1)


def _check(db_url: str, store_id: int, rows: dict[str, int], base_rows: dict[str, int],
           delta_rows: dict[str, int]) -> None:
    share = _share(base_rows, delta_rows)
    if share > COMPACT_HARD:
        raise _NeedsFull(f"delta is {share:.0%} of the base")
    with get_engine(db_url).connect() as conn:
        for name, table in COUNTED.items():
            count = conn.execute(
                text(f"SELECT COUNT(*) FROM {table} WHERE store_id = :sid"), {"sid": store_id}
            ).scalar_one()
            if count != rows[name]:
                raise _NeedsFull(f"{name}: {rows[name]} rows in the snapshot, {count} stored")


# --- the refresh ---------------------------------------------------------------------------

_compacting: set[Path] = set()
_compacting_lock = threading.Lock()


def refresh(db_url: str, store_id: int, force: bool = False) -> Snapshot:
    """The store's current snapshot, brought up to date first if the store's data changed.

    ``force`` rebuilds the base from scratch whatever the manifest says.
    """
    version, _ = store_facts(db_url, store_id)
    sdir = store_dir(db_url, store_id)
    if not force and (snap := current(sdir, store_id, version)) is not None:
        return snap
    with build_lock(sdir):
        manifest = read_manifest(sdir)
        fresh = usable(manifest, sdir)
        if not force and fresh and manifest["data_version"] == version:  # type: ignore[index]
            return to_snapshot(store_id, sdir, manifest)  # type: ignore[arg-type]
        manifest = _update(db_url, store_id, sdir, version, manifest if fresh else None,
                           force)
    if delta_share(manifest) > COMPACT_SOFT:
        _compact_later(db_url, store_id)
    return to_snapshot(store_id, sdir, manifest)


def _update(db_url: str, store_id: int, sdir: Path, version: int,
            manifest: dict[str, Any] | None, force: bool) -> dict[str, Any]:
    if force or manifest is None or int(manifest["data_version"]) > version:
        return build_full(db_url, store_id, sdir, version, manifest)
    try:
        return build_delta(db_url, store_id, sdir, version, manifest)
    except _NeedsFull as why:
        log.info("store %s: full rebuild (%s)", store_id, why)
        return build_full(db_url, store_id, sdir, version, manifest)


def compact(db_url: str, store_id: int) -> Snapshot:
    """Fold the delta into a new base now (what the background compaction does)."""
    version, _ = store_facts(db_url, store_id)
    sdir = store_dir(db_url, store_id)
    with build_lock(sdir):
        old = read_manifest(sdir)
        old_usable = usable(old, sdir)
        if old_usable and old.get("delta") is None and old["data_version"] == version:  # type: ignore[union-attr,index]
            manifest = old
        else:
            manifest = build_full(db_url, store_id, sdir, version, old if old_usable else None)
    return to_snapshot(store_id, sdir, manifest)  # type: ignore[arg-type]


def _compact_later(db_url: str, store_id: int) -> None:
    """Build a new base in a background thread (once per store at a time in this process)."""
    sdir = store_dir(db_url, store_id)
    with _compacting_lock:
        if sdir in _compacting:
            return
        _compacting.add(sdir)

    def run() -> None:
        try:
            manifest = read_manifest(sdir)
            if manifest is not None and delta_share(manifest) > COMPACT_SOFT:
                compact(db_url, store_id)
        except Exception:  # noqa: BLE001 - a failed compaction leaves the delta in place
            log.exception("store %s: background compaction failed", store_id)
        finally:
            with _compacting_lock:
                _compacting.discard(sdir)

    threading.Thread(target=run, name=f"compact-store-{store_id}", daemon=True).start()
