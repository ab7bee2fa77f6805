"""The SKU table: every SKU of the store joined to its metrics, filtered, sorted, paged
(pure functions)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from storeops.catalog.stock import SORT_RANK, UNKNOWN, stock_status
from storeops.common.money import from_cents
from storeops.metrics.comparison_periods import DEFAULT_COMPARE
from storeops.metrics.definitions import METRICS
from storeops.metrics.service import change
from storeops.web import format as fmt
from storeops.web.i18n import label_or_raw, metric_label, translate
from storeops.web.table_export import (
    COUNT,
    DATE,
    ID,
    MONEY,
    NUMERIC_KINDS,
    RATE,
    RATIO,
    TEXT,
    Column,
)
from storeops.web.views import SKU_METRICS


@dataclass(frozen=True)
class SkuColumn:
    """A column of the SKU table. The page's table and its CSV/XLSX exports both read
    ``COLUMNS``: a column added there shows on the page and in the files."""

    key: str  # the row's key (a metric key for metrics)
    kind: str  # a storeops.web.table_export kind: how the page and the files write it
    label: str = ""  # catalog key of the header; "" for a metric (its definition names it)
    codes: str = ""  # catalog prefix that names the column's codes ("status": on_sale → 在售)
    on_page: bool = True  # False: in the files only (the seller code: searched, not shown)
    css: str = ""  # the page's cell class besides "num" for numbers

    def header(self, lang: str, compare: str = DEFAULT_COMPARE) -> str:
        if self.key == CHANGE_KEY:  # says which baseline: 较上期, 较上周同期, 同比
            return translate(lang, f"compare.vs_{compare}")
        return translate(lang, self.label) if self.label else metric_label(self.key, lang)

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS


def metric_kind(key: str) -> str:
    """The column kind of a metric, from its unit in the definitions (ROAS is a ratio)."""
    unit = METRICS[key].unit if key in METRICS else "count"
    if unit == "money":
        return MONEY
    if unit == "rate":
        return RATIO if key in fmt.PLAIN_RATIOS else RATE
    return COUNT


CHANGE_KEY = "gmv_change"
STOCK_CODES = "sku_page.stock_states"  # catalog prefix of the stock statuses (缺货 …)
COLUMNS: tuple[SkuColumn, ...] = (
    SkuColumn("platform_sku_id", ID, "skus.sku_id"),
    SkuColumn("seller_code", ID, "skus.seller_code", on_page=False),
    SkuColumn("title", TEXT, "skus.product", css="title"),
    SkuColumn("category", TEXT, "skus.category"),
    SkuColumn("status", TEXT, "skus.status", codes="status"),
    SkuColumn("list_price", MONEY, "skus.price"),
    SkuColumn("stock", COUNT, "skus.stock", on_page=False),  # the page: in the status' tooltip
    SkuColumn("stock_status", TEXT, "skus.stock_status", codes=STOCK_CODES),
    *(SkuColumn(k, metric_kind(k)) for k in SKU_METRICS),
    # GMV against the page's baseline (storeops.metrics.comparison_periods; a fraction; red
    # rise, green fall)
    SkuColumn(CHANGE_KEY, RATE, "skus.gmv_change"),
)
PAGE_COLUMNS = tuple(c for c in COLUMNS if c.on_page)
# Code columns sorted by a rank, not by the code's text: stock status, out of stock first.
RANKED_SORTS = {"stock_status": SORT_RANK}
TEXT_SORTS = tuple(c.key for c in COLUMNS if c.kind in (ID, TEXT, DATE))
SORTS = tuple(c.key for c in COLUMNS)
DEFAULT_SORT = "gmv"
PER_PAGE = 50


@dataclass(frozen=True)
class SkuQuery:
    q: str = ""
    category: str = ""
    status: str = ""
    sort: str = DEFAULT_SORT
    descending: bool = True
    page: int = 1

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> SkuQuery:
        sort = params.get("sort") or DEFAULT_SORT
        order = params.get("order") or ("asc" if sort in TEXT_SORTS else "desc")
        try:
            page = max(1, int(params.get("page") or 1))
        except ValueError:
            page = 1
        return cls(
            q=(params.get("q") or "").strip(),
            category=params.get("category") or "",
            status=params.get("status") or "",
            sort=sort if sort in SORTS else DEFAULT_SORT,
            descending=order != "asc",
            page=page,
        )


@dataclass(frozen=True)
class SkuPage:
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    categories: list[str]
    statuses: list[str]


def merge(products: Iterable[Mapping[str, Any]], metrics: Iterable[Mapping[str, Any]],
          previous: Iterable[Mapping[str, Any]] = (), days: int = 1) -> list[dict[str, Any]]:
    """Every product, with its metrics where it had activity (else empty metrics), its list
    price, its stock status at the pace of the period's ``days`` and its GMV's change against
    ``previous`` (the SKUs' metrics over the period before, at least their ``gmv``)."""
    by_id = {m.get("product_id"): m for m in metrics}
    before = {m.get("product_id"): m.get("gmv") for m in previous}
    rows = []
    for p in products:
        row = dict(p)
        found = by_id.get(p["product_id"], {})
        row.update({k: found.get(k) for k in SKU_METRICS})
        cents = p.get("list_price_cents")
        row["list_price"] = None if cents is None else from_cents(cents)
        row["stock_status"] = stock_status(p.get("stock"), row.get("units"), days)
        # Sold in neither period: no change to show ("—"), not a rise from nothing.
        row[CHANGE_KEY] = change(row.get("gmv") or 0, before.get(p["product_id"]) or 0)
        rows.append(row)
    return rows


def sku_path(platform_sku_id: str) -> str:
    """The SKU page's path of an id, whatever characters it holds (``/``, ``?``, ``#``, ``%``,
    spaces): the route takes the rest of the path (``/sku/{id:path}``)."""
    return "/sku/" + quote(platform_sku_id, safe="")


def table_row(row: Mapping[str, Any], lang: str, currency: str) -> dict[str, Any]:
    """One SKU as the page's tables show it: :func:`page_row`, plus the SKU page's path, the
    stock status' code and units, and the GMV change as a red/green badge."""
    out = page_row(row, lang, currency)
    stock = row.get("stock")
    out["href"] = sku_path(str(row.get("platform_sku_id") or ""))
    out["stock_code"] = row.get("stock_status") or UNKNOWN
    out["stock_units"] = (None if stock is None
                          else translate(lang, "skus.stock_units", n=fmt.count(stock)))
    out["change"], out["change_class"] = fmt.change_badge("gmv", row.get(CHANGE_KEY))
    return out


def _matches(row: Mapping[str, Any], query: SkuQuery) -> bool:
    if query.category and (row.get("category") or "") != query.category:
        return False
    if query.status and row.get("status") != query.status:
        return False
    if query.q:
        needle = query.q.casefold()
        hay = " ".join(str(row.get(k) or "") for k in ("platform_sku_id", "seller_code", "title"))
        return needle in hay.casefold()
    return True


def _metric_sort_key(sort: str, descending: bool):
    def key(row: Mapping[str, Any]):
        value = row.get(sort)
        if sort in RANKED_SORTS:  # by rank; an unknown stock goes last like a missing value
            value = None if value in (None, UNKNOWN) else RANKED_SORTS[sort][value]
        if value is None or value == "":
            return (1, 0)  # missing values go last in either direction
        return (0, -value if descending else value)

    return key


def listing(rows: list[dict[str, Any]], query: SkuQuery, per_page: int = PER_PAGE) -> SkuPage:
    selected = [r for r in rows if _matches(r, query)]
    if query.sort in TEXT_SORTS and query.sort not in RANKED_SORTS:
        present = [r for r in selected if r.get(query.sort) not in (None, "")]
        missing = [r for r in selected if r.get(query.sort) in (None, "")]
        present.sort(key=lambda r: str(r[query.sort]), reverse=query.descending)
        selected = present + missing
    else:
        selected.sort(key=_metric_sort_key(query.sort, query.descending))
    pages = max(1, math.ceil(len(selected) / per_page))
    page = min(query.page, pages)
    start = (page - 1) * per_page
    categories = sorted({r["category"] for r in rows if r.get("category")})
    statuses = sorted({r["status"] for r in rows if r.get("status")})
    return SkuPage(selected[start:start + per_page], len(selected), page, pages, categories,
                   statuses)


def _shown(column: SkuColumn, value: Any, lang: str) -> Any:
    if column.codes and value not in (None, ""):
        return label_or_raw(lang, column.codes, value)
    return value


def page_row(row: Mapping[str, Any], lang: str, currency: str) -> dict[str, Any]:
    """One SKU as the page shows it: ``cells`` holds each page column's text."""
    cells = {}
    for c in PAGE_COLUMNS:
        value = _shown(c, row.get(c.key), lang)
        if c.kind == MONEY:
            cells[c.key] = fmt.money(value, currency)
        elif c.kind == COUNT:
            cells[c.key] = fmt.count(value)
        elif c.kind == RATE:
            cells[c.key] = fmt.percent(value)
        elif c.kind == RATIO:
            cells[c.key] = fmt.DASH if value is None else f"{float(value):.2f}"
        else:
            cells[c.key] = "" if value is None else str(value)
    return {**row, "cells": cells}


def export_columns(lang: str, compare: str = DEFAULT_COMPARE) -> list[Column]:
    """Every column of the table (the files' own ones too), headers in ``lang``."""
    return [Column(c.key, c.header(lang, compare), c.kind) for c in COLUMNS]


def export_rows(rows: Iterable[Mapping[str, Any]], lang: str) -> Iterator[dict[str, Any]]:
    """The rows for the files: codes named in ``lang`` (在售), values otherwise as they are
    (the exporter writes them by kind)."""
    coded = [c for c in COLUMNS if c.codes]
    for row in rows:
        yield {**row, **{c.key: _shown(c, row.get(c.key), lang) for c in coded}}
