"""Empty files with the headers the products, traffic and ads importers accept, to fill in
and upload (the import page links them)."""

from __future__ import annotations

import csv
import io

from storeops.importers.tables import SPECS, TEXT, TableSpec

TEMPLATE_KINDS = ("products", "traffic", "ads")
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def template_headers(kind: str) -> list[str]:
    """The header of each field as JD exports it (the first one the importer accepts), in
    the importer's order."""
    return [f.headers[0] for f in SPECS[kind].fields]


def template_bytes(kind: str, fmt: str) -> bytes:
    """The template of ``kind`` (one of TEMPLATE_KINDS) as ``fmt`` (csv or xlsx)."""
    headers = template_headers(kind)
    if fmt == "csv":
        text = io.StringIO()
        csv.writer(text).writerow(headers)
        return text.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8
    return _xlsx(SPECS[kind], headers)


def _xlsx(spec: TableSpec, headers: list[str]) -> bytes:
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet(spec.kind)
    bold = book.add_format({"bold": True})
    as_text = book.add_format({"num_format": "@"})  # ids typed in stay text, never 2.9E+11
    for col, (field, header) in enumerate(zip(spec.fields, headers, strict=True)):
        sheet.write_string(0, col, header, bold)
        width = max(12, len(header.encode()) + 2)
        if field.kind == TEXT:
            sheet.set_column(col, col, width, as_text)
        else:
            sheet.set_column(col, col, width)
    sheet.freeze_panes(1, 0)
    book.close()
    return out.getvalue()
