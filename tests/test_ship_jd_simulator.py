"""`storeops ship` of orders synced from JD, against the JOS simulator over real HTTP: JD's
confirmation marks the order shipped; JD's refusal leaves it allocated with JD's message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from test_jd_sync import CONNECTOR_KEY, STORE, connect, sync
from web_seed import run_cli

from storeops.catalog.models import Product
from storeops.connectors.jd import push as jd_push
from storeops.connectors.jd.client import RetryPolicy
from storeops.connectors.jd.simulator import JosSimulator
from storeops.db.engine import unit_of_work
from storeops.inventory import service as stock
from storeops.orders.models import Order, OrderEvent, OrderLine


@pytest.fixture
def sim() -> Any:
    with JosSimulator(seed=5) as gateway:
        yield gateway


def stock_up(db_url: str) -> None:
    """Enough stock for every synced order's lines."""
    with unit_of_work(db_url) as s:
        for store_id, sku, qty in s.execute(
                select(Order.store_id, Product.platform_sku_id, OrderLine.quantity)
                .join(OrderLine, OrderLine.order_id == Order.id)
                .join(Product, Product.id == OrderLine.product_id)).all():
            stock.receive(s, store_id, sku, qty, actor="test")


def order(db_url: str, ref: str) -> Order:
    with unit_of_work(db_url) as s:
        return s.scalar(select(Order).where(Order.platform_order_id == ref))


def test_ship_against_the_simulator(db_url: str, sim: JosSimulator,
                                    monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    monkeypatch.setenv("STOREOPS_CONNECTOR_KEY", CONNECTOR_KEY)
    monkeypatch.setattr(jd_push, "PUSH_RETRY", RetryPolicy(2, 0.001, 0.01))
    now = datetime.now(UTC)
    ids = sim.generate(3, now - timedelta(hours=10), now - timedelta(hours=1),
                       unpaid_share=0, cancelled_share=0)
    connect(db_url, sim, monkeypatch, capsys)
    code, result, err = sync(db_url, monkeypatch, capsys, "--since",
                             (now - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S"))
    assert code == 0 and result["created"] == 3, err
    assert order(db_url, ids[0]).stage == "under_review"  # no stock yet: held
    stock_up(db_url)

    # JD confirms: allocated first, then shipped
    code, out, err = run_cli(["ship", "--db", db_url, "--store", STORE, "--order", ids[0],
                              "--carrier", "顺丰", "--waybill", "SF1000000001"],
                             monkeypatch, capsys)
    assert code == 0, err
    assert "已回传京东" in out and "先完成配货" in out
    assert [(s.order_id, s.carrier_id, s.waybill) for s in sim.shipments] == [
        (ids[0], "467", "SF1000000001")]
    assert sim.order(ids[0])["orderState"] == "WAIT_GOODS_RECEIVE_CONFIRM"
    shipped = order(db_url, ids[0])
    assert shipped.stage == "shipped" and shipped.ship_error is None

    # JD refuses (the buyer cancelled on JD, not synced yet): stays allocated, JD's words kept
    with unit_of_work(db_url) as s:
        from storeops.orders import service as orders

        orders.approve(s, s.scalar(select(Order).where(Order.platform_order_id == ids[1])),
                       actor="user:alice")
    sim.update_order(ids[1], orderState="TRADE_CANCELED")
    code, out, err = run_cli(["ship", "--db", db_url, "--store", STORE, "--order", ids[1],
                              "--carrier", "465", "--waybill", "1100000000001"],
                             monkeypatch, capsys)
    assert code == 2
    assert "error:" in err and ids[1] in err and "不能出库" in err
    refused = order(db_url, ids[1])
    assert refused.stage == "allocated" and refused.shipped_at is None
    assert "不能出库" in refused.ship_error
    with unit_of_work(db_url) as s:
        kinds = [e.kind for e in s.scalars(select(OrderEvent).where(
            OrderEvent.order_id == refused.id).order_by(OrderEvent.id))]
    assert kinds[-1] == "ship_failed"
    assert len(sim.shipments) == 1
