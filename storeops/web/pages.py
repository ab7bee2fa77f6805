"""The cockpit's pages: server-rendered Jinja2, HTMX for the SKU table, ECharts for charts.

Every page but the login goes through ``require(permission)``; the data come from the same
services the API uses, a handful of calls per page.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from storeops.accounts.permissions import Permission
from storeops.accounts.throttle import TooManyAttempts
from storeops.api.auth import (
    CurrentUser,
    db_url_of,
    log_in,
    log_out,
    login_csrf_ok,
    logout_csrf_ok,
    page_csrf_token,
    require,
    set_pending_cookies,
)
from storeops.api.context import Scope, resolve_scope, scope
from storeops.api.errors import page_user, status_of
from storeops.api.limits import (
    FORM_WORD_CHARS,
    SHEET_NAME_CHARS,
    STORE_NAME_CHARS,
    TARGET_VALUE_CHARS,
    TextTooLong,
    check_text,
)
from storeops.api.targets_io import month_of_scope, read_targets, write_targets
from storeops.api.uploads import KINDS, import_upload
from storeops.catalog.stores import StoreError, no_store_yet
from storeops.common.errors import StoreopsError, Term, localise
from storeops.common.money import parse_decimal
from storeops.common.timeutil import local_date, utcnow
from storeops.db.engine import session_factory
from storeops.metrics.cockpit import overview_figures
from storeops.metrics.comparison_periods import COMPARE_CHOICES, check_compare
from storeops.metrics.month_pace import target_month, time_progress
from storeops.metrics.periods import PeriodError, parse_month
from storeops.metrics.targets import RATE_METRICS, TARGET_METRICS, check_value
from storeops.web import sku_data, sku_table
from storeops.web.field_errors import FieldErrors, PeriodForm, import_error_field
from storeops.web.i18n import (
    DEFAULT_LANG,
    LANGS,
    normalize_lang,
    reject_detail,
    reject_reason,
    reject_text,
    translator,
)
from storeops.web.i18n import metric_label as _metric_label
from storeops.web.import_history import recent_imports
from storeops.web.import_templates import FORMATS as TEMPLATE_FORMATS
from storeops.web.import_templates import TEMPLATE_KINDS, template_bytes
from storeops.web.overview_choices import ChoiceError, compare_params, overview_choice
from storeops.web.overview_trend import trend_context
from storeops.web.views import (
    SKU_METRICS,
    default_period,
    funnel_view,
    kpi_cards,
    period_shortcuts,
    traffic_chart,
)

WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATE_DIR = WEB_DIR / "templates"
LANG_COOKIE = "lang"
# The pages that show the period form, where a bad period is marked (a 422) rather than an error.
PERIOD_FORM_PAGES = frozenset(p.name for p in TEMPLATE_DIR.glob("*.html")
                              if '"_period.html"' in p.read_text(encoding="utf-8"))

router = APIRouter(include_in_schema=False)
templates = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.globals["COMPARE_CHOICES"] = COMPARE_CHOICES  # the period form's comparison select


def page_lang(request: Request) -> str:
    """?lang= wins, then the lang cookie, then zh-CN."""
    return (
        normalize_lang(request.query_params.get("lang"))
        or normalize_lang(request.cookies.get(LANG_COOKIE))
        or DEFAULT_LANG
    )


def _query_url(path: str, params: dict[str, Any]) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return path + (f"?{urlencode(clean)}" if clean else "")


def scope_params(sc: Scope | None) -> dict[str, str]:
    """The query that keeps a page on the same store and period."""
    if sc is None:
        return {}
    return {"store": sc.store.name, "from": sc.first.isoformat(), "to": sc.last.isoformat()}


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    user: CurrentUser | None = None,
    sc: Scope | None = None,
) -> HTMLResponse:
    lang = page_lang(request)
    t = translator(lang)
    # The comparison chosen is kept on every page (the period form carries it).
    base_params = {**scope_params(sc), **compare_params(request.query_params.get("compare"))}

    def url(path: str, **params: Any) -> str:
        return _query_url(path, {**base_params, **params})

    quick_periods = []  # (label, href, is the page's period) of 昨天, 近7天 … 近一年
    if sc is not None:
        for key, first, last in period_shortcuts(store_today(sc)):
            quick_periods.append((t(f"period.shortcut_{key}"), _query_url(request.url.path, {
                **base_params, "from": first.isoformat(), "to": last.isoformat()}),
                (first, last) == (sc.first, sc.last)))
    # A bad period asked for (see _page_period_scope): the form as typed, its fields marked,
    # on the pages that have the period form (the others have no period to get wrong).
    period_form = getattr(request.state, "period_form", None)
    if template not in PERIOD_FORM_PAGES:
        period_form = None
    if period_form is not None and status < 400:
        status = 422
    other_lang = "en" if lang != "en" else "zh-CN"
    switch_params = dict(request.query_params)
    switch_params["lang"] = other_lang
    html = templates.get_template(template).render(
        request=request, lang=lang, t=t, user=user, sc=sc, url=url,
        metric_label=lambda key: _metric_label(key, lang),
        reject_reason=lambda key: reject_reason(lang, key),
        reject_detail=lambda key, reason: reject_detail(lang, key, reason),
        lang_switch_url=_query_url(request.url.path, switch_params),
        quick_periods=quick_periods, period_form=period_form,
        Permission=Permission, csrf_token=page_csrf_token(request), **context,
    )
    response = HTMLResponse(html, status_code=status)
    set_pending_cookies(request, response)  # the pre-login CSRF cookie, when just made
    chosen = normalize_lang(request.query_params.get("lang"))
    if chosen in LANGS:
        response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 24 * 3600, samesite="lax")
    return response


def render_error(
    request: Request, status: int, key: str | None, *, detail: str | None = None
) -> HTMLResponse:
    t = translator(page_lang(request))
    message = detail or t(key or "error.title")
    return render(request, "error.html", {"status": status, "message": message}, status=status,
                  user=page_user(request))


def store_today(sc: Scope) -> date:
    return local_date(utcnow(), sc.store.timezone)


def full_days_default(sc: Scope) -> Scope:
    """A page asked for no period shows the last 30 full days up to yesterday (the API keeps
    its own default: the 30 days up to the last day with data)."""
    if sc.explicit_period:
        return sc
    first, last = default_period(store_today(sc))
    return dataclasses.replace(sc, first=first, last=last)


def _page_period_scope(request: Request, session: Any, store: str | None) -> Scope:
    """The store and period a page asks for. A bad period (not a date, ending before it
    starts, too long) shows the page with the default period's figures instead, its period
    form keeping the dates as typed with the field at fault marked: ``render`` answers 422."""
    params = request.query_params
    try:
        sc = resolve_scope(session, store, params.get("from"), params.get("to"))
    except PeriodError as exc:
        request.state.period_form = PeriodForm.refused(exc, params, page_lang(request))
        sc = resolve_scope(session, store, None, None)
    return full_days_default(sc)


def page_scope(
    request: Request,
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
) -> Scope:
    """:func:`storeops.api.context.scope` with the pages' default period and period errors."""
    with session_factory(db_url_of(request))() as session:
        return _page_period_scope(request, session, store)


def download_scope(sc: Scope = Depends(scope)) -> Scope:
    """A download's store and period: a bad period stays an error (a file of the default
    period's figures would pass for the one asked for)."""
    return full_days_default(sc)


def optional_scope(request: Request) -> Scope | None:
    """The page's store and period, or None while the database has no store yet."""
    params = request.query_params
    with session_factory(db_url_of(request))() as session:
        try:
            return _page_period_scope(request, session, params.get("store"))
        except StoreError:
            if params.get("store"):
                raise
            return None


def _safe_next(target: str | None) -> str:
    # Only local paths: an open redirect would hand the login to another site.
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# --- login -----------------------------------------------------------------------------------

@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login")
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
    csrf_token: str = Form(""),
) -> Response:
    context: dict[str, Any] = {"next": _safe_next(next), "username": username}
    if not login_csrf_ok(request, csrf_token):
        # Another site's form, or a login page older than its cookie: show a fresh form.
        return render(request, "login.html", {**context, "error": "login.expired"}, status=403)
    response = RedirectResponse(_safe_next(next), status_code=303)
    try:
        ok = log_in(request, response, username, password)
    except TooManyAttempts as exc:
        page = render(request, "login.html",
                      {**context, "error": "login.throttled",
                       "retry_minutes": max(1, -(-exc.retry_after // 60))}, status=429)
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    if not ok:
        return render(request, "login.html", {**context, "error": "login.failed"}, status=401)
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: str = Form("")) -> Response:
    if not logout_csrf_ok(request, csrf_token):
        return render_error(request, 403, "error.csrf")
    response = RedirectResponse("/login", status_code=303)
    log_out(request, response)
    return response


# --- overview --------------------------------------------------------------------------------

@router.get("/")
def overview(
    request: Request,
    user: CurrentUser = require(Permission.KPI_VIEW),
    sc: Scope | None = Depends(optional_scope),
) -> Response:
    if sc is None:
        target = "/import" if user.can(Permission.IMPORT_RUN) else None
        if target:
            return RedirectResponse(target, status_code=303)
        raise no_store_yet()
    from storeops.web.alerts_pages import overview_card as alerts_overview_card
    from storeops.web.sla_page import overview_card as sla_overview_card
    from storeops.web.targets_page import overview_pace as gmv_pace_line

    lang = page_lang(request)
    db, sid = db_url_of(request), sc.store.id
    try:
        choice = overview_choice(request.query_params, sc.first, sc.last)
    except ChoiceError as exc:  # a hand-made URL: the page's words for what is offered
        return render_error(request, 422, exc.message_key)
    # Every figure of the page in one cached result (recomputed when the data changes).
    # By day up to the day cut's limit, or as chosen; the baseline's trend with a metric's.
    figures = overview_figures(db, sid, sc.first, sc.last, series_by=choice.by,
                               compare=choice.compare, baseline_trend=bool(choice.metric),
                               top=10, top_metrics=SKU_METRICS)
    comparison, sources = figures["comparison"], figures["sources"]
    funnel, top = figures["funnel"], figures["top"]
    month = month_of_scope(sc)
    targets = read_targets(db, sc, month)
    steps, weakest_text = funnel_view(funnel, lang)
    prev = comparison.get("previous_period") or {}
    trend = trend_context(sc, choice, figures, request.query_params, lang, _query_url)
    # A month's target speaks only about views inside that month (storeops.metrics.month_pace).
    targets_apply = target_month(sc.first, sc.last) is not None
    context = {
        "cards": kpi_cards(comparison, targets["targets"], targets["progress"], lang,
                           sc.store.currency, links=trend["card_links"],
                           selected=choice.metric, targets_apply=targets_apply,
                           time_progress=time_progress(sc.first, sc.last, store_today(sc))),
        "charts": {"trend": trend.pop("trend_chart"),
                   "traffic": traffic_chart(sources, lang, sc.store.currency)},
        **trend,
        "compare": choice.compare,
        "targets_apply": targets_apply,
        "has_traffic": any(s.get("uv") for s in sources),
        "funnel_steps": steps,
        "weakest_text": weakest_text,
        "top_skus": [sku_table.table_row(r, lang, sc.store.currency)
                     for r in sku_data.top_rows(db, sid, sc.first, sc.last, top,
                                                choice.compare)],
        "sku_columns": sku_table.PAGE_COLUMNS,
        "month": month,
        "targets": targets["targets"],
        "target_conversion_pct": _percent_text(targets["targets"].get("conversion_rate")),
        "prev_first": prev.get("from"),
        "prev_last": prev.get("to"),
        "saved": request.query_params.get("saved") == "1",
        # Set by post_targets when it refuses the form: the reasons and the values as typed.
        "target_errors": getattr(request.state, "target_errors", None) or {},
        "target_form": getattr(request.state, "target_form", None),
        "sla_card": sla_overview_card(db, user, sc, lang),  # on-time shipping, last 30 days
        "alerts_card": alerts_overview_card(db, user, sc, lang),  # alerts not resolved
        # GMV: where the month should be by the view's last full day (storeops.web.targets_page)
        "gmv_pace": gmv_pace_line(targets, sc.first, sc.last, store_today(sc), lang,
                                  sc.store.currency) if targets_apply else None,
    }
    return render(request, "overview.html", context, user=user, sc=sc)


def _percent_text(rate: Decimal | None) -> str:
    return "" if rate is None else format((Decimal(rate) * 100).normalize(), "f")


def _target_value(text: str, *, percent: bool = False) -> Decimal | None:
    value = parse_decimal(text)
    if value is None:
        return None
    return value / 100 if percent else value


@router.post("/targets")
def post_targets(
    request: Request,
    user: CurrentUser = require(Permission.TARGET_EDIT),
    sc: Scope = Depends(page_scope),
    month: str = Form(..., max_length=FORM_WORD_CHARS),
    gmv: str = Form("", max_length=TARGET_VALUE_CHARS),
    uv: str = Form("", max_length=TARGET_VALUE_CHARS),
    conversion_rate: str = Form("", max_length=TARGET_VALUE_CHARS),
    aov: str = Form("", max_length=TARGET_VALUE_CHARS),
) -> Response:
    """The overview's target form; the conversion rate is typed as a percentage. A bad value
    shows the overview again (422) with every value as typed and each field at fault marked,
    its reason beside it; nothing is saved."""
    lang = page_lang(request)
    typed = {"month": month, "gmv": gmv, "uv": uv, "conversion_rate": conversion_rate,
             "aov": aov}
    errors: FieldErrors = {}
    values: dict[str, Decimal | None] = {}
    try:
        parse_month(month.strip())
    except StoreopsError as exc:
        errors["month"] = localise(exc, lang)
    for metric in TARGET_METRICS:  # each field checked on its own: every bad one is marked
        try:
            value = _target_value(typed[metric], percent=metric in RATE_METRICS)
            values[metric] = None if value is None else check_value(metric, value)
        except StoreopsError as exc:
            errors[metric] = localise(exc, lang)
    if not errors:
        try:
            write_targets(db_url_of(request), sc.store.id, month.strip(), values)
        except StoreopsError as exc:
            errors["form"] = localise(exc, lang)
    if errors:
        request.state.target_errors = errors
        request.state.target_form = typed
        page = overview(request, user, sc)
        page.status_code = 422
        return page
    return RedirectResponse(_query_url("/", {
        **scope_params(sc), **compare_params(request.query_params.get("compare")),
        "saved": "1"}), status_code=303)


# --- SKUs ------------------------------------------------------------------------------------

def sku_compare(request: Request) -> str:
    """The baseline the SKU table's change column compares with (the page's ``compare``)."""
    return check_compare(request.query_params.get("compare"))


def _sku_rows(db: str, sc: Scope, compare: str) -> list[dict[str, Any]]:
    return sku_data.table_rows(db, sc.store.id, sc.first, sc.last, compare)


@router.get("/skus")
def skus(
    request: Request,
    user: CurrentUser = require(Permission.SKU_VIEW),
    sc: Scope = Depends(page_scope),
) -> Response:
    lang = page_lang(request)
    db = db_url_of(request)
    query = sku_table.SkuQuery.from_params(request.query_params)
    compare = sku_compare(request)
    page = sku_table.listing(_sku_rows(db, sc, compare), query)
    context = {
        "compare": compare,
        "query": query,
        "page": page,
        "rows": [sku_table.table_row(r, lang, sc.store.currency) for r in page.rows],
        "columns": sku_table.PAGE_COLUMNS,  # the files' columns too (sku_table.COLUMNS)
        "text_sorts": sku_table.TEXT_SORTS,
    }
    # HTMX asks for the table only when a filter, a sort or a page changes.
    template = "_sku_table.html" if request.headers.get("HX-Request") else "skus.html"
    return render(request, template, context, user=user, sc=sc)


# --- imports ---------------------------------------------------------------------------------

@router.get("/import")
def import_page(
    request: Request,
    user: CurrentUser = require(Permission.IMPORT_RUN),
    sc: Scope | None = Depends(optional_scope),
    history_store: str = Query("", max_length=STORE_NAME_CHARS),
) -> Response:
    """The upload form and the last imports, of every store or of ``history_store``."""
    history_store = history_store.strip()
    context: dict[str, Any] = {"kinds": KINDS, "result": None, "error": None,
                               "template_kinds": TEMPLATE_KINDS, "history": [],
                               "history_store": history_store, "history_errors": {}}
    if history_store and history_store not in {s.name for s in (sc.stores if sc else ())}:
        context["history_errors"] = {"history_store": translator(page_lang(request))(
            "forms.history_unknown_store", name=history_store)}
        return render(request, "import.html", context, status=422, user=user, sc=sc)
    context["history"] = recent_imports(db_url_of(request), store=history_store or None)
    return render(request, "import.html", context, user=user, sc=sc)


@router.post("/import")
async def run_import(
    request: Request,
    user: CurrentUser = require(Permission.IMPORT_RUN),
    sc: Scope | None = Depends(optional_scope),
    kind: str = Form(..., max_length=FORM_WORD_CHARS),
    file: UploadFile | None = File(None),
    format: str = Form("jd", max_length=FORM_WORD_CHARS),
    mapping: UploadFile | None = File(None),
    store: str = Form(""),  # checked below: a name too long is marked on the form
    complete: bool = Form(False),
    sheet: str = Form("", max_length=SHEET_NAME_CHARS),
) -> Response:
    """Import into the store named in the form (created when new), else the page's store.
    A refused import shows the form again with every choice kept and the field at fault
    marked (files cannot be kept: the page says to choose them again)."""
    target_store = store.strip() or (sc.store.name if sc else None)
    context: dict[str, Any] = {"kinds": KINDS, "result": None, "error": None,
                               "template_kinds": TEMPLATE_KINDS, "chosen_kind": kind,
                               "chosen_format": format, "chosen_store": store,
                               "chosen_complete": complete, "chosen_sheet": sheet}
    has_file = file is not None and bool(file.filename)

    def refused(exc: StoreopsError, field: str) -> Response:
        context["error"] = localise(exc, page_lang(request))
        context["form_errors"] = {field: context["error"]}
        context["file_again"] = has_file
        context["mapping_again"] = format == "mapping" and bool(mapping and mapping.filename)
        context["history"] = recent_imports(db_url_of(request))
        return render(request, "import.html", context, status=status_of(exc), user=user, sc=sc)

    try:
        check_text(store, Term("the store name"), STORE_NAME_CHARS)
    except TextTooLong as exc:
        return refused(exc, "store")
    try:
        context["result"] = await import_upload(
            db_url_of(request), kind, file, fmt=format,
            mapping=mapping if format == "mapping" else None,
            store=target_store, complete=complete, sheet=sheet.strip() or None,
            reason_text=partial(reject_text, page_lang(request)),
        )
    except StoreopsError as exc:
        return refused(exc, import_error_field(exc, kind=kind, has_file=has_file))
    with session_factory(db_url_of(request))() as session:
        # Show the store the file went into (it may have just been created).
        sc = resolve_scope(session, context["result"].summary.get("store") or target_store,
                           None, None)
    context["history"] = recent_imports(db_url_of(request))
    return render(request, "import.html", context, user=user, sc=sc)


@router.get("/import/templates/{name}", dependencies=[require(Permission.IMPORT_RUN)])
def import_template(name: str) -> Response:
    """An empty products/traffic/ads file with the accepted headers (``ads.xlsx`` …)."""
    kind, _, ext = name.partition(".")
    if kind not in TEMPLATE_KINDS or ext not in TEMPLATE_FORMATS:
        raise StarletteHTTPException(404)
    filename = f"storeops-{kind}-template.{ext}"
    return Response(template_bytes(kind, ext), media_type=TEMPLATE_FORMATS[ext],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
