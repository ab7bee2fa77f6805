"""The allocation rule and the channel quantities, as pure functions (no database)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from storeops.inventory.allocation import Need, Shortage, WarehouseInfo, allocate
from storeops.inventory.channel_sync import listing_action, publish_quantity

DEFAULT = WarehouseInfo(1, "default", is_default=True, priority=5)
SH = WarehouseInfo(2, "sh", priority=1)
BJ = WarehouseInfo(3, "bj", priority=2)


def _picks(result):
    return sorted((p.key, p.warehouse_id, p.quantity) for p in result.picks)


def test_one_warehouse_for_the_whole_order_default_first() -> None:
    needs = [Need(10, 100, "A", 2), Need(11, 101, "B", 1)]
    stock = {(1, 100): 2, (1, 101): 1, (2, 100): 9, (2, 101): 9}
    assert _picks(allocate(needs, [SH, DEFAULT], stock)) == [(10, 1, 2), (11, 1, 1)]


def test_then_by_priority() -> None:
    needs = [Need(10, 100, "A", 2)]
    stock = {(1, 100): 1, (2, 100): 2, (3, 100): 5}
    assert _picks(allocate(needs, [BJ, SH, DEFAULT], stock)) == [(10, 2, 2)]


def test_spread_when_no_warehouse_has_it_all_most_stock_first() -> None:
    needs = [Need(10, 100, "A", 5), Need(11, 101, "B", 1)]
    stock = {(1, 100): 1, (2, 100): 3, (3, 100): 2, (1, 101): 1}
    result = allocate(needs, [DEFAULT, SH, BJ], stock)
    assert result.ok
    assert _picks(result) == [(10, 2, 3), (10, 3, 2), (11, 1, 1)]


def test_shortage_names_each_sku_and_allocates_nothing() -> None:
    needs = [Need(10, 100, "A", 3), Need(11, 100, "A", 2), Need(12, 101, "B", 1),
             Need(13, 102, "C", 1)]
    stock = {(1, 100): 4, (2, 101): -3, (1, 102): 1}
    result = allocate(needs, [DEFAULT, SH], stock)
    assert result.picks == []
    assert result.shortages == [Shortage("A", 5, 4), Shortage("B", 1, 0)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 5)), min_size=1, max_size=5),
       st.dictionaries(st.tuples(st.integers(1, 3), st.integers(0, 3)), st.integers(-2, 6)))
def test_allocation_never_takes_more_than_is_free(lines, stock) -> None:
    needs = [Need(i, pid, f"S{pid}", q) for i, (pid, q) in enumerate(lines)]
    result = allocate(needs, [DEFAULT, SH, BJ], stock)
    taken: dict[tuple[int, int], int] = {}
    for p in result.picks:
        taken[(p.warehouse_id, p.product_id)] = taken.get((p.warehouse_id, p.product_id), 0) \
            + p.quantity
    for key, q in taken.items():
        assert q <= max(0, stock.get(key, 0))
    if result.ok:
        for n in needs:
            assert sum(p.quantity for p in result.picks if p.key == n.key) == n.quantity
    else:
        assert not result.picks


def test_publish_quantity() -> None:
    assert publish_quantity(10, 100, 0) == 10
    assert publish_quantity(10, 80, 0) == 8
    assert publish_quantity(9, 50, 0) == 4  # floor
    assert publish_quantity(10, 80, 3) == 5
    assert publish_quantity(2, 100, 5) == 0  # never negative
    assert publish_quantity(-4, 100, 0) == 0
    assert publish_quantity(10, 0, 0) == 0


def test_delist_at_zero_relist_on_restock() -> None:
    assert listing_action(0, True) == "delist"
    assert listing_action(0, False) is None
    assert listing_action(3, False) == "relist"
    assert listing_action(3, True) is None
