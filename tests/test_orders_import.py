"""File imports on the orders side: new orders take the stage their state says (no events,
the timeline starts "imported"), an order a later file changes gets one "updated" event and
its stage follows (stock it held is shipped or released), an order the connector wrote and a
file repeats is unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select
from test_import_jd import jd_row, write_csv
from test_orders_service import new_store

from storeops.catalog.stores import get_or_create_store
from storeops.db.engine import unit_of_work
from storeops.importers.service import import_file
from storeops.orders import service as svc
from storeops.orders.incoming import IncomingLine, IncomingOrder
from storeops.orders.models import Order, OrderEvent
from storeops.orders.states import OrderStatus

STORE = "旗舰店"


def run(db: str, path: Path, rows: list[dict]):  # noqa: ANN201
    return import_file(db, "orders", write_csv(path, rows), fmt="jd", store=STORE,
                       write_rejects=False)


def stages(db: str) -> dict[str, str]:
    with unit_of_work(db) as s:
        return dict(s.execute(select(Order.platform_order_id, Order.stage)).all())


def order_events(db: str, oid: str) -> list[tuple[str, dict | None]]:
    with unit_of_work(db) as s:
        order = s.scalar(select(Order).where(Order.platform_order_id == oid))
        return [(e.kind, json.loads(e.data_json) if e.data_json else None)
                for e in svc.timeline(s, order.id)]


def test_new_orders_take_their_stage_and_no_events(db_url: str, tmp_path: Path) -> None:
    rows = [jd_row("1", "A1", 1, "10.00", "10.00", "10.00", "10.00", "完成",
                   finished="2026-11-13 10:00:00"),
            jd_row("2", "A1", 1, "10.00", "10.00", "10.00", "10.00", "等待确认收货"),
            jd_row("3", "A1", 1, "10.00", "10.00", "10.00", "10.00", "等待出库"),
            jd_row("4", "A1", 1, "10.00", "10.00", "10.00", "10.00", "已取消"),
            jd_row("5", "A1", 1, "10.00", "10.00", "10.00", "10.00", "等待付款",
                   paid_at="")]
    run(db_url, tmp_path / "a.csv", rows)
    assert stages(db_url) == {"1": "finished", "2": "shipped", "3": "received",
                              "4": "cancelled", "5": "received"}
    with unit_of_work(db_url) as s:
        assert s.scalar(select(func.count()).select_from(OrderEvent)) == 0
        order = svc.order_by_platform_id(s, 1, "3")
        timeline = svc.order_detail(s, order)["timeline"]
        assert [(e["kind"], e["actor"], e["reason"]) for e in timeline] == [
            ("imported", "import", "a.csv")]
    summary = run(db_url, tmp_path / "a.csv", rows)  # the same file again: nothing
    assert summary.orders_unchanged == 5
    with unit_of_work(db_url) as s:
        assert s.scalar(select(func.count()).select_from(OrderEvent)) == 0


def test_a_later_file_changes_an_order(sqlite_db_url: str, tmp_path: Path) -> None:
    db_url = sqlite_db_url  # the rule, not the database, is under test
    first = [jd_row("7", "A1", 1, "10.00", "10.00", "10.00", "10.00", "等待出库"),
             jd_row("8", "A1", 1, "10.00", "10.00", "10.00", "10.00", "等待出库")]
    run(db_url, tmp_path / "a.csv", first)
    later = [jd_row("7", "A1", 1, "10.00", "10.00", "10.00", "10.00", "完成",
                    finished="2026-11-13 10:00:00"),
             jd_row("8", "A1", 2, "10.00", "20.00", "20.00", "20.00", "等待出库")]
    summary = run(db_url, tmp_path / "b.csv", later)
    assert summary.orders_updated == 2
    seven = order_events(db_url, "7")
    assert [k for k, _ in seven] == ["updated", "shipped", "finished"]
    assert seven[0][1]["fields"] == ["finished_at", "status"]
    assert seven[0][1]["changed"]["status"] == ["wait_stock_out", "finished"]
    eight = order_events(db_url, "8")
    assert [k for k, _ in eight] == ["updated"]
    assert eight[0][1]["fields"] == ["goods_cents", "lines", "paid_cents"]
    assert stages(db_url) == {"7": "finished", "8": "received"}  # files are not reviewed
    run(db_url, tmp_path / "b.csv", later)  # again: nothing new
    assert len(order_events(db_url, "7")) == 3


def connector_order(oid: str, qty: int = 2) -> IncomingOrder:
    """The order of ``jd_row(oid, "A1", qty, "10.00", …, "等待出库")`` as the connector says it."""
    return IncomingOrder(
        platform_order_id=oid, channel="jd", status=OrderStatus.WAIT_STOCK_OUT,
        placed_at=datetime(2026, 11, 10, 16, 5, tzinfo=UTC),
        paid_at=datetime(2026, 11, 10, 16, 6, tzinfo=UTC),
        lines=[IncomingLine("A1", qty, Decimal("10.00"), title="商品A1", seller_code="HH-A1")],
        paid_amount=Decimal(qty * 10), buyer_account="jd_alice", buyer_name="张三",
        buyer_phone="13812345678", address="北京市朝阳区某路1号", source="移动端")


def test_connector_order_repeated_by_a_file_is_unchanged(db_url: str, tmp_path: Path) -> None:
    with unit_of_work(db_url) as s:
        store = new_store(s, STORE, A1=5)
        order, _ = svc.upsert_order(s, store, connector_order("9"), actor="connector:jd")
        assert order.stage == "allocated"
    summary = run(db_url, tmp_path / "a.csv",
                  [jd_row("9", "A1", 2, "10.00", "20.00", "20.00", "20.00", "等待出库")])
    assert (summary.orders_unchanged, summary.orders_updated) == (1, 0)
    assert [k for k, _ in order_events(db_url, "9")][-1] == "allocated"


def test_file_ships_or_cancels_what_the_connector_allocated(db_url: str,
                                                            tmp_path: Path) -> None:
    from storeops.inventory import service as inv

    with unit_of_work(db_url) as s:
        store = new_store(s, STORE, A1=10)
        for oid in ("10", "11", "12"):
            svc.upsert_order(s, store, connector_order(oid), actor="connector:jd")
        assert inv.availability(s, store.id, ["A1"]) == {"A1": 4}
    rows = [jd_row("10", "A1", 2, "10.00", "20.00", "20.00", "20.00", "等待确认收货"),
            jd_row("11", "A1", 2, "10.00", "20.00", "20.00", "20.00", "已取消"),
            # a changed line: stock held again for the new quantity
            jd_row("12", "A1", 3, "10.00", "30.00", "30.00", "30.00", "等待出库")]
    summary = run(db_url, tmp_path / "a.csv", rows)
    assert summary.orders_updated == 3
    assert stages(db_url) == {"10": "shipped", "11": "cancelled", "12": "allocated"}
    with unit_of_work(db_url) as s:
        store, _ = get_or_create_store(s, STORE)
        row = {r["sku"]: r for r in inv.stock_rows(s, store.id)}["A1"]
        assert (row["on_hand"], row["reserved"]) == (8, 3)  # 10 - 2 shipped; 3 held by 12
        assert inv.check(s, store.id) == []
    assert [k for k, _ in order_events(db_url, "10")][-2:] == ["updated", "shipped"]
    assert [k for k, _ in order_events(db_url, "11")][-2:] == ["updated", "cancelled"]
    twelve = [k for k, _ in order_events(db_url, "12")]
    # its stock went back before the lines were replaced, then it was allocated again
    assert twelve[-4:] == ["under_review", "updated", "approved", "allocated"]
