"""Pages of promotions: the calendar and list (/promotions) with the conflict check and the
import form, and one promotion (/promotions/{id}) with its terms, the floor breaches, the
approval, the lifecycle buttons and its history.

Changes go through :mod:`storeops.pricing.service`; its refusals come back on the page in the
reader's language (an import's names the promotion and field; nothing of that file is
written). ``PROMO_VIEW`` sees, ``PROMO_MANAGE`` imports, schedules, starts, ends and cancels,
``PROMO_APPROVE`` approves — never one's own promotion.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storeops.accounts.permissions import Permission
from storeops.api.auth import CurrentUser, db_url_of, require
from storeops.api.limits import STORE_NAME_CHARS
from storeops.catalog.models import Product, Store
from storeops.common.errors import StoreopsError, localise
from storeops.common.timeutil import utcnow, zone
from storeops.db.engine import session_factory, unit_of_work
from storeops.pricing import service
from storeops.pricing.conflicts import conflict_text, store_conflicts
from storeops.pricing.lifecycle import FINAL, STATUSES, PromoStatus
from storeops.pricing.model import PromotionKind
from storeops.pricing.models import PromotionRecord
from storeops.web.i18n import translate
from storeops.web.orders_pages import (
    REASON_CHARS,
    actor_of,
    form_text,
    label,
    local_time,
    store_scope,
)
from storeops.web.pages import page_lang, render, render_error

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)

KINDS = tuple(k.value for k in PromotionKind) + ("coupon", "points")
UPLOAD_BYTES = 2_000_000  # a promotions file of a few thousand entries
CALENDAR_ROWS = 200  # promotions the month's calendar draws
ACTIONS = ("schedule", "start", "end", "cancel", "approve")
# The page audits a promotion's floors as it opens up to this many SKUs in the store (the
# audit of 10,000 SKUs takes seconds); past it, on request (?audit=1).
AUTO_AUDIT_SKUS = 2000


def _q(text: str) -> str:
    return quote(text, safe="")


# --- the calendar ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Bar:
    id: int
    code: str
    name: str
    status: str
    status_label: str
    kind_label: str
    offset: int  # empty days before the bar
    span: int  # days the bar covers in the month
    after: int  # empty days after it
    starts_before: bool  # runs on from the previous month
    ends_after: bool  # runs on into the next one


def parse_month(text: str, today: date) -> date:
    """``2026-06`` → 2026-06-01; anything else: this month."""
    try:
        year, month = (int(x) for x in text.split("-"))
        if 2000 <= year <= 2099 and 1 <= month <= 12:
            return date(year, month, 1)
    except ValueError:
        pass
    return today.replace(day=1)


def month_bars(records: list[PromotionRecord], first: date, tz: str, lang: str) -> list[Bar]:
    """The bars of the promotions running at some moment of the month (store-local days)."""
    days = calendar.monthrange(first.year, first.month)[1]
    last = first + timedelta(days=days - 1)
    tzinfo = zone(tz)
    bars = []
    for r in records:
        start = r.start_at.astimezone(tzinfo).date() if r.start_at else None
        # the end is exclusive: a promotion ending at 00:00 does not run that day
        end = (r.end_at.astimezone(tzinfo) - timedelta(microseconds=1)).date() \
            if r.end_at else None
        if (start is not None and start > last) or (end is not None and end < first):
            continue
        lo = max(start, first) if start else first
        hi = min(end, last) if end else last
        offset, span = (lo - first).days, (hi - lo).days + 1
        bars.append(Bar(r.id, r.code, r.name or "", r.status,
                        label(lang, "promotions.status", r.status),
                        label(lang, "promotions.kind", r.kind), offset, span,
                        days - offset - span, start is None or start < first,
                        end is None or end > last))
    return bars[:CALENDAR_ROWS]


def month_days(first: date, today: date) -> list[dict[str, Any]]:
    days = calendar.monthrange(first.year, first.month)[1]
    return [{"n": d, "weekend": date(first.year, first.month, d).weekday() >= 5,
             "today": date(first.year, first.month, d) == today} for d in range(1, days + 1)]


# --- the list page -----------------------------------------------------------------------------

def render_list(request: Request, user: CurrentUser, store: str | None, status: str,
                kind: str, month: str, *, code: int = 200, import_error: str = "",
                imported: Mapping[str, list[str]] | None = None) -> Response:
    sc = store_scope(request, store)
    lang = page_lang(request)
    tz = sc.store.timezone
    today = utcnow().astimezone(zone(tz)).date()
    first = parse_month(month, today)
    with session_factory(db_url_of(request))() as session:
        every = service.list_promotions(session, sc.store.id)
        chosen = [r for r in every if (not status or r.status == status)
                  and (not kind or r.kind == kind)]
        found = store_conflicts(session, sc.store.id)
    rows = []
    for r in chosen:
        view = service.record_view(r)
        rows.append({"id": r.id, "code": r.code, "name": r.name or "", "status": r.status,
                     "status_label": label(lang, "promotions.status", r.status),
                     "kind_label": label(lang, "promotions.kind", r.kind),
                     "window": f"{local_time(r.start_at, tz)} – {local_time(r.end_at, tz)}",
                     "skus": translate(lang, "promotions.page.skus_all")
                     if view["skus"] is None else view["skus"],
                     "breach": r.breaches_floor, "approved": bool(r.approved_by)})
    prev_month = (first - timedelta(days=1)).replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    base = {"store": sc.store.name, "status": status, "kind": kind}

    def month_href(d: date) -> str:
        params = {k: v for k, v in {**base, "month": d.strftime("%Y-%m")}.items() if v}
        return f"/promotions?{urlencode(params)}"

    context = {
        "rows": rows, "status": status, "kind": kind, "statuses": STATUSES, "kinds": KINDS,
        "month_label": first.strftime("%Y-%m"), "days": month_days(first, today),
        "bars": month_bars(chosen, first, tz, lang),
        "prev_href": month_href(prev_month), "next_href": month_href(next_month),
        "month": first.strftime("%Y-%m"),
        "conflicts": [{"kind": c.kind, "codes": c.codes, "text": conflict_text(c, lang)}
                      for c in found],
        "import_error": import_error, "imported": imported,
        "store_q": _q(sc.store.name),
    }
    return render(request, "promotions.html", context, status=code, user=user, sc=sc)


@router.get("/promotions")
def promotions_page(
    request: Request,
    user: CurrentUser = require(Permission.PROMO_VIEW),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
    status: str = Query("", max_length=20),
    kind: str = Query("", max_length=20),
    month: str = Query("", max_length=7),
) -> Response:
    status = status if status in STATUSES else ""
    kind = kind if kind in KINDS else ""
    return render_list(request, user, store, status, kind, month)


@router.get("/promotions/export")
def promotions_export(
    request: Request,
    user: CurrentUser = require(Permission.PROMO_VIEW),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
) -> Response:
    """The store's promotions as a promotions file (YAML), for editing and importing back."""
    sc = store_scope(request, store)
    with session_factory(db_url_of(request))() as session:
        text = service.dump_offers(service.export_offers(session, sc.store.id))
    return Response(text.encode("utf-8"), media_type="application/x-yaml; charset=utf-8",
                    headers={"Content-Disposition":
                             'attachment; filename="promotions.yaml"'})


@router.post("/promotions/import")
async def promotions_import(
    request: Request,
    user: CurrentUser = require(Permission.PROMO_MANAGE),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
) -> Response:
    """Import an uploaded promotions file into the page's store: all or nothing."""
    lang = page_lang(request)
    sc = store_scope(request, store)
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return render_list(request, user, sc.store.name, "", "", "", code=422,
                           import_error=translate(lang, "pages.form.required"))
    raw = await upload.read(UPLOAD_BYTES + 1)
    name = (upload.filename or "promotions")[:120]
    try:
        if len(raw) > UPLOAD_BYTES:
            raise service.PromotionError(f"{name}: larger than {UPLOAD_BYTES} bytes",
                                         key="promotions.too_large", source=name,
                                         limit=UPLOAD_BYTES)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise service.PromotionError(f"{name}: not UTF-8 text", key="promotions.not_text",
                                         source=name) from exc
        with unit_of_work(db_url_of(request)) as session:
            data = service.parse_text(text, name)
            result = service.import_offers(session, sc.store.id, data, name, actor_of(user))
    except StoreopsError as exc:
        return render_list(request, user, sc.store.name, "", "", "", code=422,
                           import_error=localise(exc, lang))
    return render_list(request, user, sc.store.name, "", "", "", imported=result.as_dict())


# --- one promotion -----------------------------------------------------------------------------

def _breaches(session: Session, record: PromotionRecord, asked: bool
              ) -> tuple[list[dict[str, Any]], bool | None]:
    """(the floor breaches this promotion causes, whether the audit could run: None when it
    was not run — a store of more than AUTO_AUDIT_SKUS SKUs audits on request only)."""
    if PromoStatus(record.status) in FINAL:
        return [], True
    if not asked:
        count = session.scalar(select(func.count()).select_from(Product)
                               .where(Product.store_id == record.store_id)) or 0
        if count > AUTO_AUDIT_SKUS:
            return [], None
    try:
        found = service.floor_breaches(session, record)
    except StoreopsError:
        return [], False
    except Exception:  # the audit failing must not take the promotion's page with it
        log.exception("floor audit of promotion %s failed", record.id)
        return [], False
    return [{"sku": b.sku, "floor": f"{b.floor:.2f}",
             "lowest": f"{b.lowest_unit_price:.2f}", "stack": " + ".join(b.stack),
             "explanation": getattr(b, "explanation", "") or ""} for b in found], True


def render_promotion(request: Request, user: CurrentUser, promo_id: int, *, status: int = 200,
                     errors: Mapping[str, str] | None = None,
                     form: Mapping[str, Any] | None = None, done: str = "") -> Response:
    lang = page_lang(request)
    with session_factory(db_url_of(request))() as session:
        record = session.get(PromotionRecord, promo_id)
        if record is None:
            return render_error(request, 404, "error.not_found")
        store = session.get(Store, record.store_id)
        view = service.record_view(record)
        breaches, audited = _breaches(session, record,
                                      request.query_params.get("audit") == "1")
        authors = service.authors(session, record)
        rows = service.history(session, record)
        tz = store.timezone
        history = [{"at": local_time(h.at, tz), "actor": h.actor or "—", "action": h.action,
                    "action_label": label(lang, "promotions.action", h.action),
                    "reason": h.reason or "", "changes": service.change_lines(h)}
                   for h in rows]
        store_name = store.name
    sc = store_scope(request, store_name)
    final = PromoStatus(record.status) in FINAL
    is_author = actor_of(user) in authors
    context = {
        "p": record, "view": view, "terms": service.dump_offers(view["spec"]).rstrip(),
        "status_label": label(lang, "promotions.status", record.status),
        "kind_label": label(lang, "promotions.kind", record.kind),
        "window": f"{local_time(record.start_at, tz)} – {local_time(record.end_at, tz)}",
        "approved_at": local_time(record.approved_at, tz),
        "breaches": breaches, "audited": audited, "history": history,
        "can_manage": user.can(Permission.PROMO_MANAGE) and not final,
        # the form shows where an approval is wanted: a floor broken (or not known), none yet
        "can_approve": user.can(Permission.PROMO_APPROVE) and not final and not is_author
        and not record.approved_by and (bool(breaches) or audited is not True
                                        or record.breaches_floor),
        "is_author": is_author,
        "may_schedule": record.status == "draft", "may_start": record.status == "scheduled",
        "may_end": record.status == "live",
        "errors": dict(errors or {}), "form": dict(form or {}), "done": done,
        "audit_href": f"/promotions/{record.id}?audit=1",
        "list_href": f"/promotions?store={_q(store_name)}",
        "results_href": f"/promotions/{record.id}/results?store={_q(store_name)}",
    }
    return render(request, "promotion.html", context, status=status, user=user, sc=sc)


@router.get("/promotions/{promo_id:int}")
def promotion_page(
    request: Request,
    promo_id: int,
    user: CurrentUser = require(Permission.PROMO_VIEW),
) -> Response:
    done = request.query_params.get("done", "")
    return render_promotion(request, user, promo_id, done=done if done in ACTIONS else "")


async def _action(request: Request, user: CurrentUser, promo_id: int, action: str) -> Response:
    lang = page_lang(request)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    reason = form_text(form, "reason", REASON_CHARS)
    with session_factory(db_url_of(request))() as session:
        record = session.get(PromotionRecord, promo_id)
        if record is None:
            return render_error(request, 404, "error.not_found")
        store_id, code = record.store_id, record.code
    if len(reason) > REASON_CHARS:
        return render_promotion(request, user, promo_id, status=422, form=form,
                                errors={action: translate(lang, "pages.form.too_long",
                                                          limit=REASON_CHARS)})
    if action in ("cancel", "approve") and not reason:
        return render_promotion(request, user, promo_id, status=422, form=form,
                                errors={action: translate(lang, "pages.form.reason_required")})
    actor = actor_of(user)
    try:
        with unit_of_work(db_url_of(request)) as session:
            if action == "approve":
                service.approve(session, store_id, code, actor, reason,
                                may_approve=user.can(Permission.PROMO_APPROVE))
            else:
                getattr(service, action)(session, store_id, code, actor, reason or None)
    except StoreopsError as exc:
        return render_promotion(request, user, promo_id, status=422, form=form,
                                errors={action: localise(exc, lang)})
    return RedirectResponse(f"/promotions/{promo_id}?done={action}", status_code=303)


@router.post("/promotions/{promo_id:int}/schedule")
async def promotion_schedule(request: Request, promo_id: int,
                             user: CurrentUser = require(Permission.PROMO_MANAGE)) -> Response:
    return await _action(request, user, promo_id, "schedule")


@router.post("/promotions/{promo_id:int}/start")
async def promotion_start(request: Request, promo_id: int,
                          user: CurrentUser = require(Permission.PROMO_MANAGE)) -> Response:
    return await _action(request, user, promo_id, "start")


@router.post("/promotions/{promo_id:int}/end")
async def promotion_end(request: Request, promo_id: int,
                        user: CurrentUser = require(Permission.PROMO_MANAGE)) -> Response:
    return await _action(request, user, promo_id, "end")


@router.post("/promotions/{promo_id:int}/cancel")
async def promotion_cancel(request: Request, promo_id: int,
                           user: CurrentUser = require(Permission.PROMO_MANAGE)) -> Response:
    return await _action(request, user, promo_id, "cancel")


@router.post("/promotions/{promo_id:int}/approve")
async def promotion_approve(request: Request, promo_id: int,
                            user: CurrentUser = require(Permission.PROMO_APPROVE)) -> Response:
    return await _action(request, user, promo_id, "approve")
