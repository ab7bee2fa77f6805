"""Reading the OLTP database as Arrow-backed Polars frames, for the analytics warehouse.

Whole tables (a full rebuild) are read through the databases' ADBC drivers, which hand back
Arrow columns without building a Python object per value (5 M order lines in a few seconds
instead of ~15 s through the DBAPI driver's row tuples), and written straight to Parquet:

* PostgreSQL: in this process (libpq).
* SQLite: in a child process (:mod:`storeops.metrics.export_worker`). The ADBC driver brings
  its own copy of the SQLite library, and two copies of SQLite in one process corrupt a
  database in WAL mode: POSIX locks are per process, so the copies do not see each other's
  locks, and one closing the file drops the other's (measured: after an ADBC connection closed,
  commits of this process's own ``sqlite3`` connection were no longer visible to anyone).
  Each process running only one copy keeps SQLite's locking whole.

Small reads (an incremental refresh's changed rows) go through the app's own driver: a day
of orders is a few thousand rows, where starting a child would cost more than it saves.

A full rebuild does not have the database join every line to its order and SKU: it reads the
lines' own four columns and takes the order's columns (``deal_date`` included) from the orders
file and ``on_sale`` from the products file this export has just written (:class:`Assemble`,
joined in Polars). Handing 15 columns of 5 M lines through the ADBC SQLite driver cost ~9 s of
CPU; four of them cost ~1.3 s and the join ~0.7 s. A job that assembles runs in the same child
as, and after, the jobs writing its inputs.

The ADBC SQLite driver infers each column's type from the values of the first batch; a column
whose first batch is all NULL would be guessed as integer and fail on the first text value.
So every SQLite query is prefixed with one *probe* row holding a value of each column's
declared type, which is dropped again after the read. Date columns (text in SQLite) are
handed over as days since 1970 (``unixepoch``): as cheap for the driver as the text, and
Polars takes the integers as dates without parsing 5 M strings (~0.4 s of CPU).

The driver reads one statement on one thread (~70 ns a value: 2.9 s of CPU for 4.6 M traffic
rows). A table that makes up a large share of a rebuild is therefore read in ``SPLIT_PARTS``
ranges of its first sort key, each on its own connection and thread (:func:`read_split`), and
each range sorted on its own: the ranges follow each other in key order, so the whole table is
never sorted at once. Both cores then stay busy until the rebuild ends instead of one child
finishing the traffic alone.
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

log = logging.getLogger(__name__)

DBAPI_BATCH = 200_000  # rows held as Python objects at a time on the DBAPI path
SQLITE_BATCH_ROWS = 65_536  # ADBC SQLite batch (and type inference window)
EXPORT_PROCESSES = 2  # children reading SQLite at once in a full rebuild
# Each child of this process's last SQLite export (benchmarks): peak resident memory (MB),
# and (began, finished, CPU): seconds after the children were started when it had read its
# request (after ~0.4 s of imports) and when it was done, and its CPU seconds.
last_child_peaks: list[int] = []
last_child_times: list[tuple[float, float, float]] = []
CHILD_MIN_ROWS = 200_000  # a smaller SQLite store is exported in this process
SPLIT_PARTS = 2  # key ranges (connections, threads) a large SQLite table is read in
SPLIT_SHARE = 0.25  # ... when its expected rows are at least this share of the rebuild's
PROBE = "_probe"
# A value of each declared type for the SQLite probe row (any value will do: it is dropped).
# Dates come as days since 1970 (see the module's docstring).
_PROBE_VALUES: dict[str, str] = {
    "String": "''", "Date": "0", "Datetime": "'2000-01-01 00:00:00'",
    "Boolean": "0", "Float64": "0.5", "Float32": "0.5",
}


@dataclass(frozen=True)
class Assemble:
    """Lines completed from files of the same export: every column of the order (``orders``,
    written sorted by the lines' sort keys, so its order is the lines' order too) and
    ``on_sale`` of the SKU (``products``), giving the columns of ``schema`` (``TABLES``).

    The order's text columns are repeated on every line: they are gathered and written as
    Polars categoricals (Parquet dictionary pages straight from the codes, ~0.6 s less CPU at
    5 M lines). DuckDB reads them as VARCHAR like any text column; Polars as Categorical.
    """

    orders: Path
    products: Path
    schema: dict[str, pl.DataType]


@dataclass(frozen=True)
class Job:
    """One table to export: its SQL, its columns, the order to write it in, where."""

    sql: str
    schema: dict[str, pl.DataType]
    sort: Sequence[str]
    out: Path
    row_group: int = 100_000
    weight: int = 1  # expected size, to balance jobs over processes
    tz: str | None = None  # the store's timezone: add the store-local deal day (deal_days)
    assemble: Assemble | None = None  # the rows read are lines' own columns: complete them
    parts: int = 1  # SQLite children: read in this many ranges of sort[0] (read_split)


def backend(db_url: str) -> str:
    """``sqlite``, ``postgresql`` or another SQLAlchemy backend name."""
    from sqlalchemy.engine import make_url

    return make_url(db_url).get_backend_name()


def _adbc_uri(db_url: str) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    # libpq takes the same URL without SQLAlchemy's "+driver" part (options= included)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def conform(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
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


def probed(sql: str, schema: dict[str, pl.DataType]) -> str:
    """The query's columns (in schema order) after one probe row of the declared types;
    dates as days since 1970 (``'start of day'``: exact for a date, floored for a time)."""
    values = ", ".join(
        f"{_PROBE_VALUES.get(str(dtype.base_type()), '0')} AS {name}"
        for name, dtype in schema.items()
    )
    cols = ", ".join(
        f"unixepoch(t.{name}, 'start of day') / 86400" if dtype == pl.Date else f"t.{name}"
        for name, dtype in schema.items()
    )
    return f"SELECT 1 AS {PROBE}, {values} UNION ALL SELECT 0, {cols} FROM ({sql}) t"


def adbc_read(conn: Any, sql: str, schema: dict[str, pl.DataType], sqlite: bool) -> pl.DataFrame:
    """Run ``sql`` on an ADBC DBAPI connection; a frame of exactly ``schema``."""
    with conn.cursor() as cur:
        if sqlite:
            cur.adbc_statement.set_options(
                **{"adbc.sqlite.query.batch_rows": str(SQLITE_BATCH_ROWS)})
            cur.execute(probed(sql, schema))
        else:
            cur.execute(sql)
        frame = pl.from_arrow(cur.fetch_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    if sqlite:
        frame = frame.filter(pl.col(PROBE) == 0).drop(PROBE)
    return conform(frame, schema)


def local_columns(frame: pl.DataFrame, tz: str | None) -> pl.DataFrame:
    """``frame`` with the store-local day columns computed at export time (``deal_date`` where
    the table holds the columns of the 成交 rule), so that queries never convert times."""
    from storeops.metrics import deal_days

    if tz is None or not deal_days.has_rule_columns(frame):
        return frame
    return deal_days.with_deal_date(frame, tz)


def assemble_lines(own: pl.DataFrame, spec: Assemble) -> pl.DataFrame:
    """The lines table from the lines' own columns and the orders and products files.

    Inner joins, as the lines' export SQL joins (a line without its order or SKU is not
    exported). The result comes in the orders file's order (lines of one order in the order
    read), which is the lines' sort order: no sort of the wide frame is needed.
    """
    orders = pl.read_parquet(spec.orders)
    orders = orders.with_columns(pl.col(pl.String).cast(pl.Categorical))  # see Assemble
    products = pl.read_parquet(spec.products, columns=["product_id", "status"])
    on_sale = products.select(  # the SKU's status now: sell-through counts SKUs on sale
        "product_id", (pl.col("status") == "on_sale").cast(pl.Int8).alias("on_sale"))
    keys = (
        own.join(orders.select("order_id").with_row_index("_pos"), on="order_id")
        .join(on_sale, on="product_id")
        .sort("_pos", maintain_order=True)
    )
    # the order's columns by position: one gather instead of a second hash join
    frame = pl.concat(
        [keys.drop("_pos", "order_id"), orders.gather(keys.get_column("_pos"))],
        how="horizontal",
    )
    # the declared columns first, then those the export added to orders (deal_date...), in
    # the order the incremental path (conform, then local_columns) gives them
    extra = [c for c in orders.columns if c not in spec.schema]
    return frame.select(
        *(pl.col(c) if t == pl.String else pl.col(c).cast(t) for c, t in spec.schema.items()),
        *extra)


def ordered(frame: pl.DataFrame, job: Job) -> pl.DataFrame:
    """Rows read for ``job`` (a whole table or one key range) completed and in write order."""
    if job.assemble is not None:
        return assemble_lines(frame, job.assemble)  # already in order
    # one chunk first: sorting the driver's ~70 batches of 65 k rows costs a third more
    return local_columns(frame.rechunk(), job.tz).sort(list(job.sort), maintain_order=True)


def write(frame: pl.DataFrame, job: Job) -> int:
    """Rows read for ``job`` into its Parquet file; rows written."""
    return write_ordered(ordered(frame, job), job)


def write_ordered(frame: pl.DataFrame, job: Job) -> int:
    # LZ4: ~20% less CPU than zstd for a third more bytes, and faster for DuckDB to read
    frame.write_parquet(job.out, row_group_size=job.row_group, compression="lz4")
    return frame.height


def _literal(value: object) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, int | float):
        return repr(value)
    raise TypeError(f"cannot split on a value of type {type(value).__name__}")


def split_bounds(conn: Any, sql: str, key: str, parts: int) -> list[object]:
    """Values of ``key`` cutting the rows of ``sql`` into ``parts`` ranges of about equal
    rows (fewer when there are fewer rows), by SQLite's index on the key (~0.2 s at 4.6 M)."""
    bounds: list[object] = []
    with conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM ({sql})")
        total = int(cur.fetchone()[0])
        for i in range(1, parts):
            cur.execute(f"SELECT t.{key} FROM ({sql}) t WHERE t.{key} IS NOT NULL"
                        f" ORDER BY 1 LIMIT 1 OFFSET {total * i // parts}")
            row = cur.fetchone()
            if row is not None and (not bounds or row[0] != bounds[-1]):
                bounds.append(row[0])
    return bounds


def range_sql(sql: str, key: str, lo: object | None, hi: object | None) -> str:
    """Rows of ``sql`` with ``lo <= key < hi`` (NULL keys in the range without ``hi``).

    ``+`` keeps SQLite from reading the range through an index on the key: a row looked up
    per index entry is ~4x the CPU of the table scan that skips the rows outside the range.
    """
    terms = []
    if lo is not None:
        terms.append(f"+t.{key} >= {_literal(lo)}")
    if hi is not None:
        terms.append(f"+t.{key} < {_literal(hi)}")
    where = " AND ".join(terms)
    if lo is not None and hi is None:
        where = f"({where} OR t.{key} IS NULL)"
    return f"SELECT * FROM ({sql}) t" + (f" WHERE {where}" if where else "")


def order_bounds(orders: Path, parts: int) -> list[object]:
    """Order ids cutting the orders file into ``parts`` ranges of about equal orders: where
    to cut the lines completed from it (their table has no index to find quantiles by)."""
    ids = pl.read_parquet(orders, columns=["order_id"]).get_column("order_id").drop_nulls()
    ids = ids.sort()
    cuts = [ids[len(ids) * i // parts] for i in range(1, parts)] if len(ids) else []
    return list(dict.fromkeys(cuts))  # distinct, in order


def read_split(connect: Callable[[], Any], job: Job) -> pl.DataFrame:
    """``job``'s rows (SQLite, ADBC) in write order, read in ``job.parts`` ranges of its first
    sort key on as many connections and threads at once; each range is completed and sorted
    on its own thread, and the ranges follow each other in key order. Lines completed from
    the orders file are read in ranges of order ids and completed once all are read.

    The ranges are separate read transactions: a row written meanwhile may be missed or seen
    in its new state, as with the separate tables of a rebuild; its ``row_version`` brings it
    into the next incremental refresh, which replaces it by key.
    """
    if job.assemble is not None:
        key, bounds = "order_id", order_bounds(job.assemble.orders, job.parts)
    else:
        key = job.sort[0]
        with connect() as conn:
            bounds = split_bounds(conn, job.sql, key, job.parts)
    edges = [None, *bounds, None]

    def part(i: int) -> pl.DataFrame:
        with connect() as conn:
            frame = adbc_read(conn, range_sql(job.sql, key, edges[i], edges[i + 1]),
                              job.schema, True)
        return frame if job.assemble is not None else ordered(frame, job)

    with ThreadPoolExecutor(len(edges) - 1) as pool:
        frames = list(pool.map(part, range(len(edges) - 1)))
    if job.assemble is not None:
        return ordered(pl.concat(frames), job)
    return pl.concat(frames, rechunk=False)


def export_tables(db_url: str, jobs: Sequence[Job], expected_rows: int | None = None) -> list[int]:
    """Run every job (a whole table each) into its Parquet file; rows written per job.

    On SQLite, fewer than ``CHILD_MIN_ROWS`` expected rows are read in this process through
    the app's driver: starting children costs more than it saves on a small store.
    """
    kind = backend(db_url)
    if kind == "sqlite" and (expected_rows is None or expected_rows >= CHILD_MIN_ROWS):
        return _in_children(db_url, jobs)
    rows = [0] * len(jobs)
    order = [i for unit in _units(jobs) for i in unit]
    if kind == "postgresql":
        uri = _adbc_uri(db_url)
        reused = False
        try:
            with pg_connection(uri) as (conn, reused):
                for i in order:
                    rows[i] = write(adbc_read(conn, jobs[i].sql, jobs[i].schema, False),
                                    jobs[i])
        except Exception:
            if not reused:
                raise
            # A kept connection the server has dropped meanwhile: once more on a new one
            # (every job rewrites its whole file).
            with pg_connection(uri, fresh=True) as (conn, _):
                for i in order:
                    rows[i] = write(adbc_read(conn, jobs[i].sql, jobs[i].schema, False),
                                    jobs[i])
        return rows
    for i in order:
        rows[i] = write(read_frame(db_url, jobs[i].sql, jobs[i].schema), jobs[i])
    return rows


# Idle ADBC connections to PostgreSQL kept by this process, most recently used last: opening
# one costs about 0.2 s of CPU (libpq and the driver's type catalogue), more than a small
# incremental export itself. Few in all, whatever the number of databases (URLs) used.
PG_IDLE_MAX = 3
_pg_idle: OrderedDict[tuple[int, str], list[Any]] = OrderedDict()
_pg_idle_lock = threading.Lock()


@contextmanager
def pg_connection(uri: str, *, fresh: bool = False) -> Iterator[tuple[Any, bool]]:
    """(an ADBC DBAPI connection to ``uri``, whether it was kept from an earlier export).
    Given back after use with its read transaction rolled back (an idle connection holds no
    snapshot and no lock); closed instead after an error. Keyed by process too: a forked
    child never uses its parent's socket."""
    import adbc_driver_postgresql.dbapi as driver

    key = (os.getpid(), uri)
    conn = None
    if not fresh:
        with _pg_idle_lock:
            idle = _pg_idle.get(key)
            if idle:
                conn = idle.pop()
    reused = conn is not None
    if conn is None:
        conn = driver.connect(uri)
    try:
        yield conn, reused
        conn.rollback()
    except BaseException:
        _close_quietly(conn)
        raise
    evicted: list[Any] = []
    with _pg_idle_lock:
        _pg_idle.setdefault(key, []).append(conn)
        _pg_idle.move_to_end(key)
        while sum(len(v) for v in _pg_idle.values()) > PG_IDLE_MAX:
            oldest = next(iter(_pg_idle))
            evicted.append(_pg_idle[oldest].pop(0))
            if not _pg_idle[oldest]:
                del _pg_idle[oldest]
    for old in evicted:
        _close_quietly(old)


@atexit.register
def _close_idle() -> None:
    """Close the kept connections at exit, while the interpreter can still run their
    ``__del__`` (at shutdown it fails with "'NoneType' object is not callable")."""
    pid = os.getpid()  # a forked child leaves its parent's sockets alone
    with _pg_idle_lock:
        kept = [c for (owner, _uri), conns in _pg_idle.items() if owner == pid for c in conns]
        _pg_idle.clear()
    for conn in kept:
        _close_quietly(conn)


def _close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except Exception:  # already broken: nothing to give back
        log.debug("closing an ADBC connection failed", exc_info=True)


def _units(jobs: Sequence[Job]) -> list[list[int]]:
    """Job indices in groups that one process runs in order: an assembling job after the
    jobs writing its inputs."""
    by_out = {job.out: i for i, job in enumerate(jobs)}
    units: list[list[int]] = []
    for i, job in enumerate(jobs):
        if job.assemble is not None:
            units.append([by_out[job.assemble.orders], by_out[job.assemble.products], i])
    taken = {i for unit in units for i in unit}
    return units + [[i] for i in range(len(jobs)) if i not in taken]


def _request(job: Job) -> dict[str, Any]:
    """A job as JSON for an export child."""
    spec = job.assemble
    return {
        "sql": job.sql, "schema": {c: str(t) for c, t in job.schema.items()},
        "sort": list(job.sort), "out": str(job.out), "row_group": job.row_group, "tz": job.tz,
        "parts": job.parts,
        "assemble": None if spec is None else {
            "orders": str(spec.orders), "products": str(spec.products),
            "schema": {c: str(t) for c, t in spec.schema.items()},
        },
    }


def _split_large(jobs: Sequence[Job]) -> list[Job]:
    """``jobs``, those expected to be a large share of the rows (at 5 M lines: the lines, and
    traffic ~45%) marked to be read in ``SPLIT_PARTS`` key ranges at once (see the module's
    docstring): whichever child is left working at the end has both cores."""
    total = sum(job.weight for job in jobs) or 1
    return [
        dataclasses.replace(job, parts=SPLIT_PARTS)
        if (job.sort or job.assemble) and job.weight >= SPLIT_SHARE * total else job
        for job in jobs
    ]


def _in_children(db_url: str, jobs: Sequence[Job]) -> list[int]:
    """Jobs split over up to ``EXPORT_PROCESSES`` children, biggest first (SQLite reads are
    CPU-bound: two children on two cores halve a full rebuild)."""
    jobs = _split_large(jobs)
    units = _units(jobs)
    workers = max(1, min(EXPORT_PROCESSES, os.cpu_count() or 1, len(units)))
    groups: list[list[int]] = [[] for _ in range(workers)]
    load = [0] * workers
    for unit in sorted(units, key=lambda u: -sum(jobs[i].weight for i in u)):
        least = load.index(min(load))
        groups[least].extend(unit)
        load[least] += sum(jobs[i].weight for i in unit)
    uri = _adbc_uri(db_url)
    started = time.time()  # the children's clock too
    children = []
    for group in groups:
        request = {"uri": uri, "jobs": [_request(jobs[i]) for i in group]}
        child = subprocess.Popen(
            [sys.executable, "-m", "storeops.metrics.export_worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_child_env(),
        )
        # every child gets its request before any is waited for: communicate() one child at
        # a time would leave the next waiting on stdin, the children running one after another
        stdin, child.stdin = child.stdin, None  # communicate() below only reads
        assert stdin is not None
        try:
            stdin.write(json.dumps(request))
            stdin.close()
        except BrokenPipeError:
            pass  # it died before reading: communicate() below reports its error
        children.append((group, child))
    rows = [0] * len(jobs)
    failures = []
    last_child_peaks.clear()
    last_child_times.clear()
    for group, child in children:
        out, err = child.communicate()
        if child.returncode != 0:
            log.warning("analytics export child failed:\n%s", err)
            lines = err.strip().splitlines() or [f"exit status {child.returncode}"]
            failures.append(lines[-1])  # the exception itself; the traceback is in the log
            continue
        reply = json.loads(out)
        last_child_peaks.append(int(reply.get("peak_rss_mb", 0)))
        last_child_times.append((float(reply["began_at"]) - started,
                                 float(reply["finished_at"]) - started,
                                 float(reply["cpu_seconds"])))
        for i, n in zip(group, reply["rows"], strict=True):
            rows[i] = int(n)
    if failures:
        raise RuntimeError(f"analytics export failed: {failures[0]}")
    return rows


def _child_env() -> dict[str, str]:
    """This environment, with this copy of storeops first on the path (a checkout too)."""
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def read_frame(db_url: str, sql: str, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """A (small) query's rows through the app's own driver, as a frame of ``schema``."""
    from storeops.db.engine import get_engine

    with get_engine(db_url).connect() as conn:
        raw = conn.connection.dbapi_connection
        batches = [
            conform(batch, schema) for batch in pl.read_database(
                sql, raw, iter_batches=True, batch_size=DBAPI_BATCH, infer_schema_length=None,
            )
        ]
    return pl.concat(batches) if batches else pl.DataFrame(schema=schema)
