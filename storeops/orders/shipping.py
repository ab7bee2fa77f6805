"""Shipping an order: its carrier and waybill, JD told first, then the order marked shipped.

``ship`` is the one path the CLI (one order or a file of them) and the pages use:

1. the carrier and the waybill are checked (:mod:`storeops.orders.carriers`);
2. the order is found by its platform order id; a shipped, finished, cancelled, locked
   (after-sales) or paused order, or an unpaid online one, is refused with a clear error;
3. an order not allocated yet is allocated first (``orders.service.allocate``, which reserves
   its stock and refuses when the stock does not allow it);
4. a JD order of a store with a JD connection is pushed to JD
   (``jingdong.pop.order.shipment`` through ``connectors.jd.push.push_shipment``), and
5. only when JD confirms is it marked shipped (``orders.service.mark_shipped``). When JD
   refuses, the order stays allocated, ``orders.ship_error`` and its open shipments'
   ``error`` hold JD's message, an event ``ship_failed`` records it, and the result says
   ``failed``: the caller commits this, so nothing is lost, and shows the error.

Like the other services it flushes and never commits.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from storeops.common.errors import StoreopsError
from storeops.orders.carriers import Carrier, parse_carrier, parse_waybill

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from storeops.catalog.models import Store
    from storeops.orders.models import Order

DONE_STAGES = ("shipped", "finished")
REFUSED_STAGES = ("cancelled", "locked", "paused")
DONE_STATUSES = ("shipped", "finished")  # JD's own state (orders imported from files)
REFUSED_STATUSES = ("cancelled", "locked", "paused")


class ShipError(StoreopsError):
    """An order that cannot be shipped (the message names the order and the store)."""


class AlreadyShipped(ShipError):
    """The order has shipped already (its stored carrier and waybill are in the params)."""

    carrier_id: str | None = None
    waybill: str | None = None


@dataclass
class ShipResult:
    """What ``ship`` did: ``outcome`` shipped | failed; ``pushed``: JD confirmed it;
    ``allocated``: this call allocated the order first; ``error``: JD's message on failure."""

    order_id: int
    platform_order_id: str
    outcome: str
    carrier_id: str
    carrier_name: str
    waybill: str
    pushed: bool = False
    allocated: bool = False
    error: str | None = None
    error_code: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "shipped"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _lock_order(session: Session, order: Order) -> None:
    """Two shippers of one order never both push it: the order's row is locked (PostgreSQL),
    or the database's write lock taken first (SQLite serialises writers)."""
    from storeops.db.engine import _take_write_lock

    conn = session.connection()
    if conn.dialect.name == "sqlite":
        _take_write_lock(conn)
        session.refresh(order)
    else:
        session.refresh(order, with_for_update=True)


def shipped_waybill(session: Session, order_id: int) -> tuple[str | None, str | None]:
    """(carrier id, waybill) of the order's shipped parcel, (None, None) when there is none."""
    from storeops.orders.models import Shipment, ShipmentLine

    row = session.execute(
        select(Shipment.carrier_id, Shipment.waybill)
        .join(ShipmentLine, ShipmentLine.shipment_id == Shipment.id)
        .where(ShipmentLine.order_id == order_id, Shipment.state == "shipped")
        .order_by(Shipment.shipped_at.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row else (None, None)


def check_shippable(session: Session, order: Order, store_name: str) -> None:
    """Raise :class:`AlreadyShipped` or :class:`ShipError` for an order that cannot ship."""
    ref = order.platform_order_id
    if order.stage in DONE_STAGES or order.status in DONE_STATUSES or order.shipped_at:
        carrier_id, waybill = shipped_waybill(session, order.id)
        error = AlreadyShipped(
            f"order {ref} of store {store_name} has already shipped"
            + (f" (waybill {waybill})" if waybill else ""),
            key="ship.already_shipped", order=ref, store=store_name, waybill=waybill or "—")
        error.carrier_id, error.waybill = carrier_id, waybill
        raise error
    stage = order.stage if order.stage in REFUSED_STAGES else (
        order.status if order.status in REFUSED_STATUSES else None)
    if stage is not None:
        raise ShipError(f"order {ref} of store {store_name} is {stage}: it cannot ship",
                        key=f"ship.order_{stage}", order=ref, store=store_name)
    if order.status == "wait_pay" and not order.cod:
        raise ShipError(f"order {ref} of store {store_name} is not paid yet: it cannot ship",
                        key="ship.order_unpaid", order=ref, store=store_name)


def _has_jd_connection(session: Session, store_id: int) -> bool:
    from storeops.connectors.jd.models import JdConnection

    return session.get(JdConnection, store_id) is not None


def _open_shipments(session: Session, order_id: int) -> list:
    from storeops.orders.models import Shipment, ShipmentLine

    return list(session.scalars(
        select(Shipment).join(ShipmentLine, ShipmentLine.shipment_id == Shipment.id)
        .where(ShipmentLine.order_id == order_id, Shipment.state == "open").distinct()
    ))


def _push(session: Session, store_id: int, platform_order_id: str, carrier_id: str,
          waybill: str) -> None:
    """``jingdong.pop.order.shipment`` through the connector; raises JosError when JD refuses."""
    from storeops.connectors.jd.push import push_shipment

    push_shipment(session, store_id, platform_order_id, carrier_id, waybill)


def jd_message(exc: Exception) -> tuple[str, str | None]:
    """(message, code) of a JOS error as JD said it."""
    code = getattr(exc, "jd_code", None)
    message = getattr(exc, "jd_message", None) or str(exc)
    return str(message), (str(code) if code is not None else None)


def ship(session: Session, store: Store, platform_order_id: str, carrier: str | Carrier,
         waybill: str, *, actor: str) -> ShipResult:
    """Ship one order (see the module's text). Raises :class:`ShipError` (or another
    ``StoreopsError``: an unknown order, a bad carrier or waybill, not enough stock) before
    anything is changed; returns a ``failed`` result, with the order's ``ship_error`` set,
    when JD refuses the shipment."""
    from storeops.connectors.jd.client import JosError
    from storeops.orders import service as orders

    chosen = carrier if isinstance(carrier, Carrier) else parse_carrier(carrier)
    number = parse_waybill(waybill)
    ref = str(platform_order_id).strip()
    order = orders.order_by_platform_id(session, store.id, ref)
    _lock_order(session, order)
    check_shippable(session, order, store.name)

    result = ShipResult(order.id, order.platform_order_id, "shipped", chosen.id, chosen.name,
                        number)
    if order.stage != "allocated":
        # Shipping it is approving it: review (if it was held) is lifted, the stock reserved
        # and the parcels planned. Not enough stock: the order is held instead, and this
        # error rolls that back with everything else.
        orders.approve(session, order, actor=actor)
        if order.stage != "allocated":
            raise ShipError(
                f"order {ref} of store {store.name} cannot be allocated: {order.hold_reason}",
                key="ship.not_allocated", order=ref, store=store.name,
                reason=order.hold_reason or "")
        result.allocated = True
    if order.channel == "jd" and _has_jd_connection(session, store.id):
        try:
            _push(session, store.id, order.platform_order_id, chosen.id, number)
        except JosError as exc:
            message, code = jd_message(exc)
            order.ship_error = message
            for parcel in _open_shipments(session, order.id):
                parcel.error = message
            orders.record_event(session, order, "ship_failed", actor=actor, reason=message,
                                data={"carrier_id": chosen.id, "waybill": number,
                                      "code": code})
            session.flush()
            result.outcome, result.error, result.error_code = "failed", message, code
            return result
        result.pushed = True
    orders.mark_shipped(session, order, carrier_id=chosen.id, waybill=number, actor=actor)
    order.ship_error = None
    for parcel in _open_shipments(session, order.id):  # whatever mark_shipped left open
        parcel.error = None
    session.flush()
    return result


def result_json(results: list[ShipResult]) -> str:
    return json.dumps([r.to_dict() for r in results], ensure_ascii=False)
