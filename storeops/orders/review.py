"""Review rules (审单): which paid orders a person must look at before they are allocated.

Pure: the service gathers the facts (``ReviewInput``) and the store's settings
(``ReviewRules``); :func:`review` returns the reasons to hold, empty when the order may go on.
Each reason is a short code and its parameters (kept language-neutral in the order's events)
and is worded through the ``orders.hold.<code>`` catalog keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Rule codes, in the order they are checked (and shown).
REMARK = "remark"
ADDRESS = "address"
AMOUNT = "amount"
QUANTITY = "quantity"
BLACKLIST = "blacklist"
BRUSHING = "brushing"
MANUAL = "manual"  # auto-approval is off: every order waits for a person
OUT_OF_STOCK = "out_of_stock"  # not a review rule: allocation found too little stock
RULES = (REMARK, ADDRESS, AMOUNT, QUANTITY, BLACKLIST, BRUSHING)


@dataclass(frozen=True)
class ReviewRules:
    """A store's settings (``review_settings`` row; these defaults when it has none)."""

    auto_approve: bool = True
    hold_on_remark: bool = True
    hold_on_incomplete_address: bool = True
    max_amount_cents: int | None = None
    max_quantity: int | None = None
    brushing_orders: int | None = None  # N orders to one address …
    brushing_hours: int | None = None  # … within H hours
    ship_sla_hours: int = 24
    unpaid_hold_minutes: int = 30


@dataclass(frozen=True)
class ReviewInput:
    """What review needs to know about one order."""

    amount_cents: int
    quantity: int
    buyer_remark: str | None = None
    province: str | None = None
    city: str | None = None
    detail: str | None = None
    has_phone: bool = True
    blacklisted: bool = False
    # orders to the same address (this one included) placed within the brushing window
    same_address_recent: int = 1


@dataclass(frozen=True)
class HoldReason:
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def as_data(self) -> dict[str, Any]:
        return {"code": self.code, "params": self.params}


def review(facts: ReviewInput, rules: ReviewRules) -> list[HoldReason]:
    """Every reason to hold the order for a person; empty: approve (when auto-approval is on)."""
    reasons: list[HoldReason] = []
    if rules.hold_on_remark and facts.buyer_remark and facts.buyer_remark.strip():
        reasons.append(HoldReason(REMARK, {"remark": facts.buyer_remark.strip()[:200]}))
    if rules.hold_on_incomplete_address:
        missing = [name for name, value in (("province", facts.province), ("city", facts.city),
                                            ("detail", facts.detail))
                   if not (value and value.strip())]
        if not facts.has_phone:
            missing.append("phone")
        if missing:
            reasons.append(HoldReason(ADDRESS, {"missing": ",".join(missing)}))
    if rules.max_amount_cents is not None and facts.amount_cents > rules.max_amount_cents:
        reasons.append(HoldReason(AMOUNT, {"amount_cents": facts.amount_cents,
                                           "limit_cents": rules.max_amount_cents}))
    if rules.max_quantity is not None and facts.quantity > rules.max_quantity:
        reasons.append(HoldReason(QUANTITY, {"quantity": facts.quantity,
                                             "limit": rules.max_quantity}))
    if facts.blacklisted:
        reasons.append(HoldReason(BLACKLIST, {}))
    if brushing_on(rules) and facts.same_address_recent >= int(rules.brushing_orders or 0):
        reasons.append(HoldReason(BRUSHING, {"count": facts.same_address_recent,
                                             "orders": rules.brushing_orders,
                                             "hours": rules.brushing_hours}))
    if not reasons and not rules.auto_approve:
        reasons.append(HoldReason(MANUAL, {}))
    return reasons


def brushing_on(rules: ReviewRules) -> bool:
    return bool(rules.brushing_orders and rules.brushing_hours)


_CJK = re.compile(r"[\u4e00-\u9fff]")
_MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市", "北京", "天津", "上海", "重庆")
_ADDRESS = re.compile(
    r"^(?P<province>.+?(?:省|自治区|特别行政区))?"
    r"(?P<city>.+?(?:市|自治州|地区|盟))?"
    r"(?P<county>.+?(?:区|县|旗|市))?"
    r"(?P<detail>.*)$"
)


@dataclass(frozen=True)
class AddressParts:
    province: str | None
    city: str | None
    county: str | None
    detail: str | None


def split_address(text: str | None) -> AddressParts:
    """``广东省深圳市南山区科技园路1号`` → (广东省, 深圳市, 南山区, 科技园路1号); a municipality
    (北京市朝阳区…) is its own province and city. Text without Chinese characters is taken as
    a whole detail with province and city unknown-but-given (it cannot be split)."""
    raw = re.sub(r"\s+", "", text or "")
    if not raw:
        return AddressParts(None, None, None, None)
    if not _CJK.search(raw):
        whole = (text or "").strip()
        return AddressParts(whole, whole, None, whole)
    for city in _MUNICIPALITIES:
        if raw.startswith(city):
            rest = raw[len(city):]
            county = re.match(r"^(.+?(?:区|县))", rest)
            c = county.group(1) if county else None
            detail = rest[len(c):] if c else rest
            name = city if city.endswith("市") else city + "市"
            return AddressParts(name, name, c, detail or None)
    m = _ADDRESS.match(raw)
    assert m is not None  # the pattern matches any text
    parts = {k: (v or None) for k, v in m.groupdict().items()}
    return AddressParts(parts["province"], parts["city"], parts["county"], parts["detail"])
