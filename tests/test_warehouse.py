"""The analytics warehouse: a Parquet base plus an incremental delta, published atomically.

Writers stamp the rows they change with the store's new data_version (row_version); a refresh
exports only those. The incremental snapshot must show exactly what a full rebuild shows.
"""

from __future__ import annotations

import json
import threading
from datetime import date, datetime
from decimal import Decimal
from itertools import count
from pathlib import Path

import pytest
from sqlalchemy import delete, select
from test_metric_facts import Facts

from storeops.aftersales.models import Refund
from storeops.catalog.models import Product
from storeops.catalog.stores import StoreError, bump_data_version
from storeops.common.timeutil import local_date, localize
from storeops.db.engine import unit_of_work
from storeops.metrics import export, service, snapshots, warehouse
from storeops.metrics.models import TrafficDaily
from storeops.orders.models import Order, OrderLine

JAN = (date(2024, 1, 1), date(2024, 1, 31))
_ids = count(1)


@pytest.fixture(autouse=True)
def _warehouse_in_tmp(tmp_path, monkeypatch):  # noqa: ANN001, ANN202
    monkeypatch.setenv("STOREOPS_WAREHOUSE_DIR", str(tmp_path / "wh"))


def _gmv(f: Facts) -> Decimal:
    return service.kpi_summary(f.db_url, f.store_id, *JAN)["gmv"]


class Writer:
    """Writes as importers must: bump the store's version, stamp changed rows with it."""

    def __init__(self, f: Facts) -> None:
        self.f = f

    def order(self, when: str, lines: list[tuple[int, int, int]], *, status: str = "finished",
              source: str | None = "app", customer: int | None = None) -> int:
        placed = localize(datetime.fromisoformat(when), self.f.tz)
        with unit_of_work(self.f.db_url) as s:
            version = bump_data_version(s, self.f.store_id)
            order = Order(
                store_id=self.f.store_id, platform_order_id=f"W{next(_ids)}", status=status,
                customer_id=customer, placed_at=placed, placed_date=local_date(placed, self.f.tz),
                paid_at=placed, goods_cents=sum(c for _, _, c in lines), source=source,
                content_hash="w", row_version=version,
            )
            s.add(order)
            s.flush()
            self._lines(s, order.id, lines)
            return order.id

    def _lines(self, s, order_id: int, lines: list[tuple[int, int, int]]) -> None:  # noqa: ANN001
        for i, (product, qty, cents) in enumerate(lines, 1):
            s.add(OrderLine(order_id=order_id, store_id=self.f.store_id, line_no=i,
                            product_id=product, quantity=qty, unit_price_e4=0, amount_cents=cents))

    def replace_order(self, order_id: int, lines: list[tuple[int, int, int]], *,
                      status: str | None = None, source: str | None = None) -> None:
        """A later export of the order: new status, its lines replaced as a whole."""
        with unit_of_work(self.f.db_url) as s:
            version = bump_data_version(s, self.f.store_id)
            order = s.get(Order, order_id)
            order.row_version = version
            if status is not None:
                order.status = status
            if source is not None:
                order.source = source
            s.execute(delete(OrderLine).where(OrderLine.order_id == order_id))
            s.flush()
            self._lines(s, order_id, lines)

    def refund(self, when: str, cents: int, *, order: int | None = None,
               product: int | None = None) -> int:
        at = localize(datetime.fromisoformat(when), self.f.tz)
        with unit_of_work(self.f.db_url) as s:
            version = bump_data_version(s, self.f.store_id)
            refund = Refund(
                store_id=self.f.store_id, platform_refund_id=f"WR{next(_ids)}", order_id=order,
                product_id=product, amount_cents=cents, refunded_at=at,
                refund_date=local_date(at, self.f.tz), row_version=version,
            )
            s.add(refund)
            s.flush()
            return refund.id

    def traffic(self, day: str, product: int, uv: int, source: str = "search") -> None:
        with unit_of_work(self.f.db_url) as s:
            version = bump_data_version(s, self.f.store_id)
            row = s.scalar(select(TrafficDaily).where(
                TrafficDaily.store_id == self.f.store_id, TrafficDaily.product_id == product,
                TrafficDaily.day == date.fromisoformat(day), TrafficDaily.source == source))
            if row is None:
                row = TrafficDaily(store_id=self.f.store_id, day=date.fromisoformat(day),
                                   product_id=product, source=source)
                s.add(row)
            row.uv, row.pv, row.row_version = uv, uv * 2, version

    def product_status(self, product: int, status: str) -> None:
        with unit_of_work(self.f.db_url) as s:
            version = bump_data_version(s, self.f.store_id)
            row = s.get(Product, product)
            row.status, row.row_version = status, version


def _contents(db_url: str, store_id: int) -> dict[str, list[tuple]]:
    """Every row of every table as the views show them, in a canonical order."""
    wh = warehouse.open_store(db_url, store_id)
    return {
        name: sorted(wh.run(f"SELECT * FROM {{{name}}}"), key=repr)
        for name in warehouse.TABLES
    }


def _full_contents(db_url: str, store_id: int) -> dict[str, list[tuple]]:
    warehouse.refresh(db_url, store_id, force=True)
    return _contents(db_url, store_id)


def _store(db_url: str) -> tuple[Facts, Writer, list[int]]:
    f = Facts(db_url)
    products = [f.product("P1"), f.product("P2", category="other"), f.product("P3")]
    c = f.customer("alice")
    f.order("2024-01-05 10:00", [(products[0], 1, 1000), (products[1], 2, 500)], customer=c)
    f.order("2024-01-06 10:00", [(products[2], 1, 700)], source=None)
    f.refund("2024-01-07 09:00", 200, product=products[0])
    f.traffic("2024-01-05", products[0], uv=100)
    f.ad("2024-01-05", 3000, 9000)
    return f, Writer(f), products


def test_snapshot_reused_until_data_version_moves(db_url: str) -> None:
    f = Facts(db_url)
    p = f.product("P")
    f.order("2024-01-05 10:00", [(p, 1, 1000)])
    first = warehouse.refresh(db_url, f.store_id)
    assert warehouse.refresh(db_url, f.store_id) == first
    assert first.rows["lines"] == 1 and first.rows["products"] == 1
    manifest = json.loads((first.path.parent / "manifest.json").read_text())
    assert manifest["snapshot"] == first.path.name
    assert manifest["schema_version"] == warehouse.SCHEMA_VERSION
    assert _gmv(f) == Decimal("10.00")

    f.order("2024-01-06 10:00", [(p, 1, 2500)])  # bumps the data version
    assert _gmv(f) == Decimal("35.00")
    second = warehouse.refresh(db_url, f.store_id)
    assert second.data_version > first.data_version


def test_incremental_refresh_equals_full_rebuild(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inserts, an order updated (lines replaced), refunds, traffic, a SKU going off sale.

    Full rebuilds here take the big-store path (SQLite: ADBC in child processes), deltas the
    app's driver: both must give the same rows and types.
    """
    monkeypatch.setattr(export, "CHILD_MIN_ROWS", 0)
    f, w, (p1, p2, p3) = _store(db_url)
    base = warehouse.refresh(db_url, f.store_id)
    assert base.delta is None

    new = w.order("2024-01-08 10:00", [(p1, 3, 3000)])
    w.refund("2024-01-08 12:00", 500, order=new, product=p1)
    snap = warehouse.refresh(db_url, f.store_id)
    assert snap.path == base.path and snap.delta is not None  # incremental, not rebuilt
    assert snap.rows["orders"] == 3 and snap.rows["lines"] == 4 and snap.rows["refunds"] == 2
    assert _gmv(f) == Decimal("52.00")  # 15 + 7 of the base, 30 new

    # The first order comes again with one line less and cancelled; the new one changes source.
    first_order = min(r[0] for r in _contents(db_url, f.store_id)["orders"])
    w.replace_order(first_order, [(p2, 1, 400)], status="cancelled")
    w.replace_order(new, [(p1, 2, 2000), (p3, 1, 100)], source="pc")
    w.traffic("2024-01-05", p1, uv=150)  # a day of traffic restated
    w.traffic("2024-01-09", p2, uv=40)
    w.product_status(p3, "off_shelf")  # lines carry the SKU's status: its orders re-exported
    incremental = _contents(db_url, f.store_id)
    snap = warehouse.refresh(db_url, f.store_id)
    assert snap.path == base.path and snap.delta is not None
    assert incremental == _full_contents(db_url, f.store_id)
    by_order = {r[0]: r for r in incremental["lines"]}
    assert first_order in by_order and len(incremental["lines"]) == 4
    summary = service.kpi_summary(db_url, f.store_id, *JAN)
    assert summary["uv"] == 190


def test_delta_merges_over_several_refreshes(db_url: str) -> None:
    f, w, (p1, _, _) = _store(db_url)
    warehouse.refresh(db_url, f.store_id)
    ids = []
    for day in range(10, 15):
        ids.append(w.order(f"2024-01-{day} 10:00", [(p1, 1, 100 * day)]))
        snap = warehouse.refresh(db_url, f.store_id)
        assert snap.delta is not None
    w.replace_order(ids[0], [(p1, 1, 1)])  # changed again after it reached the delta
    snap = warehouse.refresh(db_url, f.store_id)
    manifest = snapshots.read_manifest(snap.path.parent)
    assert manifest["delta_rows"]["orders"] == 5  # one row per order, the latest
    assert _contents(db_url, f.store_id) == _full_contents(db_url, f.store_id)


def test_compaction_folds_the_delta_into_a_new_base(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    f, w, (p1, _, _) = _store(db_url)
    base = warehouse.refresh(db_url, f.store_id)
    w.order("2024-01-10 10:00", [(p1, 1, 100)])
    assert warehouse.refresh(db_url, f.store_id).delta is not None
    expected = _contents(db_url, f.store_id)

    compacted = snapshots.compact(db_url, f.store_id)
    assert compacted.delta is None and compacted.path != base.path
    assert _contents(db_url, f.store_id) == expected

    # Past the hard limit the refresh itself builds a new base instead of a delta.
    monkeypatch.setattr(snapshots, "COMPACT_HARD", 0.0)
    monkeypatch.setattr(snapshots, "COMPACT_MIN_ROWS", 0)
    w.order("2024-01-11 10:00", [(p1, 1, 100)])
    snap = warehouse.refresh(db_url, f.store_id)
    assert snap.delta is None and snap.path != compacted.path
    assert _gmv(f) == Decimal("24.00")


def test_background_compaction_past_the_soft_limit(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    f, w, (p1, _, _) = _store(db_url)
    warehouse.refresh(db_url, f.store_id)
    monkeypatch.setattr(snapshots, "COMPACT_SOFT", 0.0)
    monkeypatch.setattr(snapshots, "COMPACT_HARD", 100.0)
    monkeypatch.setattr(snapshots, "COMPACT_MIN_ROWS", 0)
    done = threading.Event()
    real = snapshots.compact

    def compact_and_tell(*args):  # noqa: ANN002, ANN202
        try:
            return real(*args)
        finally:
            done.set()

    monkeypatch.setattr(snapshots, "compact", compact_and_tell)
    w.order("2024-01-10 10:00", [(p1, 1, 100)])
    assert warehouse.refresh(db_url, f.store_id).delta is not None  # answered from the delta
    assert done.wait(60)
    assert warehouse.refresh(db_url, f.store_id).delta is None  # then folded in the background
    assert _gmv(f) == Decimal("23.00")


def test_unstamped_and_deleted_rows_force_a_full_rebuild(db_url: str) -> None:
    """A write without row_version, or rows deleted (a store replaced): counts disagree."""
    f, w, (p1, _, _) = _store(db_url)
    base = warehouse.refresh(db_url, f.store_id)
    f.order("2024-01-10 10:00", [(p1, 1, 5000)])  # Facts does not stamp row_version
    snap = warehouse.refresh(db_url, f.store_id)
    assert snap.path != base.path and snap.delta is None
    assert _gmv(f) == Decimal("72.00")
    with unit_of_work(db_url) as s:
        s.execute(delete(Refund).where(Refund.store_id == f.store_id))
        for model in (OrderLine, Order):
            s.execute(delete(model).where(model.store_id == f.store_id))
        bump_data_version(s, f.store_id)
    assert _gmv(f) == Decimal("0.00")
    assert _contents(db_url, f.store_id)["lines"] == []


def test_a_reader_sees_the_old_or_the_new_figures_never_between(db_url: str) -> None:
    """A reader thread querying in a loop while imports land and refresh: old or new total."""
    f, w, (p1, p2, _) = _store(db_url)
    totals = [_gmv(f)]
    seen: list[Decimal] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                seen.append(_gmv(f))
            except BaseException as exc:  # noqa: BLE001 - any error is the failure
                errors.append(exc)
                return

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for day in range(10, 16):
            # one import: two orders and a refund in one transaction, one data version
            with unit_of_work(db_url) as s:
                version = bump_data_version(s, f.store_id)
                for hour in (10, 11):
                    at = localize(datetime(2024, 1, day, hour), f.tz)
                    order = Order(store_id=f.store_id, platform_order_id=f"T{day}-{hour}",
                                  status="finished", placed_at=at, paid_at=at,
                                  placed_date=local_date(at, f.tz), source="app",
                                  content_hash="t", row_version=version)
                    s.add(order)
                    s.flush()
                    s.add(OrderLine(order_id=order.id, store_id=f.store_id, line_no=1,
                                    product_id=p2, quantity=1, unit_price_e4=0,
                                    amount_cents=1000))
            totals.append(totals[-1] + Decimal("20.00"))
            warehouse.refresh(db_url, f.store_id)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[0]
    assert seen and set(seen) <= set(totals)
    assert _gmv(f) == totals[-1]


def test_threads_query_in_parallel_on_their_own_cursors(db_url: str) -> None:
    f, _, _ = _store(db_url)
    expected = _gmv(f)
    results: list[Decimal] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        barrier.wait()
        for _ in range(5):
            results.append(_gmv(f))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 20
    assert not hasattr(warehouse, "_lock")  # no process-wide lock around queries


def test_force_rebuild_and_old_snapshots_pruned(db_url: str) -> None:
    f = Facts(db_url)
    f.product("P")
    paths = [warehouse.refresh(db_url, f.store_id, force=True).path for _ in range(5)]
    assert len(set(paths)) == 5
    left = sorted(p.name for p in paths[0].parent.glob("snap-*"))
    assert len(left) == snapshots.KEEP_SNAPSHOTS and paths[-1].name in left
    assert not list(paths[0].parent.glob(".tmp-*"))


def test_two_builders_build_once(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    f = Facts(db_url)
    f.product("P")
    builds = []
    real_build = snapshots.build_full

    def counting_build(*args):  # noqa: ANN002, ANN202
        builds.append(1)
        return real_build(*args)

    monkeypatch.setattr(snapshots, "build_full", counting_build)
    results: list = []
    threads = [
        threading.Thread(target=lambda: results.append(warehouse.refresh(db_url, f.store_id)))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(builds) == 1
    assert len({r.path for r in results}) == 1


def test_a_failed_export_publishes_nothing(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    f, w, (p1, _, _) = _store(db_url)
    snap = warehouse.refresh(db_url, f.store_id)
    w.order("2024-01-10 10:00", [(p1, 1, 100)])

    def broken(*_args):  # noqa: ANN002, ANN202
        raise RuntimeError("database went away")

    monkeypatch.setattr(snapshots.export, "read_frame", broken)
    with pytest.raises(RuntimeError):
        warehouse.refresh(db_url, f.store_id)
    assert snapshots.to_snapshot(
        f.store_id, snap.path.parent, snapshots.read_manifest(snap.path.parent)) == snap
    assert not list(snap.path.parent.glob(".tmp-*"))


def test_empty_store_and_unknown_store(db_url: str) -> None:
    f = Facts(db_url)
    s = service.kpi_summary(db_url, f.store_id, date(2024, 1, 1), date(2024, 1, 2))
    assert s["gmv"] == Decimal("0.00") and s["sell_through"] is None
    with pytest.raises(StoreError):
        warehouse.refresh(db_url, 999)


def test_fact_queries_are_portable_sql(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every query the engine runs parses as PostgreSQL too (no DuckDB-only syntax)."""
    import sqlglot

    from storeops.metrics import queries
    from storeops.metrics.queries import Grouping

    f = Facts(db_url)
    f.product("P")
    wh = warehouse.open_store(db_url, f.store_id)
    seen: list[str] = []
    real_run = warehouse.Warehouse.run

    def recording_run(self, sql, params=()):  # noqa: ANN001, ANN202
        seen.append(sql.format(**self.tables))
        return real_run(self, sql, params)

    monkeypatch.setattr(warehouse.Warehouse, "run", recording_run)
    for cut in ("all", "day", "week", "month", "sku", "category", "source"):
        queries.collect_facts(wh, Grouping(cut, date(2024, 1, 1), date(2024, 1, 9)))
    assert len(seen) >= 5
    for sql in seen:
        sqlglot.parse_one(sql, read="postgres", error_level=sqlglot.ErrorLevel.RAISE)


def test_a_failing_export_child_says_why(sqlite_db_url: str, tmp_path) -> None:  # noqa: ANN001
    import polars as pl

    job = export.Job("SELECT nope FROM orders", {"nope": pl.Int64}, ("nope",),
                     tmp_path / "x.parquet")
    with pytest.raises(RuntimeError, match="analytics export failed.*nope"):
        export.export_tables(sqlite_db_url, [job], expected_rows=export.CHILD_MIN_ROWS)
    assert not (tmp_path / "x.parquet").exists()


def _refresh_and_sum(db_url: str, store_id: int, wh_dir: str) -> tuple[str, str, str]:
    """In another process (as ``storeops serve --workers N`` runs): refresh, then query."""
    import os

    os.environ["STOREOPS_WAREHOUSE_DIR"] = wh_dir
    snap = warehouse.refresh(db_url, store_id)
    gmv = service.kpi_summary(db_url, store_id, *JAN)["gmv"]
    return str(snap.path), str(snap.delta), str(gmv)


def test_worker_processes_share_one_refresh(sqlite_db_url: str, tmp_path) -> None:  # noqa: ANN001
    import multiprocessing
    import os

    f, w, (p1, _, _) = _store(sqlite_db_url)
    warehouse.refresh(sqlite_db_url, f.store_id)
    w.order("2024-01-10 10:00", [(p1, 1, 100)])
    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        results = pool.starmap(_refresh_and_sum, [
            (sqlite_db_url, f.store_id, os.environ["STOREOPS_WAREHOUSE_DIR"])] * 2)
    assert results[0] == results[1] and results[0][2] == "23.00"
    assert len(list(Path(results[0][1]).parent.glob("delta-*"))) == 1  # built once
