"""Alert rules as data: parsing and its errors (naming the rule and the field, in both
languages), the default set, the pure evaluation of each kind of condition on hand-made
series, and the YAML rule file (import all-or-nothing, upsert by code, export round trip)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from storeops.alerts.defaults import DEFAULT_CODES, DEFAULT_RULES, default_specs
from storeops.alerts.evaluate import evaluate
from storeops.alerts.figures import Point
from storeops.alerts.rules import RuleSpecError, in_quiet_hours, parse_rule, rule_to_dict
from storeops.common.errors import localise

START = date(2026, 9, 1)


def pts(*values: Any) -> list[Point]:
    return [Point((START + timedelta(days=i)).isoformat(),
                  None if v is None else Decimal(str(v))) for i, v in enumerate(values)]


def rule(**condition: Any) -> Any:
    base = {"code": "r1", "metric": "uv", "condition": condition}
    return parse_rule(base)


# --- parsing ----------------------------------------------------------------------------------


def test_defaults_are_the_plans_rules_all_enabled_and_round_trip() -> None:
    specs = default_specs()
    codes = {s.code for s in specs}
    assert {"uv_drop", "conversion_low", "source_concentration", "refund_rate_high",
            "roas_low", "gmv_behind_target", "stock_below_safety", "stock_above_max",
            "ship_deadline", "ship_overdue", "campaign_cpc_high", "gmv_anomaly",
            "uv_anomaly", "sku_gmv_anomaly", "sku_uv_anomaly"} == codes
    assert all(s.enabled for s in specs)
    by = {s.code: s for s in specs}
    assert by["uv_drop"].condition.threshold == Decimal("0.15")
    assert by["conversion_low"].condition.threshold == Decimal("0.025")
    assert by["source_concentration"].condition.threshold == Decimal("0.6")
    assert by["refund_rate_high"].condition.periods == 3
    assert by["roas_low"].condition.threshold == 3
    cpc = by["campaign_cpc_high"].condition
    assert [cpc.threshold, *[t.threshold for t in cpc.tiers]] == [15, 25, 35]
    assert [by["campaign_cpc_high"].severity, *[t.severity for t in cpc.tiers]] == [
        "info", "warning", "critical"]
    assert by["sku_gmv_anomaly"].scope_dict == {"kind": "sku", "top": 50}
    assert by["ship_deadline"].grain == "intraday"
    for spec in specs:
        assert parse_rule(rule_to_dict(spec)) == spec
        assert parse_rule(yaml.safe_load(yaml.safe_dump(rule_to_dict(spec),
                                                        allow_unicode=True))) == spec


def test_percent_and_yuan_forms_are_accepted() -> None:
    spec = parse_rule({"code": "c", "metric": "conversion_rate",
                       "condition": {"kind": "below", "threshold": "2.5%"}})
    assert spec.condition.threshold == Decimal("0.025")
    spec = parse_rule({"code": "c", "metric": "campaign_cpc",
                       "scope": {"kind": "campaign", "value": "all"},
                       "condition": {"kind": "above", "threshold": "¥15"}})
    assert spec.condition.threshold == 15
    spec = parse_rule({"code": "c", "metric": "uv", "condition": {
        "kind": "change", "threshold": "15%", "baseline": "previous_period"},
        "quiet_hours": {"start": "22:00", "end": "08:00"}})
    assert spec.condition.threshold == Decimal("0.15")
    assert spec.quiet_hours == (time(22), time(8))
    unquoted = yaml.safe_load("{start: 22:00, end: 08:30}")  # YAML 1.1 reads 22:00 as 1320
    assert parse_rule({"code": "c", "metric": "uv", "quiet_hours": unquoted,
                       "condition": {"kind": "above", "threshold": 1}}).quiet_hours == (
        time(22), time(8, 30))
    assert in_quiet_hours(spec, time(23, 30)) and in_quiet_hours(spec, time(7, 59))
    assert not in_quiet_hours(spec, time(8, 0)) and not in_quiet_hours(spec, time(12))


@pytest.mark.parametrize(("entry", "field", "words_en", "words_zh"), [
    ({"metric": "nope", "condition": {"kind": "above", "threshold": 1}}, "metric",
     "unknown metric 'nope'", "未知指标 nope"),
    ({"metric": "uv", "condition": {"kind": "above", "threshold": "lots"}},
     "condition.threshold", "must be a number", "必须是数字"),
    ({"metric": "uv", "condition": {"kind": "sideways", "threshold": 1}}, "condition.kind",
     "must be one of above, below, change, anomaly", "必须是 above, below, change, anomaly 之一"),
    ({"metric": "uv", "condition": {"kind": "change", "threshold": "0.1",
                                    "baseline": "last_year"}},
     "condition.baseline", "must be one of previous_period", "previous_period"),
    ({"metric": "uv", "severity": "loud", "condition": {"kind": "above", "threshold": 1}},
     "severity", "must be one of info, warning, critical", "info, warning, critical"),
    ({"metric": "roas", "scope": {"kind": "sku", "value": "all"},
      "condition": {"kind": "below", "threshold": 3}}, "scope.kind",
     "roas is not measured per sku", "指标 roas 不能按 sku 统计"),
    ({"metric": "uv", "quiet_hours": {"start": "25:00", "end": "08:00"},
      "condition": {"kind": "above", "threshold": 1}}, "quiet_hours.start",
     "must be a time HH:MM", "HH:MM"),
    ({"metric": "uv", "condition": {"kind": "above", "threshold": 1, "periods": 0}},
     "condition.periods", "from 1 to 60", "1 到 60"),
    ({"metric": "uv", "colour": "red", "condition": {"kind": "above", "threshold": 1}},
     "colour", "is not a field of a rule", "不是可用的字段"),
    ({"metric": "campaign_cpc", "scope": {"kind": "campaign", "value": "all"},
      "condition": {"kind": "above", "threshold": 15,
                    "tiers": [{"threshold": 10, "severity": "critical"}]}},
     "condition.tiers[1].threshold", "each tier must go further", "每档比上一档更进一步"),
    ({"metric": "uv", "condition": {"kind": "anomaly", "sensitivity": 0.1}},
     "condition.sensitivity", "from 0.5 to 20", "0.5 到 20"),
    ({"metric": "uv", "enabled": "yes", "condition": {"kind": "above", "threshold": 1}},
     "enabled", "true or false", "true 或 false"),
])
def test_errors_name_the_rule_and_the_field(entry: dict[str, Any], field: str, words_en: str,
                                            words_zh: str) -> None:
    with pytest.raises(RuleSpecError) as caught:
        parse_rule({"code": "my_rule", **entry}, where="rules.yaml")
    exc = caught.value
    assert exc.code_name == "my_rule" and exc.field == field
    en = localise(exc, "en")
    assert en.startswith(f"rules.yaml: rule my_rule, field {field}: ")
    assert words_en in en
    zh = localise(exc, "zh-CN")
    assert zh.startswith(f"rules.yaml：规则 my_rule，字段 {field}：")
    assert words_zh in zh


def test_a_bad_code_is_named() -> None:
    with pytest.raises(RuleSpecError) as caught:
        parse_rule({"code": "has space", "metric": "uv",
                    "condition": {"kind": "above", "threshold": 1}})
    assert caught.value.field == "code" and "has space" in str(caught.value)


# --- evaluation -------------------------------------------------------------------------------


def test_above_below_and_tiers() -> None:
    cpc = parse_rule({"code": "cpc", "metric": "campaign_cpc", "severity": "info",
                      "scope": {"kind": "campaign", "value": "all"},
                      "condition": {"kind": "above", "threshold": 15, "tiers": [
                          {"threshold": 25, "severity": "warning"},
                          {"threshold": 35, "severity": "critical"}]}})
    assert not evaluate(pts(10, 15), cpc).fires  # at the threshold is not over it
    assert (evaluate(pts(10, 16), cpc).severity, evaluate(pts(10, 26), cpc).severity,
            evaluate(pts(10, 36), cpc).severity) == ("info", "warning", "critical")
    low = rule(kind="below", threshold="0.025")
    ev = evaluate(pts("0.03", "0.024"), low)
    assert ev.fires and ev.value == Decimal("0.024") and ev.baseline == Decimal("0.025")
    assert ev.period == "2026-09-02" and ev.since == "2026-09-02"
    quiet = evaluate(pts("0.03", "0.025"), low)
    assert not quiet.fires and quiet.known


def test_unknown_figures_neither_fire_nor_clear() -> None:
    ev = evaluate(pts(1, None), rule(kind="above", threshold=0))
    assert not ev.fires and not ev.known


def test_change_against_each_baseline() -> None:
    week = [100, 100, 100, 100, 100, 100, 100]
    # previous period: 100 → 84 is down 16%
    prev = rule(kind="change", baseline="previous_period", direction="down", threshold="0.15")
    ev = evaluate(pts(100, 84), prev)
    assert ev.fires and ev.baseline == 100 and ev.change == Decimal("-0.16")
    assert not evaluate(pts(100, 86), prev).fires
    assert not evaluate(pts(100, 130), prev).fires  # a rise is not a drop
    up = rule(kind="change", baseline="previous_period", direction="up", threshold="0.15")
    assert evaluate(pts(100, 130), up).fires
    # same weekday last week: the point 7 before, whatever the days between
    wow = rule(kind="change", baseline="same_weekday_last_week", threshold="0.15")
    ev = evaluate(pts(200, *week[1:], 160), wow)
    assert ev.fires and ev.baseline == 200 and ev.change == Decimal("-0.2")
    assert not evaluate(pts(100, 50, 50, 50, 50, 50, 50, 95), wow).fires
    # median of the same weekday over 4 weeks (one odd week does not move it)
    med = rule(kind="change", baseline="median_same_weekday_4w", threshold="0.15")
    four = [*([100] * 7), *([100] * 7), *([300] * 7), *([100] * 7)]
    ev = evaluate(pts(*four, 80), med)
    assert ev.fires and ev.baseline == 100
    assert not evaluate(pts(*four, 90), med).fires
    assert not evaluate(pts(*[100] * 10, 10), med).known  # fewer than 3 weeks of history


def test_min_baseline_keeps_tiny_figures_quiet() -> None:
    spec = rule(kind="change", baseline="previous_period", threshold="0.15", min_baseline=50)
    assert not evaluate(pts(4, 1), spec).fires
    assert evaluate(pts(400, 100), spec).fires


def test_n_periods_running_and_since() -> None:
    spec = rule(kind="above", threshold="0.015", periods=3)
    assert not evaluate(pts("0.01", "0.02", "0.02"), spec).fires  # two days running
    ev = evaluate(pts("0.01", "0.02", "0.02", "0.03"), spec)
    assert ev.fires and ev.since == "2026-09-02"
    assert not evaluate(pts("0.02", "0.02", "0.01", "0.02"), spec).fires  # broken run
    ev = evaluate(pts("0.02", "0.02", "0.02", "0.02", "0.02"), spec)
    assert ev.fires and ev.since == "2026-09-01"


def test_anomaly_uses_the_seasonal_baseline() -> None:
    spec = rule(kind="anomaly", direction="down")
    history = [100 + (i % 7) * 10 for i in range(56)]  # a weekly rhythm, no noise
    normal = evaluate(pts(*history, history[-7]), spec)
    assert normal.known and not normal.fires
    drop = evaluate(pts(*history, Decimal(history[-7]) * Decimal("0.6")), spec)
    assert drop.fires and drop.baseline == history[-7] and drop.change == Decimal("-0.4")
    assert drop.score is not None and drop.score < -3.5
    assert not evaluate(pts(*history, history[-7] * 2), spec).fires  # a rise: watch down
    assert not evaluate(pts(*history[-10:], 1), spec).known  # too little history


# --- the rule file ----------------------------------------------------------------------------


@pytest.fixture
def store_session(sqlite_db_url: str) -> Any:
    from storeops.catalog.models import Store
    from storeops.db.engine import session_factory

    session = session_factory(sqlite_db_url)()
    store = Store(name="s", timezone="Asia/Shanghai", currency="CNY", data_version=0)
    session.add(store)
    session.commit()
    yield session, store.id
    session.close()


RULE_FILE = """
rules:
  - code: uv_drop
    name: 访客数下降超过20%
    metric: uv
    scope: {kind: store}
    condition: {kind: change, baseline: previous_period, direction: down, threshold: 20%}
    severity: critical
  - code: sku_conversion
    name: 单品转化率过低
    metric: conversion_rate
    scope: {kind: sku, value: "100012345"}
    condition: {kind: below, threshold: 0.01, periods: 2}
    quiet_hours: {start: "23:00", end: "07:30"}
    cooldown_hours: 48
"""


def test_import_upserts_by_code_keeps_others_and_reimport_changes_nothing(
        store_session: Any, tmp_path: Path) -> None:
    from storeops.alerts.rules_store import (
        export_rules,
        get_rule,
        import_rules,
        list_rules,
        spec_of,
    )

    session, store_id = store_session
    path = tmp_path / "rules.yaml"
    path.write_text(RULE_FILE, encoding="utf-8")
    first = import_rules(session, store_id, path, "user:alice")
    assert first.created == ("sku_conversion",) and first.updated == ("uv_drop",)
    codes = [r.code for r in list_rules(session, store_id)]
    assert set(DEFAULT_CODES) <= set(codes) and "sku_conversion" in codes
    row = get_rule(session, store_id, "uv_drop")
    assert row.version == 2 and row.updated_by == "user:alice" and row.builtin
    assert spec_of(row).condition.threshold == Decimal("0.2")
    again = import_rules(session, store_id, path, "user:bob")
    assert again.unchanged == ("uv_drop", "sku_conversion") and not again.created
    assert get_rule(session, store_id, "uv_drop").version == 2
    # export → import into a fresh store gives the same rules
    text = export_rules(session, store_id, tmp_path / "out.yaml")
    assert (tmp_path / "out.yaml").read_text(encoding="utf-8") == text
    exported = yaml.safe_load(text)["rules"]
    assert [r["code"] for r in exported][:len(DEFAULT_RULES)] == list(DEFAULT_CODES)
    back = import_rules(session, store_id, text, "user:carol")
    assert len(back.unchanged) == len(exported) and not back.updated
    session.commit()


def test_import_is_all_or_nothing_and_names_the_rule(store_session: Any,
                                                     tmp_path: Path) -> None:
    from storeops.alerts.rules_store import import_rules, list_rules

    session, store_id = store_session
    before = {r.code: r.spec_json for r in list_rules(session, store_id)}
    session.commit()
    bad = RULE_FILE + """
  - code: broken
    metric: uv
    condition: {kind: above, threshold: many}
"""
    path = tmp_path / "bad.yaml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(RuleSpecError) as caught:
        import_rules(session, store_id, path, "x")
    session.rollback()
    assert str(caught.value).startswith("bad.yaml: rule broken, field condition.threshold")
    assert {r.code: r.spec_json for r in list_rules(session, store_id)} == before
    dup = RULE_FILE + RULE_FILE.split("rules:")[1]
    with pytest.raises(RuleSpecError, match="rule uv_drop, field code: appears twice"):
        import_rules(session, store_id, dup, "x")
    with pytest.raises(RuleSpecError, match="not valid YAML") as caught:
        import_rules(session, store_id, "rules: [\n  - {code: x", "x")
    assert localise(caught.value, "zh-CN").startswith("rules：不是有效的 YAML（第 ")
    with pytest.raises(RuleSpecError) as caught:
        import_rules(session, store_id, tmp_path / "missing.yaml", "x")
    assert localise(caught.value, "en") == "missing.yaml: No such file or directory"
    assert localise(caught.value, "zh-CN") == "missing.yaml：无法读取：No such file or directory"
    with pytest.raises(RuleSpecError) as caught:
        import_rules(session, store_id, "just: text\n", "x")
    assert localise(caught.value, "zh-CN") == 'rules：文件必须在 "rules:" 下列出规则'

    with pytest.raises(RuleSpecError, match=r"rule #1, field code: is required"):
        import_rules(session, store_id, "rules:\n  - {metric: uv}\n", "x")


def test_set_enabled_and_save(store_session: Any) -> None:
    from storeops.alerts.rules_store import get_rule, save_rule, set_enabled, spec_of

    session, store_id = store_session
    from storeops.alerts.rules_store import ensure_default_rules

    assert ensure_default_rules(session, store_id) == len(DEFAULT_RULES)
    assert ensure_default_rules(session, store_id) == 0
    row = set_enabled(session, store_id, "roas_low", False, "user:a")
    assert not row.enabled and row.version == 2
    spec = replace(spec_of(row), severity="critical")
    row = save_rule(session, store_id, spec, "user:b")
    assert row.version == 3 and spec_of(get_rule(session, store_id, "roas_low")) == spec
    with pytest.raises(RuleSpecError, match="no such rule"):
        set_enabled(session, store_id, "nope", True, "x")
