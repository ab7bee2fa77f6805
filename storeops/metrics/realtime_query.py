"""The orders of yesterday and today, read from the OLTP tables for the realtime view.

Straight from ``orders`` and ``order_lines`` (SQLAlchemy Core, one statement), not from the
analytics warehouse, whose snapshot is refreshed on a query's demand: the view is asked for
every minute and must show an order paid a minute ago. The rows are kept in the result cache
under the store's ``data_version`` (read before every answer), so a refresh costs one
primary-key read until an import or the simulator writes; the cut at "now" is applied by the
pure core (:func:`storeops.metrics.realtime.realtime`) on every request.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import and_, func, or_, select

from storeops.common.timeutil import utcnow
from storeops.db.engine import session_factory
from storeops.metrics.cache import cached
from storeops.metrics.realtime import OrderRow, Realtime, read_window, realtime
from storeops.orders.models import Order, OrderLine


def now() -> datetime:
    """The clock of the realtime page and API (a test replaces it to freeze time)."""
    return utcnow()


@cached
def window_orders(
    db_url: str, store_id: int, first: date, last: date, start: datetime, end: datetime
) -> tuple[OrderRow, ...]:
    """Orders placed on the store-local days ``first..last`` (下单, cash on delivery) or paid
    in the UTC range [start, end) (成交), each with its lines' total."""
    goods = func.coalesce(func.sum(OrderLine.amount_cents), 0)
    columns = (Order.id, Order.customer_id, Order.status, Order.cod, Order.placed_at,
               Order.placed_date, Order.paid_at, Order.cancelled_at, Order.freight_cents)
    stmt = (
        select(*columns, goods)
        .select_from(Order)
        .outerjoin(OrderLine, OrderLine.order_id == Order.id)
        .where(Order.store_id == store_id,
               or_(Order.placed_date.between(first, last),
                   and_(Order.paid_at >= start, Order.paid_at < end)))
        .group_by(*columns)
    )
    with session_factory(db_url)() as session:
        rows = session.execute(stmt).all()
    return tuple(
        OrderRow(order_id=r[0], customer_id=r[1], status=r[2], cod=bool(r[3]), placed_at=r[4],
                 placed_date=r[5], paid_at=r[6], cancelled_at=r[7], freight_cents=int(r[8] or 0),
                 goods_cents=int(r[9] or 0))
        for r in rows
    )


def realtime_figures(db_url: str, store_id: int, tz: str, now: datetime) -> Realtime:
    """Today up to ``now`` against yesterday up to the same time, for the store."""
    first, last, start, end = read_window(now, tz)
    return realtime(window_orders(db_url, store_id, first, last, start, end), now, tz)
