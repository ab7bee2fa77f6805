"""The cockpit's pages: login, languages, overview, SKU table (HTMX), targets form, imports."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_seed import PASSWORD, STORE, fast_hashing, login, seed_store  # noqa: F401

from storeops.api.app import create_app
from storeops.db.engine import session_factory
from storeops.metrics import service
from storeops.metrics.targets import get_targets
from storeops.web.table_export import id_from_csv

MAPPING = Path(__file__).resolve().parents[1] / "examples" / "mappings" / "online_retail.yaml"
PERIOD = "store=旗舰店&from=2026-10-02&to=2026-10-31"

pytestmark = pytest.mark.usefixtures("fast_hashing")


def test_login_page_and_failed_login(client: TestClient) -> None:
    page = client.get("/login")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text and "用户名" in page.text
    r = client.post("/login", data={"username": "owner", "password": "wrong-one"})
    assert r.status_code == 401
    assert "用户名或密码错误" in r.text
    assert client.get("/", follow_redirects=False).status_code == 303  # still logged out


def test_login_returns_to_the_page_asked_for_but_never_off_site(client: TestClient) -> None:
    r = client.get("/skus?q=耳机", follow_redirects=False)
    # The query stays percent-encoded inside `next`.
    assert r.headers["location"] == "/login?next=%2Fskus%3Fq%3D%25E8%2580%25B3%25E6%259C%25BA"
    form = client.get(r.headers["location"]).text
    assert 'name="next" value="/skus?q=%E8%80%B3%E6%9C%BA"' in form
    login(client, "analyst", "/skus?q=%E8%80%B3%E6%9C%BA")
    r = client.post("/login", data={"username": "analyst", "password": PASSWORD,
                                    "next": "//evil.example/x"}, follow_redirects=False)
    assert r.headers["location"] == "/"


def test_overview_in_chinese(client: TestClient) -> None:
    login(client, "owner")
    r = client.get(f"/?{PERIOD}")
    assert r.status_code == 200
    html = r.text
    assert '<html lang="zh-CN">' in html
    for text in ("经营概览", "成交金额", "成交单量", "客单价", "访客数", "成交转化率", "UV价值",
                 "退款金额", "较上期", "转化漏斗", "流量来源", "热销商品 TOP 10", STORE,
                 "设定月度目标", "owner 用户"):
        assert text in html, text
    # Top SKUs: the best seller by GMV comes first.
    assert html.index("纯棉四件套") < html.index("不锈钢保温杯")
    # The weakest funnel step is marked and named.
    assert html.count('class="weakest"') == 1
    assert "最薄弱环节" in html
    # Charts get their data in the page.
    data = re.search(r'<script type="application/json" id="chart-options">(.*?)</script>', html,
                     re.S)
    assert data
    charts = json.loads(data.group(1))
    trend = charts["trend"]
    assert len(trend["xAxis"]["data"]) == 30 and trend["xAxis"]["data"][-1] == "2026-10-31"
    assert [s["yAxisIndex"] for s in trend["series"]] == [0, 1]  # GMV and orders, two axes
    pie = {d["name"]: d["value"] for d in charts["traffic"]["series"][0]["data"]}
    assert set(pie) == {"搜索", "活动", "推荐", "类目/导航"}  # source names translated
    assert pie["搜索"] == 53 * 2 * 4 * 30


def test_overview_in_english_and_the_switch_sticks(client: TestClient) -> None:
    login(client, "analyst")
    r = client.get(f"/?{PERIOD}&lang=en")
    assert '<html lang="en">' in r.text
    for text in ("Overview", "GMV", "Orders", "AOV", "Conversion rate", "vs previous period",
                 "Conversion funnel", "Traffic sources", "Top 10 SKUs by GMV"):
        assert text in r.text, text
    assert "成交金额" not in r.text
    assert "Set the month&#39;s targets" not in r.text  # an analyst cannot set targets
    assert r.cookies.get("lang") == "en" or client.cookies.get("lang") == "en"
    assert '<html lang="en">' in client.get("/skus").text
    assert '<html lang="zh-CN">' in client.get("/skus?lang=zh-CN").text


def test_bad_period_and_unknown_store_show_an_error_page(client: TestClient) -> None:
    login(client, "analyst")
    r = client.get("/?from=2026-10-31&to=2026-10-01")
    assert r.status_code == 422 and "晚于结束日期" in r.text  # the page's language: zh-CN
    r = client.get("/skus?store=nope")
    assert r.status_code == 404 and "没有名为“nope”的店铺" in r.text


def test_targets_form_sets_the_month_and_shows_achievement(
    client: TestClient, seeded: tuple[str, int]
) -> None:
    login(client, "operator")
    r = client.post(f"/targets?{PERIOD}",
                    data={"month": "2026-10", "gmv": "40,000", "uv": "", "conversion_rate": "0.5",
                          "aov": "200"}, follow_redirects=False)
    assert r.status_code == 303
    with session_factory(seeded[0])() as s:
        targets = get_targets(s, seeded[1], "2026-10")
    assert {k: str(v) for k, v in targets.items()} == {
        "gmv": "40000", "conversion_rate": "0.005", "aov": "200"}
    page = client.get(r.headers["location"]).text
    assert "目标已保存" in page
    assert "本月目标 ¥40,000.00" in page and "完成率" in page
    bad = client.post(f"/targets?{PERIOD}", data={"month": "2026-10", "gmv": "lots"})
    assert bad.status_code == 422 and "“lots”不是有效的数字" in bad.text


def test_sku_table_filters_sorts_and_serves_htmx_partials(client: TestClient) -> None:
    login(client, "analyst")
    full = client.get(f"/skus?{PERIOD}")
    assert full.status_code == 200
    assert "共 5 个商品" in full.text and "hx-get" in full.text and "旧款数据线" in full.text
    part = client.get(f"/skus?{PERIOD}&category=家居&sort=title&order=asc",
                      headers={"HX-Request": "true"})
    assert part.status_code == 200
    assert "<html" not in part.text and 'id="sku-table"' in part.text
    assert "共 2 个商品" in part.text
    assert part.text.index("不锈钢保温杯") < part.text.index("纯棉四件套")
    found = client.get(f"/skus?{PERIOD}&q=耳机", headers={"HX-Request": "true"}).text
    assert "共 1 个商品" in found and "无线蓝牙耳机" in found
    off = client.get(f"/skus?{PERIOD}&status=off_shelf", headers={"HX-Request": "true"}).text
    assert "共 1 个商品" in off and "已下架" in off
    by_gmv = client.get(f"/skus?{PERIOD}&sort=gmv&order=desc").text
    assert by_gmv.index("纯棉四件套") < by_gmv.index("智能手环") < by_gmv.index("旧款数据线")


def test_sku_table_exports_its_filter_as_csv_for_excel(client: TestClient,
                                                       seeded: tuple[str, int]) -> None:
    assert client.get(f"/skus.csv?{PERIOD}", follow_redirects=False).status_code == 303
    login(client, "analyst")
    page = client.get(f"/skus?{PERIOD}&category=家居").text
    assert "/skus.csv?" in page and "导出 CSV" in page  # the link keeps the filter
    r = client.get(f"/skus.csv?{PERIOD}&category=家居&sort=title&order=asc")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens Chinese text right
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert lines[0][:5] == ["SKU", "货号", "商品", "类目", "状态"] and "成交金额" in lines[0]
    assert [row[2] for row in lines[1:]] == ["不锈钢保温杯 500ml", "纯棉四件套 1.8m"]
    gmv = lines[0].index("成交金额")
    db, sid = seeded
    by_sku = {r["platform_sku_id"]: r for r in service.kpi_by(
        db, sid, date(2026, 10, 2), date(2026, 10, 31), dimension="sku")}
    for row in lines[1:]:  # exact money, the same figure as the KPI engine's
        assert Decimal(row[gmv]) == by_sku[id_from_csv(row[0])]["gmv"]
    english = client.get(f"/skus.csv?{PERIOD}&lang=en")
    assert english.content.decode("utf-8-sig").startswith("SKU,Seller code,Product")
    assert len(english.content.decode("utf-8-sig").strip().splitlines()) == 1 + 5  # no paging


def test_import_page_shows_summary_and_rejected_rows(client: TestClient) -> None:
    login(client, "operator")
    assert client.get("/import").status_code == 200
    csv = (
        b"InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        b"536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
        b"536366,22633,HAND WARMER,abc,2010-12-01 08:28:00,1.85,17850,United Kingdom\n"
    )
    r = client.post(
        "/import", data={"kind": "orders", "format": "mapping", "store": "uk"},
        files={"file": ("retail.csv", csv, "text/csv"),
               "mapping": ("online_retail.yaml", MAPPING.read_bytes(), "application/x-yaml")},
    )
    assert r.status_code == 200, r.text
    assert "导入结果" in r.text and "被拒绝的行" in r.text
    assert re.search(r'data-field="read">2<', r.text)
    assert re.search(r'data-field="rejected">1<', r.text)
    assert "数量无效" in r.text and "HAND WARMER" in r.text  # the reason in the page's language
    assert "not a whole number" not in r.text  # not the importer's English detail
    assert "店铺：<strong>uk</strong>" in r.text  # the new store the file created
    bad = client.post("/import", data={"kind": "orders", "format": "jd"},
                      files={"file": ("empty.csv", b"", "text/csv")})
    assert bad.status_code == 422 and "导入失败" in bad.text and "empty" in bad.text


def test_fresh_database_sends_an_operator_to_the_import_page(sqlite_db_url: str) -> None:
    from storeops.accounts.users import create_user
    from storeops.db.engine import unit_of_work

    with unit_of_work(sqlite_db_url) as s:
        create_user(s, "owner", PASSWORD, "owner")
    with TestClient(create_app(sqlite_db_url, secret_key="k")) as c:
        login(c, "owner")
        r = c.get("/", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/import"
        assert c.get("/import").status_code == 200


def test_static_files_are_served_without_login(client: TestClient) -> None:
    for name, marker in (("echarts.min.js", "echarts"), ("htmx.min.js", "htmx"),
                         ("app.css", "--red")):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and marker in r.text[:200000]


def test_reject_reasons_speak_the_page_language() -> None:
    from storeops.web.i18n import reject_reason

    assert reject_reason("zh-CN", "negative unit price") == "单价为负"
    assert reject_reason("zh-CN", "missing campaign") == "缺少推广计划"  # the field in words
    assert reject_reason("en", "missing campaign") == "missing campaign"
    assert reject_reason("en", "negative unit price") == "negative unit price"
    assert reject_reason("zh-CN", "a reason added later") == "a reason added later"
