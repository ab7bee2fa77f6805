"""The reports page (/reports): a store's built weekly and monthly reports with their XLSX and
PDF downloads, a form to build one now, and the schedule (when the reports are built and sent).

``KPI_VIEW`` (every role that sees alerts has it) sees the page, downloads and builds a
report; ``ALERT_MANAGE`` changes the schedule. Reports are built by
:func:`storeops.reports.service.build_report`, the same as ``storeops report``; the schedule
is :mod:`storeops.reports.jobs`'.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.exceptions import HTTPException as StarletteHTTPException

from storeops.accounts.permissions import Permission
from storeops.api.auth import CurrentUser, db_url_of, require
from storeops.api.context import Scope
from storeops.api.limits import STORE_NAME_CHARS
from storeops.common.errors import StoreopsError, localise
from storeops.common.timeutil import utcnow, zone
from storeops.db.engine import session_factory, unit_of_work
from storeops.reports.data import ReportError, previous_label
from storeops.reports.jobs import schedule_of
from storeops.reports.models import Report, ReportSchedule
from storeops.web import format as fmt
from storeops.web.i18n import translate
from storeops.web.orders_pages import actor_of, store_scope
from storeops.web.pages import page_lang, render
from storeops.web.table_export import attachment

router = APIRouter(include_in_schema=False)
LIST_LIMIT = 100
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _rows(db_url: str, sc: Scope, lang: str) -> list[dict[str, Any]]:
    import json

    with session_factory(db_url)() as session:
        reports = session.scalars(
            select(Report).where(Report.store_id == sc.store.id)
            .order_by(Report.period.desc(), Report.kind, Report.lang).limit(LIST_LIMIT)).all()
    rows = []
    for r in reports:
        gmv = None
        try:
            gmv = json.loads(r.figures_json or "{}").get("kpis", {}).get("gmv", {}).get("value")
        except ValueError:
            pass
        rows.append({
            "id": r.id, "period": r.period, "kind": translate(lang, f"reports.kind.{r.kind}"),
            "lang": translate(lang, "reports.page.lang_en" if r.lang == "en"
                              else "reports.page.lang_zh"),
            "status": translate(lang, f"reports.page.status_{r.status}"),
            "status_code": r.status, "error": r.error or "",
            "built": r.built_at.astimezone(zone(sc.store.timezone)).strftime("%Y-%m-%d %H:%M"),
            "by": r.built_by or fmt.DASH,
            "gmv": fmt.money(gmv, sc.store.currency) if gmv is not None else fmt.DASH,
            "xlsx": r.status != "failed" and bool(r.xlsx_path),
            "pdf": r.status != "failed" and bool(r.pdf_path),
        })
    return rows


def render_page(request: Request, user: CurrentUser, sc: Scope, *, status: int = 200,
                form: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                notice: str = "", schedule_errors: dict[str, str] | None = None,
                schedule_form: dict[str, Any] | None = None, chosen: int | None = None
                ) -> Response:
    lang = page_lang(request)
    db_url = db_url_of(request)
    with session_factory(db_url)() as session:
        schedule = schedule_of(session.get(ReportSchedule, sc.store.id))
    today = utcnow().astimezone(zone(sc.store.timezone)).date()
    default_form = {"kind": "weekly", "period": previous_label("weekly", today), "lang": lang}
    context = {
        "reports": _rows(db_url, sc, lang),
        "form": form or default_form,
        "errors": errors or {},
        "notice": notice,
        "default_week": previous_label("weekly", today),
        "default_month": previous_label("monthly", today),
        "schedule": schedule_form or {
            "weekly": schedule.weekly, "monthly": schedule.monthly,
            "time": f"{schedule.hour:02d}:{schedule.minute:02d}", "lang": schedule.lang,
            "pdf": schedule.pdf},
        "schedule_errors": schedule_errors or {},
        "store_q": urlencode({"store": sc.store.name}),
        "chosen": chosen,
    }
    return render(request, "reports.html", context, user=user, sc=sc, status=status)


@router.get("/reports")
def reports_page(
    request: Request,
    user: CurrentUser = require(Permission.KPI_VIEW),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
    built: int | None = Query(None, ge=1, lt=2**31),
    saved: int | None = Query(None, ge=0, le=1),
    report: int | None = Query(None, ge=1, lt=2**31),
) -> Response:
    sc = store_scope(request, store)
    lang = page_lang(request)
    notice = ""
    if built:
        with session_factory(db_url_of(request))() as session:
            row = session.get(Report, built)
        if row is not None and row.store_id == sc.store.id:
            notice = translate(lang, "reports.page.built_ok",
                               kind=translate(lang, f"reports.kind.{row.kind}"),
                               period=row.period)
    elif saved:
        notice = translate(lang, "reports.page.saved")
    return render_page(request, user, sc, notice=notice, chosen=report or built)


@router.get("/reports/{report_id:int}")
def report_link(request: Request, report_id: int,
                user: CurrentUser = require(Permission.KPI_VIEW)) -> Response:
    """A report's own address (the link the channels send): its store's list, its row
    marked, with its downloads."""
    from storeops.catalog.models import Store

    if not 0 < report_id < 2**31:
        raise StarletteHTTPException(404)
    with session_factory(db_url_of(request))() as session:
        row = session.get(Report, report_id)
        store = session.get(Store, row.store_id) if row is not None else None
    if row is None or store is None:
        raise StarletteHTTPException(404)
    query = urlencode({"store": store.name, "report": row.id})
    return RedirectResponse(f"/reports?{query}#report-{row.id}", status_code=303)


@router.post("/reports/build")
def reports_build(
    request: Request,
    user: CurrentUser = require(Permission.KPI_VIEW),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
    kind: str = Form("weekly", max_length=10),
    period: str = Form("", max_length=40),
    lang: str = Form("zh-CN", max_length=10),
) -> Response:
    """Build (or rebuild) a report now, with its PDF; back to the list, or the form with the
    field at fault marked (422)."""
    from storeops.reports.service import build_report

    sc = store_scope(request, store)
    page = page_lang(request)
    form = {"kind": kind, "period": period, "lang": lang}
    try:
        report = build_report(db_url_of(request), sc.store.id, kind, period.strip(), lang,
                              pdf=True, built_by=actor_of(user))
    except StoreopsError as exc:
        field = "lang" if getattr(exc, "key", "") == "reports.bad_lang" else (
            "kind" if getattr(exc, "key", "") == "reports.bad_kind" else "period")
        return render_page(request, user, sc, status=422, form=form,
                           errors={field: localise(exc, page)})
    query = urlencode({"store": sc.store.name, "built": report.id})
    return RedirectResponse(f"/reports?{query}", status_code=303)


@router.post("/reports/schedule")
def reports_schedule(
    request: Request,
    user: CurrentUser = require(Permission.ALERT_MANAGE),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
    weekly: str = Form("", max_length=5),
    monthly: str = Form("", max_length=5),
    at: str = Form("09:00", max_length=10),
    lang: str = Form("zh-CN", max_length=10),
    pdf: str = Form("", max_length=5),
) -> Response:
    """Save the store's schedule; a bad time or language comes back marked (422)."""
    sc = store_scope(request, store)
    page = page_lang(request)
    found = _TIME.match(at.strip())
    errors = {}
    if not found:
        errors["at"] = localise(ReportError(f"bad time {at!r}: expected HH:MM such as 09:00",
                                            key="reports.bad_time", text=at), page)
    if lang not in ("zh-CN", "en"):
        errors["lang"] = localise(ReportError(f"unknown language {lang!r}: choose zh-CN or en",
                                              key="reports.bad_lang", lang=lang), page)
    if errors:
        return render_page(request, user, sc, status=422, schedule_errors=errors,
                           schedule_form={"weekly": bool(weekly), "monthly": bool(monthly),
                                          "time": at, "lang": lang, "pdf": bool(pdf)})
    assert found is not None
    with unit_of_work(db_url_of(request)) as session:
        row = session.get(ReportSchedule, sc.store.id)
        if row is None:
            row = ReportSchedule(store_id=sc.store.id)
            session.add(row)
        row.weekly, row.monthly, row.pdf = bool(weekly), bool(monthly), bool(pdf)
        row.hour, row.minute, row.lang = int(found.group(1)), int(found.group(2)), lang
        row.updated_by = actor_of(user)
    query = urlencode({"store": sc.store.name, "saved": 1})
    return RedirectResponse(f"/reports?{query}", status_code=303)


@router.get("/reports/{report_id:int}.{ext}")
def report_file(request: Request, report_id: int, ext: str,
                user: CurrentUser = require(Permission.KPI_VIEW)) -> Response:
    """A built report's XLSX or PDF, named ``<store>_<kind>_<period>.<ext>``."""
    from pathlib import Path

    from storeops.catalog.models import Store

    if ext not in ("xlsx", "pdf") or not 0 < report_id < 2**31:
        raise StarletteHTTPException(404)
    with session_factory(db_url_of(request))() as session:
        row = session.get(Report, report_id)
        store = session.get(Store, row.store_id) if row is not None else None
    path = None if row is None else (row.xlsx_path if ext == "xlsx" else row.pdf_path)
    if row is None or store is None or not path or not Path(path).is_file():
        raise StarletteHTTPException(404)
    media = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
             if ext == "xlsx" else "application/pdf")
    name = f"{store.name}_{row.kind}_{row.period}_{row.lang}.{ext}"
    return FileResponse(path, media_type=media,
                        headers={"Content-Disposition": attachment(name),
                                 "Cache-Control": "private, max-age=0"})

