"""The lifecycle of a promotion, coupon or points rule in the database (its ``status``).

draft → scheduled → live → ended, or cancelled from draft, scheduled or live. A scheduled
promotion whose terms change so that they take a SKU below its floor goes back to draft
(``scheduled → draft``) until it is approved and scheduled again. Ended and cancelled are
final. What is due at a moment: a scheduled promotion whose start has passed goes live, a live
one whose end has passed ends. Pure: no I/O.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from storeops.common.errors import StoreopsError, Term


class PromoStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"
    CANCELLED = "cancelled"


S = PromoStatus
STATUSES = tuple(s.value for s in PromoStatus)
FINAL = frozenset({S.ENDED, S.CANCELLED})
# What counts toward the store's offers (the engine, the 破价 audit).
ACTIVE = frozenset({S.SCHEDULED, S.LIVE})

TRANSITIONS: dict[PromoStatus, frozenset[PromoStatus]] = {
    S.DRAFT: frozenset({S.SCHEDULED, S.CANCELLED}),
    # back to draft: its terms changed and now need an approval before it may launch
    S.SCHEDULED: frozenset({S.LIVE, S.DRAFT, S.CANCELLED}),
    S.LIVE: frozenset({S.ENDED, S.CANCELLED}),
    S.ENDED: frozenset(),
    S.CANCELLED: frozenset(),
}


class StatusName(Term):
    """A status named in a message, in the reader's language
    (``errors.promotions.statuses.<status>``)."""

    section = "promotions.statuses"


class IllegalTransition(StoreopsError, ValueError):
    """A change of status the lifecycle does not allow; names the promotion, from and to."""


def parse_status(text: str) -> PromoStatus:
    try:
        return PromoStatus(text.strip().lower())
    except ValueError:
        choices = ", ".join(STATUSES)
        raise StoreopsError(f"unknown promotion status {text!r}: choose one of {choices}",
                            key="promotions.unknown_status", status=text,
                            choices=choices) from None


def can_move(current: PromoStatus | str, target: PromoStatus | str) -> bool:
    return PromoStatus(target) in TRANSITIONS[PromoStatus(current)]


def check_transition(code: str, current: PromoStatus | str, target: PromoStatus | str) -> None:
    """Raise :class:`IllegalTransition` unless ``current → target`` is allowed."""
    cur, tgt = PromoStatus(current), PromoStatus(target)
    if tgt in TRANSITIONS[cur]:
        return
    if cur in FINAL:
        raise IllegalTransition(
            f"promotion {code}: it is {cur.value}, nothing more can happen to it "
            f"(asked: {tgt.value})", key="promotions.final", code=code,
            status=StatusName(cur.value), target=StatusName(tgt.value))
    raise IllegalTransition(
        f"promotion {code}: cannot go from {cur.value} to {tgt.value} "
        f"(allowed: {', '.join(sorted(s.value for s in TRANSITIONS[cur]))})",
        key="promotions.illegal_transition", code=code, status=StatusName(cur.value),
        target=StatusName(tgt.value),
        allowed=", ".join(sorted(s.value for s in TRANSITIONS[cur])))


def due_path(status: PromoStatus | str, start: datetime | None, end: datetime | None,
             now: datetime) -> tuple[PromoStatus, ...]:
    """The statuses a promotion passes through by ``now`` on its own: a scheduled one whose
    start has passed (or has no start) goes live, and ends too when its end has passed; a
    live one ends when its end has passed (``end`` is exclusive). Empty: nothing is due."""
    cur = PromoStatus(status)
    path: list[PromoStatus] = []
    if cur is S.SCHEDULED and (start is None or start <= now):
        path.append(S.LIVE)
        cur = S.LIVE
    if cur is S.LIVE and end is not None and end <= now:
        path.append(S.ENDED)
    return tuple(path)
