"""The result of one import, and its rejects file (in the working directory or where
``--rejects`` says)."""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import polars as pl

from storeops.common.errors import os_reason
from storeops.common.excel import neutralise_cell
from storeops.importers.reading import ROW, ImportFileError

MAX_REJECTED_ROWS = 500  # kept in the summary for the upload page; the file has them all

# (reason_key, the importer's English reason) -> the words of a rejects file's reason column,
# chosen by the caller (the importer knows no languages)
ReasonText = Callable[[str, str], str]


@dataclass
class ImportSummary:
    kind: str
    source_name: str
    store: str | None = None
    read: int = 0
    imported: int = 0
    rejected: int = 0
    excluded: int = 0  # rows of the mapping's exclude_skus: neither sales nor refunds
    freight: int = 0  # rows of the mapping's freight_skus: added to their order's freight
    unchanged: int = 0  # accepted rows already stored exactly so
    by_reason: dict[str, int] = field(default_factory=dict)
    excluded_by_sku: dict[str, int] = field(default_factory=dict)
    orders_created: int = 0
    orders_updated: int = 0
    orders_unchanged: int = 0
    orders_partial: int = 0  # stored orders the file held only some lines of
    lines_kept: int = 0  # their stored lines the file did not mention, kept as they were
    # products whose 库存 the file gave but the stock ledger keeps (the ledger's figure stays)
    stock_kept: int = 0
    refunds: int = 0  # refund lines written
    created: int = 0  # products/traffic/ads rows inserted
    updated: int = 0  # products/traffic/ads rows changed
    products_created: int = 0
    customers_created: int = 0
    rejects_file: str | None = None
    batch_id: int | None = None
    rejected_rows: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "source": self.source_name, "store": self.store,
            "read": self.read, "imported": self.imported, "rejected": self.rejected,
            "excluded": self.excluded, "freight": self.freight,
            "unchanged": self.unchanged, "by_reason": dict(self.by_reason),
            "excluded_by_sku": dict(self.excluded_by_sku),
            "orders_created": self.orders_created, "orders_updated": self.orders_updated,
            "orders_unchanged": self.orders_unchanged,
            "orders_partial": self.orders_partial, "lines_kept": self.lines_kept,
            "refunds": self.refunds,
            "created": self.created, "updated": self.updated,
            "products_created": self.products_created,
            "customers_created": self.customers_created, "stock_kept": self.stock_kept,
            "rejects_file": self.rejects_file, "batch_id": self.batch_id,
        }


def rejects_path(path: Path, chosen: Path | None = None) -> Path:
    """Where the rejects of ``path`` go: ``chosen`` (a file, or a folder to put
    ``<input>.rejects.csv`` in), else ``<input>.rejects.csv`` in the working directory, never
    beside an input in another folder (a shared or read-only folder the user did not pick)."""
    name = path.name + ".rejects.csv"
    if chosen is None:
        return Path.cwd() / name
    chosen = Path(chosen).expanduser()
    return (chosen / name if chosen.is_dir() else chosen).absolute()


def check_rejects_target(chosen: Path | None) -> None:
    """Refuse a ``--rejects`` path that cannot be written before anything is imported."""
    if chosen is None:
        return
    target = Path(chosen).expanduser()
    folder = target if target.is_dir() else target.parent
    if not folder.is_dir():
        raise ImportFileError(f"--rejects {chosen}: folder {folder} does not exist",
                              key="import.rejects_folder_missing", chosen=chosen, folder=folder)


def attach_rejects(summary: ImportSummary, frame: pl.DataFrame, rejects: pl.DataFrame) -> None:
    """Fill the reject counts and the first rejected rows (with their original cells)."""
    summary.rejected = rejects.height
    summary.by_reason = dict(Counter(rejects.get_column("reason_key").to_list()).most_common())
    first = rejects.sort("row").head(MAX_REJECTED_ROWS)
    values = frame.join(first.select(pl.col("row").alias("__row")), on="__row", how="semi")
    by_row = {r["__row"]: r for r in values.iter_rows(named=True)}
    summary.rejected_rows = [
        {"row": r["row"], "field": r["field"], "reason_key": r["reason_key"],
         "reason": r["reason"],
         "values": {k: v for k, v in by_row.get(r["row"], {}).items() if k != "__row"}}
        for r in first.iter_rows(named=True)
    ]


def _reasons_in_words(rejects: pl.DataFrame, reason_text: ReasonText | None) -> pl.DataFrame:
    """``rejects`` with its reason column in ``reason_text``'s words (one call per distinct
    key and reason, not per row)."""
    if reason_text is None or rejects.height == 0:
        return rejects
    pairs = rejects.select("reason_key", "reason").unique()
    words = pairs.with_columns(pl.Series(
        "words", [reason_text(k or "", r or "") for k, r in pairs.iter_rows()], dtype=pl.String,
    ))
    return (rejects.join(words, on=["reason_key", "reason"], how="left", nulls_equal=True,
                         maintain_order="left")
            .with_columns(pl.col("words").alias("reason")).drop("words"))


def _reject_rows(frame: pl.DataFrame, rejects: pl.DataFrame,
                 reason_text: ReasonText | None = None) -> list[tuple]:
    """Rejects with their original cells, by row; cells Excel would run as formulas are
    neutralised (numbers are left as they are)."""
    original = [c for c in frame.columns if c != ROW]
    rejects = _reasons_in_words(rejects, reason_text)
    joined = rejects.sort("row").join(
        frame.rename({ROW: "row"}), on="row", how="left", maintain_order="left"
    )
    return [tuple(neutralise_cell(v) for v in r)
            for r in joined.select(["row", "field", "reason", *original]).iter_rows()]


class RejectsWriter:
    """The rejects of a file read in chunks: counted, the first ``MAX_REJECTED_ROWS`` kept for
    the summary, all written to a temporary file that ``finish`` moves beside the input once
    the import has committed (``discard`` drops it when the import fails)."""

    def __init__(self, summary: ImportSummary, keep_file: bool,
                 reason_text: ReasonText | None = None) -> None:
        self.summary, self.keep_file = summary, keep_file
        self.reason_text = reason_text
        self.reasons: Counter[str] = Counter()
        self.tmp: Path | None = None
        self.fh: IO[str] | None = None
        self.writer: Any = None

    def add(self, frame: pl.DataFrame, rejects: pl.DataFrame) -> None:
        if rejects.height == 0:
            return
        self.reasons.update(rejects.get_column("reason_key").to_list())
        self.summary.rejected += rejects.height
        room = MAX_REJECTED_ROWS - len(self.summary.rejected_rows)
        if room > 0:
            part = ImportSummary(self.summary.kind, self.summary.source_name)
            attach_rejects(part, frame, rejects.sort("row").head(room))
            self.summary.rejected_rows.extend(part.rejected_rows)
        if not self.keep_file:
            return
        if self.fh is None:
            handle, name = tempfile.mkstemp(prefix="storeops-rejects-", suffix=".csv")
            self.tmp = Path(name)
            self.fh = os.fdopen(handle, "w", encoding="utf-8-sig", newline="")
            self.writer = csv.writer(self.fh)
            self.writer.writerow(["row", "field", "reason",
                                  *[neutralise_cell(c) for c in frame.columns if c != ROW]])
        self.writer.writerows(_reject_rows(frame, rejects, self.reason_text))

    def finish(self, path: Path, chosen: Path | None = None) -> Path | None:
        """Counts into the summary; the file at ``rejects_path`` (none, and no stale one, when
        nothing was rejected)."""
        self.summary.by_reason = dict(self.reasons.most_common())
        if not self.keep_file:
            return None
        target = rejects_path(path, chosen)
        if self.fh is None:
            _drop_stale(target)
            return None
        self.fh.close()
        self.fh = None
        assert self.tmp is not None
        try:
            return self._place(target)
        except OSError as exc:
            raise ImportFileError(
                f"{path.name}: imported, but the rejected rows could not be written to"
                f" {target}: {exc.strerror or exc} (choose another place with --rejects PATH)",
                key="import.rejects_unwritable", file=path.name, target=target,
                reason=os_reason(exc),
            ) from exc

    def _place(self, target: Path) -> Path:
        assert self.tmp is not None
        shutil.copyfile(self.tmp, target)  # the temporary folder may be another file system
        self.tmp.unlink(missing_ok=True)
        self.tmp = None
        return target

    def discard(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)
            self.tmp = None


def _drop_stale(target: Path) -> None:
    try:
        if target.is_file():
            target.unlink()
    except OSError:
        pass  # an old rejects file we may not remove is no reason to fail an import


def write_rejects(path: Path, frame: pl.DataFrame, rejects: pl.DataFrame,
                  chosen: Path | None = None, reason_text: ReasonText | None = None
                  ) -> Path | None:
    """The rejects file at ``rejects_path`` (UTF-8 with BOM for Excel); none, and no stale
    one, if clean. ``reason_text``: the reasons' words (None: the importer's English)."""
    target = rejects_path(path, chosen)
    if rejects.height == 0:
        _drop_stale(target)
        return None
    original = [neutralise_cell(c) for c in frame.columns if c != ROW]
    rows = _reject_rows(frame, rejects, reason_text)
    try:
        return _write_csv(target, original, rows)
    except OSError as exc:
        raise ImportFileError(
            f"{path.name}: imported, but the rejected rows could not be written to {target}:"
            f" {exc.strerror or exc} (choose another place with --rejects PATH)",
            key="import.rejects_unwritable", file=path.name, target=target,
            reason=os_reason(exc),
        ) from exc


def _write_csv(target: Path, original: list[str], rows: list[tuple]) -> Path:
    with target.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["row", "field", "reason", *original])
        writer.writerows(rows)
    return target
