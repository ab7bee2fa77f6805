"""Checked order rows of one file, held until they are written, in groups of whole orders.

A file's rows arrive in chunks, but an order's lines may be anywhere in the file (an order
straddling two chunks, or an export sorted by SKU). Small files stay in memory as they are.
Past ``MEMORY_ROWS`` the rows are put in ``BUCKETS`` buckets by a hash of the order id, so
that every line of an order lands in one bucket; each chunk goes to one temporary Arrow file,
sorted by bucket with a record batch per bucket. ``groups`` then gives buckets back a few at a
time (about ``GROUP_ROWS`` rows), each holding every line of its orders, read from the
memory-mapped files. Memory stays bounded whatever the size of the file; the files are removed
by ``close``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc

MEMORY_ROWS = 700_000  # the Online Retail file (541,909 rows) never touches the disk
GROUP_ROWS = 200_000
BUCKETS = 64  # at least; more for a larger file (``BUCKET_BYTES`` of text each)
MAX_BUCKETS = 4096
BUCKET_BYTES = 8 << 20  # ~100,000 rows of an order export
KEY = "order_id"


@dataclass(frozen=True)
class _Run:
    """One chunk on disk: its file, the record batch of each bucket it holds, and its
    all-null columns (left out of the file: an unmapped field is a column of nulls)."""

    path: Path
    batches: dict[int, list[int]]  # bucket -> its record batches in the file
    counts: dict[int, int]  # bucket -> rows
    nulls: list[str]


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
        self.runs: list[_Run] = []
        self.schema: pl.Schema | None = None
        # chunks go to disk in a thread while the caller checks the next one (Polars and
        # Arrow release the GIL): one chunk at a time, so memory holds at most one more
        self._writer: ThreadPoolExecutor | None = None
        self._pending: Future[None] | None = None

    def add(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        self.rows += frame.height
        if self.schema is None:
            self.schema = frame.schema
        if self.folder is None:
            self.frames.append(frame)
            if self.rows > self.memory_rows:
                self.folder = Path(tempfile.mkdtemp(prefix="storeops-import-"))
                for held in self.frames:
                    self._write(held)
                self.frames = []
        else:
            self._wait()
            if self._writer is None:
                self._writer = ThreadPoolExecutor(1, thread_name_prefix="storeops-spill")
            self._pending = self._writer.submit(self._write, frame)

    def _wait(self) -> None:
        """Let the chunk being written finish; its error, if any, is raised here."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def _write(self, frame: pl.DataFrame) -> None:
        """One file for the chunk (one sort and one write, where a file per bucket cost a
        write per bucket and chunk), rows in file order within each bucket."""
        assert self.folder is not None
        nulls = [c for c, n in zip(frame.columns, frame.null_count().row(0), strict=True)
                 if n == frame.height]
        keyed = frame.drop(nulls).with_columns(
            (pl.col(KEY).hash(seed=7) % self.buckets).cast(pl.Int64).alias("__bucket")
        ).sort("__bucket", maintain_order=True)
        counts = dict(keyed.get_column("__bucket").value_counts(sort=False).iter_rows())
        table = keyed.drop("__bucket").to_arrow()
        path = self.folder / f"{len(self.runs)}.arrow"
        batches: dict[int, list[int]] = {}
        start = written = 0
        with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
            for bucket in sorted(counts):
                parts = table.slice(start, counts[bucket]).to_batches()
                batches[bucket] = list(range(written, written + len(parts)))
                for part in parts:
                    writer.write_batch(part)
                written += len(parts)
                start += counts[bucket]
        self.runs.append(_Run(path, batches, counts, nulls))

    def groups(self) -> Iterator[pl.DataFrame]:
        """Every held row once, in groups that each hold every line of their orders."""
        self._wait()
        if self.folder is None:
            if self.frames:
                yield pl.concat(self.frames) if len(self.frames) > 1 else self.frames[0]
            self.frames = []
            return
        pending: list[int] = []
        size = 0
        for bucket in range(self.buckets):
            rows = sum(run.counts.get(bucket, 0) for run in self.runs)
            if rows:
                pending.append(bucket)
                size += rows
            if pending and (size >= self.group_rows or bucket == self.buckets - 1):
                yield self._read(pending)
                pending, size = [], 0

    def _read(self, buckets: list[int]) -> pl.DataFrame:
        """The rows of ``buckets``, run after run (so in file order within an order)."""
        assert self.schema is not None
        parts = []
        for run in self.runs:
            wanted = [i for b in buckets for i in run.batches.get(b, [])]
            if not wanted:
                continue
            with pa.memory_map(str(run.path)) as source:
                reader = ipc.open_file(source)
                table = pa.Table.from_batches([reader.get_batch(i) for i in wanted])
                frame = pl.from_arrow(table)
                assert isinstance(frame, pl.DataFrame)
                frame = frame.rechunk()  # a copy: nothing points into the mapped file after
            parts.append(frame.with_columns(
                pl.lit(None, self.schema[c]).alias(c) for c in run.nulls
            ).select(list(self.schema)))
        return pl.concat(parts, rechunk=True)

    def close(self) -> None:
        if self._writer is not None:  # the write under way ends before its folder goes
            self._writer.shutdown(wait=True, cancel_futures=True)
            self._writer = None
        self._pending = None
        self.runs = []
        self.frames = []
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
