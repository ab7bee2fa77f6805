"""The 今日实时 page: today by hour against yesterday at the same time, read from the OLTP
tables each minute, in Chinese and English, with 商智's colours and the 60-second refresh."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from test_metric_facts import Facts
from web_seed import PASSWORD, PageClient, fast_hashing, login  # noqa: F401

from storeops.accounts.users import create_user
from storeops.api.app import create_app
from storeops.common.timeutil import zone
from storeops.db.engine import unit_of_work
from storeops.metrics import realtime_query

pytestmark = pytest.mark.usefixtures("fast_hashing")
NOW = datetime(2026, 12, 4, 2, 15, tzinfo=UTC)  # 10:15 in Shanghai
CARD = re.compile(r'<article class="kpi card" data-metric="(\w+)">.*?<div class="value"[^>]*>'
                  r'([^<]*)</div>.*?<div class="change (\w+)"[^>]*>.*?<span>([^<]*)</span>', re.S)
ROW = re.compile(r'<tr data-hour="(\d+)"[^>]*>(.*?)</tr>', re.S)
CELL = re.compile(r'<td class="num">([^<]*)</td>')


def local(utc_text: str) -> str:
    """A UTC ``YYYY-MM-DD HH:MM`` as Shanghai's wall clock (Facts takes store-local times)."""
    moment = datetime.fromisoformat(utc_text).replace(tzinfo=UTC)
    return moment.astimezone(zone("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M")


@pytest.fixture
def store(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Facts:
    """A Shanghai store with orders around NOW (given in UTC), and its users."""
    monkeypatch.setenv("STOREOPS_WAREHOUSE_DIR", str(tmp_path / "wh"))
    monkeypatch.setattr(realtime_query, "now", lambda: NOW)
    f = Facts(db_url, name="旗舰店")
    with f.batch():
        p = f.product("P")
        c1, c2 = f.customer("c1"), f.customer("c2")
        # Today: 07:30 (23:30 UTC the day before), 10:05, 00:01, a cash-on-delivery order at
        # 09:10, one placed two days ago, then an unpaid and a cancelled one (下单 only).
        f.order(local("2026-12-03 23:30"), [(p, 1, 10000)], freight=1000, customer=c1)
        f.order(local("2026-12-04 01:50"), [(p, 1, 5000)], paid=local("2026-12-04 02:05"))
        f.order(local("2026-12-03 15:59"), [(p, 1, 3000)], paid=local("2026-12-03 16:01"),
                customer=c1)
        f.order(local("2026-12-04 01:10"), [(p, 1, 2000)], paid=False, cod=True, customer=c2)
        # Placed two days ago, paid this morning at 08:05: a deal of today.
        f.order(local("2026-12-02 03:00"), [(p, 1, 1500)], paid=local("2026-12-04 00:05"),
                customer=c2)
        f.order(local("2026-12-04 00:30"), [(p, 1, 7000)], paid=False, status="wait_pay")
        f.order(local("2026-12-04 00:40"), [(p, 1, 8000)], status="cancelled")
        # Yesterday: 09:00, 10:14 (before the 10:15 cut) and 10:16 (after it), and one paid at
        # 09:30 but cancelled this morning, which stays a deal of yesterday.
        f.order(local("2026-12-03 01:00"), [(p, 2, 20000)], customer=c2)
        f.order(local("2026-12-03 02:14"), [(p, 1, 4000)], customer=c2)
        f.order(local("2026-12-03 02:16"), [(p, 1, 50000)])
        f.order(local("2026-12-03 01:30"), [(p, 1, 6000)], cancelled=local("2026-12-04 01:00"))
    with unit_of_work(db_url) as s:
        for name in ("owner", "analyst"):
            create_user(s, name, PASSWORD, name)
    return f


@pytest.fixture
def page(store: Facts) -> Iterator[TestClient]:
    with PageClient(create_app(store.db_url, secret_key="test-secret")) as c:
        login(c, "analyst")
        yield c


def cards(html: str) -> dict[str, tuple[str, str, str]]:
    return {key: (value.strip(), css, change) for key, value, css, change in CARD.findall(html)}


def hours(html: str) -> dict[int, list[str]]:
    return {int(h): CELL.findall(body) for h, body in ROW.findall(html)}


def test_today_by_hour_against_yesterday_at_the_same_minute(page: TestClient) -> None:
    html = page.get("/realtime").text
    got = cards(html)
    # 成交 today 225.00 against 300.00 yesterday up to 10:15: a fall, green with ▼.
    assert got["gmv"] == ("¥225.00", "fall", "▼ 25.0%")
    assert got["orders"] == ("5", "rise", "▲ 66.7%")  # 5 against 3: a rise, red with ▲
    assert got["buyers"] == ("3", "rise", "▲ 50.0%")
    assert got["aov"] == ("¥75.00", "fall", "▼ 50.0%")
    assert got["placed_amount"] == ("¥330.00", "rise", "▲ 10.0%")  # unpaid, cancelled in
    assert got["placed_orders"] == ("5", "rise", "▲ 66.7%")
    assert list(got) == ["gmv", "orders", "buyers", "aov", "placed_amount", "placed_orders"]
    assert "昨日截至 10:15：¥300.00" in html
    assert "更新于 10:15" in html
    table = hours(html)
    assert sorted(table) == list(range(11))  # 00时 .. 10时, the current hour
    assert table[7] == ["¥110.00", "1", "¥0.00", "0"]  # 23:30 UTC is 07:30 here
    assert table[0] == ["¥30.00", "1", "¥0.00", "0"]  # paid at 00:01, placed the day before
    assert table[8] == ["¥15.00", "1", "¥0.00", "0"]  # an order of two days ago paid today
    assert table[9] == ["¥20.00", "1", "¥260.00", "2"]  # cash on delivery; 200 + 60
    assert table[10] == ["¥50.00", "1", "¥40.00", "1"]  # yesterday's 10:16 not yet
    assert "23时" not in html.split('<table class="data realtime-hours">')[1]


def test_the_chart_stops_at_the_current_hour_with_money_axes(page: TestClient) -> None:
    import json

    html = page.get("/realtime").text
    options = json.loads(re.search(r'<script type="application/json" id="chart-options">'
                                   r'(.*?)</script>', html, re.S).group(1))["realtime"]
    today, yesterday = (s["data"] for s in options["series"])
    assert today[7] == 140.0 and today[10] == 225.0 and today[11:] == [None] * 13
    assert yesterday[10] == yesterday[23] == 800.0  # the whole of yesterday
    assert options["storeops"]["yAxis"] == ["money"] and options["storeops"]["symbol"] == "¥"
    assert options["xAxis"]["data"][:2] == ["00时", "01时"]
    assert "<script>" not in html and " onclick=" not in html  # strict CSP: no inline code


def test_refreshes_every_minute_with_fresh_orders_from_the_database(
    page: TestClient, store: Facts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    html = page.get("/realtime").text
    live = re.search(r'<div id="realtime-live" ([^>]*)>', html).group(1)
    assert 'hx-trigger="every 60s"' in live and 'hx-swap="outerHTML"' in live
    assert 'hx-get="/realtime?store=%E6%97%97%E8%88%B0%E5%BA%97"' in live
    # An order paid a minute later is in the next refresh, which is the live part alone.
    p = store.product("Q")
    store.order(local("2026-12-04 02:15"), [(p, 1, 7500)])
    later = datetime(2026, 12, 4, 2, 16, tzinfo=UTC)
    monkeypatch.setattr(realtime_query, "now", lambda: later)
    fragment = page.get("/realtime?store=旗舰店", headers={"HX-Request": "true"}).text
    assert '<div id="realtime-live"' in fragment
    assert "<html" not in fragment and "<nav" not in fragment
    assert cards(fragment)["gmv"][0] == "¥300.00"
    assert "昨日截至 10:16：¥800.00" in fragment  # yesterday's 10:16 order now counts
    assert "更新于 10:16" in fragment
    # Straight from orders and order lines: no analytics snapshot was built for it.
    wh = tmp_path / "wh"
    assert not wh.exists() or not any(wh.rglob("*.parquet"))


def test_in_english_with_traffic_said_to_be_daily(page: TestClient) -> None:
    html = page.get("/realtime?lang=en").text
    assert "Today live" in html and "Updated at 10:15" in html
    assert "Yesterday up to 10:15: ¥300.00" in html
    assert "vs yesterday, same time" in html
    assert "no hourly figures" in html  # traffic: said, not shown as 0
    assert "10:00" in hours_header(html)
    assert cards(html)["gmv"] == ("¥225.00", "fall", "▼ 25.0%")
    zh = page.get("/realtime?lang=zh-CN").text
    assert "没有分时数据" in zh and "访客数" in zh
    assert 'data-metric="uv"' not in zh


def hours_header(html: str) -> str:
    return html.split('<table class="data realtime-hours">')[1]


def test_period_parameters_are_ignored_and_a_store_is_chosen(page: TestClient) -> None:
    html = page.get("/realtime?from=2020-01-01&to=not-a-day&store=旗舰店").text
    assert cards(html)["gmv"][0] == "¥225.00"
    assert '<option value="旗舰店" selected>' in html
    assert page.get("/realtime?store=nowhere").status_code == 404


def test_nav_links_today_live_after_the_overview(page: TestClient) -> None:
    html = page.get("/realtime").text
    nav = re.search(r'<nav class="nav">(.*?)</nav>', html, re.S).group(1)
    labels = re.findall(r">([^<]+)</a>", nav)
    assert labels[:2] == ["经营概览", "今日实时"]
    assert 'href="/realtime?store=%E6%97%97%E8%88%B0%E5%BA%97" class="active"' in nav


def test_needs_login(store: Facts) -> None:
    with TestClient(create_app(store.db_url, secret_key="test-secret")) as c:
        r = c.get("/realtime", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_json_api_gives_the_same_figures_with_money_as_decimal_strings(store: Facts) -> None:
    with PageClient(create_app(store.db_url, secret_key="test-secret")) as c:
        assert c.get("/api/v1/realtime").status_code == 401
        login(c, "analyst")
        body = c.get("/api/v1/realtime", params={"store": "旗舰店",
                                                 "from": "2020-01-01"}).json()
        assert body["as_of"] == "2026-12-04T10:15:00+08:00"
        assert body["compared_until"] == "2026-12-03T10:15:00+08:00"
        assert (body["day"], body["compared_day"]) == ("2026-12-04", "2026-12-03")
        assert body["today"] == {"gmv": "225.00", "orders": 5, "buyers": 3, "aov": "75.00",
                                 "placed_amount": "330.00", "placed_orders": 5}
        assert body["yesterday"]["gmv"] == "300.00" and body["change"]["gmv"] == -0.25
        assert body["hours"][7] == {"hour": 7, "gmv": "110.00", "orders": 1,
                                    "yesterday_gmv": "0.00", "yesterday_orders": 0}
        assert len(body["hours"]) == 11
        assert body["cumulative_today"][10] == "225.00"
        assert body["cumulative_today"][11:] == [None] * 13
        assert body["cumulative_yesterday"][23] == "800.00"
        missing = c.get("/api/v1/realtime", params={"store": "nowhere"})
        assert missing.status_code == 404 and isinstance(missing.json()["detail"], str)


def test_period_shortcuts_of_other_pages_lead_to_today_live(page: TestClient) -> None:
    html = page.get("/?store=旗舰店").text
    quick = re.search(r'<span class="quick">(.*?)</span>', html, re.S).group(1)
    links = re.findall(r'<a href="([^"]+)" class="([^"]+)"[^>]*>([^<]+)</a>', quick)
    # After the period shortcuts, not one of them: it is another view, not a period.
    assert links[-1] == ("/realtime?store=%E6%97%97%E8%88%B0%E5%BA%97", "today-live", "今日实时")
    assert [label for _, css, label in links[:-1] if "shortcut" in css][:2] == ["昨天", "近7天"]
