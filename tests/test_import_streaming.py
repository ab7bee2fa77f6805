"""Imports read in chunks: the same result as one piece, orders across chunk boundaries,
copies across chunks, and a failure half-way that leaves nothing behind."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

import storeops.importers.reading as reading
import storeops.importers.spill as spill
from storeops.aftersales.models import Refund
from storeops.catalog.models import Product, Store
from storeops.db.engine import unit_of_work
from storeops.importers.models import ImportBatch
from storeops.importers.order_store import OrderWriter
from storeops.importers.reading import ImportFileError
from storeops.importers.service import import_file
from storeops.members.models import Customer
from storeops.orders.models import Order, OrderLine

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "examples" / "mappings" / "online_retail.yaml"
SLICE = Path(__file__).parent / "data" / "import" / "online_retail_slice.csv"
HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"


def _facts(db_url: str) -> tuple:
    """What an import stored, independent of row ids and of the order it was written in."""
    with unit_of_work(db_url) as s:
        orders = sorted(s.execute(select(
            Order.platform_order_id, Order.placed_at, Order.paid_at, Order.goods_cents,
            Order.freight_cents, Order.paid_cents, Order.content_hash,
            Customer.platform_account).outerjoin(Customer, Customer.id == Order.customer_id)
        ).all())
        lines = sorted(s.execute(select(
            Order.platform_order_id, OrderLine.line_no, Product.platform_sku_id,
            OrderLine.quantity, OrderLine.amount_cents).join(Order).join(Product)).all())
        refunds = sorted(s.execute(select(
            Refund.platform_refund_id, Refund.line_no, Refund.amount_cents,
            Refund.refunded_at)).all())
        products = sorted(s.scalars(select(Product.platform_sku_id)).all())
    return orders, lines, refunds, products


def _small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of ~4 KB (about 50 rows), spilled to disk past 200 rows, groups of ~300."""
    monkeypatch.setattr(reading, "CHUNK_BYTES", 4096)
    monkeypatch.setattr(reading, "BLOCK", 1000)
    monkeypatch.setattr(spill, "MEMORY_ROWS", 200)
    monkeypatch.setattr(spill, "GROUP_ROWS", 300)


def _shuffled_slice(tmp_path: Path) -> Path:
    """The slice with its last 600 rows moved to the front: orders now straddle chunks and
    an invoice's lines are far apart in the file."""
    lines = SLICE.read_text(encoding="utf-8").splitlines(keepends=True)
    body = lines[1:]
    path = tmp_path / "shuffled.csv"
    path.write_text(lines[0] + "".join(body[-600:] + body[:-600]), encoding="utf-8")
    return path


def test_chunked_import_equals_the_import_in_one_piece(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _shuffled_slice(tmp_path)
    whole = import_file(db_url, "orders", path, mapping=MAPPING, store="one")
    one_piece = _facts(db_url)
    with unit_of_work(db_url) as s:  # a second database would do; a second store is simpler
        s.execute(Refund.__table__.delete())
        s.execute(OrderLine.__table__.delete())
        s.execute(Order.__table__.delete())
        s.execute(Product.__table__.delete())
        s.execute(Customer.__table__.delete())
    _small_chunks(monkeypatch)
    chunked = import_file(db_url, "orders", path, mapping=MAPPING, store="one")
    assert _facts(db_url) == one_piece
    keys = ("read", "imported", "rejected", "excluded", "freight", "by_reason",
            "excluded_by_sku", "orders_created", "refunds", "products_created")
    assert {k: chunked.to_dict()[k] for k in keys} == {k: whole.to_dict()[k] for k in keys}
    assert chunked.read == 2505
    # and the rejects file is the same, in row order
    assert chunked.rejects_file and Path(chunked.rejects_file).exists()
    # a re-import in chunks changes nothing
    again = import_file(db_url, "orders", path, mapping=MAPPING, store="one")
    assert (again.orders_created, again.orders_updated, again.refunds) == (0, 0, 0)
    assert again.orders_unchanged == whole.orders_created
    assert _facts(db_url) == one_piece


def test_an_order_split_across_chunks_is_one_order(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _small_chunks(monkeypatch)
    rows = [f"{700000 + i},SKU{i % 7},thing,1,2011-01-05 10:00:00,1.00,1,UK\n"
            for i in range(400)]
    # invoice 900001 has a line at the start, one in the middle and one at the end
    split = "900001,A,first,2,2011-01-05 09:00:00,1.50,42,UK\n"
    path = tmp_path / "split.csv"
    path.write_text(HEADER + split + "".join(rows[:200]) + split.replace("first", "mid")
                    + "".join(rows[200:]) + split.replace(",A,", ",E,"), encoding="utf-8")
    summary = import_file(db_url, "orders", path, mapping=MAPPING)
    assert summary.read == 403 and summary.orders_created == 401
    with unit_of_work(db_url) as s:
        order = s.scalar(select(Order).where(Order.platform_order_id == "900001"))
        assert order.goods_cents == 900
        assert s.scalar(select(func.count()).select_from(OrderLine)
                        .where(OrderLine.order_id == order.id)) == 3


JD_HEADER = ["订单号", "商品ID", "商品名称", "订购数量", "支付方式", "下单时间", "京东价",
             "订单金额", "结算金额", "应付金额", "订单状态", "下单帐号", "联系电话", "运费金额",
             "付款确认时间", "货号", "订单完成时间", "订单来源"]


def _jd_rows(n: int) -> list[list[str]]:
    return [[f"{5000 + i}", f"S{i % 9}", "商品", "1", "在线支付", "2026-11-11 10:00:00", "9.90",
             "9.90", "9.90", "9.90", "完成", f"acc{i % 13}", "", "0.00", "2026-11-11 10:01:00",
             "", "", "移动端"] for i in range(n)]


def _jd_csv(path: Path, rows: list[list[str]]) -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(JD_HEADER)
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode("gbk"))
    return path


def test_an_export_pasted_twice_is_rejected_across_chunks(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _small_chunks(monkeypatch)
    rows = _jd_rows(300)
    path = _jd_csv(tmp_path / "twice.csv", rows + rows[:120])
    summary = import_file(db_url, "orders", path, fmt="jd")
    assert summary.read == 420 and summary.imported == 300
    assert summary.by_reason == {"duplicate row": 120}
    with open(summary.rejects_file, encoding="utf-8-sig", newline="") as fh:
        rejects = list(csv.DictReader(fh))
    assert [r["row"] for r in rejects] == [str(302 + i) for i in range(120)]  # in file order
    assert rejects[0]["reason"] == "duplicate of row 2"
    assert rejects[-1]["reason"] == "duplicate of row 121"


def test_a_chunked_import_that_fails_in_the_middle_writes_nothing(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _small_chunks(monkeypatch)
    path = _shuffled_slice(tmp_path)
    calls = {"n": 0}
    real = OrderWriter._orders

    def fails_on_the_second_group(self, orders, lines):  # noqa: ANN001
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return real(self, orders, lines)

    monkeypatch.setattr(OrderWriter, "_orders", fails_on_the_second_group)
    with pytest.raises(RuntimeError, match="disk full"):
        import_file(db_url, "orders", path, mapping=MAPPING, store="uk")
    assert calls["n"] == 2  # the first group was written before the failure
    with unit_of_work(db_url) as s:
        for model in (Store, Order, OrderLine, Refund, Product, Customer, ImportBatch):
            assert s.scalar(select(func.count()).select_from(model)) == 0, model
    assert not (tmp_path / "shuffled.csv.rejects.csv").exists()


def test_a_broken_row_late_in_the_file_writes_nothing(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _small_chunks(monkeypatch)
    text = SLICE.read_text(encoding="utf-8")
    path = tmp_path / "broken.csv"
    path.write_text(text + "599999,X,too,1,2011-01-05 10:00:00,1.0,1,UK,extra,cells\n",
                    encoding="utf-8")
    with pytest.raises(ImportFileError, match="broken.csv"):
        import_file(db_url, "orders", path, mapping=MAPPING, store="uk")
    with unit_of_work(db_url) as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 0
        assert s.scalar(select(func.count()).select_from(Store)) == 0
    assert not (tmp_path / "broken.csv.rejects.csv").exists()


def test_a_gbk_file_that_starts_in_ascii_is_read_again_as_gbk(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _small_chunks(monkeypatch)
    rows = _jd_rows(200)
    rows[-1][1:3] = ["NEW", "保温杯"]  # the first non-ASCII text comes chunks after the first
    path = tmp_path / "late.csv"
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["order", "sku", "title", "qty", "pay", "time", "price"])
    writer.writerows([r[:4] + [r[4].replace("在线支付", "online")] + r[5:7] for r in rows])
    path.write_bytes(buf.getvalue().encode("gbk"))
    mapping = tmp_path / "m.yaml"
    mapping.write_text("columns: {order_id: order, sku: sku, title: title, quantity: qty,"
                       " time: time, unit_price: price}\n", encoding="utf-8")
    summary = import_file(db_url, "orders", path, mapping=mapping)
    assert summary.read == 200 and summary.rejected == 0
    with unit_of_work(db_url) as s:
        assert s.scalar(select(Product.title).where(Product.platform_sku_id == "NEW")) == "保温杯"


@pytest.fixture(autouse=True)
def _work_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rejects files go to the working directory: keep them out of the repository."""
    monkeypatch.chdir(tmp_path)
