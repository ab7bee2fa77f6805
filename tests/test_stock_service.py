"""The stock ledger's service on SQLite and PostgreSQL: warehouses, receipts, adjustments,
counts, transfers, reservations of orders, and the ledger check."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from stock_support import make_order, make_store, product_stock

from storeops.db.engine import unit_of_work
from storeops.inventory import service as stock
from storeops.inventory.models import StockMovement, StockReservation, Warehouse


def test_a_new_store_has_its_default_warehouse(db_url: str) -> None:
    with unit_of_work(db_url) as s:
        sid = make_store(s)
    with unit_of_work(db_url) as s:
        whs = s.scalars(select(Warehouse).where(Warehouse.store_id == sid)).all()
        assert [(w.code, w.name, w.is_default) for w in whs] == [("default", "默认仓", True)]
        assert stock.ensure_default_warehouse(s, sid).id == whs[0].id  # idempotent


def test_receive_adjust_count_transfer_keep_the_ledger(db_url: str) -> None:
    with unit_of_work(db_url) as s:
        sid = make_store(s)
        stock.add_warehouse(s, sid, "sh", "上海仓", priority=1)
        stock.receive(s, sid, "A", 10, actor="user:alice", note="PO-1")
        stock.adjust(s, sid, "A", -2, actor="user:alice", note="破损")
        stock.count(s, sid, "A", 7, actor="user:bob")
        a, b = stock.transfer(s, sid, "A", 3, from_warehouse="default", to_warehouse="sh",
                              actor="user:bob")
        assert (a.on_hand, b.on_hand) == (4, 3)
    with unit_of_work(db_url) as s:
        rows = stock.stock_rows(s, sid, "A")
        assert [(r["warehouse"], r["on_hand"], r["reserved"], r["available"]) for r in rows] \
            == [("default", 4, 0, 4), ("sh", 3, 0, 3)]
        moves = s.scalars(select(StockMovement).order_by(StockMovement.id)).all()
        assert [(m.reason, m.on_hand_delta) for m in moves] == [
            ("receipt", 10), ("adjustment", -2), ("count", -1), ("transfer", -3),
            ("transfer", 3)]
        assert moves[0].actor == "user:alice" and moves[1].note == "破损"
        assert moves[3].reference == moves[4].reference and moves[3].reference
        assert product_stock(s, sid, "A") == 7
        assert stock.availability(s, sid, ["A", "B", "nope"]) == {"A": 7, "B": 0, "nope": 0}
        assert stock.check(s) == []


def test_changes_that_would_go_negative_are_refused_naming_sku_and_warehouse(
        db_url: str) -> None:
    with unit_of_work(db_url) as s:
        sid = make_store(s)
        stock.receive(s, sid, "A", 2, actor="user:a")
    with unit_of_work(db_url) as s, pytest.raises(stock.StockError) as err:
        stock.adjust(s, sid, "A", -3, actor="user:a")
    assert "'A'" in str(err.value) and "'default'" in str(err.value)
    with unit_of_work(db_url) as s:
        order = make_order(s, sid, {"A": 2})
        stock.reserve_order(s, order, actor="system")
    with unit_of_work(db_url) as s, pytest.raises(stock.StockError, match="reserved"):
        stock.count(s, sid, "A", 1, actor="user:a")  # below the 2 reserved
    with unit_of_work(db_url) as s, pytest.raises(stock.StockError, match="only 0"):
        stock.add_warehouse(s, sid, "bj", "北京仓")
        stock.transfer(s, sid, "A", 1, from_warehouse="default", to_warehouse="bj", actor="u")
    with unit_of_work(db_url) as s:
        with pytest.raises(stock.StockError, match="unknown SKU 'Z'"):
            stock.receive(s, sid, "Z", 1, actor="u")
        with pytest.raises(stock.StockError, match="no warehouse 'gz'"):
            stock.receive(s, sid, "A", 1, warehouse="gz", actor="u")
        with pytest.raises(stock.StockError, match="positive"):
            stock.receive(s, sid, "A", 0, actor="u")
        assert stock.check(s) == []
        assert stock.stock_rows(s, sid, "A")[0]["on_hand"] == 2


def test_reserve_release_ship(db_url: str) -> None:
    with unit_of_work(db_url) as s:
        sid = make_store(s)
        stock.receive(s, sid, "A", 5, actor="u")
        stock.receive(s, sid, "B", 5, actor="u")
        order = make_order(s, sid, {"A": 2, "B": 1})
        held = stock.reserve_order(s, order, actor="rule:auto")
        assert sorted(r.quantity for r in held) == [1, 2]
        again = stock.reserve_order(s, order, actor="rule:auto")  # no double hold
        assert [r.id for r in again] == [r.id for r in held]
        assert stock.availability(s, sid, ["A", "B"]) == {"A": 3, "B": 4}
        assert product_stock(s, sid, "A") == 3
        other = make_order(s, sid, {"A": 1})
        stock.reserve_order(s, other, actor="rule:auto")
    with unit_of_work(db_url) as s:
        order = s.merge(order)
        shipped = stock.ship_order_stock(s, order, actor="user:e")
        assert {r.state for r in shipped} == {"shipped"}
        assert stock.release_order(s, order, actor="u", reason="late") == []  # nothing held
        released = stock.release_order(s, s.merge(other), actor="u", reason="买家取消")
        assert [r.state for r in released] == ["released"]
    with unit_of_work(db_url) as s:
        rows = {r["sku"]: r for r in stock.stock_rows(s, sid)}
        assert (rows["A"]["on_hand"], rows["A"]["reserved"]) == (3, 0)
        assert (rows["B"]["on_hand"], rows["B"]["reserved"]) == (4, 0)
        reasons = [m.reason for m in s.scalars(select(StockMovement).order_by(StockMovement.id))]
        assert reasons.count("reservation") == 3 and reasons.count("shipment") == 2
        assert reasons.count("release") == 1
        assert stock.check(s) == []


def test_out_of_stock_reserves_nothing_and_names_each_short_sku(db_url: str) -> None:
    with unit_of_work(db_url) as s:
        sid = make_store(s)
        stock.receive(s, sid, "A", 5, actor="u")
        stock.receive(s, sid, "B", 1, actor="u")
        stock.set_safety_buffer(s, sid, "A", 2)
        order = make_order(s, sid, {"A": 4, "B": 1, "C": 2}, order_id="JD-77")
    with unit_of_work(db_url) as s, pytest.raises(stock.OutOfStock) as err:
        stock.reserve_order(s, s.merge(order), actor="system")
    assert [(x.sku, x.requested, x.available) for x in err.value.shortages] == [
        ("A", 4, 3), ("C", 2, 0)]
    assert "JD-77" in str(err.value)
    with unit_of_work(db_url) as s:
        assert s.scalars(select(StockReservation)).all() == []
        assert stock.availability(s, sid, ["A", "B"]) == {"A": 3, "B": 1}
        assert stock.check(s) == []


def test_allocation_prefers_one_warehouse_then_spreads(db_url: str) -> None:
    with unit_of_work(db_url) as s:
        sid = make_store(s)
        stock.add_warehouse(s, sid, "sh", "上海仓", priority=1)
        stock.receive(s, sid, "A", 1, actor="u")  # default: A only
        stock.receive(s, sid, "A", 5, warehouse="sh", actor="u")
        stock.receive(s, sid, "B", 5, warehouse="sh", actor="u")
        whole = make_order(s, sid, {"A": 1, "B": 1})
        held = stock.reserve_order(s, whole, actor="u")
        sh = s.scalar(select(Warehouse.id).where(Warehouse.code == "sh"))
        assert {r.warehouse_id for r in held} == {sh}  # the one that fills it all
        spread = make_order(s, sid, {"A": 5})  # 1 left in default + 4 in sh
        held = stock.reserve_order(s, spread, actor="u")
        assert sorted(r.quantity for r in held) == [1, 4]
        assert stock.availability(s, sid, ["A"]) == {"A": 0}
        assert stock.check(s) == []


def test_check_names_a_corrupted_level(db_url: str) -> None:
    from sqlalchemy import update

    from storeops.inventory.models import StockLevel

    with unit_of_work(db_url) as s:
        sid = make_store(s)
        stock.receive(s, sid, "A", 3, actor="u")
        s.execute(update(StockLevel).values(on_hand=7))
    with unit_of_work(db_url) as s:
        problems = stock.check(s, sid)
    assert len(problems) == 1
    assert "'A'" in problems[0] and "'default'" in problems[0] and "7" in problems[0]
