"""How long `storeops kpi` spends before its first analytics query (issue target: < 0.3 s).

Each run is a fresh interpreter that runs the real `storeops kpi` command on a small demo
store and stops it at its first analytics statement (``Warehouse.run``); the time printed is
from interpreter start (measured as `python -c pass` in the same go) to that statement. The
baseline is a bare interpreter that imports SQLAlchemy and DuckDB, which any KPI command
needs.

The probe patches ``Warehouse.run`` from an import hook, when the command itself imports the
warehouse: the command's modules load in the order they would without the probe.

Python's bytecode is cached for the runs (in the benchmark's temporary folder, the tree is not
touched), as an installed package has it: with ``PYTHONDONTWRITEBYTECODE`` set, every run
would otherwise compile storeops' own modules again (``--no-bytecode-cache`` measures that).

``--breakdown`` adds where the time goes: imports by package (``-X importtime``, self times)
and the command's phases (medians of the runs).

    .venv/bin/python bench/startup_bench.py --runs 9 [--breakdown]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

# Functions timed by --breakdown: module → function names (wrapped when the module loads).
PHASES = {
    "storeops.metrics.cli": ["kpi", "_open_store"],
    "storeops.metrics.warehouse": ["_database", "refresh", "open_path"],
    "storeops.metrics.service": ["kpi_summary"],
}

PROBE = r"""
import os, sys, time
t0 = time.perf_counter()
from importlib.machinery import PathFinder
MARKS = []

def stop(self, sql, params=()):
    t = time.perf_counter() - t0
    if BREAKDOWN:
        import json
        print("MARKS " + json.dumps(MARKS), file=sys.stderr)
    print(f"{t:.6f}", file=sys.stderr)
    os._exit(0)

def timed(name, fn):
    import functools
    @functools.wraps(fn)  # Typer reads the command's signature through it
    def run(*args, **kwargs):
        import threading
        where = "" if threading.current_thread() is threading.main_thread() else " (thread)"
        mark = [name + where, time.perf_counter() - t0, None]  # None: still running
        MARKS.append(mark)
        try:
            return fn(*args, **kwargs)
        finally:
            mark[2] = time.perf_counter() - t0
    return run

class Hook:
    # Patches a module when the command imports it, not before (that would change the order).
    def find_spec(self, name, path=None, target=None):
        if name not in WRAP:
            return None
        spec = PathFinder.find_spec(name, path)
        load = spec.loader.exec_module
        def exec_module(module):
            load(module)
            if BREAKDOWN:
                for fn in WRAP[name]:
                    setattr(module, fn, timed(fn, getattr(module, fn)))
            if name == "storeops.metrics.warehouse":
                module.Warehouse.run = stop
        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, Hook())
sys.argv = ["storeops", "kpi", "--from", "2026-10-01", "--to", "2026-10-31", "--db", DB, "--json"]
from storeops.cli import main
MARKS.append(["import storeops.cli", 0.0, time.perf_counter() - t0])
main()
"""

BASELINE = "import time; t0 = time.perf_counter(); import sqlalchemy, duckdb; " \
    "import sys; print(f'{time.perf_counter() - t0:.6f}', file=sys.stderr)"


def _env(tmp: str, cache: bool) -> dict[str, str]:
    env = dict(os.environ)
    if cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
    return env


def _interpreter(env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True, env=env)
    return time.perf_counter() - start


def _child(code: str, env: dict[str, str], *flags: str) -> tuple[float, str]:
    done = subprocess.run([sys.executable, *flags, "-c", code], capture_output=True,
                          text=True, env=env)
    lines = [x for x in done.stderr.strip().splitlines() if x]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"probe failed: {done.stderr[-2000:]}")
    return float(lines[-1]), done.stderr


def _imports_by_package(stderr: str) -> dict[str, float]:
    """Self time of each import, summed by top-level package (ms)."""
    total: dict[str, float] = defaultdict(float)
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _, name = (x.strip() for x in line[len("import time:"):].split("|"))
        total[name.split(".")[0]] += int(own) / 1000
    return total


def _print_breakdown(imports: list[dict[str, float]], marks: list[list[list]]) -> None:
    print("\nimports, self time by package (median of runs, -X importtime adds its own cost):")
    names = {n for run in imports for n in run}
    medians = {n: statistics.median(run.get(n, 0.0) for run in imports) for n in names}
    shown = 0.0
    for name, ms in sorted(medians.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {name:28s} {ms:7.1f} ms")
        shown += ms
    print(f"  {'(everything else)':28s} {sum(medians.values()) - shown:7.1f} ms")
    print("\nphases of the command, from interpreter start (median of runs):")
    by_name: dict[str, list[tuple[float, float | None]]] = defaultdict(list)
    for run in marks:
        for name, start, end in run:
            by_name[name].append((start, end))
    rows = sorted(by_name.items(), key=lambda kv: statistics.median(s for s, _ in kv[1]))
    for name, spans in rows:
        start = statistics.median(s for s, _ in spans) * 1000
        ended = [e - s for s, e in spans if e is not None]
        took = f"takes {statistics.median(ended) * 1000:6.1f} ms" if ended else "(at the query)"
        print(f"  {name:24s} starts {start:7.1f} ms, {took}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--breakdown", action="store_true",
                        help="also print imports by package and the command's phases")
    parser.add_argument("--no-bytecode-cache", action="store_true",
                        help="keep the environment's bytecode setting (PYTHONDONTWRITEBYTECODE"
                             " makes every run compile storeops' modules)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = _env(tmp, cache=not args.no_bytecode_cache)
        db = str(Path(tmp) / "demo.db")
        subprocess.run(
            [sys.executable, "-m", "storeops.cli", "demo", "--days", "30", "--end",
             "2026-10-31", "--seed", "7", "--no-serve", "--db", db],
            check=True, capture_output=True, env=env,
        )
        # Warm the snapshot (and the OS file cache) once, as a second command of the day would.
        subprocess.run([sys.executable, "-m", "storeops.cli", "kpi", "--from", "2026-10-01",
                        "--to", "2026-10-31", "--db", db, "--json"],
                       check=True, capture_output=True, env=env)
        probe = f"DB = {db!r}\nWRAP = {PHASES!r}\nBREAKDOWN = False\n" + PROBE
        interp, before, base = [], [], []
        for _ in range(args.runs):
            interp.append(_interpreter(env))
            before.append(_child(probe, env)[0])
            base.append(_child(BASELINE, env)[0])
        imports: list[dict[str, float]] = []
        marks: list[list[list]] = []
        if args.breakdown:
            traced = probe.replace("BREAKDOWN = False", "BREAKDOWN = True")
            for _ in range(args.runs):
                imports.append(_imports_by_package(_child(probe, env, "-X", "importtime")[1]))
                out = _child(traced, env)[1]
                line = next(x for x in out.splitlines() if x.startswith("MARKS "))
                marks.append(json.loads(line[len("MARKS "):]))
    i, b, s = (statistics.median(x) for x in (interp, before, base))
    print(f"interpreter start (python -c pass):      {i * 1000:7.1f} ms")
    print(f"storeops kpi, start to its first query:  {(i + b) * 1000:7.1f} ms  (target < 300)")
    print(f"baseline: import sqlalchemy + duckdb:    {(i + s) * 1000:7.1f} ms  "
          f"ratio {(i + b) / (i + s):.2f}x")
    print("bytecode: " + ("compiled each run (--no-bytecode-cache)" if args.no_bytecode_cache
                          else "cached, as an installed package has it"))
    if args.breakdown:
        _print_breakdown(imports, marks)


if __name__ == "__main__":
    main()
