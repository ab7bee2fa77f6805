"""Taking in a page of orders at once (the JD sync's pages of 100): ``upsert_orders``.

Each order still goes through the pieces of :func:`storeops.orders.service.upsert_order` —
the same review rules, content hash, masking, events and stage logic, in the same order — but
what the page needs is read once instead of once per order:

* the rows of the page's new orders, then their lines, inserted with one flush each (then
  each order's "received" event, review and stock in page order, as one by one; not when the
  brushing rule is on, which counts the orders stored before each one);
* the page's stored orders in one query (``service.intake_batch``: upsert_order looks there
  before it asks the database);
* the page's products and customers in one query each, the missing ones inserted together
  (masked contact and words of each one's first order, as the single path writes them);
* the stock of the page's new paid orders: its products and ``stock_levels`` rows locked once
  in id order (:func:`storeops.inventory.batch_reserve.reserving`), each new order reserved
  from them all or nothing (short of stock: held with the shortage, as one by one), and
  ``products.stock`` written once at the end;
* the orders' events kept in order and inserted together at the page's end (one
  executemany);
* the store's data_version is bumped once per transaction (``service.store_version``).

All or nothing per call: an order the service refuses raises (nothing of the call should be
kept: run it in a savepoint, as the connector does, and take the orders one by one then).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select

from storeops.catalog.models import Product
from storeops.members.masking import mask_contact
from storeops.members.models import Customer
from storeops.orders import service
from storeops.orders.models import Order, OrderEvent, Shipment, ShipmentLine
from storeops.orders.states import OrderStatus

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from storeops.catalog.models import Store
    from storeops.orders.incoming import IncomingOrder

KEY = "storeops_intake_batch"  # session.info, read by service.intake_batch
CHUNK = 500  # ids per IN (...) list


@dataclass
class IntakeBatch:
    """What the page's orders share, read once (platform order id → order or None, SKU →
    product, account → customer) and the page's new orders' lines (order id → lines)."""

    store_id: int
    orders: dict[str, Order | None] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)
    fresh_lines: dict[int, Sequence[Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)  # order_events rows, in order
    new_ids: set[int] = field(default_factory=set)  # the orders this page created
    # parcels of the page's new orders allocated in it, written at the page's end:
    # (order id, shipments, {order line id: units} per shipment, its "allocated" event row,
    # warehouse ids)
    shipments: list[tuple[int, list[Shipment], list[dict[int, int]], dict[str, Any],
                          list[int]]] = field(default_factory=list)


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[i:i + CHUNK] for i in range(0, len(values), CHUNK)]


def _prefetch(session: Session, store: Store, orders: Sequence[IncomingOrder]) -> IntakeBatch:
    batch = IntakeBatch(store.id)
    ids = list(dict.fromkeys(o.platform_order_id for o in orders))
    batch.orders = dict.fromkeys(ids)
    for chunk in _chunks(ids):
        for order in session.scalars(select(Order).where(
                Order.store_id == store.id, Order.platform_order_id.in_(chunk))):
            batch.orders[order.platform_order_id] = order
    first_line: dict[str, Any] = {}
    for o in orders:
        for line in o.lines:
            first_line.setdefault(line.sku, line)
    for chunk in _chunks(list(first_line)):
        for product in session.scalars(select(Product).where(
                Product.store_id == store.id, Product.platform_sku_id.in_(chunk))):
            batch.products[product.platform_sku_id] = product
    first_order: dict[str, IncomingOrder] = {}
    for o in orders:
        account = (o.buyer_account or "").strip()[:120]
        if account:
            first_order.setdefault(account, o)
    for chunk in _chunks(list(first_order)):
        for customer in session.scalars(select(Customer).where(
                Customer.store_id == store.id, Customer.platform_account.in_(chunk))):
            batch.customers[customer.platform_account] = customer
    new_products = [
        Product(store_id=store.id, platform_sku_id=sku, title=line.title,
                seller_code=line.seller_code, status="on_sale", row_version=0)
        for sku, line in first_line.items() if sku not in batch.products]
    if new_products:
        version = service.store_version(session, store.id)
        for product in new_products:
            product.row_version = version
    new_customers = [
        Customer(store_id=store.id, platform_account=account,
                 masked_contact=mask_contact(o.buyer_phone))
        for account, o in first_order.items() if account not in batch.customers]
    if new_products or new_customers:
        session.add_all(new_products)
        session.add_all(new_customers)
        session.flush()  # one INSERT … VALUES list per table
        batch.products.update((p.platform_sku_id, p) for p in new_products)
        batch.customers.update((c.platform_account, c) for c in new_customers)
    return batch


def _insert_new(session: Session, store: Store, incoming_list: Sequence[IncomingOrder],
                batch: IntakeBatch) -> dict[str, tuple[Order, list[Any], Any]]:
    """The rows of the page's new orders (those once in the page) and their lines, written
    with one flush each; their events, review and stock follow order by order. Not when the
    brushing rule is on: it counts the orders stored before each one."""
    from storeops.orders.review import brushing_on

    if brushing_on(service.settings_for(session, store.id)):
        return {}
    seen: dict[str, int] = {}
    for incoming in incoming_list:
        seen[incoming.platform_order_id] = seen.get(incoming.platform_order_id, 0) + 1
    todo = [incoming for incoming in incoming_list
            if seen[incoming.platform_order_id] == 1
            and batch.orders.get(incoming.platform_order_id) is None]
    if not todo:
        return {}
    prepared = [service.prepare(session, store, incoming) for incoming in todo]
    orders = [service.insert_order_row(session, store, incoming, values)
              for incoming, (_settings, _lines, values) in zip(todo, prepared, strict=True)]
    session.flush()
    written = {}
    for incoming, order, (settings, lines, _values) in zip(todo, orders, prepared, strict=True):
        order_lines = service.insert_line_rows(session, store, order, incoming, lines)
        written[incoming.platform_order_id] = (order, order_lines, settings)
        batch.orders[incoming.platform_order_id] = order
    session.flush()
    return written


def write_shipments(session: Session, batch: IntakeBatch) -> None:
    """The parcels of the page's allocated new orders: one insert for the parcels, one for
    their lines; each order's "allocated" event then names its parcels' ids."""
    parcels = [s for _o, shipments, _g, _e, _w in batch.shipments for s in shipments]
    session.add_all(parcels)
    session.flush()
    rows = []
    for order_id, shipments, groups, event, warehouses in batch.shipments:
        for shipment, group in zip(shipments, groups, strict=True):
            rows.extend({"shipment_id": shipment.id, "order_id": order_id,
                         "order_line_id": line_id, "quantity": qty}
                        for line_id, qty in group.items())
        event["data_json"] = json.dumps({"shipments": [s.id for s in shipments],
                                         "warehouses": warehouses}, ensure_ascii=False,
                                        sort_keys=True)
    if rows:
        session.execute(insert(ShipmentLine.__table__), rows)
    batch.shipments.clear()


def upsert_orders(session: Session, store: Store, incoming_list: Sequence[IncomingOrder], *,
                  actor: str) -> list[tuple[Order, str]]:
    """``upsert_order`` of each incoming order, in order, with the page's reads done once:
    the same orders, lines, events, stages, reservations and movements as one by one.
    Returns (order, "created" | "updated" | "unchanged") per incoming order."""
    if not incoming_list:
        return []
    if session.info.get(KEY) is not None:
        raise RuntimeError("upsert_orders: a batch is open on this session already")
    batch = _prefetch(session, store, incoming_list)
    # the products of the new orders that will want stock at once (paid, waiting to ship)
    wanting = {batch.products[line.sku].id for o in incoming_list
               if batch.orders.get(o.platform_order_id) is None
               and OrderStatus(o.status) in service.TO_SHIP
               for line in o.lines if line.sku in batch.products}
    session.info[KEY] = batch
    try:
        if wanting:
            from storeops.inventory.batch_reserve import reserving

            stock_ctx: Any = reserving(session, store.id, wanting, batch.fresh_lines)
        else:
            stock_ctx = nullcontext()
        with stock_ctx:
            written = _insert_new(session, store, incoming_list, batch)
            out = []
            for incoming in incoming_list:
                new = written.pop(incoming.platform_order_id, None)
                if new is None:
                    out.append(service.upsert_order(session, store, incoming, actor=actor))
                    continue
                order, order_lines, settings = new
                out.append((service.take_in_created(session, order, order_lines, incoming,
                                                    settings, actor=actor), "created"))
            if batch.shipments:
                write_shipments(session, batch)
            if batch.events:  # one executemany, in the order they happened
                session.execute(insert(OrderEvent.__table__), batch.events)
            return out
    finally:
        session.info.pop(KEY, None)
