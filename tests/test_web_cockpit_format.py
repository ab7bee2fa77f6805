"""The cockpit reads like 京东商智: colours by direction, ¥ and 万 in numbers, funnel rule,
default period."""

from __future__ import annotations

import re

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
