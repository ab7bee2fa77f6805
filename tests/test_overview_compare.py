"""The overview compares with the period chosen: the previous period (较上期), the same days
last week (较上周同期) or last year (同比), and keeps that choice from page to page."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

import pytest
from fastapi.testclient import TestClient
from web_seed import fast_hashing, login  # noqa: F401

from storeops.metrics import cache, service
from storeops.metrics.comparison_periods import (
    ComparisonError,
    baseline_period,
    same_period_last_week,
    same_period_last_year,
)
from storeops.metrics.periods import PeriodError

pytestmark = pytest.mark.usefixtures("fast_hashing")
D = date.fromisoformat
PERIOD = "store=旗舰店&from=2026-10-02&to=2026-10-31"
CHANGE = re.compile(r'<article class="kpi card" data-metric="(\w+)">.*?'
                    r'<div class="change \w+" title="([^"]*)">\s*([^<]*?)\s*<span>([^<]*)</span>',
                    re.S)


def test_same_days_last_week_and_last_year() -> None:
    assert same_period_last_week(D("2026-10-02"), D("2026-10-31")) == (D("2026-09-25"),
                                                                       D("2026-10-24"))
    assert same_period_last_year(D("2026-10-02"), D("2026-10-31")) == (D("2025-10-02"),
                                                                       D("2025-10-31"))
    # 29 February has no twin a year earlier: the 28th stands for it.
    assert same_period_last_year(D("2024-02-01"), D("2024-02-29")) == (D("2023-02-01"),
                                                                       D("2023-02-28"))
    assert same_period_last_year(D("2024-02-29"), D("2024-02-29")) == (D("2023-02-28"),) * 2
    assert baseline_period(D("2026-10-02"), D("2026-10-31")) == (D("2026-09-02"),
                                                                 D("2026-10-01"))
    assert baseline_period(D("2026-10-02"), D("2026-10-31"), "wow")[0] == D("2026-09-25")
    assert baseline_period(D("2026-10-02"), D("2026-10-31"), "yoy")[0] == D("2025-10-02")


def test_a_baseline_outside_the_calendar_or_unknown_is_an_error() -> None:
    with pytest.raises(PeriodError, match="before 1970-01-01"):
        same_period_last_week(D("1970-01-03"), D("1970-01-10"))
    with pytest.raises(PeriodError, match="before 1970-01-01"):
        same_period_last_year(D("1970-06-01"), D("1970-06-30"))
    with pytest.raises(PeriodError, match="starts after it ends"):
        same_period_last_year(D("2026-10-31"), D("2026-10-01"))
    with pytest.raises(ComparisonError, match="choose one of prev, wow, yoy"):
        baseline_period(D("2026-10-02"), D("2026-10-31"), "mom")


def _cards(html: str) -> dict[str, tuple[str, str, str]]:
    return {key: (title, label, change) for key, title, label, change in CHANGE.findall(html)}


def _badge(change: float | None) -> str:
    from storeops.web import format as fmt

    return fmt.change_badge("gmv", change)[0]


def test_the_cards_name_the_baseline_and_compare_with_it(
        client: TestClient, seeded: tuple[str, int]) -> None:
    login(client, "owner")
    db, sid = seeded
    first, last = D("2026-10-02"), D("2026-10-31")
    prev = _cards(client.get(f"/?{PERIOD}").text)
    assert prev["gmv"][:2] == ("较上期", "较上期")
    html = client.get(f"/?{PERIOD}&compare=wow").text
    wow = _cards(html)
    assert {label for _, label, _ in wow.values()} == {"较上周同期"}
    expected = service.compare(db, sid, first, last, "wow")["change"]
    assert wow["gmv"][2] == _badge(expected["gmv"]) != prev["gmv"][2]
    assert wow["uv"][2] == _badge(expected["uv"])
    assert "对比上周同期 2026-09-25 至 2026-10-24" in html
    # A year earlier the store had no data: each change says so, never a made-up figure.
    html = client.get(f"/?{PERIOD}&compare=yoy").text
    yoy = _cards(html)
    assert yoy["gmv"][1:] == ("同比", "去年同期无数据")
    assert "对比去年同期 2025-10-02 至 2025-10-31" in html
    en = client.get(f"/?{PERIOD}&compare=wow&lang=en").text
    assert _cards(en)["gmv"][1] == "vs same days last week"
    assert "compared with the same days last week, 2026-09-25 to 2026-10-24" in en


def test_the_comparison_is_chosen_in_the_period_form_and_kept(client: TestClient) -> None:
    login(client, "owner")
    html = client.get(f"/?{PERIOD}&compare=yoy").text
    select = re.search(r'<select name="compare">(.*?)</select>', html, re.S)
    assert select, "the period form offers the comparisons"
    options = re.findall(r'<option value="(\w+)"( selected)?>([^<]+)</option>', select.group(1))
    assert [(v, label) for v, _, label in options] == [
        ("prev", "上一周期"), ("wow", "上周同期"), ("yoy", "去年同期")]
    assert [v for v, chosen, _ in options if chosen] == ["yoy"]
    # Period shortcuts and the other pages keep it.
    shortcuts = re.findall(r'<a href="([^"]*)" class="shortcut', html)
    assert len(shortcuts) == 7 and all("compare=yoy" in unescape(h) for h in shortcuts)
    nav_skus = re.search(r'<a href="(/skus\?[^"]*)"', html)
    assert nav_skus and "compare=yoy" in unescape(nav_skus.group(1))
    skus = client.get(unescape(nav_skus.group(1))).text
    assert re.search(r'<option value="yoy" selected>', skus)
    back = re.search(r'<a href="(/\?[^"]*)"', skus)
    assert back and "compare=yoy" in unescape(back.group(1))
    # The default stays out of the links.
    assert "compare=" not in "".join(re.findall(r'href="([^"]*)" class="shortcut',
                                                client.get(f"/?{PERIOD}").text))


@pytest.mark.parametrize(("lang", "words"), [
    ("zh-CN", "无法识别的对比方式"), ("en", "Unknown comparison")])
def test_an_unknown_comparison_is_a_clear_error(client: TestClient, lang: str,
                                                words: str) -> None:
    login(client, "owner")
    r = client.get(f"/?{PERIOD}&compare=mom&lang={lang}")
    assert r.status_code == 422
    assert words in r.text and "Traceback" not in r.text
    assert 'class="nav"' in r.text  # the error page keeps the navigation


def test_the_api_compares_with_the_baseline_asked_for(client: TestClient) -> None:
    login(client, "analyst")
    url = "/api/v1/kpi/compare?store=旗舰店&from=2026-10-02&to=2026-10-31"
    prev = client.get(url).json()
    assert prev["previous_period"] == {"from": "2026-09-02", "to": "2026-10-01"}
    assert prev["compare"] == "prev" and set(prev) >= {"current", "previous", "change"}
    wow = client.get(url + "&compare=wow").json()
    assert wow["compare"] == "wow"
    assert wow["previous_period"] == {"from": "2026-09-25", "to": "2026-10-24"}
    assert wow["current"] == prev["current"] and wow["previous"] != prev["previous"]
    yoy = client.get(url + "&compare=yoy").json()
    assert yoy["previous_period"] == {"from": "2025-10-02", "to": "2025-10-31"}
    bad = client.get(url + "&compare=mom")
    assert bad.status_code == 422 and "prev, wow, yoy" in bad.json()["detail"]
    # The documented enum has no empty value: an empty choice is refused too (a page's form
    # may send one and gets the default there).
    empty = client.get(url + "&compare=")
    assert empty.status_code == 422 and "prev, wow, yoy" in empty.json()["detail"]


def test_the_baseline_is_read_with_the_period_in_one_statement(
        seeded: tuple[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    from storeops.metrics import warehouse
    from storeops.metrics.cockpit import overview_figures

    db, sid = seeded
    first, last = D("2026-10-02"), D("2026-10-31")
    cache.results.clear()
    warehouse.open_store(db, sid)
    seen: list[str] = []
    real = warehouse.Warehouse.run

    def counting(self, sql, params=()):  # noqa: ANN001, ANN202
        seen.append(sql)
        return real(self, sql, params)

    monkeypatch.setattr(warehouse.Warehouse, "run", counting)
    figures = overview_figures(db, sid, first, last, compare="yoy", baseline_trend=True)
    assert figures["comparison"]["previous_period"] == {"from": D("2025-10-02"),
                                                        "to": D("2025-10-31")}
    assert len(figures["baseline_series"]) == 30
    before = len(seen)
    # Both periods of the comparison and the baseline's trend are cached: nothing more runs.
    service.kpi_summary(db, sid, D("2025-10-02"), D("2025-10-31"))
    service.kpi_series(db, sid, D("2025-10-02"), D("2025-10-31"), by="day")
    service.compare(db, sid, first, last, "yoy")
    assert len(seen) == before <= 8
    # The same, separately, gives the same figures.
    cache.results.clear()
    assert service.compare(db, sid, first, last, "yoy") == figures["comparison"]
