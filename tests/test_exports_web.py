"""Downloads of the cockpit's tables: the SKU table as CSV and XLSX (the page's filter, sort
and columns, every row, IDs kept as text) and an import's rejected rows as XLSX."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import unquote

import openpyxl
import pytest
from browser_support import CHROMIUM, launch
from fastapi.testclient import TestClient
from web_seed import STORE, fast_hashing, login  # noqa: F401

from storeops.catalog.models import Product
from storeops.db.engine import unit_of_work
from storeops.metrics import service
from storeops.web import sku_table
from storeops.web.table_export import id_from_csv

PERIOD = {"store": STORE, "from": "2026-10-02", "to": "2026-10-31"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ODD_IDS = ("000123", "100012345678")  # Excel would drop the zeros / write 1.00012E+11

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def sqlite_client(sqlite_db_url: str) -> Iterator[tuple[TestClient, str, int]]:
    """The seeded store on SQLite (these paths do not depend on the backend), plus SKUs
    whose ids Excel would mangle and enough of them to fill more than one page."""
    from web_seed import PageClient, seed_store

    from storeops.api.app import create_app

    store_id = seed_store(sqlite_db_url)
    with unit_of_work(sqlite_db_url) as s:
        for sku in ODD_IDS:
            s.add(Product(store_id=store_id, platform_sku_id=sku, title=f"编号 {sku}",
                          category="配件", status="on_sale", seller_code="0042"))
        for n in range(sku_table.PER_PAGE):
            s.add(Product(store_id=store_id, platform_sku_id=f"9{n:04d}", title=f"填充 {n}",
                          category="填充", status="off_shelf"))
    with PageClient(create_app(sqlite_db_url, secret_key="test-secret")) as c:
        yield c, sqlite_db_url, store_id


def _sheet(content: bytes):  # noqa: ANN202 - an openpyxl worksheet
    return openpyxl.load_workbook(io.BytesIO(content)).active


def _table(sheet) -> list[dict]:  # noqa: ANN001
    header = [c.value for c in sheet[1]]
    return [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2)]


def test_sku_xlsx_has_the_page_filter_sort_text_ids_and_number_formats(
    sqlite_client: tuple[TestClient, str, int],
) -> None:
    client, db, sid = sqlite_client
    login(client, "analyst")  # view-only: SKU_VIEW is enough
    page = client.get("/skus", params={**PERIOD, "category": "家居"}).text
    links = re.findall(r'href="(/skus\.(csv|xlsx)\?[^"]*)"', page)
    assert {ext for _, ext in links} == {"csv", "xlsx"} and "导出 Excel" in page
    assert all("category=%E5%AE%B6%E5%B1%85" in href for href, _ in links)  # keeps the filter
    r = client.get("/skus.xlsx", params={**PERIOD, "category": "家居", "sort": "title",
                                         "order": "asc"})
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == \
        f"{STORE}_skus_2026-10-02_2026-10-31.xlsx"
    sheet = _sheet(r.content)
    assert sheet.title == "商品明细" and sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    assert header[:5] == ["SKU", "货号", "商品", "类目", "状态"]
    assert header[5:] == [c.header("zh-CN") for c in sku_table.COLUMNS[5:]]  # the page's list
    rows = _table(sheet)
    assert [r["商品"].value for r in rows] == ["不锈钢保温杯 500ml", "纯棉四件套 1.8m"]
    by_sku = {r["platform_sku_id"]: r for r in service.kpi_by(
        db, sid, date(2026, 10, 2), date(2026, 10, 31), dimension="sku")}
    for row in rows:
        sku = row["SKU"]
        assert sku.data_type == "s" and sku.number_format == "@"
        gmv = row["成交金额"]
        assert isinstance(gmv.value, int | float) and "¥" in gmv.number_format
        assert Decimal(str(gmv.value)) == by_sku[sku.value]["gmv"]
        assert row["成交单量"].number_format == "#,##0"
        rate = row["成交转化率"]
        assert rate.number_format == "0.00%"
        assert rate.value == pytest.approx(float(by_sku[sku.value]["conversion_rate"]))
        assert 0 < rate.value < 1  # a fraction that Excel shows as a percentage
        assert row["状态"].value == "在售"


def test_sku_xlsx_every_row_ids_whole_and_english_headers(
    sqlite_client: tuple[TestClient, str, int],
) -> None:
    client, _, _ = sqlite_client
    login(client, "analyst")
    page = client.get("/skus", params=PERIOD).text
    assert "共 57 个商品" in page and page.count("<tr>") < 57  # the page shows one page
    r = client.get("/skus.xlsx", params={**PERIOD, "lang": "en", "sort": "platform_sku_id",
                                         "order": "asc"})
    sheet = _sheet(r.content)
    assert sheet.title == "SKUs"
    rows = _table(sheet)
    assert len(rows) == 57  # every row of the filter, not one page
    assert [c.value for c in sheet[1]][:5] == ["SKU", "Seller code", "Product", "Category",
                                               "Status"]
    ids = {r["SKU"].value: r for r in rows}
    for sku in ODD_IDS:
        assert ids[sku]["SKU"].data_type == "s" and ids[sku]["Seller code"].value == "0042"
    assert ids["90000"]["Status"].value == "Off shelf"
    assert [r["SKU"].value for r in rows] == sorted(ids)  # the sort asked for


def test_sku_csv_writes_ids_so_that_excel_keeps_them_text(
    sqlite_client: tuple[TestClient, str, int],
) -> None:
    client, _, _ = sqlite_client
    login(client, "analyst")
    r = client.get("/skus.csv", params={**PERIOD, "category": "配件"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "filename*=UTF-8''" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf") and b"\r\n" in r.content
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"), newline="")))
    written = {row[0]: row for row in rows[1:]}
    assert set(written) == {'="000123"', '="100012345678"'}  # text to Excel, not numbers
    assert {id_from_csv(k) for k in written} == set(ODD_IDS)
    assert all(row[1] == '="0042"' for row in written.values())  # the seller code too
    rate = rows[0].index("成交转化率")
    assert all(row[rate] in ("", "0.00%") for row in written.values())


def test_sku_exports_need_a_login_and_a_bad_period_is_no_file(
    sqlite_client: tuple[TestClient, str, int],
) -> None:
    client, _, _ = sqlite_client
    for path in ("/skus.csv", "/skus.xlsx"):
        r = client.get(path, params=PERIOD, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
    login(client, "analyst")
    bad = client.get("/skus.xlsx", params={**PERIOD, "from": "2026-10-31", "to": "2026-10-01"})
    assert bad.status_code == 422 and bad.headers["content-type"] != XLSX


# --- rejected rows ---------------------------------------------------------------------------

HEADER = b"InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
GOOD = b"536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
BAD = (b"000536366,22633,HAND WARMER,abc,2010-12-01 08:28:00,1.85,17850,United Kingdom\n"
       b"536367,X,=1+2,abc,2010-12-01 09:00:00,1,1,UK\n")


def test_rejected_rows_download_as_xlsx_with_ids_as_text(client: TestClient) -> None:
    mapping = Path(__file__).resolve().parents[1] / "examples" / "mappings" / "online_retail.yaml"
    login(client, "operator")
    r = client.post("/import", data={"kind": "orders", "format": "mapping", "store": "uk"},
                    files={"file": ("retail.csv", HEADER + GOOD + BAD, "text/csv"),
                           "mapping": ("online_retail.yaml", mapping.read_bytes(),
                                       "application/x-yaml")})
    assert r.status_code == 200, r.text
    link = re.search(r'href="(/import/batches/(\d+)/rejects\.xlsx)"', r.text)
    assert link, "the result offers the rejected rows as XLSX"
    assert f'href="{link.group(1)}"' in client.get("/import").text  # and so does the history
    got = client.get(link.group(1))
    assert got.status_code == 200 and got.headers["content-type"] == XLSX
    assert f"import-{link.group(2)}.rejects.xlsx" in got.headers["content-disposition"]
    sheet = _sheet(got.content)
    assert sheet.title == "被拒绝的行" and sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["行号", "字段", "原因"] and header[3:5] == ["InvoiceNo", "StockCode"]
    rows = _table(sheet)
    assert len(rows) == 2
    invoice = rows[0]["InvoiceNo"]
    assert invoice.value == "000536366" and invoice.data_type == "s"  # zeros kept
    assert invoice.number_format == "@"
    assert rows[0]["行号"].value == 3 and isinstance(rows[0]["行号"].value, int)
    formula = rows[1]["Description"]
    assert formula.value == "=1+2" and formula.data_type == "s"  # shown as typed, never run
    english = _sheet(client.get(link.group(1), params={"lang": "en"}).content)
    assert [c.value for c in english[1]][:3] == ["Row", "Field", "Reason"]
    assert client.get("/import/batches/999999/rejects.xlsx").status_code == 404
    login(client, "analyst")
    assert client.get(link.group(1)).status_code == 403


# --- in a real browser -----------------------------------------------------------------------

@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing")
def test_browser_downloads_the_filtered_sku_table_as_xlsx(sqlite_db_url: str,
                                                          tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright
    from web_seed import PASSWORD, seed_store, serving

    from storeops.api.app import create_app

    seed_store(sqlite_db_url)
    with serving(create_app(sqlite_db_url, secret_key="browser-test")) as server, \
            sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(locale="zh-CN", accept_downloads=True)
            page.goto(f"{server}/skus?from=2026-10-02&to=2026-10-31")
            page.fill("input[name=username]", "analyst")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.select_option("select[name=category]", "家居")  # HTMX redraws the table
            page.wait_for_function(
                "() => document.querySelector('#sku-table').textContent.includes('共 2 个商品')")
            with page.expect_download() as info:
                page.click("#sku-table a.export[data-format=xlsx]")
            download = info.value
            assert download.suggested_filename == f"{STORE}_skus_2026-10-02_2026-10-31.xlsx"
            saved = tmp_path / download.suggested_filename
            download.save_as(saved)
        finally:
            browser.close()
    sheet = openpyxl.load_workbook(saved).active
    rows = _table(sheet)
    assert {r["类目"].value for r in rows} == {"家居"} and len(rows) == 2
    assert all(r["SKU"].data_type == "s" and r["SKU"].number_format == "@" for r in rows)
