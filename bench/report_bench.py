"""Report benchmark: a weekly report (XLSX and PDF) of the demo store, built several times.

On a demo store (``storeops demo --days 365 --end 2026-10-31 --seed 7 --no-serve --db DB``,
built first if ``--db`` does not exist), times :func:`storeops.reports.service.build_report`
for the last full week of the demo (2026-W43) with its PDF, as ``storeops report weekly`` and
the Monday job run it. The first run (it builds the Parquet snapshot and loads WeasyPrint's
fonts) is printed apart; the median and the slowest of the next ``--runs`` are the figures.
Each run starts with an empty KPI cache, so every figure is computed again; the snapshot stays
(it is rebuilt only after an import). Run::

    .venv/bin/python bench/report_bench.py [--db bench/.data/report.db] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from demo_store import ensure_demo  # noqa: E402

LIMIT_SECONDS = 10.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=str(ROOT / "bench" / ".data" / "report.db"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--week", default="2026-W43")
    parser.add_argument("--lang", default="zh-CN")
    args = parser.parse_args()
    db = Path(args.db)
    ensure_demo(db)
    sys.path.insert(0, str(ROOT))

    from sqlalchemy import func, select

    from storeops.catalog.models import Product, Store
    from storeops.db.engine import unit_of_work
    from storeops.metrics import cache
    from storeops.orders.models import Order
    from storeops.reports.service import build_report

    url = f"sqlite:///{db}"
    with unit_of_work(url) as session:
        store_id = session.scalar(select(Store.id).order_by(Store.id))
        orders = session.scalar(select(func.count()).select_from(Order)
                                .where(Order.store_id == store_id))
        skus = session.scalar(select(func.count()).select_from(Product)
                              .where(Product.store_id == store_id))
    out = Path(tempfile.mkdtemp(prefix="report-bench-"))

    def build() -> float:
        cache.results.clear()  # every figure computed again
        began = time.perf_counter()
        build_report(url, store_id, "weekly", args.week, args.lang, out / "week.xlsx",
                     out / "week.pdf", built_by="bench")
        return time.perf_counter() - began

    first = build()
    times = [build() for _ in range(args.runs)]
    median = statistics.median(times)
    load = os.getloadavg()[0]
    print(f"demo store: {orders:,} orders, {skus:,} SKUs ({db})")
    print(f"weekly report {args.week} ({args.lang}), XLSX {os.path.getsize(out / 'week.xlsx'):,}"
          f" bytes + PDF {os.path.getsize(out / 'week.pdf'):,} bytes")
    print(f"first build (snapshot, fonts): {first:.2f} s")
    print(f"next {args.runs} builds: median {median:.2f} s, slowest {max(times):.2f} s, "
          f"fastest {min(times):.2f} s (load average {load:.1f} on {os.cpu_count()} CPUs)")
    print(f"limit {LIMIT_SECONDS:.0f} s: {'met' if median < LIMIT_SECONDS else 'MISSED'}")
    return 0 if median < LIMIT_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
