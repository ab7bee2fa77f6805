"""``storeops alert …``: rules (list, import, export), checks and the alerts they raise.

* ``storeops alert rules --store S [--import FILE | --export FILE] [--json]``
* ``storeops alert check --store S [--at ISO-TIME] [--grain daily|intraday] [--json]
  [--dry-run]``
* ``storeops alert list --store S [--status open|acknowledged|resolved|unresolved] [--json]``
* ``storeops alert ack|resolve --store S --id N [--note TEXT]``, ``storeops alert assign
  --store S --id N --to NAME``
* ``storeops alert enable|disable --store S --rule CODE``
* ``storeops alert backtest --store S --rule CODE --from DAY --to DAY [--json]``

Words come from the ``alert_rules`` catalogs in the terminal's language.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from storeops.common.cli_options import (
    DbOption,
    JsonOption,
    StoreOption,
    cli_actor,
    cli_lang,
    database_url,
)

alert_app = typer.Typer(help="Alert rules, checks and alerts of a store.",
                        no_args_is_help=True)

IdOption = Annotated[int, typer.Option("--id", help="The alert's id (see `storeops alert "
                                       "list`).", show_default=False)]
NoteOption = Annotated[str | None, typer.Option("--note", help="A note kept in the alert's "
                                                "history.", show_default=False)]


def register(app: typer.Typer) -> None:
    """Add ``storeops alert …`` to the root ``storeops`` command."""
    app.add_typer(alert_app, name="alert")


def _t(key: str, **params: Any) -> str:
    from storeops.web.i18n import translate

    return translate(cli_lang(), f"alert_rules.cli.{key}", **params)


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def parse_at(value: str, tz: str) -> datetime:
    """An ISO 8601 time; without an offset it is store-local."""
    from storeops.alerts.service import AlertCheckError
    from storeops.common.timeutil import zone

    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise AlertCheckError(f"--at {value}: not an ISO 8601 time such as "
                              "2026-11-12T09:00:00+08:00", key="alert_rules.bad_at",
                              value=value) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone(tz))


def _scope_text(scope: dict[str, Any]) -> str:
    kind = scope.get("kind", "store")
    if kind == "store":
        return "store"
    if scope.get("top") is not None:
        return f"{kind}:top{scope['top']}"
    return f"{kind}:{scope.get('value')}"


def _rule_json(row: Any, spec: Any, lang: str) -> dict[str, Any]:
    from storeops.alerts.messages import describe_condition
    from storeops.alerts.rules import rule_to_dict

    data = rule_to_dict(spec)
    data.update(id=row.id, builtin=bool(row.builtin), version=row.version,
                updated_by=row.updated_by,
                condition_text=describe_condition(data["condition"], spec.metric, spec.unit,
                                                  lang))
    return data


@alert_app.command("rules")
def rules_command(
    store: StoreOption = None,
    import_file: Annotated[Path | None, typer.Option(
        "--import", help="Add or replace rules from a YAML rule file (all or nothing; rules "
        "the file does not name are kept). See docs/alerts.md.", show_default=False)] = None,
    export_file: Annotated[Path | None, typer.Option(
        "--export", help="Write the store's rules to a YAML rule file.",
        show_default=False)] = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """List a store's alert rules, or import / export them as a YAML file."""
    from storeops.alerts.rules_store import export_rules, import_rules, list_rules, spec_of
    from storeops.alerts.service import AlertCheckError
    from storeops.catalog.stores import resolve_store
    from storeops.db.engine import unit_of_work

    if import_file is not None and export_file is not None:
        raise AlertCheckError("choose --import or --export, not both",
                              key="alert_rules.both_files")
    lang = cli_lang()
    with unit_of_work(database_url(db)) as session:
        st = resolve_store(session, store)
        if import_file is not None:
            result = import_rules(session, st.id, import_file, cli_actor())
            if as_json:
                _echo_json({"store": st.name, "file": str(import_file), **result.as_dict()})
            else:
                typer.echo(_t("imported", file=import_file, created=len(result.created),
                              updated=len(result.updated), unchanged=len(result.unchanged)))
            return
        if export_file is not None:
            export_rules(session, st.id, export_file)
            n = len(list_rules(session, st.id))
            if as_json:
                _echo_json({"store": st.name, "file": str(export_file), "rules": n})
            else:
                typer.echo(_t("exported", n=n, file=export_file))
            return
        rows = list_rules(session, st.id)
        rules = [_rule_json(row, spec_of(row), lang) for row in rows]
        name = st.name
    if as_json:
        _echo_json({"store": name, "rules": rules})
        return
    _print_rules(name, rules, lang)


def _print_rules(store: str, rules: list[dict[str, Any]], lang: str) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from storeops.alerts.messages import metric_name

    table = Table(title=_t("rules_title", store=store, n=len(rules)), title_justify="left")
    for col in ("col_code", "col_name", "col_metric", "col_scope", "col_condition",
                "col_grain", "col_severity", "col_enabled"):
        table.add_column(_t(col))
    for r in rules:
        name = (r.get("name_en") if lang == "en" else r.get("name")) or r.get("name") or ""
        table.add_row(escape(r["code"]), escape(name), escape(metric_name(r["metric"], lang)),
                      escape(_scope_text(r["scope"])), escape(r["condition_text"]),
                      _t(r["grain"]), _severity(r["severity"], lang),
                      _t("yes") if r["enabled"] else _t("no"))
    Console(highlight=False, width=160).print(table)


def _severity(severity: str, lang: str) -> str:
    from storeops.alerts.messages import severity_word

    return severity_word(severity, lang)


@alert_app.command("check")
def check_command(
    store: StoreOption = None,
    at: Annotated[str | None, typer.Option(
        "--at", help="Check as of this time (ISO 8601; without an offset: the store's "
        "time). Default: now. Daily rules look at the last closed day before it.",
        show_default=False)] = None,
    grain: Annotated[str | None, typer.Option(
        "--grain", help="Only the daily or the intraday rules (default: both).",
        show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Evaluate and print, but save and send nothing.")] = False,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Evaluate every enabled rule of the store as of a time; print the alerts raised (and
    send them to the store's channels unless --dry-run). Run again for the same time, it
    raises and sends nothing new."""
    from storeops.alerts.service import AlertCheckError, check_store
    from storeops.catalog.stores import resolve_store
    from storeops.common.timeutil import utcnow
    from storeops.db.engine import unit_of_work

    if grain is not None and grain not in ("daily", "intraday"):
        raise AlertCheckError(f"--grain {grain}: choose daily or intraday",
                              key="alert_rules.bad_grain", value=grain)
    url = database_url(db)
    with unit_of_work(url) as session:
        st = resolve_store(session, store)
        store_id, name, tz = st.id, st.name, st.timezone or "Asia/Shanghai"
    moment = parse_at(at, tz) if at is not None else utcnow()
    result = check_store(url, store_id, moment, grain=grain, dry_run=dry_run,
                         actor=None)
    sent = 0 if dry_run else _send_now(url, store_id)
    if as_json:
        _echo_json({"store": name, **result.as_dict(), "sent": sent})
        return
    _print_check(name, tz, result)


def _send_now(url: str, store_id: int) -> int:
    """Send what the check queued for the store's channels now (the worker would within a
    minute); a channel that fails is retried later by the worker, never an error here."""
    import logging

    from storeops.alerts.delivery import send_due
    from storeops.common.timeutil import utcnow

    try:
        return send_due(url, utcnow(), store_id=store_id)
    except Exception:  # noqa: BLE001 - the alerts are saved and stay queued
        logging.getLogger(__name__).exception("sending the queued alerts failed")
        return 0


def _print_check(store: str, tz: str, result: Any) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from storeops.alerts.messages import format_figure, scope_words, when_text

    lang = cli_lang()
    console = Console(highlight=False, width=160)
    console.print(escape(_t("check_title", store=store, at=when_text(result.as_of, tz),
                            raised=len(result.raised), resolved=len(result.resolved),
                            open=len(result.still_open))
                         + (" " + _t("dry_run") if result.dry_run else "")))
    if result.raised:
        table = Table()
        for col in ("col_id", "col_code", "col_name", "col_scope", "col_value",
                    "col_baseline", "col_severity"):
            table.add_column(_t(col))
        for a in result.raised:
            held = " " + _t("held") if a.get("held") else ""
            table.add_row(str(a["id"] or "-"), escape(a["rule"]), escape(a["rule_name"]),
                          escape(scope_words(a["scope"], a["scope_label"], lang)),
                          format_figure(a["metric"], a["unit"], a["value"], lang),
                          format_figure(a["metric"], a["unit"], a["baseline"], lang),
                          _severity(a["severity"], lang) + held)
        console.print(table)
    else:
        console.print(_t("none_raised"))
    for a in result.resolved:
        console.print(escape(f"✓ {a['rule']} {scope_words(a['scope'], a['scope_label'], lang)}"))
    for e in result.errors:
        console.print(escape(_t("rule_failed", rule=e["rule"], error=e["error"])))


_STATUSES = ("open", "acknowledged", "resolved", "unresolved")


def _alert_json(a: Any, lang: str) -> dict[str, Any]:
    from storeops.alerts.messages import alert_text, detail

    words = alert_text(a, lang)
    d = detail(a)
    return {"id": a.id, "rule": a.rule_code, "rule_name": d.get("rule_name"),
            "metric": a.metric, "scope": a.scope_key, "scope_label": a.scope_label,
            "value": a.value, "baseline": a.baseline, "change": d.get("change"),
            "unit": d.get("unit"), "severity": a.severity, "status": a.status,
            "period": a.period_key,
            "since": a.since.isoformat() if a.since else None,
            "raised_at": a.raised_at.isoformat() if a.raised_at else None,
            "last_seen_at": a.last_seen_at.isoformat() if a.last_seen_at else None,
            "resolved_at": a.resolved_at.isoformat() if a.resolved_at else None,
            "assignee": a.assignee, "title": words.title, "lines": list(words.lines),
            "path": words.path}


@alert_app.command("list")
def list_command(
    store: StoreOption = None,
    status: Annotated[str | None, typer.Option(
        "--status", help="open, acknowledged, resolved or unresolved (open and "
        "acknowledged). Default: all.", show_default=False)] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000,
                                       help="At most this many, newest first.")] = 200,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """List a store's alerts, newest first."""
    from sqlalchemy import select

    from storeops.alerts.models import Alert
    from storeops.alerts.service import AlertCheckError
    from storeops.catalog.stores import resolve_store
    from storeops.db.engine import unit_of_work

    if status is not None and status not in _STATUSES:
        raise AlertCheckError(f"unknown status {status}", key="alert_rules.bad_status",
                              value=status)
    lang = cli_lang()
    with unit_of_work(database_url(db)) as session:
        st = resolve_store(session, store)
        query = select(Alert).where(Alert.store_id == st.id)
        if status == "unresolved":
            query = query.where(Alert.status.in_(("open", "acknowledged")))
        elif status:
            query = query.where(Alert.status == status)
        rows = session.scalars(query.order_by(Alert.raised_at.desc(), Alert.id.desc())
                               .limit(limit)).all()
        alerts = [_alert_json(a, lang) for a in rows]
        name, tz = st.name, st.timezone
    if as_json:
        _echo_json({"store": name, "alerts": alerts})
        return
    _print_list(name, tz, alerts, lang)


def _print_list(store: str, tz: str | None, alerts: list[dict[str, Any]], lang: str) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from storeops.alerts.messages import format_figure, scope_words, when_text

    console = Console(highlight=False, width=160)
    if not alerts:
        console.print(_t("none"))
        return
    table = Table(title=_t("list_title", store=store, n=len(alerts)), title_justify="left")
    for col in ("col_id", "col_raised", "col_code", "col_scope", "col_value", "col_baseline",
                "col_severity", "col_status"):
        table.add_column(_t(col))
    for a in alerts:
        raised = datetime.fromisoformat(a["raised_at"]) if a["raised_at"] else None
        table.add_row(str(a["id"]), when_text(raised, tz), escape(a["rule"]),
                      escape(scope_words(a["scope"], a["scope_label"], lang)),
                      format_figure(a["metric"], a["unit"] or "count", a["value"], lang),
                      format_figure(a["metric"], a["unit"] or "count", a["baseline"], lang),
                      _severity(a["severity"], lang),
                      _status_word(a["status"], lang))
    console.print(table)


def _status_word(status: str, lang: str) -> str:
    from storeops.web.i18n import translate

    return translate(lang, f"alert_rules.status.{status}")


def _move(store: str | None, alert_id: int, db: str | None, apply: Any) -> None:
    from storeops.alerts.models import Alert
    from storeops.alerts.service import AlertCheckError
    from storeops.catalog.stores import resolve_store
    from storeops.db.engine import unit_of_work

    with unit_of_work(database_url(db)) as session:
        st = resolve_store(session, store)
        alert = session.get(Alert, alert_id)
        if alert is None or alert.store_id != st.id:
            raise AlertCheckError(f"the store has no alert {alert_id}",
                                  key="alert_rules.no_alert", id=alert_id)
        apply(session, alert)
        status = alert.status
    typer.echo(_t("done", id=alert_id, status=_status_word(status, cli_lang())))


@alert_app.command("ack")
def ack_command(alert_id: IdOption, store: StoreOption = None, note: NoteOption = None,
                db: DbOption = None) -> None:
    """Acknowledge an alert (someone is on it)."""
    from storeops.alerts import lifecycle

    _move(store, alert_id, db,
          lambda s, a: lifecycle.acknowledge(s, a, cli_actor(), note))


@alert_app.command("resolve")
def resolve_command(alert_id: IdOption, store: StoreOption = None, note: NoteOption = None,
                    db: DbOption = None) -> None:
    """Resolve an alert by hand."""
    from storeops.alerts import lifecycle

    _move(store, alert_id, db, lambda s, a: lifecycle.resolve(s, a, cli_actor(), note))


@alert_app.command("assign")
def assign_command(alert_id: IdOption,
                   to: Annotated[str, typer.Option("--to", help="Who takes it (a user name); "
                                                   "empty to unassign.",
                                                   show_default=False)],
                   store: StoreOption = None, db: DbOption = None) -> None:
    """Assign an alert to someone."""
    from storeops.alerts import lifecycle

    _move(store, alert_id, db, lambda s, a: lifecycle.assign(s, a, cli_actor(), to))


RuleOption = Annotated[str, typer.Option("--rule", help="The rule's code (see `storeops alert "
                                         "rules`).", show_default=False)]


def _set_enabled(store: str | None, code: str, enabled: bool, db: str | None) -> None:
    from storeops.alerts.rules_store import set_enabled
    from storeops.catalog.stores import resolve_store
    from storeops.db.engine import unit_of_work

    with unit_of_work(database_url(db)) as session:
        st = resolve_store(session, store)
        set_enabled(session, st.id, code, enabled, cli_actor())
    typer.echo(_t("enabled" if enabled else "disabled", rule=code))


@alert_app.command("enable")
def enable_command(rule: RuleOption, store: StoreOption = None, db: DbOption = None) -> None:
    """Turn a rule on."""
    _set_enabled(store, rule, True, db)


@alert_app.command("disable")
def disable_command(rule: RuleOption, store: StoreOption = None, db: DbOption = None) -> None:
    """Turn a rule off (its open alerts stay until someone resolves them)."""
    _set_enabled(store, rule, False, db)


@alert_app.command("backtest")
def backtest_command(
    rule: RuleOption,
    first: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.",
                                       show_default=False)],
    last: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD.",
                                      show_default=False)],
    store: StoreOption = None,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """The days a rule would have fired on between two days (store-local), with the figure and
    its baseline; nothing is saved or sent."""
    from datetime import date

    from storeops.alerts.rules import RuleSpecError
    from storeops.alerts.rules_store import ensure_default_rules, get_rule, spec_of
    from storeops.alerts.service import AlertCheckError, backtest
    from storeops.catalog.stores import resolve_store
    from storeops.db.engine import unit_of_work

    days = []
    for name, text in (("--from", first), ("--to", last)):
        try:
            days.append(date.fromisoformat(text.strip()))
        except ValueError:
            raise AlertCheckError(f"{name} {text}: not a date YYYY-MM-DD",
                                  key="alert_rules.bad_day", option=name, value=text) from None
    url = database_url(db)
    with unit_of_work(url) as session:
        st = resolve_store(session, store)
        ensure_default_rules(session, st.id)
        row = get_rule(session, st.id, rule)
        if row is None:
            raise RuleSpecError(rule, "code", "no such rule in this store",
                                problem_key="no_such_rule")
        spec, store_id, name = spec_of(row), st.id, st.name
    firings = backtest(url, store_id, spec, days[0], days[1])
    rows = [{"day": f.day.isoformat(), "scope": f.scope_key, "scope_label": f.scope_label,
             "value": _text(f.value, spec.unit), "baseline": _text(f.baseline, spec.unit),
             "change": _text(f.change, "rate"), "severity": f.severity} for f in firings]
    if as_json:
        _echo_json({"store": name, "rule": spec.code, "from": days[0].isoformat(),
                    "to": days[1].isoformat(), "firings": rows})
        return
    _print_backtest(name, spec, days[0], days[1], rows)


def _text(value: Any, unit: str) -> str | None:
    from storeops.alerts.service import decimal_text

    return decimal_text(value, unit)


def _print_backtest(store: str, spec: Any, first: Any, last: Any,
                    rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from storeops.alerts.messages import format_figure, scope_words

    lang = cli_lang()
    console = Console(highlight=False, width=160)
    console.print(escape(_t("backtest_title", store=store, rule=spec.display_name(lang),
                            first=first, last=last, n=len(rows))))
    if not rows:
        return
    table = Table()
    for col in ("col_day", "col_scope", "col_value", "col_baseline", "col_severity"):
        table.add_column(_t(col))
    for r in rows:
        table.add_row(r["day"], escape(scope_words(r["scope"], r["scope_label"], lang)),
                      format_figure(spec.metric, spec.unit, r["value"], lang),
                      format_figure(spec.metric, spec.unit, r["baseline"], lang),
                      _severity(r["severity"] or spec.severity, lang))
    console.print(table)
