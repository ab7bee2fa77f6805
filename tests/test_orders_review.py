"""Review rules (pure): each hold reason, the defaults, the wording in both languages."""

from __future__ import annotations

import pytest

from storeops.orders import review as r
from storeops.orders.review import HoldReason, ReviewInput, ReviewRules, split_address

PLAIN = ReviewInput(amount_cents=9_900, quantity=1, buyer_remark=None, province="广东省",
                    city="深圳市", detail="科技园路1号", has_phone=True)


def codes(facts: ReviewInput, rules: ReviewRules | None = None) -> list[str]:
    return [h.code for h in r.review(facts, rules or ReviewRules())]


def test_a_plain_order_passes() -> None:
    assert codes(PLAIN) == []


def test_remark_holds_unless_switched_off() -> None:
    facts = ReviewInput(**{**PLAIN.__dict__, "buyer_remark": "请发顺丰"})
    assert r.review(facts, ReviewRules()) == [HoldReason("remark", {"remark": "请发顺丰"})]
    assert codes(facts, ReviewRules(hold_on_remark=False)) == []
    assert codes(ReviewInput(**{**PLAIN.__dict__, "buyer_remark": "  "})) == []


@pytest.mark.parametrize(("change", "missing"), [
    ({"province": None}, "province"),
    ({"city": ""}, "city"),
    ({"detail": None}, "detail"),
    ({"has_phone": False}, "phone"),
    ({"province": None, "has_phone": False}, "province,phone"),
])
def test_incomplete_address(change: dict, missing: str) -> None:
    facts = ReviewInput(**{**PLAIN.__dict__, **change})
    assert r.review(facts, ReviewRules()) == [HoldReason("address", {"missing": missing})]
    assert codes(facts, ReviewRules(hold_on_incomplete_address=False)) == []


def test_amount_over_limit() -> None:
    rules = ReviewRules(max_amount_cents=9_899)
    assert codes(PLAIN, rules) == ["amount"]
    assert codes(PLAIN, ReviewRules(max_amount_cents=9_900)) == []  # at the limit: fine


def test_quantity_over_limit() -> None:
    facts = ReviewInput(**{**PLAIN.__dict__, "quantity": 6})
    assert codes(facts, ReviewRules(max_quantity=5)) == ["quantity"]
    assert codes(facts, ReviewRules(max_quantity=6)) == []


def test_blacklisted_buyer() -> None:
    assert codes(ReviewInput(**{**PLAIN.__dict__, "blacklisted": True})) == ["blacklist"]


def test_brushing_n_orders_within_h_hours() -> None:
    rules = ReviewRules(brushing_orders=3, brushing_hours=24)
    assert codes(ReviewInput(**{**PLAIN.__dict__, "same_address_recent": 2}), rules) == []
    held = r.review(ReviewInput(**{**PLAIN.__dict__, "same_address_recent": 3}), rules)
    assert held == [HoldReason("brushing", {"count": 3, "orders": 3, "hours": 24})]
    # off unless both N and H are set
    assert codes(ReviewInput(**{**PLAIN.__dict__, "same_address_recent": 9}),
                 ReviewRules(brushing_orders=3)) == []


def test_manual_when_auto_approval_is_off() -> None:
    assert codes(PLAIN, ReviewRules(auto_approve=False)) == ["manual"]
    # a real reason is given instead of "manual"
    facts = ReviewInput(**{**PLAIN.__dict__, "blacklisted": True})
    assert codes(facts, ReviewRules(auto_approve=False)) == ["blacklist"]


def test_every_reason_at_once_in_order() -> None:
    facts = ReviewInput(amount_cents=100_000, quantity=10, buyer_remark="x", province=None,
                        city="c", detail="d", blacklisted=True, same_address_recent=5)
    rules = ReviewRules(max_amount_cents=1, max_quantity=1, brushing_orders=2, brushing_hours=1)
    assert codes(facts, rules) == list(r.RULES)


def test_wording_both_languages() -> None:
    from storeops.orders.service import hold_text

    reasons = [HoldReason("amount", {"amount_cents": 123_450, "limit_cents": 100_000}),
               HoldReason("address", {"missing": "city,phone"}),
               HoldReason("out_of_stock", {"skus": [
                   {"sku": "A1", "requested": 2, "available": 0}]})]
    assert hold_text(reasons) == ("订单金额 ¥1234.50 超过上限 ¥1000.00；"
                                  "地址不完整（缺少城市、电话）；"
                                  "缺货 / out of stock：SKU A1 需 2 件，可用 0 件")
    assert hold_text(reasons, "en") == (
        "amount ¥1234.50 over the limit of ¥1000.00; incomplete address (missing city, phone); "
        "out of stock: SKU A1 needs 2, 0 available")


@pytest.mark.parametrize(("text", "parts"), [
    ("广东省深圳市南山区科技园路1号", ("广东省", "深圳市", "南山区", "科技园路1号")),
    ("北京市朝阳区建国路88号", ("北京市", "北京市", "朝阳区", "建国路88号")),
    ("内蒙古自治区呼和浩特市新城区a路", ("内蒙古自治区", "呼和浩特市", "新城区", "a路")),
    ("广东省深圳市", ("广东省", "深圳市", None, None)),
    ("", (None, None, None, None)),
])
def test_split_address(text: str, parts: tuple) -> None:
    got = split_address(text)
    assert (got.province, got.city, got.county, got.detail) == parts
