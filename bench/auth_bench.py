"""What one authentication costs: an API token, a session cookie, HTTP Basic (Argon2).

Each check runs in-process against a SQLite database with one user, in the same go as a
baseline of one trivial query through the same engine (``SELECT 1``: the floor that any check
that reads the database pays). Prints medians of ``--runs`` rounds and each check's ratio to the
baseline. Run::

    .venv/bin/python bench/auth_bench.py [--runs 5] [--n 2000] [--json]

Target: a token check and a session lookup each well under a millisecond (the API's 300
requests/s leave ~3 ms a request for everything); Basic is shown for comparison.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from storeops.accounts.sessions import session_user, start_session
from storeops.accounts.tokens import check_token, create_token
from storeops.accounts.users import create_user, login_with_password
from storeops.db.engine import get_engine, unit_of_work
from storeops.db.migrate import upgrade

PASSWORD = "bench-password-auth"  # a throwaway database in a temporary folder
TARGET_US = 1000.0


def per_call_us(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--n", type=int, default=2000, help="calls per round (Basic: n/100)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'auth.db'}"
        upgrade(url)
        with unit_of_work(url) as s:
            user = create_user(s, "bench", PASSWORD, "analyst")
            token = create_token(s, "bench", "bench")[1]
            cookie = start_session(s, user.id)
        engine = get_engine(url)

        def baseline() -> None:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1")).scalar()

        def basic() -> None:
            with unit_of_work(url) as s:
                assert login_with_password(s, "bench", PASSWORD, "127.0.0.1") is not None

        checks: dict[str, tuple[Callable[[], object], int]] = {
            "baseline SELECT 1": (baseline, args.n),
            "API token (Bearer)": (lambda: check_token(url, token), args.n),
            "session cookie": (lambda: session_user(url, cookie), args.n),
            "HTTP Basic (Argon2)": (basic, max(5, args.n // 100)),
        }
        rounds: dict[str, list[float]] = {name: [] for name in checks}
        for _ in range(max(1, args.runs)):
            for name, (fn, n) in checks.items():
                fn()  # warm
                rounds[name].append(per_call_us(fn, n))
    medians = {name: statistics.median(v) for name, v in rounds.items()}
    base = medians["baseline SELECT 1"]
    result = {name: {"median_us": round(us, 1), "ratio_to_baseline": round(us / base, 2)}
              for name, us in medians.items()}
    ok = all(medians[k] < TARGET_US for k in ("API token (Bearer)", "session cookie"))
    if args.json:
        print(json.dumps({"runs": args.runs, "n": args.n, "results": result, "pass": ok}))
    else:
        print(f"one check, median of {args.runs} rounds (SQLite, in-process)")
        for name, r in result.items():
            print(f"  {name:22s} {r['median_us']:10.1f} µs   ×{r['ratio_to_baseline']:.2f}")
        print("token and session under 1 ms:", "yes" if ok else "NO")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
