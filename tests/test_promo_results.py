"""What a promotion earned, the pure arithmetic: worked examples by hand (window figures,
the 4-week baseline, incremental GMV, discount cost, margin after cost and commission, ROI),
the 商智 成交 rule (cancelled and unpaid orders out, a later cancellation kept), lines outside
the promotion's scope left out."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal as D
from itertools import count

import pytest

from storeops.common.timeutil import zone
from storeops.pricing.model import Scope
from storeops.pricing.results import (
    SaleLine,
    SkuTerms,
    baseline_windows,
    promotion_results,
    results_dict,
)

TZ = "Asia/Shanghai"
SH = zone(TZ)
_ids = count(1)


def at(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def line(sku: str, qty: int, amount: str, paid: datetime | None, *, customer: int | None = 1,
         order: int | None = None, status: str = "finished", cancelled: datetime | None = None,
         placed: datetime | None = None, cod: bool = False) -> SaleLine:
    placed = placed or paid or at(2026, 11, 11, 10)
    return SaleLine(order_id=order or next(_ids), customer_id=customer, status=status, cod=cod,
                    placed_at=placed, placed_date=placed.date(), paid_at=paid,
                    cancelled_at=cancelled, sku=sku, quantity=qty, amount=D(amount))


TERMS = {
    # A: list 100, cost 40, category commission 5%; B: list 50, cost 20, the store's 8%.
    "A": SkuTerms(category="数码", list_price=D("100"), cost=D("40"), commission_rate=D("0.05"),
                  title="耳机"),
    "B": SkuTerms(category="家居", list_price=D("50"), cost=D("20"), commission_rate=D("0.08")),
    "C": SkuTerms(category="家居", list_price=D("30"), cost=D("10"), commission_rate=D("0.08")),
}
START, END = at(2026, 11, 11, 10), at(2026, 11, 11, 12)  # Wednesday 10:00–12:00


def worked_lines() -> list[SaleLine]:
    return [
        # --- during 11-11 10:00–12:00 ---
        line("A", 2, "160", at(2026, 11, 11, 10, 30), customer=1, order=1),  # list 200: 40 off
        line("C", 1, "30", at(2026, 11, 11, 10, 30), customer=1, order=1),  # outside the scope
        line("B", 1, "45", at(2026, 11, 11, 11), customer=2, order=2),  # 5 off
        line("A", 1, "80", at(2026, 11, 11, 11, 59), customer=1, order=3),  # 20 off
        # cancelled, time unknown: never a deal
        line("A", 5, "400", at(2026, 11, 11, 10, 40), order=4, status="cancelled"),
        # unpaid: never a deal
        line("A", 1, "80", None, order=5, placed=at(2026, 11, 11, 10, 50), status="wait_pay"),
        # paid at the end: the window is [start, end)
        line("A", 1, "80", at(2026, 11, 11, 12), order=6),
        # cancelled the next day: stays on the day it was paid; a guest (no customer)
        line("B", 2, "90", at(2026, 11, 11, 10, 10), customer=None, order=7,
             status="cancelled", cancelled=at(2026, 11, 12, 9)),  # 10 off
        # cancelled the same day: out
        line("B", 1, "50", at(2026, 11, 11, 10, 15), order=8, status="cancelled",
             cancelled=at(2026, 11, 11, 18)),
        # --- baseline: the same Wednesday hours of the 4 weeks before ---
        line("A", 1, "100", at(2026, 11, 4, 10, 5), customer=3, order=11),
        line("B", 1, "50", at(2026, 11, 4, 11), customer=4, order=12),
        line("A", 1, "100", at(2026, 10, 28, 11), customer=3, order=13),
        # 10-21: nothing
        line("A", 2, "200", at(2026, 10, 14, 11, 30), customer=5, order=14),
        line("A", 3, "300", at(2026, 10, 14, 12, 30), order=15),  # after the hours: out
        line("A", 3, "300", at(2026, 10, 15, 10, 30), order=16),  # a Thursday: out
        line("A", 3, "300", at(2026, 10, 7, 10, 30), order=17),  # a 5th week back: out
    ]


def test_worked_example_total_and_by_sku() -> None:
    r = promotion_results(worked_lines(), scope=Scope(skus=frozenset({"A", "B"})), start=START,
                          end=END, tz=TZ, terms=TERMS)
    t = r.total
    # During: orders 1, 2, 3, 7 (4 is cancelled, 5 unpaid, 6 at the end, 8 cancelled that day).
    # GMV 160 + 45 + 80 + 90 = 375 (C's 30 is outside the scope); units 2+1+1+2 = 6;
    # buyers: customers 1 and 2 and the guest order 7 = 3; AOV 375 / 4 = 93.75.
    assert (t.during.gmv, t.during.units, t.during.orders, t.during.buyers) == (
        D("375"), 6, 4, 3)
    assert t.during.aov == D("93.75")
    # Discount cost: A (200−160) + (100−80) = 60; B (50−45) + (100−90) = 15; total 75.
    assert t.discount_cost == D("75.00")
    # Margin: A 240 − 3×40 − 240×5% = 240 − 120 − 12 = 108;
    #         B 135 − 3×20 − 135×8% = 135 − 60 − 10.80 = 64.20; total 172.20.
    assert t.during.margin == D("172.20")
    # Baseline GMV: (100+50, 100, 0, 200) / 4 = 450 / 4 = 112.50; units (2, 1, 0, 2)/4 = 1.25;
    # orders (2, 1, 0, 1)/4 = 1. Margin: A (100, 100, 0, 200) − cost (40, 40, 0, 80) −
    # commission (5, 5, 0, 10) → (55, 55, 0, 110)/4 = 55; B (50 − 20 − 4)/4 = 6.50; 61.50.
    assert (t.baseline.gmv, t.baseline.units, t.baseline.orders) == (D("112.50"), D("1.25"), 1)
    assert t.baseline.margin == D("61.50")
    # Incremental GMV 375 − 112.50 = 262.50; incremental margin 172.20 − 61.50 = 110.70;
    # ROI 110.70 / 75 = 1.476.
    assert t.incremental_gmv == D("262.50")
    assert t.incremental_margin == D("110.70")
    assert t.roi == D("1.4760")
    a, b = r.skus  # by GMV: A 240, B 135
    assert (a.sku, a.title, a.during.gmv, a.during.units, a.during.orders, a.during.buyers) == (
        "A", "耳机", D("240"), 3, 2, 1)
    # A: incremental GMV 240 − 100 = 140; margin 108 − 55 = 53; ROI 53 / 60 = 0.8833…
    assert (a.incremental_gmv, a.incremental_margin, a.discount_cost, a.roi) == (
        D("140"), D("53"), D("60.00"), D("0.8833"))
    # B: 135 − 12.50 = 122.50; margin 64.20 − 6.50 = 57.70; ROI 57.70 / 15 = 3.8467
    assert (b.sku, b.during.buyers, b.incremental_gmv, b.incremental_margin, b.roi) == (
        "B", 2, D("122.50"), D("57.70"), D("3.8467"))
    assert [(d.day, d.gmv, d.baseline_gmv) for d in r.days] == [
        (date(2026, 11, 11), D("375"), D("112.50"))]
    assert r.no_cost == () and r.no_list_price == ()


def test_json_has_money_as_decimal_strings() -> None:
    r = promotion_results(worked_lines(), scope=Scope(skus=frozenset({"A", "B"})), start=START,
                          end=END, tz=TZ, terms=TERMS)
    data = results_dict(r)
    assert data["total"]["during"]["gmv"] == "375.00"
    assert data["total"]["baseline"]["units"] == "1.25"
    assert data["total"]["incremental_gmv"] == "262.50"
    assert data["total"]["roi"] == "1.4760"
    assert [s["sku"] for s in data["skus"]] == ["A", "B"]
    assert data["baseline_windows"][0] == ["2026-11-04T10:00:00+08:00",
                                           "2026-11-04T12:00:00+08:00"]


def test_scope_by_category_with_exclusion() -> None:
    # 家居 minus B: only C's line of order 1 (30) counts during; nothing in the baseline.
    scope = Scope(categories=frozenset({"家居"}), exclude_skus=frozenset({"B"}))
    r = promotion_results(worked_lines(), scope=scope, start=START, end=END, tz=TZ, terms=TERMS)
    assert [c.sku for c in r.skus] == ["C"]
    assert (r.total.during.gmv, r.total.baseline.gmv, r.total.discount_cost) == (
        D("30"), D("0.00"), D("0.00"))
    # No discount given (list 30, paid 30): ROI is None, not a division by zero.
    assert r.total.roi is None
    # Margin: 30 − 10 − 30×8% = 17.60, all incremental
    assert r.total.incremental_margin == D("17.60")


def test_baseline_windows_shift_by_whole_weeks() -> None:
    # Up to 7 days: back 7, 14, 21, 28 days, same hours.
    assert baseline_windows(START, END, TZ)[3] == (at(2026, 10, 14, 10), at(2026, 10, 14, 12))
    # 10 days (11-01 00:00 – 11-11 00:00): 2-week steps, back 14, 28, 42, 56 days, so that
    # no baseline window overlaps the promotion nor another.
    wins = baseline_windows(at(2026, 11, 1, 0), at(2026, 11, 11, 0), TZ)
    assert [w[0] for w in wins] == [at(2026, 10, 18, 0), at(2026, 10, 4, 0),
                                   at(2026, 9, 20, 0), at(2026, 9, 6, 0)]
    assert all(b <= a2 for (a2, _), (_, b) in zip(wins, wins[1:], strict=False))
    assert wins[0][1] <= at(2026, 11, 1, 0)
    # Exactly 7 days: one-week steps.
    assert baseline_windows(at(2026, 11, 1, 0), at(2026, 11, 8, 0), TZ)[0][0] == at(
        2026, 10, 25, 0)
    with pytest.raises(ValueError):
        baseline_windows(END, START, TZ)


def test_daily_series_over_two_days_and_cash_on_delivery() -> None:
    start, end = at(2026, 11, 11, 0), at(2026, 11, 13, 0)  # Wed + Thu
    lines = [
        line("A", 1, "80", at(2026, 11, 11, 23, 59)),
        # cash on delivery: counts when placed (no payment time)
        line("A", 1, "90", None, placed=at(2026, 11, 12, 8), cod=True, status="wait_ship"),
        line("A", 1, "100", at(2026, 11, 5, 9)),  # baseline Thursday (day 2), 1 week back
        line("A", 3, "300", at(2026, 10, 21, 9)),  # baseline Wednesday, 3 weeks back
    ]
    r = promotion_results(lines, scope=Scope(), start=start, end=end, tz=TZ, terms=TERMS)
    # Baseline per day: Wed 300/4 = 75; Thu 100/4 = 25.
    assert [(d.day.day, d.gmv, d.baseline_gmv) for d in r.days] == [
        (11, D("80"), D("75.00")), (12, D("90"), D("25.00"))]
    assert r.total.baseline.gmv == D("100.00")


def test_unknown_cost_and_list_price_count_zero_and_are_named() -> None:
    terms = {"X": SkuTerms(category=None)}
    r = promotion_results([line("X", 2, "50", at(2026, 11, 11, 11))], scope=Scope(),
                          start=START, end=END, tz=TZ, terms=terms)
    # No list price: discount cost 0; no cost, no commission: margin = GMV = 50.
    assert (r.total.discount_cost, r.total.during.margin, r.total.roi) == (
        D("0.00"), D("50"), None)
    assert r.no_list_price == ("X",) and r.no_cost == ("X",)


def test_sale_outside_every_window_is_ignored() -> None:
    r = promotion_results([line("A", 1, "80", at(2026, 11, 11, 12) + timedelta(days=1))],
                          scope=Scope(), start=START, end=END, tz=TZ, terms=TERMS)
    assert r.skus == () and r.total.during.gmv == 0 and r.total.during.aov is None


def test_cards_fall_green_and_empty_roi() -> None:
    from storeops.web.promo_results_page import cards

    # During: 50 (no discount: paid the list price). Baseline: 400 one week back → 100.
    lines = [line("C", 1, "30", at(2026, 11, 11, 11)), line("C", 1, "20", at(2026, 11, 11, 11)),
             line("C", 10, "400", at(2026, 11, 4, 11))]
    terms = {"C": SkuTerms(list_price=D("20"), cost=D("10"))}
    r = promotion_results(lines, scope=Scope(), start=START, end=END, tz=TZ, terms=terms)
    by_key = {c.key: c for c in cards(r, "zh-CN", "CNY")}
    # GMV 50 against 100: ▼ 50.0%, green (a fall)
    assert (by_key["gmv"].value, by_key["gmv"].change, by_key["gmv"].css) == (
        "¥50.00", "▼ 50.0%", "fall")
    assert (by_key["incremental_gmv"].value, by_key["incremental_gmv"].css) == ("¥-50.00",
                                                                                "fall")
    # Discount cost: (20 − 30) + (20 − 20) = −10: nothing given away, so no ROI.
    assert by_key["discount_cost"].value == "¥-10.00"
    assert by_key["roi"].value == "—" and "ROI 为空" in by_key["roi"].note
    big = promotion_results([line("C", 1, "123456", at(2026, 11, 11, 11))], scope=Scope(),
                            start=START, end=END, tz=TZ, terms=terms)
    gmv = {c.key: c for c in cards(big, "zh-CN", "CNY")}["gmv"]
    assert (gmv.value, gmv.exact) == ("¥12.35万", "¥123,456.00")
