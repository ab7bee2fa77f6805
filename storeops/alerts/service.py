"""The check service: evaluate a store's enabled rules as of a time and follow the alerts.

:func:`check_store`
  reads each enabled rule's figures (:func:`storeops.alerts.figures.series`), evaluates them
  (:func:`storeops.alerts.evaluate.evaluate`) and, per rule and scope:

  * the condition holds and no alert of that rule and scope is unresolved → an alert is
    raised (an ``alerts`` row and its ``raised`` event) and queued for the store's channels
    (:func:`storeops.alerts.delivery.enqueue_alert`), unless
    - an alert of that rule and scope was already raised for the same period (running a check
      again for the same time raises and sends nothing new), or
    - one was resolved less than the rule's ``cooldown_hours`` before (one problem, one
      alert: a condition that flickers does not raise an alert per check);
  * the condition holds and an alert is unresolved → the alert is kept (its figure and
    ``last_seen_at`` brought up to date, its severity raised if a higher tier is crossed);
  * the condition is known not to hold and an alert is unresolved → it is resolved by the
    check (actor ``None``, shown as ``system``) and the resolution is queued for the channels;
  * the figure is unknown (no data) → nothing changes.

  Quiet hours: an alert raised while the store-local time is inside the rule's quiet hours is
  raised (it shows on the pages at once) but *held*: it is queued for the channels by the
  first check of the store after the quiet hours end (:func:`release_held`, also run every
  15 minutes by the job). ``dry_run`` evaluates and reports without writing or sending.

:func:`backtest`
  the days a rule (saved or not) would have fired on, between two days.
"""

from __future__ import annotations

import json
import logging
import time as _time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from storeops.alerts import lifecycle
from storeops.alerts.evaluate import Evaluation, evaluate
from storeops.alerts.models import Alert
from storeops.alerts.rules import RuleSpec, in_quiet_hours, rule_to_dict
from storeops.common.errors import StoreopsError
from storeops.common.timeutil import DEFAULT_TIMEZONE, zone

log = logging.getLogger(__name__)

UNRESOLVED = (lifecycle.OPEN, lifecycle.ACKNOWLEDGED)
MAX_BACKTEST_DAYS = 731
SERIES_POINTS = 14  # points of the series kept on an alert, for its page's chart
_SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


class AlertCheckError(StoreopsError, ValueError):
    pass


@dataclass
class CheckResult:
    store_id: int
    as_of: datetime
    grain: str | None
    dry_run: bool
    raised: list[dict[str, Any]] = field(default_factory=list)
    resolved: list[dict[str, Any]] = field(default_factory=list)
    still_open: list[dict[str, Any]] = field(default_factory=list)
    suppressed: list[dict[str, Any]] = field(default_factory=list)  # cooldown / same period
    released: list[int] = field(default_factory=list)  # held alerts now sent
    errors: list[dict[str, Any]] = field(default_factory=list)  # rules that could not run
    rules_checked: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"store_id": self.store_id, "as_of": self.as_of.isoformat(),
                "grain": self.grain, "dry_run": self.dry_run, "raised": self.raised,
                "resolved": self.resolved, "still_open": self.still_open,
                "suppressed": self.suppressed, "released": self.released,
                "errors": self.errors, "rules_checked": self.rules_checked,
                "seconds": round(self.seconds, 3)}


@dataclass(frozen=True)
class Firing:
    day: date
    scope_key: str
    scope_label: str
    value: Decimal | None
    baseline: Decimal | None
    change: Decimal | None = None
    severity: str | None = None
    since: str | None = None


# --- helpers ----------------------------------------------------------------------------------


def decimal_text(value: Decimal | None, unit: str) -> str | None:
    """A figure as stored on an alert: money to the cent, rates as fractions to 6 places,
    counts and days as they are (at most 2 places)."""
    if value is None:
        return None
    places = {"money": Decimal("0.01"), "rate": Decimal("0.000001")}.get(unit)
    if places is None:
        places = Decimal(1) if value == value.to_integral() else Decimal("0.01")
    return str(value.quantize(places, rounding=ROUND_HALF_UP))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _store_tz(session: Session, store_id: int) -> str:
    from storeops.catalog.models import Store

    store = session.get(Store, store_id)
    if store is None:
        raise AlertCheckError(f"no store with id {store_id}", key="alert_rules.no_store",
                              store=store_id)
    return store.timezone or DEFAULT_TIMEZONE


def _day_start(day: str | None, tz: str) -> datetime | None:
    if not day:
        return None
    try:
        d = date.fromisoformat(day[:10])
    except ValueError:
        return None
    return datetime(d.year, d.month, d.day, tzinfo=zone(tz)).astimezone(UTC)


def _enabled_specs(session: Session, store_id: int, grain: str | None, write: bool
                   ) -> list[tuple[int | None, RuleSpec]]:
    from storeops.alerts.defaults import default_specs
    from storeops.alerts.models import AlertRule
    from storeops.alerts.rules_store import ensure_default_rules, spec_of

    if write:
        ensure_default_rules(session, store_id)
    rows = list(session.scalars(select(AlertRule).where(AlertRule.store_id == store_id)))
    have = {r.code for r in rows}
    out: list[tuple[int | None, RuleSpec]] = []
    for row in rows:
        if not row.enabled or (grain and row.grain != grain):
            continue
        try:
            out.append((row.id, spec_of(row)))
        except StoreopsError as exc:  # a row written around the checks: skipped, said
            log.warning("alert rule %s of store %s is unusable: %s", row.code, store_id, exc)
    if not write:  # a dry run on a store never checked: the defaults as they would be added
        out += [(None, s) for s in default_specs()
                if s.code not in have and s.enabled and (not grain or s.grain == grain)]
    return out


def _measure(db_url: str, store_id: int, spec: RuleSpec, as_of: datetime,
             periods: int | None = None, grain: str | None = None) -> list[Any]:
    from storeops.alerts.figures import series

    return series(db_url, store_id, spec.metric, spec.scope_dict, grain or spec.grain, as_of,
                  periods or spec.periods_needed())


def _detail(spec: RuleSpec, ev: Evaluation, series: Any, tz: str) -> dict[str, Any]:
    extra = getattr(series, "detail", None) or {}
    return {
        "rule_name": spec.display_name("zh-CN"), "rule_name_en": spec.display_name("en"),
        "metric": spec.metric, "condition": rule_to_dict(spec)["condition"],
        "unit": spec.unit, "grain": spec.grain, "period": ev.period,
        "change": None if ev.change is None else decimal_text(ev.change, "rate"),
        "since_period": ev.since, "score": ev.score, "action": spec.action,
        "action_en": spec.action_en, "timezone": tz,
        "figures": {str(k): (str(v) if isinstance(v, Decimal | date | datetime) else v)
                    for k, v in extra.items()},
        # the recent series the rule read (for the alert page's chart), oldest first
        "series": [[p.period, decimal_text(_as_dec(p.value), spec.unit)]
                   for p in getattr(series, "points", [])[-SERIES_POINTS:]],
    }


def _as_dec(value: Any) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def _summary(spec: RuleSpec, ev: Evaluation, scope_key: str, scope_label: str,
             severity: str, alert: Alert | None = None, **more: Any) -> dict[str, Any]:
    out = {
        "id": alert.id if alert is not None else None,
        "rule": spec.code, "rule_name": spec.display_name("zh-CN"), "metric": spec.metric,
        "scope": scope_key, "scope_label": scope_label,
        "value": decimal_text(ev.value, spec.unit),
        "baseline": decimal_text(ev.baseline, spec.unit),
        "change": None if ev.change is None else decimal_text(ev.change, "rate"),
        "severity": severity, "period": ev.period, "since": ev.since, "unit": spec.unit,
    }
    out.update(more)
    return out


def _notify(session: Session, alert: Alert, event: str) -> None:
    """Queue ``alert`` for the channels; a failure to queue never loses the alert."""
    from storeops.alerts import delivery

    try:
        with session.begin_nested():
            delivery.enqueue_alert(session, alert, event=event)
    except Exception as exc:  # noqa: BLE001 - the alert stays; the failure is in its history
        log.exception("queueing alert %s (%s) failed", alert.id, event)
        lifecycle.record_event(session, alert, "notify_failed", None, str(exc)[:500],
                               data={"event": event})


def _is_held(alert: Alert) -> bool:
    try:
        return bool(json.loads(alert.detail_json or "{}").get("held"))
    except ValueError:
        return False


def _set_held(alert: Alert, held: bool) -> None:
    data = json.loads(alert.detail_json or "{}")
    data["held"] = held
    alert.detail_json = json.dumps(data, ensure_ascii=False)


# --- the check --------------------------------------------------------------------------------


def check_store(db_url: str, store_id: int, as_of: datetime, *, grain: str | None = None,
                dry_run: bool = False, actor: str | None = None) -> CheckResult:
    """Evaluate every enabled rule of the store (of ``grain``, or all) as of ``as_of``; raise,
    keep and resolve alerts as the module says. ``actor`` is recorded on the events (the
    check's own actor, ``system``, when None)."""
    from storeops.db.engine import unit_of_work

    started = _time.perf_counter()
    as_of = _aware(as_of).astimezone(UTC)
    result = CheckResult(store_id, as_of, grain, dry_run)
    with unit_of_work(db_url) as session:
        tz = _store_tz(session, store_id)
        specs = _enabled_specs(session, store_id, grain, write=not dry_run)
    measured: list[tuple[int | None, RuleSpec, list[Any]]] = []
    for rule_id, spec in specs:
        try:
            measured.append((rule_id, spec, _measure(db_url, store_id, spec, as_of)))
        except StoreopsError as exc:
            result.errors.append({"rule": spec.code, "error": str(exc)})
        except Exception as exc:  # noqa: BLE001 - one rule's failure must not stop the others
            log.exception("alert rule %s of store %s could not be measured", spec.code,
                          store_id)
            result.errors.append({"rule": spec.code, "error": f"{type(exc).__name__}: {exc}"})
    result.rules_checked = len(measured)
    with unit_of_work(db_url) as session:
        if not dry_run:
            _lock_store(session, store_id)
        _apply(session, store_id, as_of, tz, measured, result, dry_run, actor)
        if dry_run:
            session.rollback()
        else:
            result.released = release_held(session, store_id, as_of, tz)
    result.seconds = _time.perf_counter() - started
    return result


def _lock_store(session: Session, store_id: int) -> None:
    """Two checks of one store at once (the job and a command) must not both raise the same
    alert: the second waits for the first (SQLite: the write lock; PostgreSQL: the store's
    row) and then sees its alerts."""
    from storeops.catalog.models import Store
    from storeops.inventory.locking import lock_for_stock_write

    if session.connection().dialect.name == "sqlite":
        lock_for_stock_write(session)
    else:
        session.execute(select(Store.id).where(Store.id == store_id).with_for_update())


def _apply(session: Session, store_id: int, as_of: datetime, tz: str,
           measured: Iterable[tuple[int | None, RuleSpec, list[Any]]], result: CheckResult,
           dry_run: bool, actor: str | None) -> None:
    codes = [spec.code for _, spec, _ in measured]
    if not codes:
        return
    longest = max(spec.cooldown_hours for _, spec, _ in measured)
    recent = as_of - timedelta(hours=longest) - timedelta(days=3)
    alerts = list(session.scalars(select(Alert).where(
        Alert.store_id == store_id, Alert.rule_code.in_(codes),
        or_(Alert.status.in_(UNRESOLVED), Alert.raised_at >= recent,
            Alert.resolved_at >= recent))))
    unresolved = {(a.rule_code, a.scope_key): a for a in alerts if a.status in UNRESOLVED}
    local_time = as_of.astimezone(zone(tz)).time()
    for rule_id, spec, all_series in measured:
        for s in all_series:
            ev = evaluate(s.points, spec)
            key = (spec.code, s.scope_key)
            open_alert = unresolved.get(key)
            if ev.fires:
                severity = ev.severity or spec.severity
                if open_alert is not None:
                    _keep(session, open_alert, spec, ev, s, severity, as_of, actor, dry_run)
                    result.still_open.append(_summary(spec, ev, s.scope_key, s.scope_label,
                                                      open_alert.severity, open_alert,
                                                      status=open_alert.status))
                    continue
                why = _suppressed(alerts, spec, s.scope_key, ev, as_of)
                if why:
                    result.suppressed.append(_summary(spec, ev, s.scope_key, s.scope_label,
                                                      severity, reason=why))
                    continue
                held = in_quiet_hours(spec, local_time)
                if dry_run:
                    result.raised.append(_summary(spec, ev, s.scope_key, s.scope_label,
                                                  severity, held=held, status="open"))
                    continue
                alert = _raise(session, store_id, rule_id, spec, ev, s, severity, as_of, tz,
                               held, actor)
                alerts.append(alert)
                unresolved[key] = alert
                result.raised.append(_summary(spec, ev, s.scope_key, s.scope_label, severity,
                                              alert, held=held, status=alert.status))
            elif ev.known and open_alert is not None and _before(open_alert, as_of):
                summary = _summary(spec, ev, s.scope_key, s.scope_label, open_alert.severity,
                                   open_alert, status=lifecycle.RESOLVED)
                result.resolved.append(summary)
                if not dry_run:
                    _auto_resolve(session, open_alert, actor, as_of,
                                  {"value": summary["value"], "baseline": summary["baseline"],
                                   "period": ev.period, "auto": True})
                    del unresolved[key]
        # A member the scope no longer holds (a SKU out of the top 50 or off sale, a campaign
        # no longer running): its alert is resolved, the problem being gone with it.
        seen = {s.scope_key for s in all_series}
        for (code, scope_key), open_alert in list(unresolved.items()):
            if code != spec.code or scope_key in seen or not _before(open_alert, as_of):
                continue
            result.resolved.append({"id": open_alert.id, "rule": code, "scope": scope_key,
                                    "scope_label": open_alert.scope_label,
                                    "value": None, "baseline": None,
                                    "severity": open_alert.severity, "metric": spec.metric,
                                    "unit": spec.unit, "status": lifecycle.RESOLVED,
                                    "reason": "out_of_scope"})
            if not dry_run:
                _auto_resolve(session, open_alert, actor, as_of,
                              {"auto": True, "reason": "out_of_scope"})
                del unresolved[(code, scope_key)]


def _before(alert: Alert, as_of: datetime) -> bool:
    """Whether ``alert`` was raised by a check at or before ``as_of`` (a check of an earlier
    time never resolves a later alert)."""
    return _aware(alert.raised_at) <= as_of


def _auto_resolve(session: Session, alert: Alert, actor: str | None, as_of: datetime,
                  data: dict[str, Any]) -> None:
    held = _is_held(alert)
    lifecycle.resolve(session, alert, actor, at=as_of, data=data)
    if held:  # never sent: nothing to take back on the channels
        _set_held(alert, False)
    else:
        _notify(session, alert, "resolved")


def _suppressed(alerts: list[Alert], spec: RuleSpec, scope_key: str, ev: Evaluation,
                as_of: datetime) -> str | None:
    cooldown = timedelta(hours=spec.cooldown_hours)
    for a in alerts:
        if a.rule_code != spec.code or a.scope_key != scope_key:
            continue
        # raised already for this day (daily) or by a check of this very time (intraday, whose
        # period is the day so far and may see a problem come back after it cleared)
        same_day = spec.grain == "daily" and a.period_key == (ev.period or "")
        if same_day or (a.raised_at is not None and _aware(a.raised_at) == as_of):
            return "same_period"
        resolved_at = _aware(a.resolved_at) if a.resolved_at else None
        if resolved_at is not None and as_of - resolved_at < cooldown:
            return "cooldown"
    return None


def _keep(session: Session, alert: Alert, spec: RuleSpec, ev: Evaluation, series: Any,
          severity: str, as_of: datetime, actor: str | None, dry_run: bool) -> None:
    if dry_run or _aware(alert.last_seen_at) >= as_of:
        return
    alert.last_seen_at = as_of
    alert.value = decimal_text(ev.value, spec.unit)
    alert.baseline = decimal_text(ev.baseline, spec.unit)
    alert.period_key = ev.period or alert.period_key
    data = json.loads(alert.detail_json or "{}")
    data.update(period=ev.period, change=None if ev.change is None
                else decimal_text(ev.change, "rate"), score=ev.score,
                series=[[p.period, decimal_text(_as_dec(p.value), spec.unit)]
                        for p in getattr(series, "points", [])[-SERIES_POINTS:]])
    alert.detail_json = json.dumps(data, ensure_ascii=False)
    if _SEVERITY_RANK.get(severity, 0) > _SEVERITY_RANK.get(alert.severity, 0):
        before = alert.severity
        alert.severity = severity
        lifecycle.record_event(session, alert, "escalated", actor,
                               data={"from": before, "to": severity, "value": alert.value},
                               at=as_of)


def _raise(session: Session, store_id: int, rule_id: int | None, spec: RuleSpec,
           ev: Evaluation, s: Any, severity: str, as_of: datetime, tz: str, held: bool,
           actor: str | None) -> Alert:
    detail = _detail(spec, ev, s, tz)
    detail["held"] = held
    since = _day_start(ev.since, tz) if spec.grain == "daily" else None
    if spec.grain == "intraday":
        since = as_of if ev.since == ev.period else _day_start(ev.since, tz)
    alert = Alert(store_id=store_id, rule_id=rule_id, rule_code=spec.code, metric=spec.metric,
                  scope_key=s.scope_key, scope_label=(s.scope_label or s.scope_key)[:200],
                  severity=severity, status=lifecycle.OPEN,
                  value=decimal_text(ev.value, spec.unit),
                  baseline=decimal_text(ev.baseline, spec.unit),
                  period_key=(ev.period or as_of.isoformat())[:40],
                  detail_json=json.dumps(detail, ensure_ascii=False, default=str),
                  since=since, raised_at=as_of, last_seen_at=as_of)
    session.add(alert)
    session.flush()
    lifecycle.record_event(session, alert, "raised", actor,
                           data={"value": alert.value, "baseline": alert.baseline,
                                 "period": alert.period_key, "severity": severity},
                           at=as_of)
    if held:
        lifecycle.record_event(session, alert, "held", actor, data={"quiet_hours": [
            t.strftime("%H:%M") for t in spec.quiet_hours or ()]}, at=as_of)
    else:
        _notify(session, alert, "alert")
    return alert


def release_held(session: Session, store_id: int, now: datetime, tz: str | None = None
                 ) -> list[int]:
    """Queue the store's held alerts whose rule's quiet hours are over at ``now``; their ids."""
    from storeops.alerts.models import AlertRule
    from storeops.alerts.rules_store import spec_of

    tz = tz or _store_tz(session, store_id)
    local_time = _aware(now).astimezone(zone(tz)).time()
    candidates = [a for a in session.scalars(select(Alert).where(
        Alert.store_id == store_id, Alert.status.in_(UNRESOLVED),
        Alert.detail_json.contains('"held": true'))) if _is_held(a)]
    released: list[int] = []
    for alert in candidates:
        rule = session.scalars(select(AlertRule).where(
            AlertRule.store_id == store_id, AlertRule.code == alert.rule_code)).first()
        try:
            quiet = rule is not None and in_quiet_hours(spec_of(rule), local_time)
        except StoreopsError:
            quiet = False
        if quiet:
            continue
        _set_held(alert, False)
        lifecycle.record_event(session, alert, "released", None, at=_aware(now))
        _notify(session, alert, "alert")
        released.append(alert.id)
    return released


# --- backtest ---------------------------------------------------------------------------------


def backtest(db_url: str, store_id: int, spec: RuleSpec, first: date, last: date
             ) -> list[Firing]:
    """The days between ``first`` and ``last`` (store-local, inclusive) on which ``spec``
    would have fired, per scope, oldest first. Intraday rules are tested on whole days.
    Cooldowns are not applied: every day the condition held is listed."""
    from storeops.db.engine import unit_of_work

    if last < first:
        raise AlertCheckError(f"{first} is after {last}", key="alert_rules.backtest_order",
                              first=first, last=last)
    days = (last - first).days + 1
    if days > MAX_BACKTEST_DAYS:
        raise AlertCheckError(f"a backtest covers at most {MAX_BACKTEST_DAYS} days",
                              key="alert_rules.backtest_long", limit=MAX_BACKTEST_DAYS)
    with unit_of_work(db_url) as session:
        tz = _store_tz(session, store_id)
    end = last + timedelta(days=1)
    as_of = datetime(end.year, end.month, end.day, 12, tzinfo=zone(tz))
    lead = spec.periods_needed() - 1
    out: list[Firing] = []
    for s in _measure(db_url, store_id, spec, as_of, days + lead, grain="daily"):
        points = s.points
        start = max(0, len(points) - days)
        for i in range(start, len(points)):
            ev = evaluate(points[max(0, i - lead):i + 1], spec)
            if ev.fires and ev.period:
                out.append(Firing(date.fromisoformat(ev.period[:10]), s.scope_key,
                                  s.scope_label, ev.value, ev.baseline, ev.change,
                                  ev.severity or spec.severity, ev.since))
    out.sort(key=lambda f: (f.day, f.scope_key))
    return out
