"""The 破价 audit's breaches as a table: one row shape and one column spec for the CLI, the
page, the JSON and the XLSX (written by :mod:`storeops.web.table_export`)."""

from __future__ import annotations

from typing import Any

from storeops.pricing.audit import AuditReport, FloorBreach
from storeops.web.table_export import ID, MONEY, TEXT, Column

COLUMNS = (("sku", ID), ("title", TEXT), ("price", MONEY), ("floor", MONEY),
           ("lowest", MONEY), ("gap", MONEY), ("stack", TEXT), ("ids", TEXT))


def columns(lang: str) -> list[Column]:
    from storeops.web.i18n import translate

    return [Column(key, translate(lang, f"promo_audit.col.{key}"), kind)
            for key, kind in COLUMNS]


def breach_row(breach: FloorBreach) -> dict[str, Any]:
    """One SKU below floor (money as Decimal)."""
    return {"sku": breach.sku, "title": breach.title or "", "price": breach.price,
            "floor": breach.floor, "lowest": breach.lowest_unit_price, "gap": breach.gap,
            "stack": breach.explanation, "ids": " + ".join(breach.stack),
            "at": breach.at}


def report_json(report: AuditReport, store: str | None = None) -> dict[str, Any]:
    """The report for ``--json``: money as decimal strings."""
    def text(value: Any) -> Any:
        return None if value is None else format(value, "f")

    return {
        "store": store,
        "at": report.at.isoformat() if report.at else None,
        "checked": report.checked,
        "below_floor": len(report.breaches),
        "no_floor": report.no_floor_count,
        "no_floor_skus": list(report.no_floor),
        "unpriced_skus": list(report.unpriced),
        "breaches": [{
            "sku": b.sku, "title": b.title, "price": text(b.price), "floor": text(b.floor),
            "lowest_unit_price": text(b.lowest_unit_price), "gap": text(b.gap),
            "stack": list(b.stack), "explanation": b.explanation,
            "at": b.at.isoformat() if b.at else None,
        } for b in report.breaches],
    }
