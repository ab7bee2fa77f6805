"""A promotion's results as a table: the total and every SKU, for the XLSX export (the page's
and the CLI's ``--xlsx``) through :mod:`storeops.web.table_export`, the one table writer."""

from __future__ import annotations

from typing import Any

from storeops.pricing.results import Comparison, Results
from storeops.web.i18n import translate
from storeops.web.table_export import COUNT, ID, MONEY, RATIO, TEXT, Column, xlsx_bytes

# (row key, column kind); headers are promo_results.col.<key>
COLUMNS = (
    ("sku", ID), ("title", TEXT), ("gmv", MONEY), ("baseline_gmv", MONEY),
    ("incremental_gmv", MONEY), ("units", COUNT), ("baseline_units", RATIO), ("orders", COUNT),
    ("buyers", COUNT), ("aov", MONEY), ("discount_cost", MONEY), ("margin", MONEY),
    ("baseline_margin", MONEY), ("incremental_margin", MONEY), ("roi", RATIO),
)


def columns(lang: str) -> list[Column]:
    return [Column(key, translate(lang, f"promo_results.col.{key}"), kind)
            for key, kind in COLUMNS]


def row(c: Comparison, lang: str) -> dict[str, Any]:
    return {
        "sku": c.sku if c.sku is not None else translate(lang, "promo_results.total"),
        "title": c.title or "", "gmv": c.during.gmv, "baseline_gmv": c.baseline.gmv,
        "incremental_gmv": c.incremental_gmv, "units": c.during.units,
        "baseline_units": c.baseline.units, "orders": c.during.orders,
        "buyers": c.during.buyers, "aov": c.during.aov, "discount_cost": c.discount_cost,
        "margin": c.during.margin, "baseline_margin": c.baseline.margin,
        "incremental_margin": c.incremental_margin, "roi": c.roi,
    }


def rows(results: Results, lang: str) -> list[dict[str, Any]]:
    """The total first, then each SKU by GMV."""
    return [row(results.total, lang), *(row(c, lang) for c in results.skus)]


def sheet_name(code: str, lang: str) -> str:
    return translate(lang, "promo_results.sheet", code=code)


def results_xlsx(results: Results, code: str, lang: str, currency_symbol: str = "¥") -> bytes:
    return xlsx_bytes(columns(lang), rows(results, lang), sheet_name=sheet_name(code, lang),
                      currency_symbol=currency_symbol)
