"""Unpaid own-channel orders hold their stock until their payment deadline
(``orders.pay_deadline`` = placed + the store's ``unpaid_hold_minutes``, 30 by default); then
:func:`expire_unpaid` cancels them, releases their stock and gives back their flash quota.
The jobs module runs it every minute (``expire_unpaid_task``)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from storeops.orders.models import Order
from storeops.orders.states import OrderStatus

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ACTOR = "system"
REASON = "unpaid: payment deadline passed"
BATCH = 500


def expire_order(session: Session, order: Order, *, actor: str = ACTOR) -> None:
    """Cancel one unpaid order now: stock released (orders service → inventory), flash
    quota given back, an event on its timeline."""
    from storeops.inventory.flash import return_quota
    from storeops.orders.service import cancel

    cancel(session, order, REASON, actor=actor)
    return_quota(session, order)


def expire_unpaid(session: Session, now: datetime) -> int:
    """Cancel the own-channel orders still unpaid at their deadline (at most BATCH per call,
    oldest deadline first); returns how many. Rows another worker is expiring or paying at
    the same moment are skipped (PostgreSQL ``SKIP LOCKED``)."""
    from storeops.inventory.locking import lock_for_stock_write

    lock_for_stock_write(session)
    orders = list(session.scalars(
        select(Order).where(Order.channel == "own", Order.status == OrderStatus.WAIT_PAY.value,
                            Order.pay_deadline.is_not(None), Order.pay_deadline <= now,
                            Order.stage != "cancelled")
        .order_by(Order.pay_deadline, Order.id).limit(BATCH)
        .with_for_update(skip_locked=True)))
    for order in orders:
        expire_order(session, order)
    session.flush()
    return len(orders)
