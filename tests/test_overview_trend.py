"""The overview's trend: a day/week/month switch, a card opens its metric's trend (with the
baseline's as a second line), a bar opens its days' SKUs; the cards 商智 adds."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from web_seed import fast_hashing, login  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_hashing")
PERIOD = "store=旗舰店&from=2026-10-02&to=2026-10-31"
STATIC = Path(__file__).resolve().parents[1] / "storeops" / "web" / "static"


def _trend(html: str) -> dict:
    data = re.search(r'<script type="application/json" id="chart-options">(.*?)</script>', html,
                     re.S)
    assert data
    return json.loads(data.group(1))["trend"]


def _cut_buttons(html: str) -> list[tuple[str, str, bool]]:
    """(by, href, is current) of the trend card's 按日/按周/按月 links."""
    return [(by, unescape(href), bool(current)) for href, by, current in re.findall(
        r'<a href="([^"]+)" class="cut[^"]*" data-by="(\w+)"( aria-current="true")?', html)]


def _query(href: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}


def _links(html: str) -> list[str]:
    found = re.search(r'id="chart-trend" data-chart="trend" data-links=\'([^\']*)\'', html)
    assert found, "the trend lists where a click on each bar leads"
    return json.loads(unescape(found.group(1)))


def test_the_trend_switches_between_day_week_and_month(client: TestClient) -> None:
    login(client, "owner")
    html = client.get(f"/?{PERIOD}").text
    assert len(_trend(html)["xAxis"]["data"]) == 30
    buttons = _cut_buttons(html)
    assert [(by, current) for by, _, current in buttons] == [
        ("day", True), ("week", False), ("month", False)]
    assert "成交金额与订单量趋势（按日）" in html
    week = client.get(buttons[1][1]).text
    assert _trend(week)["xAxis"]["data"] == ["2026-W40", "2026-W41", "2026-W42", "2026-W43",
                                             "2026-W44"]
    assert "成交金额与订单量趋势（按周）" in week
    month = client.get(f"/?{PERIOD}&by=month&compare=wow").text
    assert _trend(month)["xAxis"]["data"] == ["2026-10"]
    # The buttons keep the store, the period and the comparison.
    for by, href, _ in _cut_buttons(month):
        assert _query(href) == {"store": "旗舰店", "from": "2026-10-02", "to": "2026-10-31",
                                "compare": "wow", "by": by}


def test_a_cut_too_fine_for_the_period_says_so_never_a_500(client: TestClient) -> None:
    login(client, "owner")
    r = client.get("/?store=旗舰店&from=2022-01-01&to=2026-10-31&by=day")
    assert r.status_code == 200
    assert "按日最多可查看 1,098 天，所选周期共 1,765 天：已按周显示。" in r.text
    assert _trend(r.text)["xAxis"]["data"][0] == "2021-W52"
    en = client.get("/?store=旗舰店&from=2022-01-01&to=2026-10-31&by=day&lang=en").text
    assert "By day covers at most 1,098 days and this period has 1,765" in en
    bad = client.get(f"/?{PERIOD}&by=hour&lang=zh-CN")
    assert bad.status_code == 422 and "无法识别的时间粒度" in bad.text


def test_a_card_opens_its_metric_trend_with_the_baseline(client: TestClient) -> None:
    login(client, "owner")
    html = client.get(f"/?{PERIOD}&compare=wow&by=week").text
    links = dict(re.findall(r'data-metric="(\w+)">\s*<a class="kpi-link" href="([^"]+)"', html))
    assert set(links) >= {"gmv", "uv", "conversion_rate", "bounce_rate", "ad_spend"}
    assert "aria-current" not in re.search(r'<a class="kpi-link"[^>]*>', html).group(0)
    uv_href = unescape(links["uv"])
    assert _query(uv_href) == {"store": "旗舰店", "from": "2026-10-02", "to": "2026-10-31",
                               "compare": "wow", "by": "week", "metric": "uv"}
    assert uv_href.endswith("#trend") and 'id="trend"' in html
    uv = client.get(uv_href).text
    chart = _trend(uv)
    assert [s["name"] for s in chart["series"]] == ["访客数", "访客数（上周同期）"]
    assert chart["storeops"]["yAxis"] == ["count"]
    assert len(chart["series"][1]["data"]) == len(chart["series"][0]["data"]) == 5
    assert "访客数趋势（按周）" in uv
    selected = re.findall(r'data-metric="(\w+)">\s*<a class="kpi-link"[^>]*aria-current="true"',
                          uv)
    assert selected == ["uv"]
    back = re.search(r'<a href="([^"]+)">返回成交金额与订单量趋势</a>', uv)
    assert back and "metric" not in _query(unescape(back.group(1)))
    # Rates on a % axis, money on a ¥ axis; the chart's values as the cards count them.
    rate = _trend(client.get(f"/?{PERIOD}&metric=conversion_rate").text)
    assert rate["storeops"]["yAxis"] == ["percent"] and rate["series"][0]["type"] == "line"
    assert all(v is None or 0 <= v <= 1 for v in rate["series"][0]["data"])
    money = _trend(client.get(f"/?{PERIOD}&metric=ad_spend").text)
    assert money["storeops"]["yAxis"] == ["money"] and money["storeops"]["symbol"] == "¥"
    assert money["series"][0]["data"] == [100.0] * 30  # ¥100.00 of ads every day
    assert client.get(f"/?{PERIOD}&metric=nope").status_code == 422


def test_a_bar_of_the_trend_opens_its_days_skus(client: TestClient) -> None:
    login(client, "owner")
    by_day = _links(client.get(f"/?{PERIOD}&compare=yoy").text)
    assert len(by_day) == 30
    assert _query(by_day[0]) == {"store": "旗舰店", "from": "2026-10-02", "to": "2026-10-02",
                                 "compare": "yoy"}
    assert urlsplit(by_day[-1]).path == "/skus" and "2026-10-31" in by_day[-1]
    # A week or a month: its days inside the period (2026-10-02 is a Friday).
    by_week = _links(client.get(f"/?{PERIOD}&by=week").text)
    assert [(_query(u)["from"], _query(u)["to"]) for u in by_week] == [
        ("2026-10-02", "2026-10-04"), ("2026-10-05", "2026-10-11"), ("2026-10-12", "2026-10-18"),
        ("2026-10-19", "2026-10-25"), ("2026-10-26", "2026-10-31")]
    page = client.get(by_day[0])
    assert page.status_code == 200 and 'name="from" value="2026-10-02"' in page.text
    assert 'name="to" value="2026-10-02"' in page.text
    # The page's script opens them; no inline code.
    js = (STATIC / "app.js").read_text()
    assert "data-links" in js and "convertFromPixel" in js and "location.href" in js


def _card_value(html: str, key: str) -> str:
    found = re.search(rf'data-metric="{key}">.*?<div class="value"[^>]*>([^<]+)</div>', html,
                      re.S)
    assert found, key
    return found.group(1)


def test_the_overview_shows_bounce_sell_through_click_refund_rates_and_ad_spend(
        client: TestClient) -> None:
    login(client, "owner")
    html = client.get(f"/?{PERIOD}").text
    for label in ("跳失率", "动销率", "点击率", "退款率", "广告花费"):
        assert f"<h3>{label}</h3>" in html, label
    assert _card_value(html, "ad_spend") == "¥3,000.00"  # ¥100.00 a day for 30 days
    assert _card_value(html, "bounce_rate") == "32.50%"  # 35 + 14 + 10 + 6 of 200 visitors
    assert _card_value(html, "click_through_rate") == "5.00%"  # uv of uv × 20 exposures
    for key in ("sell_through", "refund_rate"):
        assert re.fullmatch(r"\d+\.\d\d%", _card_value(html, key)), key
    # A period without traffic: the traffic rates are unknown, "—", never 0%.
    empty = client.get("/?store=旗舰店&from=2026-01-01&to=2026-01-31").text
    for key in ("bounce_rate", "click_through_rate"):
        assert _card_value(empty, key) == "—", key
    assert re.search(r'data-metric="bounce_rate">.*?<div class="change flat"[^>]*>[^<]*'
                     r"<span>上期无数据</span>", empty, re.S)
