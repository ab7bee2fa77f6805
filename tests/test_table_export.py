"""Tables as files for Excel (storeops.web.table_export): IDs that stay text, numbers that
stay numbers with their formats, text that is never run, in CSV and in XLSX."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from storeops.common.excel import neutralise_cell, restore_cell
from storeops.web.table_export import (
    COUNT,
    DATE,
    ID,
    MONEY,
    RATE,
    RATIO,
    TEXT,
    Column,
    attachment,
    csv_bytes,
    csv_cell,
    id_from_csv,
    sheet_title,
    write_xlsx,
    xlsx_bytes,
)

COLUMNS = [Column("sku", "SKU", ID), Column("title", "商品", TEXT),
           Column("gmv", "成交金额", MONEY), Column("orders", "成交单量", COUNT),
           Column("rate", "成交转化率", RATE), Column("roas", "ROAS", RATIO),
           Column("day", "日期", DATE)]
ROWS = [
    {"sku": "000123", "title": "=HYPERLINK(\"http://evil\",\"x\")", "gmv": Decimal("1234.5"),
     "orders": 1234, "rate": 0.059794, "roas": 3.256, "day": date(2026, 10, 2)},
    {"sku": "100012345678", "title": "纯棉四件套", "gmv": Decimal("0.07"), "orders": 0,
     "rate": None, "roas": None, "day": "2026-10-31"},
    {"sku": "85123A", "title": "-2+3", "gmv": None, "orders": None, "rate": 1, "roas": 0,
     "day": None},
]


def _csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_csv_writes_ids_as_excel_text_and_they_come_back_whole() -> None:
    data = csv_bytes(COLUMNS, ROWS)
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8 (Chinese headers)
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")  # CRLF only
    rows = _csv_rows(data)
    assert rows[0] == ["SKU", "商品", "成交金额", "成交单量", "成交转化率", "ROAS", "日期"]
    # The written form: a formula whose value is the text, so Excel neither drops the leading
    # zeros nor turns 12 digits into 1.00012E+11.
    assert [r[0] for r in rows[1:]] == ['="000123"', '="100012345678"', '="85123A"']
    assert b'"=""000123"""' in data  # as the bytes hold it: one quoted CSV field
    assert [id_from_csv(r[0]) for r in rows[1:]] == ["000123", "100012345678", "85123A"]
    assert id_from_csv("plain") == "plain" and id_from_csv("") == ""


def test_csv_id_form_survives_quotes_and_formula_signs_in_the_id() -> None:
    for sku in ('A"B', '=cmd|" /C calc"!A0', "-12.50", "@x"):
        cell = csv_cell(ID, sku)
        assert cell.startswith('="') and cell.endswith('"')
        # only a string constant: every quote inside is doubled
        assert '"' not in cell[2:-1].replace('""', "")
        back = _csv_rows(csv_bytes([Column("sku", "SKU", ID)], [{"sku": sku}]))[1][0]
        assert id_from_csv(back) == sku
    too_long = "9" * 300  # past Excel's limit for a string in a formula: plain text instead
    assert csv_cell(ID, too_long) == too_long
    assert csv_cell(ID, None) == csv_cell(ID, "") == ""


def test_csv_numbers_plain_rates_as_percentages_text_neutralised() -> None:
    rows = _csv_rows(csv_bytes(COLUMNS, ROWS))
    first, second, third = rows[1], rows[2], rows[3]
    assert first[1] == "'=HYPERLINK(\"http://evil\",\"x\")"  # never run by Excel
    assert third[1] == "'-2+3"
    assert first[2:] == ["1234.50", "1234", "5.98%", "3.26", "2026-10-02"]
    assert second[2:] == ["0.07", "0", "", "", "2026-10-31"]  # unknown: empty, not 0 or "—"
    assert third[2:] == ["", "", "100.00%", "0.00", ""]


def test_xlsx_has_text_ids_real_numbers_formats_and_a_frozen_filtered_header() -> None:
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(COLUMNS, ROWS, sheet_name="商品明细")))
    sheet = book.active
    assert sheet.title == "商品明细"
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:G4"
    assert [c.value for c in sheet[1]] == [c.header for c in COLUMNS]
    assert all(c.font.b for c in sheet[1])
    ids = [sheet.cell(row, 1) for row in (2, 3, 4)]
    assert [c.value for c in ids] == ["000123", "100012345678", "85123A"]
    assert all(c.data_type == "s" and c.number_format == "@" for c in ids)
    formula_text = sheet["B2"]
    assert formula_text.value == "=HYPERLINK(\"http://evil\",\"x\")"
    assert formula_text.data_type == "s"  # a string cell: shown, never evaluated
    gmv = sheet["C2"]
    assert gmv.value == pytest.approx(1234.5) and isinstance(gmv.value, float)
    assert "¥" in gmv.number_format and gmv.number_format.endswith("#,##0.00")
    assert sheet["D2"].value == 1234 and sheet["D2"].number_format == "#,##0"
    rate = sheet["E2"]
    assert rate.value == pytest.approx(0.059794) and rate.number_format == "0.00%"
    assert sheet["F2"].value == pytest.approx(3.256) and sheet["F2"].number_format == "0.00"
    assert sheet["G2"].value == datetime(2026, 10, 2) and sheet["G2"].is_date
    assert sheet["G3"].value == datetime(2026, 10, 31)
    assert sheet["E3"].value is None and sheet["C4"].value is None  # unknown stays empty
    assert sheet.column_dimensions["B"].width >= 20  # wide enough for the long title


def test_xlsx_money_format_follows_the_store_currency_and_sheet_names_are_valid() -> None:
    data = xlsx_bytes([Column("gmv", "GMV", MONEY)], [{"gmv": Decimal("5")}],
                      sheet_name="a/b:c*d?[e]" + "x" * 40, currency_symbol="$")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert "$" in sheet["A2"].number_format and sheet["A2"].value == 5
    assert sheet.title == sheet_title("a/b:c*d?[e]" + "x" * 40) and len(sheet.title) <= 31
    assert sheet_title("") == "Sheet1"


def test_xlsx_writes_a_large_table_from_a_generator_in_bounded_memory(tmp_path: Path) -> None:
    import tracemalloc

    rows = ({"sku": f"{n:012d}", "title": f"商品 {n}", "gmv": n / 100} for n in range(20_000))
    columns = [Column("sku", "SKU", ID), Column("title", "商品"), Column("gmv", "GMV", MONEY)]
    tracemalloc.start()
    try:
        write_xlsx(columns, rows, str(tmp_path / "big.xlsx"), sheet_name="SKUs")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Rows go to a temporary file as they are written (under 1 MB here); a workbook held in
    # memory would take about 17 MB for these rows.
    assert peak < 6_000_000, peak
    sheet = openpyxl.load_workbook(tmp_path / "big.xlsx", read_only=True).active
    cells = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(cells) == 20_000
    assert cells[-1] == ("000000019999", "商品 19999", pytest.approx(199.99))


def test_download_names_keep_chinese_store_names() -> None:
    value = attachment("旗舰店_skus_2026-10-02_2026-10-31.xlsx")
    assert value.startswith('attachment; filename="')
    assert "filename*=UTF-8''%E6%97%97%E8%88%B0%E5%BA%97_skus_2026-10-02_2026-10-31.xlsx" in value
    fallback = value.split('filename="')[1].split('"')[0]
    assert fallback.isascii() and fallback.endswith("_skus_2026-10-02_2026-10-31.xlsx")
    assert attachment('a"b\\c.csv').startswith('attachment; filename="a_b_c.csv";')


def test_restore_cell_undoes_the_csv_neutralising_for_text_cells() -> None:
    for text in ("=1+2", "+cmd", "@SUM(A1)", "\t=1", "plain", "-12.50", "'quoted"):
        assert restore_cell(neutralise_cell(text)) == text


@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice (soffice) is not installed")
def test_a_spreadsheet_opening_the_csv_keeps_ids_as_text(tmp_path: Path) -> None:
    """A real spreadsheet (LibreOffice Calc, default CSV options) opens the export: the IDs
    are text, zeros and all digits kept, where the same IDs written plain become numbers."""
    columns = [Column("sku", "SKU", ID), Column("gmv", "GMV", MONEY), Column("rate", "CR", RATE)]
    rows = [{"sku": "000123", "gmv": "1234.5", "rate": 0.059794},
            {"sku": "100012345678", "gmv": "7", "rate": 0.5}, {"sku": "1-2", "gmv": 0}]
    (tmp_path / "ours.csv").write_bytes(csv_bytes(columns, rows))
    (tmp_path / "plain.csv").write_bytes(b"SKU\r\n000123\r\n100012345678\r\n")
    subprocess.run(["soffice", "--headless", "--infilter=Text - txt - csv (StarCalc):44,34,76,1",
                    "--convert-to", "xlsx", "--outdir", str(tmp_path),
                    str(tmp_path / "ours.csv"), str(tmp_path / "plain.csv")],
                   check=True, capture_output=True, timeout=180,
                   env={**os.environ, "HOME": str(tmp_path)})  # a profile of its own
    ours = openpyxl.load_workbook(tmp_path / "ours.xlsx", data_only=True).active
    assert [(r[0].value, r[0].data_type) for r in ours.iter_rows(min_row=2)] == [
        ("000123", "s"), ("100012345678", "s"), ("1-2", "s")]  # text, never 1.00012E+11
    assert ours["B2"].value == 1234.5 and ours["C2"].value == pytest.approx(0.0598)
    plain = openpyxl.load_workbook(tmp_path / "plain.xlsx", data_only=True).active
    assert [r[0].value for r in plain.iter_rows(min_row=2)] == [123, 100012345678]
