"""Eligibility checks for flash sales, group buys and the 618 / 11.11 campaigns, and the
campaign timeline. Pure: facts in, a pass / fail / unknown verdict per requirement out.

Thresholds (domain reference §6):

- flash sale (秒杀): a slot of about 2 hours (at most 2 h), price ≤ 70% of the reference price,
  stock ≥ 200, product score ≥ 4.6, no violation in the last 30 days;
- group buy (拼购): a 2- or 5-person group, at least 15% off the reference price;
- 618 (May–June) and 11.11 (October–November): store score ≥ 4.5, sell-through in the
  category's top 30%, positive reviews ≥ 95%, no violation in the last 30 days; a promotion
  proposed for the campaign lies inside its months.

A fact that is not known (no score in the facts file, no price on the promotion) is
``unknown`` — the requirement cannot be checked — never a pass. Every verdict carries the
threshold and the actual value, worded by the ``promo_checks.reason.*`` catalogs.

Timeline of a campaign on day T: budget and goals at T−45, stock at T−30, creatives at T−20,
first review within 3 days after, full review within 7.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, ROUND_UP, Decimal
from enum import StrEnum
from typing import Any

# --- thresholds -----------------------------------------------------------------------------
FLASH_PRICE_SHARE = Decimal("0.70")
FLASH_MAX_HOURS = 2
FLASH_MIN_STOCK = 200
FLASH_MIN_PRODUCT_SCORE = Decimal("4.6")
GROUP_SIZES = (2, 5)
GROUP_MIN_OFF_PERCENT = Decimal("15")
CAMPAIGN_MIN_STORE_SCORE = Decimal("4.5")
CAMPAIGN_TOP_PERCENT = Decimal("30")
CAMPAIGN_MIN_POSITIVE_PERCENT = Decimal("95")
VIOLATION_DAYS = 30
DUE_SOON_DAYS = 7  # a timeline step within this many days is "due"
CENT = Decimal("0.01")


class CheckKind(StrEnum):
    FLASH_SALE = "flash_sale"
    GROUP_BUY = "group_buy"
    C618 = "618"
    C1111 = "1111"


SKU_KINDS = frozenset({CheckKind.FLASH_SALE, CheckKind.GROUP_BUY})
# campaign -> (month, day of T, first month, last month of the campaign period)
CAMPAIGNS = {CheckKind.C618: (6, 18, 5, 6), CheckKind.C1111: (11, 11, 10, 11)}
TIMELINE = (("budget", -45), ("stock", -30), ("creatives", -20), ("first_review", 3),
            ("full_review", 7))


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Facts:
    """What storeops does not hold and a facts file tells (None: not known)."""

    product_score: Decimal | None = None  # 0–5
    store_score: Decimal | None = None  # 0–5
    positive_review_rate: Decimal | None = None  # percent, 0–100
    violations_30d: int | None = None  # violations in the last 30 days
    sell_through_top_percent: Decimal | None = None  # rank in the category: top N%


@dataclass(frozen=True)
class Proposal:
    """The promotion being checked: its price (or off / percent off the reference price), its
    window and its group size."""

    code: str | None = None
    price: Decimal | None = None
    off: Decimal | None = None
    percent: Decimal | None = None
    start: datetime | None = None
    end: datetime | None = None
    group_size: int | None = None

    def price_for(self, reference: Decimal | None) -> Decimal | None:
        if self.price is not None:
            return self.price
        if reference is None:
            return None
        if self.off is not None:
            return reference - self.off
        if self.percent is not None:
            return (reference * (100 - self.percent) / 100).quantize(CENT, ROUND_HALF_UP)
        return None


@dataclass(frozen=True)
class Subject:
    """What is checked: a SKU (or the store, ``sku=None``) with the facts about it."""

    sku: str | None = None
    reference_price: Decimal | None = None  # the SKU's list price
    stock: int | None = None  # units available
    proposal: Proposal = field(default_factory=Proposal)
    store_facts: Facts = field(default_factory=Facts)
    sku_facts: Facts = field(default_factory=Facts)


@dataclass(frozen=True)
class Check:
    """One requirement's verdict; ``params`` fill its sentence (threshold and actual value)."""

    requirement: str
    status: Status
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"promo_checks.reason.{self.requirement}.{self.status.value}"

    def text(self, lang: str) -> str:
        from storeops.web.i18n import translate

        return translate(lang, self.key, **self.params)


@dataclass(frozen=True)
class Eligibility:
    kind: CheckKind
    sku: str | None
    checks: tuple[Check, ...]

    @property
    def status(self) -> Status:
        found = {c.status for c in self.checks}
        if Status.FAIL in found:
            return Status.FAIL
        return Status.UNKNOWN if Status.UNKNOWN in found else Status.PASS


def money(value: Decimal) -> str:
    return f"{value.quantize(CENT, ROUND_HALF_UP):.2f}"


def number(value: Decimal) -> str:
    """A score or a percent as written: ``4.6``, ``95``, ``96.5``."""
    text = format(value.normalize(), "f")
    return text


# --- the requirements --------------------------------------------------------------------------

def _flash_price(s: Subject) -> Check:
    ref = s.reference_price
    price = s.proposal.price_for(ref)
    if ref is None or price is None:
        return Check("flash_price", Status.UNKNOWN,
                     {"price": money(price) if price is not None else "?",
                      "reference": money(ref) if ref is not None else "?"})
    limit = ref * FLASH_PRICE_SHARE
    params = {"price": money(price), "reference": money(ref), "limit": money(limit),
              "share": number(FLASH_PRICE_SHARE * 100)}
    return Check("flash_price", Status.PASS if price <= limit else Status.FAIL, params)


def _flash_duration(s: Subject) -> Check:
    start, end = s.proposal.start, s.proposal.end
    if start is None or end is None:
        return Check("flash_duration", Status.UNKNOWN, {"limit": FLASH_MAX_HOURS})
    seconds = Decimal(int((end - start).total_seconds()))
    hours = (seconds / 3600).quantize(CENT, ROUND_UP)  # 2 h 1 s reads 2.01 h, never "2 h"
    ok = Decimal(0) < seconds <= FLASH_MAX_HOURS * 3600
    return Check("flash_duration", Status.PASS if ok else Status.FAIL,
                 {"hours": number(hours), "limit": FLASH_MAX_HOURS})


def _flash_stock(s: Subject) -> Check:
    if s.stock is None:
        return Check("flash_stock", Status.UNKNOWN, {"limit": FLASH_MIN_STOCK})
    return Check("flash_stock", Status.PASS if s.stock >= FLASH_MIN_STOCK else Status.FAIL,
                 {"stock": s.stock, "limit": FLASH_MIN_STOCK})


def _minimum(requirement: str, value: Decimal | None, limit: Decimal) -> Check:
    if value is None:
        return Check(requirement, Status.UNKNOWN, {"limit": number(limit)})
    return Check(requirement, Status.PASS if value >= limit else Status.FAIL,
                 {"value": number(value), "limit": number(limit)})


def _violations(s: Subject) -> Check:
    store, sku = s.store_facts.violations_30d, s.sku_facts.violations_30d
    known = [v for v in (store, sku) if v is not None]
    params = {"days": VIOLATION_DAYS}
    if any(v > 0 for v in known):
        return Check("violations", Status.FAIL, {**params, "value": sum(known)})
    if store is None:  # the store's record is what the platform checks
        return Check("violations", Status.UNKNOWN, params)
    return Check("violations", Status.PASS, {**params, "value": 0})


def _group_size(s: Subject) -> Check:
    size = s.proposal.group_size
    sizes = " / ".join(str(n) for n in GROUP_SIZES)
    if size is None:
        return Check("group_size", Status.UNKNOWN, {"sizes": sizes})
    return Check("group_size", Status.PASS if size in GROUP_SIZES else Status.FAIL,
                 {"value": size, "sizes": sizes})


def _group_discount(s: Subject) -> Check:
    ref = s.reference_price
    price = s.proposal.price_for(ref)
    if ref is None or price is None or ref <= 0:
        return Check("group_discount", Status.UNKNOWN,
                     {"limit": number(GROUP_MIN_OFF_PERCENT)})
    off = (ref - price) / ref * 100
    ceiling = ref * (100 - GROUP_MIN_OFF_PERCENT) / 100
    return Check("group_discount", Status.PASS if price <= ceiling else Status.FAIL,
                 {"price": money(price), "reference": money(ref),
                  "off": number(off.quantize(CENT, ROUND_HALF_UP)),
                  "limit": number(GROUP_MIN_OFF_PERCENT), "ceiling": money(ceiling)})


def _sell_through(s: Subject) -> Check:
    value = s.sku_facts.sell_through_top_percent
    if value is None:
        value = s.store_facts.sell_through_top_percent
    if value is None:
        return Check("sell_through", Status.UNKNOWN, {"limit": number(CAMPAIGN_TOP_PERCENT)})
    return Check("sell_through", Status.PASS if value <= CAMPAIGN_TOP_PERCENT else Status.FAIL,
                 {"value": number(value), "limit": number(CAMPAIGN_TOP_PERCENT)})


def campaign_period(kind: CheckKind, year: int) -> tuple[date, date]:
    """The campaign's months: 618 May 1 – June 30, 11.11 October 1 – November 30."""
    _, _, first_month, last_month = CAMPAIGNS[kind]
    last = date(year, last_month + 1, 1) - timedelta(days=1)
    return date(year, first_month, 1), last


def _campaign_window(kind: CheckKind, s: Subject, tz: Any) -> Check | None:
    start, end = s.proposal.start, s.proposal.end
    if start is None and end is None:
        return None  # no promotion window proposed: nothing to check
    moment = start or end
    assert moment is not None
    first_day = (start or moment).astimezone(tz).date()
    # The window's end is exclusive: its last day is the day of the moment before it.
    last_day = ((end - timedelta(microseconds=1)) if end else moment).astimezone(tz).date()
    first, last = campaign_period(kind, first_day.year)
    ok = first <= first_day and last_day <= last
    return Check("campaign_window", Status.PASS if ok else Status.FAIL,
                 {"start": first_day.isoformat(), "end": last_day.isoformat(),
                  "first": first.isoformat(), "last": last.isoformat(),
                  "campaign": campaign_name(kind)})


def campaign_name(kind: CheckKind) -> str:
    return {CheckKind.C618: "618", CheckKind.C1111: "11.11"}.get(kind, kind.value)


def check(kind: CheckKind | str, subject: Subject, *, tz: Any = None) -> Eligibility:
    """Every requirement of ``kind`` for ``subject``; ``tz``: the store's zone (campaign days)."""
    kind = CheckKind(kind)
    if tz is None:
        from storeops.common.timeutil import DEFAULT_TIMEZONE, zone

        tz = zone(DEFAULT_TIMEZONE)
    s = subject
    checks: list[Check]
    if kind is CheckKind.FLASH_SALE:
        checks = [_flash_price(s), _flash_duration(s), _flash_stock(s),
                  _minimum("product_score", s.sku_facts.product_score,
                           FLASH_MIN_PRODUCT_SCORE), _violations(s)]
    elif kind is CheckKind.GROUP_BUY:
        checks = [_group_size(s), _group_discount(s)]
    else:
        checks = [_minimum("store_score", s.store_facts.store_score, CAMPAIGN_MIN_STORE_SCORE),
                  _sell_through(s),
                  _minimum("positive_reviews", s.store_facts.positive_review_rate,
                           CAMPAIGN_MIN_POSITIVE_PERCENT),
                  _violations(s)]
        window = _campaign_window(kind, s, tz)
        if window is not None:
            checks.append(window)
    return Eligibility(kind, s.sku, tuple(checks))


# --- the campaign timeline ---------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    key: str  # budget | stock | creatives | first_review | full_review
    offset: int  # days from the campaign day
    due: date
    status: str  # overdue (its day has passed) | due (within 7 days) | upcoming

    def text(self, lang: str) -> str:
        from storeops.web.i18n import translate

        return translate(lang, f"promo_checks.timeline.{self.key}")


def campaign_day(kind: CheckKind | str, year: int) -> date:
    month, day, _, _ = CAMPAIGNS[CheckKind(kind)]
    return date(year, month, day)


def next_campaign_day(kind: CheckKind | str, today: date) -> date:
    """The campaign whose preparation or review is current: this year's, until its full
    review (T+7) has passed, then next year's."""
    day = campaign_day(kind, today.year)
    if today > day + timedelta(days=TIMELINE[-1][1]):
        day = campaign_day(kind, today.year + 1)
    return day


def timeline(day: date, today: date) -> tuple[Step, ...]:
    """The preparation and review steps of a campaign on ``day``, seen on ``today``."""
    steps = []
    for key, offset in TIMELINE:
        due = day + timedelta(days=offset)
        if due < today:
            status = "overdue"
        elif (due - today).days <= DUE_SOON_DAYS:
            status = "due"
        else:
            status = "upcoming"
        steps.append(Step(key, offset, due, status))
    return tuple(steps)


def eligibility_to_json(results: Sequence[Eligibility], lang: str) -> list[dict[str, Any]]:
    return [{"kind": r.kind.value, "sku": r.sku, "status": r.status.value,
             "checks": [{"requirement": c.requirement, "status": c.status.value,
                         "text": c.text(lang),
                         "params": {k: str(v) for k, v in c.params.items()}}
                        for c in r.checks]} for r in results]


def timeline_to_json(day: date, steps: Sequence[Step], lang: str) -> dict[str, Any]:
    return {"campaign_day": day.isoformat(),
            "steps": [{"step": s.key, "offset_days": s.offset, "due": s.due.isoformat(),
                       "status": s.status, "text": s.text(lang)} for s in steps]}
