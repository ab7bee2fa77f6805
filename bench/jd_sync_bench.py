"""Syncing orders from the JOS simulator: ``storeops jd sync`` of N orders (default 100,000;
issue 7's target: under 60 s), into a fresh database each run, then a re-sync of the same
orders (all unchanged).

The simulator runs in its own process (``storeops jd simulate``, its history = the N orders
over the last 3 days), as JD would; the sync talks to it over HTTP. Prints each run and the
medians, with orders/s, the CPU seconds of the sync (this process, all its threads) and of the
simulator (both run on this machine), and the load average beside them.

    .venv/bin/python bench/jd_sync_bench.py --orders 100000 --runs 3 [--pg]
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("STOREOPS_TEST_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")
KEY = "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_simulator(orders: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    exe = Path(sys.executable).with_name("storeops")
    proc = subprocess.Popen(
        [str(exe), "jd", "simulate", "--port", str(port), "--history", str(orders),
         "--orders-per-minute", "0", "--seed", "7"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "STOREOPS_LANG": "en"})
    line = proc.stdout.readline() if proc.stdout else ""
    if "routerjson" not in line:
        proc.kill()
        raise SystemExit(f"the simulator did not start: {line!r}")
    return proc, f"http://127.0.0.1:{port}/routerjson"


def simulator_cpu(proc: subprocess.Popen) -> float:
    """CPU seconds (user + system) the simulator's process has used so far (Linux)."""
    try:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed_sync(proc: subprocess.Popen, sync) -> tuple[object, str]:  # noqa: ANN001
    """``sync()`` and a note of its CPU seconds (sync, simulator) and the load average."""
    cpu0, sim0 = own_cpu(), simulator_cpu(proc)
    result = sync()
    cpu, sim = own_cpu() - cpu0, simulator_cpu(proc) - sim0
    note = (f"CPU: sync {cpu:.1f} s + simulator {sim:.1f} s; load"
            f" {os.getloadavg()[0]:.1f}")
    return result, note


def new_database(use_pg: bool, folder: Path, n: int) -> tuple[str, str | None]:
    from storeops.db.migrate import upgrade

    if not use_pg:
        url = f"sqlite:///{folder / f'bench{n}.db'}"
        upgrade(url)
        return url, None
    import psycopg

    schema = "jdbench_" + uuid.uuid4().hex[:10]
    with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    upgrade(url)
    return url, schema


def drop(url: str, schema: str | None) -> None:
    if schema is None:
        return
    import psycopg

    from storeops.db.engine import get_engine

    get_engine(url).dispose()
    with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()
    os.environ.setdefault("STOREOPS_CONNECTOR_KEY", KEY)
    from storeops.common.timeutil import utcnow
    from storeops.connectors.jd.simulator import (
        DEFAULT_ACCESS_TOKEN,
        DEFAULT_APP_KEY,
        DEFAULT_APP_SECRET,
    )
    from storeops.connectors.jd.sync import connect_store, sync_store

    started = time.perf_counter()
    proc, gateway = start_simulator(args.orders)
    print(f"simulator with {args.orders:,} orders ready in {time.perf_counter() - started:.1f} s"
          f" at {gateway}")
    first, again = [], []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in range(args.runs):
                url, schema = new_database(args.pg, Path(tmp), n)
                try:
                    connect_store(url, "bench", app_key=DEFAULT_APP_KEY,
                                  app_secret=DEFAULT_APP_SECRET,
                                  access_token=DEFAULT_ACCESS_TOKEN, gateway=gateway)
                    since = utcnow() - timedelta(days=4)
                    result, note = timed_sync(
                        proc, lambda: sync_store(url, "bench", since=since))  # noqa: B023
                    assert result.fetched == args.orders, result.as_json()
                    first.append(result.seconds)
                    print(f"run {n + 1}: first sync {result.seconds:.2f} s"
                          f" ({result.fetched / result.seconds:,.0f} orders/s; created"
                          f" {result.created:,}, skipped {result.skipped}, windows"
                          f" {result.windows}, pages {result.pages}; {note})", flush=True)
                    result, note = timed_sync(
                        proc, lambda: sync_store(url, "bench", since=since))  # noqa: B023
                    again.append(result.seconds)
                    print(f"run {n + 1}: re-sync {result.seconds:.2f} s"
                          f" ({result.fetched / result.seconds:,.0f} orders/s; unchanged"
                          f" {result.unchanged:,}; {note})", flush=True)
                finally:
                    drop(url, schema)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    backend = "PostgreSQL" if args.pg else "SQLite"
    for label, times in (("first sync", first), ("re-sync", again)):
        median = statistics.median(times)
        print(f"{backend} {label} of {args.orders:,} orders: median {median:.2f} s over"
              f" {len(times)} runs, {args.orders / median:,.0f} orders/s (target < 60 s)")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
