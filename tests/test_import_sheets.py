"""Workbooks (issue 10): the Online Retail mapping reads the same data saved as XLSX, and a
sheet is chosen by name or number (``--sheet``, ``sheet:`` in a mapping), with a clear error
naming the sheets when the one asked for is missing."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storeops.db.engine import unit_of_work
from storeops.importers.reading import ImportFileError
from storeops.importers.service import import_file
from storeops.orders.models import OrderLine

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "examples" / "mappings" / "online_retail.yaml"
SLICE = Path(__file__).parent / "data" / "import" / "online_retail_slice.csv"


def _workbook(path: Path, rows: int | None = None) -> Path:
    """The slice as Excel saves it: a notes sheet first, numbers as numbers, times as dates."""
    import xlsxwriter

    with SLICE.open(encoding="utf-8", newline="") as fh:
        data = list(csv.reader(fh))
    if rows is not None:
        data = data[:rows + 1]
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("说明").write(0, 0, "UCI Online Retail, first rows")
    sheet = book.add_worksheet("Online Retail")
    when = book.add_format({"num_format": "yyyy/m/d h:mm"})
    sheet.write_row(0, 0, data[0])
    for i, row in enumerate(data[1:], start=1):
        for j, value in enumerate(row):
            if j == 4:
                sheet.write_datetime(i, j, datetime.strptime(value, "%Y-%m-%d %H:%M:%S"), when)
            elif j in (0, 1, 3, 5, 6) and value:
                try:
                    sheet.write_number(i, j, float(value))
                except ValueError:
                    sheet.write_string(i, j, value)
            else:
                sheet.write_string(i, j, value)
    book.close()
    return path


def test_online_retail_mapping_reads_the_xlsx_copy_like_the_csv(sqlite_db_url: str,
                                                                tmp_path: Path) -> None:
    book = _workbook(tmp_path / "online_retail.xlsx")
    from_xlsx = import_file(sqlite_db_url, "orders", book, mapping=MAPPING, store="xlsx",
                            sheet="Online Retail")
    from_csv = import_file(sqlite_db_url, "orders", SLICE, mapping=MAPPING, store="csv",
                           write_rejects=False)
    keys = ("read", "imported", "rejected", "excluded", "freight", "orders_created",
            "refunds", "products_created", "customers_created")
    assert {k: from_xlsx.to_dict()[k] for k in keys} == {k: from_csv.to_dict()[k] for k in keys}
    with unit_of_work(sqlite_db_url) as s:
        sums = dict(s.execute(select(OrderLine.store_id, func.sum(OrderLine.amount_cents))
                              .group_by(OrderLine.store_id)).all())
    assert len(sums) == 2 and len(set(sums.values())) == 1


def test_sheet_by_number_and_mapping(sqlite_db_url: str, tmp_path: Path) -> None:
    book = _workbook(tmp_path / "small.xlsx", rows=20)
    by_number = import_file(sqlite_db_url, "orders", book, mapping=MAPPING, store="a",
                            sheet="2")
    assert by_number.imported == 20
    mapping = tmp_path / "sheet.yaml"
    mapping.write_text(MAPPING.read_text(encoding="utf-8") + '\nsheet: "Online Retail"\n',
                       encoding="utf-8")
    by_mapping = import_file(sqlite_db_url, "orders", book, mapping=mapping, store="b")
    assert by_mapping.imported == 20
    # the first sheet (the notes) has none of the mapped columns: a clear error
    with pytest.raises(ImportFileError, match="missing column"):
        import_file(sqlite_db_url, "orders", book, mapping=MAPPING, store="c")


def test_missing_sheet_names_the_sheets(tmp_path: Path) -> None:
    book = _workbook(tmp_path / "small.xlsx", rows=3)
    db = tmp_path / "s.db"
    proc = subprocess.run(
        [sys.executable, "-m", "storeops.cli", "import", "orders", str(book), "--mapping",
         str(MAPPING), "--db", str(db), "--sheet", "Sales"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    assert "error:" in proc.stderr and "没有工作表“Sales”" in proc.stderr  # zh-CN by default
    assert "1 '说明'" in proc.stderr and "2 'Online Retail'" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "storeops.cli", "import", "orders", str(book), "--mapping",
         str(MAPPING), "--db", str(db), "--sheet", "Online Retail", "--json"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["imported"] == 3
    with pytest.raises(ImportFileError, match="no sheet '3'"):
        import_file(f"sqlite:///{db}", "orders", book, mapping=MAPPING, sheet=3)


def test_products_sheet_option(sqlite_db_url: str, tmp_path: Path) -> None:
    import xlsxwriter

    path = tmp_path / "products.xlsx"
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet("封面").write(0, 0, "商品清单")
    sheet = book.add_worksheet("商品")
    sheet.write_row(0, 0, ["商品ID", "商品名称"])
    sheet.write_row(1, 0, ["100012345678", "好茶"])
    book.close()
    summary = import_file(sqlite_db_url, "products", path, store="s", sheet="商品")
    assert summary.created == 1


@pytest.fixture(autouse=True)
def _work_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rejects files go to the working directory: keep them out of the repository."""
    monkeypatch.chdir(tmp_path)
