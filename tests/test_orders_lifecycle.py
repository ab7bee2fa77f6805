"""The order lifecycle (pure): every legal step allowed, every other pair refused with an error
naming the order, from and to; JD's states mapped onto our stages."""

from __future__ import annotations

import itertools

import pytest

from storeops.common.errors import localise
from storeops.orders.lifecycle import (
    TRANSITIONS,
    IllegalTransition,
    Stage,
    check_transition,
    path,
    stage_for_status,
)
from storeops.orders.states import OrderStatus

S = Stage
LEGAL = {
    (S.RECEIVED, S.UNDER_REVIEW), (S.RECEIVED, S.SHIPPED), (S.RECEIVED, S.CANCELLED),
    (S.RECEIVED, S.LOCKED), (S.RECEIVED, S.PAUSED),
    (S.UNDER_REVIEW, S.ALLOCATED), (S.UNDER_REVIEW, S.SHIPPED), (S.UNDER_REVIEW, S.CANCELLED),
    (S.UNDER_REVIEW, S.LOCKED), (S.UNDER_REVIEW, S.PAUSED),
    (S.ALLOCATED, S.UNDER_REVIEW), (S.ALLOCATED, S.SHIPPED), (S.ALLOCATED, S.CANCELLED),
    (S.ALLOCATED, S.LOCKED), (S.ALLOCATED, S.PAUSED),
    (S.SHIPPED, S.FINISHED), (S.SHIPPED, S.CANCELLED), (S.SHIPPED, S.LOCKED),
    (S.FINISHED, S.LOCKED),
    (S.LOCKED, S.RECEIVED), (S.LOCKED, S.UNDER_REVIEW), (S.LOCKED, S.ALLOCATED),
    (S.LOCKED, S.SHIPPED), (S.LOCKED, S.FINISHED), (S.LOCKED, S.CANCELLED),
    (S.PAUSED, S.RECEIVED), (S.PAUSED, S.UNDER_REVIEW), (S.PAUSED, S.ALLOCATED),
    (S.PAUSED, S.CANCELLED), (S.PAUSED, S.LOCKED),
}
ALL_PAIRS = list(itertools.product(Stage, Stage))


def test_stage_values_are_lowercase_names() -> None:
    assert [s.value for s in Stage] == [s.name.lower() for s in Stage]


def test_the_table_is_the_documented_one() -> None:
    assert {(f, t) for f, tos in TRANSITIONS.items() for t in tos} == LEGAL


@pytest.mark.parametrize(("frm", "to"), sorted(LEGAL))
def test_legal_steps_pass(frm: Stage, to: Stage) -> None:
    check_transition(frm, to, "J1")


def test_every_other_pair_is_refused_naming_order_from_and_to() -> None:
    refused = [(f, t) for f, t in ALL_PAIRS if (f, t) not in LEGAL]
    assert len(refused) == 64 - len(LEGAL)
    for frm, to in refused:
        with pytest.raises(IllegalTransition) as info:
            check_transition(frm, to, "J42")
        err = info.value
        assert (err.frm, err.to, err.order) == (frm.value, to.value, "J42")
        assert "J42" in str(err) and frm.value.replace("_", " ") in str(err)
        assert to.value.replace("_", " ") in str(err)
        assert "J42" in localise(err, "zh-CN")


def test_refusal_in_chinese() -> None:
    err = IllegalTransition(S.CANCELLED, S.ALLOCATED, "J9")
    assert localise(err, "zh-CN") == "订单 J9：不能从「已取消」变为「已分配库存」"
    assert localise(err, "en") == "order J9: cannot go from cancelled to allocated"


def test_nothing_leaves_cancelled() -> None:
    assert all((S.CANCELLED, t) not in LEGAL for t in Stage)


def test_path_walks_legal_steps() -> None:
    assert path(S.RECEIVED, S.FINISHED) == [S.SHIPPED, S.FINISHED]
    assert path(S.ALLOCATED, S.ALLOCATED) == []
    assert path(S.PAUSED, S.ALLOCATED) == [S.ALLOCATED]
    with pytest.raises(IllegalTransition):
        path(S.CANCELLED, S.RECEIVED, "J1")
    with pytest.raises(IllegalTransition):
        path(S.FINISHED, S.UNDER_REVIEW, "J1")  # never through locked on the way
    for frm, to in ALL_PAIRS:  # every path found is made of legal steps
        try:
            steps = path(frm, to)
        except IllegalTransition:
            continue
        chain = [frm, *steps]
        assert all((a, b) in LEGAL for a, b in itertools.pairwise(chain))


St = OrderStatus


@pytest.mark.parametrize(("status", "current", "expected"), [
    (St.WAIT_PAY, None, S.RECEIVED),
    (St.WAIT_STOCK_OUT, None, S.RECEIVED),
    (St.WAIT_DELIVERY, None, S.RECEIVED),
    (St.SHIPPED, None, S.SHIPPED),
    (St.FINISHED, None, S.FINISHED),
    (St.CANCELLED, None, S.CANCELLED),
    (St.LOCKED, None, S.LOCKED),
    (St.PAUSED, None, S.PAUSED),
    (St.WAIT_STOCK_OUT, S.ALLOCATED, S.ALLOCATED),
    (St.WAIT_STOCK_OUT, S.UNDER_REVIEW, S.UNDER_REVIEW),
    (St.WAIT_STOCK_OUT, S.LOCKED, S.UNDER_REVIEW),
    (St.WAIT_STOCK_OUT, S.PAUSED, S.UNDER_REVIEW),
    (St.SHIPPED, S.ALLOCATED, S.SHIPPED),
    (St.SHIPPED, S.FINISHED, S.FINISHED),
    (St.SHIPPED, S.LOCKED, S.SHIPPED),
    (St.FINISHED, S.SHIPPED, S.FINISHED),
    (St.FINISHED, S.LOCKED, S.FINISHED),
    (St.CANCELLED, S.ALLOCATED, S.CANCELLED),
    (St.WAIT_STOCK_OUT, S.CANCELLED, S.CANCELLED),
    (St.FINISHED, S.CANCELLED, S.CANCELLED),
    (St.LOCKED, S.SHIPPED, S.LOCKED),
    (St.PAUSED, S.SHIPPED, S.SHIPPED),
    (St.PAUSED, S.UNDER_REVIEW, S.PAUSED),
    (St.WAIT_PAY, S.RECEIVED, S.RECEIVED),
    (St.CANCELLED, S.FINISHED, S.FINISHED),
])
def test_stage_for_status(status: OrderStatus, current: Stage | None, expected: Stage) -> None:
    assert stage_for_status(status, current) is expected


def test_stage_for_status_is_always_reachable() -> None:
    """Whatever JD says, the implied stage is reachable from the current one by legal steps."""
    for status in OrderStatus:
        for current in Stage:
            target = stage_for_status(status, current)
            path(current, target, "J1")  # raises if not
