"""Import speed and memory: the Online Retail file through storeops vs. a bare load of it.

The baseline is the least any loader must do: Python's csv module reading the gzip file and
``executemany`` of its rows into a single table of 8 text columns; twice: as the benchmark
did before (the rows read into a list first, "bare (list)") and streamed from the reader
("bare (stream)", faster and stricter). The storeops import (``--mapping
examples/mappings/online_retail.yaml``) must stay within 1.5x of it, at 1x (541,909 lines)
and at 10x (the file repeated ten times: 5.4 M lines, made once in bench/.data/); its peak
memory (max RSS) must stay under 1 GB.

Every run is a child process on a fresh database; its time is measured inside the child
(start-up excluded) and its peak RSS read from the child's rusage (os.wait4). Medians are
printed, with the ratio against the baseline run in the same go. PostgreSQL: storeops
(COPY) against the bare SQLite load, at 1x.

    .venv/bin/python bench/import_bench.py [--runs N] [--scales 1,10] [--no-pg]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data" / "online_retail" / "online_retail.csv.gz"
BENCH_DATA = ROOT / "bench" / ".data"  # gitignored
MAPPING = ROOT / "examples" / "mappings" / "online_retail.yaml"
PG_URL = os.environ.get(
    "STOREOPS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
COLUMNS = 8
LIMIT_RATIO = 1.5
LIMIT_RSS_MB = 1024


def scaled_file(scale: int) -> Path:
    """The Online Retail file repeated ``scale`` times (one header), gzip level 1."""
    if scale == 1:
        return DATA
    target = BENCH_DATA / f"online_retail_x{scale}.csv.gz"
    if target.exists():
        return target
    BENCH_DATA.mkdir(parents=True, exist_ok=True)
    with gzip.open(DATA, "rb") as fh:
        header = fh.readline()
        body = fh.read()
    if not body.endswith(b"\n"):
        body += b"\n"
    partial = target.with_suffix(".partial")
    with gzip.open(partial, "wb", compresslevel=1) as out:
        out.write(header)
        for _ in range(scale):
            out.write(body)
    partial.rename(target)
    return target


# --- what a child process runs -------------------------------------------------------------

def bare_sqlite(path: Path, db: Path, as_list: bool = False) -> float:
    start = time.perf_counter()
    rows: list[list[str]] | None = None
    if as_list:
        with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            next(reader)
            rows = list(reader)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"CREATE TABLE raw ({', '.join(f'c{i} TEXT' for i in range(COLUMNS))})")
    insert = f"INSERT INTO raw VALUES ({', '.join('?' * COLUMNS)})"
    if rows is not None:
        conn.executemany(insert, rows)
    else:
        with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            next(reader)
            conn.executemany(insert, reader)
    conn.commit()
    conn.close()
    return time.perf_counter() - start


def storeops_import(url: str, path: Path) -> float:
    from storeops.db.migrate import upgrade
    from storeops.importers.service import import_file

    upgrade(url)  # schema creation is not part of the import
    start = time.perf_counter()
    summary = import_file(url, "orders", path, mapping=MAPPING, write_rejects=False)
    elapsed = time.perf_counter() - start
    assert summary.read == (summary.imported + summary.rejected + summary.excluded
                            + summary.freight)
    return elapsed


def child(kind: str, path: Path, target: str) -> None:
    if kind.startswith("bare"):
        elapsed = bare_sqlite(path, Path(target), as_list=kind == "bare-list")
    else:
        elapsed = storeops_import(target, path)
    print(f"elapsed {elapsed:.4f}")


# --- the parent ----------------------------------------------------------------------------

def run_child(kind: str, path: Path, target: str) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one run in a child process."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", kind, str(path), target],
        stdout=subprocess.PIPE, text=True,
    )
    out = proc.stdout.read() if proc.stdout else ""
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{kind} run failed (exit {proc.returncode})")
    elapsed = float(out.split("elapsed", 1)[1].split()[0])
    return elapsed, usage.ru_maxrss / 1024  # KiB on Linux


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


def drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def load_average() -> str:
    """The machine's 1-minute load average (the figures mean little on a busy machine)."""
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def fmt_runs(values: list[float]) -> str:
    return ", ".join(f"{x:.2f}" for x in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scales", default="1,10", help="comma-separated, e.g. 1,10")
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "FILE", "TARGET"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, path, target = args.child
        child(kind, Path(path), target)
        return
    if not DATA.exists():
        sys.exit(f"data file not found: {DATA}")
    sys.stdout = io.TextIOWrapper(sys.stdout.buffer, line_buffering=True)
    print(f"runs: {args.runs}; limits: {LIMIT_RATIO}x the bare load, {LIMIT_RSS_MB} MB peak RSS")
    bare_1x: float | None = None
    for scale in [int(s) for s in args.scales.split(",") if s.strip()]:
        path = scaled_file(scale)
        print(f"\n{scale}x: {path.name} ({path.stat().st_size / 1e6:.1f} MB gzip);"
              f" load average {load_average()}")
        runs: dict[str, list[tuple[float, float]]] = {"bare-list": [], "bare": [],
                                                      "storeops": []}
        for _ in range(args.runs):  # interleaved so that load changes hit every side
            folder = Path(tempfile.mkdtemp(prefix="import-bench-", dir=BENCH_DATA
                                           if BENCH_DATA.exists() else None))
            try:
                for kind in runs:
                    target = (f"sqlite:///{folder / 'storeops.db'}" if kind == "storeops"
                              else str(folder / f"{kind}.db"))
                    runs[kind].append(run_child(kind, path, target))
            finally:
                shutil.rmtree(folder, ignore_errors=True)
        med = {k: statistics.median(t for t, _ in v) for k, v in runs.items()}
        rss = {k: max(r for _, r in v) for k, v in runs.items()}
        labels = {"bare-list": "bare (list)", "bare": "bare (stream)", "storeops": "storeops"}
        for kind, label in labels.items():
            print(f"  SQLite {label:14s} {med[kind]:7.2f} s  peak RSS {rss[kind]:7.0f} MB"
                  f"   (runs {fmt_runs([t for t, _ in runs[kind]])})")
        if scale == 1:
            bare_1x = med["bare-list"]
        # each go ran the three loads one after the other: its own ratios suffer less from
        # a load that changed between goes
        per_go = [(so / bl, so / bs) for (bl, _), (bs, _), (so, _)
                  in zip(runs["bare-list"], runs["bare"], runs["storeops"], strict=True)]
        print("  ratios per go (vs list / vs stream): "
              + "; ".join(f"{a:.2f}x / {b:.2f}x" for a, b in per_go))
        print(f"  load average now {load_average()}")
        print(f"  ratio {med['storeops'] / med['bare-list']:4.2f}x vs bare (list),"
              f" {med['storeops'] / med['bare']:4.2f}x vs bare (stream) (limit {LIMIT_RATIO}x);"
              f" storeops peak RSS {rss['storeops']:.0f} MB (limit {LIMIT_RSS_MB} MB)")
    if args.no_pg or bare_1x is None:
        return
    pg = []
    for _ in range(args.runs):
        created = pg_schema()
        if created is None:
            return
        schema, url = created
        try:
            pg.append(run_child("storeops", DATA, url))
        finally:
            drop_schema(schema)
    m = statistics.median(t for t, _ in pg)
    print(f"\nPostgreSQL storeops 1x {m:6.2f} s  peak RSS {max(r for _, r in pg):.0f} MB"
          f"   (runs {fmt_runs([t for t, _ in pg])}); vs the bare (list) SQLite load"
          f" {m / bare_1x:4.2f}x")


if __name__ == "__main__":
    main()
