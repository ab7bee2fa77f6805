"""Merging orders into one parcel and splitting an order over several: the rules (pure) and
through the service on both databases."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from test_orders_service import events, incoming, new_store, stock

from storeops.common.errors import localise
from storeops.db.engine import unit_of_work
from storeops.orders import merge_split as ms
from storeops.orders import service as svc
from storeops.orders.models import OrderLine, Shipment, ShipmentLine
from storeops.orders.states import OrderStatus

C = ms.MergeCandidate


def cand(order: str, **kw: object) -> ms.MergeCandidate:
    data: dict = {"store_id": 1, "stage": "allocated", "customer_id": 7, "address_key": "k"}
    data.update(kw)
    return C(order, **data)


def test_merge_rules() -> None:
    assert ms.check_merge([cand("A", warehouse_ids=frozenset({3})), cand("B")]) == 3
    assert ms.check_merge([cand("A", stage="received"), cand("B", stage="under_review")]) is None
    cases = [
        ([cand("A")], "orders.merge_one"),
        ([cand("A"), cand("A")], "orders.merge_one"),
        ([cand("A"), cand("B", store_id=2)], "orders.merge_stores"),
        ([cand("A"), cand("B", stage="shipped")], "orders.merge_closed"),
        ([cand("A"), cand("B", stage="cancelled")], "orders.merge_closed"),
        ([cand("A"), cand("B", customer_id=8)], "orders.merge_buyer"),
        ([cand("A"), cand("B", address_key="other")], "orders.merge_buyer"),
        ([cand("A", customer_id=None), cand("B")], "orders.merge_guest"),
        ([cand("A", warehouse_ids=frozenset({1})), cand("B", warehouse_ids=frozenset({2}))],
         "orders.merge_warehouse"),
    ]
    for orders, key in cases:
        with pytest.raises(ms.MergeRefused) as info:
            ms.check_merge(orders)
        assert info.value.key == key


def test_merge_refusal_names_the_order() -> None:
    with pytest.raises(ms.MergeRefused) as info:
        ms.check_merge([cand("A"), cand("B", stage="shipped")])
    assert "B" in str(info.value) and "shipped" in str(info.value)
    assert localise(info.value, "zh-CN") == "订单 B 处于「已发货」，只有未发货的订单可以合并"


LINES = [ms.LineQty(10, 1, "A", 3), ms.LineQty(11, 2, "B", 1)]


def test_split_rules() -> None:
    assert ms.check_split("J1", LINES, [{10: 2}, {10: 1, 11: 1, 12: 0}]) == [
        {10: 2}, {10: 1, 11: 1}]
    bad = [
        ([{10: 3, 11: 1}], "orders.split_empty"),  # one parcel only
        ([{10: 3, 11: 1}, {}], "orders.split_empty"),
        ([{10: 3}, {99: 1}], "orders.split_line"),
        ([{10: 2}, {11: 1}], "orders.split_qty"),  # a unit of line 1 in no parcel
        ([{10: 3}, {10: 1, 11: 1}], "orders.split_qty"),  # one unit too many
        ([{10: 4}, {10: -1, 11: 1}], "orders.split_qty"),
    ]
    for groups, key in bad:
        with pytest.raises(ms.SplitRefused) as info:
            ms.check_split("J1", LINES, groups)
        assert info.value.key == key, groups
    with pytest.raises(ms.SplitRefused) as info:
        ms.check_split("J1", LINES, [{10: 2}, {11: 1}])
    assert str(info.value) == "order J1: line 1 (A) has 3 units, the parcels hold 2"


def test_groups_by_warehouse_and_stock() -> None:
    assert ms.groups_by_warehouse([(10, 2, 1), (10, 1, 2), (11, 2, 1)]) == [
        {10: 2}, {10: 1, 11: 1}]
    assert ms.groups_by_stock(LINES, {"A": 2, "B": 5}) == [{10: 2, 11: 1}, {10: 1}]
    assert ms.groups_by_stock(LINES, {}) == [{}, {10: 3, 11: 1}]
    # a SKU on two lines shares its stock, first line first
    two = [ms.LineQty(1, 1, "A", 2), ms.LineQty(2, 2, "A", 2)]
    assert ms.groups_by_stock(two, {"A": 3}) == [{1: 2, 2: 1}, {2: 1}]


def parcels(s, order) -> list[tuple[str, list[int]]]:  # noqa: ANN001
    ids = select(ShipmentLine.shipment_id).where(ShipmentLine.order_id == order.id)
    out = []
    for sh in s.scalars(select(Shipment).where(Shipment.id.in_(ids)).order_by(Shipment.id)):
        qty = [sl.quantity for sl in s.scalars(select(ShipmentLine).where(
            ShipmentLine.shipment_id == sh.id).order_by(ShipmentLine.id))]
        out.append((sh.state, qty))
    return out


def test_merge_two_orders_of_one_buyer(db_url: str) -> None:
    with unit_of_work(db_url) as s:
        store = new_store(s, A=10)
        a, _ = svc.upsert_order(s, store, incoming("M1"), actor="connector:jd")
        b, _ = svc.upsert_order(s, store, incoming("M2", address="广东省深圳市南山区 科技园路1号"),
                                actor="connector:jd")
        c, _ = svc.upsert_order(s, store, incoming("M3", status=OrderStatus.WAIT_PAY),
                                actor="connector:jd")
        shipment = svc.merge(s, [a, b, c], actor="user:alice")
        assert shipment.state == "open"
        assert parcels(s, a) == [("cancelled", [1]), ("open", [1, 1, 1])]
        for o in (a, b, c):
            last = events(s, o)[-1]
            assert last.kind == "merged" and last.actor == "alice"
            assert json.loads(last.data_json) == {"orders": ["M1", "M2", "M3"],
                                                  "shipment": shipment.id}
        # c is paid later: allocated into the merged parcel, no new one
        c, _ = svc.upsert_order(s, store, incoming("M3"), actor="connector:jd")
        assert c.stage == "allocated"
        assert parcels(s, c) == [("open", [1, 1, 1])]
        # cancelling one takes its lines out; shipping the others ships the parcel
        svc.cancel(s, c, "buyer", actor="user:alice")
        assert parcels(s, a)[-1] == ("open", [1, 1])
        svc.mark_shipped(s, a, carrier_id="467", waybill="SF1", actor="user:alice")
        assert parcels(s, a)[-1] == ("open", [1, 1])  # b not shipped yet
        svc.mark_shipped(s, b, carrier_id="467", waybill="SF1", actor="user:alice")
        assert parcels(s, a)[-1] == ("shipped", [1, 1])


def test_merge_refused_for_another_buyer_or_shipped(sqlite_db_url: str) -> None:
    db_url = sqlite_db_url  # the rule, not the database, is under test
    with unit_of_work(db_url) as s:
        store = new_store(s, A=10)
        a, _ = svc.upsert_order(s, store, incoming("M1"), actor="connector:jd")
        b, _ = svc.upsert_order(s, store, incoming("M2", buyer_account="other"),
                                actor="connector:jd")
        with pytest.raises(ms.MergeRefused) as info:
            svc.merge(s, [a, b], actor="user:alice")
        assert "M2" in str(info.value) and "M1" in str(info.value)
        c, _ = svc.upsert_order(s, store, incoming("M3"), actor="connector:jd")
        svc.mark_shipped(s, c, carrier_id="467", waybill="SF1", actor="user:alice")
        with pytest.raises(ms.MergeRefused) as info:
            svc.merge(s, [a, c], actor="user:alice")
        assert info.value.key == "orders.merge_closed"


def test_split_explicit_groups(db_url: str) -> None:
    with unit_of_work(db_url) as s:
        store = new_store(s, A=10, B=10)
        order, _ = svc.upsert_order(s, store, incoming("S1", lines=[("A", 3, "10"),
                                                                    ("B", 1, "5")]),
                                    actor="connector:jd")
        a, b = s.scalars(select(OrderLine.id).where(OrderLine.order_id == order.id)
                         .order_by(OrderLine.line_no)).all()
        shipments = svc.split(s, order, [{a: 2}, {a: 1, b: 1}], actor="user:alice")
        assert len(shipments) == 2
        assert all(sh.warehouse_id is not None for sh in shipments)
        assert parcels(s, order) == [("cancelled", [3, 1]), ("open", [2]), ("open", [1, 1])]
        last = events(s, order)[-1]
        assert last.kind == "split"
        assert json.loads(last.data_json)["parcels"] == [{"1": 2}, {"1": 1, "2": 1}]
        with pytest.raises(ms.SplitRefused) as info:
            svc.split(s, order, [{a: 3}, {b: 2}], actor="user:alice")
        assert localise(info.value, "zh-CN") == "订单 S1 的商品行 2 共 1 件，拆分后是 2 件"
        svc.mark_shipped(s, order, carrier_id="467", waybill="SF1", actor="user:alice")
        assert parcels(s, order)[1:] == [("shipped", [2]), ("shipped", [1, 1])]
        with pytest.raises(ms.SplitRefused) as info:
            svc.split(s, order, [{a: 2}, {a: 1, b: 1}], actor="user:alice")
        assert info.value.key == "orders.split_stage"


def test_split_by_warehouse(sqlite_db_url: str) -> None:
    db_url = sqlite_db_url  # the rule, not the database, is under test
    from storeops.inventory import service as inv

    with unit_of_work(db_url) as s:
        store = new_store(s, A=2)
        inv.add_warehouse(s, store.id, "north", "北仓")
        inv.receive(s, store.id, "A", 2, warehouse="north", actor="user:t")
        order, _ = svc.upsert_order(s, store, incoming("W1", lines=[("A", 3, "10")]),
                                    actor="connector:jd")
        assert order.stage == "allocated"
        held = {w for _, w, _ in svc._held_picks(s, order)}
        assert len(held) == 2  # neither warehouse has 3
        assert [st for st, _ in parcels(s, order)] == ["open", "open"]  # one per warehouse
        shipments = svc.split_by_warehouse(s, order, actor="user:alice")
        assert sorted(sh.warehouse_id for sh in shipments) == sorted(held)
        assert sorted(sum(q) for _, q in parcels(s, order)[2:]) == [1, 2]
        other, _ = svc.upsert_order(s, store, incoming("W2", lines=[("A", 1, "10")]),
                                    actor="connector:jd")
        with pytest.raises(ms.SplitRefused) as info:
            svc.split_by_warehouse(s, other, actor="user:alice")
        assert info.value.key == "orders.split_nothing"


def test_split_by_stock(sqlite_db_url: str) -> None:
    db_url = sqlite_db_url  # the rule, not the database, is under test
    with unit_of_work(db_url) as s:
        store = new_store(s, A=1, B=5)
        order, _ = svc.upsert_order(s, store, incoming("K1", lines=[("A", 3, "10"),
                                                                    ("B", 1, "5")]),
                                    actor="connector:jd")
        assert order.stage == "under_review"  # out of stock: held
        shipments = svc.split_by_stock(s, order, actor="user:alice")
        assert [sh.state for sh in shipments] == ["open", "open"]
        assert parcels(s, order) == [("open", [1, 1]), ("open", [2])]
        # the rest arrives: approval keeps the planned parcels
        stock(s, store, A=5)
        svc.approve(s, order, actor="user:alice")
        assert order.stage == "allocated"
        assert parcels(s, order) == [("open", [1, 1]), ("open", [2])]
        full, _ = svc.upsert_order(s, store, incoming("K2", lines=[("B", 1, "5")]),
                                   actor="connector:jd")
        with pytest.raises(ms.SplitRefused) as info:
            svc.split_by_stock(s, full, actor="user:alice")
        assert info.value.key == "orders.split_nothing"
