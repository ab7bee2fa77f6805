"""Merging and splitting parcels (pure): which orders may share one parcel, and how an order's
lines are spread over several. The service (:mod:`storeops.orders.service`) reads the facts and
writes the shipments; these functions decide and explain refusals."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from storeops.common.errors import StoreopsError
from storeops.orders.lifecycle import OPEN_STAGES, Stage, StageName


class MergeRefused(StoreopsError, ValueError):
    """Orders that cannot share one parcel; says which order and why."""


class SplitRefused(StoreopsError, ValueError):
    """A split that does not account for the order's lines exactly; says which line."""


@dataclass(frozen=True)
class MergeCandidate:
    order: str  # platform order id
    store_id: int
    stage: str
    customer_id: int | None
    address_key: str | None
    # warehouses its held stock is in (empty: not allocated yet)
    warehouse_ids: frozenset[int] = frozenset()


def check_merge(orders: list[MergeCandidate]) -> int | None:
    """Refuse unless the orders are at least two, open (received, under review or allocated),
    of one store, one buyer and one address, with their stock (if any) in one warehouse.
    Returns that warehouse (None: none of them is allocated yet)."""
    if len({o.order for o in orders}) < 2:
        raise MergeRefused("merging needs at least two orders", key="orders.merge_one")
    first = orders[0]
    warehouses: set[int] = set()
    for o in orders:
        if o.store_id != first.store_id:
            raise MergeRefused("only orders of one store can be merged",
                               key="orders.merge_stores")
        if Stage(o.stage) not in OPEN_STAGES:
            raise MergeRefused(
                f"order {o.order} is {StageName(o.stage)}: only orders not shipped yet "
                "(received, under review, allocated) can be merged",
                key="orders.merge_closed", order=o.order, stage=StageName(o.stage))
        if o.customer_id is None or o.address_key is None:
            raise MergeRefused(
                f"order {o.order} has no buyer account or no address: it cannot be merged",
                key="orders.merge_guest", order=o.order)
        if (o.customer_id, o.address_key) != (first.customer_id, first.address_key):
            raise MergeRefused(
                f"order {o.order} has another buyer or address than {first.order}: "
                "it cannot be merged", key="orders.merge_buyer", order=o.order,
                first=first.order)
        warehouses |= o.warehouse_ids
    if len(warehouses) > 1:
        raise MergeRefused(
            "the orders' stock is held in different warehouses: one parcel leaves one "
            "warehouse", key="orders.merge_warehouse")
    return next(iter(warehouses), None)


@dataclass(frozen=True)
class LineQty:
    line_id: int
    line_no: int
    sku: str
    qty: int


Groups = list[dict[int, int]]  # one dict per parcel: order line id → units


def check_split(order: str, lines: list[LineQty], groups: Groups) -> Groups:
    """The groups, checked: at least two non-empty parcels, only the order's lines, whole
    positive units, and every unit of every line in exactly one parcel. Returns them without
    zero entries."""
    by_id = {line.line_id: line for line in lines}
    clean = [{int(k): int(v) for k, v in g.items() if int(v) != 0} for g in groups]
    if len(clean) < 2 or any(not g for g in clean):
        raise SplitRefused("a split needs at least two parcels, each with at least one unit",
                           key="orders.split_empty", order=order)
    given: dict[int, int] = {}
    for g in clean:
        for line_id, qty in g.items():
            if line_id not in by_id:
                raise SplitRefused(f"order {order} has no line {line_id}",
                                   key="orders.split_line", order=order, line=line_id)
            if qty < 0:
                raise SplitRefused(
                    f"order {order}: line {by_id[line_id].line_no} ({by_id[line_id].sku}) "
                    f"cannot have {qty} units in a parcel", key="orders.split_qty",
                    order=order, line=by_id[line_id].line_no, qty=by_id[line_id].qty,
                    given=qty)
            given[line_id] = given.get(line_id, 0) + qty
    for line in lines:
        if given.get(line.line_id, 0) != line.qty:
            raise SplitRefused(
                f"order {order}: line {line.line_no} ({line.sku}) has {line.qty} units, "
                f"the parcels hold {given.get(line.line_id, 0)}", key="orders.split_qty",
                order=order, line=line.line_no, qty=line.qty, given=given.get(line.line_id, 0))
    return clean


def groups_by_warehouse(picks: Iterable[tuple[int, int, int]]) -> Groups:
    """(order line id, warehouse id, units) of the held stock → one parcel per warehouse."""
    out: dict[int, dict[int, int]] = {}
    for line_id, warehouse_id, qty in picks:
        group = out.setdefault(warehouse_id, {})
        group[line_id] = group.get(line_id, 0) + qty
    return [out[w] for w in sorted(out)]


def groups_by_stock(lines: list[LineQty], available: Mapping[str, int]) -> Groups:
    """What can leave now (units in stock, first lines first) and the rest, as two parcels;
    a group comes out empty when everything, or nothing, is in stock."""
    left = dict(available)
    now: dict[int, int] = {}
    later: dict[int, int] = {}
    for line in sorted(lines, key=lambda x: x.line_no):
        take = max(0, min(line.qty, left.get(line.sku, 0)))
        left[line.sku] = left.get(line.sku, 0) - take
        if take:
            now[line.line_id] = take
        if line.qty - take:
            later[line.line_id] = line.qty - take
    return [now, later]
