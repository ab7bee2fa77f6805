"""Reading an input file into a table of exact text: gzip, encoding and CSV/XLSX detection.

Every cell comes back as a string (or null when empty) so that amounts and ids keep their
exact text; parsing happens later, column-wise, in ``storeops.importers.parsing``.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from storeops.common.errors import StoreopsError

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"  # XLSX is a zip archive


class ImportFileError(StoreopsError):
    """A file that cannot be imported at all; nothing was written."""


@dataclass(frozen=True)
class RawTable:
    """The cells of a file as text, plus how it was decoded."""

    frame: pl.DataFrame  # all columns pl.String, in file order
    file_format: str  # csv | xlsx
    encoding: str | None  # for CSV: utf-8 or gb18030


def read_bytes(path: Path, name: str) -> bytes:
    """The file's content, gunzipped when it starts with the gzip magic (whatever its name)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(f"{name}: cannot read the file: {exc.strerror or exc}") from exc
    if data[:2] == GZIP_MAGIC:
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ImportFileError(f"{name}: broken gzip data: {exc}") from exc
    if name.lower().endswith(".gz"):
        raise ImportFileError(f"{name}: named .gz but not gzip-compressed")
    return data


def decode_text(data: bytes, name: str, encoding: str | None = None) -> tuple[str, str]:
    """UTF-8 (with or without BOM) when it decodes, else GB18030 (a superset of GBK)."""
    candidates = [encoding] if encoding and encoding != "auto" else ["utf-8", "gb18030"]
    for enc in candidates:
        codec = "utf-8-sig" if enc.lower().replace("_", "-") in ("utf-8", "utf8") else enc
        try:
            text = data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
        if "\x00" in text:  # a binary file that happened to decode
            continue
        return text, "utf-8" if codec == "utf-8-sig" else enc
    tried = " or ".join(candidates)
    raise ImportFileError(f"{name}: not a text file in {tried} (unknown encoding)")


def read_table(
    path: Path, *, name: str | None = None, file_format: str | None = None,
    encoding: str | None = None,
) -> RawTable:
    """Read CSV or XLSX (told, or detected from the content) into an all-text frame."""
    name = name or path.name
    data = read_bytes(path, name)
    fmt = (file_format or "auto").lower()
    if fmt == "auto":
        fmt = "xlsx" if data[:4] == ZIP_MAGIC else "csv"
    if fmt == "xlsx":
        frame = _read_xlsx(data, name)
        used_encoding = None
    elif fmt == "csv":
        text, used_encoding = decode_text(data, name, encoding)
        frame = _read_csv(text, name)
    else:
        raise ImportFileError(f"{name}: unknown file format {file_format!r} (csv or xlsx)")
    frame = _clean(frame)
    return RawTable(frame, fmt, used_encoding)


def _read_csv(text: str, name: str) -> pl.DataFrame:
    if not text.strip():
        raise ImportFileError(f"{name}: the file is empty")
    try:
        return pl.read_csv(
            text.encode(), infer_schema=False, truncate_ragged_lines=False
        )
    except Exception as exc:  # noqa: BLE001 - polars raises several kinds; all mean unreadable
        raise ImportFileError(f"{name}: not a readable CSV file: {exc}") from exc


def _read_xlsx(data: bytes, name: str) -> pl.DataFrame:
    try:
        return pl.read_excel(data, engine="calamine", infer_schema_length=0)
    except Exception as exc:  # noqa: BLE001 - fastexcel/calamine errors vary by damage
        raise ImportFileError(f"{name}: not a readable XLSX file: {exc}") from exc


def _clean(frame: pl.DataFrame) -> pl.DataFrame:
    """Trim header names and cells; empty cells become null."""
    renamed = {c: c.strip().lstrip("\ufeff") for c in frame.columns}
    frame = frame.rename(renamed)
    return frame.with_columns(
        pl.col(c).cast(pl.String).str.strip_chars().replace("", None) for c in frame.columns
    )
