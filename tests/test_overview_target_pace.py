"""Targets show their month's time progress (时间进度) beside the achievement, and only on
views inside that month."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

import pytest
from fastapi.testclient import TestClient
from web_seed import fast_hashing, login  # noqa: F401

from storeops.metrics.month_pace import target_month, time_progress
from storeops.web import pages

pytestmark = pytest.mark.usefixtures("fast_hashing")
D = date.fromisoformat
TODAY = D("2026-10-21")  # store-local: 本月 is 2026-10-01..2026-10-20


def test_time_progress_counts_the_months_full_days() -> None:
    assert time_progress(D("2026-10-01"), D("2026-10-20"), TODAY) == 20 / 31
    # A view ending today counts full days only: up to yesterday.
    assert time_progress(D("2026-10-01"), D("2026-10-21"), TODAY) == 20 / 31
    assert time_progress(D("2026-09-01"), D("2026-09-30"), TODAY) == 1.0
    assert time_progress(D("2026-10-05"), D("2026-10-10"), TODAY) == 10 / 31
    assert time_progress(D("2024-02-01"), D("2024-02-15"), TODAY) == 15 / 29  # a leap year
    assert time_progress(D("2026-10-01"), D("2026-10-01"), D("2026-10-01")) == 0.0
    # A view across months: no month's target applies.
    assert time_progress(D("2026-09-21"), D("2026-10-20"), TODAY) is None
    assert target_month(D("2025-10-21"), D("2026-10-20")) is None
    assert target_month(D("2026-02-03"), D("2026-02-10")) == (D("2026-02-01"), D("2026-02-28"))


@pytest.fixture
def today(monkeypatch: pytest.MonkeyPatch) -> date:
    monkeypatch.setattr(pages, "store_today", lambda sc: TODAY)
    return TODAY


def _shortcut(client: TestClient, label: str) -> str:
    html = client.get("/?store=旗舰店").text
    found = re.search(rf'<a href="([^"]+)" class="shortcut[^"]*"[^>]*>{label}</a>', html)
    assert found, label
    return unescape(found.group(1))


def _card(html: str, key: str) -> str:
    found = re.search(rf'data-metric="{key}">(.*?)</article>', html, re.S)
    assert found, key
    return found.group(1)


def test_this_months_view_shows_time_progress_beside_achievement(
        client: TestClient, today: date) -> None:
    login(client, "owner")
    for month in ("2026-10", "2026-09"):
        r = client.post("/targets?store=旗舰店", data={"month": month, "gmv": "40000",
                                                      "uv": "9000", "conversion_rate": "5"},
                        follow_redirects=False)
        assert r.status_code == 303, r.text
    this_month = _shortcut(client, "本月")
    assert "from=2026-10-01&to=2026-10-20" in this_month
    html = client.get(this_month).text
    gmv = _card(html, "gmv")
    assert "完成率" in gmv
    assert '时间进度 <strong class="time-progress">64.5%</strong>' in gmv  # 20 of 31 days
    assert 'class="pace" style="left: 64.5%"' in gmv  # the marker on the achievement bar
    assert "64.5%" in _card(html, "uv")
    # A rate's target is no sum that grows through the month: no pace beside it.
    rate = _card(html, "conversion_rate")
    assert "完成率" in rate and "时间进度" not in rate
    assert "月度目标只适用于" not in html
    last_month = client.get(_shortcut(client, "上月")).text
    assert '时间进度 <strong class="time-progress">100.0%</strong>' in _card(last_month, "gmv")
    en = client.get(this_month + "&lang=en").text
    assert 'Time elapsed <strong class="time-progress">64.5%</strong>' in _card(en, "gmv")


def test_a_view_across_months_shows_no_target_achievement(
        client: TestClient, today: date) -> None:
    login(client, "owner")
    client.post("/targets?store=旗舰店", data={"month": "2026-10", "gmv": "40000"},
                follow_redirects=False)
    for label in ("近一年", "近30天"):
        html = client.get(_shortcut(client, label) + "&lang=zh-CN").text
        assert "完成率" not in html and "时间进度" not in html, label
        assert 'class="target"' not in html, label
        assert "月度目标只适用于同一自然月内的周期" in html, label
