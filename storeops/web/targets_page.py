"""The targets page (目标, ``/targets?store=…&year=…``): a year's plan as a table (the year,
its quarters, months with UV × conversion × AOV, and categories of the year and of each
month), the form that makes a plan, and the month's daily pace (where the month should be by
today against where it is).

``KPI_VIEW`` sees the page; ``TARGET_EDIT`` makes plans and edits cells. A cell is edited in
place: its form posts on change (HTMX) and the table comes back rebalanced (the plan's rules:
:mod:`storeops.metrics.target_plan`); without JavaScript the same forms post and come back to
the page. ``POST /targets`` (the overview's month form) is another route: this page's forms
post under ``/targets/…``.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from storeops.accounts.permissions import Permission
from storeops.api.auth import CurrentUser, db_url_of, require
from storeops.api.context import Scope, resolve_scope
from storeops.api.limits import FORM_WORD_CHARS, STORE_NAME_CHARS, TARGET_VALUE_CHARS
from storeops.common.errors import StoreopsError, localise
from storeops.common.money import parse_decimal
from storeops.common.timeutil import local_date, utcnow, zone
from storeops.db.engine import session_factory
from storeops.metrics import target_plan as tp
from storeops.metrics.month_pace import target_month, time_progress
from storeops.web import format as fmt
from storeops.web.i18n import translate
from storeops.web.pages import page_lang, render

router = APIRouter(include_in_schema=False)
CATEGORY_CHARS = 120


def today_of(sc: Scope) -> date:
    """The store's today (tests move it)."""
    return local_date(utcnow(), sc.store.timezone)


def _scope(request: Request, store: str | None) -> Scope:
    with session_factory(db_url_of(request))() as session:
        return resolve_scope(session, store or None, None, None)


def _page_url(sc: Scope, year: int, **more: Any) -> str:
    params = {"store": sc.store.name, "year": str(year), **{k: v for k, v in more.items() if v}}
    return "/targets?" + urlencode(params)


# --- the daily pace ----------------------------------------------------------------------------

def month_pace(db_url: str, sc: Scope, today: date, lang: str) -> dict[str, Any] | None:
    """The current month's GMV target against where the month is: what it should be after
    its full days (every day the same share), the GMV of those days, the gap, and what each
    day left needs to reach the target. None without a GMV target for the month."""
    from storeops.metrics.targets import get_targets, target_progress

    month = f"{today.year:04d}-{today.month:02d}"
    with session_factory(db_url)() as session:
        targets = get_targets(session, sc.store.id, month)
    target = targets.get("gmv")
    if target is None:
        return None
    days = calendar.monthrange(today.year, today.month)[1]
    over = today.day - 1  # full days: today is still going
    expected = tp.expected_by(target, days, over)
    actual = Decimal("0.00")
    if over:
        found = target_progress(db_url, sc.store.id, month, today - timedelta(days=1), targets)
        actual = Decimal(found["metrics"]["gmv"]["actual"] or 0)
    gap = actual - expected
    left = days - over
    needed = max(target - actual, Decimal(0)) / left if left else Decimal(0)
    cur = sc.store.currency
    return {
        "days_table": _day_rows(db_url, sc, today, target, days),
        "month": month, "target": fmt.money(target, cur), "days_over": over, "days": days,
        "time_progress": fmt.percent(over / days, 1),
        "expected": fmt.money(expected, cur), "actual": fmt.money(actual, cur),
        "achievement": fmt.percent(float(actual / target), 1) if target else fmt.DASH,
        "gap": fmt.money(abs(gap), cur), "behind": gap < 0,
        "needed_per_day": fmt.money(needed.quantize(tp.CENT), cur), "days_left": left,
        "text": translate(lang, "target_plan.pace.behind" if gap < 0 else
                          "target_plan.pace.ahead", gap=fmt.money(abs(gap), cur)),
    }


def _day_rows(db_url: str, sc: Scope, today: date, target: Decimal,
              days: int) -> list[dict[str, Any]]:
    """The month day by day: the day's target and the pace to date, the day's GMV and the
    GMV to date (days over only), ahead or behind."""
    from storeops.metrics.service import kpi_series

    first = today.replace(day=1)
    actuals: dict[str, Decimal] = {}
    if today > first:
        for row in kpi_series(db_url, sc.store.id, first, today - timedelta(days=1), by="day"):
            actuals[row["period"]] = Decimal(row["gmv"] or 0)
    cur = sc.store.currency
    rows, to_date, pace = [], Decimal(0), Decimal(0)
    for n, share in enumerate(tp.daily_targets(target, days), start=1):
        day = first.replace(day=n)
        pace += share
        actual = actuals.get(day.isoformat()) if day < today else None
        if actual is not None:
            to_date += actual
        rows.append({
            "day": day.isoformat(), "target": fmt.money(share, cur),
            "pace": fmt.money(pace, cur), "today": day == today,
            "actual": fmt.money(actual, cur) if actual is not None else fmt.DASH,
            "to_date": fmt.money(to_date, cur) if actual is not None else fmt.DASH,
            "css": "" if actual is None else ("behind" if to_date < pace else "ahead"),
        })
    return rows


def overview_pace(targets: dict[str, Any], first: date, last: date, today: date, lang: str,
                  currency: str) -> str | None:
    """The overview's GMV card line: where the month should be by the view's last full day
    (the 时间进度 beside it) and how far the GMV is from it; None where no target applies."""
    share = time_progress(first, last, today)
    target = (targets.get("targets") or {}).get("gmv")
    month = target_month(first, last)
    if share is None or target is None or month is None:
        return None
    days = (month[1] - month[0]).days + 1
    expected = tp.expected_by(target, days, round(share * days))
    entry = ((targets.get("progress") or {}).get("metrics") or {}).get("gmv") or {}
    actual = entry.get("actual")
    words = {"expected": fmt.money(expected, currency)}
    if actual is None:
        return translate(lang, "target_plan.overview.expected", **words)
    gap = Decimal(actual) - expected
    return translate(lang, "target_plan.overview.behind" if gap < 0 else
                     "target_plan.overview.ahead", gap=fmt.money(abs(gap), currency), **words)


# --- the plan as table rows --------------------------------------------------------------------

def _pct(value: Decimal | None) -> str:
    return fmt.DASH if value is None else fmt.percent(float(value), 2)


def _rate_input(value: Decimal | None) -> str:
    return "" if value is None else format((value * 100).normalize(), "f")


def month_gmv_targets(db_url: str, store_id: int, year: int) -> dict[str, Decimal]:
    """The GMV target of each month of ``year`` as ``monthly_targets`` holds it now."""
    from sqlalchemy import select

    from storeops.metrics.models import MonthlyTarget

    with session_factory(db_url)() as session:
        rows = session.execute(select(MonthlyTarget.month, MonthlyTarget.value).where(
            MonthlyTarget.store_id == store_id, MonthlyTarget.metric == "gmv",
            MonthlyTarget.month.like(f"{year:04d}-%")))
        return {month: Decimal(value) for month, value in rows}


def plan_view(p: tp.Plan, currency: str, lang: str, today: date,
              month_targets: dict[str, Decimal] | None = None) -> dict[str, Any]:
    """``month_targets``: the months' GMV targets now; one set apart from the plan (by the
    overview's month form) is shown beside the plan's figure."""
    def row(c: tp.Cell, **more: Any) -> dict[str, Any]:
        return {"period": c.period, "category": c.category, "gmv": fmt.money(c.gmv, currency),
                "value": format(c.gmv, "f"), "share": _pct(c.share),
                "year_share": _pct(c.gmv / p.gmv if p.gmv else None), "pinned": c.pinned,
                "cell": c.period, **more}

    this_month = f"{today.year:04d}-{today.month:02d}"
    months = [row(c, uv=fmt.count(c.uv), uv_input="" if c.uv is None else str(c.uv),
                  conversion=_pct(c.conversion_rate),
                  conversion_input=_rate_input(c.conversion_rate),
                  aov=fmt.money(c.aov, currency), aov_input="" if c.aov is None else str(c.aov),
                  current=c.period == this_month,
                  apart=_apart((month_targets or {}).get(c.period), c.gmv, currency))
              for c in p.level(tp.MONTH)]
    cats = p.categories() if p.by_category else []
    matrix = []
    for name in cats:
        cells = {c.period: row(c) for c in p.level(tp.MONTH_CATEGORY) if c.category == name}
        matrix.append({"category": name, "months": [cells.get(m["period"]) for m in months]})
    basis = translate(lang, f"target_plan.basis.{p.basis}")
    return {
        "year": p.year, "gmv": fmt.money(p.gmv, currency), "value": format(p.gmv, "f"),
        "basis": basis, "by_category": p.by_category,
        "quarters": [row(c) for c in p.level(tp.QUARTER)], "months": months,
        "categories": [row(c) for c in p.level(tp.CATEGORY)], "matrix": matrix,
    }


def _apart(target: Decimal | None, planned: Decimal, currency: str) -> str | None:
    return None if target is None or target == planned else fmt.money(target, currency)


def _context(request: Request, sc: Scope, year: int, *, error: str | None = None,
             typed: dict[str, str] | None = None) -> dict[str, Any]:
    from storeops.metrics.target_plan_store import load_plan, plan_info

    lang = page_lang(request)
    today = today_of(sc)
    db = db_url_of(request)
    with session_factory(db)() as session:
        found = load_plan(session, sc.store.id, year)
        info = plan_info(session, sc.store.id, year)
    updated_at = None
    if info and info["updated_at"] is not None:
        updated_at = info["updated_at"].astimezone(zone(sc.store.timezone)).strftime(
            "%Y-%m-%d %H:%M")
    return {
        "year": year, "years": [year - 1, year, year + 1], "this_year": today.year,
        "plan": plan_view(found, sc.store.currency, lang, today,
                          month_gmv_targets(db, sc.store.id, year)) if found else None,
        "updated_by": info["updated_by"] if info else None, "updated_at": updated_at,
        "pace": month_pace(db, sc, today, lang),
        "error": error, "typed": typed or {},
        "saved": request.query_params.get("saved") == "1",
        "store_name": sc.store.name,
    }


def _year(text: str | int | None, default: int) -> int:
    if text in (None, ""):
        return default
    value = str(text).strip()
    if not value.isdigit() or not 2000 <= int(value) <= 2100:
        raise tp.TargetPlanError(f"year {text!r}: between 2000 and 2100",
                                 key="target_plan.bad_year", year=str(text))
    return int(value)


@router.get("/targets")
def targets_page(
    request: Request,
    user: CurrentUser = require(Permission.KPI_VIEW),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
    year: str | None = Query(None, max_length=FORM_WORD_CHARS),
) -> Response:
    sc = _scope(request, store)
    lang = page_lang(request)
    try:
        chosen = _year(year, today_of(sc).year)
    except StoreopsError as exc:
        context = _context(request, sc, today_of(sc).year, error=localise(exc, lang))
        return render(request, "targets.html", context, user=user, sc=sc, status=422)
    return render(request, "targets.html", _context(request, sc, chosen), user=user, sc=sc)


@router.post("/targets/plan")
def post_plan(
    request: Request,
    user: CurrentUser = require(Permission.TARGET_EDIT),
    store: str = Form("", max_length=STORE_NAME_CHARS),
    year: str = Form(..., max_length=FORM_WORD_CHARS),
    gmv: str = Form(..., max_length=TARGET_VALUE_CHARS),
    by_category: str = Form(""),
) -> Response:
    """Make (or re-make: the cells set by hand are kept) the plan of a year."""
    from storeops.metrics.target_plan_store import make_plan

    sc = _scope(request, store)
    lang = page_lang(request)
    typed = {"year": year, "gmv": gmv, "by_category": by_category}
    chosen = today_of(sc).year
    try:
        chosen = _year(year, chosen)
        make_plan(db_url_of(request), sc.store.id, chosen, gmv, today=today_of(sc),
                  by_category=bool(by_category), actor=user.username)
    except StoreopsError as exc:
        context = _context(request, sc, chosen, error=localise(exc, lang), typed=typed)
        return render(request, "targets.html", context, user=user, sc=sc, status=422)
    return RedirectResponse(_page_url(sc, chosen, saved="1"), status_code=303)


@router.post("/targets/cell")
def post_cell(
    request: Request,
    user: CurrentUser = require(Permission.TARGET_EDIT),
    store: str = Form("", max_length=STORE_NAME_CHARS),
    year: str = Form(..., max_length=FORM_WORD_CHARS),
    cell: str = Form(..., max_length=FORM_WORD_CHARS),
    category: str = Form("", max_length=CATEGORY_CHARS),
    gmv: str = Form("", max_length=TARGET_VALUE_CHARS),
    conversion_rate: str = Form("", max_length=TARGET_VALUE_CHARS),  # a percentage
    aov: str = Form("", max_length=TARGET_VALUE_CHARS),
    uv: str = Form("", max_length=TARGET_VALUE_CHARS),
    unpin: str = Form(""),
) -> Response:
    """One cell edited: its GMV (pinned, the rest rebalancing), a month's conversion rate (as a
    percentage), AOV or UV (its conversion follows), or a pinned cell let go. HTMX gets the
    plan's table back (with the reason above it when the edit is refused, nothing changed); a
    plain form post comes back to the page (422 with the reason when refused)."""
    from storeops.metrics import target_plan_store as store_io

    sc = _scope(request, store)
    lang = page_lang(request)
    htmx = bool(request.headers.get("HX-Request"))
    chosen = today_of(sc).year
    error = None
    try:
        chosen = _year(year, chosen)
        key = tp.parse_cell(chosen, cell, category or None)
        db, sid, who = db_url_of(request), sc.store.id, user.username
        if unpin:
            store_io.unpin_cell(db, sid, chosen, key, actor=who)
        elif gmv.strip():
            store_io.edit_cell(db, sid, chosen, key, gmv.strip(), actor=who)
        elif conversion_rate.strip() or aov.strip() or uv.strip():
            if key[0] != tp.MONTH:
                raise tp.TargetPlanError("conversion, AOV and UV belong to a month",
                                         key="target_plan.rates_need_month")
            rate = parse_decimal(conversion_rate) if conversion_rate.strip() else None
            store_io.edit_month_rates(db, sid, chosen, key[1],
                                      conversion_rate=None if rate is None else rate / 100,
                                      aov=aov.strip() or None,
                                      uv=uv.strip().replace(",", "") or None, actor=who)
        else:
            raise tp.TargetPlanError("nothing to change", key="target_plan.nothing_to_edit")
    except StoreopsError as exc:
        error = localise(exc, lang)
    if htmx:
        context = _context(request, sc, chosen, error=error)
        return render(request, "_targets_plan.html", context, user=user, sc=sc)
    if error:
        context = _context(request, sc, chosen, error=error)
        return render(request, "targets.html", context, user=user, sc=sc, status=422)
    return RedirectResponse(_page_url(sc, chosen, saved="1"), status_code=303)


# --- the plan as XLSX --------------------------------------------------------------------------

EXPORT_COLUMNS = (("level", "text"), ("period", "text"), ("category", "text"),
                  ("gmv", "money"), ("share", "rate"), ("uv", "count"),
                  ("conversion_rate", "rate"), ("aov", "money"), ("pinned", "text"))


def export_rows(p: tp.Plan, lang: str) -> list[dict[str, Any]]:
    """The year, then every cell in the page's order (quarters, months, categories, months'
    categories); shares of the parent, rates as fractions."""
    words = {level: translate(lang, f"target_plan.level.{level}") for level in tp.LEVELS}
    pinned = translate(lang, "target_plan.pinned")
    rows = [{"level": words[tp.YEAR], "period": str(p.year), "category": "", "gmv": p.gmv,
             "share": Decimal(1), "uv": None, "conversion_rate": None, "aov": None,
             "pinned": ""}]
    for c in p.cells.values():
        rows.append({"level": words[c.level], "period": c.period, "category": c.category,
                     "gmv": c.gmv, "share": c.share, "uv": c.uv,
                     "conversion_rate": c.conversion_rate, "aov": c.aov,
                     "pinned": pinned if c.pinned else ""})
    return rows


@router.get("/targets/plan.xlsx")
def plan_xlsx(
    request: Request,
    user: CurrentUser = require(Permission.KPI_VIEW),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
    year: str | None = Query(None, max_length=FORM_WORD_CHARS),
) -> Response:
    from storeops.metrics.target_plan_store import load_plan
    from storeops.web.exports_page import xlsx_response
    from storeops.web.pages import render_error
    from storeops.web.table_export import Column

    sc = _scope(request, store)
    lang = page_lang(request)
    try:
        chosen = _year(year, today_of(sc).year)
    except StoreopsError as exc:
        return render_error(request, 422, None, detail=localise(exc, lang))
    with session_factory(db_url_of(request))() as session:
        found = load_plan(session, sc.store.id, chosen)
    if found is None:
        return render_error(request, 404, None,
                            detail=translate(lang, "target_plan.no_plan", year=chosen))
    columns = [Column(key, translate(lang, f"target_plan.export.{key}"), kind)
               for key, kind in EXPORT_COLUMNS]
    name = f"{sc.store.name}_{chosen}_targets.xlsx"
    return xlsx_response(columns, export_rows(found, lang), name,
                         sheet_name=translate(lang, "target_plan.export.sheet", year=chosen),
                         currency_symbol=fmt.currency_symbol(sc.store.currency))
