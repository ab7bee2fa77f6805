"""Cold overview benchmark: every figure of the overview page, computed with an empty cache.

On a demo store (``storeops demo --days 365 --end 2026-10-31 --seed 7 --no-serve --db DB``,
built first if ``--db`` does not exist), times what the overview page computes when no result
is cached yet (the first view after an import): :func:`storeops.metrics.cockpit.overview_figures`
and the month-to-date behind the target cards (:func:`storeops.metrics.targets.target_progress`).
The baseline, run in the same go, computes the same figures through the separate service calls
(comparison, trend, sources, top SKUs, month-to-date), each on its own. Both are timed for the
30-day overview (trend by day) and the 365-day one (trend by week), and the DuckDB statements
each runs are counted. Run::

    .venv/bin/python bench/overview_cold_bench.py [--db bench/.data/overview_cold.db] [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from demo_store import END, ensure_demo  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=str(ROOT / "bench" / ".data" / "overview_cold.db"))
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    db = Path(args.db)
    ensure_demo(db)
    sys.path.insert(0, str(ROOT))

    from sqlalchemy import select

    from storeops.catalog.models import Store
    from storeops.db.engine import unit_of_work
    from storeops.metrics import cache, service, warehouse
    from storeops.metrics.cockpit import overview_figures
    from storeops.metrics.periods import fitting_cut
    from storeops.metrics.targets import target_progress
    from storeops.web.views import SKU_METRICS

    url = f"sqlite:///{db}"
    with unit_of_work(url) as session:
        store_id = session.scalar(select(Store.id).order_by(Store.id))
    warehouse.open_store(url, store_id)  # the snapshot is built once, outside the timing

    statements = 0
    real_run = warehouse.Warehouse.run

    def counting_run(self: Any, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
        nonlocal statements
        statements += 1
        return real_run(self, sql, params)

    warehouse.Warehouse.run = counting_run  # type: ignore[method-assign]

    def month_to_date(last: date) -> None:
        target_progress(url, store_id, f"{last.year:04d}-{last.month:02d}", last, {})

    def overview(first: date, last: date) -> None:
        overview_figures(url, store_id, first, last, series_by=fitting_cut(first, last),
                         top=10, top_metrics=SKU_METRICS)
        month_to_date(last)

    def separate(first: date, last: date) -> None:
        """The same figures as separate service calls, each computing its own facts."""
        service.compare(url, store_id, first, last)
        service.kpi_series(url, store_id, first, last, by=fitting_cut(first, last))
        service.traffic_by_source(url, store_id, first, last)
        service.kpi_by(url, store_id, first, last, dimension="sku", limit=10,
                       metrics=list(SKU_METRICS))
        month_to_date(last)

    def timed(fn: Any, first: date, last: date) -> tuple[float, int]:
        nonlocal statements
        times, counts = [], []
        for _ in range(args.runs):
            cache.results.clear()
            statements = 0
            start = time.perf_counter()
            fn(first, last)
            times.append((time.perf_counter() - start) * 1000)
            counts.append(statements)
        return statistics.median(times), max(counts)

    print(f"cold overview, demo store {db} ({args.runs} runs, median ms)")
    for days in (30, 365):
        first = END - timedelta(days=days - 1)
        timed(overview, first, END)  # warm DuckDB's Parquet footers and plans' first touch
        base_ms, base_n = timed(separate, first, END)
        new_ms, new_n = timed(overview, first, END)
        print(f"  {days:>3}-day overview: separate calls {base_ms:7.1f} ms ({base_n} queries), "
              f"overview_figures {new_ms:7.1f} ms ({new_n} queries), "
              f"ratio {new_ms / base_ms:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
