"""Which warehouse(s) an order's lines are taken from (pure: no I/O).

The rule, in one place:

1. One parcel if at all possible: the first warehouse that can fill the *whole* order, trying
   the store's default warehouse first, then by ``priority`` (lower first), then by id.
2. Otherwise the order is spread: each SKU is taken from the warehouses holding most of it
   first (fewest parcels), ties broken by the same order as in 1.
3. A SKU whose total availability over every warehouse is below what the order asks for is a
   :class:`Shortage`; with any shortage nothing is allocated (all or nothing).

Availability below zero (a safety buffer above what is free) counts as zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class WarehouseInfo:
    id: int
    code: str
    is_default: bool = False
    priority: int = 0


@dataclass(frozen=True)
class Need:
    """``quantity`` units of product ``product_id`` (SKU ``sku``) for order line ``key``."""

    key: int
    product_id: int
    sku: str
    quantity: int


@dataclass(frozen=True)
class Pick:
    """Take ``quantity`` units of ``product_id`` for line ``key`` from ``warehouse_id``."""

    key: int
    product_id: int
    warehouse_id: int
    quantity: int


@dataclass(frozen=True)
class Shortage:
    """A SKU the order asks ``requested`` units of, with only ``available`` free."""

    sku: str
    requested: int
    available: int


@dataclass(frozen=True)
class Allocation:
    picks: list[Pick]
    shortages: list[Shortage]

    @property
    def ok(self) -> bool:
        return not self.shortages


def warehouse_order(warehouses: Sequence[WarehouseInfo]) -> list[WarehouseInfo]:
    """Default first, then by priority (lower first), then by id."""
    return sorted(warehouses, key=lambda w: (not w.is_default, w.priority, w.id))


def allocate(needs: Sequence[Need], warehouses: Sequence[WarehouseInfo],
             available: Mapping[tuple[int, int], int]) -> Allocation:
    """Picks for ``needs`` given ``available[(warehouse_id, product_id)]`` (missing = 0)."""
    ordered = warehouse_order(warehouses)

    def free(wid: int, pid: int) -> int:
        return max(0, available.get((wid, pid), 0))

    wanted: dict[int, int] = {}
    skus: dict[int, str] = {}
    for need in needs:
        if need.quantity <= 0:
            continue
        wanted[need.product_id] = wanted.get(need.product_id, 0) + need.quantity
        skus.setdefault(need.product_id, need.sku)
    shortages = []
    for pid, qty in wanted.items():
        total = sum(free(w.id, pid) for w in ordered)
        if total < qty:
            shortages.append(Shortage(skus[pid], qty, total))
    if shortages:
        return Allocation([], shortages)
    live = [n for n in needs if n.quantity > 0]
    for w in ordered:  # 1. one warehouse for the whole order
        if all(free(w.id, pid) >= qty for pid, qty in wanted.items()):
            return Allocation([Pick(n.key, n.product_id, w.id, n.quantity) for n in live], [])
    # 2. spread: most stock first, per SKU
    rank = {w.id: i for i, w in enumerate(ordered)}
    left = {(w.id, pid): free(w.id, pid) for w in ordered for pid in wanted}
    picks: list[Pick] = []
    for need in live:
        todo = need.quantity
        for w in sorted(ordered, key=lambda w: (-left[(w.id, need.product_id)], rank[w.id])):
            take = min(todo, left[(w.id, need.product_id)])
            if take <= 0:
                continue
            picks.append(Pick(need.key, need.product_id, w.id, take))
            left[(w.id, need.product_id)] -= take
            todo -= take
            if todo == 0:
                break
    return Allocation(picks, [])
