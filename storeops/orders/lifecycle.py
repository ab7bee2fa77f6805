"""The lifecycle of an order on our side (its ``stage``), beside JD's own state (``status``).

received → under_review → allocated → shipped → finished, or cancelled; an order may be
locked (after-sales, 已锁定) or paused (暂停) on the way and comes back from there. Pure: no I/O.
"""

from __future__ import annotations

from collections import deque
from enum import StrEnum

from storeops.common.errors import StoreopsError, Term
from storeops.orders.states import OrderStatus


class Stage(StrEnum):
    RECEIVED = "received"
    UNDER_REVIEW = "under_review"
    ALLOCATED = "allocated"
    SHIPPED = "shipped"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    LOCKED = "locked"
    PAUSED = "paused"


S = Stage
# Open: not shipped, not finished, not cancelled (merge takes these; pause and lock keep them).
OPEN_STAGES = frozenset({S.RECEIVED, S.UNDER_REVIEW, S.ALLOCATED})
BEFORE_SHIPPING = frozenset({S.RECEIVED, S.UNDER_REVIEW, S.ALLOCATED})

TRANSITIONS: dict[Stage, frozenset[Stage]] = {
    # JD may ship an order we never handled (shipped from JD's own back office)
    S.RECEIVED: frozenset({S.UNDER_REVIEW, S.SHIPPED, S.CANCELLED, S.LOCKED, S.PAUSED}),
    S.UNDER_REVIEW: frozenset({S.ALLOCATED, S.SHIPPED, S.CANCELLED, S.LOCKED, S.PAUSED}),
    # back to review: a person holds an allocated order (its stock is released)
    S.ALLOCATED: frozenset({S.UNDER_REVIEW, S.SHIPPED, S.CANCELLED, S.LOCKED, S.PAUSED}),
    # cancelled after shipping: the buyer refused the parcel (拒收)
    S.SHIPPED: frozenset({S.FINISHED, S.CANCELLED, S.LOCKED}),
    S.FINISHED: frozenset({S.LOCKED}),  # after-sales on a finished order
    S.CANCELLED: frozenset(),
    # back from after-sales to wherever the order stood, or cancelled by it
    S.LOCKED: frozenset({S.RECEIVED, S.UNDER_REVIEW, S.ALLOCATED, S.SHIPPED, S.FINISHED,
                         S.CANCELLED}),
    S.PAUSED: frozenset({S.RECEIVED, S.UNDER_REVIEW, S.ALLOCATED, S.CANCELLED, S.LOCKED}),
}


class StageName(Term):
    """A stage named in a message: its words in the reader's language
    (``errors.orders.stages.<stage>``); in English "under review" …"""

    section = "orders.stages"

    def __new__(cls, stage: Stage | str) -> StageName:
        return super().__new__(cls, str(stage).replace("_", " "), str(stage))


class IllegalTransition(StoreopsError, ValueError):
    """A change of stage the lifecycle does not allow; names the order, from and to."""

    def __init__(self, frm: Stage | str, to: Stage | str, order: str | None = None) -> None:
        label = order or "?"
        super().__init__(
            f"order {label}: cannot go from {StageName(frm)} to {StageName(to)}",
            key="orders.illegal_transition", order=label, frm=StageName(frm),
            to=StageName(to))
        self.frm, self.to, self.order = str(frm), str(to), order


def is_legal(frm: Stage | str, to: Stage | str) -> bool:
    return Stage(to) in TRANSITIONS[Stage(frm)]


def check_transition(frm: Stage | str, to: Stage | str, order: str | None = None) -> None:
    """Raise :class:`IllegalTransition` unless ``frm → to`` is allowed (staying put is not a
    transition and is refused too)."""
    if not is_legal(frm, to):
        raise IllegalTransition(frm, to, order)


def path(frm: Stage | str, to: Stage | str, order: str | None = None) -> list[Stage]:
    """The shortest chain of legal steps from ``frm`` to ``to`` (without ``frm``; empty when
    they are the same), e.g. received → finished is [shipped, finished]; locked and paused
    are never passed through on the way. Refused: raise."""
    start, goal = Stage(frm), Stage(to)
    if start is goal:
        return []
    seen = {start: None}
    queue: deque[Stage] = deque([start])
    while queue:
        here = queue.popleft()
        for nxt in (s for s in Stage if s in TRANSITIONS[here]):
            if nxt in seen or (nxt in (S.LOCKED, S.PAUSED) and nxt is not goal):
                continue
            seen[nxt] = here
            if nxt is goal:
                steps = [nxt]
                while seen[steps[-1]] is not start:
                    steps.append(seen[steps[-1]])
                return steps[::-1]
            queue.append(nxt)
    raise IllegalTransition(start, goal, order)


def stage_for_status(status: OrderStatus | str, current: Stage | str | None) -> Stage:
    """The stage JD's state implies for an order now at ``current`` (None: a new order).

    Unpaid: received. Paid and waiting to ship: a new order is received (review comes next);
    one of ours keeps its stage, and one coming back from locked or paused goes to review
    again. Shipped, finished, cancelled, locked and paused follow JD, except that nothing
    leaves cancelled, a finished order is neither shipped again nor cancelled, and a shipped
    one is not paused.
    """
    status = OrderStatus(status)
    cur = Stage(current) if current is not None else None
    if cur is S.CANCELLED:
        return cur
    if status is OrderStatus.WAIT_PAY:
        return cur if cur in (S.RECEIVED, S.LOCKED, S.PAUSED) else (cur or S.RECEIVED)
    if status in (OrderStatus.WAIT_STOCK_OUT, OrderStatus.WAIT_DELIVERY):
        if cur is None:
            return S.RECEIVED
        if cur in (S.LOCKED, S.PAUSED):
            return S.UNDER_REVIEW
        return cur
    if status is OrderStatus.SHIPPED:
        return S.FINISHED if cur is S.FINISHED else S.SHIPPED
    if status is OrderStatus.FINISHED:
        return S.FINISHED
    if status is OrderStatus.CANCELLED:  # a finished order is undone by after-sales instead
        return S.FINISHED if cur is S.FINISHED else S.CANCELLED
    if status is OrderStatus.LOCKED:
        return S.LOCKED
    # paused: only before shipping
    if cur in (S.SHIPPED, S.FINISHED, S.LOCKED):
        return cur
    return S.PAUSED
