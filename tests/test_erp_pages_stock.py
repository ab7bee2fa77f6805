"""The stock, ledger, flash-sale and JD connector pages (tests/erp_seed.py's rows): what they
show in both languages, their filters, forms that refuse bad input keeping what was typed,
who may see and change what."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from erp_seed import APP_KEY, SECRET, Erp, seed_erp
from sqlalchemy import select
from web_seed import PageClient, fast_hashing, login, seed_store  # noqa: F401

from storeops.api.app import create_app
from storeops.connectors.jd.models import JdConnection
from storeops.db.engine import unit_of_work

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def erp(seeded: tuple[str, int]) -> Erp:
    return seed_erp(*seeded)


@pytest.fixture
def lite(sqlite_db_url: str) -> Iterator[tuple[Any, Erp, str]]:
    """(client, ERP rows, database URL) on SQLite only, for what does not depend on the
    database (stock pages and forms run on both)."""
    with PageClient(create_app(sqlite_db_url, secret_key="test-secret")) as c:
        yield c, seed_erp(sqlite_db_url, seed_store(sqlite_db_url)), sqlite_db_url


def stock_rows(html: str) -> list[tuple[str, str, str]]:
    """(sku, warehouse code, row class) of the stock table."""
    return re.findall(r'<tr data-sku="([^"]+)" data-warehouse="([^"]+)" class="([^"]*)"', html)


def test_stock_page_by_warehouse_with_low_stock(client: Any, erp: Erp) -> None:
    login(client, "analyst")
    r = client.get("/stock")
    assert r.status_code == 200
    rows = stock_rows(r.text)
    assert rows == [("1001", "default", ""), ("1001", "north", "stock-low"),
                    ("1002", "default", "stock-low"), ("2001", "default", "stock-out")]
    assert "北京仓" in r.text and "默认仓" in r.text and "缺货" in r.text
    assert 'data-action="receive"' not in r.text  # the analyst only sees
    en = client.get("/stock?lang=en")
    client.cookies.delete("lang")  # back to Chinese
    assert "Safety buffer" in en.text and "Available" in en.text
    north = client.get("/stock?warehouse=" + re.search(
        r'<option value="(\d+)" >北京仓', r.text).group(1))
    assert [x[1] for x in stock_rows(north.text)] == ["north"]
    assert [x[0] for x in stock_rows(client.get("/stock?sku=100").text)] == \
        ["1001", "1001", "1002"]
    assert client.get("/stock?page=1000000").status_code == 422
    assert client.get("/stock?sku=" + "9" * 65).status_code == 422
    assert client.get("/stock?warehouse=abc").status_code == 422


def test_receive_and_adjust_forms(client: Any, erp: Erp) -> None:
    login(client, "operator")
    page = client.get("/stock")
    assert 'data-action="receive"' in page.text and 'data-action="adjust"' in page.text
    bad = client.post("/stock/receive", data={"sku": "1002", "qty": "-3", "warehouse": "north",
                                              "note": "补货"})
    assert bad.status_code == 422
    assert 'id="receive-qty-error"' in bad.text and 'value="-3"' in bad.text
    assert 'value="补货"' in bad.text
    assert '<option value="north" selected>' in bad.text
    unknown = client.post("/stock/receive?lang=en", data={"sku": "NOPE", "qty": "2"})
    client.cookies.delete("lang")  # back to Chinese
    assert unknown.status_code == 422 and "The store has no SKU NOPE" in unknown.text
    ok = client.post("/stock/receive", data={"sku": "1002", "qty": "20", "warehouse": "north"},
                     follow_redirects=True)
    assert ok.status_code == 200 and "已入库。" in ok.text
    assert ("1002", "north", "") in stock_rows(ok.text)
    no_reason = client.post("/stock/adjust", data={"sku": "1002", "qty": "-1"})
    assert no_reason.status_code == 422 and 'id="adjust-note-error"' in no_reason.text
    # The service's own refusal (stock would go negative) beside the form, in its language.
    negative = client.post("/stock/adjust", data={"sku": "1002", "qty": "-999",
                                                  "note": "盘亏"})
    assert negative.status_code == 422 and 'data-error="adjust"' in negative.text
    ledger = client.get("/stock/ledger?reason=receipt")
    assert 'data-reason="receipt" data-sku="1002"' in ledger.text
    assert "user:operator" in ledger.text
    login(client, "analyst")
    assert client.post("/stock/receive", data={"sku": "1002", "qty": "1"}).status_code == 403


def test_ledger_newest_first_with_filters(lite: tuple[Any, Erp, str]) -> None:
    client, erp, db_url = lite
    login(client, "analyst")
    r = client.get("/stock/ledger")
    assert r.status_code == 200
    reasons = re.findall(r'<tr data-reason="([a-z]+)" data-sku="([^"]+)"', r.text)
    assert reasons[0] == ("adjustment", "2001")  # the newest first
    assert ("receipt", "1001") in reasons
    assert "破损" in r.text and "-1" in r.text
    only = client.get("/stock/ledger?sku=1001&reason=receipt")
    assert set(re.findall(r'data-reason="([a-z]+)" data-sku="([^"]+)"', only.text)) == \
        {("receipt", "1001")}
    assert "Adjustment" in client.get("/stock/ledger?lang=en").text
    client.cookies.delete("lang")  # back to Chinese
    assert client.get("/stock/ledger?page=200").status_code == 200
    assert client.get("/stock/ledger?page=201").status_code == 422


def test_flash_sales_page_and_create_form(lite: tuple[Any, Erp, str]) -> None:
    client, erp, db_url = lite
    login(client, "owner")
    r = client.get("/flash")
    assert r.status_code == 200
    states = re.findall(r'data-state="([a-z]+)"', r.text)
    assert sorted(states) == ["ended", "running", "upcoming"]
    assert "进行中" in r.text and "¥99.01" in r.text and ">60<" in r.text
    assert "Running" in client.get("/flash?lang=en").text
    client.cookies.delete("lang")  # back to Chinese
    bad = client.post("/flash", data={"sku": "1001", "qty": "10", "price": "9.999",
                                      "start": "2026-13-01T10:00", "end": ""})
    assert bad.status_code == 422
    for field in ("price", "start", "end"):
        assert f'id="flash-{field}-error"' in bad.text
    assert 'value="9.999"' in bad.text and 'value="10"' in bad.text
    backwards = client.post("/flash", data={"sku": "1001", "qty": "10", "price": "99",
                                            "start": "2099-01-02T10:00",
                                            "end": "2099-01-01T10:00"})
    assert backwards.status_code == 422 and "结束时间须晚于开始时间" in backwards.text
    ok = client.post("/flash", data={"sku": "1001", "qty": "10", "price": "88.80",
                                     "start": "2099-01-01T10:00", "end": "2099-01-01T12:00",
                                     "per_buyer": "1"}, follow_redirects=True)
    assert ok.status_code == 200, ok.text
    assert "秒杀已创建。" in ok.text and "¥88.80" in ok.text
    assert "2099-01-01 10:00" in ok.text  # shown as typed, in the store's time zone
    login(client, "analyst")
    assert 'data-action="flash"' not in client.get("/flash").text
    assert client.post("/flash", data={"sku": "1001"}).status_code == 403


def test_connector_page(lite: tuple[Any, Erp, str], monkeypatch: Any) -> None:
    client, erp, db_url = lite
    login(client, "owner")
    r = client.get("/connector")
    assert r.status_code == 200
    assert "已连接" in r.text and "APPK…7890" in r.text
    assert APP_KEY not in r.text and SECRET not in r.text
    assert "token expired" in r.text
    assert len(re.findall(r"<tr data-run=", r.text)) == 20
    assert 'data-status="failed"' in r.text
    assert "Sync now" in client.get("/connector?lang=en").text
    client.cookies.delete("lang")  # back to Chinese
    queued = []
    monkeypatch.setattr("storeops.jobs.queue.enqueue_sync",
                        lambda db, store_id: queued.append(store_id))
    done = client.post("/connector/sync", follow_redirects=True)
    assert done.status_code == 200 and "同步任务已排队" in done.text and len(queued) == 1
    with unit_of_work(db_url) as s:
        s.delete(s.get(JdConnection, s.scalar(select(JdConnection.store_id))))
    r = client.get("/connector")
    assert r.status_code == 200 and 'data-connected="0"' in r.text
    assert "storeops jd connect" in r.text
    refused = client.post("/connector/sync")
    assert refused.status_code == 409 and "无法同步" in refused.text and len(queued) == 1
    login(client, "operator")
    assert client.get("/connector").status_code == 403
    assert client.post("/connector/sync").status_code == 403
