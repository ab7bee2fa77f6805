"""The Parquet snapshot: rebuilt when the store's data version moves, atomically, once."""

from __future__ import annotations

import json
import threading
from datetime import date
from decimal import Decimal

import pytest
from test_metric_facts import Facts

from storeops.catalog.stores import StoreError, bump_data_version
from storeops.db.engine import unit_of_work
from storeops.metrics import service, warehouse


@pytest.fixture(autouse=True)
def _warehouse_in_tmp(tmp_path, monkeypatch):  # noqa: ANN001, ANN202
    monkeypatch.setenv("STOREOPS_WAREHOUSE_DIR", str(tmp_path / "wh"))


def _gmv(f: Facts) -> Decimal:
    return service.kpi_summary(f.db_url, f.store_id, date(2024, 1, 1), date(2024, 1, 31))["gmv"]


def test_snapshot_reused_until_data_version_moves(db_url: str) -> None:
    f = Facts(db_url)
    p = f.product("P")
    f.order("2024-01-05 10:00", [(p, 1, 1000)])
    first = warehouse.refresh(db_url, f.store_id)
    assert warehouse.refresh(db_url, f.store_id).path == first.path
    assert first.rows["lines"] == 1 and first.rows["products"] == 1
    manifest = json.loads((first.path.parent / "manifest.json").read_text())
    assert manifest["snapshot"] == first.path.name
    assert manifest["schema_version"] == warehouse.SCHEMA_VERSION
    assert _gmv(f) == Decimal("10.00")

    f.order("2024-01-06 10:00", [(p, 1, 2500)])  # bumps the data version
    assert _gmv(f) == Decimal("35.00")
    second = warehouse.refresh(db_url, f.store_id)
    assert second.path != first.path and second.data_version > first.data_version


def test_write_without_bump_is_not_seen_until_bump(db_url: str) -> None:
    f = Facts(db_url)
    p = f.product("P")
    f.order("2024-01-05 10:00", [(p, 1, 1000)])
    assert _gmv(f) == Decimal("10.00")
    from storeops.db.models import Product

    with unit_of_work(db_url) as s:  # a write that forgets to bump: the snapshot is kept
        s.get(Product, p).status = "off_shelf"
    assert service.kpi_summary(db_url, f.store_id, date(2024, 1, 1),
                               date(2024, 1, 31))["sell_through"] == 1.0
    with unit_of_work(db_url) as s:
        bump_data_version(s, f.store_id)
    assert service.kpi_summary(db_url, f.store_id, date(2024, 1, 1),
                               date(2024, 1, 31))["sell_through"] is None


def test_force_rebuild_and_old_snapshots_pruned(db_url: str) -> None:
    f = Facts(db_url)
    f.product("P")
    paths = [warehouse.refresh(db_url, f.store_id, force=True).path for _ in range(4)]
    assert len(set(paths)) == 4
    left = sorted(p.name for p in paths[0].parent.glob("snap-*"))
    assert len(left) == warehouse.KEEP_SNAPSHOTS and paths[-1].name in left
    assert not list(paths[0].parent.glob(".tmp-*"))


def test_two_builders_build_once(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    f = Facts(db_url)
    f.product("P")
    builds = []
    real_build = warehouse._build

    def counting_build(*args):  # noqa: ANN002, ANN202
        builds.append(1)
        return real_build(*args)

    monkeypatch.setattr(warehouse, "_build", counting_build)
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
    assert len(seen) >= 30
    for sql in seen:
        sqlglot.parse_one(sql, read="postgres", error_level=sqlglot.ErrorLevel.RAISE)
