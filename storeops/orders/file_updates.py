"""What a file import does on the orders side, beside its bulk writes (called by
``storeops.importers.order_store``):

* new orders take the stage their JD state implies (in bulk: :func:`stage_expr`);
* a stored order that a later file changes gets one "updated" event naming the changed fields
  (old and new), and its stage follows its new state (cancelled, shipped, finished, locked …,
  each step an event). The importer replaces a changed order's lines, so stock the order held
  is settled first (shipped when the file says it left, else released) and an order that was
  allocated is allocated again afterwards. Only changed orders are touched, one by one; the
  bulk path of new and unchanged orders costs one column expression.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select

from storeops.common.timeutil import utcnow
from storeops.orders.lifecycle import BEFORE_SHIPPING, Stage, stage_for_status
from storeops.orders.models import Order, OrderEvent, OrderLine
from storeops.orders.states import OrderStatus

if TYPE_CHECKING:
    import polars as pl
    from sqlalchemy.orm import Session

ACTOR = "import"
# the order columns a file sets, compared for the "updated" event
COMPARED = ("status", "deleted", "customer_id", "placed_at", "paid_at", "finished_at",
            "goods_cents", "seller_discount_cents", "freight_cents", "paid_cents", "source",
            "cod")
NEW_STAGE = {s.value: stage_for_status(s, None).value for s in OrderStatus}
CHUNK = 900


def stage_expr() -> pl.Expr:
    """The ``stage`` column of new orders, from their ``status`` column."""
    import polars as pl

    return pl.col("status").replace_strict(NEW_STAGE, default="received",
                                           return_dtype=pl.String).alias("stage")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a.timestamp() == b.timestamp()
    return a == b


@dataclass
class Pending:
    """Changed orders between the importer's two calls."""

    old: dict[int, dict[str, Any]] = field(default_factory=dict)  # id → columns, stage, lines
    new: dict[int, dict[str, Any]] = field(default_factory=dict)  # id → the file's columns
    reallocate: set[int] = field(default_factory=set)


def before_replace(session: Session, store_id: int, changed: pl.DataFrame,
                   version: int) -> Pending:
    """Before the importer rewrites ``changed`` (db_id + the new ``COMPARED`` columns): keep
    the old values and lines, and settle the stock of orders that hold some. ``version``: the
    import's data_version, which every row the orders service changes meanwhile carries."""
    from storeops.orders import service as svc

    svc.adopt_version(session, store_id, version)
    pending = Pending()
    ids = changed.get_column("db_id").to_list()
    cols = [getattr(Order, c) for c in COMPARED]
    for i in range(0, len(ids), CHUNK):
        part = ids[i:i + CHUNK]
        for row in session.execute(select(Order.id, Order.stage, *cols)
                                   .where(Order.id.in_(part))):
            pending.old[row[0]] = {"stage": row[1], **dict(zip(COMPARED, row[2:], strict=True)),
                                   "lines": []}
        for row in session.execute(select(OrderLine.order_id, OrderLine.line_no,
                                          OrderLine.product_id, OrderLine.quantity,
                                          OrderLine.unit_price_e4, OrderLine.amount_cents)
                                   .where(OrderLine.order_id.in_(part))
                                   .order_by(OrderLine.order_id, OrderLine.line_no)):
            pending.old[row[0]]["lines"].append(tuple(row[1:]))
    for row in changed.select("db_id", *COMPARED).iter_rows(named=True):
        pending.new[row["db_id"]] = row
    holding = [i for i, old in pending.old.items() if old["stage"] == Stage.ALLOCATED.value]
    if holding:
        for order_id in holding:
            order = session.get(Order, order_id)
            assert order is not None
            status = OrderStatus(pending.new[order_id]["status"])
            target = stage_for_status(status, Stage.ALLOCATED)
            if target in (Stage.SHIPPED, Stage.FINISHED):
                svc._ship_stock(session, order, actor=ACTOR)
                svc._close_shipments(session, order, "shipped")
            else:
                svc._unallocate(session, order, actor=ACTOR, reason="file import")
                if target is Stage.ALLOCATED:
                    svc._move(session, order, Stage.UNDER_REVIEW, actor=ACTOR,
                              kind="under_review")
                    pending.reallocate.add(order_id)
        session.flush()
    return pending


def after_replace(session: Session, store_id: int, pending: Pending) -> None:
    """After the importer rewrote the orders and their lines: one "updated" event each for
    what changed, then the stage follows the new state."""
    if not pending.old:
        return
    ids = list(pending.old)
    new_lines: dict[int, list[tuple]] = {i: [] for i in ids}
    for i in range(0, len(ids), CHUNK):
        for row in session.execute(select(OrderLine.order_id, OrderLine.line_no,
                                          OrderLine.product_id, OrderLine.quantity,
                                          OrderLine.unit_price_e4, OrderLine.amount_cents)
                                   .where(OrderLine.order_id.in_(ids[i:i + CHUNK]))
                                   .order_by(OrderLine.order_id, OrderLine.line_no)):
            new_lines[row[0]].append(tuple(row[1:]))
    events = []
    moving = []
    for order_id, old in pending.old.items():
        new = pending.new[order_id]
        changed = {c: [_plain(old[c]), _plain(new[c])] for c in COMPARED
                   if not _same(old[c], new[c])}
        if old["lines"] != new_lines[order_id]:
            changed["lines"] = [[list(t[2:4]) for t in old["lines"]],
                                [list(t[2:4]) for t in new_lines[order_id]]]
        if changed:
            events.append({"store_id": store_id, "order_id": order_id,
                           "at": utcnow(), "kind": "updated",
                           "actor_kind": ACTOR, "actor": None,
                           "data_json": json.dumps({"changed": changed,
                                                    "fields": sorted(changed)},
                                                   ensure_ascii=False, sort_keys=True)})
        status = OrderStatus(new["status"])
        current = Stage(old["stage"]) if order_id not in pending.reallocate \
            else Stage.UNDER_REVIEW
        if stage_for_status(status, current) is not current or order_id in pending.reallocate:
            moving.append((order_id, status))
    if events:
        session.execute(insert(OrderEvent), events)
    if not moving:
        return
    from storeops.orders import service as svc

    for order_id, status in moving:
        order = session.get(Order, order_id, populate_existing=True)
        assert order is not None
        if Stage(order.stage) in BEFORE_SHIPPING and stage_for_status(
                status, Stage(order.stage)) in (Stage.SHIPPED, Stage.FINISHED):
            svc._close_shipments(session, order, "shipped")
        svc.follow_status(session, order, status, actor=ACTOR, review_received=False)
    session.flush()
