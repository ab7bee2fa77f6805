"""Alert benchmark: (1) how long checking the default rules takes on a big store, (2) how
often the anomaly check fires on a normal store (its false-alarm rate) at several sensitivities.

(1) A simulated store with 2,000 SKUs and two years of history (``storeops.sim``, seed 7,
730 days ending 2026-11-30: about 2,000 SKUs, ~0.6 M orders, ~0.8 M order lines) is built
once into ``--data-dir`` (default ``/tmp/storeops_alert_bench``) and reused. The timed call is
``storeops.alerts.service.check_store(db, store, as_of, dry_run=True)`` for the day after the
last simulated day, 10:00 store time; before it exists, every default rule's figures
(``storeops.alerts.figures.series`` for each rule's metric and scope, 57 days) are timed
instead. The first call (which builds the store's analytics snapshot once) is reported apart;
then the median of ``--runs`` runs, each with the figures' cache cleared (every query runs).

(2) The anomaly check (``storeops.alerts.anomaly.detect``) run day by day over the demo store
(``storeops demo --days 365 --end 2026-10-31 --seed 7``: 300 SKUs, a normal year with one
3-day 店庆 event), on store GMV and UV and on the top 50 SKUs' GMV and UV: for every day with
at least 4 same-weekday values in the 8 weeks before it, is it flagged? Printed: the share of
store-days and SKU-days flagged, for drops only (what the default rules watch) and both ways;
then the share of days on which a 40% drop of that day would have been flagged.

Run::

    .venv/bin/python bench/alert_bench.py [--runs 5] [--data-dir DIR] [--rebuild]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

# Time the queries, not the KPI result cache.
os.environ.setdefault("STOREOPS_RESULT_CACHE", "0")

BIG = {"days": 730, "end": date(2026, 11, 30), "seed": 7, "skus": 2000}
DEMO = {"days": 365, "end": date(2026, 10, 31), "seed": 7, "skus": 300}
SENSITIVITIES = (2.5, 3.0, 3.5, 4.0, 5.0)
TOP = 50


def _build(path: Path, spec: dict, rebuild: bool) -> str:
    from storeops.db.migrate import upgrade
    from storeops.sim.writer import build_demo_store

    url = f"sqlite:///{path}"
    if rebuild and path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    if path.exists():
        return url
    tmp = path.with_name(path.name + ".building")
    tmp.unlink(missing_ok=True)
    tmp_url = f"sqlite:///{tmp}"
    started = time.perf_counter()
    upgrade(tmp_url)
    stats = build_demo_store(tmp_url, **spec)
    from storeops.db.engine import get_engine

    get_engine(tmp_url).dispose()
    tmp.rename(path)
    print(f"  built {path.name} in {time.perf_counter() - started:.0f} s: {stats.products} SKUs,"
          f" {stats.orders:,} orders, {stats.order_lines:,} lines, {stats.traffic_rows:,}"
          f" traffic rows, {stats.first_day}..{stats.last_day}", flush=True)
    return url


def _as_of(spec: dict) -> datetime:
    """10:00 Asia/Shanghai the day after the last simulated day."""
    day = spec["end"] + timedelta(days=1)
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)


def _median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.0f} ms"


def bench_check(url: str, runs: int) -> None:
    from storeops.alerts import figures

    as_of = _as_of(BIG)
    try:
        from storeops.alerts.service import check_store
    except ImportError:
        check_store = None  # type: ignore[assignment]

    last: list[object] = []

    def once() -> float:
        figures.clear_cache()
        started = time.perf_counter()
        if check_store is not None:
            last[:] = [check_store(url, 1, as_of, dry_run=True)]
        else:
            _every_rule_figure(url, as_of)
        return time.perf_counter() - started

    what = ("storeops.alerts.service.check_store(dry_run=True)" if check_store is not None
            else "figures of every default rule (check_store not there yet)")
    cold = once()
    print(f"(1) {what}, {BIG['skus']:,} SKUs, {BIG['days']} days, as of {as_of.isoformat()}")
    print(f"    first call (builds the analytics snapshot once): {cold:.2f} s")
    samples = [once() for _ in range(runs)]
    print(f"    median of {runs} runs: {statistics.median(samples):.2f} s"
          f" (min {min(samples):.2f} s, max {max(samples):.2f} s; limit 5 s;"
          f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    if last:
        result = last[0]
        raised = getattr(result, "raised", [])
        print(f"    rules checked: {getattr(result, 'rules_checked', '?')}, alerts it would raise:"
              f" {len(raised)}, errors: {getattr(result, 'errors', [])}")
    if check_store is not None:
        started = time.perf_counter()
        figures.clear_cache()
        _every_rule_figure(url, as_of)
        print(f"    of which the figures alone: {time.perf_counter() - started:.2f} s")
    _per_rule(url, as_of)


def _rule_calls() -> list[tuple[str, str, dict, str, int]]:
    """(code, metric, scope, grain, points read) of every default rule."""
    try:
        from storeops.alerts.defaults import default_specs

        return [(spec.code, spec.metric, spec.scope_dict, spec.grain, spec.periods_needed())
                for spec in default_specs()]
    except ImportError:  # the rules not written yet: the figures the plans' rules need
        from storeops.alerts.defaults import DEFAULT_RULES

        return [(rule["code"], rule["metric"], rule["scope"], rule.get("grain", "daily"),
                 57 if rule.get("condition", {}).get("kind") == "anomaly" else 29)
                for rule in DEFAULT_RULES]


def _every_rule_figure(url: str, as_of: datetime) -> None:
    from storeops.alerts import figures

    for _, metric, scope, grain, periods in _rule_calls():
        figures.series(url, 1, metric, scope, grain, as_of, periods)


def _per_rule(url: str, as_of: datetime) -> None:
    from storeops.alerts import figures

    print("    figures per default rule (cache cleared first, median of 3):")
    for code, metric, scope, grain, periods in _rule_calls():
        samples = []
        for _ in range(3):
            figures.clear_cache()
            started = time.perf_counter()
            found = figures.series(url, 1, metric, scope, grain, as_of, periods)
            samples.append(time.perf_counter() - started)
        print(f"      {code:22s} {metric:16s} {periods:3d} days {len(found):5d} series"
              f"  {_median_ms(samples)}")


def bench_false_alarms(url: str) -> None:
    from storeops.alerts import figures
    from storeops.alerts.anomaly import detect
    from storeops.alerts.figures import Point

    as_of = _as_of(DEMO)
    periods = DEMO["days"]
    store = {m: figures.series(url, 1, m, {"kind": "store"}, "daily", as_of, periods)
             for m in ("gmv", "uv")}
    skus = {m: figures.series(url, 1, m, {"kind": "sku", "top": TOP}, "daily", as_of, periods)
            for m in ("gmv", "uv")}
    print(f"(2) anomaly check, day by day over the demo store ({DEMO['skus']} SKUs,"
          f" {DEMO['days']} days to {DEMO['end']}, seed {DEMO['seed']}; top {TOP} SKUs by GMV"
          " over the year)")
    print("    share of days flagged (drops only = the default rules | both directions)")
    header = "    sensitivity  " + "  ".join(f"{name:>24s}" for name in (
        "store GMV", "store UV", "SKU GMV", "SKU UV"))
    print(header)
    checked: dict[str, int] = {}
    for sensitivity in SENSITIVITIES:
        cells = []
        for name, groups in (("store GMV", store["gmv"]), ("store UV", store["uv"]),
                             ("SKU GMV", skus["gmv"]), ("SKU UV", skus["uv"])):
            down = both = n = 0
            for one in groups:
                points = one.points
                for i in range(len(points)):
                    seen = detect(points[:i + 1], sensitivity)
                    if seen.baseline is None or points[i].value is None:
                        continue
                    n += 1
                    if seen.is_anomaly:
                        both += 1
                        down += seen.direction == "down"
            checked[name] = n
            cells.append(f"{down / n:6.2%} | {both / n:6.2%} of {n:5d}" if n else "—")
        print(f"    {sensitivity:>11.1f}  " + "  ".join(f"{c:>24s}" for c in cells))
    print("    (the store's 3-day 店庆 event and the days around it are real anomalies,"
          " counted here as alarms)")
    print("    share of days on which a 40% drop of that day's figure is flagged (drops watched)")
    print("    sensitivity  " + "  ".join(f"{name:>10s}" for name in (
        "store GMV", "store UV", "SKU GMV", "SKU UV")))
    factor = Decimal("0.6")
    for sensitivity in SENSITIVITIES:
        cells = []
        for groups in (store["gmv"], store["uv"], skus["gmv"], skus["uv"]):
            caught = n = 0
            for one in groups:
                points = one.points
                for i in range(len(points)):
                    value = points[i].value
                    if value is None:
                        continue
                    dropped = [*points[:i], Point(points[i].period, value * factor)]
                    seen = detect(dropped, sensitivity, watch="down")
                    if seen.baseline is None:
                        continue
                    n += 1
                    caught += seen.is_anomaly
            cells.append(f"{caught / n:10.2%}" if n else "—")
        print(f"    {sensitivity:>11.1f}  " + "  ".join(cells))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/storeops_alert_bench"))
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--only", choices=("check", "anomaly"), default=None)
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    if args.only != "check":
        demo = _build(args.data_dir / "demo_365d_300sku.db", DEMO, args.rebuild)
        bench_false_alarms(demo)
    if args.only != "anomaly":
        big = _build(args.data_dir / "store_730d_2000sku.db", BIG, args.rebuild)
        bench_check(big, args.runs)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
