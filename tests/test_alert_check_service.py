"""The check service on SQLite and PostgreSQL: one problem is one alert (the cooldown), an
alert resolves itself when its condition clears, a check run twice for the same time raises
and sends nothing new, quiet hours hold the message (not the alert), a dry run writes
nothing, the scheduled job runs each check once, and a backtest lists the days a rule would
have fired."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from test_alert_check_support import LAST_DAY, SH, build_store, only_rules

UV_LOW = {"code": "uv_low", "name": "访客数过低", "metric": "uv", "scope": {"kind": "store"},
          "condition": {"kind": "below", "threshold": 300}, "severity": "warning",
          "cooldown_hours": 48, "quiet_hours": {"start": "22:00", "end": "08:00"}}
# Visitors: 400 a day, except 200 on Nov 16, 17 and 19 (the rule: below 300).
LOW_DAYS = (date(2026, 11, 16), date(2026, 11, 17), date(2026, 11, 19))


def at(day: date, hour: int = 9) -> datetime:
    """The check the morning after ``day`` (so that ``day`` is the last closed day)."""
    nxt = day + timedelta(days=1)
    return datetime(nxt.year, nxt.month, nxt.day, hour, 0, tzinfo=SH)


@pytest.fixture
def store(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The store on SQLite and on PostgreSQL."""
    return _store(db_url, monkeypatch)


@pytest.fixture
def sqlite_store(sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The store on SQLite only (what does not depend on the database)."""
    return _store(sqlite_db_url, monkeypatch)


def _store(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    from storeops.alerts import delivery

    uv = {LAST_DAY - timedelta(days=i): 400 for i in range(30)}
    uv.update({d: 200 for d in LOW_DAYS})
    store_id = build_store(db_url, "uvstore", uv_by_day=uv, orders=False)
    only_rules(db_url, store_id, [UV_LOW])
    sent: list[tuple[int, str]] = []
    monkeypatch.setattr(delivery, "enqueue_alert",
                        lambda session, alert, *, event="alert": sent.append((alert.id, event))
                        or 1)
    return db_url, store_id, sent


def _alerts(db_url: str, store_id: int) -> list[Any]:
    from storeops.alerts.models import Alert
    from storeops.db.engine import unit_of_work

    with unit_of_work(db_url) as s:
        rows = list(s.scalars(select(Alert).where(Alert.store_id == store_id)
                              .order_by(Alert.id)))
        s.expunge_all()
    return rows


def _events(db_url: str, alert_id: int) -> list[tuple[str, str | None]]:
    from storeops.alerts.models import AlertEvent
    from storeops.db.engine import unit_of_work

    with unit_of_work(db_url) as s:
        return [(e.action, e.actor) for e in s.scalars(
            select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id))]


def test_raise_keep_auto_resolve_and_cooldown(store: Any) -> None:
    from storeops.alerts.service import check_store

    db_url, store_id, sent = store
    first = check_store(db_url, store_id, at(date(2026, 11, 16)))
    assert [(a["rule"], a["scope"], a["value"], a["baseline"], a["severity"])
            for a in first.raised] == [("uv_low", "store", "200", "300", "warning")]
    (alert,) = _alerts(db_url, store_id)
    assert alert.status == "open" and sent == [(alert.id, "alert")]
    # the same time again: nothing new, nothing sent
    again = check_store(db_url, store_id, at(date(2026, 11, 16)))
    assert again.raised == [] and [a["id"] for a in again.still_open] == [alert.id]
    assert len(_alerts(db_url, store_id)) == 1 and len(sent) == 1
    # the next day still low: the same alert, seen again
    kept = check_store(db_url, store_id, at(date(2026, 11, 17)))
    assert kept.raised == [] and len(kept.still_open) == 1
    (alert,) = _alerts(db_url, store_id)
    assert alert.period_key == "2026-11-17" and alert.last_seen_at == at(date(2026, 11, 17))
    # back to 400: resolved by the check itself, and the channels told
    cleared = check_store(db_url, store_id, at(date(2026, 11, 18)))
    assert [a["id"] for a in cleared.resolved] == [alert.id]
    (alert,) = _alerts(db_url, store_id)
    assert alert.status == "resolved" and alert.resolved_by is None
    assert alert.resolved_at == at(date(2026, 11, 18))
    assert _events(db_url, alert.id)[-1] == ("resolved", "system")
    assert sent[-1] == (alert.id, "resolved")
    # low again a day later: inside the 48 h cooldown, no second alert
    cooled = check_store(db_url, store_id, at(date(2026, 11, 19)))
    assert cooled.raised == [] and [a["reason"] for a in cooled.suppressed] == ["cooldown"]
    assert len(_alerts(db_url, store_id)) == 1 and len(sent) == 2


def test_after_the_cooldown_a_new_alert_is_raised(sqlite_store: Any) -> None:
    from dataclasses import replace

    from storeops.alerts.rules_store import get_rule, save_rule, spec_of
    from storeops.alerts.service import check_store
    from storeops.db.engine import unit_of_work

    db_url, store_id, sent = sqlite_store
    with unit_of_work(db_url) as s:
        spec = spec_of(get_rule(s, store_id, "uv_low"))
        save_rule(s, store_id, replace(spec, cooldown_hours=12), "test")
    check_store(db_url, store_id, at(date(2026, 11, 16)))
    check_store(db_url, store_id, at(date(2026, 11, 18)))  # resolved
    later = check_store(db_url, store_id, at(date(2026, 11, 19)))
    assert len(later.raised) == 1
    assert [a.status for a in _alerts(db_url, store_id)] == ["resolved", "open"]


def test_quiet_hours_hold_the_message_not_the_alert(sqlite_store: Any) -> None:
    from storeops.alerts.service import check_store
    from storeops.db.engine import unit_of_work

    db_url, store_id, sent = sqlite_store
    night = at(date(2026, 11, 16), hour=23)  # 23:00 Shanghai, inside 22:00–08:00
    result = check_store(db_url, store_id, night)
    assert result.raised[0]["held"] is True
    (alert,) = _alerts(db_url, store_id)
    assert alert.status == "open" and sent == []
    assert [a for a, _ in _events(db_url, alert.id)] == ["raised", "held"]
    from storeops.alerts.service import release_held

    with unit_of_work(db_url) as s:  # still quiet at 07:00
        assert release_held(s, store_id, night + timedelta(hours=8)) == []
    morning = night + timedelta(hours=10)  # 09:00
    with unit_of_work(db_url) as s:
        assert release_held(s, store_id, morning) == [alert.id]
    assert sent == [(alert.id, "alert")]
    with unit_of_work(db_url) as s:
        assert release_held(s, store_id, morning) == []
    assert [a for a, _ in _events(db_url, alert.id)] == ["raised", "held", "released"]


def test_dry_run_writes_and_sends_nothing(sqlite_store: Any) -> None:
    from storeops.alerts.service import check_store

    db_url, store_id, sent = sqlite_store
    result = check_store(db_url, store_id, at(date(2026, 11, 16)), dry_run=True)
    assert [a["rule"] for a in result.raised] == ["uv_low"] and result.raised[0]["id"] is None
    assert _alerts(db_url, store_id) == [] and sent == []


def test_the_job_runs_each_check_once(store: Any) -> None:
    from storeops.alerts.jobs import daily_slot, intraday_slot, run_due_checks
    from storeops.alerts.models import AlertCheckRun
    from storeops.db.engine import unit_of_work

    db_url, store_id, sent = store
    now = datetime(2026, 11, 17, 10, 7, tzinfo=SH)  # after the 10:00 daily check time
    assert intraday_slot(now) == datetime(2026, 11, 17, 10, 0, tzinfo=SH)
    assert daily_slot(now, "Asia/Shanghai") == datetime(2026, 11, 17, 10, 0, tzinfo=SH)
    assert daily_slot(datetime(2026, 11, 17, 0, 10, tzinfo=SH), "Asia/Shanghai") is None
    assert run_due_checks(db_url, now) == 1  # Nov 16 was low
    assert run_due_checks(db_url, now + timedelta(minutes=1)) == 0
    with unit_of_work(db_url) as s:
        runs = s.execute(select(AlertCheckRun.grain, func.count()).where(
            AlertCheckRun.store_id == store_id).group_by(AlertCheckRun.grain)).all()
        raised = s.scalar(select(func.sum(AlertCheckRun.raised)).where(
            AlertCheckRun.store_id == store_id))
    assert dict(runs) == {"daily": 1, "intraday": 1} and raised == 1
    assert len(_alerts(db_url, store_id)) == 1 and len(sent) == 1


def test_backtest_lists_the_days_a_rule_would_have_fired(sqlite_store: Any) -> None:
    from storeops.alerts.rules import parse_rule
    from storeops.alerts.service import AlertCheckError, backtest

    db_url, store_id, _ = sqlite_store
    spec = parse_rule(UV_LOW)
    firings = backtest(db_url, store_id, spec, date(2026, 11, 1), LAST_DAY)
    assert [(f.day, f.scope_key, str(f.value)) for f in firings] == [
        (d, "store", "200") for d in LOW_DAYS]
    two = parse_rule({**UV_LOW, "condition": {"kind": "below", "threshold": 300,
                                              "periods": 2}})
    assert [f.day for f in backtest(db_url, store_id, two, date(2026, 11, 1), LAST_DAY)] == [
        date(2026, 11, 17)]
    with pytest.raises(AlertCheckError):
        backtest(db_url, store_id, spec, LAST_DAY, date(2026, 11, 1))
    assert _alerts(db_url, store_id) == []


def test_an_alert_whose_member_left_the_scope_is_resolved(sqlite_db_url: str,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """Campaigns B, C and D ran one day at ¥20-40 a click: three alerts; once they are no
    longer running (no ads rows in the days read) their alerts are resolved. A check of an
    earlier time never resolves a later alert."""
    from storeops.alerts import delivery
    from storeops.alerts.defaults import DEFAULT_RULES
    from storeops.alerts.service import check_store

    monkeypatch.setattr(delivery, "enqueue_alert", lambda *a, **k: 0)
    db_url = sqlite_db_url
    store_id = build_store(db_url, "ads", hot=True)
    cpc = next(r for r in DEFAULT_RULES if r["code"] == "campaign_cpc_high")
    only_rules(db_url, store_id, [cpc])
    raised = check_store(db_url, store_id, at(LAST_DAY)).raised
    assert sorted(a["scope"] for a in raised) == [
        "campaign:快车-B", "campaign:快车-C", "campaign:快车-D"]
    assert check_store(db_url, store_id, at(LAST_DAY - timedelta(days=3))).resolved == []
    assert {a.status for a in _alerts(db_url, store_id)} == {"open"}
    later = check_store(db_url, store_id, at(LAST_DAY + timedelta(days=9)))
    assert sorted((a["scope"], a["reason"]) for a in later.resolved) == [
        ("campaign:快车-B", "out_of_scope"), ("campaign:快车-C", "out_of_scope"),
        ("campaign:快车-D", "out_of_scope")]
    assert {a.status for a in _alerts(db_url, store_id)} == {"resolved"}


def test_an_intraday_problem_that_comes_back_after_the_cooldown_is_a_new_alert(
        sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """ship_overdue (every 15 minutes, cooldown 2 h): a late order raises an alert; shipped,
    the alert resolves; another order late 2 h later the same day is a new alert."""
    from sqlalchemy import update
    from test_alert_check_support import AS_OF

    from storeops.alerts import delivery
    from storeops.alerts.defaults import DEFAULT_RULES
    from storeops.alerts.service import check_store
    from storeops.db.engine import unit_of_work
    from storeops.orders.models import Order

    monkeypatch.setattr(delivery, "enqueue_alert", lambda *a, **k: 0)
    db_url = sqlite_db_url
    store_id = build_store(db_url, "ship", hot=True)
    only_rules(db_url, store_id, [r for r in DEFAULT_RULES if r["code"] == "ship_overdue"])
    first = check_store(db_url, store_id, AS_OF)
    assert [(a["rule"], a["value"]) for a in first.raised] == [("ship_overdue", "1")]
    with unit_of_work(db_url) as s:
        s.execute(update(Order).where(Order.platform_order_id == "ship-LATE")
                  .values(shipped_at=AS_OF, stage="shipped"))
    cleared = check_store(db_url, store_id, AS_OF + timedelta(hours=1))
    assert [a["rule"] for a in cleared.resolved] == ["ship_overdue"]
    soon = check_store(db_url, store_id, AS_OF + timedelta(hours=2, minutes=15))
    assert soon.raised == [] and [a["reason"] for a in soon.suppressed] == ["cooldown"]
    back = check_store(db_url, store_id, AS_OF + timedelta(hours=3, minutes=15))
    assert [(a["rule"], a["value"]) for a in back.raised] == [("ship_overdue", "1")]
    assert [a.status for a in _alerts(db_url, store_id)] == ["resolved", "open"]
