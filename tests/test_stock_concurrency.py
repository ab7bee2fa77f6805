"""No oversell under real concurrency: threads with their own sessions reserve the same
stock at once, on PostgreSQL (row locks) and on a SQLite file (one writer at a time)."""

from __future__ import annotations

import random
import threading

from sqlalchemy import select
from stock_support import make_order, make_store, product_stock

from storeops.db.engine import unit_of_work
from storeops.inventory import service as stock
from storeops.inventory.locking import lock_for_stock_write
from storeops.orders.models import Order


def _run_threads(n: int, work) -> list[BaseException | None]:
    barrier = threading.Barrier(n)
    results: list[BaseException | None] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            work(i)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted on
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_twenty_buyers_ten_units_exactly_ten_reserved(db_url: str) -> None:
    with unit_of_work(db_url) as s:
        sid = make_store(s)
        stock.receive(s, sid, "A", 10, actor="u")
        order_ids = [make_order(s, sid, {"A": 1}).id for _ in range(20)]

    def reserve(i: int) -> None:
        with unit_of_work(db_url) as s:
            if i % 2:  # the documented way; reserve_order takes the lock itself too
                lock_for_stock_write(s)
            order = s.get(Order, order_ids[i])
            stock.reserve_order(s, order, actor=f"api:{i}")

    results = _run_threads(20, reserve)
    assert [type(r) for r in results if r is not None] == [stock.OutOfStock] * 10
    with unit_of_work(db_url) as s:
        [row] = stock.stock_rows(s, sid, "A")
        assert (row["on_hand"], row["reserved"], row["available"]) == (10, 10, 0)
        assert product_stock(s, sid, "A") == 0
        assert stock.check(s) == []


def test_mixed_orders_receipts_and_releases_at_once_never_deadlock_or_drift(
        db_url: str) -> None:
    skus = ("A", "B", "C")
    with unit_of_work(db_url) as s:
        sid = make_store(s, skus=skus)
        stock.add_warehouse(s, sid, "sh", "上海仓", priority=1)
        for sku in skus:
            stock.receive(s, sid, sku, 6, actor="u")
            stock.receive(s, sid, sku, 4, warehouse="sh", actor="u")
        rnd = random.Random(7)
        orders = []
        for _ in range(24):  # lines in every order of SKUs: lock order must not matter
            picked = rnd.sample(skus, rnd.randint(1, 3))
            orders.append(make_order(s, sid, {k: rnd.randint(1, 3) for k in picked}).id)

    def work(i: int) -> None:
        with unit_of_work(db_url) as s:
            lock_for_stock_write(s)
            if i % 6 == 5:
                stock.receive(s, sid, skus[i % 3], 2, warehouse="sh", actor="u")
                return
            order = s.get(Order, orders[i])
            try:
                stock.reserve_order(s, order, actor="api")
            except stock.OutOfStock:
                return
            if i % 4 == 0:
                stock.release_order(s, order, actor="api", reason="cancelled")
            elif i % 4 == 1:
                stock.ship_order_stock(s, order, actor="api")

    results = _run_threads(len(orders), work)
    assert [r for r in results if r is not None] == []
    with unit_of_work(db_url) as s:
        assert stock.check(s) == []
        for row in stock.stock_rows(s, sid):
            assert 0 <= row["reserved"] <= row["on_hand"]
        available = stock.availability(s, sid, list(skus))
        assert {k: product_stock(s, sid, k) for k in skus} == available
        assert s.scalar(select(Order.id).limit(1)) is not None
