"""Pricing API benchmark: carts priced through ``POST /api/v1/price`` against a store's own
offers (from the database, cached by the API until they change).

Sets up a store on PostgreSQL (a schema of the benchmark's own, dropped afterwards; ``--sqlite``
for a SQLite file) with ``--promotions`` live promotions (direct cuts, flash sales, member
prices, multi-buy, 满减 with tiers and 每满, 满折) over ``--skus`` SKUs, ``--coupons`` shop and
platform coupons and a points rule, and a user of the ``integration`` role with an API token;
starts ``storeops serve --workers N --no-access-log`` and drives the API with wrk: each request
a cart of ``--lines`` lines spread over the SKUs. Before timing, one cart's answer is checked
against the engine in process. Prints carts/s, p50/p99 and the server's CPU per cart (the
machine may be busy with other work: CPU per cart is the figure that does not depend on it);
medians over ``--runs`` rounds. Run::

    .venv/bin/python bench/price_api_bench.py [--runs 3] [--duration 5] [--connections 32]
                                             [--workers 2] [--lines 5] [--promotions 100]
                                             [--coupons 10] [--sqlite] [--json]

Target: ≥ 500 carts/s. Exits 1 when a check or the target fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import textwrap
import time
from decimal import Decimal
from typing import Any

import flash_bench
from flash_bench import (
    STORE,
    BenchDb,
    group_cpu_s,
    raise_open_files,
    seed,
    start_server,
)
from load_bench import _free_port, ensure_wrk, stop_server, wait_ready

TARGET_RPS = 500.0


def offers_file(skus: list[str], promotions: int, coupons: int) -> dict[str, Any]:
    """A promotions file's content: a mix of every discounting kind over the SKUs; each SKU in
    at most 3 cross-item promotions (the engine's exact search covers 4)."""
    promos: list[dict[str, Any]] = []
    n = len(skus)
    for i in range(promotions):
        group = [skus[(i * 7 + j) % n] for j in range(8)]
        kind = i % 6
        if kind == 0:
            promos.append({"id": f"D{i}", "kind": "direct", "skus": group[:3],
                           "percent": 5 + i % 20})
        elif kind == 1:
            promos.append({"id": f"F{i}", "kind": "flash_sale", "skus": group[:1],
                           "price": "99.00", "per_order_limit": 1, "quota": 1000})
        elif kind == 2:
            promos.append({"id": f"M{i}", "kind": "member_price", "skus": group[:4],
                           "member_prices": {"plus": "150.00"}})
        elif kind == 3:
            promos.append({"id": f"MB{i}", "kind": "multi_buy", "skus": group,
                           "tiers": [{"qty": 2, "percent": 10}, {"qty": 3, "percent": 20}]})
        elif kind == 4:
            promos.append({"id": f"MJ{i}", "kind": "full_reduction", "skus": group,
                           "tiers": [{"threshold": 199, "off": 20}, {"threshold": 399, "off": 50}]}
                          if i % 12 == 4 else
                          {"id": f"MJ{i}", "kind": "full_reduction", "skus": group,
                           "tiers": [{"threshold": 100, "off": 10}], "repeat": True, "cap": 60})
        else:
            promos.append({"id": f"FD{i}", "kind": "full_discount", "skus": group,
                           "tiers": [{"threshold": 300, "percent": 5}]})
    coupon_list = [{"id": f"C{i}", "scope": "shop" if i % 2 else "platform",
                    "threshold": str(100 * (1 + i % 5)), "off": str(10 * (1 + i % 5))}
                   for i in range(coupons)]
    return {"promotions": promos, "coupons": coupon_list,
            "points": {"balance": 2000, "rate": 100, "max_share": "0.1"}}


def store_offers_rows(url: str, data: dict[str, Any]) -> None:
    """The file's entries as live rows of the store (as an import and launch would leave)."""
    from sqlalchemy import select

    from storeops.catalog.models import Store
    from storeops.db.engine import unit_of_work
    from storeops.pricing import spec
    from storeops.pricing.models import PromotionRecord

    offers = spec.parse_offers(data, "bench")  # checked as a file would be
    with unit_of_work(url) as s:
        store_id = s.scalar(select(Store.id).where(Store.name == STORE))
        for p in offers.promotions:
            s.add(PromotionRecord(store_id=store_id, code=p.id, kind=p.kind.value,
                                  status="live", version=1,
                                  spec_json=json.dumps(spec.promotion_to_dict(p))))
        for c in offers.coupons:
            s.add(PromotionRecord(store_id=store_id, code=c.id, kind="coupon", status="live",
                                  version=1, spec_json=json.dumps(spec.coupon_to_dict(c))))
        if offers.points is not None:
            s.add(PromotionRecord(store_id=store_id, code="points", kind="points",
                                  status="live", version=1,
                                  spec_json=json.dumps(spec.points_to_dict(offers.points))))


def cart(skus: list[str], n: int, lines: int) -> dict[str, Any]:
    """The n-th cart: the same lines the Lua script makes for its n."""
    return {"lines": [{"sku": skus[(n * 7 + i * 13) % len(skus)], "qty": 1 + (n + i) % 3,
                       "price": "199.00"} for i in range(1, lines + 1)],
            "member_tier": "plus" if n % 2 else None}


def check_answer(base: str, token: str, url: str, skus: list[str], lines: int,
                 data: dict[str, Any]) -> bool:
    """One cart through the API equals the engine's answer in process."""
    import httpx

    from storeops.pricing import spec
    from storeops.pricing.engine import price_cart

    body = cart(skus, 12345, lines)
    r = httpx.post(base + "/api/v1/price", json={"store": STORE, "cart": body},
                   headers={"Authorization": f"Bearer {token}"}, timeout=30)
    if r.status_code != 200:
        print(f"check: HTTP {r.status_code}: {r.text[:300]}", file=sys.stderr)
        return False
    mine = spec.result_to_json(price_cart(spec.parse_cart(body), spec.parse_offers(data),
                                          None))
    got = r.json()
    same = (got["payable"], got["applied"]) == (mine["payable"], mine["applied"])
    if not same:
        print(f"check: API {got['payable']} {got['applied']} != engine {mine['payable']} "
              f"{mine['applied']}", file=sys.stderr)
    return same and Decimal(got["payable"]) <= Decimal(got["goods_total"])


# flash_bench's wrk script (threads, status counts) with a request of its own: a cart of
# ``lines`` lines (args: run, token, store, skus, buyers, lines; run and buyers unused).
REQUEST = textwrap.dedent("""
    function request()
      counter = counter + 1
      local n = counter * 16 + id
      local parts = {}
      for i = 1, lines do
        local sku = skus[((n * 7 + i * 13) % #skus) + 1]
        parts[i] = string.format('{"sku":"%s","qty":%d,"price":"199.00"}', sku,
                                 1 + (n + i) % 3)
      end
      local tier = "null"
      if n % 2 == 1 then tier = '"plus"' end
      local body = string.format('{"store":"%s","cart":{"lines":[%s],"member_tier":%s}}',
                                 store, table.concat(parts, ","), tier)
      local headers = {}
      headers["Content-Type"] = "application/json"
      headers["Authorization"] = "Bearer " .. token
      return wrk.format("POST", "/api/v1/price", headers, body)
    end
""")


def run_wrk(wrk: str, base: str, *, token: str, skus: list[str], lines: int,
            connections: int, threads: int, seconds: float) -> dict[str, Any]:
    """flash_bench.run_wrk (its output parsing) with the cart request in its script."""
    own = re.sub(r"\nfunction request\(\).*?\nend\n", lambda _: REQUEST, flash_bench.LUA,
                 flags=re.S)
    assert "/api/v1/price" in own, "flash_bench's script changed shape"
    saved, flash_bench.LUA = flash_bench.LUA, own
    try:
        return flash_bench.run_wrk(wrk, base, token=token, run="price", skus=skus, lines=lines,
                                   connections=connections, threads=threads, seconds=seconds)
    finally:
        flash_bench.LUA = saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per round")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="storeops serve --workers (default: the cores)")
    parser.add_argument("--skus", type=int, default=200, help="SKUs the carts spread over")
    parser.add_argument("--lines", type=int, default=5, help="lines per cart")
    parser.add_argument("--promotions", type=int, default=100, help="live promotions")
    parser.add_argument("--coupons", type=int, default=10, help="live coupons")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    wrk = ensure_wrk()
    raise_open_files(args.connections * 2 + 1024)
    db = BenchDb(args.sqlite)
    skus = [f"SKU-{i:04d}" for i in range(args.skus)]
    data = offers_file(skus, args.promotions, args.coupons)
    rounds: list[dict[str, Any]] = []
    server = None
    checked = False
    try:
        token = seed(db.url, skus=[])
        store_offers_rows(db.url, data)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_server(db.url, port, args.workers, {}, "price_api_bench_server.log")
        wait_ready(base, server)
        checked = check_answer(base, token, db.url, skus, args.lines, data)
        run_wrk(wrk, base, token=token, skus=skus, lines=args.lines,
                connections=args.connections, threads=args.threads, seconds=2)
        for _ in range(max(1, args.runs)):
            cpu = group_cpu_s(server.pid)
            result = run_wrk(wrk, base, token=token, skus=skus, lines=args.lines,
                             connections=args.connections, threads=args.threads,
                             seconds=args.duration)
            time.sleep(0.5)  # what wrk left in flight
            used = group_cpu_s(server.pid) - cpu
            result["server_cpu_ms_per_cart"] = round(used * 1000 / max(result["requests"], 1),
                                                     3)
            rounds.append(result)
    finally:
        if server is not None:
            stop_server(server)
        db.drop()
    ok = checked and all(set(r["statuses"]) <= {200} and r["socket_errors"] == 0
                         for r in rounds)
    rps = statistics.median(r["rps"] for r in rounds)
    p50 = statistics.median(r["p50_ms"] for r in rounds)
    p99 = statistics.median(r["p99_ms"] for r in rounds)
    cpu_ms = statistics.median(r["server_cpu_ms_per_cart"] for r in rounds)
    passed = ok and rps >= TARGET_RPS
    setting = {"workers": args.workers, "connections": args.connections,
               "wrk_threads": args.threads, "duration_s": args.duration, "runs": len(rounds),
               "skus": args.skus, "lines": args.lines, "promotions": args.promotions,
               "coupons": args.coupons,
               "database": "sqlite" if args.sqlite else "postgresql", "cores": os.cpu_count(),
               "load_average": [round(x, 2) for x in os.getloadavg()]}
    if args.json:
        print(json.dumps({"setting": setting, "rounds": rounds, "carts_per_s": rps,
                          "p50_ms": p50, "p99_ms": p99, "server_cpu_ms_per_cart": cpu_ms,
                          "checks": ok, "pass": passed}, ensure_ascii=False, indent=2))
        return 0 if passed else 1
    print(f"POST /api/v1/price on {setting['database']}, storeops serve --workers "
          f"{args.workers}; wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s × "
          f"{len(rounds)} rounds; {args.lines}-line carts over {args.skus} SKUs, "
          f"{args.promotions} live promotions, {args.coupons} coupons, points; "
          f"{os.cpu_count()} cores, load average "
          + " ".join(f"{x:.2f}" for x in setting["load_average"]))
    for i, r in enumerate(rounds, 1):
        print(f"  round {i}: {r['rps']:,.0f} carts/s, p50 {r['p50_ms']:.1f} ms, p99 "
              f"{r['p99_ms']:.1f} ms, server CPU {r['server_cpu_ms_per_cart']:.2f} ms per "
              f"cart; answers {dict(sorted(r['statuses'].items()))}, socket errors "
              f"{r['socket_errors']}")
    print(f"median: {rps:,.0f} carts/s (target ≥ {TARGET_RPS:,.0f}), p50 {p50:.1f} ms, "
          f"p99 {p99:.1f} ms, server CPU {cpu_ms:.2f} ms per cart; the API's answer equals "
          f"the engine's: {'yes' if checked else 'NO'}")
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
