"""Files re-saved by Excel (issue 10): ids Excel turned into numbers are rejected with a
reason that says so; times as Excel writes them back are read."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storeops.catalog.models import Product
from storeops.db.engine import unit_of_work
from storeops.importers.service import import_file
from storeops.orders.models import Order
from storeops.web.i18n import reject_reason

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "examples" / "mappings" / "online_retail.yaml"
HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
REASON = "this looks like an ID that Excel converted to a number; export it as text"


def _write(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def test_ids_excel_made_numbers_are_rejected_not_merged(sqlite_db_url: str,
                                                         tmp_path: Path) -> None:
    rows = [
        "536365,85123A,HEART,1,2010-12-01 08:26:00,2.55,17850,United Kingdom",  # good
        # two different invoices Excel shows as the same 2.9E+11: they must not merge
        "2.9E+11,22752,SET 7 BABUSHKA,1,2010-12-01 08:26:00,7.65,17850,United Kingdom",
        "2.9E+11,71053,LANTERN,1,2010-12-01 08:26:00,3.39,17850,United Kingdom",
        "536366,1.00012E+11,HAND WARMER,1,2010-12-01 08:28:00,1.85,17850,United Kingdom",
        "536367,84879,BIRD ORNAMENT,1,2010-12-01 08:34:00,1.69,13047.0,United Kingdom",
        "536368.0,22960,JAM MAKING SET,1,2010-12-01 08:34:00,4.25,13047,United Kingdom",
    ]
    path = _write(tmp_path / "resaved.csv", rows)
    summary = import_file(sqlite_db_url, "orders", path, mapping=MAPPING, store="uk")
    assert (summary.imported, summary.rejected) == (1, 5)
    assert summary.by_reason == {"excel number id": 5}
    with open(summary.rejects_file, encoding="utf-8-sig", newline="") as fh:
        rejects = {r["row"]: r for r in csv.DictReader(fh)}
    assert {r: (v["field"], v["reason"]) for r, v in rejects.items()} == {
        "3": ("InvoiceNo", REASON), "4": ("InvoiceNo", REASON), "5": ("StockCode", REASON),
        "6": ("CustomerID", REASON), "7": ("InvoiceNo", REASON),
    }
    with unit_of_work(sqlite_db_url) as s:
        assert s.scalars(select(Order.platform_order_id)).all() == ["536365"]
    assert reject_reason("zh-CN", "excel number id") == (
        "看起来是被 Excel 转成数字的编号，请以文本格式导出")
    assert reject_reason("en", "excel number id") == REASON


def test_ids_that_merely_contain_digits_and_letters_are_kept(sqlite_db_url: str,
                                                             tmp_path: Path) -> None:
    rows = ["C536379,85123A,HEART,-1,2010-12-01 08:26:00,2.55,17850,United Kingdom",
            "536370,10E,ODD SKU,1,2010-12-01 08:26:00,2.55,,United Kingdom",
            "536371,2E5X,ODD SKU,1,2010-12-01 08:26:00,2.55,,United Kingdom"]
    summary = import_file(sqlite_db_url, "orders", _write(tmp_path / "ok.csv", rows),
                          mapping=MAPPING, store="uk")
    assert (summary.imported, summary.rejected) == (3, 0)


def test_product_sku_excel_made_number_is_rejected(sqlite_db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "products.csv"
    path.write_text("商品ID,商品名称\n100012345678,好茶\n1.00012E+11,坏茶\n", encoding="utf-8")
    summary = import_file(sqlite_db_url, "products", path, store="s")
    assert (summary.rejected, summary.by_reason) == (1, {"excel number id": 1})
    with unit_of_work(sqlite_db_url) as s:
        assert s.scalar(select(func.count()).select_from(Product)) == 1


@pytest.mark.parametrize("text", ["536365.0", "2.9E+11", "2.9e11", "1.00012E+11", " 5.00 "])
def test_rule(text: str) -> None:
    import polars as pl

    from storeops.importers.parsing import excel_number_id

    assert pl.select(excel_number_id(pl.lit(text))).item() is True


EXCEL_TIMES = ["2026/11/12 9:30", "2026-11-12 9:30", "2026/11/12 9:30:00", "2026/11/12 09:30"]


def test_jd_export_resaved_by_excel_reads_its_times(sqlite_db_url: str, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from test_import_jd import jd_row, write_csv

    rows = [jd_row(str(2001 + i), "A1", 1, "10.00", "10.00", "10.00", "10.00", "完成",
                   placed=text, paid_at=text.replace("9:30", "9:31"),
                   finished="2026/11/13 10:00")
            for i, text in enumerate(EXCEL_TIMES)]
    summary = import_file(sqlite_db_url, "orders", write_csv(tmp_path / "jd.csv", rows),
                          fmt="jd")
    assert (summary.imported, summary.rejected) == (4, 0), summary.by_reason
    with unit_of_work(sqlite_db_url) as s:
        times = s.execute(select(Order.placed_at, Order.paid_at, Order.finished_at)).all()
    # Asia/Shanghai 9:30 is 01:30 UTC
    assert set(times) == {(datetime(2026, 11, 12, 1, 30, tzinfo=UTC),
                           datetime(2026, 11, 12, 1, 31, tzinfo=UTC),
                           datetime(2026, 11, 13, 2, 0, tzinfo=UTC))}


def test_mapping_reads_excel_times(sqlite_db_url: str, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    rows = [f"5363{i},85123A,HEART,1,{text},2.55,17850,United Kingdom"
            for i, text in enumerate(EXCEL_TIMES)]
    summary = import_file(sqlite_db_url, "orders", _write(tmp_path / "m.csv", rows),
                          mapping=MAPPING, store="uk")
    assert (summary.imported, summary.rejected) == (4, 0), summary.by_reason
    with unit_of_work(sqlite_db_url) as s:
        times = set(s.scalars(select(Order.placed_at)).all())
    assert times == {datetime(2026, 11, 12, 9, 30, tzinfo=UTC)}  # the mapping's store is UTC


@pytest.fixture(autouse=True)
def _work_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rejects files go to the working directory: keep them out of the repository."""
    monkeypatch.chdir(tmp_path)
