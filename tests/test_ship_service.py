"""Shipping an order (storeops.orders.shipping.ship and `storeops ship`): JD told first and
the order marked shipped only when JD confirms; a refusal leaves it allocated with JD's
message; an order not allocated yet is allocated first when its stock allows."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from web_seed import run_cli

from storeops.catalog.models import Store
from storeops.catalog.stores import get_or_create_store
from storeops.common.errors import StoreopsError, localise
from storeops.connectors.jd.client import JosError
from storeops.connectors.jd.models import JdConnection
from storeops.db.engine import unit_of_work
from storeops.inventory import service as stock
from storeops.orders import service as orders
from storeops.orders import shipping
from storeops.orders.incoming import IncomingLine, IncomingOrder
from storeops.orders.models import Order, OrderEvent, Shipment, ShipmentLine
from storeops.orders.shipping import AlreadyShipped, ShipError, ship
from storeops.orders.states import OrderStatus

STORE = "京东旗舰店"
PAID = datetime(2026, 12, 4, 1, 0, tzinfo=UTC)


class FakeJd:
    """Stands in for connectors.jd.push: records each push, refuses while ``refuse`` is set."""

    def __init__(self) -> None:
        self.pushed: list[tuple[str, str, str]] = []
        self.refuse: str | None = None

    def __call__(self, session: Any, store_id: int, order_id: str, carrier_id: str,
                 waybill: str) -> None:
        if self.refuse:
            raise JosError("10400001", self.refuse, method="jingdong.pop.order.shipment")
        self.pushed.append((order_id, carrier_id, waybill))


@pytest.fixture
def jd(monkeypatch: pytest.MonkeyPatch) -> FakeJd:
    fake = FakeJd()
    monkeypatch.setattr(shipping, "_push", fake)
    return fake


def incoming(ref: str, qty: int = 1, *, status: OrderStatus = OrderStatus.WAIT_STOCK_OUT
             ) -> IncomingOrder:
    return IncomingOrder(
        platform_order_id=ref, channel="jd", status=status, placed_at=PAID,
        paid_at=PAID if status is not OrderStatus.WAIT_PAY else None,
        lines=[IncomingLine("SKU-1", qty, Decimal("99.00"), title="保温杯")],
        buyer_account="jd_buyer", buyer_name="张三", buyer_phone="13800138000",
        province="上海", city="上海市", county="浦东新区", address="世纪大道 100 号")


@pytest.fixture
def shop(db_url: str) -> Callable[..., int]:
    """A connected JD store with 5 units of SKU-1; returns a maker of its orders."""
    with unit_of_work(db_url) as s:
        store, _ = get_or_create_store(s, STORE)
        s.add(JdConnection(store_id=store.id, app_key="k", app_secret_enc="x",
                           access_token_enc="x"))
        orders.upsert_order(s, store, incoming("SEED", 1, status=OrderStatus.FINISHED),
                            actor="system")  # makes SKU-1
        stock.receive(s, store.id, "SKU-1", 5, actor="test")

    def make(ref: str, qty: int = 1, **kw: Any) -> int:
        with unit_of_work(db_url) as s:
            store = s.scalar(select(Store).where(Store.name == STORE))
            order, _ = orders.upsert_order(s, store, incoming(ref, qty, **kw),
                                           actor="connector:jd")
            return order.id
    return make


def state(db_url: str, order_id: int) -> dict[str, Any]:
    with unit_of_work(db_url) as s:
        o = s.get(Order, order_id)
        parcels = s.execute(select(Shipment.state, Shipment.carrier_id, Shipment.waybill,
                                   Shipment.error)
                            .join(ShipmentLine, ShipmentLine.shipment_id == Shipment.id)
                            .where(ShipmentLine.order_id == order_id).distinct()).all()
        events = [e.kind for e in s.scalars(select(OrderEvent).where(
            OrderEvent.order_id == order_id).order_by(OrderEvent.id))]
        fail = s.scalar(select(OrderEvent).where(OrderEvent.order_id == order_id,
                                                 OrderEvent.kind == "ship_failed"))
        return {"stage": o.stage, "status": o.status, "ship_error": o.ship_error,
                "shipped_at": o.shipped_at, "parcels": [tuple(p) for p in parcels],
                "events": events, "fail_reason": fail.reason if fail else None,
                "fail_actor": (fail.actor_kind, fail.actor) if fail else None}


def do_ship(db_url: str, ref: str, carrier: str = "顺丰", waybill: str = "SF1234567890",
            actor: str = "user:alice") -> shipping.ShipResult:
    with unit_of_work(db_url) as s:
        store = s.scalar(select(Store).where(Store.name == STORE))
        return ship(s, store, ref, carrier, waybill, actor=actor)


def test_jd_confirms_then_shipped_with_event(db_url: str, shop: Callable[..., int],
                                            jd: FakeJd) -> None:
    oid = shop("1001")
    assert state(db_url, oid)["stage"] == "allocated"
    result = do_ship(db_url, "1001", "467", "sf1234567890")
    assert result.ok and result.pushed and not result.allocated
    assert jd.pushed == [("1001", "467", "SF1234567890")]
    after = state(db_url, oid)
    assert after["stage"] == "shipped" and after["status"] == "shipped"
    assert after["shipped_at"] is not None and after["ship_error"] is None
    assert after["parcels"] == [("shipped", "467", "SF1234567890", None)]
    assert after["events"][-1] == "shipped"
    with unit_of_work(db_url) as s:
        assert stock.stock_rows(s, s.scalar(select(Store.id).where(Store.name == STORE)),
                                "SKU-1")[0]["on_hand"] == 4


def test_jd_refuses_order_stays_allocated_with_reason(db_url: str, shop: Callable[..., int],
                                                      jd: FakeJd) -> None:
    oid = shop("1002")
    jd.refuse = "运单号不合法"
    result = do_ship(db_url, "1002")
    assert not result.ok and result.outcome == "failed"
    assert result.error == "运单号不合法" and result.error_code == "10400001"
    after = state(db_url, oid)
    assert after["stage"] == "allocated" and after["shipped_at"] is None
    assert after["ship_error"] == "运单号不合法"
    assert after["parcels"] == [("open", None, None, "运单号不合法")]
    assert after["events"][-1] == "ship_failed" and after["fail_reason"] == "运单号不合法"
    assert after["fail_actor"] == ("user", "alice")
    # corrected and shipped again: the error goes
    jd.refuse = None
    assert do_ship(db_url, "1002", "中通", "75312345678901").ok
    after = state(db_url, oid)
    assert after["stage"] == "shipped" and after["ship_error"] is None
    assert after["parcels"] == [("shipped", "1499", "75312345678901", None)]


def test_not_allocated_order_is_allocated_first(db_url: str, shop: Callable[..., int],
                                                jd: FakeJd) -> None:
    oid = shop("1003", qty=7)  # 5 in stock: held for a person
    assert state(db_url, oid)["stage"] == "under_review"
    with pytest.raises(ShipError) as err:
        do_ship(db_url, "1003")
    assert "1003" in localise(err.value, "zh-CN") and "无法配货" in localise(err.value, "zh-CN")
    before_events = state(db_url, oid)["events"]
    assert state(db_url, oid)["stage"] == "under_review" and jd.pushed == []
    with unit_of_work(db_url) as s:
        stock.receive(s, s.scalar(select(Store.id).where(Store.name == STORE)), "SKU-1", 5,
                      actor="test")
    result = do_ship(db_url, "1003")
    assert result.ok and result.allocated
    after = state(db_url, oid)
    assert after["stage"] == "shipped"
    assert after["events"][len(before_events):] == ["approved", "allocated", "shipped"]


def test_already_shipped_and_cancelled_are_refused(db_url: str, shop: Callable[..., int],
                                                   jd: FakeJd) -> None:
    shop("1004")
    do_ship(db_url, "1004", waybill="SF0000000001")
    with pytest.raises(AlreadyShipped) as err:
        do_ship(db_url, "1004", waybill="SF0000000002")
    assert err.value.waybill == "SF0000000001"
    assert localise(err.value, "zh-CN") == \
        f"订单 1004（店铺 {STORE}）已经发货（运单号 SF0000000001）"
    assert len(jd.pushed) == 1
    oid = shop("1005")
    with unit_of_work(db_url) as s:
        orders.cancel(s, s.get(Order, oid), "买家取消", actor="user:alice")
    with pytest.raises(ShipError) as err:
        do_ship(db_url, "1005")
    assert "已取消" in localise(err.value, "zh-CN")
    with pytest.raises(StoreopsError) as err:
        do_ship(db_url, "nope")
    assert "nope" in localise(err.value, "zh-CN")


def test_store_without_jd_connection_ships_without_pushing(db_url: str,
                                                          shop: Callable[..., int],
                                                          jd: FakeJd) -> None:
    oid = shop("1006")
    with unit_of_work(db_url) as s:
        s.delete(s.scalar(select(JdConnection)))
    result = do_ship(db_url, "1006", "EMS", "1234567890123")
    assert result.ok and not result.pushed and jd.pushed == []
    assert state(db_url, oid)["parcels"] == [("shipped", "465", "1234567890123", None)]


def test_cli_ships_one_order(db_url: str, shop: Callable[..., int], jd: FakeJd,
                             monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    shop("2001")
    code, out, err = run_cli(["ship", "--db", db_url, "--store", STORE, "--order", "2001",
                              "--carrier", "顺丰", "--waybill", "SF2001000001"],
                             monkeypatch, capsys)
    assert code == 0, err
    assert "订单 2001" in out and "已回传京东" in out and "467 顺丰快递" in out
    code, out, err = run_cli(["ship", "--db", db_url, "--store", STORE, "--order", "2001",
                              "--carrier", "顺丰", "--waybill", "SF2001000001"],
                             monkeypatch, capsys)
    assert code == 2 and "error:" in err and "已经发货" in err


def test_cli_jd_refusal_exits_non_zero_naming_order_and_message(
        db_url: str, shop: Callable[..., int], jd: FakeJd, monkeypatch: pytest.MonkeyPatch,
        capsys: Any) -> None:
    oid = shop("2002")
    jd.refuse = "该订单已出库"
    code, out, err = run_cli(["ship", "--db", db_url, "--store", STORE, "--order", "2002",
                              "--carrier", "467", "--waybill", "SF2002000001"],
                             monkeypatch, capsys, lang="en")
    assert code == 2
    assert "error:" in err and "2002" in err and "该订单已出库" in err
    assert state(db_url, oid)["ship_error"] == "该订单已出库"  # committed before the exit
    code, out, _ = run_cli(["ship", "--db", db_url, "--store", STORE, "--order", "2002",
                            "--carrier", "467", "--waybill", "SF2002000001", "--json"],
                           monkeypatch, capsys)
    assert code == 2 and json.loads(out)["outcome"] == "failed"


def test_cli_bad_carrier_and_missing_options(db_url: str, shop: Callable[..., int],
                                             jd: FakeJd, monkeypatch: pytest.MonkeyPatch,
                                             capsys: Any) -> None:
    shop("2003")
    code, _, err = run_cli(["ship", "--db", db_url, "--store", STORE, "--order", "2003",
                            "--carrier", "UPS", "--waybill", "SF2003000001"],
                           monkeypatch, capsys)
    assert code == 2 and "无法识别快递公司" in err and "467 顺丰快递" in err
    code, _, err = run_cli(["ship", "--db", db_url, "--store", STORE, "--order", "2003"],
                           monkeypatch, capsys)
    assert code == 2 and "--carrier" in err and "--waybill" in err
    assert jd.pushed == []


def test_due_time_set_from_payment(db_url: str, shop: Callable[..., int]) -> None:
    oid = shop("3001")
    with unit_of_work(db_url) as s:
        assert s.get(Order, oid).due_at == PAID + timedelta(hours=24)


def test_two_shippers_of_one_order_push_once(db_url: str, shop: Callable[..., int],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Two people ship the same order at the same moment: JD is told once, the other is told
    the order has shipped."""
    import threading
    import time

    shop("4001")
    pushed: list[str] = []

    def slow_push(session: Any, store_id: int, order_id: str, carrier_id: str,
                  waybill: str) -> None:
        pushed.append(waybill)
        time.sleep(0.3)  # JD takes its time: the other shipper arrives meanwhile

    monkeypatch.setattr(shipping, "_push", slow_push)
    outcomes: list[str] = []

    def run(waybill: str) -> None:
        try:
            outcomes.append(do_ship(db_url, "4001", waybill=waybill).outcome)
        except AlreadyShipped:
            outcomes.append("already_shipped")

    threads = [threading.Thread(target=run, args=(f"SF40010000{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["already_shipped", "shipped"]
    assert len(pushed) == 1
