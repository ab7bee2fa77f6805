"""Long schemathesis run over the whole JSON API, every check, against the real server.

Builds a demo store (``storeops demo --days N --no-serve``, cached under ``bench/.data/``),
adds an owner and an API token, starts ``storeops serve`` on a free localhost port, then runs
``schemathesis run …/api/v1/openapi.json --checks all`` with a time budget and prints what it
found. The suite runs a short version of this (tests/test_openapi.py). Run::

    .venv/bin/python bench/schemathesis_bench.py [--max-time 300] [--days 60] [--workers 2]

Exits with schemathesis's code: 0 when no check failed.

422 counts as an accepted answer to data the schema calls valid (positive_data_acceptance):
limits the schema cannot state (a period longer than its cut allows, from after to, a date
outside 1970..2099, a target with more than 15 digits) are documented 422 responses.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / ".data"
BIN = Path(sys.executable).parent
USERNAME = "fuzz-owner"
PASSWORD = "fuzz-password-1234"  # a throwaway store on 127.0.0.1 only


# `storeops serve` with the login throttle lifted: schemathesis sends thousands of wrong
# credentials from one address on purpose (the ignored_auth check), and would otherwise get
# the 429 that the throttle rightly answers after 20 of them instead of the 401 it checks for.
SERVE = (
    "import sys; import storeops.accounts.throttle as t; "
    "t.ACCOUNT_LIMIT = t.ADDRESS_LIMIT = 10**9; "
    "sys.argv[0] = 'storeops'; from storeops.cli import main; main()"
)


def _run(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(BIN / "storeops"), *args], capture_output=True, text=True,
                          env=env, check=False)
    if done.returncode != 0:
        sys.exit(f"storeops {' '.join(args)} failed: {done.stderr or done.stdout}")
    return done.stdout


def prepare(days: int) -> tuple[str, str]:
    """(database URL, API token) of a demo store with ``days`` days, built once."""
    DATA.mkdir(parents=True, exist_ok=True)
    db = DATA / f"schemathesis_{days}d.db"
    token_file = db.with_suffix(".token")
    if not db.exists() or not token_file.exists():
        for p in (db, token_file):
            p.unlink(missing_ok=True)
        _run("demo", "--days", str(days), "--end", "2026-10-31", "--seed", "7", "--no-serve",
             "--db", str(db))
        _run("user", "add", USERNAME, "--role", "owner", "--password", PASSWORD, "--db", str(db))
        out = _run("token", "create", "--user", USERNAME, "--name", "schemathesis", "--json",
                   "--db", str(db))
        token_file.write_text(json.loads(out)["token"])
    return str(db), token_file.read_text().strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(db: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVE, "serve", "--db", db,
                             "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/v1/openapi.json", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    sys.exit(f"the server did not start: {proc.stderr.read().decode() if proc.stderr else ''}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-time", type=int, default=300, help="seconds of fuzzing")
    ap.add_argument("--days", type=int, default=60, help="days of demo data")
    ap.add_argument("--workers", default="2")
    args = ap.parse_args()
    db, token = prepare(args.days)
    proc, base = serve(db)
    started = time.monotonic()
    try:
        cmd = [
            str(BIN / "schemathesis"), "--config-file", str(ROOT / "bench" / "schemathesis.toml"),
            "run", f"{base}/api/v1/openapi.json",
            "--checks", "all", "--max-time", str(args.max_time), "--workers", args.workers,
            "--header", f"Authorization: Bearer {token}",
            "--suppress-health-check", "all", "--warnings", "off",
        ]
        code = subprocess.run(cmd, check=False).returncode
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(f"schemathesis: exit {code} after {time.monotonic() - started:.0f} s "
          f"({args.max_time} s budget, {args.days}-day demo store)")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
