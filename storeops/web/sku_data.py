"""The SKUs' rows of the SKU table and the overview's top SKUs: products read from the
database, joined to their metrics over the period and their GMV over the page's baseline.

Two ``kpi_by`` calls whatever the number of SKUs (the period, then the baseline the page
compares with: the previous period, the same days last week or last year), both cached per
data version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import select

from storeops.catalog.models import Product
from storeops.db.engine import session_factory
from storeops.metrics import service
from storeops.metrics.comparison_periods import DEFAULT_COMPARE, baseline_period
from storeops.metrics.periods import PeriodError
from storeops.web import sku_table
from storeops.web.views import SKU_METRICS

PRODUCT_KEYS = ("product_id", "platform_sku_id", "seller_code", "title", "category", "status",
                "list_price_cents", "stock")


def products(db_url: str, store_id: int, platform_sku_id: str | None = None,
             ids: Sequence[int] | None = None) -> list[dict[str, Any]]:
    """The store's SKUs (or the one with ``platform_sku_id``, or those with the products row
    ``ids``) as dicts of PRODUCT_KEYS."""
    query = select(Product.id, Product.platform_sku_id, Product.seller_code, Product.title,
                   Product.category, Product.status, Product.list_price_cents,
                   Product.stock).where(Product.store_id == store_id)
    if platform_sku_id is not None:
        query = query.where(Product.platform_sku_id == platform_sku_id)
    if ids is not None:
        query = query.where(Product.id.in_(list(ids)))
    with session_factory(db_url)() as session:
        rows = session.execute(query).all()
    return [dict(zip(PRODUCT_KEYS, r, strict=True)) for r in rows]


def _baseline_gmv(db_url: str, store_id: int, first: date, last: date,
                  compare: str) -> list[dict[str, Any]]:
    """Every SKU's GMV over the baseline of ``first..last`` under ``compare``."""
    try:
        prev_first, prev_last = baseline_period(first, last, compare)
    except PeriodError as exc:
        if getattr(exc, "message_key", None):  # an unknown comparison: the caller's error
            raise
        return []  # a period at the start of the calendar has none: no change shown
    return service.kpi_by(db_url, store_id, prev_first, prev_last, dimension="sku",
                          metrics=["gmv"])


def table_rows(db_url: str, store_id: int, first: date, last: date,
               compare: str = DEFAULT_COMPARE) -> list[dict[str, Any]]:
    """Every SKU of the store with its columns (:data:`storeops.web.sku_table.COLUMNS`), its
    change against the baseline ``compare`` names."""
    metrics = service.kpi_by(db_url, store_id, first, last, dimension="sku",
                             metrics=list(SKU_METRICS))
    return sku_table.merge(products(db_url, store_id), metrics,
                           _baseline_gmv(db_url, store_id, first, last, compare),
                           (last - first).days + 1)


def top_rows(db_url: str, store_id: int, first: date, last: date,
             top: Sequence[Mapping[str, Any]], compare: str = DEFAULT_COMPARE
             ) -> list[dict[str, Any]]:
    """The overview's top SKUs (``kpi_by`` rows, best first) with the SKU table's columns."""
    # The top's SKUs only: a warm overview reads a few rows, not the whole catalogue.
    wanted = [r["product_id"] for r in top if r.get("product_id") is not None]
    by_id = {p["product_id"]: p for p in products(db_url, store_id, ids=wanted)}
    known = [by_id[r["product_id"]] for r in top if r.get("product_id") in by_id]
    return sku_table.merge(known, top, _baseline_gmv(db_url, store_id, first, last, compare),
                           (last - first).days + 1)
