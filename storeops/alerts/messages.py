"""The words of an alert, the same in the pages, the terminal and every channel: a title,
what happened with the figure and its baseline (formatted as 京东商智 does: ¥ and 万, %,
ROAS as a plain ratio), since when, what to do, and the link to its page.

Also :func:`describe_condition` (a rule's condition in words, for lists and pages) and
:func:`format_figure` (one figure of a metric by its unit).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from storeops.alerts.models import Alert


@dataclass(frozen=True)
class AlertText:
    title: str
    lines: tuple[str, ...]  # what happened, the figure and its baseline, since when
    path: str  # the alert's page, relative to the site (e.g. /alerts/12)


def detail(alert: Alert) -> dict[str, Any]:
    try:
        return json.loads(alert.detail_json) if alert.detail_json else {}
    except ValueError:
        return {}


def _t(lang: str, key: str, **params: Any) -> str:
    from storeops.web.i18n import translate

    return translate(lang, f"alert_rules.{key}", **params)


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def metric_name(metric: str, lang: str) -> str:
    from storeops.web.i18n import metric_label

    special = {
        "source_share": ("流量来源占比", "Share of visitors"),
        "gmv_pace": ("目标进度完成率", "Pace against target"),
        "stock_cover": ("库存可售天数", "Days of stock"),
        "ship_deadline": ("临近或超过发货时限的订单", "Orders due or overdue"),
        "ship_overdue": ("超过发货时限的订单", "Orders past the ship deadline"),
        "campaign_cpc": ("点击单价", "Cost per click"),
    }
    if metric in special:
        return special[metric][1 if lang == "en" else 0]
    try:
        return metric_label(metric, lang)
    except Exception:  # noqa: BLE001 - an unknown key is shown as it is
        return metric


def format_figure(metric: str, unit: str, value: Any, lang: str = "zh-CN",
                  currency: str = "CNY") -> str:
    """One figure as the cockpit shows it: money ``¥1,234.50`` (``¥12.35万`` from ¥10,000),
    rates ``2.35%``, ROAS ``2.85``, days ``5.2天``, counts ``1,234``."""
    from storeops.web import format as fmt

    number = _dec(value)
    if number is None:
        return fmt.DASH
    if unit == "money":
        return fmt.money_compact(number, currency, lang)
    if metric in fmt.PLAIN_RATIOS:
        return f"{number:.2f}"
    if unit == "rate":
        return fmt.percent(float(number))
    if unit == "days":
        shown = f"{number.quantize(Decimal('0.1'))}"
        return f"{shown} days" if lang == "en" else f"{shown}天"
    if number == number.to_integral():
        return fmt.count(int(number))
    return f"{number:,.2f}"


def _change_text(change: Any) -> str | None:
    number = _dec(change)
    if number is None:
        return None
    arrow = "▲" if number > 0 else "▼" if number < 0 else ""
    return f"{arrow}{abs(number) * 100:.1f}%"


def describe_condition(condition: dict[str, Any], metric: str, unit: str,
                       lang: str = "zh-CN") -> str:
    """A rule's condition (its ``rule_to_dict`` form) in words: ``较上周同日下降超过 15.0%``,
    ``低于 2.50%``, ``高于 ¥15.00（¥25.00 警告，¥35.00 严重）``."""
    kind = condition.get("kind")
    if kind in ("above", "below"):
        text = _t(lang, f"condition.{kind}",
                  threshold=format_figure(metric, unit, condition.get("threshold"), lang))
        tiers = condition.get("tiers") or []
        if tiers:
            sep = ", " if lang == "en" else "，"
            parts = [f"{format_figure(metric, unit, t.get('threshold'), lang)} "
                     f"{_t(lang, 'severity.' + str(t.get('severity')))}" for t in tiers]
            text += f" ({sep.join(parts)})" if lang == "en" else f"（{sep.join(parts)}）"
    elif kind == "change":
        threshold = _dec(condition.get("threshold")) or Decimal(0)
        text = _t(lang, f"condition.change_{condition.get('direction', 'down')}",
                  threshold=f"{threshold * 100:.1f}%",
                  baseline=_t(lang, f"baseline.{condition.get('baseline')}"))
        if condition.get("min_baseline") is not None:
            text += _t(lang, "condition.min_baseline", value=format_figure(
                metric, unit, condition["min_baseline"], lang))
    else:
        text = _t(lang, f"condition.anomaly_{condition.get('direction', 'any')}",
                  sensitivity=condition.get("sensitivity", "3.5"))
    periods = int(condition.get("periods") or 1)
    if periods > 1:
        text += _t(lang, "condition.periods", n=periods)
    return text


def _baseline_name(condition: dict[str, Any], lang: str) -> str:
    kind = condition.get("kind")
    if kind == "change":
        return _t(lang, f"baseline.{condition.get('baseline')}")
    if kind == "anomaly":
        return _t(lang, "baseline.anomaly")
    return _t(lang, "baseline.threshold")


def _since_text(alert: Alert, d: dict[str, Any]) -> str | None:
    if alert.since is None:
        return None
    from storeops.common.timeutil import DEFAULT_TIMEZONE, zone

    since = alert.since if alert.since.tzinfo else alert.since.replace(tzinfo=UTC)
    local = since.astimezone(zone(d.get("timezone") or DEFAULT_TIMEZONE))
    if d.get("grain") == "daily":
        return local.strftime("%Y-%m-%d")
    return local.strftime("%Y-%m-%d %H:%M")


def alert_text(alert: Alert, lang: str = "zh-CN", *, resolved: bool | None = None
               ) -> AlertText:
    """``alert`` in ``lang`` (zh-CN or en). ``resolved`` (default: the alert's status) words
    it as a resolution."""
    lang = "en" if lang == "en" else "zh-CN"
    d = detail(alert)
    name = (d.get("rule_name_en") if lang == "en" else d.get("rule_name")) or \
        d.get("rule_name") or alert.rule_code
    scope = scope_words(alert.scope_key, alert.scope_label, lang)
    sev = _t(lang, f"severity.{alert.severity}")
    is_resolved = alert.status == "resolved" if resolved is None else resolved
    prefix = _t(lang, "message.resolved") if is_resolved else ""
    if lang == "en":
        title = f"{prefix}[{sev}] {name} — {scope}"
    else:
        title = f"{prefix}【{sev}】{name}：{scope}"
    metric = alert.metric
    unit = d.get("unit") or "count"
    condition = d.get("condition") or {}
    value = format_figure(metric, unit, alert.value, lang)
    line = _t(lang, "message.value", metric=metric_name(metric, lang), value=value)
    if alert.baseline is not None:
        line = _t(lang, "message.value_baseline", metric=metric_name(metric, lang),
                  value=value, baseline_name=_baseline_name(condition, lang),
                  baseline=format_figure(metric, unit, alert.baseline, lang))
    change = _change_text(d.get("change")) if condition.get("kind") in ("change",
                                                                       "anomaly") else None
    if change:
        line += _t(lang, "message.change", change=change)
    lines = [line]
    if d.get("period"):
        lines.append(_t(lang, "message.period", period=d["period"]))
    since = _since_text(alert, d)
    if since:
        lines.append(_t(lang, "message.since", since=since))
    action = (d.get("action_en") if lang == "en" else d.get("action")) or d.get("action")
    if action and not is_resolved:
        lines.append(_t(lang, "message.action", action=action))
    return AlertText(title=title, lines=tuple(lines), path=f"/alerts/{alert.id}")


def scope_words(scope_key: str, scope_label: str | None, lang: str = "zh-CN") -> str:
    """An alert's scope for people: a traffic source by its name in ``lang`` (搜索, 活动 …),
    anything else by its label."""
    if scope_key.startswith("source:"):
        from storeops.web.i18n import label_or_raw

        return label_or_raw(lang, "source", scope_key.removeprefix("source:"))
    return scope_label or scope_key


def severity_word(severity: str, lang: str = "zh-CN") -> str:
    return _t(lang, f"severity.{severity}")


def when_text(moment: datetime | None, tz: str | None = None) -> str:
    if moment is None:
        return "—"
    from storeops.common.timeutil import DEFAULT_TIMEZONE, zone

    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(zone(tz or DEFAULT_TIMEZONE)).strftime("%Y-%m-%d %H:%M")
