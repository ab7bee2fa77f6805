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
MAX_ID = 2**63 - 1  # a larger id in the URL is no alert (and no database integer)

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
           compact: bool = True, metric: str = "") -> tuple[str, str]:
    """(shown, exact) of an alert's value or baseline: money in ¥ and 万 (exact ¥ in the
    title), rates as percentages (ROAS a plain ratio), days and counts with separators; "—"
    when unknown."""
    value = _decimal(text)
    if value is None:
        return fmt.DASH, ""
    if metric in fmt.PLAIN_RATIOS:
        return f"{value:,.2f}", ""
    if unit == "days":
        return t_(lang, "unit.days", n=_num_text(value.quantize(Decimal("0.1"))
                                                 if value != value.to_integral_value()
                                                 else value)), ""
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
    if "change" in d:  # the check service's own (null for a threshold rule)
        found = _decimal(d["change"])
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
    baseline_kind: str  # baseline | threshold (the rule compares with a fixed threshold)
    change: str
    change_css: str
    since: str
    status: str
    status_label: str
    assignee: str


def rule_name(alert: Alert, d: Mapping[str, Any], names: Mapping[str, str],
              lang: str = "zh-CN") -> str:
    english = d.get("rule_name_en") if lang == "en" else None
    return str(english or d.get("rule_name") or names.get(alert.rule_code) or alert.rule_code)


def alert_row(alert: Alert, names: Mapping[str, str], tz: str, currency: str,
              lang: str) -> Row:
    d = detail(alert)
    unit = unit_of(alert, d)
    value, value_exact = figure(alert.value, unit, currency, lang, metric=alert.metric)
    base, base_exact = figure(alert.baseline, unit, currency, lang, metric=alert.metric)
    change, css = fmt.change_badge(alert.metric, change_of(alert, d))
    condition = d.get("condition")
    kind = condition.get("kind") if isinstance(condition, Mapping) else None
    return Row(
        id=alert.id, href=f"/alerts/{alert.id}", severity=alert.severity,
        severity_label=t_(lang, f"severity.{alert.severity}"),
        rule=rule_name(alert, d, names, lang),
        scope=alert.scope_label or alert.scope_key, value=value, value_exact=value_exact,
        baseline=base, baseline_exact=base_exact,
        baseline_kind="threshold" if kind in ("above", "below") else "baseline",
        change=change, change_css=css,
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


ACTIVE = (lifecycle.OPEN, lifecycle.ACKNOWLEDGED)  # not resolved (IN: the status index serves)


def alert_query(store_id: int, f: AlertFilters, tz: str) -> Select[Any]:
    """The ids of the alerts the filters keep, newest raised first (ids only: the sort and
    the offset stay narrow; the page's rows are read by id afterwards)."""
    query = select(Alert.id).where(Alert.store_id == store_id)
    if f.status == "active":
        query = query.where(Alert.status.in_(ACTIVE))
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
        ids = [i for (i,) in found]
        by_id = {a.id: a for a in session.scalars(select(Alert).where(Alert.id.in_(ids)))} \
            if ids else {}
        rows = [alert_row(by_id[i], names, tz, sc.store.currency, lang) for i in ids]
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
        elif ev.action == "escalated" and data.get("to") in lifecycle.SEVERITIES:
            extra = (t_(lang, f"severity.{data.get('from')}") + " → "
                     if data.get("from") in lifecycle.SEVERITIES else "") + \
                t_(lang, f"severity.{data['to']}")
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


def _advice(d: Mapping[str, Any], lang: str, lines: tuple[str, ...]) -> str:
    """The rule's "what to do", unless the alert's words say it already."""
    text = str((d.get("action_en") if lang == "en" else None) or d.get("action") or "")
    return "" if not text or any(text in line for line in lines) else text


def render_alert(request: Request, user: CurrentUser, alert_id: int, *, status: int = 200,
                 errors: Mapping[str, str] | None = None,
                 form: Mapping[str, Any] | None = None, done: str = "") -> Response:
    lang = page_lang(request)
    if not 0 < alert_id <= MAX_ID:
        return render_error(request, 404, "error.not_found")
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
        value_full, value_exact = figure(alert.value, unit, currency, lang,
                                         metric=alert.metric)
        base_full, base_exact = figure(alert.baseline, unit, currency, lang,
                                       metric=alert.metric)
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
        scope_key, held = alert.scope_key, bool(d.get("held"))
    sc = store_scope(request, store_name)
    can = user.can(Permission.ALERT_MANAGE)
    context = {
        "a": row, "words": words, "facts": facts, "unit": unit,
        "advice": _advice(d, lang, words.lines),
        "held": held,
        # a SKU's alert links to the SKU's page
        "scope_href": (f"/sku/{_q(scope_key.removeprefix('sku:'))}?store={_q(store_name)}"
                       if scope_key.startswith("sku:") else ""),
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
    if not 0 < alert_id <= MAX_ID:
        return render_error(request, 404, "error.not_found")
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


@router.post("/alerts/{alert_id:int}/{action}")
async def alert_action(request: Request, alert_id: int, action: str,
                       user: CurrentUser = require(Permission.ALERT_MANAGE)) -> Response:
    """acknowledge, assign, note, resolve or reopen (one form each on the alert's page)."""
    if action not in ACTIONS:
        return render_error(request, 404, "error.not_found")
    return await _act(request, user, alert_id, action)


# --- the overview's card -----------------------------------------------------------------------

def overview_card(db_url: str, user: CurrentUser, sc: Scope, lang: str) -> dict[str, Any] | None:
    """The overview's 未解决预警 card: alerts not resolved, counted by severity, the latest few
    with links; None for a user who may not see alerts. Two indexed queries."""
    if not user.can(Permission.ALERT_VIEW):
        return None
    sid = sc.store.id
    active = and_(Alert.store_id == sid, Alert.status.in_(ACTIVE))
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


# --- the rules ---------------------------------------------------------------------------------

# A rule's fields on the edit form, and the rule-file field each one fills (RuleSpecError's
# ``field`` says which one was refused).
FORM_FIELD_OF = {
    "condition.threshold": "threshold", "condition.periods": "periods",
    "condition.sensitivity": "sensitivity", "severity": "severity",
    "quiet_hours": "quiet_start", "quiet_hours.start": "quiet_start",
    "quiet_hours.end": "quiet_end", "cooldown_hours": "cooldown_hours",
}
RULE_FORM_FIELDS = ("threshold", "periods", "sensitivity", "severity", "quiet_start",
                    "quiet_end", "cooldown_hours")
RULE_FIELD_CHARS = 40
TEST_DEFAULT_DAYS = 30
FIRINGS_SHOWN = 500  # rows of a test's "would have fired" table (the chart counts them all)


def _pct_text(value: Decimal | None) -> str:
    if value is None:
        return ""
    return format((value * 100).normalize(), "f") + "%"


def _num_text(value: Decimal | None) -> str:
    return "" if value is None else format(value.normalize(), "f")


def threshold_text(spec: Any) -> str:
    """The threshold as the form shows it: rates and changes as percentages (``2.5%``)."""
    c = spec.condition
    if c.threshold is None:
        return ""
    if c.kind == "change" or (spec.unit == "rate" and spec.metric not in fmt.PLAIN_RATIOS):
        return _pct_text(c.threshold)
    return _num_text(c.threshold)


def _figure_text(value: Decimal | None, unit: str, currency: str, lang: str = "zh-CN",
                 metric: str = "") -> str:
    """A rule's threshold or a test's figure, exact: ¥ to the cent, rates as percentages
    (ROAS a plain ratio), days with their unit."""
    if value is None:
        return fmt.DASH
    if metric in fmt.PLAIN_RATIOS:
        return _num_text(value)
    if unit == "money":
        return fmt.money(value, currency)
    if unit == "rate":
        return _pct_text(value)
    if unit == "days":
        return t_(lang, "unit.days", n=_num_text(value))
    return _num_text(value)


def metric_text(metric: str, lang: str) -> str:
    from storeops.web.i18n import metric_label

    if metric in METRICS:
        return metric_label(metric, lang)
    key = f"alert_pages.metric.{metric}"
    words = translate(lang, key)
    return metric if words == key else words


def scope_text(scope: Mapping[str, Any], lang: str) -> str:
    kind = str(scope.get("kind") or "store")
    label = t_(lang, f"scope.{kind}")
    if kind == "store":
        return label
    if scope.get("top") is not None:
        return t_(lang, "scope.top", kind=label, n=scope["top"])
    value = str(scope.get("value") or "")
    return f"{label}：{t_(lang, 'scope.all') if value == 'all' else value}" if lang != "en" \
        else f"{label}: {'all' if value == 'all' else value}"


def condition_text(spec: Any, lang: str, currency: str) -> str:
    c = spec.condition
    if c.kind in ("above", "below"):
        text = t_(lang, f"cond.{c.kind}", value=_figure_text(c.threshold, spec.unit, currency,
                                                             lang, spec.metric))
        for tier in c.tiers:
            text += t_(lang, "cond.tier", value=_figure_text(tier.threshold, spec.unit,
                                                              currency, lang, spec.metric),
                       severity=t_(lang, f"severity.{tier.severity}"))
    elif c.kind == "change":
        text = t_(lang, f"cond.change_{c.direction}", value=_pct_text(c.threshold),
                  baseline=t_(lang, f"baseline.{c.baseline}"))
    else:
        text = t_(lang, f"cond.anomaly_{c.direction}",
                  sensitivity=_num_text(c.sensitivity))
    if c.periods > 1:
        text += t_(lang, "cond.periods", n=c.periods)
    return text


def quiet_text(spec: Any) -> str:
    if not spec.quiet_hours:
        return fmt.DASH
    start, end = spec.quiet_hours
    return f"{start:%H:%M}–{end:%H:%M}"


def rule_view(row: AlertRule, lang: str, currency: str, store_name: str) -> dict[str, Any]:
    """A rule as the list shows it; a stored rule that no longer parses is shown, marked."""
    from storeops.alerts.rules_store import spec_of

    base = {"code": row.code, "enabled": bool(row.enabled), "version": row.version,
            "updated_by": _actor_text(row.updated_by, lang) if row.updated_by else fmt.DASH,
            "builtin": bool(row.builtin),
            "href": f"/alerts/rules/{_q(row.code)}?store={_q(store_name)}",
            "toggle_href": f"/alerts/rules/{_q(row.code)}/enabled?store={_q(store_name)}"}
    try:
        spec = spec_of(row)
    except StoreopsError as exc:
        return {**base, "broken": localise(exc, lang), "name": row.name or row.code,
                "metric": row.metric, "scope": "", "condition": "", "severity": "",
                "severity_label": "", "quiet": "", "cooldown": "", "grain": row.grain}
    return {**base, "broken": "", "name": spec.display_name(lang),
            "metric": metric_text(spec.metric, lang), "scope": scope_text(spec.scope_dict, lang),
            "condition": condition_text(spec, lang, currency), "severity": spec.severity,
            "severity_label": t_(lang, f"severity.{spec.severity}"),
            "quiet": quiet_text(spec), "cooldown": t_(lang, "rules.hours",
                                                      n=spec.cooldown_hours),
            "grain": t_(lang, f"grain.{spec.grain}"), "spec": spec}


def render_rules(request: Request, user: CurrentUser, store: str | None, *, status: int = 200,
                 import_error: str = "", imported: dict[str, Any] | None = None) -> Response:
    from storeops.alerts.rules_store import list_rules

    sc = store_scope(request, store)
    lang = page_lang(request)
    with unit_of_work(db_url_of(request)) as session:  # the defaults are added when missing
        rows = [rule_view(r, lang, sc.store.currency, sc.store.name)
                for r in list_rules(session, sc.store.id)]
    context = {"rules": rows, "can_manage": user.can(Permission.ALERT_MANAGE),
               "import_error": import_error, "imported": imported,
               "export_href": f"/alerts/rules.yaml?store={_q(sc.store.name)}",
               "import_action": f"/alerts/rules?store={_q(sc.store.name)}"}
    return render(request, "alerts_rules.html", context, status=status, user=user, sc=sc)


@router.get("/alerts/rules")
def rules_page(
    request: Request,
    user: CurrentUser = require(Permission.ALERT_VIEW),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
) -> Response:
    return render_rules(request, user, store)


@router.get("/alerts/rules.yaml")
def rules_export(
    request: Request,
    user: CurrentUser = require(Permission.ALERT_VIEW),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
) -> Response:
    """The store's rules as the rule file ``storeops alert rules --export`` writes."""
    from storeops.alerts.rules_store import export_rules

    sc = store_scope(request, store)
    with unit_of_work(db_url_of(request)) as session:
        text = export_rules(session, sc.store.id)
    name = quote(f"{sc.store.name}_alert_rules.yaml", safe="")
    return Response(text.encode("utf-8"), media_type="application/yaml; charset=utf-8",
                    headers={"Content-Disposition":
                             f"attachment; filename=\"alert_rules.yaml\"; "
                             f"filename*=UTF-8''{name}"})


@router.post("/alerts/rules")
async def rules_import(
    request: Request,
    user: CurrentUser = require(Permission.ALERT_MANAGE),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
) -> Response:
    """Import an uploaded rule file into the page's store: all or nothing (the first bad rule
    named with the file and the field), rules matched by code, others kept."""
    from storeops.alerts.rules_store import MAX_FILE_BYTES, import_rules, parse_rule_file

    lang = page_lang(request)
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return render_rules(request, user, store, status=422,
                            import_error=translate(lang, "pages.form.required"))
    raw = await upload.read(MAX_FILE_BYTES + 1)
    name = (upload.filename or "rules.yaml")[:120]
    if len(raw) > MAX_FILE_BYTES:
        return render_rules(request, user, store, status=422, import_error=t_(
            lang, "rules.import_too_large", name=name, limit=f"{MAX_FILE_BYTES:,}"))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return render_rules(request, user, store, status=422,
                            import_error=t_(lang, "rules.import_not_text", name=name))
    text += "\n"  # always read as the file's text, never as a path
    sc = store_scope(request, store)
    try:
        parse_rule_file(text, name)  # the errors name the uploaded file
        with unit_of_work(db_url_of(request)) as session:
            result = import_rules(session, sc.store.id, text, actor_of(user))
    except StoreopsError as exc:
        return render_rules(request, user, store, status=422, import_error=localise(exc, lang))
    return render_rules(request, user, store, imported=result.as_dict())


@router.post("/alerts/rules/{code}/enabled")
async def rule_enabled(
    request: Request, code: str,
    user: CurrentUser = require(Permission.ALERT_MANAGE),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
) -> Response:
    """Turn a rule on or off (form field ``enabled``: 1 or 0). HTMX gets the rule's row back;
    a plain form goes back to the list."""
    from storeops.alerts.rules_store import set_enabled

    sc = store_scope(request, store)
    lang = page_lang(request)
    form = await request.form()
    wanted = form.get("enabled")
    if wanted not in ("0", "1"):
        return render_error(request, 422, None,
                            detail=t_(lang, "rules.bad_enabled"))
    try:
        with unit_of_work(db_url_of(request)) as session:
            row = set_enabled(session, sc.store.id, code, wanted == "1", actor_of(user))
            view = rule_view(row, lang, sc.store.currency, sc.store.name)
    except StoreopsError as exc:
        return render_error(request, 404, None, detail=localise(exc, lang))
    if request.headers.get("HX-Request"):
        return render(request, "_alerts_rule_row.html", {"r": view, "can_manage": True},
                      user=user, sc=sc)
    return RedirectResponse(f"/alerts/rules?store={_q(sc.store.name)}#rule-{_q(code)}",
                            status_code=303)


def _rule_form(spec: Any) -> dict[str, str]:
    c = spec.condition
    return {
        "threshold": threshold_text(spec), "periods": str(c.periods),
        "sensitivity": _num_text(c.sensitivity) if c.kind == "anomaly" else "",
        "severity": spec.severity,
        "quiet_start": spec.quiet_hours[0].strftime("%H:%M") if spec.quiet_hours else "",
        "quiet_end": spec.quiet_hours[1].strftime("%H:%M") if spec.quiet_hours else "",
        "cooldown_hours": str(spec.cooldown_hours),
    }


def edited_spec(spec: Any, typed: Mapping[str, str], where: str) -> Any:
    """``spec`` with the edit form's values, checked by the rules' own parser (a
    RuleSpecError names the field at fault)."""
    from storeops.alerts.rules import parse_rule, rule_to_dict

    data = rule_to_dict(spec)
    cond = dict(data["condition"])
    if cond["kind"] in ("above", "below", "change"):
        cond["threshold"] = typed.get("threshold", "").strip()
    else:
        cond["sensitivity"] = typed.get("sensitivity", "").strip()
    cond["periods"] = typed.get("periods", "").strip()
    data["condition"] = cond
    data["severity"] = typed.get("severity", "").strip()
    start, end = typed.get("quiet_start", "").strip(), typed.get("quiet_end", "").strip()
    data["quiet_hours"] = {"start": start, "end": end} if (start or end) else None
    data["cooldown_hours"] = typed.get("cooldown_hours", "").strip()
    return parse_rule(data, where=where)


@dataclass(frozen=True)
class TestRange:
    first: date
    last: date
    typed: dict[str, str]
    errors: dict[str, str]
    asked: bool


def test_range(params: Mapping[str, str], today: date, lang: str) -> TestRange:
    """The test's days (``test_from``/``test_to``; default the 30 full days before today),
    at most RANGE_MAX_DAYS, none after yesterday; refused values named."""
    typed = {k: (params.get(k) or "").strip() for k in ("test_from", "test_to")}
    asked = params.get("test") == "1"
    yesterday = today - timedelta(days=1)
    days = {"test_from": yesterday - timedelta(days=TEST_DEFAULT_DAYS - 1),
            "test_to": yesterday}
    errors: dict[str, str] = {}
    for name in ("test_from", "test_to"):
        if not typed[name]:
            continue
        try:
            days[name] = parse_day(typed[name], name.removeprefix("test_"))
        except PeriodError as exc:
            errors[name] = localise(exc, lang)
    if not errors:
        first, last = days["test_from"], days["test_to"]
        if first > last:
            errors["test_from"] = errors["test_to"] = t_(lang, "filter.from_after_to")
        elif (last - first).days + 1 > RANGE_MAX_DAYS:
            errors["test_from"] = errors["test_to"] = t_(lang, "filter.range_too_long",
                                                         days=RANGE_MAX_DAYS)
        elif last > yesterday:
            errors["test_to"] = t_(lang, "rules.test_closed_days", day=yesterday.isoformat())
    return TestRange(days["test_from"], days["test_to"], typed, errors, asked)


def run_backtest(db_url: str, store_id: int, spec: Any, first: date, last: date,
                 lang: str) -> tuple[list[Any] | None, str]:
    """(firings, "") or (None, why it could not run)."""
    try:
        from storeops.alerts import service
    except ImportError:
        return None, t_(lang, "rules.test_unavailable")
    backtest = getattr(service, "backtest", None)
    if backtest is None:
        return None, t_(lang, "rules.test_unavailable")
    try:
        return list(backtest(db_url, store_id, spec, first, last)), ""
    except StoreopsError as exc:
        return None, localise(exc, lang)


def firing_chart(firings: list[Any], first: date, last: date, lang: str) -> dict[str, Any]:
    """ECharts option: how many scopes the rule would have fired on, per day of the range."""
    per_day: dict[str, int] = {}
    for f in firings:
        key = f.day.isoformat() if isinstance(f.day, date) else str(f.day)
        per_day[key] = per_day.get(key, 0) + 1
    days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    name = t_(lang, "rules.series_fired")
    return {
        "animationDuration": 0,
        "storeops": fmt.chart_format("CNY", lang, y_axes=("count",), series=("count",)),
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 40, "right": 16, "top": 16, "bottom": 30},
        "xAxis": {"type": "category", "data": [d[5:] for d in days]},
        "yAxis": [{"type": "value", "minInterval": 1}],
        "series": [{"name": name, "type": "bar", "itemStyle": {"color": "#e1251b"},
                    "data": [per_day.get(d, 0) for d in days]}],
    }


def render_rule(request: Request, user: CurrentUser, code: str, store: str | None, *,
                status: int = 200, typed: Mapping[str, str] | None = None,
                errors: Mapping[str, str] | None = None, error: str = "",
                saved: bool = False) -> Response:
    from storeops.alerts.rules_store import ensure_default_rules, get_rule
    from storeops.common.timeutil import local_date, utcnow

    sc = store_scope(request, store)
    lang = page_lang(request)
    db = db_url_of(request)
    with unit_of_work(db) as session:
        ensure_default_rules(session, sc.store.id)
        row = get_rule(session, sc.store.id, code)
        if row is None:
            return render_error(request, 404, "error.not_found")
        view = rule_view(row, lang, sc.store.currency, sc.store.name)
    spec = view.get("spec")
    rng = test_range(request.query_params, local_date(utcnow(), sc.store.timezone), lang)
    firings: list[dict[str, Any]] = []
    firings_total = fired_days = 0
    test_error, charts = "", {}
    ran = False
    if spec is not None and rng.asked and not rng.errors:
        found, test_error = run_backtest(db, sc.store.id, spec, rng.first, rng.last, lang)
        if found is not None:
            ran = True
            firings = [{"day": f.day.isoformat() if isinstance(f.day, date) else str(f.day),
                        "scope": f.scope_label or f.scope_key,
                        "value": figure(f.value, spec.unit, sc.store.currency, lang,
                                        compact=False, metric=spec.metric)[0],
                        "baseline": figure(f.baseline, spec.unit, sc.store.currency, lang,
                                           compact=False, metric=spec.metric)[0]}
                       for f in found[:FIRINGS_SHOWN]]
            firings_total = len(found)
            fired_days = len({f.day for f in found})
            if found:
                charts = {"backtest": firing_chart(found, rng.first, rng.last, lang)}
    context = {
        "r": view, "spec": spec,
        "form": dict(typed) if typed is not None else (_rule_form(spec) if spec else {}),
        "errors": dict(errors or {}), "error": error, "saved": saved,
        "severities": [(s, t_(lang, f"severity.{s}")) for s in lifecycle.SEVERITIES],
        "threshold_kind": "" if spec is None else (
            "sensitivity" if spec.condition.kind == "anomaly" else (
                "percent" if spec.condition.kind == "change" or (
                    spec.unit == "rate" and spec.metric not in fmt.PLAIN_RATIOS)
                else "count" if spec.metric in fmt.PLAIN_RATIOS else spec.unit)),
        "can_manage": user.can(Permission.ALERT_MANAGE),
        "test": rng, "test_errors": rng.errors, "test_error": test_error, "ran": ran,
        "baseline_kind": "threshold" if spec is not None and spec.condition.kind in (
            "above", "below") else "baseline",
        "firings": firings, "fired_days": fired_days, "firings_total": firings_total,
        "charts": charts, "range_max": RANGE_MAX_DAYS,
        "list_href": f"/alerts/rules?store={_q(sc.store.name)}",
        "action": f"/alerts/rules/{_q(code)}?store={_q(sc.store.name)}",
    }
    if rng.errors and status == 200:
        status = 422
    return render(request, "alerts_rule.html", context, status=status, user=user, sc=sc)


@router.get("/alerts/rules/{code}")
def rule_page(request: Request, code: str,
              user: CurrentUser = require(Permission.ALERT_VIEW),
              store: str | None = Query(None, max_length=STORE_NAME_CHARS)) -> Response:
    return render_rule(request, user, code, store,
                       saved=request.query_params.get("saved") == "1")


@router.post("/alerts/rules/{code}")
async def rule_save(request: Request, code: str,
                    user: CurrentUser = require(Permission.ALERT_MANAGE),
                    store: str | None = Query(None, max_length=STORE_NAME_CHARS)) -> Response:
    """Save the edit form: a refused value comes back beside its field (422), nothing saved."""
    from storeops.alerts.rules import RuleSpecError
    from storeops.alerts.rules_store import get_rule, save_rule, spec_of

    sc = store_scope(request, store)
    lang = page_lang(request)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    typed = {name: form_text(form, name, RULE_FIELD_CHARS) for name in RULE_FORM_FIELDS}
    too_long = {name: translate(lang, "pages.form.too_long", limit=RULE_FIELD_CHARS)
                for name, value in typed.items() if len(value) > RULE_FIELD_CHARS}
    if too_long:
        return render_rule(request, user, code, store, status=422, typed=typed,
                           errors=too_long)
    try:
        with unit_of_work(db_url_of(request)) as session:
            row = get_rule(session, sc.store.id, code)
            if row is None:
                return render_error(request, 404, "error.not_found")
            spec = edited_spec(spec_of(row), typed, t_(lang, "rules.form_where"))
            save_rule(session, sc.store.id, spec, actor_of(user))
    except RuleSpecError as exc:
        problem = exc.params.get("problem")
        beside = problem.localised(lang) if hasattr(problem, "localised") else localise(exc,
                                                                                          lang)
        name = FORM_FIELD_OF.get(exc.field) or (
            "threshold" if exc.field.startswith("condition.tiers") else "form")
        return render_rule(request, user, code, store, status=422, typed=typed,
                           errors={name: beside}, error=localise(exc, lang))
    except StoreopsError as exc:
        return render_rule(request, user, code, store, status=422, typed=typed,
                           errors={"form": localise(exc, lang)}, error=localise(exc, lang))
    return RedirectResponse(f"/alerts/rules/{_q(code)}?store={_q(sc.store.name)}&saved=1",
                            status_code=303)
