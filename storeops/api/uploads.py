"""Running an import from an uploaded file (shared by the API and the import page)."""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import UploadFile
from starlette.concurrency import run_in_threadpool

from storeops.api.limits import (
    FILE_NAME_CHARS,
    check_text,
    upload_limit_params,
    upload_limit_text,
)
from storeops.common.errors import StoreopsError
from storeops.config import max_upload_bytes, warehouse_dir
from storeops.db.engine import session_factory
from storeops.importers.models import ImportBatch
from storeops.importers.service import KINDS, import_file
from storeops.importers.summary import ReasonText

__all__ = ["KINDS", "UploadError", "UploadResult", "import_upload", "stored_rejects_path"]


class UploadError(StoreopsError, ValueError):
    pass


class UploadTooLarge(UploadError):
    http_status = 413


class MappingMissing(UploadError):
    """"Column mapping" chosen without a mapping file: reading the file as a JD export
    instead would import the wrong columns, or reject every row."""

    message_key = "import.mapping_missing"  # the page's words for it (i18n catalogs)


@dataclass(frozen=True)
class UploadResult:
    summary: dict[str, Any]
    rejected_rows: list[dict[str, Any]]  # the first ones (the importer keeps up to 500)
    rejected_total: int


def stored_rejects_path(db_url: str, batch: ImportBatch) -> Path:
    """Where the rejected rows of an uploaded import are kept for download: beside the
    warehouse and the secret key (ignored by git), named by the import batch and its start
    (a database made again numbers its batches from 1: never serve an older one's file)."""
    stamp = batch.started_at.strftime("%Y%m%dT%H%M%S%f")
    return warehouse_dir(db_url) / "import_rejects" / f"batch-{int(batch.id)}-{stamp}.csv"


def _safe_name(name: str | None, fallback: str) -> str:
    # Keep the suffixes (.csv.gz, .xlsx): the importer reads the file type from them.
    base = Path(name or "").name
    base = re.sub(r"[^\w.\-]+", "_", base).strip("._")
    if len(base.encode()) > 120:  # file systems allow 255 bytes; Chinese takes 3 a character
        suffixes = "".join(s for s in Path(base).suffixes[-2:] if len(s) <= 6)
        base = Path(fallback).stem + suffixes
    return base or fallback


async def _save(upload: UploadFile, folder: Path, fallback: str) -> Path:
    """Copy the upload to ``folder`` in 1 MB chunks, stopping at the upload limit."""
    folder.mkdir(parents=True, exist_ok=True)
    check_text(upload.filename or "", "the file name", FILE_NAME_CHARS)
    path = folder / _safe_name(upload.filename, fallback)
    limit, size = max_upload_bytes(), 0
    with path.open("wb") as fh:
        while chunk := await upload.read(1 << 20):
            size += len(chunk)
            if size > limit:
                raise UploadTooLarge(f"the file {upload.filename!r} is larger than the upload "
                                     f"limit of {upload_limit_text()}", key="upload.too_large",
                                     file=upload.filename, **upload_limit_params())
            fh.write(chunk)
    return path


async def import_upload(
    db_url: str,
    kind: str,
    upload: UploadFile | None,
    *,
    fmt: str | None = None,
    mapping: UploadFile | None = None,
    store: str | None = None,
    complete: bool = False,
    sheet: str | None = None,
    reason_text: ReasonText | None = None,
) -> UploadResult:
    """Save the upload (and its mapping) to a temporary folder and run the importer on it;
    the importer checks the kind, the format and every row. ``complete``: the file holds
    every line of each order in it (a changed order is replaced whole). ``sheet``: a workbook's
    sheet, by name or 1-based number (default: the mapping's, else the first).
    ``reason_text``: the words of the kept rejects file's reasons (the import page's
    language); by default the importer's English, as in the API's ``rejected_rows``."""
    if upload is None or not upload.filename:
        raise UploadError("no file was uploaded", key="upload.no_file")
    fmt = (fmt or "").strip() or None
    has_mapping = mapping is not None and bool(mapping.filename)
    if fmt == "mapping":  # the upload form's choice "read it through the mapping file"
        if not has_mapping:
            raise MappingMissing("the format 'column mapping' needs a mapping file (YAML): "
                                 "choose one, or choose the JD order export")
        fmt = None
    with tempfile.TemporaryDirectory(prefix="storeops-upload-") as tmp:
        folder = Path(tmp)
        path = await _save(upload, folder / "data", f"upload-{kind}.csv")
        if path.stat().st_size == 0:
            raise UploadError(f"the uploaded file {upload.filename!r} is empty",
                              key="upload.empty", file=upload.filename)
        mapping_path = None
        if has_mapping:
            assert mapping is not None
            mapping_path = await _save(mapping, folder / "mapping", "mapping.yaml")
        (folder / "rejects").mkdir()
        try:
            summary = await run_in_threadpool(
                import_file, db_url, kind, path, fmt=fmt, mapping=mapping_path,
                store=store, source_name=upload.filename, write_rejects=True,
                max_bytes=max_upload_bytes(),
                complete=complete, rejects_to=folder / "rejects", sheet=sheet,
                reason_text=reason_text,
            )
        except StoreopsError as exc:
            if mapping_path is not None and mapping is not None:
                _name_as_uploaded(exc, mapping_path, mapping.filename or "mapping.yaml")
            raise
        if summary.rejects_file and summary.batch_id is not None:
            await run_in_threadpool(_keep_rejects, db_url, summary.batch_id,
                                    Path(summary.rejects_file))
        summary.rejects_file = None  # a server path, of no use to the uploader
    return UploadResult(summary.to_dict(), list(summary.rejected_rows), summary.rejected)


def _name_as_uploaded(exc: StoreopsError, saved: Path, name: str) -> None:
    """An error about the mapping names it as the uploader did, never by its server path."""
    exc.args = tuple(a.replace(str(saved), name) if isinstance(a, str) else a
                     for a in exc.args)
    exc.params = {k: name if str(v) == str(saved) else v for k, v in exc.params.items()}


def _keep_rejects(db_url: str, batch_id: int, source: Path) -> None:
    with session_factory(db_url)() as session:
        batch = session.get(ImportBatch, batch_id)
    if batch is None:
        return
    target = stored_rejects_path(db_url, batch)
    # The import has committed: a folder we cannot write only costs the download link.
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)  # the temporary folder may be another file system
    except OSError:
        pass
