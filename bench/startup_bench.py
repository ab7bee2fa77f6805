"""How long `storeops kpi` spends before its first analytics query (issue target: < 0.3 s).

Each run is a fresh interpreter that runs the real `storeops kpi` command on a small demo
store and stops it at its first analytics statement (``Warehouse.run``); the time printed is
from interpreter start (measured as `python -c pass` in the same go) to that statement. The
baseline is a bare interpreter that imports SQLAlchemy and DuckDB, which any KPI command
needs.

    .venv/bin/python bench/startup_bench.py --runs 9
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROBE = r"""
import os, sys, time
t0 = time.perf_counter()
from storeops.metrics import warehouse
def stop(self, sql, params=()):
    print(f"{time.perf_counter() - t0:.6f}", file=sys.stderr)
    os._exit(0)
warehouse.Warehouse.run = stop
sys.argv = ["storeops", "kpi", "--from", "2026-10-01", "--to", "2026-10-31", "--db", DB, "--json"]
from storeops.cli import main
main()
"""

BASELINE = "import time; t0 = time.perf_counter(); import sqlalchemy, duckdb; " \
    "import sys; print(f'{time.perf_counter() - t0:.6f}', file=sys.stderr)"


def _interpreter() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - start


def _child(code: str) -> float:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    lines = [x for x in done.stderr.strip().splitlines() if x]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"probe failed: {done.stderr[-2000:]}")
    return float(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "demo.db")
        subprocess.run(
            [sys.executable, "-m", "storeops.cli", "demo", "--days", "30", "--end",
             "2026-10-31", "--seed", "7", "--no-serve", "--db", db],
            check=True, capture_output=True,
        )
        # Warm the snapshot (and the OS file cache) once, as a second command of the day would.
        subprocess.run([sys.executable, "-m", "storeops.cli", "kpi", "--from", "2026-10-01",
                        "--to", "2026-10-31", "--db", db, "--json"],
                       check=True, capture_output=True)
        probe = f"DB = {db!r}\n" + PROBE
        interp, before, base = [], [], []
        for _ in range(args.runs):
            interp.append(_interpreter())
            before.append(_child(probe))
            base.append(_child(BASELINE))
    i, b, s = (statistics.median(x) for x in (interp, before, base))
    print(f"interpreter start (python -c pass):      {i * 1000:7.1f} ms")
    print(f"storeops kpi, start to its first query:  {(i + b) * 1000:7.1f} ms  (target < 300)")
    print(f"baseline: import sqlalchemy + duckdb:    {(i + s) * 1000:7.1f} ms  "
          f"ratio {(i + b) / (i + s):.2f}x")


if __name__ == "__main__":
    main()
