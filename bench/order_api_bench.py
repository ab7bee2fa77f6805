"""Order API benchmark: ordinary orders created through ``POST /api/v1/orders`` on PostgreSQL.

Sets up a store on PostgreSQL (a schema of the benchmark's own, dropped afterwards) with
``--skus`` SKUs of ample stock and a user of the ``integration`` role with an API token, starts
``storeops serve --workers N --no-access-log`` and drives the API with wrk: each request a new
Idempotency-Key and order id, one of 5,000 buyers, ``--lines`` lines of SKUs spread over the
catalog, paid. Every round checks that each 201 is one order in the database with its stock
reserved (the ledger check passes). Prints orders/s, p50/p99, the server's CPU per order and
PostgreSQL's (its backends serving the server: the benchmark's connections carry an
application name of their own); medians over ``--runs`` rounds. Run::

    .venv/bin/python bench/order_api_bench.py [--runs 3] [--duration 5] [--connections 32]
                                             [--workers 2] [--skus 200] [--lines 1] [--json]

Targets: ≥ 1,000 orders/s with p99 < 100 ms. Exits 1 when a check or a target fails.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from typing import Any

from flash_bench import (
    PG_URL,
    BenchDb,
    group_cpu_s,
    raise_open_files,
    run_wrk,
    seed,
    start_server,
)
from load_bench import _free_port, ensure_wrk, stop_server, wait_ready

TARGET_RPS, TARGET_P99_MS = 1000.0, 100.0
APP_NAME = "order_api_bench"


def backend_cpu_s(url: str) -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL backend of this benchmark (by pid; the
    server's pool keeps its connections, a new one counts from 0)."""
    from pathlib import Path

    import psycopg

    with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
        pids = [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (APP_NAME,))]
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # not on this machine, or gone
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def counts(url: str) -> dict[str, Any]:
    from sqlalchemy import func, select

    from storeops.db.engine import unit_of_work
    from storeops.inventory.models import StockReservation
    from storeops.inventory.service import check
    from storeops.orders.models import ChannelRequest, Order

    with unit_of_work(url) as s:
        return {
            "orders": int(s.scalar(select(func.count()).select_from(Order)) or 0),
            "answers_201": int(s.scalar(select(func.count()).select_from(ChannelRequest).where(
                ChannelRequest.status_code == 201)) or 0),
            "reservations": int(s.scalar(select(func.count(func.distinct(
                StockReservation.order_id)))) or 0),
            "ledger_problems": check(s),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per round")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="storeops serve --workers (default: the cores)")
    parser.add_argument("--skus", type=int, default=200, help="SKUs the orders spread over")
    parser.add_argument("--lines", type=int, default=1, help="lines per order")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    wrk = ensure_wrk()
    raise_open_files(args.connections * 2 + 1024)
    db = BenchDb(args.sqlite)
    skus = [f"SKU-{i:04d}" for i in range(args.skus)]
    rounds: list[dict[str, Any]] = []
    server = None
    # PostgreSQL: the server's connections named, so that their backends' CPU can be told
    url = db.url if args.sqlite else f"{db.url}&application_name={APP_NAME}"
    try:
        token = seed(url, skus=[(sku, 10**7) for sku in skus])
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(url, port, args.workers, {}, "order_api_bench_server.log")
        wait_ready(base, server)
        run_wrk(wrk, base, token=token, run="warm", skus=skus, lines=args.lines,
                connections=args.connections, threads=args.threads, seconds=2)
        for n in range(max(1, args.runs)):
            before = counts(db.url)
            cpu = group_cpu_s(server.pid)
            pg_before = {} if args.sqlite else backend_cpu_s(url)
            result = run_wrk(wrk, base, token=token, run=f"r{n}-{uuid.uuid4().hex[:6]}",
                             skus=skus, lines=args.lines, connections=args.connections,
                             threads=args.threads, seconds=args.duration)
            time.sleep(1.0)  # what wrk left in flight
            used = group_cpu_s(server.pid) - cpu
            pg_used = None if args.sqlite else sum(
                s - pg_before.get(pid, 0.0) for pid, s in backend_cpu_s(url).items())
            after = counts(db.url)
            made = after["orders"] - before["orders"]
            result["orders_made"] = made
            result["server_cpu_ms_per_order"] = round(used * 1000 / max(made, 1), 3)
            result["postgres_cpu_ms_per_order"] = (
                None if pg_used is None else round(pg_used * 1000 / max(made, 1), 3))
            result["check"] = {
                "orders_equal_answers": after["orders"] == after["answers_201"],
                "every_order_reserved": after["reservations"] == after["orders"],
                "ledger_problems": after["ledger_problems"][:5]}
            rounds.append(result)
    finally:
        if server is not None:
            stop_server(server)
        db.drop()
    ok = all(r["check"]["orders_equal_answers"] and r["check"]["every_order_reserved"]
             and not r["check"]["ledger_problems"] and set(r["statuses"]) <= {201}
             and r["socket_errors"] == 0 for r in rounds)
    rps = statistics.median(r["rps"] for r in rounds)
    p50 = statistics.median(r["p50_ms"] for r in rounds)
    p99 = statistics.median(r["p99_ms"] for r in rounds)
    cpu_ms = statistics.median(r["server_cpu_ms_per_order"] for r in rounds)
    pg_ms = None if args.sqlite else statistics.median(
        r["postgres_cpu_ms_per_order"] for r in rounds)
    passed = ok and rps >= TARGET_RPS and p99 < TARGET_P99_MS
    setting = {"workers": args.workers, "connections": args.connections,
               "wrk_threads": args.threads, "duration_s": args.duration, "runs": len(rounds),
               "skus": args.skus, "lines": args.lines,
               "database": "sqlite" if args.sqlite else "postgresql", "cores": os.cpu_count(),
               "load_average": [round(x, 2) for x in os.getloadavg()]}
    if args.json:
        print(json.dumps({"setting": setting, "rounds": rounds, "orders_per_s": rps,
                          "p50_ms": p50, "p99_ms": p99, "server_cpu_ms_per_order": cpu_ms,
                          "postgres_cpu_ms_per_order": pg_ms,
                          "checks": ok, "pass": passed}, ensure_ascii=False, indent=2,
                         default=str))
        return 0 if passed else 1
    print(f"POST /api/v1/orders on {setting['database']}, storeops serve --workers "
          f"{args.workers}; wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s × "
          f"{len(rounds)} rounds; {args.skus} SKUs, {args.lines} line(s) per order; "
          f"{os.cpu_count()} cores, load average "
          + " ".join(f"{x:.2f}" for x in setting["load_average"]))
    for i, r in enumerate(rounds, 1):
        pg = r["postgres_cpu_ms_per_order"]
        print(f"  round {i}: {r['rps']:,.0f} orders/s, p50 {r['p50_ms']:.1f} ms, p99 "
              f"{r['p99_ms']:.1f} ms, server CPU {r['server_cpu_ms_per_order']:.2f} ms per "
              f"order{'' if pg is None else f', PostgreSQL CPU {pg:.2f} ms per order'}; "
              f"answers {dict(sorted(r['statuses'].items()))}, socket errors "
              f"{r['socket_errors']}; checks {r['check']}")
    print(f"median: {rps:,.0f} orders/s (target ≥ {TARGET_RPS:,.0f}), p50 {p50:.1f} ms, "
          f"p99 {p99:.1f} ms (target < {TARGET_P99_MS:.0f}), server CPU {cpu_ms:.2f} ms per "
          f"order{'' if pg_ms is None else f', PostgreSQL CPU {pg_ms:.2f} ms per order'}; "
          f"every answer an order with its stock: {'yes' if ok else 'NO'}")
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
