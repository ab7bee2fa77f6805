"""The cockpit reads like 京东商智: colours by direction, ¥ and 万 in numbers, funnel rule,
default period."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_seed import fast_hashing, login  # noqa: F401

from storeops.web import format as fmt

pytestmark = pytest.mark.usefixtures("fast_hashing")
PERIOD = "store=旗舰店&from=2026-10-02&to=2026-10-31"
CARD = re.compile(r'<article class="kpi card" data-metric="(\w+)">.*?'
                  r'<div class="change (\w+)"[^>]*>.*?<span>([^<]*)</span>', re.S)


def test_a_rise_is_red_and_a_fall_green_whatever_the_metric() -> None:
    # 商智 colours by direction: a higher refund rate is still a red ▲.
    assert fmt.change_badge("refund_rate", 0.1) == ("▲ 10.0%", "rise")
    assert fmt.change_badge("bounce_rate", -0.05) == ("▼ 5.0%", "fall")
    assert fmt.change_badge("gmv", 0.123) == ("▲ 12.3%", "rise")
    assert fmt.change_badge("gmv", -0.5) == ("▼ 50.0%", "fall")
    assert fmt.change_badge("gmv", None)[1] == fmt.change_badge("gmv", 0)[1] == "flat"


def test_overview_cards_colour_by_direction_with_the_arrow(client: TestClient) -> None:
    login(client, "owner")
    html = client.get(f"/?{PERIOD}").text
    cards = CARD.findall(html)
    assert len(cards) >= 10
    seen = set()
    for key, css, text in cards:
        expected = "rise" if text.startswith("▲") else "fall" if text.startswith("▼") else "flat"
        assert css == expected, (key, css, text)
        seen.add(css)
    assert "good" not in {c for _, c, _ in cards} and "bad" not in {c for _, c, _ in cards}
    css = client.get("/static/app.css").text
    rule = re.search(r"\.change\.rise span[^{]*\{([^}]*)\}", css)
    assert rule and "var(--rise)" in rule.group(1)
    assert re.search(r"--rise:\s*#e1251b", css) and re.search(r"--fall:\s*#1a8f4c", css)


def test_money_in_wan_and_yi_two_decimals_and_rates_as_percent() -> None:
    assert fmt.money_compact(9999.99) == "¥9,999.99"  # below 1万: the exact figure
    assert fmt.money_compact(10000) == "¥1.00万"
    assert fmt.money_compact("123456.785") == "¥12.35万"  # half up
    assert fmt.money_compact("123456789.12") == "¥1.23亿"
    assert fmt.money_compact("-25000") == "-¥2.50万"
    assert fmt.money_compact(None) == fmt.money_compact("NaN") == "—"
    assert fmt.money_compact("123456789.12", lang="en") == "¥123.46M"
    assert fmt.metric_value("gmv", "123456.78") == "¥123,456.78"  # tables: exact
    assert fmt.metric_value("uv", 1234567) == "1,234,567"
    from storeops.web.table_export import MONEY, RATE, RATIO, csv_cell  # the files' rule
    assert csv_cell(RATE, 0.059794) == "5.98%"
    assert csv_cell(RATIO, 3.256) == "3.26" and csv_cell(MONEY, 5) == "5.00"


def _charts(html: str) -> dict:
    data = re.search(r'<script type="application/json" id="chart-options">(.*?)</script>', html,
                     re.S)
    assert data
    return json.loads(data.group(1))


def test_overview_cards_in_wan_with_the_exact_figure_and_charts_formatted(
        client: TestClient) -> None:
    login(client, "owner")
    html = client.get(f"/?{PERIOD}").text
    gmv = re.search(r'data-metric="gmv">.*?<div class="value" title="([^"]+)">([^<]+)</div>',
                    html, re.S)
    assert gmv, "the GMV card shows 万 with the exact figure as its title"
    exact, shown = gmv.groups()
    assert re.fullmatch(r"¥\d+\.\d\d万", shown), shown
    assert re.fullmatch(r"¥\d{1,3}(,\d{3})+\.\d\d", exact), exact
    uv = re.search(r'data-metric="uv">.*?<div class="value"[^>]*>([^<]+)</div>', html, re.S)
    assert uv and re.fullmatch(r"\d{1,3}(,\d{3})+", uv.group(1))  # separators
    # The charts say how to write their numbers; the helper is a file, not an inline script.
    charts = _charts(html)
    assert charts["trend"]["storeops"] == {"yAxis": ["money", "count"],
                                           "series": ["money", "count"], "symbol": "¥",
                                           "units": [[100_000_000, "亿"], [10_000, "万"]]}
    assert charts["traffic"]["storeops"]["series"] == ["count"]
    assert '<script src="/static/chart_format.js" defer></script>' in html
    assert re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)", html) == []
    assert client.get("/static/chart_format.js").status_code == 200


def test_sku_csv_writes_rates_as_percentages(client: TestClient) -> None:
    login(client, "analyst")
    text = client.get(f"/skus.csv?{PERIOD}").content.decode("utf-8-sig")
    lines = text.strip().splitlines()
    head = lines[0].split(",")
    rate = head.index("成交转化率")
    cells = [line.split(",")[rate] for line in lines[1:]]
    known = [c for c in cells if c]  # "" where a SKU had no visitors
    assert known and all(re.fullmatch(r"\d+\.\d\d%", c) for c in known), cells


JS = Path(__file__).resolve().parents[1] / "storeops" / "web" / "static" / "chart_format.js"


@pytest.mark.skipif(not shutil.which("node"), reason="node is missing")
def test_chart_helper_writes_numbers_as_the_server_does() -> None:
    values = ["0", "9999.99", "10000", "123456.78", "123456789.12", "-25000"]
    script = (f"const f = require({json.dumps(str(JS))});"
              "const c = {symbol: '¥', units: [[100000000, '亿'], [10000, '万']]};"
              f"console.log(JSON.stringify({json.dumps(values)}.map(v => "
              "[f.money(v, c), f.moneyCompact(v, c), f.count(Math.round(v))])));")
    out = json.loads(subprocess.run(["node", "-e", script], capture_output=True, text=True,
                                    check=True, timeout=30).stdout)
    from decimal import ROUND_HALF_UP, Decimal
    for v, (money, compact, count) in zip(values, out, strict=True):
        assert compact == fmt.money_compact(v), v
        assert count == fmt.count(int(Decimal(v).quantize(Decimal(1), ROUND_HALF_UP)))
        assert money.replace("-¥", "¥-") == fmt.money(v), v


def _facts(exposure: int, clicks: int, cart: int, placed: int, paid: int) -> dict[str, int]:
    return {"exposure": exposure, "clicks": clicks, "cart_users": cart,
            "placed_orders": placed, "orders": paid}


def test_weakest_step_is_the_one_furthest_below_its_range_never_one_inside() -> None:
    from storeops.metrics.service import funnel_from_facts

    # Every rate inside its range (click 8%, cart 20%, order 35%, pay 85%): nothing flagged.
    assert funnel_from_facts(_facts(10_000, 800, 160, 56, 48))["weakest"] is None
    # Click above its range, cart just below (14% < 15%), pay far below (50% < 80%): pay.
    assert funnel_from_facts(_facts(10_000, 2_000, 280, 100, 50))["weakest"] == "pay"
    # Only cart below (10% against 15%): cart, though click (12%) is above its range.
    assert funnel_from_facts(_facts(10_000, 1_200, 120, 42, 36))["weakest"] == "cart"
    # No traffic: the order figures alone (pay 50%) do not make a weakest step.
    f = funnel_from_facts(_facts(0, 0, 0, 10, 5))
    assert f["weakest"] is None and [s["rate"] for s in f["steps"]][:4] == [None] * 4


def test_a_store_without_traffic_shows_dashes_and_flags_nothing() -> None:
    from storeops.metrics.service import funnel_from_facts
    from storeops.web.views import funnel_view

    steps, sentence = funnel_view(funnel_from_facts(_facts(0, 0, 0, 10, 5)), "zh-CN")
    assert [s.value for s in steps] == ["—", "—", "—", "10", "5"]
    assert not any(s.weakest for s in steps)
    assert "暂无流量数据" in sentence and "最薄弱环节：" not in sentence
    steps, sentence = funnel_view(funnel_from_facts(_facts(10_000, 800, 160, 56, 48)), "en")
    assert not any(s.weakest for s in steps) and "within its typical range" in sentence
    steps, sentence = funnel_view(funnel_from_facts(_facts(10_000, 800, 160, 56, 20)), "zh-CN")
    assert [s.key for s in steps if s.weakest] == ["pay"] and sentence.startswith("最薄弱环节：")


def test_period_shortcuts_end_yesterday() -> None:
    from datetime import date

    from storeops.web.views import default_period, period_shortcuts

    assert default_period(date(2026, 12, 2)) == (date(2026, 11, 2), date(2026, 12, 1))
    got = {k: (a.isoformat(), b.isoformat()) for k, a, b in period_shortcuts(date(2026, 12, 2))}
    assert got == {  # 2026-12-02 is a Wednesday
        "yesterday": ("2026-12-01", "2026-12-01"), "last_7": ("2026-11-25", "2026-12-01"),
        "last_30": ("2026-11-02", "2026-12-01"), "this_week": ("2026-11-30", "2026-12-01"),
        "this_month": ("2026-12-01", "2026-12-01"), "last_month": ("2026-11-01", "2026-11-30"),
        "last_year": ("2025-12-02", "2026-12-01")}
    # On the 1st, this month is today alone, never last month.
    first = {k: (a, b) for k, a, b in period_shortcuts(date(2026, 3, 1))}
    assert first["this_month"] == (date(2026, 3, 1),) * 2
    assert first["last_month"] == (date(2026, 2, 1), date(2026, 2, 28))


def test_default_period_is_the_last_30_full_days_with_shortcuts(client: TestClient) -> None:
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    login(client, "owner")
    yesterday = datetime.now(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=1)
    first = yesterday - timedelta(days=29)
    for path in ("/", "/skus"):
        html = client.get(path).text
        assert f'name="from" value="{first.isoformat()}"' in html, path
        assert f'name="to" value="{yesterday.isoformat()}"' in html, path
    html = client.get("/").text
    assert len(_charts(html)["trend"]["xAxis"]["data"]) == 30
    labels = re.findall(r'<a href="[^"]*" class="shortcut( active)?"[^>]*>([^<]+)</a>', html)
    assert [label for _, label in labels] == ["昨天", "近7天", "近30天", "本周", "本月", "上月",
                                              "近一年"]
    assert [label for active, label in labels if active] == ["近30天"]
    # An explicit period still wins.
    assert 'name="from" value="2026-10-02"' in client.get(f"/?{PERIOD}").text
