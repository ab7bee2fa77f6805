"""The JD order export (--format jd): encodings, XLSX, gzip, statuses, discounts, re-imports."""

from __future__ import annotations

import csv
import gzip
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storeops.aftersales.models import Refund
from storeops.catalog.models import Product, Store
from storeops.db.engine import unit_of_work
from storeops.importers.models import ImportBatch
from storeops.importers.reading import ImportFileError
from storeops.importers.service import import_file
from storeops.members.models import Customer
from storeops.orders.models import Order, OrderLine

HEADER = [
    "订单号", "商品ID", "商品名称", "订购数量", "支付方式", "下单时间", "京东价", "订单金额",
    "结算金额", "余额支付", "应付金额", "订单状态", "订单类型", "下单帐号", "客户姓名", "客户地址",
    "联系电话", "订单备注", "发票类型", "发票抬头", "发票内容", "商家备注",
    "商家备注等级（等级1-5为由高到低）", "运费金额", "付款确认时间", "增值税发票", "货号",
    "订单完成时间", "订单来源", "订单渠道", "送装服务", "服务费", "仓库id", "仓库名称",
    "普通发票纳税编号",
]


def jd_row(order: str, sku: str, qty: int, price: str, goods: str, settled: str, paid: str,
           status: str, *, account: str = "jd_alice", phone: str = "13812345678",
           placed: str = "2026-11-11 00:05:00", paid_at: str = "2026-11-11 00:06:00",
           finished: str = "", freight: str = "0.00", title: str | None = None) -> dict:
    return {
        "订单号": order, "商品ID": sku, "商品名称": title or f"商品{sku}", "订购数量": str(qty),
        "支付方式": "在线支付", "下单时间": placed, "京东价": price, "订单金额": goods,
        "结算金额": settled, "余额支付": "0.00", "应付金额": paid, "订单状态": status,
        "订单类型": "SOP", "下单帐号": account, "客户姓名": "张三",
        "客户地址": "北京市朝阳区某路1号",
        "联系电话": phone, "订单备注": "", "发票类型": "电子发票", "发票抬头": "个人",
        "发票内容": "明细", "商家备注": "", "商家备注等级（等级1-5为由高到低）": "",
        "运费金额": freight, "付款确认时间": paid_at, "增值税发票": "否", "货号": f"HH-{sku}",
        "订单完成时间": finished, "订单来源": "移动端", "订单渠道": "京东", "送装服务": "",
        "服务费": "0", "仓库id": "", "仓库名称": "", "普通发票纳税编号": "",
    }


def base_rows() -> list[dict]:
    return [
        # 1001: goods 25.00, settled 22.00 (3.00 seller discount), freight 5.00
        jd_row("1001", "A1", 2, "10.00", "25.00", "22.00", "27.00", "完成",
               finished="2026-11-13 10:00:00", freight="5.00"),
        jd_row("1001", "B2", 1, "5.00", "25.00", "22.00", "27.00", "完成",
               finished="2026-11-13 10:00:00", freight="5.00"),
        # 1002: deleted, unpaid placeholder payment time, guest
        jd_row("1002", "A1", 1, "10.00", "10.00", "10.00", "10.00", "(删除)等待出库",
               account="", phone="", paid_at="0001-01-01 00:00:00"),
        # 1003: 0.01 of discount over three equal lines: the cents must add up
        jd_row("1003", "C3", 1, "3.33", "9.99", "9.98", "9.98", "等待确认收货",
               account="jd_bob", phone="139 0000 1111"),
        jd_row("1003", "D4", 1, "3.33", "9.99", "9.98", "9.98", "等待确认收货",
               account="jd_bob", phone="139 0000 1111"),
        jd_row("1003", "E5", 1, "3.33", "9.99", "9.98", "9.98", "等待确认收货",
               account="jd_bob", phone="139 0000 1111"),
    ]


def csv_bytes(rows: list[dict], encoding: str) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=HEADER, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode(encoding)


def write_csv(path: Path, rows: list[dict], encoding: str = "gbk") -> Path:
    path.write_bytes(csv_bytes(rows, encoding))
    return path


def count(session, model) -> int:  # noqa: ANN001
    return session.scalar(select(func.count()).select_from(model))


def snapshot(db_url: str) -> list:
    with unit_of_work(db_url) as s:
        orders = s.execute(select(Order.id, Order.platform_order_id, Order.status,
                                  Order.content_hash, Order.updated_at)
                           .order_by(Order.id)).all()
        lines = s.execute(select(OrderLine.id, OrderLine.order_id, OrderLine.amount_cents)
                          .order_by(OrderLine.id)).all()
        return [orders, lines, count(s, Product), count(s, Customer), count(s, Refund)]


@pytest.mark.parametrize("encoding", ["gbk", "utf-8", "utf-8-sig"])
def test_jd_export_in_each_encoding(db_url: str, tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "订单导出.csv", base_rows(), encoding)
    summary = import_file(db_url, "orders", path, fmt="jd", store="旗舰店")
    assert (summary.read, summary.imported, summary.rejected) == (6, 6, 0)
    assert (summary.orders_created, summary.orders_updated) == (3, 0)
    assert summary.rejects_file is None
    with unit_of_work(db_url) as s:
        store = s.scalar(select(Store).where(Store.name == "旗舰店"))
        assert (store.timezone, store.currency, store.data_version) == ("Asia/Shanghai", "CNY", 1)
        o1 = s.scalar(select(Order).where(Order.platform_order_id == "1001"))
        assert (o1.goods_cents, o1.seller_discount_cents, o1.freight_cents, o1.paid_cents) == (
            2500, 300, 500, 2700)
        assert o1.status == "finished" and not o1.deleted
        # 00:05 in Beijing is 16:05 UTC the day before; the store day is the 11th
        assert o1.placed_at == datetime(2026, 11, 10, 16, 5, tzinfo=UTC)
        assert o1.placed_date == date(2026, 11, 11)
        assert o1.paid_at == datetime(2026, 11, 10, 16, 6, tzinfo=UTC)
        assert o1.finished_at == datetime(2026, 11, 13, 2, 0, tzinfo=UTC)
        assert o1.source == "移动端"
        amounts = s.scalars(select(OrderLine.amount_cents).where(OrderLine.order_id == o1.id)
                            .order_by(OrderLine.line_no)).all()
        assert amounts == [1760, 440] and sum(amounts) == 2200  # 3.00 split 4:1
        line = s.scalar(select(OrderLine).where(OrderLine.order_id == o1.id,
                                                OrderLine.line_no == 1))
        assert (line.quantity, line.unit_price_e4) == (2, 100000)
        customer = s.get(Customer, o1.customer_id)
        assert (customer.platform_account, customer.masked_contact) == ("jd_alice",
                                                                        "138****5678")
        product = s.get(Product, line.product_id)
        assert (product.platform_sku_id, product.seller_code, product.title, product.status) == (
            "A1", "HH-A1", "商品A1", "on_sale")

        o2 = s.scalar(select(Order).where(Order.platform_order_id == "1002"))
        assert (o2.status, o2.deleted, o2.paid_at, o2.customer_id) == (
            "wait_stock_out", True, None, None)

        o3 = s.scalar(select(Order).where(Order.platform_order_id == "1003"))
        assert o3.status == "shipped" and o3.seller_discount_cents == 1
        amounts = s.scalars(select(OrderLine.amount_cents)
                            .where(OrderLine.order_id == o3.id)).all()
        assert sorted(amounts) == [332, 333, 333] and sum(amounts) == 998
        assert s.get(Customer, o3.customer_id).masked_contact == "139****1111"
        # neither the full phone, the name nor the address is stored anywhere
        contacts = s.scalars(select(Customer.masked_contact)).all()
        assert all("12345678" not in (c or "") for c in contacts)
        batch = s.scalar(select(ImportBatch))
        assert (batch.status, batch.rows_read, batch.source_name) == ("done", 6, "订单导出.csv")


def test_xlsx_export(db_url: str, tmp_path: Path) -> None:
    import xlsxwriter

    path = tmp_path / "orders.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, HEADER)
    for i, row in enumerate(base_rows(), start=1):
        for j, col in enumerate(HEADER):
            value = row[col]
            # spreadsheets hold numbers as numbers: 订单号 1001, 订购数量 2, 京东价 10
            if col in ("订单号", "订购数量", "京东价", "订单金额") and value:
                sheet.write_number(i, j, float(value))
            else:
                sheet.write_string(i, j, value)
    book.close()
    summary = import_file(db_url, "orders", path, fmt="jd")
    assert (summary.imported, summary.rejected, summary.orders_created) == (6, 0, 3)
    with unit_of_work(db_url) as s:
        o1 = s.scalar(select(Order).where(Order.platform_order_id == "1001"))
        assert o1 is not None and o1.goods_cents == 2500 and o1.seller_discount_cents == 300


def test_gzip_input_detected_by_content(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "export.dat"  # no .gz in the name: the magic bytes decide
    path.write_bytes(gzip.compress(csv_bytes(base_rows(), "gbk")))
    summary = import_file(db_url, "orders", path, fmt="jd")
    assert (summary.imported, summary.orders_created) == (6, 3)


def test_reimport_changes_nothing(db_url: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "export.csv", base_rows())
    import_file(db_url, "orders", path, fmt="jd")
    before = snapshot(db_url)
    again = import_file(db_url, "orders", path, fmt="jd")
    assert (again.orders_created, again.orders_updated, again.orders_unchanged) == (0, 0, 3)
    assert (again.read, again.imported, again.unchanged) == (6, 6, 6)
    assert snapshot(db_url) == before
    with unit_of_work(db_url) as s:
        assert s.scalar(select(Store.data_version)) == 1  # nothing changed: no new version


def test_overlapping_export_updates_only_the_changed_order(db_url: str, tmp_path: Path) -> None:
    import_file(db_url, "orders", write_csv(tmp_path / "first.csv", base_rows()), fmt="jd")
    before = snapshot(db_url)
    later = base_rows()[2:]  # 1002 and 1003 again, 1003 now finished, plus a new order
    for row in later[1:]:
        row["订单状态"] = "完成"
        row["订单完成时间"] = "2026-11-15 12:00:00"
    later.append(jd_row("1004", "F6", 1, "8.00", "8.00", "8.00", "8.00", "等待付款",
                        paid_at=""))
    summary = import_file(db_url, "orders", write_csv(tmp_path / "later.csv", later), fmt="jd")
    assert (summary.orders_created, summary.orders_updated, summary.orders_unchanged) == (
        1, 1, 1)
    after = snapshot(db_url)
    old_orders = {o.platform_order_id: o for o in before[0]}
    new_orders = {o.platform_order_id: o for o in after[0]}
    assert new_orders["1001"] == old_orders["1001"] and new_orders["1002"] == old_orders["1002"]
    assert new_orders["1003"].id == old_orders["1003"].id  # replaced in place
    assert new_orders["1003"].status == "finished"
    assert new_orders["1004"].status == "wait_pay"
    with unit_of_work(db_url) as s:
        o3 = s.scalar(select(Order).where(Order.platform_order_id == "1003"))
        assert count(s, OrderLine) == 7
        assert sum(s.scalars(select(OrderLine.amount_cents)
                             .where(OrderLine.order_id == o3.id))) == 998
        assert s.scalar(select(Order.paid_at).where(Order.platform_order_id == "1004")) is None


def test_bad_rows_are_rejected_with_row_and_field(db_url: str, tmp_path: Path) -> None:
    rows = base_rows()
    rows.append(dict(rows[0]))  # exact copy of row 2 → row 8
    rows.append(jd_row("1005", "A1", 1, "10.00", "10.00", "10.00", "10.00", "神秘状态"))
    rows.append(jd_row("1006", "A1", 0, "10.00", "10.00", "10.00", "10.00", "完成"))
    rows.append(jd_row("1007", "A1", 1, "-1.00", "10.00", "10.00", "10.00", "完成"))
    rows.append(jd_row("", "A1", 1, "10.00", "10.00", "10.00", "10.00", "完成"))
    rows.append(jd_row("1008", "A1", 1, "10.00", "10.00", "10.00", "10.00", "完成",
                       placed="2026-13-45 99:00:00"))
    rows.append(jd_row("1009", "A1", 1, "10.00", "十元", "10.00", "10.00", "完成"))
    rows.append(jd_row("1010", "", 1, "10.00", "10.00", "10.00", "10.00", "完成"))
    rows.append(jd_row("1011", "A1", 1.5, "10.00", "10.00", "10.00", "10.00", "完成"))
    path = write_csv(tmp_path / "export.csv", rows)
    summary = import_file(db_url, "orders", path, fmt="jd")
    assert summary.read == 15 and summary.imported == 6 and summary.rejected == 9
    assert summary.read == summary.imported + summary.rejected
    with open(tmp_path / "export.csv.rejects.csv", "rb") as fh:
        assert fh.read(3) == b"\xef\xbb\xbf"  # BOM: Excel opens it as UTF-8
    with open(tmp_path / "export.csv.rejects.csv", encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        got = {r[0]: (r[1], r[2]) for r in reader}
    assert header[:3] == ["row", "field", "reason"] and header[3:] == HEADER
    assert got == {
        "8": ("", "duplicate of row 2"),
        "9": ("订单状态", "unknown order status: 神秘状态"),
        "10": ("订购数量", "quantity of a sale must be positive"),
        "11": ("京东价", "negative unit price"),
        "12": ("订单号", "missing order id"),
        "13": ("下单时间", got["13"][1]),
        "14": ("订单金额", "not an amount of money"),
        "15": ("商品ID", "missing SKU"),
        "16": ("订购数量", "quantity is missing or not a whole number"),
    }
    assert "time" in got["13"][1]
    assert summary.by_reason["duplicate row"] == 1
    assert summary.rejected_rows[0]["row"] == 8
    assert summary.rejected_rows[0]["values"]["订单号"] == "1001"
    with unit_of_work(db_url) as s:
        assert count(s, Order) == 3

    # the same file fixed: the stale rejects file goes away
    write_csv(path, base_rows())
    summary = import_file(db_url, "orders", path, fmt="jd")
    assert summary.rejected == 0 and summary.rejects_file is None
    assert not (tmp_path / "export.csv.rejects.csv").exists()


def test_unreadable_files_change_nothing(db_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "binary.csv"
    bad.write_bytes(b"\x80\xff\xfe\x00garbage")
    with pytest.raises(ImportFileError, match="binary.csv.*encoding"):
        import_file(db_url, "orders", bad, fmt="jd")
    missing = tmp_path / "missing.csv"
    rows = [{k: v for k, v in r.items() if k != "订单状态"} for r in base_rows()]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=[h for h in HEADER if h != "订单状态"])
    writer.writeheader()
    writer.writerows(rows)
    missing.write_bytes(buf.getvalue().encode("gbk"))
    with pytest.raises(ImportFileError, match="missing.csv.*订单状态"):
        import_file(db_url, "orders", missing, fmt="jd")
    fake_gz = tmp_path / "export.csv.gz"
    fake_gz.write_bytes(csv_bytes(base_rows(), "gbk"))
    with pytest.raises(ImportFileError, match="not gzip"):
        import_file(db_url, "orders", fake_gz, fmt="jd")
    broken_xlsx = tmp_path / "export.xlsx"
    broken_xlsx.write_bytes(b"PK\x03\x04 this is not a workbook")
    with pytest.raises(ImportFileError, match="export.xlsx.*XLSX"):
        import_file(db_url, "orders", broken_xlsx, fmt="jd")
    with unit_of_work(db_url) as s:
        assert count(s, Store) == 0 and count(s, ImportBatch) == 0
    assert not list(tmp_path.glob("*.rejects.csv"))


def test_failure_while_writing_rolls_back_the_whole_file(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storeops.importers.order_store import OrderWriter

    path = write_csv(tmp_path / "export.csv", base_rows())

    def broken(*_args, **_kwargs) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(OrderWriter, "_refunds", broken)  # after orders and lines
    with pytest.raises(RuntimeError, match="disk full"):
        import_file(db_url, "orders", path, fmt="jd")
    with unit_of_work(db_url) as s:
        for model in (Store, Order, OrderLine, Product, Customer, ImportBatch):
            assert count(s, model) == 0, model
    monkeypatch.undo()
    assert import_file(db_url, "orders", path, fmt="jd").orders_created == 3


@pytest.fixture(autouse=True)
def _work_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rejects files go to the working directory: keep them out of the repository."""
    monkeypatch.chdir(tmp_path)
