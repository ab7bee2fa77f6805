"""Each default rule, end to end with data in the database: it fires on the store whose
figures were made to cross it, and stays quiet on the store whose figures do not
(``test_alert_check_support``), nor on the one whose figures sit just inside every line;
the alert carries the figure and its baseline, is queued for
the channels once, and its words read as 商智 writes figures."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from conftest import _migrated_sqlite
from sqlalchemy import select
from test_alert_check_support import AS_OF, build_store

from storeops.alerts.defaults import DEFAULT_CODES


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from storeops.alerts import delivery
    from storeops.alerts.service import check_store

    url = _migrated_sqlite(tmp_path_factory, tmp_path_factory.mktemp("alert_defaults"))
    calm = build_store(url, "calm")
    hot = build_store(url, "hot", hot=True)
    edge = build_store(url, "edge", edge=True)
    sent: list[tuple[int, str]] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(delivery, "enqueue_alert",
                   lambda session, alert, *, event="alert": sent.append((alert.id, event)) or 1)
        results = {"calm": check_store(url, calm, AS_OF), "hot": check_store(url, hot, AS_OF),
                   "edge": check_store(url, edge, AS_OF)}
        sent_first = list(sent)
        again = check_store(url, hot, AS_OF)
    return {"url": url, "ids": {"calm": calm, "hot": hot, "edge": edge}, "results": results,
            "sent": sent_first, "sent_all": sent, "again": again}


def _alerts(checked: Any, store: str) -> list[Any]:
    from storeops.alerts.models import Alert
    from storeops.db.engine import unit_of_work

    with unit_of_work(checked["url"]) as s:
        rows = list(s.scalars(select(Alert).where(Alert.store_id == checked["ids"][store])))
        s.expunge_all()
    return rows


def test_every_rule_was_checked_without_errors(checked: Any) -> None:
    for result in checked["results"].values():
        assert result.errors == []
        assert result.rules_checked == len(DEFAULT_CODES)


@pytest.mark.parametrize("code", DEFAULT_CODES)
def test_default_rule_fires_when_crossed_and_not_otherwise(checked: Any, code: str) -> None:
    hot = [a for a in _alerts(checked, "hot") if a.rule_code == code]
    calm = [a for a in _alerts(checked, "calm") if a.rule_code == code]
    assert hot, f"{code} did not fire on the store made to cross it"
    assert all(a.status == "open" and a.value is not None for a in hot)
    assert calm == [], f"{code} fired on the calm store: {[(a.value, a.baseline) for a in calm]}"
    edge = [a for a in _alerts(checked, "edge") if a.rule_code == code]
    assert edge == [], f"{code} fired on the edge store: {[(a.value, a.baseline) for a in edge]}"


def test_the_edge_store_is_measured_just_inside_every_line(checked: Any) -> None:
    """Quiet because each figure is inside its line, not because it is unknown."""
    from storeops.alerts.defaults import default_specs
    from storeops.alerts.evaluate import evaluate
    from storeops.alerts.figures import series

    seen = {}
    for spec in default_specs():
        for s in series(checked["url"], checked["ids"]["edge"], spec.metric, spec.scope_dict,
                        spec.grain, AS_OF, spec.periods_needed()):
            ev = evaluate(s.points, spec)
            assert ev.known and not ev.fires, (spec.code, s.scope_key, ev)
            seen[(spec.code, s.scope_key)] = str(ev.value)
    assert {k: seen[k] for k in [
        ("uv_drop", "store"), ("conversion_low", "store"), ("refund_rate_high", "store"),
        ("roas_low", "store"), ("campaign_cpc_high", "campaign:快车-A"),
        ("stock_below_safety", "sku:A100"), ("stock_above_max", "sku:B200"),
        ("source_concentration", "source:search")]} == {
        ("uv_drop", "store"): "344", ("conversion_low", "store"): "0.026163",
        ("refund_rate_high", "store"): "0.013571", ("roas_low", "store"): "3.1",
        ("campaign_cpc_high", "campaign:快车-A"): "15.00",
        ("stock_below_safety", "sku:A100"): "8.0", ("stock_above_max", "sku:B200"): "44.2",
        ("source_concentration", "source:search"): "0.581395"}


def test_figures_baselines_and_severities(checked: Any) -> None:
    by = {(a.rule_code, a.scope_key): a for a in _alerts(checked, "hot")}
    uv = by[("uv_drop", "store")]
    assert (uv.value, uv.baseline, uv.period_key) == ("200", "400", "2026-11-19")
    conv = by[("conversion_low", "store")]
    assert (conv.value, conv.baseline) == ("0.015000", "0.025000")
    assert by[("source_concentration", "source:search")].value == "0.800000"
    assert ("source_concentration", "source:campaign") not in by
    refund = by[("refund_rate_high", "store")]
    assert refund.severity == "critical"
    assert refund.since.date().isoformat() == "2026-11-16"  # 2026-11-17 00:00 Shanghai
    assert by[("gmv_behind_target", "store")].severity == "critical"  # the 75% tier
    assert {k[1]: by[k].severity for k in by if k[0] == "campaign_cpc_high"} == {
        "campaign:快车-B": "info", "campaign:快车-C": "warning", "campaign:快车-D": "critical"}
    assert (by[("stock_below_safety", "sku:A100")].value, by[("stock_above_max",
                                                              "sku:B200")].baseline) == (
        "1.70", "45")
    assert ("stock_below_safety", "sku:B200") not in by
    assert (by[("ship_deadline", "store")].value, by[("ship_overdue", "store")].value) == (
        "2", "1")
    gmv = by[("gmv_anomaly", "store")]
    assert (gmv.value, gmv.baseline) == ("250.00", "1600.00")
    detail = json.loads(gmv.detail_json)
    assert detail["series"][-2:] == [["2026-11-18", "1600.00"], ["2026-11-19", "250.00"]]
    assert len(detail["series"]) == 14 and detail["unit"] == "money"
    assert detail["condition"] == {"kind": "anomaly", "direction": "down",
                                   "sensitivity": "3"}
    assert detail["rule_name"] == "成交金额异常下降" and detail["change"] == "-0.843750"
    assert {k[1] for k in by if k[0] == "sku_uv_anomaly"} == {"sku:A100", "sku:B200"}


def test_alerts_are_queued_once_and_a_second_check_adds_nothing(checked: Any) -> None:
    hot = _alerts(checked, "hot")
    assert Counter(event for _, event in checked["sent"]) == {"alert": len(hot)}
    assert sorted(i for i, _ in checked["sent"]) == sorted(a.id for a in hot)
    again = checked["again"]
    assert again.raised == [] and again.resolved == []
    assert len(again.still_open) == len(hot)
    assert checked["sent_all"] == checked["sent"]
    assert len(_alerts(checked, "hot")) == len(hot)


def test_the_alert_reads_as_shangzhi_writes_it(checked: Any) -> None:
    from storeops.alerts.messages import alert_text

    by = {(a.rule_code, a.scope_key): a for a in _alerts(checked, "hot")}
    uv = alert_text(by[("uv_drop", "store")], "zh-CN")
    assert uv.title == "【警告】访客数下降超过15%：hot"
    assert uv.lines[0] == "访客数：200，上周同日 400（▼50.0%）"
    assert "统计日期 2026-11-19" in uv.lines and "开始于 2026-11-19" in uv.lines
    assert uv.path == f"/alerts/{by[('uv_drop', 'store')].id}"
    gmv = alert_text(by[("gmv_anomaly", "store")], "zh-CN")
    assert gmv.lines[0] == "成交金额：¥250.00，季节性基准 ¥1,600.00（▼84.4%）"
    conv = alert_text(by[("conversion_low", "store")], "en")
    assert conv.title == "[Warning] Conversion below 2.5% — hot"
    assert conv.lines[0].endswith(": 1.50%, threshold 2.50%")
    cpc = alert_text(by[("campaign_cpc_high", "campaign:快车-D")], "zh-CN")
    assert cpc.title.startswith("【严重】") and "¥40.00" in cpc.lines[0]
    share = by[("source_concentration", "source:search")]
    assert alert_text(share, "zh-CN").title == "【提示】单一流量来源占比超过60%：搜索"
    assert alert_text(share, "en").title.endswith("— Search")
    stock = alert_text(by[("stock_below_safety", "sku:A100")], "zh-CN")
    assert stock.lines[0] == "库存可售天数：1.7天，阈值 7.0天"
    assert any(line.startswith("建议：补货") for line in stock.lines)
