"""A table as a file for Excel: CSV and XLSX from one column spec (pure: rows in, bytes out).

Every exported table (the SKU table, the rejected rows of an import) goes through here, so
the rules below hold for all of them:

- **IDs stay text.** Excel turns ``100012345678`` into ``1.00012E+11`` and drops the leading
  zeros of ``000123`` when it opens a CSV. The CSV writes an ID as the formula ``="000123"``,
  whose value is the text ``000123``: Excel and LibreOffice Calc keep it whole (and ``1-2``
  stays text, not a date; tests/test_table_export.py opens a file in LibreOffice when it is
  installed), and a re-save writes the plain text back. Tools that read the CSV as text
  (Python's csv, pandas, an editor) see the characters ``="000123"``; ``id_from_csv`` gives
  the id back. The XLSX writes IDs as string cells formatted ``@``: text to every tool.
- **Numbers stay numbers.** CSV: money as plain decimals (``1234.50``), counts as integers,
  rates as percentages (``5.98%``, which Excel reads as the number 0.0598), ratios (ROAS) with
  two decimals, dates ISO. XLSX: real numbers with formats (``"¥"#,##0.00``, ``#,##0``,
  ``0.00%`` over the fraction, ``0.00``, ``yyyy-mm-dd``).
- **Text is never run.** A text cell Excel would run as a formula (``=``, ``+``, ``-``, ``@``
  …) gets an apostrophe in the CSV (:func:`storeops.common.excel.neutralise_cell`); the XLSX
  writes every text as a string cell, which Excel never evaluates. The ID form above is the
  one formula a CSV holds, and it holds nothing but a quoted string.
- **Bounded memory.** The CSV comes out in chunks; the XLSX is written with xlsxwriter's
  ``constant_memory`` mode (each row goes to a temporary file as soon as it is written).
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import IO, Any
from urllib.parse import quote

from storeops.common.excel import neutralise_cell

# Column kinds: how a column's values are written.
ID, TEXT, MONEY, COUNT, RATE, RATIO, DATE = "id", "text", "money", "count", "rate", "ratio", "date"
KINDS = (ID, TEXT, MONEY, COUNT, RATE, RATIO, DATE)
NUMERIC_KINDS = frozenset({MONEY, COUNT, RATE, RATIO})

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CHUNK_ROWS = 1000
CENT = Decimal("0.01")
# Excel refuses a string constant longer than 255 characters inside a formula.
_MAX_FORMULA_TEXT = 255
_ID_FORMULA = re.compile(r'^="((?:[^"]|"")*)"$', re.DOTALL)
# Width of a column in characters: within these bounds, CJK characters counting double.
_MIN_WIDTH, _MAX_WIDTH = 8, 60
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class Column:
    """One column of an exported table: the row key it reads, its (translated) header, and
    its kind (one of KINDS)."""

    key: str
    header: str
    kind: str = TEXT

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")


# --- CSV -------------------------------------------------------------------------------------

def csv_id(value: Any) -> str:
    """An ID as the CSV writes it: ``="000123"`` (text to Excel), ``""`` when missing. An ID
    that cannot be a formula's string (too long, a line break) is written as text instead."""
    if value is None or value == "":
        return ""
    text = str(value)
    if len(text) > _MAX_FORMULA_TEXT or any(c in text for c in "\r\n"):
        return neutralise_cell(text)
    return '="' + text.replace('"', '""') + '"'


def id_from_csv(cell: str) -> str:
    """The ID behind a cell :func:`csv_id` wrote (``="000123"`` → ``000123``); other cells as
    they are. For scripts that read the CSV export."""
    found = _ID_FORMULA.match(cell)
    return found.group(1).replace('""', '"') if found else cell


def _decimal(value: Any) -> Decimal | None:
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def csv_cell(kind: str, value: Any) -> str:
    """One cell of the CSV: "" for a missing value (not a dash Excel cannot sum)."""
    if value is None or value == "":
        return ""
    if kind == ID:
        return csv_id(value)
    if kind == MONEY:
        amount = _decimal(value)
        return "" if amount is None else format(amount.quantize(CENT, ROUND_HALF_UP), "f")
    if kind == COUNT:
        amount = _decimal(value)
        return "" if amount is None else format(amount.to_integral_value(), "f")
    if kind in (RATE, RATIO):
        number = _float(value)
        if number is None:
            return ""
        return f"{number * 100:.2f}%" if kind == RATE else f"{number:.2f}"
    if kind == DATE:
        day = _date(value)
        return day.isoformat() if day else neutralise_cell(str(value))
    return neutralise_cell(str(value))


def csv_chunks(columns: Sequence[Column], rows: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
    """The table as CSV for Excel, in chunks: UTF-8 with a BOM (so that Excel reads Chinese
    right), CRLF line ends, the header row first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    out.write("\ufeff")
    writer.writerow([neutralise_cell(c.header) for c in columns])
    for n, row in enumerate(rows, 1):
        writer.writerow([csv_cell(c.kind, row.get(c.key)) for c in columns])
        if n % CSV_CHUNK_ROWS == 0:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8")


def csv_bytes(columns: Sequence[Column], rows: Iterable[Mapping[str, Any]]) -> bytes:
    return b"".join(csv_chunks(columns, rows))


# --- XLSX ------------------------------------------------------------------------------------

def _number_formats(currency_symbol: str) -> dict[str, str]:
    symbol = currency_symbol.replace('"', "")
    money = f'"{symbol}"#,##0.00' if symbol else "#,##0.00"
    return {ID: "@", TEXT: "@", MONEY: money, COUNT: "#,##0", RATE: "0.00%", RATIO: "0.00",
            DATE: "yyyy-mm-dd"}


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def sheet_title(name: str) -> str:
    """A name Excel accepts for a sheet: without []:*?/\\, at most 31 characters."""
    clean = _SHEET_FORBIDDEN.sub(" ", name).strip().strip("'")[:31]
    return clean or "Sheet1"


def write_xlsx(columns: Sequence[Column], rows: Iterable[Mapping[str, Any]],
               target: str | IO[bytes], *, sheet_name: str, currency_symbol: str = "¥") -> int:
    """Write the table as a workbook of one sheet to ``target`` (a path or a binary file);
    returns the number of data rows. The header row is bold, frozen and filtered."""
    import xlsxwriter  # only for exports: keeps it out of every other start-up

    book = xlsxwriter.Workbook(target, {
        "constant_memory": True,  # a row is flushed to a temporary file once written
        "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
    })
    try:
        sheet = book.add_worksheet(sheet_title(sheet_name))
        formats = {kind: book.add_format({"num_format": f})
                   for kind, f in _number_formats(currency_symbol).items()}
        header = book.add_format({"bold": True, "bg_color": "#F2F2F2", "bottom": 1})
        widths = [max(_MIN_WIDTH, _display_width(c.header) + 2) for c in columns]
        sheet.freeze_panes(1, 0)
        for col, column in enumerate(columns):
            sheet.write_string(0, col, column.header, header)
        last = 0
        for last, row in enumerate(rows, 1):
            for col, column in enumerate(columns):
                width = _write_cell(sheet, last, col, column.kind, row.get(column.key),
                                    formats[column.kind])
                if width > widths[col]:
                    widths[col] = width
        for col, column in enumerate(columns):
            sheet.set_column(col, col, min(widths[col], _MAX_WIDTH), formats[column.kind])
        if columns:
            sheet.autofilter(0, 0, last, len(columns) - 1)
    finally:
        book.close()
    return last


def _write_cell(sheet: Any, row: int, col: int, kind: str, value: Any, cell_format: Any) -> int:
    """Write one cell; returns its display width (for the column's width)."""
    if value is None or value == "":
        return 0
    if kind in (ID, TEXT):
        text = str(value)
        sheet.write_string(row, col, text, cell_format)  # a string cell: never a formula
        return _display_width(text) + 2
    if kind == DATE:
        day = _date(value)
        if day is None:
            sheet.write_string(row, col, str(value), cell_format)
            return _display_width(str(value)) + 2
        sheet.write_datetime(row, col, datetime(day.year, day.month, day.day), cell_format)
        return 12
    number = _float(value)  # XLSX holds doubles; money is exact to the cent within them
    if number is None:
        return 0
    if kind == COUNT:
        number = float(round(number))
    sheet.write_number(row, col, number, cell_format)
    if kind == RATE:
        return len(f"{number * 100:.2f}%") + 2
    return len(f"{number:,.2f}") + 4


def xlsx_bytes(columns: Sequence[Column], rows: Iterable[Mapping[str, Any]], *,
               sheet_name: str, currency_symbol: str = "¥") -> bytes:
    out = io.BytesIO()
    write_xlsx(columns, rows, out, sheet_name=sheet_name, currency_symbol=currency_symbol)
    return out.getvalue()


# --- download names --------------------------------------------------------------------------

def attachment(filename: str) -> str:
    """A Content-Disposition for ``filename``: an ASCII fallback for old clients and the
    UTF-8 name as RFC 5987 ``filename*`` (Chinese store names survive)."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_"
                       for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
