"""Child process of :func:`storeops.metrics.export.export_tables` for SQLite.

Reads a JSON request on stdin (the database path and the tables to export), reads each table
through the ADBC SQLite driver as Arrow, writes it to Parquet, and prints ``{"rows": [...]}``.
It never opens the database with Python's ``sqlite3``: one copy of SQLite per process (see
:mod:`storeops.metrics.export`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import adbc_driver_sqlite.dbapi as driver
import polars as pl

from storeops.metrics.export import Job, adbc_read, write


def _dtype(name: str) -> pl.DataType:
    dtype = getattr(pl, name)
    return dtype() if isinstance(dtype, type) else dtype


def main() -> int:
    request = json.load(sys.stdin)
    rows = []
    with driver.connect(request["uri"]) as conn:
        for job in request["jobs"]:
            spec = Job(job["sql"], {c: _dtype(t) for c, t in job["schema"].items()},
                       job["sort"], Path(job["out"]), job["row_group"], tz=job.get("tz"))
            rows.append(write(adbc_read(conn, spec.sql, spec.schema, True), spec))
    json.dump({"rows": rows}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
