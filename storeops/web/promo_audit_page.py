"""The 破价 audit page (/promotions/audit) and its XLSX (/promotions/audit.xlsx): every SKU's
lowest reachable unit price under the store's live and scheduled offers against its floor;
summary cards (SKUs checked, below floor, without floor) and the SKUs below floor, the largest
gap first, with the stack that breaks the floor. ``PROMO_VIEW`` sees it; only ``?store=`` is
read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from storeops.accounts.permissions import Permission
from storeops.api.auth import CurrentUser, db_url_of, require
from storeops.api.context import Scope, resolve_scope
from storeops.api.limits import STORE_NAME_CHARS
from storeops.common.timeutil import utcnow, zone
from storeops.db.engine import session_factory
from storeops.pricing.audit import AuditReport
from storeops.web import format as fmt
from storeops.web.i18n import translate
from storeops.web.pages import page_lang, render

router = APIRouter(include_in_schema=False)


def now() -> datetime:
    """The audit's moment (tests move it)."""
    return utcnow()


def _report(request: Request, store: str | None) -> tuple[Scope, AuditReport]:
    from storeops.pricing.audit_store import audit_store

    with session_factory(db_url_of(request))() as session:
        sc = resolve_scope(session, store, None, None)
        return sc, audit_store(session, sc.store.id, at=now())


PAGE_ROWS = 500  # the page lists the worst ones; the XLSX has them all


def page_rows(report: AuditReport, currency: str) -> list[dict[str, Any]]:
    from storeops.pricing.audit_table import breach_row

    rows = []
    for breach in report.breaches[:PAGE_ROWS]:
        row = breach_row(breach)
        for key in ("price", "floor", "lowest", "gap"):
            row[key] = fmt.money(row[key], currency)
        rows.append(row)
    return rows


@router.get("/promotions/audit")
def audit_page(
    request: Request,
    user: CurrentUser = require(Permission.PROMO_VIEW),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
) -> Response:
    sc, report = _report(request, store)
    tz = sc.store.timezone
    context = {
        "checked": fmt.count(report.checked),
        "below": len(report.breaches),
        "below_text": fmt.count(len(report.breaches)),
        "no_floor": fmt.count(report.no_floor_count),
        "rows": page_rows(report, sc.store.currency),
        "more": translate(page_lang(request), "promo_audit.more", shown=fmt.count(PAGE_ROWS),
                          total=fmt.count(len(report.breaches)))
        if len(report.breaches) > PAGE_ROWS else "",
        "at_text": report.at.astimezone(zone(tz)).strftime("%Y-%m-%d %H:%M") if report.at
        else "",
        "xlsx_href": "/promotions/audit.xlsx?" + urlencode({"store": sc.store.name}),
    }
    return render(request, "promo_audit.html", context, user=user, sc=sc)


@router.get("/promotions/audit.xlsx")
def audit_xlsx(
    request: Request,
    user: CurrentUser = require(Permission.PROMO_VIEW),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
) -> Response:
    from storeops.pricing.audit_table import breach_row, columns
    from storeops.web.exports_page import xlsx_response

    sc, report = _report(request, store)
    lang = page_lang(request)
    day = (report.at or now()).astimezone(zone(sc.store.timezone)).strftime("%Y%m%d")
    filename = f"{translate(lang, 'promo_audit.filename')}-{sc.store.name}-{day}.xlsx"
    symbol = "¥" if sc.store.currency == "CNY" else sc.store.currency
    return xlsx_response(columns(lang), [breach_row(b) for b in report.breaches], filename,
                         sheet_name=translate(lang, "promo_audit.sheet"), currency_symbol=symbol)
