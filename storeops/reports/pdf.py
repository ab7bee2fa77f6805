"""A report as a PDF: ``storeops/web/templates/report_pdf.html`` rendered by Jinja2, then laid
out by WeasyPrint with Debian's Noto CJK fonts (``fonts-noto-cjk``), embedded (subset) in the
file so that Chinese reads anywhere. The trend is an inline SVG line chart drawn here.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from storeops.reports.data import ReportData
from storeops.reports.xlsx import why_lines
from storeops.web import format as fmt
from storeops.web.i18n import catalog, metric_label, translate

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"
# fontconfig names of Debian's fonts-noto-cjk; WeasyPrint embeds the glyphs it uses.
FONT_FAMILY = '"Noto Sans CJK SC", "Noto Sans SC", "Noto Sans CJK", sans-serif'
SVG_FONTS = FONT_FAMILY.replace('"', "'")


@cache
def _env() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)),
                       autoescape=select_autoescape(["html"]))


def _value(key: str, value: Any, currency: str) -> str:
    return fmt.metric_value(key, value, currency)


def _change(value: float | None) -> tuple[str, str]:
    if value is None:
        return fmt.DASH, "flat"
    if value == 0:
        return "0.0%", "flat"
    return ("▲ " if value > 0 else "▼ ") + f"{abs(value):.1%}", "rise" if value > 0 else "fall"


def trend_svg(days: list[dict[str, Any]], width: int = 680, height: int = 200) -> Markup:
    """GMV by day (red) and the previous period's (grey dashes) as an SVG polyline chart."""
    values = [float(d["gmv"] or 0) for d in days]
    before = [float(d["previous_gmv"] or 0) for d in days if d.get("previous_gmv") is not None]
    top = max(values + before + [1.0])
    left, bottom, right, upper = 60, 24, 10, 10
    w, h = width - left - right, height - bottom - upper
    n = max(len(values) - 1, 1)

    def points(series: list[float]) -> str:
        return " ".join(f"{left + i * w / n:.1f},{upper + h - v / top * h:.1f}"
                        for i, v in enumerate(series))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="{SVG_FONTS}">',
             f'<line x1="{left}" y1="{upper + h}" x2="{left + w}" y2="{upper + h}" '
             'stroke="#9ca3af"/>',
             f'<text x="{left - 4}" y="{upper + 8}" font-size="9" text-anchor="end">'
             f'{top:,.0f}</text>',
             f'<text x="{left - 4}" y="{upper + h}" font-size="9" text-anchor="end">0</text>']
    if before:
        parts.append(f'<polyline fill="none" stroke="#9ca3af" stroke-dasharray="4 3" '
                     f'stroke-width="1.5" points="{points(before)}"/>')
    parts.append(f'<polyline fill="none" stroke="#e1251b" stroke-width="2" '
                 f'points="{points(values)}"/>')
    step = max(1, len(days) // 8)
    for i, d in enumerate(days):
        if i % step == 0 or i == len(days) - 1:
            parts.append(f'<text x="{left + i * w / n:.1f}" y="{height - 6}" font-size="9" '
                         f'text-anchor="middle">{str(d["day"])[5:]}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def context(data: ReportData, lang: str, built_at: str) -> dict[str, Any]:
    cur = data.currency
    p = data.period

    def t(key: str, **params: Any) -> str:
        return translate(lang, f"reports.{key}", **params)

    def word(prefix: str, value: Any) -> str:
        return catalog(lang).get(f"{prefix}.{value}", fmt.DASH if value is None else str(value))

    kpis = []
    for k in data.kpis:
        text, css = _change(k["change"])
        kpis.append({"label": metric_label(k["key"], lang),
                     "value": _value(k["key"], k["value"], cur),
                     "previous": _value(k["key"], k["previous"], cur),
                     "change": text, "css": css,
                     "target": fmt.DASH if k["target"] is None
                     else _value(k["key"], k["target"], cur),
                     "achievement": fmt.percent(k["achievement"], 1)})

    def sku_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"sku": r.get("platform_sku_id") or fmt.DASH, "title": r.get("title") or "",
                 "gmv": fmt.money(r["gmv"], cur), "units": fmt.count(r["units"]),
                 "change": _change(r["gmv_change"])} for r in rows]

    traffic = [{"source": word("source", r["source"]), "uv": fmt.count(r["uv"]),
                "share": fmt.percent(r["share"], 1), "change": _change(r["change"])}
               for r in data.traffic]
    steps = [{"step": word("funnel", s["key"]), "value": fmt.count(s["value"]),
              "rate": fmt.percent(s["rate"], 1)} for s in data.funnel.get("steps", [])]
    refunds = data.refunds
    reasons = [{"reason": r["reason"] or t("no_reason"), "count": fmt.count(r["count"]),
                "amount": fmt.money(r["amount"], cur), "share": fmt.percent(r["share"], 1)}
               for r in refunds["reasons"]]
    promos = [{"code": x["code"], "name": x["name"] or "", "status": x["status"],
               "gmv": fmt.money(x["gmv"], cur) if x["gmv"] is not None else fmt.DASH,
               "incremental": fmt.money(x["incremental_gmv"], cur)
               if x["incremental_gmv"] is not None else fmt.DASH,
               "roi": fmt.DASH if x["roi"] is None else f"{Decimal(x['roi']):.2f}"}
              for x in data.promotions or []]
    stock = None
    if data.stock:
        stock = {"note": t("stock_note", out=data.stock["out"], below=data.stock["below_safety"]),
                 "rows": [{"sku": r["sku"], "title": r["title"] or "",
                           "available": fmt.count(r["available"]),
                           "safety": fmt.count(r["safety"]),
                           "status": t(f"stock_status.{r['status']}")}
                          for r in data.stock["rows"][:15]]}
    shipping = None
    if data.shipping:
        shipping = t("shipping_note", rate=fmt.percent(float(data.shipping["rate"] or 0)),
                     target=fmt.percent(float(data.shipping["target"]), 0))
    return {
        "lang": lang, "t": t, "font_family": Markup(FONT_FAMILY), "store": data.store,
        "title": t("period_line", kind=t(f"kind.{p.kind}"), period=p.label,
                   first=p.first.isoformat(), last=p.last.isoformat()),
        "compare": t("compare_line", period=p.prev_label, first=p.prev_first.isoformat(),
                     last=p.prev_last.isoformat()),
        "built": t("generated", at=built_at), "kpis": kpis, "why": why_lines(data, lang),
        "trend": trend_svg(data.daily), "traffic": traffic, "steps": steps,
        "top": sku_rows(data.top_skus), "bottom": sku_rows(data.bottom_skus),
        "refund_total": fmt.money(refunds["amount"], cur),
        "refund_count": fmt.count(refunds["count"]),
        "refund_rate": fmt.percent(refunds["rate"]), "reasons": reasons[:10],
        "promotions": promos, "stock": stock, "shipping": shipping,
        "metric": lambda key: metric_label(key, lang),
    }


def render_html(data: ReportData, lang: str, built_at: str) -> str:
    return _env().get_template("report_pdf.html").render(**context(data, lang, built_at))


def write_pdf(data: ReportData, path: Path, lang: str, built_at: str) -> Path:
    from weasyprint import HTML

    HTML(string=render_html(data, lang, built_at), base_url=str(TEMPLATES)).write_pdf(str(path))
    return path
