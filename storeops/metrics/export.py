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
declared type, which is dropped again after the read.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

log = logging.getLogger(__name__)

DBAPI_BATCH = 200_000  # rows held as Python objects at a time on the DBAPI path
SQLITE_BATCH_ROWS = 65_536  # ADBC SQLite batch (and type inference window)
EXPORT_PROCESSES = 2  # children reading SQLite at once in a full rebuild
# Peak resident memory (MB) of each child of this process's last SQLite export (benchmarks).
last_child_peaks: list[int] = []
CHILD_MIN_ROWS = 200_000  # a smaller SQLite store is exported in this process
PROBE = "_probe"
# A value of each declared type for the SQLite probe row (any value will do: it is dropped).
_PROBE_VALUES: dict[str, str] = {
    "String": "''", "Date": "'2000-01-01'", "Datetime": "'2000-01-01 00:00:00'",
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
    """The query's columns (in schema order) after one probe row of the declared types."""
    values = ", ".join(
        f"{_PROBE_VALUES.get(str(dtype.base_type()), '0')} AS {name}"
        for name, dtype in schema.items()
    )
    cols = ", ".join(f"t.{name}" for name in schema)
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


def write(frame: pl.DataFrame, job: Job) -> int:
    if job.assemble is not None:
        frame = assemble_lines(frame, job.assemble)  # already in order
    else:
        # one chunk first: sorting the driver's ~70 batches of 65 k rows costs a third more
        frame = local_columns(frame.rechunk(), job.tz).sort(list(job.sort), maintain_order=True)
    # LZ4: ~20% less CPU than zstd for a third more bytes, and faster for DuckDB to read
    frame.write_parquet(job.out, row_group_size=job.row_group, compression="lz4")
    return frame.height


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
        import adbc_driver_postgresql.dbapi as driver

        with driver.connect(_adbc_uri(db_url)) as conn:
            for i in order:
                rows[i] = write(adbc_read(conn, jobs[i].sql, jobs[i].schema, False), jobs[i])
        return rows
    for i in order:
        rows[i] = write(read_frame(db_url, jobs[i].sql, jobs[i].schema), jobs[i])
    return rows


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
        "assemble": None if spec is None else {
            "orders": str(spec.orders), "products": str(spec.products),
            "schema": {c: str(t) for c, t in spec.schema.items()},
        },
    }


def _in_children(db_url: str, jobs: Sequence[Job]) -> list[int]:
    """Jobs split over up to ``EXPORT_PROCESSES`` children, biggest first (SQLite reads are
    CPU-bound: two children on two cores halve a full rebuild)."""
    units = _units(jobs)
    workers = max(1, min(EXPORT_PROCESSES, os.cpu_count() or 1, len(units)))
    groups: list[list[int]] = [[] for _ in range(workers)]
    load = [0] * workers
    for unit in sorted(units, key=lambda u: -sum(jobs[i].weight for i in u)):
        least = load.index(min(load))
        groups[least].extend(unit)
        load[least] += sum(jobs[i].weight for i in unit)
    uri = _adbc_uri(db_url)
    children = []
    for group in groups:
        request = {"uri": uri, "jobs": [_request(jobs[i]) for i in group]}
        child = subprocess.Popen(
            [sys.executable, "-m", "storeops.metrics.export_worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_child_env(),
        )
        children.append((group, child, json.dumps(request)))
    rows = [0] * len(jobs)
    failures = []
    last_child_peaks.clear()
    for group, child, request in children:
        out, err = child.communicate(request)
        if child.returncode != 0:
            log.warning("analytics export child failed:\n%s", err)
            lines = err.strip().splitlines() or [f"exit status {child.returncode}"]
            failures.append(lines[-1])  # the exception itself; the traceback is in the log
            continue
        reply = json.loads(out)
        last_child_peaks.append(int(reply.get("peak_rss_mb", 0)))
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
