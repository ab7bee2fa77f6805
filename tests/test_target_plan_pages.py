"""The targets page (/targets): making a plan, editing a cell in place (HTMX gets the
rebalanced table; a refused edit says why and changes nothing), who may edit, the month's
daily pace; and the overview's GMV card saying where the month should be."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from html import unescape

import pytest
from web_seed import STORE, PageClient, fast_hashing, login, seed_store  # noqa: F401

from storeops.web import targets_page

pytestmark = pytest.mark.usefixtures("fast_hashing")
TODAY = date(2026, 11, 11)  # the seeded store's data end on 2026-10-31
HTMX = {"HX-Request": "true"}


@pytest.fixture
def app_client(sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch,
               tmp_path) -> Iterator[PageClient]:  # noqa: ANN001
    from storeops.api.app import create_app

    monkeypatch.setenv("STOREOPS_WAREHOUSE_DIR", str(tmp_path / "wh"))
    seed_store(sqlite_db_url)
    monkeypatch.setattr(targets_page, "today_of", lambda sc: TODAY)
    with PageClient(create_app(sqlite_db_url, secret_key="test-secret")) as c:
        yield c


def text(html: str, css_class: str) -> list[str]:
    return [unescape(re.sub(r"<[^>]+>", "", m)).strip() for m in re.findall(
        rf'class="[^"]*\b{css_class}\b[^"]*"[^>]*>(.*?)</', html, re.S)]


def month_value(html: str, month: str) -> str:
    found = re.search(rf'name="gmv" value="([^"]*)"[^>]*data-cell="{month}"', html)
    assert found, month
    return found.group(1)


def make_plan(c: PageClient, year: int = 2026, gmv: str = "1200000", **more: str) -> None:
    r = c.post("/targets/plan", data={"store": STORE, "year": str(year), "gmv": gmv, **more},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"].endswith(f"year={year}&saved=1")


def test_plan_made_on_the_page_with_its_pace(app_client: PageClient) -> None:
    c = app_client
    login(c, "owner")
    r = c.get("/targets")
    assert r.status_code == 200 and "2026 年还没有目标分解" in r.text
    make_plan(c)  # 2025 has no history: even shares
    r = c.get(f"/targets?store={STORE}&year=2026&saved=1")
    assert "目标已保存" in r.text and "各月平均分配" in r.text
    assert [month_value(r.text, f"2026-{m:02d}") for m in range(1, 13)] == ["100000.00"] * 12
    assert "最后修改：owner" in r.text
    # The month's pace: 10 of November's 30 days over, nothing sold yet.
    assert text(r.text, "pace-expected") == ["¥33,333.33"]
    assert text(r.text, "pace-actual") == ["¥0.00"]
    assert "落后进度 ¥33,333.33" in r.text and "¥5,000.00" in r.text  # per day left
    # Day by day: each day's target, the pace to date, the GMV of the days over.
    days = re.findall(r'<tr data-day="(2026-11-\d\d)"[^>]*>(.*?)</tr>', r.text)
    assert len(days) == 30
    tenth = dict(days)["2026-11-10"]
    assert re.findall(r">([^<]+)</td>", tenth) == [
        "2026-11-10", "¥3,333.33", "¥33,333.33", "¥0.00", "¥0.00"]
    assert re.findall(r">([^<]+)</td>", dict(days)["2026-11-11"])[3:] == ["—", "—"]
    # By category, next year: last year's (2026's) shares with months filled in.
    make_plan(c, 2027, "2400000", by_category="1")
    r = c.get(f"/targets?store={STORE}&year=2027")
    assert "去年缺失的月份已补齐" in r.text
    assert 'data-category="数码"' in r.text and 'data-category="家居"' in r.text
    assert len(re.findall(r'<tr data-category="', r.text)) == 4  # year table + by month
    # A bad amount: the form again, as typed, with the reason.
    r = c.post("/targets/plan", data={"store": STORE, "year": "2027", "gmv": "12abc"})
    assert r.status_code == 422 and "「12abc」不是金额" in r.text and 'value="12abc"' in r.text


def test_inline_edit_rebalances_and_refusals_change_nothing(app_client: PageClient) -> None:
    c = app_client
    login(c, "operator")
    make_plan(c)
    r = c.post("/targets/cell", headers=HTMX, data={
        "store": STORE, "year": "2026", "cell": "2026-03", "gmv": "150000"})
    assert r.status_code == 200 and r.text.lstrip().startswith('<div id="target-plan">')
    assert "<html" not in r.text  # the fragment only
    # Q1 holds 300,000: January and February share the 150,000 left.
    assert [month_value(r.text, f"2026-{m:02d}") for m in (1, 2, 3)] == [
        "75000.00", "75000.00", "150000.00"]
    assert month_value(r.text, "2026-Q1") == "300000.00"
    assert re.search(r'class="pinned"[^>]*|data-cell="2026-03" class="pinned"', r.text)
    # Pinned over the quarter: refused with the reason, the table unchanged.
    r = c.post("/targets/cell", headers=HTMX, data={
        "store": STORE, "year": "2026", "cell": "2026-Q1", "gmv": "100000"})
    assert r.status_code == 200
    assert "2026-Q1：已锁定的格合计 150,000.00，超过其合计 100,000.00" in unescape(r.text)
    assert month_value(r.text, "2026-Q1") == "300000.00"
    # The same without HTMX: the page, 422.
    r = c.post("/targets/cell", data={
        "store": STORE, "year": "2026", "cell": "2026-Q1", "gmv": "100000"})
    assert r.status_code == 422 and 'role="alert"' in r.text
    # A month's conversion, typed as a percentage: its UV follows.
    r = c.post("/targets/cell", headers=HTMX, data={
        "store": STORE, "year": "2026", "cell": "2026-05", "conversion_rate": "2",
        "aov": ""})
    assert 'value="2"' in r.text
    assert re.search(r'name="uv" value="(\d+)"[^>]*data-uv="2026-05"', r.text).group(1) == \
        str(round(100000 / (0.02 * float(re.search(
            r'name="aov" value="([\d.]+)"[^>]*2026-05', r.text).group(1)))))
    # Its UV typed: the conversion follows.
    r = c.post("/targets/cell", headers=HTMX, data={
        "store": STORE, "year": "2026", "cell": "2026-05", "uv": "10,000"})
    assert re.search(r'name="uv" value="(\d+)"[^>]*data-uv="2026-05"', r.text).group(1) \
        == "10000"
    r = c.post("/targets/cell", headers=HTMX, data={
        "store": STORE, "year": "2026", "cell": "2026-05", "uv": "-3"})
    assert "访客数应为大于 0 的整数" in r.text
    # Unpinning March: the year's total edited, March follows again.
    c.post("/targets/cell", headers=HTMX, data={
        "store": STORE, "year": "2026", "cell": "2026-03", "unpin": "1"})
    r = c.post("/targets/cell", headers=HTMX, data={
        "store": STORE, "year": "2026", "cell": "2026", "gmv": "2400000"})
    assert month_value(r.text, "2026-03") == "300000.00"
    # A month's target set apart on the overview's form shows beside the plan's figure.
    r = c.post(f"/targets?store={STORE}", data={"month": "2026-05", "gmv": "123"},
               follow_redirects=False)
    assert r.status_code == 303
    r = c.get(f"/targets?store={STORE}&year=2026")
    apart = [n.split("；")[0] for n in text(r.text, "apart")]
    assert apart == ["月目标现为 ¥123.00（已在经营概览单独修改"]
    # The overview reads the month's target the plan wrote, and says where it should be.
    r = c.get(f"/?store={STORE}&from=2026-10-01&to=2026-10-31")
    pace = text(r.text, "gmv-pace")
    assert len(pace) == 1 and pace[0].startswith("按时间进度应完成 ¥200,000.00，落后 ¥")


def test_viewers_see_the_plan_but_cannot_edit(app_client: PageClient) -> None:
    c = app_client
    login(c, "owner")
    make_plan(c)
    login(c, "analyst")
    r = c.get(f"/targets?store={STORE}&year=2026")
    assert r.status_code == 200 and "¥100,000.00" in r.text
    assert 'name="gmv"' not in r.text and 'action="/targets/plan"' not in r.text
    r = c.post("/targets/cell", headers=HTMX, data={
        "store": STORE, "year": "2026", "cell": "2026-03", "gmv": "1"})
    assert r.status_code == 403
    assert c.get(f"/targets?store={STORE}&year=1999").status_code == 422
    assert c.get(f"/targets?store={STORE}&year=2026&lang=en").text.count("Year targets") >= 1


def test_plan_as_xlsx(app_client: PageClient) -> None:
    import io

    import openpyxl

    c = app_client
    login(c, "analyst")
    assert c.get(f"/targets/plan.xlsx?store={STORE}&year=2026").status_code == 404
    login(c, "owner")
    make_plan(c, gmv="1200000.05", by_category="1")
    c.post("/targets/cell", headers=HTMX, data={
        "store": STORE, "year": "2026", "cell": "2026-03", "gmv": "150000"})
    r = c.get(f"/targets/plan.xlsx?store={STORE}&year=2026")
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("层级", "周期", "类目", "成交金额目标", "占上级", "访客数", "成交转化率",
                       "客单价", "锁定")
    assert rows[1][:4] == ("全年", "2026", None, 1200000.05) or rows[1][:4] == (
        "全年", "2026", "", 1200000.05)
    months = [r for r in rows if r[0] == "月"]
    assert len(months) == 12 and round(sum(r[3] for r in months), 2) == 1200000.05
    march = next(r for r in months if r[1] == "2026-03")
    assert march[3] == 150000 and march[8] == "已锁定"
    assert len([r for r in rows if r[0] == "月·类目"]) == 24
