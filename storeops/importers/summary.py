"""The result of one import, and the rejects file written beside the input."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from storeops.importers.reading import ImportFileError

MAX_REJECTED_ROWS = 500  # kept in the summary for the upload page; the file has them all


@dataclass
class ImportSummary:
    kind: str
    source_name: str
    store: str | None = None
    read: int = 0
    imported: int = 0
    rejected: int = 0
    unchanged: int = 0  # accepted rows already stored exactly so
    by_reason: dict[str, int] = field(default_factory=dict)
    orders_created: int = 0
    orders_updated: int = 0
    orders_unchanged: int = 0
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
            "unchanged": self.unchanged, "by_reason": dict(self.by_reason),
            "orders_created": self.orders_created, "orders_updated": self.orders_updated,
            "orders_unchanged": self.orders_unchanged, "refunds": self.refunds,
            "created": self.created, "updated": self.updated,
            "products_created": self.products_created,
            "customers_created": self.customers_created,
            "rejects_file": self.rejects_file, "batch_id": self.batch_id,
        }


def rejects_path(path: Path) -> Path:
    return path.with_name(path.name + ".rejects.csv")


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


def write_rejects(path: Path, frame: pl.DataFrame, rejects: pl.DataFrame) -> Path | None:
    """``<input>.rejects.csv`` (UTF-8 with BOM for Excel); none, and no stale one, if clean."""
    target = rejects_path(path)
    if rejects.height == 0:
        target.unlink(missing_ok=True)
        return None
    original = [c for c in frame.columns if c != "__row"]
    joined = rejects.sort("row").join(
        frame.rename({"__row": "row"}), on="row", how="left", maintain_order="left"
    )
    rows = joined.select(["row", "field", "reason", *original])
    try:
        return _write_csv(target, original, rows)
    except OSError:
        # The input's folder may be read-only (a shared drive): the rows are already stored,
        # so the rejects go to the working directory rather than being lost.
        fallback = Path.cwd() / target.name
        try:
            return _write_csv(fallback, original, rows)
        except OSError as exc:
            raise ImportFileError(
                f"{path.name}: imported, but the rejected rows could not be written to {target}"
                f" or {fallback}: {exc.strerror or exc}"
            ) from exc


def _write_csv(target: Path, original: list[str], rows: pl.DataFrame) -> Path:
    with target.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["row", "field", "reason", *original])
        writer.writerows(rows.iter_rows())
    return target
