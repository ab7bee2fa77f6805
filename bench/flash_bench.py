"""Flash-sale benchmark: 100 units against 5,000 buyers through the HTTP API, Redis path.

Sets up a store on PostgreSQL (a schema of the benchmark's own, dropped afterwards; SQLite with
``--sqlite``), a user of the ``integration`` role with an API token, and per round a new SKU
with 150 units in stock and a flash sale of 100 units, one per buyer. Starts
``storeops serve --workers N --no-access-log`` with ``STOREOPS_REDIS_URL`` (Redis database 14,
a key prefix of its own, removed afterwards), then drives ``POST /api/v1/orders`` with wrk:
``--connections`` concurrent connections (default 1,000; 5,000 gives each buyer one, and
then each answer waits behind 5,000 others), each request a new
Idempotency-Key and one of 5,000 distinct buyer accounts, for ``--duration`` seconds. Every
round checks that exactly 100 orders were created and sold, that the stock never went
negative (``storeops stock check`` rules) and that reconcile agrees. Prints attempts/s (wrk's
requests/s), the server's CPU per attempt (its processes' CPU time over the answers: the
figure that holds when other work shares the machine), p50/p99 and the answers by status;
medians over ``--runs`` rounds. Once the sale is sold out, nearly every attempt is answered
by the fast lane of the route (:mod:`storeops.api.fast_lane`). Run::

    .venv/bin/python bench/flash_bench.py [--runs 3] [--duration 10] [--connections 1000]
                                         [--workers 2] [--sqlite] [--json]

Target: ≥ 2,000 attempts/s on 2 cores. Exits 1 when a check or the target fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

from load_bench import _free_port, _ms, ensure_wrk, stop_server, wait_ready

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / ".data"
STOREOPS = str(Path(sys.executable).with_name("storeops"))
PG_URL = os.environ.get("STOREOPS_TEST_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("STOREOPS_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
STORE = "秒杀店"
QUOTA, STOCK, BUYERS = 100, 150, 5000
TARGET_RPS = 2000.0


# --- the database ----------------------------------------------------------------------------

class BenchDb:
    """A fresh database: a PostgreSQL schema of its own, or a SQLite file."""

    def __init__(self, sqlite: bool) -> None:
        self.sqlite = sqlite
        if sqlite:
            self.dir = tempfile.mkdtemp(prefix="storeops-bench-")
            self.url = f"sqlite:///{self.dir}/bench.db"
        else:
            import psycopg

            self.schema = "bench_" + uuid.uuid4().hex[:10]
            with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{self.schema}"')
            sep = "&" if "?" in PG_URL else "?"
            self.url = f"{PG_URL}{sep}options=-csearch_path%3D{self.schema}"
        from storeops.db.migrate import upgrade

        upgrade(self.url)

    def drop(self) -> None:
        from storeops.db.engine import get_engine

        get_engine(self.url).dispose()
        if self.sqlite:
            import shutil

            shutil.rmtree(self.dir, ignore_errors=True)
            return
        import psycopg

        with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


def seed(url: str, *, skus: list[tuple[str, int]]) -> str:
    """The store, its SKUs with stock, an integration user; returns an API token."""
    from storeops.accounts.tokens import create_token
    from storeops.accounts.users import create_user
    from storeops.catalog.models import Product
    from storeops.catalog.stores import get_or_create_store
    from storeops.db.engine import unit_of_work
    from storeops.inventory.service import ensure_default_warehouse, receive

    with unit_of_work(url) as s:
        store, _ = get_or_create_store(s, STORE)
        ensure_default_warehouse(s, store.id)
        for sku, units in skus:
            s.add(Product(store_id=store.id, platform_sku_id=sku, title=sku, status="on_sale",
                          list_price_cents=19900))
            s.flush()
            receive(s, store.id, sku, units, actor="bench")
        create_user(s, "bench-integration", "bench-password-2026", "integration")
        return create_token(s, "bench-integration", f"bench-{uuid.uuid4().hex[:6]}")[1]


def add_sku(url: str, sku: str, units: int) -> None:
    from sqlalchemy import select

    from storeops.catalog.models import Product, Store
    from storeops.db.engine import unit_of_work
    from storeops.inventory.service import receive

    with unit_of_work(url) as s:
        store = s.scalar(select(Store).where(Store.name == STORE))
        s.add(Product(store_id=store.id, platform_sku_id=sku, title=sku, status="on_sale",
                      list_price_cents=19900))
        s.flush()
        receive(s, store.id, sku, units, actor="bench")


def new_sale(url: str, sku: str, quota: int) -> int:
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from sqlalchemy import select

    from storeops.catalog.models import Store
    from storeops.db.engine import unit_of_work
    from storeops.inventory.flash import create_flash_sale

    now = datetime.now(UTC)
    with unit_of_work(url) as s:
        store = s.scalar(select(Store).where(Store.name == STORE))
        return create_flash_sale(s, store, sku, quota, Decimal("99"), now - timedelta(
            seconds=5), now + timedelta(hours=1), per_buyer=1).id


def verify(url: str, sale_id: int, sku: str) -> dict[str, Any]:
    """What the round left: orders and sold units, stock, the ledger check, reconcile."""
    from sqlalchemy import func, select

    from storeops.catalog.models import Product
    from storeops.db.engine import unit_of_work
    from storeops.inventory import flash
    from storeops.inventory.models import FlashClaim, FlashSale, StockLevel
    from storeops.inventory.service import check
    from storeops.orders.models import Order, OrderLine

    with unit_of_work(url) as s:
        product_id = s.scalar(select(Product.id).where(Product.platform_sku_id == sku))
        orders = int(s.scalar(select(func.count(func.distinct(OrderLine.order_id))).where(
            OrderLine.product_id == product_id)) or 0)
        units = int(s.scalar(select(func.coalesce(func.sum(OrderLine.quantity), 0)).join(
            Order, Order.id == OrderLine.order_id).where(OrderLine.product_id == product_id))
            or 0)
        sold = int(s.scalar(select(FlashSale.sold).where(FlashSale.id == sale_id)) or 0)
        claims = int(s.scalar(select(func.count()).select_from(FlashClaim).where(
            FlashClaim.flash_sale_id == sale_id)) or 0)
        level = s.scalars(select(StockLevel).where(StockLevel.product_id == product_id)).all()
        on_hand = sum(lv.on_hand for lv in level)
        reserved = sum(lv.reserved for lv in level)
        problems = check(s)
        rec = flash.reconcile(s, sale_id)
    return {"orders": orders, "units": units, "sold": sold, "claims": claims,
            "on_hand": on_hand, "reserved": reserved, "available": on_hand - reserved,
            "ledger_problems": problems, "reconcile_sold": rec.sold,
            "redis_left": rec.redis_left}


# --- the server and the load -----------------------------------------------------------------

def start_server(url: str, port: int, workers: int, env: dict[str, str],
                 log_name: str) -> subprocess.Popen:
    DATA.mkdir(parents=True, exist_ok=True)
    log = open(DATA / log_name, "w")  # noqa: SIM115 (lives with the server)
    return subprocess.Popen(
        [STOREOPS, "serve", "--db", url, "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers), "--no-access-log"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, **env})


LUA = textwrap.dedent("""
    local threads = {}
    local next_id = 0
    function setup(thread)
      thread:set("id", next_id)
      next_id = next_id + 1
      table.insert(threads, thread)
    end
    function init(args)
      run = args[1]
      token = args[2]
      store = args[3]
      skus = {}
      for sku in string.gmatch(args[4], "[^,]+") do table.insert(skus, sku) end
      buyers = tonumber(args[5])
      lines = tonumber(args[6])
      counter = 0
      statuses = {}
    end
    function request()
      counter = counter + 1
      local n = counter * 16 + id
      local buyer = (n % buyers) + 1
      local parts = {}
      for i = 1, lines do
        local sku = skus[((n * 7 + i * 13) % #skus) + 1]
        parts[i] = string.format('{"sku":"%s","qty":1,"price":"199"}', sku)
      end
      local body = string.format(
        '{"store":"%s","channel_order_id":"%s-%d-%d","buyer":{"account":"buyer-%d",' ..
        '"name":"张三","phone":"13800000000","address":"上海市上海市浦东新区世纪大道100号"},' ..
        '"lines":[%s]}', store, run, id, counter, buyer, table.concat(parts, ","))
      local headers = {}
      headers["Content-Type"] = "application/json"
      headers["Authorization"] = "Bearer " .. token
      headers["Idempotency-Key"] = run .. "-" .. id .. "-" .. counter
      return wrk.format("POST", "/api/v1/orders", headers, body)
    end
    function response(status, headers, body)
      statuses[status] = (statuses[status] or 0) + 1
    end
    function done(summary, latency, requests)
      local total = {}
      for _, thread in ipairs(threads) do
        local s = thread:get("statuses")
        for code, n in pairs(s) do total[code] = (total[code] or 0) + n end
      end
      local out = {}
      for code, n in pairs(total) do table.insert(out, string.format('"%d": %d', code, n)) end
      io.write("STATUSES {" .. table.concat(out, ", ") .. "}\\n")
    end
""")


def run_wrk(wrk: str, base: str, *, token: str, run: str, skus: list[str], lines: int,
            connections: int, threads: int, seconds: float,
            buyers: int = BUYERS) -> dict[str, Any]:
    script = DATA / "channel_bench.lua"
    script.write_text(LUA)
    cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency",
           "--timeout", "30s", "-s", str(script), base + "/api/v1/orders", "--",
           run, token, STORE, ",".join(skus), str(buyers), str(lines)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
    found = re.search(r"STATUSES (\{.*\})", out)
    statuses = {int(k): v for k, v in json.loads(found.group(1)).items()} if found else {}
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return {"rps": rps, "p50_ms": _ms(latency["50"]), "p99_ms": _ms(latency["99"]),
            "requests": requests, "statuses": statuses,
            "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0}


def settle(url: str, sale_id: int, timeout: float = 180) -> float:
    """Wait until the orders that won a unit in Redis are written (wrk stops reading answers
    at the end of its run; the server finishes them): the sale's sold stops moving. Returns
    the seconds waited."""
    from sqlalchemy import select

    from storeops.db.engine import unit_of_work
    from storeops.inventory.models import FlashSale

    started = time.monotonic()
    last, stable_since = -1, time.monotonic()
    while time.monotonic() - started < timeout:
        with unit_of_work(url) as s:
            sold = int(s.scalar(select(FlashSale.sold).where(FlashSale.id == sale_id)) or 0)
        if sold != last:
            last, stable_since = sold, time.monotonic()
        elif sold >= QUOTA or time.monotonic() - stable_since > 5:
            break
        time.sleep(0.2)
    return round(time.monotonic() - started, 1)


def group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the processes of a process group (the
    server and its workers): the cost of an answer whatever else the machine runs."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the name: state, ppid, pgrp, …
            total += int(fields[11]) + int(fields[12])
    return total / tick


def raise_open_files(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


def clean_redis(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds (a new sale each)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per round")
    parser.add_argument("--connections", type=int, default=1000,
                        help="concurrent connections (5000: one per buyer)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="storeops serve --workers (default: the cores)")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    wrk = ensure_wrk()
    raise_open_files(args.connections * 2 + 1024)
    prefix = f"bench-flash-{uuid.uuid4().hex[:8]}:"
    db = BenchDb(args.sqlite)
    rounds: list[dict[str, Any]] = []
    server = None
    try:
        token = seed(db.url, skus=[("WARM", 10**6)])
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env = {"STOREOPS_REDIS_URL": REDIS_URL, "STOREOPS_REDIS_PREFIX": prefix}
        os.environ.update(env)  # reconcile in this process sees the same keys
        server = start_server(db.url, port, args.workers, env, "flash_bench_server.log")
        wait_ready(base, server)
        # warm every worker: imports, connections, the token's cached row
        warm_id = new_sale(db.url, "WARM", 10**5)
        run_wrk(wrk, base, token=token, run="warm", skus=["WARM"], lines=1,
                connections=min(64, args.connections), threads=args.threads, seconds=2)
        for n in range(max(1, args.runs)):
            sku = f"FLASH-{n + 1}"
            add_sku(db.url, sku, STOCK)
            sale_id = new_sale(db.url, sku, QUOTA)
            time.sleep(1.2)  # the workers' cached list of sales (1 s) sees the new one
            cpu = group_cpu_s(server.pid)
            result = run_wrk(wrk, base, token=token, run=f"r{n}", skus=[sku], lines=1,
                             connections=args.connections, threads=args.threads,
                             seconds=args.duration)
            answered = sum(result["statuses"].values()) or 1
            result["server_cpu_ms_per_attempt"] = round(
                (group_cpu_s(server.pid) - cpu) * 1000 / answered, 3)
            result["sell_out_s"] = settle(db.url, sale_id)
            result["check"] = verify(db.url, sale_id, sku)
            rounds.append(result)
        del warm_id
    finally:
        if server is not None:
            stop_server(server)
        try:
            clean_redis(prefix)
        finally:
            db.drop()
    ok_checks = all(
        r["check"]["orders"] == QUOTA and r["check"]["sold"] == QUOTA
        and r["check"]["units"] == QUOTA and r["check"]["available"] >= 0
        and r["check"]["reserved"] == QUOTA and not r["check"]["ledger_problems"]
        and r["check"]["reconcile_sold"] == QUOTA and r["check"]["redis_left"] == 0
        and set(r["statuses"]) <= {201, 409}
        for r in rounds)
    rps = statistics.median(r["rps"] for r in rounds)
    p50 = statistics.median(r["p50_ms"] for r in rounds)
    p99 = statistics.median(r["p99_ms"] for r in rounds)
    cpu_ms = statistics.median(r["server_cpu_ms_per_attempt"] for r in rounds)
    passed = ok_checks and rps >= TARGET_RPS
    setting = {"workers": args.workers, "connections": args.connections,
               "wrk_threads": args.threads, "duration_s": args.duration, "runs": len(rounds),
               "database": "sqlite" if args.sqlite else "postgresql", "cores": os.cpu_count(),
               "load_average": [round(x, 2) for x in os.getloadavg()]}
    if args.json:
        print(json.dumps({"setting": setting, "rounds": rounds, "attempts_per_s": rps,
                          "server_cpu_ms_per_attempt": cpu_ms, "p50_ms": p50, "p99_ms": p99,
                          "checks": ok_checks, "pass": passed},
                         ensure_ascii=False, indent=2, default=str))
        return 0 if passed else 1
    print(f"flash sale of {QUOTA} units, {BUYERS} buyers, storeops serve --workers "
          f"{args.workers} on {setting['database']} + Redis; wrk -t{args.threads} "
          f"-c{args.connections} -d{args.duration:g}s × {len(rounds)} rounds; "
          f"{os.cpu_count()} cores, load average "
          + " ".join(f"{x:.2f}" for x in setting["load_average"]))
    for i, r in enumerate(rounds, 1):
        c = r["check"]
        print(f"  round {i}: {r['rps']:,.0f} attempts/s (server CPU "
              f"{r['server_cpu_ms_per_attempt']:.2f} ms per attempt), p50 {r['p50_ms']:.1f} ms, "
              f"p99 {r['p99_ms']:.1f} ms; answers {dict(sorted(r['statuses'].items()))}, socket "
              f"errors {r['socket_errors']}; orders {c['orders']}, sold {c['sold']}, stock "
              f"on hand {c['on_hand']} reserved {c['reserved']} available {c['available']}, "
              f"ledger {'ok' if not c['ledger_problems'] else c['ledger_problems'][:3]}, "
              f"reconcile sold {c['reconcile_sold']} Redis left {c['redis_left']}; the last "
              f"orders written {r['sell_out_s']} s after wrk stopped")
    print(f"median: {rps:,.0f} attempts/s (target ≥ {TARGET_RPS:,.0f}), server CPU "
          f"{cpu_ms:.2f} ms per attempt, p50 {p50:.1f} ms, "
          f"p99 {p99:.1f} ms; exactly {QUOTA} sold, never negative: "
          f"{'yes' if ok_checks else 'NO'}")
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
