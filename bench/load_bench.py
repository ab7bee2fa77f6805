"""Load benchmark: the cockpit under a team's concurrent use, against a real `storeops serve`.

Builds (once, cached under ``bench/.data/``) the 365-day demo store of the README
(``storeops demo --days 365 --end 2026-10-31 --seed 7 --no-serve``), starts
``storeops serve --workers N`` on a free 127.0.0.1 port, logs in through the login form (a
session cookie for the pages) and makes an API token (``storeops token create``; the session
cookie where that command does not exist), then drives each route with wrk (Debian's ``wrk``,
installed with apt-get when missing and running as root) at ``--connections`` concurrent
users. Each round runs the trivial ``/healthz`` of the same server first, then every route;
each route first gets a short untimed run, so that every worker process has computed its
answers once (the ``cold`` column is the very first request's time); the figures are medians
over ``--runs`` rounds, with each route's requests/s as a ratio of the
trivial endpoint's in the same round (the machine's speed divides out). The trivial endpoint's
rate is also the check that wrk is not the bottleneck: it must be several times the targets.
Run::

    .venv/bin/python bench/load_bench.py [--runs 3] [--duration 5] [--connections 8]
                                        [--workers 2] [--rebuild] [--json]

Targets: the overview ≥ 150 requests/s with p99 < 300 ms, every API KPI route ≥ 300 requests/s.
Exits 1 when a target is missed, 2 when the server cannot be started or logged into.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / ".data"
STOREOPS = str(Path(sys.executable).with_name("storeops"))
DEMO_ARGS = ["--days", "365", "--end", "2026-10-31", "--seed", "7"]
USERNAME = "admin"
PASSWORD = "bench-password-365"  # a local throwaway store on 127.0.0.1 only
TRIVIAL = "/healthz"
OVERVIEW = "/"
OVERVIEW_RPS, OVERVIEW_P99_MS, API_RPS = 150.0, 300.0, 300.0
API_ROUTES = (
    "/api/v1/kpi/summary",
    "/api/v1/kpi/series?by=day",
    "/api/v1/kpi/compare",
    "/api/v1/kpi/by/sku",
    "/api/v1/kpi/by/category",
    "/api/v1/kpi/by/source",
    "/api/v1/funnel",
    "/api/v1/traffic/sources",
    "/api/v1/targets",
)


# --- the store ---------------------------------------------------------------------------

def _generator_digest() -> str:
    """Changes with the simulator's code, so that the cached store is never stale."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((ROOT / "storeops" / "sim").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def prepare(rebuild: bool) -> str:
    """The demo store's URL (built now when missing, outdated or asked), password set."""
    from storeops.db.migrate import head_revision
    from storeops.sim.demo import prepare_demo_login

    DATA.mkdir(parents=True, exist_ok=True)
    db, marker = DATA / "load_bench_365d.db", DATA / "load_bench_365d.json"
    wanted = {"demo": DEMO_ARGS, "schema": head_revision(), "generator": _generator_digest()}
    known = json.loads(marker.read_text()) if marker.exists() and db.exists() else None
    if rebuild or known != wanted:
        for path in DATA.glob(db.name + "*"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        print("building the 365-day demo store … ", end="", flush=True)
        started = time.perf_counter()
        subprocess.run([STOREOPS, "demo", *DEMO_ARGS, "--no-serve", "--db", str(db)],
                       check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        print(f"{time.perf_counter() - started:.1f} s")
        marker.write_text(json.dumps(wanted))
    url = f"sqlite:///{db}"
    prepare_demo_login(url, PASSWORD)
    return url


# --- the server --------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(url: str, port: int, workers: int) -> subprocess.Popen:
    # Output to a file: a pipe nobody reads would block the server once full.
    log = open(DATA / "load_bench_server.log", "w")  # noqa: SIM115 (lives with the server)
    return subprocess.Popen(
        [STOREOPS, "serve", "--db", url, "--host", "127.0.0.1", "--port", str(port),
         "--workers", str(workers)],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()  # uvicorn's supervisor stops its workers
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, 9)
        server.wait()


def wait_ready(base: str, server: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited with {server.returncode}: see "
                             f"{DATA / 'load_bench_server.log'}")
        try:
            if httpx.get(base + TRIVIAL, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"server not ready after {timeout:.0f} s")


def log_in(base: str) -> str:
    """The Cookie header of a logged-in browser (the form's hidden fields sent back, as a
    browser would: a CSRF token where the form has one)."""
    with httpx.Client(base_url=base, timeout=30) as client:
        form = client.get("/login").text
        fields = dict(re.findall(
            r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form))
        fields.update({"username": USERNAME, "password": PASSWORD, "next": "/"})
        answer = client.post("/login", data=fields, headers={"Origin": base})
        if answer.status_code != 303:
            raise SystemExit(f"login failed: {answer.status_code} {answer.text[:200]}")
        return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def api_token(url: str) -> str | None:
    """A fresh API token, or None where `storeops token` does not exist yet."""
    made = subprocess.run(
        [STOREOPS, "token", "create", "--db", url, "--user", USERNAME,
         "--name", f"load-bench-{os.getpid()}-{time.time_ns()}", "--json"],
        capture_output=True, text=True, cwd=ROOT,
    )
    if made.returncode != 0:
        return None
    return json.loads(made.stdout)["token"]


# --- the load ----------------------------------------------------------------------------

def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
                       stdout=subprocess.DEVNULL)
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is missing: install Debian's wrk (apt-get install wrk)")
    return found


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)([a-z]+)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS_MS[unit]


def run_wrk(wrk: str, url: str, header: str | None, connections: int, threads: int,
            seconds: float) -> dict[str, float]:
    """Requests/s, p50/p99 in ms and failed answers of one wrk run."""
    cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--latency",
           "--timeout", "10s"]
    if header:
        cmd += ["-H", header]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       out)
    return {
        "rps": rps, "p50_ms": _ms(latency["50"]), "p99_ms": _ms(latency["99"]),
        "failed": (int(bad.group(1)) if bad else 0)
        + (sum(int(n) for n in errors.groups()) if errors else 0),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds over every route")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=8, help="concurrent users")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=min(os.cpu_count() or 1, 4),
                        help="storeops serve --workers (default: the cores, at most 4)")
    parser.add_argument("--rebuild", action="store_true", help="build the store again")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    runs = max(1, args.runs)
    wrk = ensure_wrk()
    url = prepare(args.rebuild)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(url, port, args.workers)
    try:
        wait_ready(base, server)
        cookie = f"Cookie: {log_in(base)}"
        token = api_token(url)
        api_auth = f"Authorization: Bearer {token}" if token else cookie
        plan = [(TRIVIAL, None), (OVERVIEW, cookie), *[(r, api_auth) for r in API_ROUTES]]
        cold: dict[str, float] = {}
        for path, header in plan:  # each answers 200 (and is warm) before it is timed
            name, _, value = (header or ": ").partition(": ")
            started = time.perf_counter()
            answer = httpx.get(base + path, headers={name: value} if header else {},
                               timeout=120)
            cold[path] = round((time.perf_counter() - started) * 1000, 1)
            if answer.status_code != 200:
                raise SystemExit(f"GET {path} answered {answer.status_code}: "
                                 f"{answer.text[:300]}")
        # Every worker process has its own cache: warm each with a short untimed run.
        for path, header in plan:
            run_wrk(wrk, base + path, header, args.connections, args.threads, 2)
        samples: dict[str, list[dict[str, float]]] = {path: [] for path, _ in plan}
        for _ in range(runs):
            for path, header in plan:
                result = run_wrk(wrk, base + path, header, args.connections, args.threads,
                                 args.duration)
                samples[path].append(result)
    finally:
        stop_server(server)
    trivial_rps = [s["rps"] for s in samples[TRIVIAL]]
    rows = []
    for path, _ in plan:
        runs_of = samples[path]
        rps = statistics.median(s["rps"] for s in runs_of)
        p99 = statistics.median(s["p99_ms"] for s in runs_of)
        ratio = statistics.median(s["rps"] / t for s, t in zip(runs_of, trivial_rps,
                                                                strict=True))
        failed = sum(int(s["failed"]) for s in runs_of)
        if path == OVERVIEW:
            target = f"≥ {OVERVIEW_RPS:.0f}/s, p99 < {OVERVIEW_P99_MS:.0f} ms"
            ok = rps >= OVERVIEW_RPS and p99 < OVERVIEW_P99_MS
        elif path == TRIVIAL:
            target, ok = "baseline", True
        else:
            target, ok = f"≥ {API_RPS:.0f}/s", rps >= API_RPS
        rows.append({"route": path, "rps": round(rps, 1), "ratio": round(ratio, 4),
                     "p50_ms": round(statistics.median(s["p50_ms"] for s in runs_of), 2),
                     "p99_ms": round(p99, 2), "cold_ms": cold[path], "failed": failed,
                     "target": target, "pass": ok and failed == 0,
                     "runs_rps": [round(s["rps"], 1) for s in runs_of]})
    headroom = statistics.median(trivial_rps) / max(OVERVIEW_RPS, API_RPS)
    passed = all(r["pass"] for r in rows)
    setting = {"workers": args.workers, "connections": args.connections,
               "wrk_threads": args.threads, "duration_s": args.duration, "runs": runs,
               "cores": os.cpu_count(), "api_auth": "bearer token" if token else "cookie",
               "load_average": os.getloadavg()}
    if args.json:
        print(json.dumps({"setting": setting, "routes": rows, "generator_headroom":
                          round(headroom, 1), "pass": passed}, ensure_ascii=False, indent=2))
        return 0 if passed else 1
    print(f"storeops serve --workers {args.workers}; wrk -t{args.threads} "
          f"-c{args.connections} -d{args.duration:g}s × {runs} rounds; API auth: "
          f"{setting['api_auth']}; {os.cpu_count()} cores, load average "
          + " ".join(f"{x:.2f}" for x in setting["load_average"]))
    width = max(len(r["route"]) for r in rows)
    print(f"{'route':<{width}}  {'req/s':>8}  {'ratio':>7}  {'p50 ms':>7}  {'p99 ms':>7}  "
          f"{'cold ms':>8}  target")
    for r in rows:
        print(f"{r['route']:<{width}}  {r['rps']:>8.1f}  {r['ratio']:>7.3f}  "
              f"{r['p50_ms']:>7.1f}  {r['p99_ms']:>7.1f}  {r['cold_ms']:>8.1f}  {r['target']}"
              f"{'' if r['route'] == TRIVIAL else ('  PASS' if r['pass'] else '  FAIL')}"
              + (f" ({r['failed']} failed answers)" if r["failed"] else ""))
    print(f"generator check: the trivial endpoint ran at {headroom:.1f}× the highest target "
          f"({'enough' if headroom >= 3 else 'NOT enough'} headroom: wrk is "
          f"{'not ' if headroom >= 3 else 'possibly '}the bottleneck)")
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
