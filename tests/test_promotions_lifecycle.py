"""The promotion lifecycle (storeops.pricing.lifecycle): every legal move, every illegal one
refused with a message naming the promotion, and what is due at a moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storeops.common.errors import localise
from storeops.pricing.lifecycle import (
    TRANSITIONS,
    IllegalTransition,
    PromoStatus,
    can_move,
    check_transition,
    due_path,
    parse_status,
)

S = PromoStatus
LEGAL = {
    (S.DRAFT, S.SCHEDULED), (S.DRAFT, S.CANCELLED),
    (S.SCHEDULED, S.LIVE), (S.SCHEDULED, S.DRAFT), (S.SCHEDULED, S.CANCELLED),
    (S.LIVE, S.ENDED), (S.LIVE, S.CANCELLED),
}
ALL_PAIRS = [(a, b) for a in S for b in S]


def test_the_table_is_exactly_the_issues_lifecycle() -> None:
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == LEGAL


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_legal_moves_pass(current: PromoStatus, target: PromoStatus) -> None:
    check_transition("P1", current, target)
    assert can_move(current.value, target.value)


@pytest.mark.parametrize(("current", "target"),
                         [p for p in ALL_PAIRS if p not in LEGAL])
def test_every_illegal_move_is_refused_naming_the_promotion(current: PromoStatus,
                                                            target: PromoStatus) -> None:
    assert not can_move(current, target)
    with pytest.raises(IllegalTransition) as info:
        check_transition("FLASH-618", current, target)
    message = str(info.value)
    assert "FLASH-618" in message and target.value in message
    zh = localise(info.value, "zh-CN")
    assert "FLASH-618" in zh and "promotion" not in zh  # Chinese words, not the English text


def test_final_statuses_say_so() -> None:
    with pytest.raises(IllegalTransition) as info:
        check_transition("M1", "ended", "live")
    assert "nothing more can happen" in str(info.value)
    assert localise(info.value, "zh-CN") == "促销 M1：已结束，不能再变为进行中"
    with pytest.raises(IllegalTransition) as info:
        check_transition("M1", "draft", "live")  # must be scheduled first
    assert "allowed: cancelled, scheduled" in str(info.value)


def test_parse_status() -> None:
    assert parse_status(" Live ") is S.LIVE
    with pytest.raises(Exception, match="unknown promotion status 'gone'"):
        parse_status("gone")


NOW = datetime(2026, 6, 18, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


def test_due_path() -> None:
    # scheduled, start passed, end ahead: goes live only
    assert due_path("scheduled", NOW - H, NOW + H, NOW) == (S.LIVE,)
    # start exactly now counts as passed; no start: due at once
    assert due_path("scheduled", NOW, None, NOW) == (S.LIVE,)
    assert due_path("scheduled", None, None, NOW) == (S.LIVE,)
    # start ahead: nothing
    assert due_path("scheduled", NOW + H, NOW + 2 * H, NOW) == ()
    # both passed while nobody looked: live, then ended
    assert due_path("scheduled", NOW - 2 * H, NOW - H, NOW) == (S.LIVE, S.ENDED)
    # live: ends when the (exclusive) end is reached, not before
    assert due_path("live", NOW - H, NOW, NOW) == (S.ENDED,)
    assert due_path("live", NOW - H, NOW + timedelta(seconds=1), NOW) == ()
    assert due_path("live", NOW - H, None, NOW) == ()
    # drafts and final statuses never move on their own
    for status in ("draft", "ended", "cancelled"):
        assert due_path(status, NOW - 2 * H, NOW - H, NOW) == ()
