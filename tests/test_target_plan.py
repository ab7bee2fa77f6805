"""A year's GMV plan (pure part): the parts always sum to the whole to the cent, shares follow
last year's, even shares without history, partial history filled in, pin and rebalance, and
edits that cannot balance are refused."""

from __future__ import annotations

import calendar
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storeops.metrics import target_plan as tp

D = Decimal
MONTH, QUARTER, CATEGORY, MONTH_CATEGORY = tp.MONTH, tp.QUARTER, tp.CATEGORY, tp.MONTH_CATEGORY
LAST_YEAR = {m: D(1000 * m) for m in range(1, 13)}  # December sells 12× January


def history(months: dict[int, Decimal] | None = None, **more) -> tp.History:  # noqa: ANN003
    months = LAST_YEAR if months is None else months
    return tp.History(
        months={m: tp.MonthFigures(v, D("0.025"), D("200")) for m, v in months.items()},
        **more)


def sums_hold(p: tp.Plan) -> None:
    """Every parent's total is exactly the sum of its parts."""
    assert sum(c.gmv for c in p.level(QUARTER)) == p.gmv
    for q in p.level(QUARTER):
        months = [c for c in p.level(MONTH) if tp.parent_of(c.key) == q.key]
        assert len(months) == 3 and sum(c.gmv for c in months) == q.gmv
    if p.by_category:
        assert sum(c.gmv for c in p.level(CATEGORY)) == p.gmv
        for m in p.level(MONTH):
            assert sum(c.gmv for c in p.month_categories(m.period)) == m.gmv
    for c in p.cells.values():
        assert c.gmv == c.gmv.quantize(D("0.01")) and c.gmv >= 0


amounts = st.decimals(min_value=0, max_value=D("99999999999.99"), places=2)
weights = st.dictionaries(st.integers(1, 12), st.decimals(min_value=0, max_value=10**9,
                                                          places=2), max_size=12)


@settings(max_examples=150, deadline=None)
@given(total=amounts, months=weights,
       cats=st.dictionaries(st.sampled_from(["数码", "家居", "服饰", "食品"]),
                            st.decimals(min_value=0, max_value=10**7, places=2)))
def test_parts_sum_to_the_whole_to_the_cent(total: Decimal, months: dict[int, Decimal],
                                            cats: dict[str, Decimal]) -> None:
    h = history(months, categories=cats, category_names=["数码", "家居", "服饰", "食品"])
    p = tp.plan(2027, total, h, by_category=True)
    sums_hold(p)


@settings(max_examples=100, deadline=None)
@given(total=st.decimals(min_value=D("0.00"), max_value=D("1000000"), places=2),
       parts=st.lists(st.decimals(min_value=0, max_value=1000, places=3), min_size=1,
                      max_size=20))
def test_allocate_is_exact_and_proportional(total: Decimal, parts: list[Decimal]) -> None:
    got = tp.allocate(total, parts)
    assert sum(got) == total and len(got) == len(parts)
    whole = sum(parts) or len(parts)
    for value, weight in zip(got, parts, strict=True):
        ideal = total * (weight if sum(parts) else 1) / whole
        assert abs(value - ideal) < D("0.01")  # never more than a cent off its share


def test_shares_follow_last_year() -> None:
    p = tp.plan(2027, "7800000", history())  # last year: 78,000 in all
    months = {c.period: c.gmv for c in p.level(MONTH)}
    assert months["2027-01"] == D("100000.00") and months["2027-12"] == D("1200000.00")
    assert [c.gmv for c in p.level(QUARTER)] == [D("600000.00"), D("1500000.00"),
                                                 D("2400000.00"), D("3300000.00")]
    assert p.basis == "last_year" and p.notes == ()
    assert p.cell((MONTH, "2027-03", "")).share == D("0.500000")  # 3 of the quarter's 6
    # UV × conversion × AOV from last year's same month: 100,000 / (2.5% × 200) = 20,000.
    jan = p.cell((MONTH, "2027-01", ""))
    assert (jan.uv, jan.conversion_rate, jan.aov) == (20000, D("0.0250"), D("200.00"))


def test_even_split_without_history() -> None:
    p = tp.plan(2027, "1200000", tp.History())
    assert p.basis == "even"
    assert {c.gmv for c in p.level(MONTH)} == {D("100000.00")}
    assert {c.gmv for c in p.level(QUARTER)} == {D("300000.00")}
    assert all(c.uv is None and c.conversion_rate is None for c in p.level(MONTH))
    # A total that does not divide: the cents go to the largest remainders, earliest first.
    odd = tp.plan(2027, "100.01", tp.History())
    assert sum(c.gmv for c in odd.level(MONTH)) == D("100.01")
    sums_hold(odd)


def test_recent_rates_where_last_year_has_none() -> None:
    h = tp.History(months={m: tp.MonthFigures(D(100)) for m in range(1, 13)},
                   recent_conversion=D("0.05"), recent_aov=D("100"))
    jan = tp.plan(2027, "120000", h).cell((MONTH, "2027-01", ""))
    assert (jan.uv, jan.conversion_rate, jan.aov) == (2000, D("0.0500"), D("100.00"))


def test_partial_history_fills_missing_months_from_the_year_before() -> None:
    # The store opened in July last year; the year before sold 100 a month, and July..December
    # grew 2× since: the missing months count as 200 each, like the known ones.
    known = {m: D(200) for m in range(7, 13)}
    h = history(known, before={m: D(100) for m in range(1, 13)})
    p = tp.plan(2027, "1200000", h)
    assert p.basis == "partial" and len(p.notes) == 6 and "2026-01" in p.notes[0]
    assert {c.gmv for c in p.level(MONTH)} == {D("100000.00")}


def test_partial_history_without_the_year_before_uses_the_average_day() -> None:
    # Only September last year (30 days, 3,000: 100 a day): every month at 100 a day.
    p = tp.plan(2027, "36500", history({9: D(3000)}))
    months = {c.period: c.gmv for c in p.level(MONTH)}
    assert months["2027-01"] == D("3100.00") and months["2027-02"] == D("2800.00")
    assert sum(months.values()) == D("36500.00")


def test_categories_by_last_years_shares_year_and_month() -> None:
    h = history(categories={"数码": D(750), "家居": D(250)},
                month_categories={1: {"家居": D(10)}}, category_names=["数码", "家居", "空"])
    p = tp.plan(2027, "7800000", h, by_category=True)
    cats = {c.category: c.gmv for c in p.level(CATEGORY)}
    assert cats == {"数码": D("5850000.00"), "家居": D("1950000.00"), "空": D("0.00")}
    jan = {c.category: c.gmv for c in p.month_categories("2027-01")}
    assert jan == {"数码": D("0.00"), "家居": D("100000.00"), "空": D("0.00")}  # its own month
    feb = {c.category: c.gmv for c in p.month_categories("2027-02")}
    assert feb["数码"] == D("150000.00")  # no history in February: the year's shares
    sums_hold(p)
    with pytest.raises(tp.TargetPlanError) as err:
        tp.plan(2027, "100", tp.History(), by_category=True)
    assert err.value.key == "target_plan.no_categories"


def test_pinning_a_month_rebalances_its_quarter() -> None:
    p = tp.plan(2027, "7800000", history())
    q1 = p.cell((QUARTER, "2027-Q1", "")).gmv  # 600,000: Jan 100k, Feb 200k, Mar 300k
    e = tp.edit(p, (MONTH, "2027-03", ""), "400000")
    m = {c.period: c for c in e.level(MONTH)}
    assert m["2027-03"].gmv == D("400000.00") and m["2027-03"].pinned
    # The other two keep their 1:2 ratio and the quarter its total.
    assert (m["2027-01"].gmv, m["2027-02"].gmv) == (D("66666.67"), D("133333.33"))
    assert e.cell((QUARTER, "2027-Q1", "")).gmv == q1 and e.gmv == p.gmv
    assert m["2027-03"].uv == 80000  # its UV follows its GMV at its rates
    assert m["2027-04"].gmv == p.cell((MONTH, "2027-04", "")).gmv  # other quarters untouched
    sums_hold(e)
    # A second month of the quarter pinned: the third takes what is left.
    e2 = tp.edit(e, (MONTH, "2027-01", ""), "50000")
    assert e2.cell((MONTH, "2027-02", "")).gmv == D("150000.00")
    assert e2.cell((MONTH, "2027-03", "")).gmv == D("400000.00")
    # Every month of Q1 pinned and not adding up: refused, nothing changed.
    with pytest.raises(tp.TargetPlanError) as err:
        tp.edit(e2, (MONTH, "2027-02", ""), "1")
    assert err.value.key == "target_plan.all_pinned"
    tp.unpin(e2, (MONTH, "2027-01", ""))  # a cell let go follows its siblings again


def test_editing_a_parent_rescales_its_unpinned_children() -> None:
    p = tp.plan(2027, "7800000", history())
    e = tp.edit(p, (MONTH, "2027-03", ""), "300000")  # pinned at its value
    e = tp.edit(e, (QUARTER, "2027-Q1", ""), "900000")
    m = {c.period: c.gmv for c in e.level(MONTH)}
    assert m["2027-03"] == D("300000.00")  # pinned: kept
    assert (m["2027-01"], m["2027-02"]) == (D("200000.00"), D("400000.00"))
    # The other quarters share the rest of the year in their proportions (15:24:33).
    assert [c.gmv for c in e.level(QUARTER)][1:] == [D("1437500.00"), D("2300000.00"),
                                                     D("3162500.00")]
    # The year's total: the unpinned quarters rescale, Q1 (pinned) stays.
    y = tp.edit(e, tp.year_key(2027), "9000000")
    assert y.gmv == D("9000000.00") and y.cell((QUARTER, "2027-Q1", "")).gmv == D("900000.00")
    sums_hold(y)


@pytest.mark.parametrize(("key", "value", "error"), [
    ((QUARTER, "2027-Q1", ""), "100000", "target_plan.pinned_over"),  # March pinned at 300k
    (tp.year_key(2027), "100000", "target_plan.pinned_over"),  # Q2 pinned at 2,000,000
    ((MONTH, "2027-01", ""), "-1", "target_plan.negative"),
    ((MONTH, "2027-01", ""), "1.001", "target_plan.places"),
    ((MONTH, "2027-01", ""), "abc", "target_plan.not_amount"),
    ((MONTH, "2028-01", ""), "1", "target_plan.no_cell"),
])
def test_impossible_edits_are_clear_errors(key: tp.Key, value: str, error: str) -> None:
    p = tp.plan(2027, "7800000", history())
    p = tp.edit(tp.edit(p, (MONTH, "2027-03", ""), "300000"), (QUARTER, "2027-Q2", ""),
                "2000000")
    with pytest.raises(tp.TargetPlanError) as err:
        tp.edit(p, key, value)
    assert err.value.key == error


def test_month_rates_move_the_uv_not_the_gmv() -> None:
    p = tp.plan(2027, "7800000", history())
    e = tp.edit_rates(p, "2027-01", conversion_rate="0.05")
    jan = e.cell((MONTH, "2027-01", ""))
    assert (jan.gmv, jan.uv, jan.conversion_rate) == (D("100000.00"), 10000, D("0.0500"))
    e = tp.edit_rates(e, "2027-01", uv=5000)  # the conversion follows, AOV kept
    jan = e.cell((MONTH, "2027-01", ""))
    assert (jan.uv, jan.conversion_rate, jan.aov) == (5000, D("0.1000"), D("200.00"))
    with pytest.raises(tp.TargetPlanError) as err:
        tp.edit_rates(p, "2027-01", conversion_rate="1.5")
    assert err.value.key == "target_plan.bad_rate"


def test_cells_named_as_a_user_names_them() -> None:
    assert tp.parse_cell(2027, "2027-03") == (MONTH, "2027-03", "")
    assert tp.parse_cell(2027, "2027-q2") == (QUARTER, "2027-Q2", "")
    assert tp.parse_cell(2027, "2027") == tp.year_key(2027)
    assert tp.parse_cell(2027, "2027", "数码") == (CATEGORY, "2027", "数码")
    assert tp.parse_cell(2027, "2027-03", "数码") == (MONTH_CATEGORY, "2027-03", "数码")
    for bad in ("2026-03", "2027-13", "March", "2027-Q5"):
        with pytest.raises(tp.TargetPlanError):
            tp.parse_cell(2027, bad)


def test_daily_pace() -> None:
    assert tp.expected_by(D("3100"), 31, 10) == D("1000.00")
    assert tp.expected_by(D("100"), 30, 0) == D("0.00")
    assert tp.expected_by(D("100"), 30, 45) == D("100.00")
    assert tp.expected_by(D("100"), 3, 1) == D("33.33")
    days = tp.daily_targets(D("100"), 3)  # each day's step of the pace: 100 in all
    assert days == [D("33.33"), D("33.34"), D("33.33")] and sum(days) == D("100")
    assert sum(tp.daily_targets(D("1234567.89"), 31)) == D("1234567.89")


def test_json_keys_are_stable() -> None:
    data = tp.to_dict(tp.plan(2027, "7800000", history(categories={"数码": D(1)}),
                              by_category=True))
    assert list(data) == ["year", "gmv", "basis", "notes", "quarters", "months", "categories",
                          "month_categories"]
    assert list(data["months"][0]) == ["period", "gmv", "share", "pinned", "uv",
                                       "conversion_rate", "aov"]
    assert list(data["categories"][0]) == ["category", "period", "gmv", "share", "pinned"]
    assert data["months"][0]["gmv"] == "100000.00"


def test_partial_history_without_common_months_scales_by_the_day() -> None:
    # Last year: January–October at 10 a day; the year before: only November and December
    # at 5 a day (November 150, December 155): those months count twice as much last year.
    known = {m: D(10 * calendar.monthrange(2026, m)[1]) for m in range(1, 11)}
    p = tp.plan(2027, "3650", history(known, before={11: D(150), 12: D(155)}))
    months = {c.period: c.gmv for c in p.level(MONTH)}
    assert months["2027-11"] == D("300.00") and months["2027-12"] == D("310.00")
    assert p.notes == ("2026-11: 2025-11 × 2.0000", "2026-12: 2025-12 × 2.0000")


CELLS = [tp.year_key(2027), *[tp.quarter_key(2027, q) for q in range(1, 5)],
         *[tp.month_key(2027, m) for m in range(1, 13)],
         *[(CATEGORY, "2027", c) for c in ("数码", "家居")],
         *[(MONTH_CATEGORY, f"2027-{m:02d}", c) for m in (1, 6) for c in ("数码", "家居")]]


@settings(max_examples=60, deadline=None)
@given(edits=st.lists(st.tuples(st.sampled_from(CELLS),
                                st.decimals(min_value=0, max_value=5_000_000, places=2)),
                      min_size=1, max_size=8))
def test_any_sequence_of_edits_keeps_every_total(edits: list[tuple[tp.Key, Decimal]]) -> None:
    p = tp.plan(2027, "7800000", history(categories={"数码": D(3), "家居": D(1)}),
                by_category=True)
    for key, value in edits:
        try:
            after = tp.edit(p, key, value)
        except tp.TargetPlanError as exc:
            assert exc.key in ("target_plan.pinned_over", "target_plan.all_pinned")
            continue
        sums_hold(after)
        got = after.gmv if key == tp.year_key(2027) else after.cell(key).gmv
        assert got == value  # the cell edited holds what was typed
        for k, c in p.cells.items():  # cells pinned before stay as they were
            if c.pinned and k != key:
                assert after.cells[k].gmv == c.gmv and after.cells[k].pinned
        p = after
