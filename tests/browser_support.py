"""What the real-browser tests share: Debian's chromium (never a downloaded browser), the
flags it runs with here, the marks that skip without it and the script that reads the charts'
state. The served seeded store they open is conftest's ``server`` fixture."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# pytestmark of every browser test module.
NEEDS_CHROMIUM = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists() and not shutil.which("chromium"),
                       reason=f"{CHROMIUM} is missing: install Debian's chromium package"),
]


def launch(playwright: Any) -> Any:
    """Debian's chromium, headless, with the flags this machine needs."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


# Each chart's canvas size and series (type, points, non-zero points), as ECharts holds them.
CHART_STATE = """
() => Array.from(document.querySelectorAll('[data-chart]')).map(el => {
  const canvas = el.querySelector('canvas');
  const chart = echarts.getInstanceByDom(el);
  const series = chart ? chart.getOption().series : [];
  return {
    name: el.dataset.chart,
    canvas: canvas ? [canvas.width, canvas.height] : null,
    series: series.map(s => ({type: s.type, points: (s.data || []).length,
                              nonzero: (s.data || []).filter(d => (d.value ?? d) > 0).length})),
  };
})
"""


def drawn_charts(page: Any) -> dict[str, dict[str, Any]]:
    """The page's charts by name (CHART_STATE), each checked to be drawn on a real canvas."""
    charts = {c["name"]: c for c in page.evaluate(CHART_STATE)}
    for chart in charts.values():
        assert chart["canvas"] and min(chart["canvas"]) > 0, chart
    return charts


def logged_in_page(browser: Any, url: str, username: str, password: str, *,
                   viewport: dict[str, int] | None = None) -> tuple[Any, list[str]]:
    """A zh-CN page that opened ``url``, logged in as ``username`` on the login page it was
    sent to and came back; with the list that collects the page's console errors and uncaught
    exceptions (a test asserts it stays empty)."""
    page = browser.new_page(viewport=viewport or {"width": 1300, "height": 1000},
                            locale="zh-CN")
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(url)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(url)
    return page, problems
