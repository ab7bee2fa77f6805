"""Child process of :func:`storeops.metrics.export.export_tables` for SQLite.

Reads a JSON request on stdin (the database path and the tables to export), reads each table
through the ADBC SQLite driver as Arrow, writes it to Parquet, and prints
``{"rows": [...], "peak_rss_mb": N}``.
It never opens the database with Python's ``sqlite3``: one copy of SQLite per process (see
:mod:`storeops.metrics.export`).
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

import adbc_driver_sqlite.dbapi as driver
import polars as pl

from storeops.metrics.export import Assemble, Job, adbc_read, write


def _dtype(name: str) -> pl.DataType:
    dtype = getattr(pl, name)
    return dtype() if isinstance(dtype, type) else dtype


def _schema(spec: dict[str, str]) -> dict[str, pl.DataType]:
    return {c: _dtype(t) for c, t in spec.items()}


def main() -> int:
    request = json.load(sys.stdin)
    rows = []
    with driver.connect(request["uri"]) as conn:
        for job in request["jobs"]:
            lines = job.get("assemble")
            spec = Job(job["sql"], _schema(job["schema"]), job["sort"], Path(job["out"]),
                       job["row_group"], tz=job.get("tz"), assemble=None if lines is None else
                       Assemble(Path(lines["orders"]), Path(lines["products"]),
                                _schema(lines["schema"])))
            rows.append(write(adbc_read(conn, spec.sql, spec.schema, True), spec))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # KiB on Linux
    json.dump({"rows": rows, "peak_rss_mb": peak}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
