"""``storeops ship import FILE``: waybills for many orders from a CSV or XLSX file.

Columns (headers in Chinese or English, any order, other columns ignored): order id
(订单号, 订单编号, order_id), carrier (快递公司, 物流公司, carrier: a JD carrier id or name) and
waybill (运单号, 快递单号, waybill). CSV in UTF-8 or GBK, plain or gzip; XLSX (the first sheet,
or ``sheet``), read by the importers' reader (``storeops.importers.reading``).

Every row is accounted for: read = shipped + already shipped + rejected. Each row ships in a
transaction of its own (a shipment JD has confirmed cannot be taken back by a later row's
failure). A row is rejected, with its field and reason in ``<file>.rejects.csv`` (the imports'
convention: ``storeops.importers.summary.write_rejects``), when a cell is wrong, the order is
unknown, cancelled or out of stock, the same order came earlier in the file, or JD refused
the shipment (the order then keeps JD's message in ``ship_error``). Running the same file
again ships nothing twice: its shipped orders count as already shipped.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storeops.common.errors import StoreopsError, localise
from storeops.importers.reading import ROW, ImportFileError

COLUMNS: dict[str, tuple[str, ...]] = {
    "order_id": ("订单号", "订单编号", "订单id", "京东订单号", "order_id", "orderid", "order",
                 "order id", "platform_order_id"),
    "carrier": ("快递公司", "物流公司", "承运商", "快递", "物流", "carrier", "logistics",
                "carrier_id", "logicoprid", "express"),
    "waybill": ("运单号", "快递单号", "物流单号", "运单编号", "waybill", "waybill_no",
                "tracking", "tracking_no", "tracking_number", "logino"),
}
_EXCEL_NUMBER = re.compile(r"^\d+(\.\d+)?[eE][+-]?\d+$|^\d+\.0+$")


def _norm(header: str) -> str:
    return re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFKC", header)).casefold()


_ALIASES = {_norm(alias): name for name, aliases in COLUMNS.items() for alias in aliases}


@dataclass
class ShipImportSummary:
    source: str
    store: str | None = None
    read: int = 0
    shipped: int = 0
    already_shipped: int = 0
    rejected: int = 0
    jd_refused: int = 0  # of the rejected: JD refused the shipment (order keeps ship_error)
    by_reason: dict[str, int] = field(default_factory=dict)
    rejects_file: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)  # each row's outcome

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "store": self.store, "read": self.read,
                "shipped": self.shipped, "already_shipped": self.already_shipped,
                "rejected": self.rejected, "jd_refused": self.jd_refused,
                "by_reason": dict(self.by_reason), "rejects_file": self.rejects_file,
                "rows": self.rows}


def find_columns(headers: list[str], file_name: str) -> dict[str, str]:
    """{order_id|carrier|waybill: the file's header}; a missing one is an error naming it
    and the headers the file has."""
    found: dict[str, str] = {}
    for header in headers:
        name = _ALIASES.get(_norm(header))
        if name and name not in found:
            found[name] = header
    missing = [name for name in COLUMNS if name not in found]
    if missing:
        wanted = "; ".join(f"{n}: {' / '.join(COLUMNS[n][:3])}" for n in missing)
        raise ImportFileError(
            f"{file_name}: no column for {', '.join(missing)} (headers accepted: {wanted}); "
            f"the file's headers: {', '.join(h for h in headers if h != ROW) or 'none'}",
            key="ship.missing_columns", file=file_name, wanted=wanted,
            headers=", ".join(h for h in headers if h != ROW) or "—")
    return found


def _check_cells(order_ref: str | None, carrier: str | None, waybill: str | None,
                 lang: str) -> tuple[Any, str] | tuple[str, str, str]:
    """((carrier, waybill) parsed, order id) or (field, reason_key, reason)."""
    from storeops.orders.carriers import CarrierError, parse_carrier, parse_waybill
    from storeops.web.i18n import translate

    if not order_ref:
        return "order_id", "missing", translate(lang, "ship.reasons.missing_order")
    if _EXCEL_NUMBER.match(order_ref):
        return "order_id", "excel_number", translate(lang, "ship.reasons.excel_number",
                                                     value=order_ref)
    try:
        chosen = parse_carrier(carrier)
    except CarrierError as exc:
        return "carrier", exc.key or "carrier", localise(exc, lang)
    try:
        number = parse_waybill(waybill)
    except CarrierError as exc:
        return "waybill", exc.key or "waybill", localise(exc, lang)
    return (chosen, number), order_ref


def ship_file(db_url: str, path: Path, *, store: str | None, lang: str,
              rejects_to: Path | None = None, sheet: str | None = None,
              actor: str | None = None) -> ShipImportSummary:
    """Ship every row of ``path`` (see the module's text); the rejects file is written, or
    a stale one removed, once every row is done."""
    import polars as pl

    from storeops.catalog.stores import resolve_store
    from storeops.db.engine import unit_of_work
    from storeops.importers.reading import read_table
    from storeops.importers.summary import check_rejects_target, write_rejects
    from storeops.orders.shipping import AlreadyShipped, ship
    from storeops.web.i18n import translate

    path = Path(path)
    check_rejects_target(rejects_to)
    with unit_of_work(db_url) as session:  # the store first: an unknown one reads nothing
        found_store = resolve_store(session, store)
        store_id, store_name = found_store.id, found_store.name
    table = read_table(path, sheet=sheet)
    frame = table.frame
    columns = find_columns(list(frame.columns), path.name)
    summary = ShipImportSummary(path.name, store_name, read=frame.height)
    actor = actor or f"import:{path.name}"[:120]
    rejects: list[tuple[int, str, str, str]] = []
    first_row: dict[str, int] = {}

    def reject(row: int, ref: str | None, fld: str, key: str, reason: str) -> None:
        rejects.append((row, fld, key, reason))
        summary.rows.append({"row": row, "order_id": ref, "outcome": "rejected",
                             "field": fld, "reason": reason})

    for cells in frame.select(ROW, columns["order_id"], columns["carrier"],
                              columns["waybill"]).iter_rows():
        row, order_cell, carrier_cell, waybill_cell = cells
        ref = unicodedata.normalize("NFKC", order_cell).strip() if order_cell else None
        checked = _check_cells(ref, carrier_cell, waybill_cell, lang)
        if len(checked) == 3:
            reject(row, ref, *checked)
            continue
        (chosen, number), ref = checked
        if ref in first_row:
            reject(row, ref, "order_id", "duplicate",
                   translate(lang, "ship.reasons.duplicate", row=first_row[ref]))
            continue
        first_row[ref] = row
        try:
            with unit_of_work(db_url) as session:
                from storeops.catalog.models import Store

                result = ship(session, session.get(Store, store_id), ref, chosen, number,
                              actor=actor)
        except AlreadyShipped as exc:
            summary.already_shipped += 1
            summary.rows.append({"row": row, "order_id": ref, "outcome": "already_shipped",
                                 "waybill": exc.waybill})
            continue
        except StoreopsError as exc:
            reject(row, ref, "order_id", exc.key or "order", localise(exc, lang))
            continue
        if result.ok:
            summary.shipped += 1
            summary.rows.append({"row": row, "order_id": ref, "outcome": "shipped",
                                 "carrier_id": result.carrier_id, "waybill": result.waybill,
                                 "pushed": result.pushed})
        else:
            summary.jd_refused += 1
            reject(row, ref, "order_id", "ship.jd_refused",
                   translate(lang, "ship.reasons.jd_refused", message=result.error or ""))
    summary.rejected = len(rejects)
    summary.by_reason = dict(Counter(key for _r, _f, key, _t in rejects).most_common())
    summary.rows.sort(key=lambda r: r["row"])
    frame_rejects = pl.DataFrame(
        rejects, schema={"row": pl.Int64, "field": pl.String, "reason_key": pl.String,
                         "reason": pl.String}, orient="row")
    written = write_rejects(path, frame.with_columns(pl.col(ROW).cast(pl.Int64)),
                            frame_rejects, rejects_to)
    summary.rejects_file = str(written) if written else None
    return summary
