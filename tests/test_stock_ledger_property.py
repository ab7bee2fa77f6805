"""The ledger invariant after random sequences of receipts, adjustments, counts, transfers,
reservations, releases and shipments (hypothesis): ``check()`` finds nothing, on hand is the
sum of the movements, nothing is negative, and ``products.stock`` is the available total."""

from __future__ import annotations

from itertools import count as counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from stock_support import make_order, make_store, product_stock

from storeops.db.engine import unit_of_work
from storeops.inventory import service as stock
from storeops.inventory.models import StockLevel, StockMovement
from storeops.orders.models import Order

SKUS = ("A", "B")
WHS = ("default", "sh")
sku = st.sampled_from(SKUS)
wh = st.sampled_from(WHS)
qty = st.integers(1, 6)
op = st.one_of(
    st.tuples(st.just("receive"), sku, wh, qty),
    st.tuples(st.just("adjust"), sku, wh, st.integers(-6, 6).filter(bool)),
    st.tuples(st.just("count"), sku, wh, st.integers(0, 8)),
    st.tuples(st.just("transfer"), sku, wh, qty),
    st.tuples(st.just("reserve"), st.dictionaries(sku, qty, min_size=1)),
    st.tuples(st.just("release"), st.integers(0, 9)),
    st.tuples(st.just("ship"), st.integers(0, 9)),
    st.tuples(st.just("buffer"), sku, wh, st.integers(0, 3)),
)
stores = counter(1)


def _apply(s, sid: int, orders: list[int], step: tuple) -> None:
    kind = step[0]
    if kind == "receive":
        stock.receive(s, sid, step[1], step[3], warehouse=step[2], actor="t")
    elif kind == "adjust":
        stock.adjust(s, sid, step[1], step[3], warehouse=step[2], actor="t", note="x")
    elif kind == "count":
        stock.count(s, sid, step[1], step[3], warehouse=step[2], actor="t")
    elif kind == "transfer":
        other = WHS[1 - WHS.index(step[2])]
        stock.transfer(s, sid, step[1], step[3], from_warehouse=step[2], to_warehouse=other,
                       actor="t")
    elif kind == "buffer":
        stock.set_safety_buffer(s, sid, step[1], step[3], warehouse=step[2])
    elif kind == "reserve":
        order = make_order(s, sid, step[1])
        stock.reserve_order(s, order, actor="t")
        orders.append(order.id)  # an order short of stock is rolled back with its unit
    elif orders:
        order = s.get(Order, orders[step[1] % len(orders)])
        if kind == "release":
            stock.release_order(s, order, actor="t", reason="cancel")
        else:
            stock.ship_order_stock(s, order, actor="t")


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(op, min_size=1, max_size=14))
def test_ledger_invariant_after_random_operations(sqlite_db_url: str, steps: list) -> None:
    with unit_of_work(sqlite_db_url) as s:
        sid = make_store(s, name=f"店{next(stores)}", skus=SKUS)
        stock.add_warehouse(s, sid, "sh", "上海仓")
    orders: list[int] = []
    for step in steps:
        try:
            with unit_of_work(sqlite_db_url) as s:
                _apply(s, sid, orders, step)
        except stock.StockError:
            pass  # refused as a whole: the invariant must hold all the same
    with unit_of_work(sqlite_db_url) as s:
        assert stock.check(s, sid) == []
        for level in s.scalars(select(StockLevel).where(StockLevel.store_id == sid)):
            moved = s.scalar(select(func.coalesce(func.sum(StockMovement.on_hand_delta), 0))
                             .where(StockMovement.warehouse_id == level.warehouse_id,
                                    StockMovement.product_id == level.product_id))
            assert level.on_hand == moved
            assert 0 <= level.reserved <= level.on_hand and level.safety_buffer >= 0
        avail = stock.availability(s, sid, list(SKUS))
        for k in SKUS:
            assert product_stock(s, sid, k) in (None, avail[k])
