"""Child process of :func:`storeops.metrics.export.export_tables` for SQLite.

Reads a JSON request on stdin (the database path and the tables to export), reads each table
through the ADBC SQLite driver as Arrow (a large one in key ranges on several connections and
threads, :func:`storeops.metrics.export.read_split`), writes it to Parquet, and prints
``{"rows": [...], "peak_rss_mb": N, "began_at": T0, "finished_at": T1, "cpu_seconds": C}``
(the figures besides the rows are for benchmarks and tests).
It never opens the database with Python's ``sqlite3``: one copy of SQLite per process (see
:mod:`storeops.metrics.export`).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import adbc_driver_sqlite.dbapi as driver
import polars as pl

from storeops.metrics.export import Assemble, Job, adbc_read, read_split, write, write_ordered


def _dtype(name: str) -> pl.DataType:
    dtype = getattr(pl, name)
    return dtype() if isinstance(dtype, type) else dtype


def _schema(spec: dict[str, str]) -> dict[str, pl.DataType]:
    return {c: _dtype(t) for c, t in spec.items()}


def main() -> int:
    request = json.load(sys.stdin)
    began = time.time()  # the request read: the work starts
    rows = []
    uri = request["uri"]
    with driver.connect(uri) as conn:
        for job in request["jobs"]:
            lines = job.get("assemble")
            spec = Job(job["sql"], _schema(job["schema"]), job["sort"], Path(job["out"]),
                       job["row_group"], tz=job.get("tz"), assemble=None if lines is None else
                       Assemble(Path(lines["orders"]), Path(lines["products"]),
                                _schema(lines["schema"])), parts=int(job.get("parts", 1)))
            if spec.parts > 1:  # a large table: key ranges on connections of their own
                rows.append(write_ordered(read_split(lambda: driver.connect(uri), spec), spec))
            else:
                rows.append(write(adbc_read(conn, spec.sql, spec.schema, True), spec))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    json.dump({"rows": rows, "peak_rss_mb": usage.ru_maxrss // 1024,  # KiB on Linux
               "began_at": began, "finished_at": time.time(),
               "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3)}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
