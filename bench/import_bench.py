"""Import speed: the Online Retail file through storeops vs. a bare load of the same file.

The baseline is the least any loader must do: Python's csv module reading the gzip file and
one ``executemany`` of all rows into a single table of 8 text columns. The storeops import
(``--mapping examples/mappings/online_retail.yaml``) must stay within 4x of it, on SQLite and
on PostgreSQL. Each side runs ``--runs`` times on a fresh database; medians are printed.

    .venv/bin/python bench/import_bench.py [--runs N] [--file PATH]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data" / "online_retail" / "online_retail.csv.gz"
MAPPING = ROOT / "examples" / "mappings" / "online_retail.yaml"
PG_URL = os.environ.get(
    "STOREOPS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
COLUMNS = 8


def read_rows(path: Path) -> list[list[str]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        return list(reader)


def baseline_sqlite(path: Path, folder: Path) -> float:
    db = folder / f"base-{uuid.uuid4().hex}.db"
    start = time.perf_counter()
    rows = read_rows(path)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"CREATE TABLE raw ({', '.join(f'c{i} TEXT' for i in range(COLUMNS))})")
    conn.executemany(f"INSERT INTO raw VALUES ({', '.join('?' * COLUMNS)})", rows)
    conn.commit()
    conn.close()
    return time.perf_counter() - start


def baseline_pg(path: Path, schema: str) -> float:
    import psycopg

    start = time.perf_counter()
    rows = read_rows(path)
    with psycopg.connect(PG_URL.replace("+psycopg", "")) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute(f"CREATE TABLE raw ({', '.join(f'c{i} TEXT' for i in range(COLUMNS))})")
        with conn.cursor() as cur:
            cur.executemany(f"INSERT INTO raw VALUES ({', '.join(['%s'] * COLUMNS)})", rows)
        conn.commit()
    return time.perf_counter() - start


def storeops_import(url: str, path: Path) -> float:
    from storeops.db.migrate import upgrade
    from storeops.importers.service import import_file

    upgrade(url)  # schema creation is not part of the import
    start = time.perf_counter()
    summary = import_file(url, "orders", path, mapping=MAPPING, write_rejects=False)
    elapsed = time.perf_counter() - start
    assert summary.read == summary.imported + summary.rejected
    return elapsed


def pg_schema() -> tuple[str, str] | None:
    try:
        import psycopg

        schema = "bench_" + uuid.uuid4().hex[:10]
        with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True,
                             connect_timeout=3) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except Exception as exc:  # noqa: BLE001 - any failure: no server to run on
        print(f"PostgreSQL skipped: not reachable at {PG_URL} ({exc})")
        return None
    sep = "&" if "?" in PG_URL else "?"
    return schema, f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def drop_schema(schema: str, url: str) -> None:
    import psycopg

    from storeops.db.engine import get_engine

    get_engine(url).dispose()
    get_engine.cache_clear()
    with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def report(name: str, base: list[float], mine: list[float]) -> None:
    b, m = statistics.median(base), statistics.median(mine)
    print(f"{name:10s} baseline {b:6.2f} s   storeops {m:6.2f} s   ratio {m / b:4.2f}x"
          f"   (runs: baseline {', '.join(f'{x:.2f}' for x in base)};"
          f" storeops {', '.join(f'{x:.2f}' for x in mine)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--file", type=Path, default=DATA)
    args = parser.parse_args()
    path: Path = args.file
    if not path.exists():
        sys.exit(f"data file not found: {path}")
    sys.stdout = io.TextIOWrapper(sys.stdout.buffer, line_buffering=True)
    print(f"file: {path} ({path.stat().st_size / 1e6:.1f} MB), runs: {args.runs}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base, mine = [], []
        for i in range(args.runs):  # interleaved so that load changes hit both sides
            base.append(baseline_sqlite(path, folder))
            mine.append(storeops_import(f"sqlite:///{folder / f'storeops-{i}.db'}", path))
        report("SQLite", base, mine)
    sqlite_base = statistics.median(base)
    base, mine = [], []
    for _ in range(args.runs):
        created = pg_schema()
        if created is None:
            return
        schema, url = created
        try:
            base.append(baseline_pg(path, schema))
            mine.append(storeops_import(url, path))
        finally:
            drop_schema(schema, url)
    report("PostgreSQL", base, mine)
    # The bound is 4x the bare SQLite load for both backends.
    print(f"PostgreSQL storeops vs the bare SQLite load: "
          f"{statistics.median(mine) / sqlite_base:4.2f}x (limit 4x)")


if __name__ == "__main__":
    main()
