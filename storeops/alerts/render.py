"""The words a channel receives: an alert, its resolution, a built report and a test message,
in the channel's language (zh-CN by default, en), shaped for each kind of channel.

A :class:`Message` is neutral (a title, lines, an absolute link, attachments); :func:`payload`
turns it into what one kind of channel takes: DingTalk's and WeCom's markdown bodies, or an
email's subject, plain-text and HTML parts. The alert's own words come from
:func:`storeops.alerts.messages.alert_text`, so pages, the terminal and channels agree.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from storeops.config import public_url

KINDS = ("dingtalk", "wecom", "email")
LANGS = ("zh-CN", "en")

_WORDS = {
    "zh-CN": {
        "store": "店铺",
        "view": "查看详情",
        "resolved": "【已恢复】",
        "resolved_at": "恢复于",
        "resolved_by": "处理人",
        "auto": "条件已解除，自动恢复",
        "weekly": "周报",
        "monthly": "月报",
        "report_title": "【{kind}】{store} {period} 经营报表",
        "report_line": "{period} 的经营报表已生成。",
        "report_files": "附件：{files}",
        "report_view": "打开报表",
        "test_title": "【测试】storeops 通知测试",
        "test_line": "这是一条测试消息：渠道「{name}」可以收到 {store} 的预警和报表。",
        "test_view": "通知渠道",
        "footer": "storeops 店铺运营预警",
        "digest_title": "【预警汇总】{store} {n} 条预警通知",
        "digest_view": "查看全部预警",
        "detail": "详情",
    },
    "en": {
        "store": "Store",
        "view": "View details",
        "resolved": "[Resolved] ",
        "resolved_at": "Resolved at",
        "resolved_by": "Resolved by",
        "auto": "the condition cleared by itself",
        "weekly": "Weekly report",
        "monthly": "Monthly report",
        "report_title": "[{kind}] {store} {period}",
        "report_line": "The operations report for {period} is ready.",
        "report_files": "Attached: {files}",
        "report_view": "Open the report",
        "test_title": "[Test] storeops notification test",
        "test_line": "This is a test message: channel \"{name}\" receives the alerts and reports"
                     " of {store}.",
        "test_view": "Notification channels",
        "footer": "storeops store alerts",
        "digest_title": "[Alerts] {n} alert notifications for {store}",
        "digest_view": "All alerts",
        "detail": "details",
    },
}


def norm_lang(lang: str | None) -> str:
    return "en" if (lang or "").lower().startswith("en") else "zh-CN"


def words(lang: str | None) -> dict[str, str]:
    return _WORDS[norm_lang(lang)]


def absolute(path: str) -> str:
    """``path`` (``/alerts/12``) under the public address (STOREOPS_PUBLIC_URL)."""
    if path.startswith(("http://", "https://")):
        return path
    return public_url() + ("" if path.startswith("/") else "/") + path


@dataclass(frozen=True)
class Message:
    title: str
    lines: tuple[str, ...]
    link: str  # absolute
    link_label: str
    severity: str | None = None
    attachments: tuple[str, ...] = field(default=())  # file paths (email only)
    footer: str = ""


def _local(moment: datetime | None, tz: str | None) -> str:
    if moment is None:
        return ""
    try:
        zone = ZoneInfo(tz or "Asia/Shanghai")
    except Exception:  # noqa: BLE001 - a bad timezone never stops a message
        zone = ZoneInfo("Asia/Shanghai")
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def alert_message(alert: Any, lang: str | None, *, event: str = "alert",
                  store_name: str | None = None, store_tz: str | None = None) -> Message:
    """An alert (``event="alert"``) or its resolution (``event="resolved"``)."""
    from storeops.alerts.messages import alert_text

    lang = norm_lang(lang)
    w = _WORDS[lang]
    resolved = event == "resolved"
    try:
        text = alert_text(alert, lang, resolved=resolved)
    except TypeError:  # an alert_text without the ``resolved`` keyword
        text = alert_text(alert, lang)
    lines = list(text.lines)
    title = text.title
    if resolved and not (title.startswith(w["resolved"].strip())
                         or "恢复" in title or "Resolved" in title):
        title = w["resolved"] + title
    if store_name and store_name not in title:
        lines.insert(0, f"{w['store']}{'：' if lang == 'zh-CN' else ': '}{store_name}")
    if resolved:
        when = _local(getattr(alert, "resolved_at", None), store_tz)
        sep = "：" if lang == "zh-CN" else ": "
        if when:
            lines.append(f"{w['resolved_at']}{sep}{when}")
        by = getattr(alert, "resolved_by", None)
        lines.append(f"{w['resolved_by']}{sep}{by}" if by else w["auto"])
    return Message(title=title, lines=tuple(lines), link=absolute(text.path),
                   link_label=w["view"], severity=alert.severity, footer=w["footer"])


def report_message(report: Any, lang: str | None, *, store_name: str | None = None
                   ) -> Message:
    """A built report: a link to ``/reports/<id>``; its XLSX and PDF attached for email."""
    from pathlib import Path

    lang = norm_lang(lang)
    w = _WORDS[lang]
    kind = w.get(report.kind, report.kind)
    store = store_name or ""
    title = w["report_title"].format(kind=kind, store=store, period=report.period).replace(
        "  ", " ")
    lines = [w["report_line"].format(period=report.period)]
    files = tuple(p for p in (report.xlsx_path, report.pdf_path) if p)
    if files:
        lines.append(w["report_files"].format(files=", ".join(Path(p).name for p in files)))
    for line in _report_summary(report, lang):
        lines.append(line)
    return Message(title=title, lines=tuple(lines), link=absolute(f"/reports/{report.id}"),
                   link_label=w["report_view"], attachments=files, footer=w["footer"])


SUMMARY_KPIS = ("gmv", "orders", "uv", "conversion_rate", "aov")


def _report_summary(report: Any, lang: str) -> list[str]:
    """Headline figures of a built report (its ``figures_json`` ``kpis``): GMV, orders,
    visitors, conversion and AOV with their change against the previous period."""
    raw = getattr(report, "figures_json", None)
    if not raw:
        return []
    try:
        figures = json.loads(raw)
        kpis = figures.get("kpis") if isinstance(figures, dict) else None
        if not isinstance(kpis, dict):
            return []
        from storeops.alerts.messages import format_figure, metric_name
        from storeops.metrics.definitions import METRICS

        out = []
        for key in SUMMARY_KPIS:
            k = kpis.get(key)
            if not isinstance(k, dict) or k.get("value") is None:
                continue
            unit = METRICS[key].unit if key in METRICS else "count"
            text = f"{metric_name(key, lang)}{'：' if lang == 'zh-CN' else ': '}" \
                f"{format_figure(key, unit, k['value'], lang)}"
            change = k.get("change")
            if change is not None:
                pct = float(change) * 100
                arrow = "▲" if pct > 0 else "▼" if pct < 0 else ""
                label = "较上期" if lang == "zh-CN" else "vs previous"
                text += f"（{label} {arrow}{abs(pct):.1f}%）" if lang == "zh-CN" \
                    else f" ({label} {arrow}{abs(pct):.1f}%)"
            out.append(text)
        return out
    except Exception:  # noqa: BLE001 - the headline is a courtesy; the link is the report
        return []


def test_message(channel: Any, lang: str | None, *, store_name: str) -> Message:
    lang = norm_lang(lang)
    w = _WORDS[lang]
    from urllib.parse import quote

    name = channel.name or channel.target_hint or channel.kind
    return Message(title=w["test_title"],
                   lines=(w["test_line"].format(name=name, store=store_name),),
                   link=absolute(f"/alerts/channels?store={quote(store_name)}"),
                   link_label=w["test_view"], footer=w["footer"])


# --- shapes per channel kind --------------------------------------------------------------

def _md_escape(text: str) -> str:
    # Keep the words as written; only stop a line from turning into a heading or a list.
    text = text.replace("\r", " ").replace("\n", " ")
    if text[:1] in "#>-*+":
        text = "\\" + text
    return text


def dingtalk_body(msg: Message) -> dict[str, Any]:
    parts = [f"#### {_md_escape(msg.title)}"]
    parts += [_md_escape(line) for line in msg.lines]
    parts.append(f"[{msg.link_label}]({msg.link})")
    if msg.footer:
        parts.append(f"— {msg.footer}")  # "storeops": a keyword for robots that ask for one
    return {"msgtype": "markdown",
            "markdown": {"title": msg.title[:100], "text": "\n\n".join(parts)}}


_WECOM_COLOUR = {"critical": "warning", "warning": "warning", "info": "info"}


def wecom_body(msg: Message) -> dict[str, Any]:
    title = _md_escape(msg.title)
    colour = _WECOM_COLOUR.get(msg.severity or "")
    head = f'**<font color="{colour}">{title}</font>**' if colour else f"**{title}**"
    parts = [head] + [f"> {_md_escape(line)}" for line in msg.lines]
    parts.append(f"[{msg.link_label}]({msg.link})")
    if msg.footer:
        parts.append(f'<font color="comment">— {msg.footer}</font>')
    content = "\n".join(parts)
    # WeCom refuses markdown content over 4,096 bytes.
    while len(content.encode("utf-8")) > 4096 and len(parts) > 3:
        parts.pop(-3)  # the last lines go first; the title, link and footer stay
        content = "\n".join(parts)
    if len(content.encode("utf-8")) > 4096:
        content = content.encode("utf-8")[:4096].decode("utf-8", "ignore")
    return {"msgtype": "markdown", "markdown": {"content": content}}


def email_body(msg: Message) -> dict[str, Any]:
    text = "\n".join([msg.title, "", *msg.lines, "", f"{msg.link_label}: {msg.link}", "",
                      "-- ", msg.footer])
    items = "".join(f"<p>{html.escape(line)}</p>" for line in msg.lines)
    body_html = (
        '<!doctype html><html><body style="font-family:sans-serif">'
        f"<h3>{html.escape(msg.title)}</h3>{items}"
        f'<p><a href="{html.escape(msg.link, quote=True)}">{html.escape(msg.link_label)}</a></p>'
        f'<p style="color:#888;font-size:12px">{html.escape(msg.footer)}</p>'
        "</body></html>")
    subject = " ".join(msg.title.split())[:200]  # one header line, whatever the title holds
    return {"subject": subject, "text": text, "html": body_html,
            "attachments": list(msg.attachments)}


def payload(kind: str, msg: Message) -> dict[str, Any]:
    """What a channel of ``kind`` is sent: ``{"title": …, "body": …}``."""
    if kind == "dingtalk":
        body = dingtalk_body(msg)
    elif kind == "wecom":
        body = wecom_body(msg)
    elif kind == "email":
        body = email_body(msg)
    else:
        raise ValueError(f"unknown channel kind {kind!r}")
    return {"title": msg.title, "link": msg.link, "body": body}


def digest_payload(kind: str, lang: str | None, store_name: str,
                   items: list[tuple[str, str]]) -> dict[str, Any]:
    """Several alert messages to one channel at once, as one message: each message's title
    as a link to its page (``items``: (title, absolute link)), then a link to the store's
    alerts. A burst of alerts is one message in the group, not one each."""
    from urllib.parse import quote

    w = words(lang)
    title = w["digest_title"].format(store=store_name, n=len(items))
    all_link = absolute(f"/alerts?store={quote(store_name)}")
    footer = w["footer"]
    if kind == "dingtalk":
        lines = [f"- {' '.join(t.split())} [{w['detail']}]({link})" for t, link in items]
        text = "\n".join([f"#### {_md_escape(title)}", "", *lines, "",
                          f"[{w['digest_view']}]({all_link})", "", f"— {footer}"])
        body: dict[str, Any] = {"msgtype": "markdown",
                                "markdown": {"title": title[:100], "text": text}}
    elif kind == "wecom":
        head = f"**{_md_escape(title)}**"
        tail = [f"[{w['digest_view']}]({all_link})", f'<font color="comment">— {footer}</font>']
        lines = [f"> {' '.join(t.split())} [{w['detail']}]({link})" for t, link in items]
        while lines and len("\n".join([head, *lines, *tail]).encode("utf-8")) > 4096:
            lines.pop()
        body = {"msgtype": "markdown", "markdown": {"content": "\n".join([head, *lines,
                                                                          *tail])}}
    elif kind == "email":
        text = "\n".join([title, "", *(f"- {t}\n  {link}" for t, link in items), "",
                          f"{w['digest_view']}: {all_link}", "", "-- ", footer])
        lis = "".join(f'<li><a href="{html.escape(link, quote=True)}">{html.escape(t)}</a></li>'
                      for t, link in items)
        body_html = ('<!doctype html><html><body style="font-family:sans-serif">'
                     f"<h3>{html.escape(title)}</h3><ul>{lis}</ul>"
                     f'<p><a href="{html.escape(all_link, quote=True)}">'
                     f"{html.escape(w['digest_view'])}</a></p>"
                     f'<p style="color:#888;font-size:12px">{html.escape(footer)}</p>'
                     "</body></html>")
        body = {"subject": " ".join(title.split())[:200], "text": text, "html": body_html,
                "attachments": []}
    else:
        raise ValueError(f"unknown channel kind {kind!r}")
    return {"title": title, "link": all_link, "body": body}
