"""Checked order rows of one file, held until they are written, in groups of whole orders.

A file's rows arrive in chunks, but an order's lines may be anywhere in the file (an order
straddling two chunks, or an export sorted by SKU). Small files stay in memory as they are.
Past ``MEMORY_ROWS`` the rows go to ``BUCKETS`` temporary Arrow files by a hash of the order
id, so that every line of an order lands in one bucket; ``groups`` then gives buckets back a
few at a time (about ``GROUP_ROWS`` rows), each holding every line of its orders. Memory stays
bounded whatever the size of the file; the files are removed by ``close``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc

MEMORY_ROWS = 700_000  # the Online Retail file (541,909 rows) never touches the disk
GROUP_ROWS = 200_000
BUCKETS = 64  # at least; more for a larger file (``BUCKET_BYTES`` of text each)
MAX_BUCKETS = 4096
BUCKET_BYTES = 8 << 20  # ~100,000 rows of an order export
KEY = "order_id"


class Spill:
    def __init__(self, memory_rows: int | None = None, group_rows: int | None = None,
                 buckets: int | None = None, expected_bytes: int = 0) -> None:
        self.memory_rows = memory_rows or MEMORY_ROWS
        self.group_rows = group_rows or GROUP_ROWS
        # a bucket is the least that is read back at once: more of them for a larger file
        self.buckets = buckets or min(MAX_BUCKETS,
                                      max(BUCKETS, -(-expected_bytes // BUCKET_BYTES)))
        self.frames: list[pl.DataFrame] = []
        self.rows = 0
        self.folder: Path | None = None
        self.writers: dict[int, Any] = {}
        self.counts = [0] * self.buckets

    def add(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        self.rows += frame.height
        if self.folder is None:
            self.frames.append(frame)
            if self.rows > self.memory_rows:
                self.folder = Path(tempfile.mkdtemp(prefix="storeops-import-"))
                for held in self.frames:
                    self._write(held)
                self.frames = []
        else:
            self._write(frame)

    def _write(self, frame: pl.DataFrame) -> None:
        assert self.folder is not None
        keyed = frame.with_columns(
            (pl.col(KEY).hash(seed=7) % self.buckets).cast(pl.Int64).alias("__bucket"))
        for (bucket,), part in keyed.partition_by("__bucket", as_dict=True).items():
            table = part.drop("__bucket").to_arrow()
            writer = self.writers.get(bucket)
            if writer is None:
                sink = pa.OSFile(str(self.folder / f"{bucket}.arrow"), "wb")
                writer = self.writers[bucket] = (sink, ipc.new_stream(sink, table.schema))
            writer[1].write_table(table)
            self.counts[bucket] += part.height

    def groups(self) -> Iterator[pl.DataFrame]:
        """Every held row once, in groups that each hold every line of their orders."""
        if self.folder is None:
            if self.frames:
                yield pl.concat(self.frames) if len(self.frames) > 1 else self.frames[0]
            self.frames = []
            return
        for sink, writer in self.writers.values():
            writer.close()
            sink.close()
        pending: list[int] = []
        size = 0
        for bucket in range(self.buckets):
            if self.counts[bucket]:
                pending.append(bucket)
                size += self.counts[bucket]
            if pending and (size >= self.group_rows or bucket == self.buckets - 1):
                yield pl.concat([self._read(b) for b in pending])
                pending, size = [], 0

    def _read(self, bucket: int) -> pl.DataFrame:
        assert self.folder is not None
        with pa.OSFile(str(self.folder / f"{bucket}.arrow"), "rb") as source:
            table = ipc.open_stream(source).read_all()
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        return frame.rechunk()

    def close(self) -> None:
        for sink, writer in self.writers.values():
            try:
                writer.close()
            except Exception:  # noqa: BLE001, S110 - already closed by groups()
                pass
            sink.close()
        self.writers = {}
        self.frames = []
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
