"""Downloads of the cockpit's tables as CSV and XLSX: the SKU table (its filter and sort,
every row) and an import's rejected rows. The files themselves are written by
:mod:`storeops.web.table_export`."""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from storeops.accounts.permissions import Permission
from storeops.api.auth import CurrentUser, db_url_of, require
from storeops.api.context import Scope
from storeops.api.uploads import stored_rejects_path
from storeops.common.excel import restore_cell
from storeops.db.engine import session_factory
from storeops.importers.models import ImportBatch
from storeops.web import format as fmt
from storeops.web import sku_table
from storeops.web.i18n import reject_reason, translator
from storeops.web.pages import _sku_rows, download_scope, page_lang, sku_compare
from storeops.web.table_export import (
    COUNT,
    CSV_MEDIA_TYPE,
    TEXT,
    XLSX_MEDIA_TYPE,
    Column,
    attachment,
    csv_chunks,
    write_xlsx,
)

router = APIRouter(include_in_schema=False)
EVERY_ROW = 10**9  # a "page" that holds the whole filtered table


def csv_response(columns: Sequence[Column], rows: Iterable[dict[str, Any]],
                 filename: str) -> Response:
    """The table as a CSV download, streamed in chunks."""
    return StreamingResponse(csv_chunks(columns, rows), media_type=CSV_MEDIA_TYPE,
                             headers={"Content-Disposition": attachment(filename)})


def xlsx_response(columns: Sequence[Column], rows: Iterable[dict[str, Any]], filename: str,
                  *, sheet_name: str, currency_symbol: str = "¥") -> Response:
    """The table as an XLSX download: written to an anonymous temporary file (xlsxwriter's
    constant memory mode keeps rows out of memory; the file vanishes when closed, even if the
    client goes away mid-download), then streamed."""
    out = tempfile.TemporaryFile(prefix="storeops-export-", suffix=".xlsx")
    try:
        write_xlsx(columns, rows, out, sheet_name=sheet_name, currency_symbol=currency_symbol)
        size = out.seek(0, os.SEEK_END)
        out.seek(0)
    except BaseException:
        out.close()
        raise
    return StreamingResponse(_file_chunks(out), media_type=XLSX_MEDIA_TYPE,
                             headers={"Content-Disposition": attachment(filename),
                                      "Content-Length": str(size)})


def _file_chunks(fh: IO[bytes], size: int = 64 * 1024) -> Iterator[bytes]:
    with fh:
        while block := fh.read(size):
            yield block


# --- the SKU table ---------------------------------------------------------------------------

def _sku_export(request: Request, sc: Scope) -> tuple[list[Column], Iterator[dict[str, Any]]]:
    """The columns (sku_table.COLUMNS, the page's list) and every row of the page's filter and
    sort, in the page's language."""
    lang = page_lang(request)
    query = sku_table.SkuQuery.from_params(request.query_params)
    compare = sku_compare(request)
    rows = sku_table.listing(_sku_rows(db_url_of(request), sc, compare), query,
                             per_page=EVERY_ROW).rows
    return sku_table.export_columns(lang, compare), sku_table.export_rows(rows, lang)


def _sku_filename(sc: Scope, ext: str) -> str:
    return f"{sc.store.name}_skus_{sc.first.isoformat()}_{sc.last.isoformat()}.{ext}"


@router.get("/skus.csv")
def skus_csv(
    request: Request,
    user: CurrentUser = require(Permission.SKU_VIEW),
    sc: Scope = Depends(download_scope),
) -> Response:
    """The SKU table with its filter and sort, every page, as CSV for Excel."""
    columns, rows = _sku_export(request, sc)
    return csv_response(columns, rows, _sku_filename(sc, "csv"))


@router.get("/skus.xlsx")
def skus_xlsx(
    request: Request,
    user: CurrentUser = require(Permission.SKU_VIEW),
    sc: Scope = Depends(download_scope),
) -> Response:
    """The same table as the CSV, as an Excel workbook with real number formats."""
    columns, rows = _sku_export(request, sc)
    t = translator(page_lang(request))
    return xlsx_response(columns, rows, _sku_filename(sc, "xlsx"),
                         sheet_name=t("export.sheet_skus"),
                         currency_symbol=fmt.currency_symbol(sc.store.currency))


# --- rejected rows of an import --------------------------------------------------------------

def _rejects_file(request: Request, batch_id: int) -> Path:
    if not 0 < batch_id < 2**31:  # the column's range: past it no query, just no such file
        raise StarletteHTTPException(404)
    with session_factory(db_url_of(request))() as session:
        batch = session.get(ImportBatch, batch_id)
    path = stored_rejects_path(db_url_of(request), batch) if batch else None
    if path is None or not path.is_file():
        raise StarletteHTTPException(404)
    return path


@router.get("/import/batches/{batch_id}/rejects.csv",
            dependencies=[require(Permission.IMPORT_RUN)])
def import_rejects(request: Request, batch_id: int) -> Response:
    """Every rejected row of an uploaded import (row, field, reason, original cells), the
    file the importer wrote: plain cells, ready to correct and import again."""
    return FileResponse(_rejects_file(request, batch_id), media_type=CSV_MEDIA_TYPE,
                        filename=f"import-{batch_id}.rejects.csv")


def rejects_table(lines: Iterator[list[str]], lang: str
                  ) -> tuple[list[Column], Iterator[dict[str, Any]]]:
    """The rejects CSV (row, field, reason, then the file's own columns) as a table: the
    first three headers and the reasons in ``lang``; every original cell as text, as the
    importer read it (IDs stay whole), without the apostrophe the CSV put before formulas."""
    t = translator(lang)
    header = next(lines, [])
    original = header[3:]
    columns = [Column("row", t("import.row"), COUNT), Column("field", t("import.field"), TEXT),
               Column("reason", t("import.reason"), TEXT),
               *(Column(f"c{i}", restore_cell(name), TEXT) for i, name in enumerate(original))]

    def rows() -> Iterator[dict[str, Any]]:
        for line in lines:
            cells = dict(enumerate(line))
            yield {"row": cells.get(0), "field": cells.get(1),
                   "reason": reject_reason(lang, cells.get(2) or ""),
                   **{f"c{i}": restore_cell(v) for i, v in enumerate(line[3:])}}

    return columns, rows()


@router.get("/import/batches/{batch_id}/rejects.xlsx",
            dependencies=[require(Permission.IMPORT_RUN)])
def import_rejects_xlsx(request: Request, batch_id: int) -> Response:
    """The rejected rows as an Excel workbook: original cells as text, so that an order id
    or a SKU is never turned into a number when the file is corrected in Excel."""
    path = _rejects_file(request, batch_id)
    lang = page_lang(request)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        columns, rows = rejects_table(csv.reader(fh), lang)
        return xlsx_response(columns, rows, f"import-{batch_id}.rejects.xlsx",
                             sheet_name=translator(lang)("export.sheet_rejects"))
