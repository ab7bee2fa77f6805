"""The import page: what an import did to the store's orders and rows, its choices and its
errors (issue 10)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web_seed import fast_hashing, login  # noqa: F401

MAPPING = Path(__file__).resolve().parents[1] / "examples" / "mappings" / "online_retail.yaml"
HEADER = b"InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
LINE_1 = b"536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
LINE_2 = b"536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850,United Kingdom\n"
LINE_3 = b"536366,22633,HAND WARMER,6,2010-12-01 08:28:00,1.85,17850,United Kingdom\n"
FREIGHT = b"536366,POST,POSTAGE,1,2010-12-01 08:28:00,18.00,17850,United Kingdom\n"

pytestmark = pytest.mark.usefixtures("fast_hashing")


def _post(client: TestClient, body: bytes, *, fmt: str = "mapping", with_mapping: bool = True,
          lang: str = "", **form: str) -> object:
    files = {"file": ("retail.csv", body, "text/csv")}
    if with_mapping:
        files["mapping"] = ("online_retail.yaml", MAPPING.read_bytes(), "application/x-yaml")
    return client.post("/import" + (f"?lang={lang}" if lang else ""),
                       data={"kind": "orders", "format": fmt, "store": "uk", **form},
                       files=files)


def _field(html: str, name: str) -> str | None:
    found = re.search(rf'data-field="{name}">([^<]*)<', html)
    return found.group(1) if found else None


def test_import_result_counts_orders_created_updated_unchanged(client: TestClient) -> None:
    login(client, "operator")
    first = _post(client, HEADER + LINE_1 + LINE_2 + LINE_3 + FREIGHT)
    assert first.status_code == 200, first.text
    html = first.text
    assert (_field(html, "orders_created"), _field(html, "orders_updated"),
            _field(html, "orders_unchanged")) == ("2", "0", "0")
    assert _field(html, "freight") == "1" and "运费行" in html
    assert "新建订单" in html and "更新订单" in html and "未变订单" in html
    again = _post(client, HEADER + LINE_1 + LINE_2 + LINE_3 + FREIGHT).text
    assert (_field(again, "orders_created"), _field(again, "orders_unchanged")) == ("0", "2")
    # a later file with only one line of 536365, its quantity changed: the other line is kept
    partial = _post(client, HEADER + LINE_1.replace(b",6,", b",7,"), lang="en").text
    assert _field(partial, "orders_updated") == "1"
    assert _field(partial, "orders_partial") == "1" and _field(partial, "lines_kept") == "1"
    assert "Orders only partly in the file" in partial and 'data-note="partial"' in partial


def test_column_mapping_without_a_mapping_file_is_an_error_that_says_so(
    client: TestClient,
) -> None:
    login(client, "operator")
    r = _post(client, HEADER + LINE_1, with_mapping=False)
    assert r.status_code == 422
    assert "导入失败" in r.text and "没有上传映射文件" in r.text
    en = _post(client, HEADER + LINE_1, with_mapping=False, lang="en")
    assert en.status_code == 422 and "no mapping file" in en.text
    # nothing was imported: the same file through its mapping creates the order
    assert _field(_post(client, HEADER + LINE_1).text, "orders_created") == "1"


def test_api_column_mapping_without_a_mapping_file_is_422(client: TestClient) -> None:
    login(client, "operator")
    r = client.post("/api/v1/imports?store=uk", data={"kind": "orders", "format": "mapping"},
                    files={"file": ("retail.csv", HEADER + LINE_1, "text/csv")})
    assert r.status_code == 422 and "needs a mapping file" in r.json()["detail"]


def test_the_file_is_complete_choice_replaces_changed_orders_whole(client: TestClient) -> None:
    login(client, "operator")
    assert 'name="complete"' in client.get("/import").text and "文件包含订单的全部行" in \
        client.get("/import").text
    _post(client, HEADER + LINE_1 + LINE_2)
    kept = _post(client, HEADER + LINE_1.replace(b",6,", b",7,")).text
    assert _field(kept, "lines_kept") == "1"  # unticked: the other line stays
    whole = _post(client, HEADER + LINE_1.replace(b",6,", b",8,"), complete="true")
    assert whole.status_code == 200, whole.text
    assert _field(whole.text, "orders_updated") == "1"
    assert _field(whole.text, "orders_partial") is None  # replaced whole: nothing kept
    assert 'name="complete" value="true" checked' in whole.text  # the choice stays ticked


def test_api_import_takes_complete(client: TestClient) -> None:
    login(client, "operator")

    def post(body: bytes, **form: str) -> dict:
        r = client.post("/api/v1/imports?store=uk",
                        data={"kind": "orders", "format": "mapping", **form},
                        files={"file": ("retail.csv", body, "text/csv"),
                               "mapping": ("m.yaml", MAPPING.read_bytes(), "application/x-yaml")})
        assert r.status_code == 200, r.text
        return r.json()["summary"]

    post(HEADER + LINE_1 + LINE_2)
    assert post(HEADER + LINE_1.replace(b",6,", b",7,"))["lines_kept"] == 1
    summary = post(HEADER + LINE_1.replace(b",6,", b",8,"), complete="true")
    assert (summary["orders_updated"], summary["lines_kept"]) == (1, 0)


@pytest.mark.parametrize("kind", ["products", "traffic", "ads"])
def test_templates_hold_the_accepted_headers_and_import_once_filled(
    client: TestClient, kind: str
) -> None:
    import io

    import openpyxl

    from storeops.importers.tables import SPECS

    login(client, "operator")
    page = client.get("/import").text
    assert f'href="/import/templates/{kind}.xlsx"' in page and "下载模板" in page
    r = client.get(f"/import/templates/{kind}.csv")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    header = r.content.decode("utf-8-sig").strip().split(",")
    assert header == [f.headers[0] for f in SPECS[kind].fields]
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/import/templates/{kind}.xlsx").content))
    assert [c.value for c in next(book.active.iter_rows(max_row=1))] == header
    # the template, filled with one row, imports as it is
    rows = {"products": "SKU-1,A1,杯子,家居,牌,99.00,50.00,上架",
            "traffic": "2026-11-01,SKU-1,搜索,10,20,300,30,3,4",
            "ads": "2026-11-01,双11计划,100.00,1000,50,2,300.00"}
    filled = r.content + rows[kind].encode() + b"\n"
    done = client.post("/import", data={"kind": kind, "format": "jd", "store": "uk"},
                       files={"file": (f"{kind}.csv", filled, "text/csv")})
    assert done.status_code == 200, done.text
    assert _field(done.text, "imported") == "1" and _field(done.text, "created") == "1"


def test_unknown_template_is_404(client: TestClient) -> None:
    login(client, "operator")
    assert client.get("/import/templates/orders.csv").status_code == 404
    assert client.get("/import/templates/ads.exe").status_code == 404


def test_rejected_rows_download_and_the_history_of_imports(client: TestClient) -> None:
    login(client, "operator")
    bad = LINE_3.replace(b",6,", b",abc,")
    r = _post(client, HEADER + LINE_1 + bad + b"536367,X,=1+2,abc,2010-12-01 09:00:00,1,1,UK\n")
    assert r.status_code == 200, r.text
    link = re.search(r'href="(/import/batches/(\d+)/rejects\.csv)"', r.text)
    assert link and "下载全部 2 行被拒绝的行" in r.text
    got = client.get(link.group(1))
    assert got.status_code == 200 and "attachment" in got.headers["content-disposition"]
    lines = got.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("row,field,reason") and len(lines) == 3
    assert "HAND WARMER" in got.text and "'=1+2" in got.text  # formulas neutralised
    assert "/tmp" not in r.text  # no server path on the page
    # the history lists the import, newest first, with its counts and the download
    page = client.get("/import").text
    assert "导入记录" in page and 'data-batch="' + link.group(2) + '"' in page
    assert "retail.csv" in page and "新建 1 · 更新 0 · 未变 0 单" in page
    assert f'href="{link.group(1)}"' in page
    for missing in ("999999", "99999999999999999999", "0"):
        assert client.get(f"/import/batches/{missing}/rejects.csv").status_code == 404


def test_analyst_may_not_download_rejects_or_templates(client: TestClient) -> None:
    login(client, "analyst")
    assert client.get("/import/batches/1/rejects.csv").status_code == 403
    assert client.get("/import/templates/ads.csv").status_code == 403


def test_history_names_an_unfinished_import_in_the_page_language(
    client: TestClient, seeded: tuple[str, int]
) -> None:
    from storeops.db.engine import unit_of_work
    from storeops.importers.models import ImportBatch

    db, sid = seeded
    with unit_of_work(db) as s:
        s.add(ImportBatch(store_id=sid, kind="ads", source_name="ads-nov.xlsx", status="failed"))
    login(client, "operator")
    page = client.get("/import").text
    assert "ads-nov.xlsx" in page and "(失败)" in page and "failed" not in page.split("导入记录")[1]
