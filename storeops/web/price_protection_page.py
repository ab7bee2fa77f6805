"""The price-protection page (价保): the order lines of a store that may claim a price drop
within the window after payment, their amounts and the totals, and the claims as XLSX.

``PROMO_VIEW`` sees it. The period is of payment days, 92 at most
(:mod:`storeops.pricing.protection_data`); a bad field comes back beside the form (422).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from storeops.accounts.permissions import Permission
from storeops.api.auth import CurrentUser, db_url_of, require
from storeops.api.limits import STORE_NAME_CHARS
from storeops.common.errors import localise
from storeops.common.timeutil import local_date, utcnow, zone
from storeops.db.engine import session_factory
from storeops.metrics.periods import PeriodError, parse_day
from storeops.pricing.protection import MAX_DAYS, MIN_DAYS, ProtectionError, ProtectionReport
from storeops.web import format as fmt
from storeops.web import table_export as tx
from storeops.web.i18n import translate
from storeops.web.orders_pages import store_scope
from storeops.web.pages import page_lang, render

router = APIRouter(include_in_schema=False)

SHOWN_ROWS = 500  # claims listed on the page; the XLSX holds them all
SKU_CHARS = 64


def claim_columns(lang: str) -> list[tx.Column]:
    def h(name: str) -> str:
        return translate(lang, f"promo_checks.protection.col_{name}")

    return [tx.Column("order", h("order"), tx.ID), tx.Column("line_no", h("line"), tx.COUNT),
            tx.Column("sku", h("sku"), tx.ID), tx.Column("qty", h("qty"), tx.COUNT),
            tx.Column("paid_at", h("paid_at"), tx.TEXT),
            tx.Column("unit_paid", h("unit_paid"), tx.MONEY),
            tx.Column("paid_amount", h("paid_amount"), tx.MONEY),
            tx.Column("lowest_price", h("lowest_price"), tx.MONEY),
            tx.Column("lowest_at", h("lowest_at"), tx.TEXT),
            tx.Column("window_end", h("window_end"), tx.TEXT),
            tx.Column("amount", h("amount"), tx.MONEY)]


def claim_rows(report: ProtectionReport, tz: str) -> list[dict[str, Any]]:
    tzinfo = zone(tz)

    def t(moment: Any) -> str:
        return moment.astimezone(tzinfo).strftime("%Y-%m-%d %H:%M")

    return [{"order": c.order, "line_no": c.line_no, "sku": c.sku, "qty": c.qty,
             "paid_at": t(c.paid_at), "unit_paid": c.unit_paid, "paid_amount": c.paid_amount,
             "lowest_price": c.lowest_price, "lowest_at": t(c.lowest_at),
             "window_end": t(c.window_end), "amount": c.amount} for c in report.claims]


def write_claims_xlsx(report: ProtectionReport, tz: str, lang: str, target: Path | IO[bytes],
                      *, currency: str = "CNY") -> int:
    """The claims as a workbook (the CLI's --xlsx and the page's download)."""
    return tx.write_xlsx(claim_columns(lang), claim_rows(report, tz),
                         str(target) if isinstance(target, Path) else target,
                         sheet_name=translate(lang, "promo_checks.protection.sheet"),
                         currency_symbol=fmt.currency_symbol(currency))


def _form(request: Request, lang: str, first: str, last: str, sku: str, days: str
          ) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's values parsed, and the fields at fault with their messages."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"first": None, "last": None, "skus": (), "days": None}
    for name, text, key in (("from", first, "first"), ("to", last, "last")):
        if text:
            try:
                values[key] = parse_day(text, f"{name} date")
            except PeriodError as exc:
                errors[name] = localise(exc, lang)
    if sku:
        values["skus"] = tuple(s for s in (p.strip() for p in sku.replace("，", ",").split(","))
                               if s)
    if days:
        if not days.isdigit() or not MIN_DAYS <= int(days) <= MAX_DAYS:
            errors["days"] = translate(lang, "promo_checks.protection.days_error",
                                       low=MIN_DAYS, high=MAX_DAYS)
        else:
            values["days"] = int(days)
    return values, errors


def _report(request: Request, store_id: int, tz: str, values: dict[str, Any],
            lang: str, errors: dict[str, str]) -> ProtectionReport | None:
    from storeops.pricing.protection_data import store_report

    if errors:
        return None
    try:
        with session_factory(db_url_of(request))() as session:
            return store_report(session, store_id, tz, first=values["first"],
                                last=values["last"], skus=values["skus"], days=values["days"])
    except (PeriodError, ProtectionError) as exc:
        key = getattr(exc, "key", "") or ""
        field = "days" if "days" in key else ("sku" if "sku" in key else "from")
        errors[field] = localise(exc, lang)
        if field == "from":
            errors["to"] = errors["from"]
        return None


@dataclass(frozen=True)
class ProtectionQuery:
    """The page's query: store, payment days from/to, SKUs (comma-separated), window days."""

    store: str | None
    first: str
    last: str
    sku: str
    days: str


def protection_query(
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
    first: str = Query("", alias="from", max_length=10),
    last: str = Query("", alias="to", max_length=10),
    sku: str = Query("", max_length=200),
    days: str = Query("", max_length=2),
) -> ProtectionQuery:
    return ProtectionQuery(store, first.strip(), last.strip(), sku.strip(), days.strip())


@router.get("/promotions/protection")
def protection_page(request: Request, user: CurrentUser = require(Permission.PROMO_VIEW),
                    q: ProtectionQuery = Depends(protection_query)) -> Response:
    sc = store_scope(request, q.store)
    lang = page_lang(request)
    tz = sc.store.timezone
    values, errors = _form(request, lang, q.first, q.last, q.sku, q.days)
    report = _report(request, sc.store.id, tz, values, lang, errors)
    rows = claim_rows(report, tz)[:SHOWN_ROWS] if report else []
    for r in rows:
        for key in ("unit_paid", "paid_amount", "lowest_price", "amount"):
            r[key + "_text"] = fmt.money(r[key], sc.store.currency)
    form = {"from": q.first, "to": q.last, "sku": q.sku, "days": q.days}
    context = {
        "form": form, "errors": errors, "report": report, "rows": rows, "shown": SHOWN_ROWS,
        "total_amount": fmt.money(report.amount, sc.store.currency) if report else "",
        "xlsx_query": {k: v for k, v in {"store": sc.store.name, **form}.items() if v},
        "low": MIN_DAYS, "high": MAX_DAYS,
    }
    return render(request, "promo_protection.html", context,
                  status=422 if errors else 200, user=user, sc=sc)


@router.get("/promotions/protection.xlsx")
def protection_xlsx(request: Request, user: CurrentUser = require(Permission.PROMO_VIEW),
                    q: ProtectionQuery = Depends(protection_query)) -> Response:
    sc = store_scope(request, q.store)
    lang = page_lang(request)
    values, errors = _form(request, lang, q.first, q.last, q.sku, q.days)
    report = _report(request, sc.store.id, sc.store.timezone, values, lang, errors)
    if report is None:  # the page, its fields marked
        return protection_page(request, user, q)
    out = io.BytesIO()
    write_claims_xlsx(report, sc.store.timezone, lang, out, currency=sc.store.currency)
    name = f"{sc.store.name}-价保-{local_date(utcnow(), sc.store.timezone).isoformat()}.xlsx"
    return Response(out.getvalue(), media_type=tx.XLSX_MEDIA_TYPE,
                    headers={"Content-Disposition": tx.attachment(name)})
