"""The jobs with the real connector, stock and orders: a sync and a stock push against the JOS
simulator over HTTP, unpaid own-channel orders expired, the demo's live orders."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from storeops.common.timeutil import utcnow
from storeops.connectors.jd.simulator import (
    DEFAULT_ACCESS_TOKEN,
    DEFAULT_APP_KEY,
    DEFAULT_APP_SECRET,
    JosSimulator,
)
from storeops.connectors.jd.sync import connect_store
from storeops.db.engine import unit_of_work
from storeops.jobs.queue import Jobs, make_jobs
from storeops.jobs.runner import in_process_worker


@pytest.fixture
def simulator() -> Iterator[JosSimulator]:
    sim = JosSimulator(seed=11)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


def _jobs(tmp_path: Path, db_url: str, **kwargs: object) -> Jobs:
    return make_jobs(db_url, redis=None, sqlite_file=str(tmp_path / "jobs.sqlite"),
                     **kwargs)  # type: ignore[arg-type]


def _connect(db_url: str, sim: JosSimulator, name: str = "旗舰店") -> int:
    store, _ = connect_store(db_url, name, app_key=DEFAULT_APP_KEY, app_secret=DEFAULT_APP_SECRET,
                             access_token=DEFAULT_ACCESS_TOKEN, gateway=sim.url)
    return store.id


def test_the_sync_task_brings_the_orders_in_once(db_url: str, tmp_path: Path,
                                                 simulator: JosSimulator) -> None:
    from storeops.orders.models import Order

    store_id = _connect(db_url, simulator)
    now = utcnow()
    simulator.generate(25, now - timedelta(hours=3), now - timedelta(minutes=5))
    jobs = _jobs(tmp_path, db_url, immediate=True)
    first = jobs.sync_store(store_id).get()
    assert first["fetched"] == 25 and first["created"] == 25, first
    again = jobs.sync_store(store_id).get()
    assert again["created"] == 0 and again["updated"] == 0
    with unit_of_work(db_url) as session:
        assert session.scalar(select(Order.id).where(Order.store_id == store_id)
                              .order_by(Order.id).limit(1)) is not None
        count = len(session.scalars(select(Order.id).where(Order.store_id == store_id)).all())
    assert count == 25


def test_a_refused_token_stops_the_sync_without_retrying(
        sqlite_db_url: str, tmp_path: Path, simulator: JosSimulator) -> None:
    from storeops.connectors.jd.models import JdConnection

    store_id = _connect(sqlite_db_url, simulator)
    simulator.expire_token()
    jobs = _jobs(tmp_path, sqlite_db_url, immediate=True)
    answer = jobs.sync_store(store_id).get()
    assert "旗舰店" in answer["error"] and "SyncError" in answer["error"]
    assert jobs.huey.scheduled() == []  # a new token is needed: no retry
    with unit_of_work(sqlite_db_url) as session:
        assert session.get(JdConnection, store_id).last_error
    assert not jobs.locks.is_locked(f"jd-sync-{store_id}")


def _stocked_store(db_url: str, sim: JosSimulator, stock: dict[str, int]) -> int:
    from storeops.catalog.models import Product
    from storeops.inventory.service import receive

    store_id = _connect(db_url, sim)
    with unit_of_work(db_url) as session:
        for sku, qty in stock.items():
            session.add(Product(store_id=store_id, platform_sku_id=sku, title=sku))
            session.flush()
            receive(session, store_id, sku, qty, actor="test")
    return store_id


def test_the_push_task_publishes_stock_and_a_refused_push_is_tried_again(
        db_url: str, tmp_path: Path, simulator: JosSimulator) -> None:
    from storeops.inventory.models import ChannelListing

    store_id = _stocked_store(db_url, simulator, {"1001": 12, "1002": 3})
    jobs = _jobs(tmp_path, db_url, immediate=True)
    simulator.expire_token()
    refused = jobs.push_stock(store_id).get()
    assert refused == {"store_id": store_id, "planned": 2, "pushed": 0, "failed": 2}
    assert simulator.stock == {}
    with unit_of_work(db_url) as session:
        listings = session.scalars(select(ChannelListing)).all()
        assert len(listings) == 2
        assert all(row.error and row.published_qty is None for row in listings)
    simulator.faults.expired_tokens.clear()
    done = jobs.push_stock(store_id).get()
    assert done == {"store_id": store_id, "planned": 2, "pushed": 2, "failed": 0}
    assert simulator.stock == {"1001": 12, "1002": 3}
    with unit_of_work(db_url) as session:
        assert {(row.published_qty, row.error) for row in
                session.scalars(select(ChannelListing))} == {(12, None), (3, None)}
    assert jobs.push_stock(store_id).get()["planned"] == 0  # nothing changed since


def test_unpaid_own_channel_orders_are_expired_by_the_minute_task(
        sqlite_db_url: str, tmp_path: Path, simulator: JosSimulator) -> None:
    from storeops.accounts.users import create_user
    from storeops.inventory.service import availability
    from storeops.orders.channel import ChannelBuyer, ChannelLine, ChannelOrder, submit
    from storeops.orders.models import Order

    store_id = _stocked_store(sqlite_db_url, simulator, {"1001": 5})
    with unit_of_work(sqlite_db_url) as session:
        user_id = create_user(session, "shop-api", "integration-pass-2026", "owner").id
    request = ChannelOrder(store="旗舰店", channel_order_id="W-1",
                           buyer=ChannelBuyer(account="buyer-1", address="上海市浦东新区"),
                           lines=(ChannelLine(sku="1001", qty=2, price=Decimal("9.90")),),
                           paid=False)
    submit(sqlite_db_url, user_id=user_id, actor="api:test", key="k-1", request=request,
           now=utcnow() - timedelta(hours=2))
    with unit_of_work(sqlite_db_url) as session:
        assert availability(session, store_id, ["1001"]) == {"1001": 3}
    jobs = _jobs(tmp_path, sqlite_db_url)
    assert jobs.expire_unpaid.call_local() == 1
    with unit_of_work(sqlite_db_url) as session:
        order = session.scalar(select(Order).where(Order.store_id == store_id))
        assert order.stage == "cancelled"
        assert availability(session, store_id, ["1001"]) == {"1001": 5}


def test_the_demo_store_gets_live_orders_and_can_be_built_again(
        sqlite_db_url: str) -> None:
    from storeops.catalog.models import Store
    from storeops.orders.models import Order
    from storeops.sim.demo import DEMO_STORE, reset_live_data, start_live_orders
    from storeops.sim.writer import build_demo_store

    def build() -> None:
        build_demo_store(sqlite_db_url, name=DEMO_STORE, days=2, seed=7, skus=12,
                         replace=True)

    build()
    with unit_of_work(sqlite_db_url) as session:
        before = len(session.scalars(select(Order.id)).all())
    live = start_live_orders(sqlite_db_url, seed=7, skus=12, orders_per_minute=0)
    try:
        live.simulator.tick(utcnow(), orders_per_minute=120, seconds=30)  # ~60 new orders
        made = len(live.simulator.orders)
        assert made > 0
        jobs = make_jobs(sqlite_db_url, redis=None, minutes=1)
        with in_process_worker(jobs, max_delay=0.2):
            # The worker's own round may be syncing the store already: then this one is
            # skipped, and asked again once that one is over.
            for _ in range(40):
                answer = jobs.sync_store(live.store_id).get(blocking=True, timeout=60)
                if not answer.get("busy"):
                    break
                time.sleep(0.5)
        assert "error" not in answer and not answer.get("busy"), answer
    finally:
        live.stop()
    with unit_of_work(sqlite_db_url) as session:
        store = session.scalar(select(Store).where(Store.name == DEMO_STORE))
        assert store.id == live.store_id
        after = len(session.scalars(select(Order.id)).all())
    assert after == before + made  # every live order, once
    # The next `storeops demo` rebuilds the store over what live orders added.
    reset_live_data(sqlite_db_url)
    build()
