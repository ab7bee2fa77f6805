"""The words of an alert, the same in the pages, the terminal and every channel: a title,
what happened with the figure and its baseline, since when, and the link to its page.

(First version by the lead; the alert rules' owner refines it as rules and detail grow.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from storeops.alerts.models import Alert


@dataclass(frozen=True)
class AlertText:
    title: str
    lines: tuple[str, ...]  # what happened, the figure and its baseline, since when
    path: str  # the alert's page, relative to the site (e.g. /alerts/12)


def detail(alert: Alert) -> dict[str, Any]:
    return json.loads(alert.detail_json) if alert.detail_json else {}


def alert_text(alert: Alert, lang: str = "zh-CN") -> AlertText:
    """``alert`` in ``lang`` (zh-CN or en)."""
    d = detail(alert)
    name = d.get("rule_name") or alert.rule_code
    scope = alert.scope_label or alert.scope_key
    if lang == "en":
        title = f"[{alert.severity}] {name} — {scope}"
        lines = [f"Value {alert.value}" + (f", baseline {alert.baseline}" if alert.baseline
                                            else "")]
        if alert.since:
            lines.append(f"Since {alert.since:%Y-%m-%d %H:%M} UTC")
    else:
        sev = {"info": "提示", "warning": "警告", "critical": "严重"}.get(alert.severity,
                                                                        alert.severity)
        title = f"【{sev}】{name}：{scope}"
        lines = [f"当前值 {alert.value}" + (f"，基准 {alert.baseline}" if alert.baseline else "")]
        if alert.since:
            lines.append(f"开始于 {alert.since:%Y-%m-%d %H:%M} UTC")
    return AlertText(title=title, lines=tuple(lines), path=f"/alerts/{alert.id}")
