"""What a published snapshot is made of, read on every query: the manifest, and the views.

Kept apart from :mod:`storeops.metrics.snapshots` (which builds snapshots with Polars and the
export) so that a query on a current snapshot imports neither: a command's start-up time.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storeops.metrics.warehouse import MANIFEST, SCHEMA_VERSION, Snapshot

LAYOUT = 2  # of the folders and manifest (base + delta); a manifest of another is rebuilt

CHANGED_ORDERS = "SELECT id FROM orders WHERE store_id = {sid} AND row_version > {since}"


@dataclass(frozen=True)
class Keyed:
    """A big table refreshed by key: which rows changed, and the key that replaces base rows."""

    key: str  # column of the exported table
    changed: str  # SQL condition on the exported row ``t`` (``{sid}``, ``{since}``)


KEYED: dict[str, Keyed] = {
    "orders": Keyed("order_id", f"t.order_id IN ({CHANGED_ORDERS})"),
    # All lines of a changed order: an order's lines are replaced as a whole.
    "lines": Keyed("order_id", f"t.order_id IN ({CHANGED_ORDERS})"),
    # Refund rows carry their order's columns (source), so they follow their order too.
    "refunds": Keyed("refund_id", (
        "t.refund_id IN (SELECT id FROM refunds WHERE store_id = {sid} AND row_version > {since})"
        f" OR t.order_id IN ({CHANGED_ORDERS})"
    )),
    # Traffic has no id in the export: a day with any changed row is exported again whole.
    "traffic": Keyed("day", (
        "t.day IN (SELECT day FROM traffic_daily WHERE store_id = {sid}"
        " AND row_version > {since})"
    )),
}
def read_manifest(sdir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((sdir / MANIFEST).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def write_manifest(sdir: Path, manifest: dict[str, Any]) -> None:
    """Replace the manifest atomically (also used by the benchmarks' generators)."""
    tmp = sdir / f".{MANIFEST}.{uuid.uuid4().hex[:8]}"
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, sdir / MANIFEST)


def folders(manifest: dict[str, Any]) -> list[str]:
    return [name for name in (manifest.get("snapshot"), manifest.get("delta")) if name]


def usable(manifest: dict[str, Any] | None, sdir: Path) -> bool:
    return (
        manifest is not None
        and manifest.get("schema_version") == SCHEMA_VERSION
        and manifest.get("layout") == LAYOUT
        and bool(manifest.get("snapshot"))
        and all((sdir / name).is_dir() for name in folders(manifest))
    )


def to_snapshot(store_id: int, sdir: Path, manifest: dict[str, Any]) -> Snapshot:
    delta = manifest.get("delta")
    version = int(manifest["data_version"])
    return Snapshot(
        store_id, sdir / manifest["snapshot"], version, dict(manifest.get("rows", {})),
        delta=sdir / delta if delta else None,
        base_version=int(manifest.get("base_version", version)),
    )


def view_sql(name: str, base: Path, delta: Path | None) -> str:
    """The DuckDB query a table's view runs: base rows not replaced, plus the delta's rows."""
    def scan(folder: Path, file: str) -> str:
        return "read_parquet('" + str(folder / file).replace("'", "''") + "')"

    if delta is None:
        return f"SELECT * FROM {scan(base, f'{name}.parquet')}"
    if name not in KEYED:
        return f"SELECT * FROM {scan(delta, f'{name}.parquet')}"
    key = KEYED[name].key
    return (
        f"SELECT * FROM {scan(base, f'{name}.parquet')}"
        f" WHERE {key} NOT IN (SELECT {key} FROM {scan(delta, f'{name}.keys.parquet')})"
        f" UNION ALL BY NAME SELECT * FROM {scan(delta, f'{name}.parquet')}"
    )


def current(sdir: Path, store_id: int, version: int) -> Snapshot | None:
    """The published snapshot of the store if it stands for ``version``, else None."""
    manifest = read_manifest(sdir)
    if usable(manifest, sdir) and manifest["data_version"] == version:  # type: ignore[index]
        return to_snapshot(store_id, sdir, manifest)  # type: ignore[arg-type]
    return None
