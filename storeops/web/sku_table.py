"""The SKU table: every SKU of the store joined to its metrics, filtered, sorted, paged
(pure functions)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from storeops.common.excel import neutralise_cell
from storeops.web.views import SKU_METRICS

TEXT_SORTS = ("platform_sku_id", "title", "category", "status")
SORTS = SKU_METRICS + TEXT_SORTS
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
        order = params.get("order") or ("desc" if sort in SKU_METRICS else "asc")
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


def merge(products: Iterable[Mapping[str, Any]], metrics: Iterable[Mapping[str, Any]]
          ) -> list[dict[str, Any]]:
    """Every product, with its metrics where it had activity (else empty metrics)."""
    by_id = {m.get("product_id"): m for m in metrics}
    rows = []
    for p in products:
        row = dict(p)
        found = by_id.get(p["product_id"], {})
        row.update({k: found.get(k) for k in SKU_METRICS})
        rows.append(row)
    return rows


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
        if value is None or value == "":
            return (1, 0)  # missing values go last in either direction
        return (0, -value if descending else value)

    return key


def listing(rows: list[dict[str, Any]], query: SkuQuery, per_page: int = PER_PAGE) -> SkuPage:
    selected = [r for r in rows if _matches(r, query)]
    if query.sort in TEXT_SORTS:
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


def _csv_cell(value: Any) -> Any:
    # Excel reads 0.059794 as a number; "" for unknown rather than a dash it cannot sum. Text
    # that Excel would run as a formula (a title "=HYPERLINK(…)") gets an apostrophe first.
    return "" if value is None else neutralise_cell(value)


def to_csv(rows: Iterable[Mapping[str, Any]], headers: Mapping[str, str],
           status_label: Callable[[str | None], str]) -> bytes:
    """The SKU table as CSV for Excel: UTF-8 with a BOM (so that Chinese shows right), money
    as plain decimals, rates as percentages (5.98%, a number to Excel), every row of the
    filter (no paging)."""
    keys = ("platform_sku_id", "seller_code", "title", "category", "status", *SKU_METRICS)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_csv_cell(headers.get(k, k)) for k in keys])
    for row in rows:
        writer.writerow([
            _csv_cell(status_label(row.get("status"))) if k == "status" else _csv_cell(row.get(k))
            for k in keys
        ])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
