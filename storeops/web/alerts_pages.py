"""Pages of alerts (预警): the store's alerts with filters and paging (/alerts), one alert with
its words, figure, baseline and history and the lifecycle forms (/alerts/{id}), the rules
(/alerts/rules: enable, edit, test against past data), and the overview's "open alerts" card.

Reads go to the alerts tables, bounded (a page of ``PAGE_SIZE`` rows, at most ``MAX_PAGE``
pages, a date range of at most ``RANGE_MAX_DAYS`` days, a scope search of ``SCOPE_CHARS``);
every change goes through :mod:`storeops.alerts.lifecycle` (alerts) or
:mod:`storeops.alerts.rules_store` (rules), whose refusals come back beside the field at fault
in the reader's language. ``ALERT_VIEW`` sees, ``ALERT_MANAGE`` acts.

The sub-navigation (预警, 规则, 通知渠道, 消息) is ``templates/_alerts_subnav.html``; the
channels and the inbox pages (``notify_pages.py``) include it too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from storeops.accounts.permissions import Permission
from storeops.alerts import lifecycle
from storeops.alerts.messages import alert_text, detail
from storeops.alerts.models import Alert, AlertEvent, AlertRule
from storeops.api.auth import CurrentUser, db_url_of, require
from storeops.api.context import Scope
from storeops.api.limits import STORE_NAME_CHARS
from storeops.catalog.models import Store
from storeops.common.errors import StoreopsError, localise
from storeops.common.timeutil import zone
from storeops.db.engine import session_factory, unit_of_work
from storeops.metrics.definitions import METRICS
from storeops.metrics.periods import PeriodError, parse_day
from storeops.web import format as fmt
from storeops.web.i18n import translate
from storeops.web.orders_pages import (
    actor_of,
    form_text,
    like_prefix,
    local_time,
    page_links,
    paged,
    store_scope,
)
from storeops.web.pages import page_lang, render, render_error

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
MAX_PAGE = 200  # 10,000 alerts deep at most: past that, narrow the filters
RANGE_MAX_DAYS = 366  # the list's date range, and a rule's test against past data
SCOPE_CHARS = 100
NOTE_CHARS = 1000
ASSIGNEE_CHARS = 120
CARD_LATEST = 5  # alerts the overview's card lists
TIMELINE_MAX = 500  # events of one alert shown (the newest)

STATUS_CHOICES = ("active", "open", "acknowledged", "resolved", "all")  # active: not resolved
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
ACTIONS = ("acknowledge", "assign", "note", "resolve", "reopen")


def t_(lang: str, key: str, **params: Any) -> str:
    return translate(lang, f"alert_pages.{key}", **params)


def _q(text: str) -> str:
    return quote(text, safe="")


# --- figures in 商智 formats -------------------------------------------------------------------

def _decimal(text: str | None) -> Decimal | None:
    if text in (None, ""):
        return None
    try:
        value = Decimal(str(text))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def unit_of(alert: Alert, d: Mapping[str, Any]) -> str:
    """money | rate | count: the detail's word, else the metric's definition."""
    unit = d.get("unit")
    if unit in ("money", "rate", "count"):
        return str(unit)
    metric = METRICS.get(alert.metric)
    return metric.unit if metric is not None else "count"


def figure(text: str | None, unit: str, currency: str, lang: str, *,
           compact: bool = True) -> tuple[str, str]:
    """(shown, exact) of an alert's value or baseline: money in ¥ and 万 (exact ¥ in the
    title), rates as percentages, counts with separators; "—" when unknown."""
    value = _decimal(text)
    if value is None:
        return fmt.DASH, ""
    if unit == "money":
        exact = fmt.money(value, currency)
        return (fmt.money_compact(value, currency, lang) if compact else exact), exact
    if unit == "rate":
        return fmt.percent(float(value)), ""
    if value == value.to_integral_value():
        return fmt.count(int(value)), ""
    return f"{value:,.2f}", ""


def change_of(alert: Alert, d: Mapping[str, Any]) -> float | None:
    """The change against the baseline: the detail's ``change``, else value / baseline - 1."""
    raw = d.get("change")
    if raw is not None:
        found = _decimal(raw)
        return None if found is None else float(found)
    value, base = _decimal(alert.value), _decimal(alert.baseline)
    if value is None or base is None or base == 0:
        return None
    return float(value / base - 1)


@dataclass(frozen=True)
class Row:
    id: int
    href: str
    severity: str
    severity_label: str
    rule: str
    scope: str
    value: str
    value_exact: str
    baseline: str
    baseline_exact: str
    change: str
    change_css: str
    since: str
    status: str
    status_label: str
    assignee: str


def rule_name(alert: Alert, d: Mapping[str, Any], names: Mapping[str, str]) -> str:
    return str(d.get("rule_name") or names.get(alert.rule_code) or alert.rule_code)


def alert_row(alert: Alert, names: Mapping[str, str], tz: str, currency: str,
              lang: str) -> Row:
    d = detail(alert)
    unit = unit_of(alert, d)
    value, value_exact = figure(alert.value, unit, currency, lang)
    base, base_exact = figure(alert.baseline, unit, currency, lang)
    change, css = fmt.change_badge(alert.metric, change_of(alert, d))
    return Row(
        id=alert.id, href=f"/alerts/{alert.id}", severity=alert.severity,
        severity_label=t_(lang, f"severity.{alert.severity}"), rule=rule_name(alert, d, names),
        scope=alert.scope_label or alert.scope_key, value=value, value_exact=value_exact,
        baseline=base, baseline_exact=base_exact, change=change, change_css=css,
        since=local_time(alert.since or alert.raised_at, tz), status=alert.status,
        status_label=t_(lang, f"status.{alert.status}"), assignee=alert.assignee or fmt.DASH)


def rule_names(session: Session, store_id: int) -> dict[str, str]:
    return {code: name or code for code, name in session.execute(
        select(AlertRule.code, AlertRule.name).where(AlertRule.store_id == store_id))}


# --- the list ----------------------------------------------------------------------------------

@dataclass
class AlertFilters:
    status: str = "active"
    severity: str = ""
    rule: str = ""
    q: str = ""
    first: date | None = None
    last: date | None = None
    typed: dict[str, str] = field(default_factory=dict)  # as typed, for the form
    errors: dict[str, str] = field(default_factory=dict)  # field -> message

    def params(self) -> dict[str, str]:
        """The query that keeps these filters (the good ones)."""
        return {"status": self.status, "severity": self.severity, "rule": self.rule,
                "q": self.q, "from": self.first.isoformat() if self.first else "",
                "to": self.last.isoformat() if self.last else ""}


def parse_filters(params: Mapping[str, str], rule_codes: set[str], lang: str) -> AlertFilters:
    """The list's filters from the query; each bad value is dropped and named in ``errors``
    (the page then answers 422 with the form as typed and the rest of the filters applied)."""
    f = AlertFilters()
    f.typed = {k: (params.get(k) or "") for k in ("status", "severity", "rule", "q", "from",
                                                  "to")}
    status = f.typed["status"].strip()
    if status:
        if status in STATUS_CHOICES:
            f.status = status
        else:
            f.errors["status"] = t_(lang, "filter.bad_choice", value=status)
    severity = f.typed["severity"].strip()
    if severity:
        if severity in lifecycle.SEVERITIES:
            f.severity = severity
        else:
            f.errors["severity"] = t_(lang, "filter.bad_choice", value=severity)
    rule = f.typed["rule"].strip()
    if rule:
        if rule in rule_codes:
            f.rule = rule
        else:
            f.errors["rule"] = t_(lang, "filter.unknown_rule", value=rule)
    q = f.typed["q"].strip()
    if len(q) > SCOPE_CHARS:
        f.errors["q"] = t_(lang, "filter.too_long", limit=SCOPE_CHARS)
    else:
        f.q = q
    days: dict[str, date] = {}
    for name in ("from", "to"):
        text = f.typed[name].strip()
        if not text:
            continue
        try:
            days[name] = parse_day(text, name)
        except PeriodError as exc:
            f.errors[name] = localise(exc, lang)
    if "from" in days and "to" in days:
        if days["from"] > days["to"]:
            f.errors["from"] = f.errors["to"] = t_(lang, "filter.from_after_to")
            days.clear()
        elif (days["to"] - days["from"]).days + 1 > RANGE_MAX_DAYS:
            f.errors["from"] = f.errors["to"] = t_(lang, "filter.range_too_long",
                                                   days=RANGE_MAX_DAYS)
            days.clear()
    f.first, f.last = days.get("from"), days.get("to")
    return f


def _utc_start(day: date, tz: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone(tz))


def alert_query(store_id: int, f: AlertFilters, tz: str) -> Select[Any]:
    query = select(Alert).where(Alert.store_id == store_id)
    if f.status == "active":
        query = query.where(Alert.status != lifecycle.RESOLVED)
    elif f.status != "all":
        query = query.where(Alert.status == f.status)
    if f.severity:
        query = query.where(Alert.severity == f.severity)
    if f.rule:
        query = query.where(Alert.rule_code == f.rule)
    if f.q:
        # anywhere in the scope's key or label, the user's % and _ taken literally
        pattern = "%" + like_prefix(f.q)
        query = query.where(or_(Alert.scope_key.like(pattern, escape="\\"),
                                Alert.scope_label.like(pattern, escape="\\")))
    if f.first is not None:
        query = query.where(Alert.raised_at >= _utc_start(f.first, tz))
    if f.last is not None:
        query = query.where(Alert.raised_at < _utc_start(f.last + timedelta(days=1), tz))
    return query.order_by(Alert.raised_at.desc(), Alert.id.desc())


@router.get("/alerts")
def alerts_page(
    request: Request,
    user: CurrentUser = require(Permission.ALERT_VIEW),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
    page: str = Query("1", max_length=6),
) -> Response:
    sc = store_scope(request, store)
    lang = page_lang(request)
    tz, sid = sc.store.timezone, sc.store.id
    with session_factory(db_url_of(request))() as session:
        names = rule_names(session, sid)
        codes = set(names) | set(session.scalars(
            select(Alert.rule_code).where(Alert.store_id == sid).distinct()))
        f = parse_filters(request.query_params, codes, lang)
        number = page.strip()
        if not number.isdigit() or not 1 <= int(number) <= MAX_PAGE:
            f.errors["page"] = t_(lang, "filter.bad_page", max=MAX_PAGE)
            number = "1"
        paging, found = paged(session, alert_query(sid, f, tz), int(number), PAGE_SIZE)
        rows = [alert_row(a, names, tz, sc.store.currency, lang) for (a,) in found]
    params = {"store": sc.store.name, **f.params()}
    context = {
        "filters": f, "typed": f.typed, "errors": f.errors, "paging": paging,
        "links": page_links("/alerts", params, paging), "rows": rows,
        "statuses": [(s, t_(lang, f"status.{s}")) for s in STATUS_CHOICES],
        "severities": [(s, t_(lang, f"severity.{s}")) for s in reversed(lifecycle.SEVERITIES)],
        "rules": sorted(((c, names.get(c, c)) for c in codes), key=lambda r: r[1]),
        "range_max": RANGE_MAX_DAYS,
    }
    return render(request, "alerts.html", context, status=422 if f.errors else 200, user=user,
                  sc=sc)


# --- one alert ---------------------------------------------------------------------------------

def event_rows(session: Session, alert: Alert, tz: str, lang: str) -> list[dict[str, Any]]:
    events = list(session.scalars(
        select(AlertEvent).where(AlertEvent.alert_id == alert.id)
        .order_by(AlertEvent.at.desc(), AlertEvent.id.desc()).limit(TIMELINE_MAX)))
    out = []
    for ev in reversed(events):
        data = json.loads(ev.data_json) if ev.data_json else {}
        extra = ""
        if ev.action == "assigned":
            extra = t_(lang, "event.assigned_to", who=data.get("to") or t_(lang, "nobody"))
        key = f"alert_pages.event.{ev.action}"
        words = translate(lang, key)
        out.append({"at": local_time(ev.at, tz), "action": ev.action,
                    "action_label": ev.action if words == key else words,
                    "actor": _actor_text(ev.actor, lang), "note": ev.note or "",
                    "extra": extra})
    return out


def _actor_text(actor: str | None, lang: str) -> str:
    if not actor or actor in (lifecycle.SYSTEM, "rule"):
        return t_(lang, "actor_system")
    return actor.removeprefix("user:")


def series_chart(points: list[Any], unit: str, lang: str, currency: str,
                 baseline: Decimal | None) -> dict[str, Any] | None:
    """ECharts option of the recent series the check stored in the alert's detail
    (``series``: ``[[period, value], …]``, oldest first), with the baseline dashed; None when
    the detail holds no series."""
    cleaned = []
    for point in points[-60:]:
        if isinstance(point, Mapping):
            period, value = point.get("period"), point.get("value")
        elif isinstance(point, list | tuple) and len(point) == 2:
            period, value = point
        else:
            continue
        number = _decimal(value)
        cleaned.append((str(period), None if number is None else float(number)))
    if len(cleaned) < 2:
        return None
    kind = {"money": "money", "rate": "percent"}.get(unit, "count")
    name_value = t_(lang, "chart.value")
    name_base = t_(lang, "chart.baseline")
    series: list[dict[str, Any]] = [
        {"name": name_value, "type": "line", "itemStyle": {"color": "#e1251b"},
         "data": [v for _, v in cleaned]}]
    kinds = [kind]
    if baseline is not None:
        series.append({"name": name_base, "type": "line", "symbol": "none",
                       "itemStyle": {"color": "#6b7280"}, "lineStyle": {"type": "dashed"},
                       "data": [float(baseline)] * len(cleaned)})
        kinds.append(kind)
    return {
        "animationDuration": 0,
        "storeops": fmt.chart_format(currency, lang, y_axes=(kind,), series=tuple(kinds)),
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [s["name"] for s in series], "top": 0},
        "grid": {"left": 70, "right": 24, "top": 36, "bottom": 30},
        "xAxis": {"type": "category", "data": [p for p, _ in cleaned]},
        "yAxis": [{"type": "value", "scale": True}],
        "series": series,
    }


def render_alert(request: Request, user: CurrentUser, alert_id: int, *, status: int = 200,
                 errors: Mapping[str, str] | None = None,
                 form: Mapping[str, Any] | None = None, done: str = "") -> Response:
    lang = page_lang(request)
    with session_factory(db_url_of(request))() as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            return render_error(request, 404, "error.not_found")
        store = session.get(Store, alert.store_id)
        assert store is not None
        tz, currency = store.timezone, store.currency
        names = rule_names(session, store.id)
        d = detail(alert)
        unit = unit_of(alert, d)
        words = alert_text(alert, lang)
        row = alert_row(alert, names, tz, currency, lang)
        history = event_rows(session, alert, tz, lang)
        value_full, value_exact = figure(alert.value, unit, currency, lang)
        base_full, base_exact = figure(alert.baseline, unit, currency, lang)
        chart = series_chart(d.get("series") or [], unit, lang, currency,
                             _decimal(alert.baseline))
        facts = {
            "period": alert.period_key, "raised": local_time(alert.raised_at, tz),
            "last_seen": local_time(alert.last_seen_at, tz),
            "since": local_time(alert.since, tz) if alert.since else fmt.DASH,
            "acknowledged": (f"{local_time(alert.acknowledged_at, tz)} · "
                             f"{_actor_text(alert.acknowledged_by, lang)}"
                             if alert.acknowledged_at else ""),
            "resolved": (f"{local_time(alert.resolved_at, tz)} · "
                         f"{_actor_text(alert.resolved_by, lang)}"
                         if alert.resolved_at else ""),
        }
        store_name, status_now, rule_code = store.name, alert.status, alert.rule_code
    sc = store_scope(request, store_name)
    can = user.can(Permission.ALERT_MANAGE)
    context = {
        "a": row, "words": words, "facts": facts, "unit": unit,
        "value_full": value_full, "value_exact": value_exact,
        "base_full": base_full, "base_exact": base_exact,
        "history": history, "charts": {"series": chart} if chart else {},
        "can_manage": can,
        "may": {m: can and status_now in allowed for m, allowed in {
            "acknowledge": {lifecycle.OPEN},
            "assign": {lifecycle.OPEN, lifecycle.ACKNOWLEDGED},
            "note": set(lifecycle.STATUSES),
            "resolve": {lifecycle.OPEN, lifecycle.ACKNOWLEDGED},
            "reopen": {lifecycle.RESOLVED}}.items()},
        "errors": dict(errors or {}), "form": dict(form or {}), "done": done,
        "list_href": f"/alerts?store={_q(store_name)}",
        "rule_href": f"/alerts/rules?store={_q(store_name)}#rule-{_q(rule_code)}",
        "assignee_max": ASSIGNEE_CHARS, "note_max": NOTE_CHARS,
    }
    return render(request, "alert.html", context, status=status, user=user, sc=sc)


@router.get("/alerts/{alert_id:int}")
def alert_page(request: Request, alert_id: int,
               user: CurrentUser = require(Permission.ALERT_VIEW)) -> Response:
    done = request.query_params.get("done", "")
    return render_alert(request, user, alert_id, done=done if done in ACTIONS else "")


async def _act(request: Request, user: CurrentUser, alert_id: int, action: str) -> Response:
    """One lifecycle move from the alert's page; a refusal (an illegal move, an empty note, a
    text too long) comes back beside the form's field (422), nothing changed."""
    lang = page_lang(request)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    field_name = {"assign": "assignee"}.get(action, "note")
    limit = ASSIGNEE_CHARS if action == "assign" else NOTE_CHARS
    text = form_text(form, field_name, limit)
    if len(text) > limit:
        return render_alert(request, user, alert_id, status=422, form=form, errors={
            action: translate(lang, "pages.form.too_long", limit=limit)})
    actor = actor_of(user)
    try:
        with unit_of_work(db_url_of(request)) as session:
            alert = session.get(Alert, alert_id)
            if alert is None:
                return render_error(request, 404, "error.not_found")
            if action == "acknowledge":
                lifecycle.acknowledge(session, alert, actor, text or None)
            elif action == "assign":
                lifecycle.assign(session, alert, actor, text or None)
            elif action == "note":
                lifecycle.add_note(session, alert, actor, text)
            elif action == "resolve":
                lifecycle.resolve(session, alert, actor, text or None)
            else:
                lifecycle.reopen(session, alert, actor, text or None)
    except StoreopsError as exc:
        return render_alert(request, user, alert_id, status=422, form=form,
                            errors={action: localise(exc, lang)})
    return RedirectResponse(f"/alerts/{alert_id}?done={action}", status_code=303)


@router.post("/alerts/{alert_id:int}/acknowledge")
async def alert_acknowledge(request: Request, alert_id: int,
                            user: CurrentUser = require(Permission.ALERT_MANAGE)) -> Response:
    return await _act(request, user, alert_id, "acknowledge")


@router.post("/alerts/{alert_id:int}/assign")
async def alert_assign(request: Request, alert_id: int,
                       user: CurrentUser = require(Permission.ALERT_MANAGE)) -> Response:
    return await _act(request, user, alert_id, "assign")


@router.post("/alerts/{alert_id:int}/note")
async def alert_note(request: Request, alert_id: int,
                     user: CurrentUser = require(Permission.ALERT_MANAGE)) -> Response:
    return await _act(request, user, alert_id, "note")


@router.post("/alerts/{alert_id:int}/resolve")
async def alert_resolve(request: Request, alert_id: int,
                        user: CurrentUser = require(Permission.ALERT_MANAGE)) -> Response:
    return await _act(request, user, alert_id, "resolve")


@router.post("/alerts/{alert_id:int}/reopen")
async def alert_reopen(request: Request, alert_id: int,
                       user: CurrentUser = require(Permission.ALERT_MANAGE)) -> Response:
    return await _act(request, user, alert_id, "reopen")


# --- the overview's card -----------------------------------------------------------------------

def overview_card(db_url: str, user: CurrentUser, sc: Scope, lang: str) -> dict[str, Any] | None:
    """The overview's 未处理预警 card: alerts not resolved, counted by severity, the latest few
    with links; None for a user who may not see alerts. Two indexed queries."""
    if not user.can(Permission.ALERT_VIEW):
        return None
    sid = sc.store.id
    active = and_(Alert.store_id == sid, Alert.status != lifecycle.RESOLVED)
    with session_factory(db_url)() as session:
        counts = dict(session.execute(select(Alert.severity, func.count())
                                      .where(active).group_by(Alert.severity)).all())
        latest = list(session.scalars(select(Alert).where(active)
                                      .order_by(Alert.raised_at.desc(), Alert.id.desc())
                                      .limit(CARD_LATEST)))
        names = rule_names(session, sid) if latest else {}
        rows = [alert_row(a, names, sc.store.timezone, sc.store.currency, lang)
                for a in latest]
    store_q = urlencode({"store": sc.store.name})
    return {
        "total": fmt.count(sum(counts.values())),
        "counts": [{"severity": s, "label": t_(lang, f"severity.{s}"),
                    "count": fmt.count(counts.get(s, 0)),
                    "href": f"/alerts?{store_q}&severity={s}"}
                   for s in sorted(lifecycle.SEVERITIES, key=SEVERITY_ORDER.__getitem__)],
        "latest": rows,
        "href": f"/alerts?{store_q}",
    }
