"""The ERP pages as a user meets them: orders, an order with its timeline and actions, the
review queue (tests/erp_seed.py's rows on web_seed's store), in Chinese and English, with
filters, refused forms that keep what was typed, permissions and bounded parameters."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from erp_seed import BUYER_A, HELD_REASON, Erp, seed_erp
from web_seed import PageClient, fast_hashing, login, seed_store  # noqa: F401

from storeops.api.app import create_app
from storeops.db.engine import session_factory
from storeops.orders.models import Order

pytestmark = pytest.mark.usefixtures("fast_hashing")


@pytest.fixture
def erp(seeded: tuple[str, int]) -> Erp:
    return seed_erp(*seeded)


@pytest.fixture
def lite(sqlite_db_url: str) -> Iterator[tuple[Any, Erp, str]]:
    """(client, ERP rows, database URL) on SQLite only: the tests of the pages' own words and
    forms, which do not depend on the database (the ones that do run on both)."""
    with PageClient(create_app(sqlite_db_url, secret_key="test-secret")) as c:
        yield c, seed_erp(sqlite_db_url, seed_store(sqlite_db_url)), sqlite_db_url


def order_ids(html: str) -> list[str]:
    """The platform order ids of the ERP orders listed on a page, in order."""
    return re.findall(r'data-order="(ERP\d+)"', html)


def stage_of(db_url: str, oid: int) -> str:
    with session_factory(db_url)() as s:
        return s.get(Order, oid).stage


def test_orders_list_in_both_languages(client: Any, erp: Erp) -> None:
    login(client, "analyst")
    r = client.get("/orders?q=ERP")
    assert r.status_code == 200
    assert order_ids(r.text) == ["ERP005", "ERP002", "ERP001", "ERP003", "ERP004"]
    assert "待审核" in r.text and "等待出库" in r.text and HELD_REASON in r.text
    assert "¥404.00" in r.text  # ERP001: 2 × 199.00 + 6.00 freight
    assert BUYER_A not in r.text and "jd***ha" in r.text  # the account is masked
    assert 'class="due-soon"' in r.text and 'class="overdue"' in r.text
    en = client.get("/orders?q=ERP&lang=en")
    assert "Under review" in en.text and "Awaiting stock-out" in en.text
    assert "buyer remark: 请周末送货" in en.text and HELD_REASON not in en.text
    assert "Overdue by 3 h" in en.text or "Overdue by 2 h" in en.text
    # The navigation offers the ERP pages to a role that may see them.
    assert 'href="/review?store=' in r.text and 'href="/stock?store=' in r.text
    assert "/connector" not in r.text  # the analyst may not manage the connector


FILTERS = [
    ("stage=under_review", ["ERP002", "ERP001"]),
    ("held=1", ["ERP001"]),
    ("sla=overdue", ["ERP003"]),
    ("sla=due_soon", ["ERP001"]),
    ("status=wait_pay", ["ERP005"]),
    (f"q={BUYER_A}", ["ERP002", "ERP001"]),
    ("q=ERP003", ["ERP003"]),
    ("q=ERP00%25", []),  # a LIKE wildcard typed is searched as it is
    ("stage=nonsense&q=ERP", ["ERP005", "ERP002", "ERP001", "ERP003", "ERP004"]),
]


def test_orders_filters(client: Any, erp: Erp) -> None:
    login(client, "analyst")
    for query, expected in FILTERS:
        r = client.get(f"/orders?{query}")
        assert r.status_code == 200
        assert order_ids(r.text) == expected, query


def test_orders_parameters_are_bounded(client: Any, erp: Erp) -> None:
    login(client, "analyst")
    assert client.get("/orders?page=99999999999").status_code == 422
    assert client.get("/orders?page=201").status_code == 422
    assert client.get("/orders?page=abc").status_code == 422
    far = client.get("/orders?page=200")
    assert far.status_code == 200 and order_ids(far.text) == []
    assert client.get("/orders?q=" + "x" * 101).status_code == 422
    assert client.get("/review?page=0").status_code == 422
    assert client.get("/orders/99999999").status_code == 404
    assert client.get("/orders/1e9").status_code == 422
    assert client.get("/orders/99999999999999999999").status_code == 422
    assert client.get("/orders/0").status_code == 422
    assert client.get("/orders?q=%00ERP").status_code == 422  # control characters refused


def test_order_page_shows_lines_shipments_timeline_and_merge(lite: tuple[Any, Erp, str]) -> None:
    client, erp, db_url = lite
    login(client, "operator")
    r = client.get(f"/orders/{erp.ids['ERP001']}")
    assert r.status_code == 200
    assert "订单 ERP001" in r.text and "无线蓝牙耳机" in r.text
    assert 'data-event="received"' in r.text and 'data-event="held"' in r.text
    assert HELD_REASON in r.text
    # ERP002: the same buyer and address, still open: offered for merging.
    assert f'name="with" value="{erp.ids["ERP002"]}"' in r.text
    assert "顺丰快递" in r.text and 'name="csrf_token"' in r.text
    en = client.get(f"/orders/{erp.ids['ERP001']}?lang=en")
    assert "Timeline" in en.text and "SF Express" in en.text and "Held for a person" in en.text
    assert "buyer remark: 请周末送货" in en.text  # the hold's reason in the page's language


def test_approve_adds_the_event_and_reserves(client: Any, erp: Erp, seeded: Any) -> None:
    login(client, "operator")
    oid = erp.ids["ERP002"]
    r = client.post(f"/orders/{oid}/approve", data={}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/orders/{oid}?done=approve"
    page = client.get(r.headers["location"])
    assert "已审核通过。" in page.text
    assert 'data-event="approved"' in page.text and "operator" in page.text
    assert stage_of(seeded[0], oid) == "allocated"
    assert 'data-shipment=' in page.text  # the parcel planned by allocation


def test_refused_action_says_why_in_the_readers_language(lite: tuple[Any, Erp, str]) -> None:
    client, erp, db_url = lite
    login(client, "operator")
    oid = erp.ids["ERP004"]  # shipped: cannot be approved
    zh = client.post(f"/orders/{oid}/approve", data={})
    assert zh.status_code == 422
    assert 'role="alert" data-error="approve"' in zh.text
    assert "ERP004" in zh.text
    en = client.post(f"/orders/{oid}/approve?lang=en", data={})
    assert en.status_code == 422
    message = re.search(r'data-error="approve">([^<]+)<', en.text).group(1)
    assert "ERP004" in message and re.search(r"[a-z]", message)


def test_hold_needs_a_reason_and_keeps_the_form(lite: tuple[Any, Erp, str]) -> None:
    client, erp, db_url = lite
    login(client, "operator")
    oid = erp.ids["ERP003"]
    r = client.post(f"/orders/{oid}/hold", data={"reason": "   "})
    assert r.status_code == 422
    assert 'aria-invalid="true" aria-describedby="hold-reason-error"' in r.text
    assert "请填写原因" in r.text
    long = client.post(f"/orders/{oid}/hold?lang=en", data={"reason": "很" * 501})
    assert long.status_code == 422 and "At most 500 characters" in long.text
    assert stage_of(db_url, oid) == "allocated"
    ok = client.post(f"/orders/{oid}/hold", data={"reason": "客户要求改地址"},
                     follow_redirects=True)
    assert ok.status_code == 200 and "客户要求改地址" in ok.text
    assert stage_of(db_url, oid) == "under_review"


def test_cancel_with_a_reason(lite: tuple[Any, Erp, str]) -> None:
    client, erp, db_url = lite
    login(client, "owner")
    oid = erp.ids["ERP001"]
    refused = client.post(f"/orders/{oid}/cancel", data={"cancel_reason": ""})
    assert refused.status_code == 422 and 'id="cancel-cancel_reason-error"' in refused.text
    ok = client.post(f"/orders/{oid}/cancel", data={"cancel_reason": "买家申请取消"},
                     follow_redirects=True)
    assert ok.status_code == 200 and "买家申请取消" in ok.text
    assert stage_of(db_url, oid) == "cancelled"


def test_ship_and_split_forms_mark_fields_and_keep_values(lite: tuple[Any, Erp, str]) -> None:
    client, erp, db_url = lite
    login(client, "operator")
    oid = erp.ids["ERP002"]
    r = client.post(f"/orders/{oid}/ship", data={"carrier": "", "waybill": "SF123456789"})
    assert r.status_code == 422
    assert 'id="ship-carrier-error"' in r.text and 'value="SF123456789"' in r.text
    w = client.post(f"/orders/{oid}/ship", data={"carrier": "467", "waybill": "12"})
    assert w.status_code == 422 and 'id="ship-waybill-error"' in w.text
    assert '<option value="467" selected>' in w.text
    page = client.get(f"/orders/{oid}")
    names = re.findall(r'name="(qty_\d_\d+)"', page.text)
    assert len(names) == 6  # two lines × three parcels
    first = names[0]  # line 1 (qty 1), parcel 1
    bad = client.post(f"/orders/{oid}/split", data={first: "7", names[1]: "x"})
    assert bad.status_code == 422
    assert 'value="7"' in bad.text and 'value="x"' in bad.text
    assert f'id="split-{names[1]}-error"' in bad.text
    one_parcel = client.post(f"/orders/{oid}/split", data={first: "1", names[3]: "1"})
    assert one_parcel.status_code == 422 and "至少要分到两个包裹" in one_parcel.text


def test_merge_needs_a_chosen_order(lite: tuple[Any, Erp, str]) -> None:
    client, erp, db_url = lite
    login(client, "operator")
    oid = erp.ids["ERP001"]
    r = client.post(f"/orders/{oid}/merge", data={})
    assert r.status_code == 422 and "请勾选要合并的订单" in r.text
    # An order that is not a candidate (another buyer) is refused the same way.
    other = client.post(f"/orders/{oid}/merge", data={"with": str(erp.ids["ERP003"])})
    assert other.status_code == 422


def test_review_queue_and_bulk_actions(client: Any, erp: Erp, seeded: Any) -> None:
    login(client, "operator")
    r = client.get("/review")
    assert r.status_code == 200
    assert order_ids(r.text) == ["ERP001", "ERP002"]  # held first
    assert HELD_REASON in r.text and 'name="ids"' in r.text
    assert re.search(r'data-reason="[^"]*买家留言[^"]*"', r.text)
    assert order_ids(client.get("/review?reason=-").text) == ["ERP002"]
    assert order_ids(client.get("/review", params={"reason": HELD_REASON}).text) == ["ERP001"]
    missing = client.post("/review", data={"action": "hold", "reason": ""})
    assert missing.status_code == 422
    assert "请先勾选订单" in missing.text and 'id="bulk-reason-error"' in missing.text
    ids = [str(erp.ids["ERP001"]), str(erp.ids["ERP002"]), str(erp.ids["ERP004"])]
    done = client.post("/review", data={"action": "approve", "ids": ids})
    assert done.status_code == 200
    assert 'class="ok" data-result="ERP001"' in done.text
    assert 'class="bad" data-result="ERP004"' in done.text  # shipped: refused, others done
    assert stage_of(seeded[0], erp.ids["ERP001"]) == "allocated"
    assert stage_of(seeded[0], erp.ids["ERP002"]) == "allocated"
    assert order_ids(done.text) == []


def test_bulk_hold_with_reason(lite: tuple[Any, Erp, str]) -> None:
    client, erp, db_url = lite
    login(client, "operator")
    oid = erp.ids["ERP003"]
    r = client.post("/review?lang=en", data={"action": "hold", "reason": "check address",
                                              "ids": [str(oid)]})
    assert r.status_code == 200 and 'data-result="ERP003"' in r.text
    assert stage_of(db_url, oid) == "under_review"
    assert "check address" in r.text


def test_who_may_do_what(lite: tuple[Any, Erp, str]) -> None:
    client, erp, db_url = lite
    oid = erp.ids["ERP002"]
    login(client, "analyst")
    assert client.get(f"/orders/{oid}").status_code == 200
    page = client.get(f"/orders/{oid}")
    assert 'data-action="approve"' not in page.text  # no action forms for a viewer
    for path in (f"/orders/{oid}/approve", f"/orders/{oid}/hold", "/review"):
        assert client.post(path, data={"reason": "x", "action": "approve",
                                       "ids": [str(oid)]}).status_code == 403
    assert client.get("/connector").status_code == 403
    login(client, "integ")
    for path in ("/orders", f"/orders/{oid}", "/review", "/stock", "/stock/ledger", "/flash",
                 "/connector"):
        assert client.get(path).status_code == 403, path


def test_csrf_is_required_on_actions(lite: tuple[Any, Erp, str]) -> None:
    client, erp, db_url = lite
    login(client, "owner")
    from storeops.accounts import csrf

    oid = erp.ids["ERP002"]
    r = client.post(f"/orders/{oid}/approve", data={}, headers={csrf.HEADER: "forged"})
    assert r.status_code == 403


def test_ship_from_the_order_page(lite: tuple[Any, Erp, str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """JD refuses: the order stays allocated with JD's reason on the page; JD confirms: it is
    shipped, its parcel carries the carrier and waybill."""
    from storeops.connectors.jd.client import JosError
    from storeops.orders import shipping

    client, erp, db_url = lite

    def refuse(*args: Any) -> None:
        raise JosError("10400", "运单号不符合规则", method="jingdong.pop.order.shipment")

    login(client, "operator")
    oid = erp.ids["ERP002"]
    monkeypatch.setattr(shipping, "_push", refuse)
    failed = client.post(f"/orders/{oid}/ship", data={"carrier": "467",
                                                      "waybill": "SF1234567890"},
                         follow_redirects=True)
    assert failed.status_code == 200 and 'data-done="ship_failed"' in failed.text
    assert "运单号不符合规则" in failed.text and 'data-event="ship_failed"' in failed.text
    assert stage_of(db_url, oid) == "allocated"
    monkeypatch.setattr(shipping, "_push", lambda *args: None)
    ok = client.post(f"/orders/{oid}/ship", data={"carrier": "467", "waybill": "SF1234567890"},
                     follow_redirects=True)
    assert ok.status_code == 200 and 'data-done="ship"' in ok.text
    assert stage_of(db_url, oid) == "shipped"
    assert "顺丰快递" in ok.text and "SF1234567890" in ok.text
    again = client.post(f"/orders/{oid}/ship", data={"carrier": "467", "waybill": "SF1"})
    assert again.status_code in (409, 422) and "ERP002" in again.text


def test_merge_and_split_from_the_order_page(lite: tuple[Any, Erp, str]) -> None:
    client, erp, db_url = lite
    login(client, "operator")
    one, two = erp.ids["ERP001"], erp.ids["ERP002"]
    page = client.get(f"/orders/{two}")
    lines = sorted({n for n in re.findall(r'name="qty_\d_(\d+)"', page.text)})
    split = client.post(f"/orders/{two}/split", data={f"qty_1_{lines[0]}": "1",
                                                      f"qty_2_{lines[1]}": "1"},
                        follow_redirects=True)
    assert split.status_code == 200, split.text
    assert 'data-done="split"' in split.text and 'data-event="split"' in split.text
    assert len(re.findall(r"data-shipment=", split.text)) == 2
    merged = client.post(f"/orders/{one}/merge", data={"with": str(two)},
                         follow_redirects=True)
    assert 'data-done="merge"' in merged.text and 'data-event="merged"' in merged.text
    assert "(ERP002)" in merged.text  # the parcel holds the other order's lines too


def test_orders_download_follows_the_filters(lite: tuple[Any, Erp, str]) -> None:
    import csv
    import io

    import openpyxl

    from storeops.web.table_export import id_from_csv

    client, erp, db_url = lite
    login(client, "analyst")
    page = client.get("/orders?held=1")
    assert 'href="/orders.csv?store=' in page.text and "held=1" in page.text
    r = client.get("/orders.csv?held=1")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:2] == ["订单号", "下单时间"]
    assert len(rows) == 2 and id_from_csv(rows[1][0]) == "ERP001"
    assert rows[1][4] == "404.00" and rows[1][8] == HELD_REASON
    x = client.get("/orders.xlsx?q=ERP&lang=en")
    sheet = openpyxl.load_workbook(io.BytesIO(x.content)).active
    cells = list(sheet.iter_rows(values_only=True))
    assert cells[0][0] == "Order" and len(cells) == 6
    assert cells[1][0] == "ERP005" and cells[1][4] == 305.0
    assert client.get("/orders.pdf").status_code == 404


def test_approve_short_of_stock_says_so(lite: tuple[Any, Erp, str]) -> None:
    client, erp, db_url = lite
    login(client, "operator")
    gone = client.post("/stock/adjust", data={"sku": "1002", "qty": "-3", "note": "盘亏"},
                       follow_redirects=False)
    assert gone.status_code == 303
    oid = erp.ids["ERP002"]
    r = client.post(f"/orders/{oid}/approve", data={}, follow_redirects=True)
    assert r.status_code == 200 and 'data-done="approve_held"' in r.text
    assert "库存不足" in r.text and "SKU 1002" in r.text
    assert stage_of(db_url, oid) == "under_review"
    bulk = client.post("/review?lang=en", data={"action": "approve", "ids": [str(oid)]})
    client.cookies.delete("lang")
    assert 'class="bad" data-result="ERP002"' in bulk.text
    assert "out of stock" in bulk.text and "SKU 1002 needs 1, 0 available" in bulk.text
