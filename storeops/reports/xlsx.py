"""A report as an XLSX workbook: one sheet per section, real number formats, two charts.

Money is a number formatted ``"¥"#,##0.00`` (the store's currency symbol), counts ``#,##0``,
rates fractions shown ``0.00%``, ROAS ``0.00``; changes ``▲ 12.3%`` red / ``▼ 4.0%`` green
(京东商智 colours). The first sheet holds the KPIs with their metric key in the last column, so
a script can read them back. Headers and sheet names are in the report's language.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter

from storeops.metrics.definitions import METRICS
from storeops.reports.data import ReportData
from storeops.web.i18n import catalog, metric_label, translate

SYMBOLS = {"CNY": "¥", "USD": "$", "GBP": "£", "EUR": "€", "JPY": "¥", "HKD": "HK$"}
CHANGE_FORMAT = '[Red]"▲ "0.0%;[Color10]"▼ "0.0%;0.0%'


def money_format(currency: str) -> str:
    symbol = SYMBOLS.get(currency, currency + " ")
    return f'"{symbol}"#,##0.00'


def _num(value: Any) -> Any:
    """A cell's value: Decimal as a number (cents are exact in a double), None as empty."""
    if isinstance(value, Decimal):
        return float(value)
    return value


class _Book:
    def __init__(self, path: Path, data: ReportData, lang: str) -> None:
        self.wb = xlsxwriter.Workbook(str(path), {"constant_memory": False,
                                                  "default_date_format": "yyyy-mm-dd",
                                                  "remove_timezone": True})
        self.data, self.lang = data, lang
        wb = self.wb
        self.f = {
            "title": wb.add_format({"bold": True, "font_size": 14}),
            "note": wb.add_format({"italic": True, "font_color": "#6b7280"}),
            "head": wb.add_format({"bold": True, "bg_color": "#f3f4f6", "border": 1,
                                   "text_wrap": True, "valign": "top"}),
            "text": wb.add_format({}),
            "id": wb.add_format({"num_format": "@"}),
            "money": wb.add_format({"num_format": money_format(data.currency)}),
            "count": wb.add_format({"num_format": "#,##0"}),
            "rate": wb.add_format({"num_format": "0.00%"}),
            "ratio": wb.add_format({"num_format": "0.00"}),
            "change": wb.add_format({"num_format": CHANGE_FORMAT}),
            "date": wb.add_format({"num_format": "yyyy-mm-dd"}),
            "datetime": wb.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
            "bold": wb.add_format({"bold": True}),
        }

    def t(self, key: str, **params: Any) -> str:
        return translate(self.lang, f"reports.{key}", **params)

    def word(self, prefix: str, value: Any) -> str:
        if value is None:
            return catalog(self.lang).get(f"{prefix}.unknown", "—")
        return catalog(self.lang).get(f"{prefix}.{value}", str(value))

    def sheet(self, key: str, heading: str | None = None) -> Any:
        ws = self.wb.add_worksheet(self.t(f"sheet.{key}")[:31])
        ws.write(0, 0, heading or self.t(f"sheet.{key}") + " · " + self.title(), self.f["title"])
        return ws

    def title(self) -> str:
        p = self.data.period
        return self.t("period_line", kind=self.t(f"kind.{p.kind}"), period=p.label,
                      first=p.first.isoformat(), last=p.last.isoformat())

    def table(self, ws: Any, row: int, columns: list[tuple[str, str]],
              rows: list[dict[str, Any]], *, widths: dict[str, int] | None = None) -> int:
        """Write a header and ``rows`` from ``row``; columns are (field, kind): kind is a
        format name, ``metric`` (the unit of the row's ``key``), or ``label:<prefix>``.
        Returns the row after the table."""
        for c, (name, _) in enumerate(columns):
            ws.write(row, c, self.t(f"col.{name}"), self.f["head"])
            ws.set_column(c, c, (widths or {}).get(name, 14))
        for r, item in enumerate(rows, start=row + 1):
            for c, (name, kind) in enumerate(columns):
                value = item.get(name)
                if kind.startswith("label:"):
                    ws.write_string(r, c, self.word(kind[6:], value))
                    continue
                if kind == "metric_name":
                    ws.write_string(r, c, metric_label(value, self.lang))
                    continue
                if kind == "metric":
                    kind = _metric_kind(item["key"])
                self.cell(ws, r, c, value, kind)
        if rows:
            ws.autofilter(row, 0, row + len(rows), len(columns) - 1)
        return row + len(rows) + 2

    def cell(self, ws: Any, r: int, c: int, value: Any, kind: str) -> None:
        if value is None:
            ws.write_blank(r, c, None, self.f.get(kind, self.f["text"]))
        elif kind in ("id", "text"):
            ws.write_string(r, c, str(value), self.f[kind])
        elif kind in ("date", "datetime"):
            if hasattr(value, "tzinfo") and value.tzinfo is not None:
                from storeops.common.timeutil import zone

                value = value.astimezone(zone(self.data.timezone)).replace(tzinfo=None)
            ws.write_datetime(r, c, value, self.f[kind])
        else:
            ws.write_number(r, c, _num(value), self.f[kind])


def _metric_kind(key: str) -> str:
    unit = METRICS[key].unit
    if key == "roas":
        return "ratio"
    return {"money": "money", "count": "count", "rate": "rate"}[unit]


def _summary(b: _Book) -> None:
    d, p = b.data, b.data.period
    ws = b.sheet("summary", f"{d.store} · {b.title()}")
    ws.write(1, 0, b.t("compare_line", period=p.prev_label, first=p.prev_first.isoformat(),
                       last=p.prev_last.isoformat()), b.f["note"])
    ws.write(2, 0, b.t("rule"), b.f["note"])
    end = b.table(ws, 4, [("metric", "metric_name"), ("value", "metric"),
                          ("previous", "metric"), ("change", "change"), ("target", "metric"),
                          ("achievement", "rate"), ("key", "text")],
                  [{**k, "metric": k["key"]} for k in d.kpis], widths={"metric": 22})
    ws.set_column(0, 0, 22)
    ws.freeze_panes(5, 1)
    if p.kind == "weekly":
        ws.write(end, 0, b.t("week_target_note"), b.f["note"])


def _daily(b: _Book) -> None:
    d = b.data
    ws = b.sheet("daily")
    cols = [("day", "id"), ("gmv", "money"), ("orders", "count"), ("buyers", "count"),
            ("aov", "money"), ("uv", "count"), ("conversion_rate", "rate"),
            ("refund_amount", "money"), ("previous_day", "id"), ("previous_gmv", "money")]
    b.table(ws, 2, cols, d.daily)
    ws.freeze_panes(3, 1)
    n = len(d.daily)
    if n:
        sheet = b.t("sheet.daily")[:31]
        chart = b.wb.add_chart({"type": "line"})
        chart.add_series({"name": b.t("series_gmv"), "categories": [sheet, 3, 0, 2 + n, 0],
                          "values": [sheet, 3, 1, 2 + n, 1], "line": {"color": "#e1251b"}})
        chart.add_series({"name": b.t("series_previous_gmv"),
                          "categories": [sheet, 3, 0, 2 + n, 0],
                          "values": [sheet, 3, 9, 2 + n, 9],
                          "line": {"color": "#9ca3af", "dash_type": "dash"}})
        chart.set_title({"name": b.t("chart_trend")})
        chart.set_y_axis({"num_format": money_format(d.currency)})
        chart.set_legend({"position": "bottom"})
        chart.set_size({"width": 720, "height": 320})
        ws.insert_chart(4 + n, 0, chart)


def _traffic(b: _Book) -> None:
    d = b.data
    ws = b.sheet("traffic")
    cols = [("source", "label:source"), ("uv", "count"), ("pv", "count"), ("share", "rate"),
            ("previous_uv", "count"), ("change", "change")]
    end = b.table(ws, 2, cols, d.traffic)
    n = len(d.traffic)
    if n:
        sheet = b.t("sheet.traffic")[:31]
        chart = b.wb.add_chart({"type": "pie"})
        chart.add_series({"name": b.t("chart_traffic"), "categories": [sheet, 3, 0, 2 + n, 0],
                          "values": [sheet, 3, 1, 2 + n, 1],
                          "data_labels": {"percentage": True, "category": True}})
        chart.set_title({"name": b.t("chart_traffic")})
        chart.set_size({"width": 480, "height": 320})
        ws.insert_chart(2, 7, chart)
    # The funnel beside the sources (same sheet: where the visitors went).
    ws.write(end, 0, b.t("funnel_title"), b.f["bold"])
    steps = [{"step": s["key"], "step_value": s["value"], "step_rate": s["rate"],
              "typical": (f"{s['typical'][0]:.0%}–{s['typical'][1]:.0%}"
                          if s.get("typical") else None)}
             for s in d.funnel.get("steps", [])]
    after = b.table(ws, end + 1, [("step", "label:funnel"), ("step_value", "count"),
                                  ("step_rate", "rate"), ("typical", "text")], steps)
    weakest = d.funnel.get("weakest")
    ws.write(after - 1, 0, b.t("weakest", step=b.word("funnel", weakest)) if weakest
             else b.t("weakest_none"), b.f["note"])


def _skus(b: _Book, key: str, rows: list[dict[str, Any]]) -> None:
    ws = b.sheet(key)
    cols = [("sku", "id"), ("title", "text"), ("category", "text"), ("gmv", "money"),
            ("previous_gmv", "money"), ("gmv_change", "change"), ("units", "count"),
            ("previous_units", "count"), ("units_change", "change"), ("orders", "count"),
            ("buyers", "count"), ("uv", "count"), ("conversion_rate", "rate"),
            ("refund_amount", "money")]
    b.table(ws, 2, cols, [{**r, "sku": r.get("platform_sku_id")} for r in rows],
            widths={"title": 30})
    ws.freeze_panes(3, 1)
    if not rows:
        ws.write(3, 0, b.t("none"), b.f["note"])


def _movers(b: _Book) -> None:
    d = b.data
    ws = b.sheet("movers")
    ws.write(2, 0, b.t("drivers_title"), b.f["bold"])
    end = b.table(ws, 3, [("metric", "metric_name"), ("value", "metric"),
                          ("previous", "metric"), ("change", "change")],
                  [{**r, "metric": r["key"]} for r in d.drivers], widths={"metric": 22})
    for i, line in enumerate(why_lines(d, b.lang)):
        ws.write(end - 1 + i, 0, line, b.f["note"])
    end += len(why_lines(d, b.lang)) + 1
    ws.write(end, 0, b.t("movers_title"), b.f["bold"])
    rows = [{**m, "dimension_name": b.t(f"dimension.{m['dimension']}"),
             "item": b.word("source", m["key"]) if m["dimension"] == "source" else m["key"]}
            for m in d.movers]
    b.table(ws, end + 1, [("dimension_name", "text"), ("item", "id"), ("title", "text"),
                          ("gmv", "money"), ("previous_gmv", "money"), ("delta", "money"),
                          ("change", "change"), ("share_of_change", "rate")], rows,
            widths={"title": 30})


def _refunds(b: _Book) -> None:
    r = b.data.refunds
    ws = b.sheet("refunds")
    ws.write(2, 0, b.t("col.amount"), b.f["bold"])
    b.cell(ws, 2, 1, r["amount"], "money")
    ws.write(3, 0, b.t("col.count"), b.f["bold"])
    b.cell(ws, 3, 1, r["count"], "count")
    ws.write(4, 0, metric_label("refund_rate", b.lang), b.f["bold"])
    b.cell(ws, 4, 1, r["rate"], "rate")
    rows = [{**x, "reason": x["reason"] or b.t("no_reason")} for x in r["reasons"]]
    b.table(ws, 6, [("reason", "text"), ("count", "count"), ("amount", "money"),
                    ("reason_share", "rate")],
            [{**x, "reason_share": x["share"]} for x in rows], widths={"reason": 30})


def _promotions(b: _Book) -> None:
    rows = b.data.promotions or []
    ws = b.sheet("promotions")
    b.table(ws, 2, [("code", "id"), ("name", "text"), ("kind", "text"), ("status", "text"),
                    ("start", "datetime"), ("end", "datetime"), ("gmv", "money"),
                    ("incremental_gmv", "money"), ("discount_cost", "money"), ("roi", "ratio")],
            [{**x, "start": x["start_at"], "end": x["end_at"]} for x in rows],
            widths={"name": 24, "start": 17, "end": 17})
    if not rows:
        ws.write(3, 0, b.t("none"), b.f["note"])


def _stock(b: _Book) -> None:
    s = b.data.stock
    ws = b.sheet("stock")
    if not s:
        ws.write(2, 0, b.t("none"), b.f["note"])
        return
    ws.write(1, 0, b.t("stock_note", out=s["out"], below=s["below_safety"]), b.f["note"])
    b.table(ws, 2, [("sku", "id"), ("title", "text"), ("available", "count"),
                    ("safety", "count"), ("stock_status", "text")],
            [{**x, "stock_status": b.t(f"stock_status.{x['status']}")} for x in s["rows"]],
            widths={"title": 30})


def _shipping(b: _Book) -> None:
    s = b.data.shipping
    ws = b.sheet("shipping")
    if not s:
        ws.write(2, 0, b.t("none"), b.f["note"])
        return
    ws.write(1, 0, b.t("shipping_note", rate=f"{float(s['rate'] or 0):.2%}",
                       target=f"{float(s['target']):.0%}"), b.f["note"])
    b.table(ws, 2, [("day", "date"), ("due", "count"), ("shipped", "count"),
                    ("on_time", "count"), ("late_open", "count"), ("rate", "rate")], s["days"])


def _named(mover: dict[str, Any]) -> str:
    """A SKU mover as the team reads it: its id and the start of its title."""
    title = (mover.get("title") or "").strip()
    return f"{mover['key']} {title[:16]}" if title else str(mover["key"])


def why_lines(d: ReportData, lang: str) -> list[str]:
    """One sentence on GMV's change and its factors, and the largest SKU movers (the PDF and
    the workbook say the same)."""
    def pct(value: float | None) -> str:
        if value is None:
            return "—"
        return ("▲ " if value > 0 else "▼ " if value < 0 else "") + f"{abs(value):.1%}"

    by = {r["key"]: r["change"] for r in d.drivers}
    lines = [translate(lang, "reports.why_gmv", gmv=pct(by.get("gmv")), uv=pct(by.get("uv")),
                       cr=pct(by.get("conversion_rate")), aov=pct(by.get("aov")))]
    skus = [m for m in d.movers if m["dimension"] == "sku"]
    up = [m for m in skus if m["delta"] > 0][:3]
    down = [m for m in skus if m["delta"] < 0][:3]
    if up:
        lines.append(translate(lang, "reports.why_up", skus="、".join(
            f"{_named(m)}（+{m['delta']:,.2f}）" for m in up)))
    if down:
        lines.append(translate(lang, "reports.why_down", skus="、".join(
            f"{_named(m)}（{m['delta']:,.2f}）" for m in down)))
    return lines


SECTIONS: tuple[Callable[[_Book], None], ...] = (
    _summary, _daily, _traffic,
    lambda b: _skus(b, "top", b.data.top_skus),
    lambda b: _skus(b, "bottom", b.data.bottom_skus),
    _movers, _refunds, _promotions, _stock, _shipping,
)


def write_xlsx(data: ReportData, path: Path, lang: str) -> Path:
    """Write the workbook to ``path``."""
    book = _Book(path, data, lang)
    for section in SECTIONS:
        section(book)
    book.wb.close()
    return path
