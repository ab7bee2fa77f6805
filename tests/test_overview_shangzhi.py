"""The overview shows 成交 and 下单 figures side by side under 京东商智's names."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from web_seed import fast_hashing, login  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_hashing")
PERIOD = "store=旗舰店&from=2026-10-02&to=2026-10-31"


def test_overview_cards_have_deal_and_placed_figures(client: TestClient) -> None:
    login(client, "owner")
    zh = client.get(f"/?{PERIOD}").text
    for label in ("成交金额", "成交单量", "成交客户数", "下单金额", "下单单量", "下单转化率",
                  "成交转化率", "近90天复购率"):
        assert label in zh, label
    assert zh.index("成交金额") < zh.index("下单金额")
    client.cookies.set("lang", "en")
    en = client.get(f"/?{PERIOD}").text
    for label in ("GMV", "Amount ordered", "Orders placed", "Order conversion rate",
                  "Repurchase rate (90 days)"):
        assert label in en, label
