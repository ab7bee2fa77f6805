"""Writing many own-channel orders in one transaction (``POST /api/v1/orders`` under load).

:func:`write_many` takes requests past :func:`storeops.orders.channel.prepare` and gives each
the answer :func:`storeops.orders.channel.write` would give it, but writes the plain ones
(paid, a key and an order id not seen before) together through the batched
order intake (:func:`storeops.orders.batch_intake.upsert_orders`: the same review, events,
allocation and stock ledger as one by one, with the shared reads done once and the products'
stock rows locked once), with their keys' rows in one insert and one commit.

Every other request is written alone by ``channel.write`` after the batch commits, so that it
answers exactly as today:

* unpaid orders;
* an order whose flash sale has sold out meanwhile (without Redis: the database's figure);
* a key or an order id seen before, or twice in the batch (the later one then finds the first
  one's answer, or is refused as a duplicate order);
* an order the stock cannot cover (checked under the batch's locks with the same allocation
  arithmetic): alone it gets its 409 ``out_of_stock`` with the shortages, and the batch's
  other orders are not affected.

Should anything in the batch fail all the same (a concurrent writer took an order id, a
review held an order that then lacked stock), the batch's transaction is rolled back — it
wrote nothing — and each of its requests is written alone.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Integer, any_, bindparam, null, select, tuple_, union_all
from sqlalchemy import cast as sql_cast

from storeops.inventory.batch_reserve import reserving
from storeops.orders import channel
from storeops.orders.channel import ChannelAnswer, Prepared
from storeops.orders.models import ChannelRequest, Order

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from storeops.catalog.models import Store
    from storeops.inventory.batch_reserve import StockBatch

log = logging.getLogger(__name__)

Result = ChannelAnswer | None | BaseException


def batchable(p: Prepared) -> bool:
    """Written with others: a paid order (its flash takes, if any, taken already)."""
    return p.request.paid


class _Fallback(Exception):
    """The batch cannot be written as planned: roll back, write each alone."""


def write_many(items: Sequence[Prepared], *, actor: str) -> list[Result]:
    """The answer of each request (as :func:`channel.write` gives it: a ChannelAnswer,
    None to prepare it again, or the exception it raised), the plain ones written in one
    transaction per database and store."""
    results: list[Result] = [None] * len(items)
    alone: list[int] = []
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i, p in enumerate(items):
        if batchable(p):
            groups[(p.db_url, p.store.id)].append(i)
        else:
            alone.append(i)
    for indexes in groups.values():
        # a group of one too: the batched intake writes one order for a fraction of what
        # the ORM path of channel.write costs
        try:
            written, later = _write_group(items, indexes, actor=actor)
        except Exception as exc:  # noqa: BLE001 - nothing was kept: each request alone
            log.debug("order batch of %d written one by one: %r", len(indexes), exc)
            alone.extend(indexes)
            continue
        for i, answer in written.items():
            results[i] = answer
        alone.extend(later)
    for i in sorted(alone):
        try:
            results[i] = channel.write(items[i], actor=actor)
        except Exception as exc:  # noqa: BLE001 - the request's own answer
            results[i] = exc
    return results


def _write_group(items: Sequence[Prepared], indexes: list[int], *, actor: str
                 ) -> tuple[dict[int, ChannelAnswer], list[int]]:
    """One transaction for the requests ``indexes`` (one database, one store): the answers
    written, and the requests left to write alone."""
    from storeops.db import pipelined
    from storeops.db.engine import unit_of_work
    from storeops.inventory import flash
    from storeops.inventory.locking import lock_for_stock_write
    from storeops.orders.batch_intake import insert_rows

    first = items[indexes[0]]
    db_url = first.db_url
    flash.mark_keys(db_url, [(items[i].user_id, items[i].key) for i in indexes])
    later: list[int] = []
    with unit_of_work(db_url) as session, pipelined.deferring(session):
        lock_for_stock_write(session)
        ahead = _read_ahead(session, items, indexes)
        todo, absent = _new_ones(session, items, indexes, later, ahead)
        if not todo:
            return {}, sorted(later)
        # the products' stock rows locked once: the coverage check below and the orders'
        # reservations read the same locked levels
        with reserving(session, first.store.id,
                       {pid for i in todo for pid in items[i].products.values()},
                       read_rows=None if ahead is None else ahead.stock) as stock:
            todo = _covered(items, todo, later, stock)
            todo = _flash_left(session, items, todo, later)
            if not todo:  # nothing written: the transaction ends empty, the few go alone
                return {}, sorted(later)
            answers = _write_orders(session, items, todo, absent, actor=actor,
                                    customer_rows=None if ahead is None else ahead.customers)
        insert_rows(session, ChannelRequest.__table__, [
            {"user_id": items[i].user_id, "idempotency_key": items[i].key,
             "body_sha256": items[i].digest, "status_code": a.status, "order_id": a.order_id,
             "created_at": items[i].now, "response_json": json.dumps(a.body,
                                                                     ensure_ascii=False)}
            for i, a in answers.items()])
    for i in answers:  # committed: the Redis takes are no longer pending
        for take in items[i].takes:
            flash.confirm_take(take)
    return answers, later


@dataclass
class _Ahead:
    """PostgreSQL: what the batch reads first, in one round trip (:func:`_read_ahead`)."""

    known: set[tuple[int, str]]  # (user id, key) of the batch's keys seen before
    taken: set[str]  # the batch's order ids stored already
    # batch_stock_reads' rows: warehouses, products and their levels (locked)
    stock: tuple[list[Any], list[Any], list[Any]]
    customers: list[Any]  # customers_read's rows: the buyers stored already


_CHANNEL = ChannelRequest.__table__.c
_ORDERS = Order.__table__.c
# the batch's keys (every pair of its users and keys: the exact pairs are picked after) and
# order ids, as statements built once (array parameters)
_KNOWN_KEYS = select(_CHANNEL.user_id, _CHANNEL.idempotency_key).where(
    _CHANNEL.user_id == any_(bindparam("user_ids")),
    _CHANNEL.idempotency_key == any_(bindparam("keys")))
_TAKEN_IDS = select(_ORDERS.platform_order_id).where(
    _ORDERS.store_id == bindparam("store_id"),
    _ORDERS.platform_order_id == any_(bindparam("order_ids")))


def _read_ahead(session: Session, items: Sequence[Prepared], indexes: list[int]
                ) -> _Ahead | None:
    """PostgreSQL: the batch's reads that do not depend on each other, in one round trip:
    its keys and order ids seen before, the store's review settings and blacklist, its
    warehouses, its products and their stock levels (locked, in id order), its buyers'
    customer rows, and ids for its new rows. None on SQLite (in process: nothing to save),
    where each is read when needed."""
    from storeops.db import pipelined
    from storeops.inventory.service import batch_stock_reads
    from storeops.members.models import Customer
    from storeops.orders import service
    from storeops.orders.batch_intake import customers_read, ids_read, keep_ids
    from storeops.orders.models import OrderLine, Shipment

    if session.connection().dialect.name != "postgresql":
        return None
    store_id = items[indexes[0]].store.id
    requests = [items[i].request for i in indexes]
    wanted = [(Order.__table__, len(indexes)),
              (OrderLine.__table__, sum(len(r.lines) for r in requests)),
              (Shipment.__table__, len(indexes)),  # a parcel per paid order from one warehouse
              (Customer.__table__, len({r.buyer.account for r in requests}))]
    reads = [
        (_KNOWN_KEYS, {"user_ids": sorted({items[i].user_id for i in indexes}),
                       "keys": [items[i].key for i in indexes]}),
        (_TAKEN_IDS, {"store_id": store_id,
                      "order_ids": [r.channel_order_id for r in requests]}),
        *service.review_reads(store_id),
        *batch_stock_reads(store_id, {pid for i in indexes
                                      for pid in items[i].products.values()}),
        customers_read(store_id, [r.buyer.account for r in requests]),
        ids_read(wanted)]
    (known, taken, settings, blacklist, warehouses, products, levels, customers,
     ids) = pipelined.read_together(session, reads)
    service.prime_review_reads(session, store_id, settings, blacklist)
    keep_ids(session, wanted, ids)
    return _Ahead({(u, k) for u, k in known}, {o for (o,) in taken},
                  (warehouses, products, levels), customers)


def _new_ones(session: Session, items: Sequence[Prepared], indexes: list[int],
              later: list[int], ahead: _Ahead | None = None) -> tuple[list[int], set[str]]:
    """The requests whose key and order id are new (first of each in the batch), and the
    order ids read as not stored; the others go to ``later``. ``ahead``: those reads made
    already."""
    store_id = items[indexes[0]].store.id
    keys = {(items[i].user_id, items[i].key) for i in indexes}
    order_ids = {items[i].request.channel_order_id for i in indexes}
    if ahead is not None:
        known, taken = ahead.known & keys, set(ahead.taken)
    else:
        # one Core statement for both (nothing is pending in the session yet): the keys
        # seen (user id, key) and the order ids taken (no user id)
        requests, orders = _CHANNEL, _ORDERS
        rows = session.execute(union_all(
            select(requests.user_id, requests.idempotency_key).where(
                tuple_(requests.user_id, requests.idempotency_key).in_(keys)),
            select(sql_cast(null(), Integer), orders.platform_order_id).where(
                orders.store_id == store_id, orders.platform_order_id.in_(order_ids)))).all()
        known = {(user_id, key) for user_id, key in rows if user_id is not None}
        taken = {order_id for user_id, order_id in rows if user_id is None}
    absent = order_ids - taken
    todo: list[int] = []
    seen_keys: set[tuple[int, str]] = set()
    for i in indexes:
        p = items[i]
        key, order_id = (p.user_id, p.key), p.request.channel_order_id
        if key in known or key in seen_keys or order_id in taken:
            later.append(i)
            continue
        seen_keys.add(key)
        taken.add(order_id)
        todo.append(i)
    return todo, absent


def _covered(items: Sequence[Prepared], todo: list[int], later: list[int],
             batch: StockBatch) -> list[int]:
    """The requests whose stock the locked levels cover, one after the other in the batch's
    order (the same allocation as the reservation); the others go to ``later`` (alone they
    get their 409 with the shortages)."""
    from storeops.inventory import service as stock
    from storeops.inventory.allocation import Need, WarehouseInfo, allocate

    warehouses = [WarehouseInfo(w.id, w.code, w.is_default, w.priority)
                  for w in batch.warehouses]
    free = {(lv.warehouse_id, lv.product_id): stock.level_available(lv)
            for lvs in batch.levels.values() for lv in lvs}
    fits: list[int] = []
    for i in todo:
        p = items[i]
        needs = [Need(n, p.products[line.sku], line.sku, line.qty)
                 for n, line in enumerate(p.request.lines)]
        plan = allocate(needs, warehouses, dict(free))
        if not plan.ok:
            later.append(i)
            continue
        for pick in plan.picks:
            free[(pick.warehouse_id, pick.product_id)] -= pick.quantity
        fits.append(i)
    return fits


def _flash_left(session: Session, items: Sequence[Prepared], todo: list[int],
                later: list[int]) -> list[int]:
    """Without Redis, a flash sale's quota left is read before writing (as alone does) and
    counted down over the batch; the requests it cannot serve go to ``later`` (alone they
    get their sold-out answer). With Redis the takes were made before."""
    from storeops.inventory.models import FlashSale

    sale_ids = {take.sale.id for i in todo for take in items[i].takes if take.keys is None}
    if not sale_ids:
        return todo
    left = dict(session.execute(select(FlashSale.id, FlashSale.quota - FlashSale.sold)
                                .where(FlashSale.id.in_(sale_ids))).all())
    fine = []
    for i in todo:
        takes = [t for t in items[i].takes if t.keys is None]
        if any((left.get(t.sale.id) or 0) < t.qty for t in takes):
            later.append(i)
            continue
        for t in takes:
            left[t.sale.id] -= t.qty
        fine.append(i)
    return fine


def _write_orders(session: Session, items: Sequence[Prepared], todo: list[int],
                  absent: set[str], *, actor: str,
                  customer_rows: Sequence[Any] | None = None) -> dict[int, ChannelAnswer]:
    """The orders of ``todo`` through the batched intake, each with its stock held; their
    answers (201). Raises _Fallback when one of them was not written as alone it would be.
    ``absent``: the order ids just read as not stored."""
    from storeops.common.money import line_amount_cents, to_price_units
    from storeops.inventory import flash
    from storeops.inventory.service import OutOfStock, reserve_order
    from storeops.orders.batch_intake import upsert_orders
    from storeops.orders.service import adopt_version

    ref = items[todo[0]].store
    # the store as prepare resolved it (id, name, time zone; cached per process): the intake
    # reads nothing else of it
    shop = cast("Store", ref)
    # as one by one: the store's data_version is bumped once, at the end (upsert_orders'
    # stamp_version), so that its row stays locked (PostgreSQL) only from then to the commit
    adopt_version(session, ref.id, 0)
    prices = {i: {take.sku: take.price for take in items[i].takes} for i in todo}
    incoming = [channel._incoming(items[i].request, prices[i], items[i].now) for i in todo]
    # the new orders come back as their written values (no ORM reload): the answer reads them
    written = upsert_orders(session, shop, incoming, actor=actor, load_orders=False,
                            absent=absent, stamp_version=True, customer_rows=customer_rows)
    orders = []
    for i, (order, outcome) in zip(todo, written, strict=True):
        if outcome != "created":
            raise _Fallback(f"order {order.platform_order_id} was {outcome}")
        if order.stage != "allocated":  # review held it: its stock is held all the same
            try:
                reserve_order(session, order, actor=actor)
            except OutOfStock as exc:
                raise _Fallback(f"order {order.platform_order_id} short of stock") from exc
        try:
            for take in items[i].takes:
                flash.take_in_db(session, take)
        except flash.FlashRefused as exc:
            raise _Fallback(f"order {order.platform_order_id}: flash sale") from exc
        for take in items[i].takes:
            flash.record_claim(session, take, order, state="sold")
        orders.append((i, order))
    answers: dict[int, ChannelAnswer] = {}
    for i, order in orders:
        p = items[i]
        rows = []
        for no, line in enumerate(p.request.lines, start=1):
            e4 = to_price_units(prices[i].get(line.sku, line.price))
            rows.append(channel._LineRow(no, line.sku, line.qty, e4,
                                         line_amount_cents(e4, line.qty),
                                         p.products[line.sku]))
        sales = {p.products[take.sku]: take.sale.id for take in p.takes}
        answers[i] = ChannelAnswer(201, channel.order_json(session, order, ref.name,
                                                           (rows, sales)), order_id=order.id)
    return answers


def run_batch(items: Sequence[Prepared], actors: Sequence[str]) -> list[Result]:
    """:func:`write_many` of requests of several actors (one call per actor)."""
    results: list[Result] = [None] * len(items)
    by_actor: dict[str, list[int]] = defaultdict(list)
    for i, actor in enumerate(actors):
        by_actor[actor].append(i)
    for actor, indexes in by_actor.items():
        for i, result in zip(indexes, write_many([items[i] for i in indexes], actor=actor),
                             strict=True):
            results[i] = result
    return results
