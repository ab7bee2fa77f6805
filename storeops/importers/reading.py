"""Reading an input file as a stream of all-text tables: gzip, encoding and CSV/XLSX detection.

Every cell comes back as a string (or null when empty) so that amounts and ids keep their
exact text; parsing happens later, column-wise, in ``storeops.importers.parsing``.

A file is read in chunks of about ``CHUNK_BYTES`` of text, cut between records (never inside
a quoted cell), so that memory does not grow with the file. A gzip input is inflated while it
is read and refused as soon as it expands past the limit it was given (an upload's size limit)
or past ``MAX_EXPANSION_RATIO`` times its compressed size: a "zip bomb" is never inflated
whole. XLSX workbooks (at most 1,048,576 rows by Excel's own limit) are read whole by calamine,
after the same checks on the sizes their zip directory declares.
"""

from __future__ import annotations

import gzip
import io
import queue
import threading
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TypeVar

import polars as pl

from storeops.common.errors import StoreopsError, os_reason
from storeops.config import MAX_EXPANSION_RATIO

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"  # XLSX is a zip archive
ROW = "__row"  # 1-based record number in the file (header = 1)
CHUNK_BYTES = 16 << 20  # text per chunk: ~200,000 rows of a typical order export
XLSX_CHUNK_ROWS = 400_000
BLOCK = 4 << 20  # bytes read from the file at a time
MAX_RECORD_BYTES = 64 << 20  # one CSV record (a quoted cell can hold newlines)
# Expansion up to this size is harmless whatever the ratio (a small CSV of zeros compresses
# more than 100×); past it the ratio rule applies.
RATIO_FLOOR_BYTES = 16 << 20


class ImportFileError(StoreopsError):
    """A file that cannot be imported at all; nothing was written."""


class RetryEncoding(Exception):  # noqa: N818 - a signal, not an error a user sees
    """A later chunk of a file taken for UTF-8 is not UTF-8: the caller drops what it has
    read and reads the file again with ``encoding="gb18030"``."""


@dataclass(frozen=True)
class RawTable:
    """The cells of a whole file as text, plus how it was decoded (small tables only)."""

    frame: pl.DataFrame  # all columns pl.String, in file order, plus ROW
    file_format: str  # csv | xlsx
    encoding: str | None  # for CSV: utf-8 or gb18030


@dataclass
class TableStream:
    """A file as chunks of all-text frames (each with ROW); ``file_format``/``encoding`` are
    known once the first chunk has been read."""

    path: Path
    name: str
    file_format: str | None = None
    encoding: str | None = None
    max_bytes: int | None = None
    chunk_bytes: int | None = None  # None: CHUNK_BYTES
    columns: list[str] = field(default_factory=list)
    sheet: str | int | None = None  # of a workbook: a name or a 1-based number; None: first

    def chunks(self) -> Iterator[pl.DataFrame]:
        """May raise ``RetryEncoding`` after some chunks (see there)."""
        encoding = self.encoding
        rows = 0
        with _open(self.path, self.name, self.max_bytes) as blocks:
            first = next(blocks, b"")
            fmt = (self.file_format or "auto").lower()
            if fmt == "auto" or (fmt == "csv" and first[:4] == ZIP_MAGIC):
                # a zip is never a CSV: the same data saved as a workbook is read as one
                fmt = "xlsx" if first[:4] == ZIP_MAGIC else "csv"
            if fmt not in ("csv", "xlsx"):
                raise ImportFileError(
                    f"{self.name}: unknown file format {self.file_format!r} (csv or xlsx)",
                    key="import.unknown_format", file=self.name, format=self.file_format)
            self.file_format = fmt
            if fmt == "xlsx":
                frames = _xlsx_chunks(first + b"".join(blocks), self.name, self.max_bytes,
                                      self.sheet)
            else:
                frames = _csv_chunks(first, blocks, self.name, encoding, self,
                                     self.chunk_bytes or CHUNK_BYTES)
            for frame in frames:
                frame = _clean(frame)
                self.columns = frame.columns
                yield frame.with_row_index(ROW, offset=rows + 2).with_columns(
                    pl.col(ROW).cast(pl.Int64))
                rows += frame.height


_DONE = object()


T = TypeVar("T")


def prefetch(items: Iterator[T]) -> Iterator[T]:
    """``items``, with the next one read by a thread while the caller works on the current
    one (inflating and parsing overlap checking and spilling; both release the GIL for most
    of their time). Errors reach the caller where they happened; at most one chunk waits."""
    slot: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                slot.put((item, None))
            slot.put((_DONE, None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            slot.put((None, exc))

    worker = threading.Thread(target=produce, name="storeops-import-reader", daemon=True)
    worker.start()
    try:
        while True:
            item, error = slot.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # let a producer blocked on a full slot finish
            try:
                slot.get(timeout=0.1)
            except queue.Empty:
                pass
        worker.join()


def read_table(
    path: Path, *, name: str | None = None, file_format: str | None = None,
    encoding: str | None = None, max_bytes: int | None = None, sheet: str | int | None = None,
) -> RawTable:
    """The whole file as one frame (for products, traffic and ads files)."""
    stream = TableStream(Path(path), name or Path(path).name, file_format, encoding, max_bytes,
                         sheet=sheet)
    try:
        frames = list(stream.chunks())
    except RetryEncoding:
        stream.encoding = "gb18030"
        frames = list(stream.chunks())
    frame = pl.concat(frames, how="vertical") if len(frames) > 1 else frames[0]
    return RawTable(frame, stream.file_format or "csv", stream.encoding)


class _Limited:
    """Inflated bytes of a gzip file, refused once they pass ``limit`` (checked per block)."""

    def __init__(self, fh: BinaryIO, name: str, compressed: int, max_bytes: int | None):
        self.fh, self.name, self.compressed, self.max_bytes = fh, name, compressed, max_bytes
        self.total = 0

    def blocks(self) -> Iterator[bytes]:
        while True:
            try:
                block = self.fh.read(BLOCK)
            except (OSError, EOFError, zlib.error) as exc:
                raise ImportFileError(f"{self.name}: broken gzip data: {exc}",
                                      key="import.broken_gzip", file=self.name,
                                      reason=exc) from exc
            if not block:
                return
            self.total += len(block)
            self.check()
            yield block

    def check(self) -> None:
        if self.max_bytes is not None and self.total > self.max_bytes:
            raise ImportFileError(
                f"{self.name}: expands to more than {self.max_bytes // (1 << 20)} MB"
                " (the upload limit); refused", key="import.expands_past_limit", file=self.name,
                mb=self.max_bytes // (1 << 20))
        if (self.total > RATIO_FLOOR_BYTES
                and self.total > MAX_EXPANSION_RATIO * max(self.compressed, 1)):
            raise ImportFileError(
                f"{self.name}: expands to more than {MAX_EXPANSION_RATIO}× its compressed size"
                " (a compression bomb?); refused", key="import.compression_bomb",
                file=self.name, ratio=MAX_EXPANSION_RATIO)


class _open:  # noqa: N801 - used like open()
    """Blocks of the file's bytes, gunzipped when it starts with the gzip magic."""

    def __init__(self, path: Path, name: str, max_bytes: int | None):
        self.path, self.name, self.max_bytes = path, name, max_bytes
        self.fh: BinaryIO | None = None

    def __enter__(self) -> Iterator[bytes]:
        try:
            self.fh = self.path.open("rb")
            size = self.path.stat().st_size
        except OSError as exc:
            raise ImportFileError(
                f"{self.name}: cannot read the file: {exc.strerror or exc}",
                key="import.cannot_read", file=self.name, reason=os_reason(exc)) from exc
        head = self.fh.read(2)
        self.fh.seek(0)
        if head == GZIP_MAGIC:
            limited = _Limited(gzip.GzipFile(fileobj=self.fh, mode="rb"), self.name, size,
                               self.max_bytes)
            return limited.blocks()
        if self.name.lower().endswith(".gz"):
            raise ImportFileError(f"{self.name}: named .gz but not gzip-compressed",
                                  key="import.not_gzip", file=self.name)
        if self.max_bytes is not None and size > self.max_bytes:
            raise ImportFileError(
                f"{self.name}: larger than {self.max_bytes // (1 << 20)} MB (the upload limit)",
                key="import.too_large", file=self.name, mb=self.max_bytes // (1 << 20))
        return iter(lambda: self.fh.read(BLOCK), b"")  # type: ignore[union-attr]

    def __exit__(self, *exc: object) -> None:
        if self.fh is not None:
            self.fh.close()


def _record_end(buf: bytes | bytearray) -> int | None:
    """Offset just after the last newline of ``buf`` that is outside quotes, given that
    ``buf`` starts between records (RFC 4180: a quote doubles inside a quoted cell, so
    parity of the quotes before a newline tells whether it ends a record). Linear: the
    quotes are counted once, backwards from the end, between consecutive newlines."""
    before = buf.count(b'"')  # quotes before the current position
    end = len(buf)
    pos = buf.rfind(b"\n")
    while pos >= 0:
        before -= buf.count(b'"', pos, end)
        if before % 2 == 0:
            return pos + 1
        end = pos
        pos = buf.rfind(b"\n", 0, pos)
    return None


def _first_record_end(buf: bytes | bytearray) -> int | None:
    quotes, start = 0, 0
    pos = buf.find(b"\n")
    while pos >= 0:
        quotes += buf.count(b'"', start, pos)
        if quotes % 2 == 0:
            return pos + 1
        start = pos
        pos = buf.find(b"\n", pos + 1)
    return None


def _decode_check(data: bytes, name: str, encoding: str, first: bool) -> bytes:
    """``data`` as UTF-8 bytes (what Polars reads); raises when it is not ``encoding``."""
    codec = "utf-8-sig" if encoding == "utf-8" else encoding
    text = data.decode(codec)
    if "\x00" in text:  # a binary file that happened to decode
        raise UnicodeDecodeError(encoding, b"", 0, 1, "NUL character")
    if encoding == "utf-8" and not (first and data.startswith(b"\xef\xbb\xbf")):
        return data
    return text.encode()


def _choose_encoding(data: bytes, name: str, encoding: str | None) -> tuple[str, bytes]:
    """UTF-8 (with or without BOM) when it decodes, else GB18030 (a superset of GBK)."""
    candidates = ([encoding.lower().replace("_", "-")] if encoding and encoding != "auto"
                  else ["utf-8", "gb18030"])
    candidates = ["utf-8" if c == "utf8" else c for c in candidates]
    for enc in candidates:
        try:
            return enc, _decode_check(data, name, enc, True)
        except (UnicodeDecodeError, LookupError):
            continue
    tried = " or ".join(candidates)
    raise ImportFileError(f"{name}: not a text file in {tried} (unknown encoding)",
                          key="import.unknown_encoding", file=name, tried=tried)


def _csv_chunks(
    first: bytes, blocks: Iterator[bytes], name: str, encoding: str | None,
    stream: TableStream, chunk_bytes: int,
) -> Iterator[pl.DataFrame]:
    auto = not encoding or encoding == "auto"
    buf = bytearray(first)
    header: bytes | None = None
    chosen: str | None = None
    exhausted = False
    seen_data = False
    while True:
        while not exhausted and len(buf) < chunk_bytes:
            block = next(blocks, None)
            if block is None:
                exhausted = True
            else:
                buf += block
        if exhausted:
            cut = len(buf)
        else:
            cut = _record_end(buf) or 0
            if cut == 0:  # one record longer than a chunk: read on, up to a limit
                if len(buf) > MAX_RECORD_BYTES:
                    raise ImportFileError(
                        f"{name}: a record longer than {MAX_RECORD_BYTES >> 20} MB"
                        " (an unclosed quote?)", key="import.record_too_long", file=name,
                        mb=MAX_RECORD_BYTES >> 20)
                chunk_bytes *= 2
                continue
        piece = bytes(buf[:cut])
        del buf[:cut]
        if chosen is None:
            if not piece or piece.isspace():
                raise ImportFileError(f"{name}: the file is empty", key="import.empty",
                                      file=name)
            chosen, _ = _choose_encoding(piece, name, encoding)
            stream.encoding = chosen
            end = _first_record_end(piece) or len(piece)
            raw_header = piece[:end]
            header = _decode_check(raw_header, name, chosen, True)
            if not header.endswith(b"\n"):
                header += b"\n"
            piece = piece[end:]
            text = b""
        if (piece and not piece.isspace()) or not seen_data:
            assert header is not None
            try:
                if chosen == "utf-8":
                    # Polars checks UTF-8 itself while it reads (a decode here cost more)
                    if b"\x00" in piece:
                        raise UnicodeDecodeError(chosen, b"", 0, 1, "NUL character")
                    text = piece
                else:
                    text = _decode_check(piece, name, chosen, False)
                frame = _read_csv(header + text, name)
            except UnicodeDecodeError as exc:
                if auto and chosen == "utf-8":
                    raise RetryEncoding from exc
                raise ImportFileError(
                    f"{name}: not a text file in {chosen} (unknown encoding)",
                    key="import.unknown_encoding", file=name, tried=chosen) from exc
            yield frame
            seen_data = True
        if exhausted and not buf:
            return


def _read_csv(data: bytes, name: str) -> pl.DataFrame:
    try:
        return pl.read_csv(data, infer_schema=False, truncate_ragged_lines=False)
    except Exception as exc:  # noqa: BLE001 - polars raises several kinds; all mean unreadable
        if "invalid utf-8" in str(exc).lower():
            raise UnicodeDecodeError("utf-8", b"", 0, 1, str(exc)) from exc
        raise ImportFileError(f"{name}: not a readable CSV file: {exc}",
                              key="import.not_csv", file=name, reason=exc) from exc


def choose_sheet(names: list[str], sheet: str | int | None, file_name: str) -> str:
    """The sheet asked for: a name, or a number counted from 1 (a name that looks like a
    number wins); none asked: the first. A missing one is an error naming the sheets."""
    if not names:
        raise ImportFileError(f"{file_name}: the workbook has no sheet",
                              key="import.no_sheets", file=file_name)
    if sheet is None or sheet == "":
        return names[0]
    text = str(sheet).strip()
    if text in names:
        return text
    if text.isdigit() and 1 <= int(text) <= len(names):
        return names[int(text) - 1]
    listed = ", ".join(f"{i} {n!r}" for i, n in enumerate(names, start=1))
    raise ImportFileError(f"{file_name}: no sheet {text!r} in the workbook; its sheets: {listed}"
                          " (give --sheet a name or a number)", key="import.missing_sheet",
                          file=file_name, sheet=text, sheets=listed)


def _xlsx_chunks(data: bytes, name: str, max_bytes: int | None,
                 sheet: str | int | None = None) -> Iterator[pl.DataFrame]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            inflated = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise ImportFileError(f"{name}: not a readable XLSX file: {exc}",
                              key="import.not_xlsx", file=name, reason=exc) from exc
    limit = MAX_EXPANSION_RATIO * max(len(data), 1)
    if (max_bytes is not None and inflated > max_bytes) or (
            inflated > RATIO_FLOOR_BYTES and inflated > limit):
        raise ImportFileError(f"{name}: the workbook expands to {inflated // (1 << 20)} MB,"
                              " too much for its size; refused", key="import.workbook_bomb",
                              file=name, mb=inflated // (1 << 20))
    try:
        import fastexcel

        names = list(fastexcel.read_excel(data).sheet_names)
    except Exception as exc:  # noqa: BLE001 - fastexcel/calamine errors vary by damage
        raise ImportFileError(f"{name}: not a readable XLSX file: {exc}",
                              key="import.not_xlsx", file=name, reason=exc) from exc
    chosen = choose_sheet(names, sheet, name)
    try:
        frame = pl.read_excel(data, engine="calamine", infer_schema_length=0,
                              sheet_name=chosen)
    except Exception as exc:  # noqa: BLE001 - fastexcel/calamine errors vary by damage
        raise ImportFileError(f"{name}: not a readable XLSX file: {exc}",
                              key="import.not_xlsx", file=name, reason=exc) from exc
    del data
    if frame.height == 0:
        yield frame
    for start in range(0, frame.height, XLSX_CHUNK_ROWS):
        yield frame.slice(start, XLSX_CHUNK_ROWS)


def _clean(frame: pl.DataFrame) -> pl.DataFrame:
    """Trim header names and cells; empty cells become null."""
    renamed = {c: c.strip().lstrip("\ufeff") for c in frame.columns}
    frame = frame.rename(renamed)
    return frame.with_columns(
        pl.col(c).cast(pl.String).str.strip_chars().replace("", None) for c in frame.columns
    )
