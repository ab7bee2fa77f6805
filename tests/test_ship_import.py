"""`storeops ship import FILE`: waybills from CSV (UTF-8 or GBK) or XLSX, Chinese or English
headers; every row accounted for, rejects as in the imports, a second run changes nothing."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from test_ship_service import STORE, FakeJd, do_ship, jd, shop, state  # noqa: F401
from web_seed import run_cli

from storeops.db.engine import unit_of_work
from storeops.orders import service as orders
from storeops.orders.models import Order, OrderEvent

HEADER_ZH = ["订单号", "快递公司", "运单号", "备注"]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER_ZH,
              encoding: str = "utf-8") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def order_id(db_url: str, ref: str) -> int:
    with unit_of_work(db_url) as s:
        return s.scalar(select(Order.id).where(Order.platform_order_id == ref))


def read_rejects(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_file_with_good_and_bad_rows(db_url: str, shop: Any, jd: FakeJd,  # noqa: F811
                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: Any) -> None:
    for ref in ("5001", "5002", "5003", "5004", "5005"):
        shop(ref)
    do_ship(db_url, "5003", waybill="SF5003000000")  # shipped before the file
    with unit_of_work(db_url) as s:
        o = s.scalar(select(Order).where(Order.platform_order_id == "5005"))
        orders.cancel(s, o, "买家取消", actor="user:alice")
    jd_refuses = "5004"
    original_push = jd.__call__

    def push(session: Any, store_id: int, order_id: str, carrier_id: str, waybill: str) -> None:
        jd.refuse = "运单号与快递公司不匹配" if order_id == jd_refuses else None
        original_push(session, store_id, order_id, carrier_id, waybill)

    monkeypatch.setattr("storeops.orders.shipping._push", push)
    monkeypatch.chdir(tmp_path)
    src = write_csv(tmp_path / "发货.csv", [
        ["5001", "顺丰", "SF5001000001", "ok"],           # row 2: shipped
        ["5002", "467", "SF5002000001", ""],             # row 3: shipped
        ["5003", "顺丰", "SF5003000000", ""],             # row 4: already shipped
        ["5004", "中通", "75315004000001", ""],           # row 5: JD refuses
        ["5005", "圆通", "YT5005000001", ""],             # row 6: cancelled
        ["9999", "顺丰", "SF9999000001", ""],             # row 7: unknown order
        ["5001", "顺丰", "SF5001000009", "again"],        # row 8: same order again
        ["5006", "UPS", "1Z999", ""],                     # row 9: unknown carrier
        ["5007", "韵达", "12", ""],                        # row 10: waybill too short
        ["", "韵达", "4312345678901", ""],                 # row 11: no order id
        ["2.9E+11", "韵达", "4312345678901", ""],          # row 12: Excel number
    ], encoding="gbk")
    code, out, err = run_cli(["ship", "import", str(src), "--db", db_url, "--store", STORE,
                              "--json"], monkeypatch, capsys)
    assert code == 0, err
    summary = json.loads(out)
    assert (summary["read"], summary["shipped"], summary["already_shipped"],
            summary["rejected"], summary["jd_refused"]) == (11, 2, 1, 8, 1)
    assert summary["read"] == summary["shipped"] + summary["already_shipped"] + \
        summary["rejected"]
    assert [r["outcome"] for r in summary["rows"]] == [
        "shipped", "shipped", "already_shipped"] + ["rejected"] * 8
    rejects_file = Path(summary["rejects_file"])
    assert rejects_file == tmp_path / "发货.csv.rejects.csv"
    rejected = read_rejects(rejects_file)
    assert [(r["row"], r["field"]) for r in rejected] == [
        ("5", "order_id"), ("6", "order_id"), ("7", "order_id"), ("8", "order_id"),
        ("9", "carrier"), ("10", "waybill"), ("11", "order_id"), ("12", "order_id")]
    reasons = {r["row"]: r["reason"] for r in rejected}
    assert "京东拒绝发货：运单号与快递公司不匹配" == reasons["5"]
    assert "已取消" in reasons["6"] and "9999" in reasons["7"]
    assert reasons["8"] == "同一订单已在第 2 行出现"
    assert "无法识别快递公司" in reasons["9"] and "6 至 40" in reasons["10"]
    assert reasons["11"] == "缺少订单号" and "Excel" in reasons["12"]
    assert rejected[0]["订单号"] == "5004" and rejected[0]["备注"] == ""  # original columns kept
    assert state(db_url, order_id(db_url, "5004"))["ship_error"] == "运单号与快递公司不匹配"
    assert state(db_url, order_id(db_url, "5001"))["parcels"] == [
        ("shipped", "467", "SF5001000001", None)]

    # The same file again: nothing shipped twice, nothing changed, the same rejects.
    with unit_of_work(db_url) as s:
        events_before = s.scalar(select(func.count()).select_from(OrderEvent))
    pushed_before = list(jd.pushed)
    jd_refuses = ""  # JD would accept 5004 now: it is still in the file, it ships now
    code, out, err = run_cli(["ship", "import", str(src), "--db", db_url, "--store", STORE,
                              "--json"], monkeypatch, capsys)
    again = json.loads(out)
    assert (again["shipped"], again["already_shipped"], again["rejected"]) == (1, 3, 7)
    assert jd.pushed == [*pushed_before, ("5004", "1499", "75315004000001")]
    jd_refuses = "5004"
    with unit_of_work(db_url) as s:
        events_mid = s.scalar(select(func.count()).select_from(OrderEvent))
    code, out, err = run_cli(["ship", "import", str(src), "--db", db_url, "--store", STORE,
                              "--json"], monkeypatch, capsys)
    third = json.loads(out)
    assert (third["shipped"], third["already_shipped"], third["rejected"]) == (0, 4, 7)
    with unit_of_work(db_url) as s:
        assert s.scalar(select(func.count()).select_from(OrderEvent)) == events_mid
    assert events_mid > events_before
    assert len(read_rejects(rejects_file)) == 7


def test_xlsx_with_english_headers_and_summary(db_url: str, shop: Any, jd: FakeJd,  # noqa: F811
                                               tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: Any) -> None:
    import xlsxwriter

    shop("6001")
    path = tmp_path / "ship.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Sheet1")
    for r, row in enumerate([["Order ID", "Carrier", "Waybill"],
                             ["6001", "SF Express", "sf6001000001"]]):
        for c, value in enumerate(row):
            sheet.write_string(r, c, value)
    book.close()
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(["ship", "import", str(path), "--db", db_url, "--store", STORE],
                             monkeypatch, capsys)
    assert code == 0, err
    assert "批量发货：ship.xlsx" in out and "已发货" in out
    assert not (tmp_path / "ship.xlsx.rejects.csv").exists()
    assert jd.pushed == [("6001", "467", "SF6001000001")]


def test_file_without_the_columns_is_refused(db_url: str, shop: Any, jd: FakeJd,  # noqa: F811
                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: Any) -> None:
    src = write_csv(tmp_path / "bad.csv", [["5001", "x"]], header=["订单号", "商品"])
    code, _, err = run_cli(["ship", "import", str(src), "--db", db_url, "--store", STORE],
                           monkeypatch, capsys)
    assert code == 2 and "error:" in err and "bad.csv" in err
    assert "carrier" in err and "waybill" in err and "商品" in err
    code, _, err = run_cli(["ship", "import", str(tmp_path / "missing.csv"), "--db", db_url,
                            "--store", STORE], monkeypatch, capsys, lang="en")
    assert code == 2 and "missing.csv" in err
