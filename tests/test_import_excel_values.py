"""Files re-saved by Excel (issue 10): ids Excel turned into numbers are rejected with a
reason that says so; times as Excel writes them back are read."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storeops.db.engine import unit_of_work
from storeops.db.models import Order, Product
from storeops.importers.service import import_file
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
