"""The store-local deal day (``deal_date``) the analytics export writes once per row, on every
export path: a full rebuild in this process, one in SQLite export children, an incremental
refresh (delta), on SQLite and PostgreSQL, in the store's own timezone."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from sqlalchemy import select, update
from test_metric_facts import Facts

from storeops.catalog.models import Store
from storeops.db.engine import unit_of_work
from storeops.metrics import deal_days, export, warehouse
from storeops.orders.models import Order

D = date.fromisoformat


@pytest.fixture(autouse=True)
def _warehouse_in_tmp(tmp_path, monkeypatch):  # noqa: ANN001, ANN202
    monkeypatch.setenv("STOREOPS_WAREHOUSE_DIR", str(tmp_path / "wh"))


def _orders(f: Facts, p: int) -> dict[int, date | None]:
    """Orders covering every branch of the rule, with the deal day each must get."""
    return {
        f.order("2024-06-01 23:40", [(p, 1, 100)], paid="2024-06-01 23:50"): D("2024-06-01"),
        f.order("2024-06-01 23:45", [(p, 1, 100)], paid="2024-06-02 00:10"): D("2024-06-02"),
        f.order("2024-06-01 20:00", [(p, 1, 100)], cod=True, paid=False): D("2024-06-01"),
        f.order("2024-06-01 20:00", [(p, 1, 100)], paid=False): None,
        f.order("2024-06-01 09:00", [(p, 1, 100)], paid="2024-06-01 09:05",
                cancelled="2024-06-01 23:59"): None,  # cancelled the day it counts
        f.order("2024-06-01 09:00", [(p, 1, 100)], paid="2024-06-01 09:05",
                cancelled="2024-06-02 00:01"): D("2024-06-01"),  # later: stays
        f.order("2024-06-01 09:00", [(p, 1, 100)], paid="2024-06-01 09:05",
                status="cancelled"): None,  # cancellation time unknown
        f.order("2024-06-01 20:00", [(p, 1, 100), (p, 2, 300)], cod=True, paid=False,
                cancelled="2024-06-01 21:00"): None,  # cash on delivery refused that day
    }


def _deal_days(f: Facts, table: str) -> dict[int, date | None]:
    wh = warehouse.open_store(f.db_url, f.store_id)
    rows = wh.run(f"SELECT DISTINCT x.order_id, x.deal_date FROM {{{table}}} x")
    assert len({r[0] for r in rows}) == len(rows)  # one day per order, on every line
    return dict(rows)


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "America/New_York"])
def test_full_rebuild_writes_the_deal_day_of_each_order(db_url: str, tz: str) -> None:
    f = Facts(db_url, tz=tz)
    expected = _orders(f, f.product("P"))
    assert _deal_days(f, "orders") == expected
    assert _deal_days(f, "lines") == expected


def test_export_children_write_the_deal_day(sqlite_db_url: str, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(export, "CHILD_MIN_ROWS", 0)  # a small store through the children
    children = []
    real = export._in_children
    monkeypatch.setattr(export, "_in_children", lambda *a: children.append(1) or real(*a))
    f = Facts(sqlite_db_url, tz="America/New_York")
    expected = _orders(f, f.product("P"))
    assert _deal_days(f, "lines") == expected and _deal_days(f, "orders") == expected
    assert children


def test_an_incremental_refresh_writes_the_deal_day(db_url: str) -> None:
    f = Facts(db_url)
    p = f.product("P")
    first = f.order("2024-05-31 10:00", [(p, 1, 100)])
    assert _deal_days(f, "orders") == {first: D("2024-05-31")}
    expected = {first: D("2024-05-31"), **_orders(f, p)}
    with unit_of_work(db_url) as s:  # stamped as importers stamp what they write
        version = s.scalar(select(Store.data_version).where(Store.id == f.store_id))
        s.execute(update(Order).where(Order.id.in_(list(expected)[1:]))
                  .values(row_version=version))
    assert warehouse.refresh(db_url, f.store_id).delta is not None  # not a rebuild
    assert _deal_days(f, "orders") == expected
    assert _deal_days(f, "lines") == expected


def test_the_rule_reads_utc_text_with_or_without_fractions() -> None:
    frame = pl.DataFrame({
        "placed_date": [D("2024-06-01")] * 3, "status": ["finished"] * 3, "cod": [0] * 3,
        "cancelled_at": [None] * 3,
        "paid_at": ["2024-06-01 15:59:59", "2024-06-01 16:00:00.000000", None],
    }, schema_overrides={"cancelled_at": pl.String})
    out = deal_days.with_deal_date(frame, "Asia/Shanghai")["deal_date"].to_list()
    assert out == [D("2024-06-01"), D("2024-06-02"), None]
