"""A promotion's results page (促销效果): GMV, incremental GMV, discount cost, margin and ROI
against the 4-week baseline, daily GMV during the promotion against the baseline (chart), the
by-SKU table, and the same table as XLSX.

The figures are :mod:`storeops.pricing.results`'; a promotion still running shows its figures
so far, said so above the cards (the CLI asks for ``--so-far`` instead). ``PROMO_VIEW`` sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from storeops.accounts.permissions import Permission
from storeops.api.auth import CurrentUser, db_url_of, require
from storeops.api.context import Scope, resolve_scope
from storeops.catalog.models import Store
from storeops.common.errors import StoreopsError, localise
from storeops.common.timeutil import zone
from storeops.db.engine import session_factory
from storeops.metrics.service import change
from storeops.pricing import results_export, results_query
from storeops.pricing.models import PromotionRecord
from storeops.pricing.results import Comparison, Results
from storeops.web import format as fmt
from storeops.web.i18n import translate
from storeops.web.pages import page_lang, render, render_error
from storeops.web.views import ANIMATION_MS

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Card:
    key: str
    label: str
    value: str  # 万 on cards
    exact: str
    css: str  # rise (red) / fall (green) / flat, for the value or its change
    change: str  # "▲ 12.3%" against the baseline, or ""
    note: str


def _pct(value: Decimal | None) -> str:
    return fmt.percent(None if value is None else float(value))


def cards(r: Results, lang: str, currency: str) -> list[Card]:
    t = r.total

    def tr(key: str, **params: Any) -> str:
        return translate(lang, f"promo_results.{key}", **params)

    def money(value: Decimal | None) -> tuple[str, str]:
        return fmt.money_compact(value, currency, lang), fmt.money(value, currency)

    gmv_change, gmv_css = fmt.change_badge("gmv", change(t.during.gmv, t.baseline.gmv))
    margin_change, margin_css = fmt.change_badge("gmv", change(t.during.margin,
                                                               t.baseline.margin))
    out = [
        Card("gmv", tr("card.gmv"), *money(t.during.gmv), gmv_css, gmv_change,
             tr("card.baseline", value=fmt.money(t.baseline.gmv, currency))),
        Card("incremental_gmv", tr("card.incremental_gmv"), *money(t.incremental_gmv),
             fmt.change_class(float(t.incremental_gmv)), "",
             tr("card.units", during=str(t.during.units), baseline=str(t.baseline.units))),
        Card("discount_cost", tr("card.discount_cost"), *money(t.discount_cost), fmt.FLAT, "",
             tr("card.cost_rate", rate=_pct(t.discount_cost / t.during.gmv
                                            if t.during.gmv else None))),
        Card("margin", tr("card.margin"), *money(t.during.margin), margin_css, margin_change,
             tr("card.incremental_margin", value=fmt.money(t.incremental_margin, currency))),
    ]
    roi = fmt.DASH if t.roi is None else f"{t.roi:.2f}"
    out.append(Card("roi", tr("card.roi"), roi, roi, fmt.FLAT if t.roi is None
                    else fmt.change_class(float(t.roi)), "",
                    tr("roi_none") if t.roi is None else tr("card.roi_note")))
    return out


def sku_rows(r: Results, lang: str, currency: str) -> list[dict[str, Any]]:
    def row(c: Comparison) -> dict[str, Any]:
        return {
            "sku": c.sku or translate(lang, "promo_results.total"), "title": c.title or "",
            "total": c.sku is None,
            "gmv": fmt.money(c.during.gmv, currency),
            "baseline_gmv": fmt.money(c.baseline.gmv, currency),
            "incremental_gmv": fmt.money(c.incremental_gmv, currency),
            "incremental_css": fmt.change_class(float(c.incremental_gmv)),
            "units": str(c.during.units), "baseline_units": str(c.baseline.units),
            "orders": str(c.during.orders), "buyers": str(c.during.buyers),
            "aov": fmt.money(c.during.aov, currency),
            "discount_cost": fmt.money(c.discount_cost, currency),
            "margin": fmt.money(c.during.margin, currency),
            "incremental_margin": fmt.money(c.incremental_margin, currency),
            "margin_css": fmt.change_class(float(c.incremental_margin)),
            "roi": fmt.DASH if c.roi is None else f"{c.roi:.2f}",
        }

    return [row(r.total), *(row(c) for c in r.skus)]


def daily_chart(r: Results, lang: str, currency: str) -> dict[str, Any]:
    """ECharts option: 成交金额 by store-local day during the promotion (red bars) beside the
    baseline's average of the same days (grey bars); static/chart_format.js writes ¥/万."""
    during = translate(lang, "promo_results.series_during")
    baseline = translate(lang, "promo_results.series_baseline")
    return {
        "animationDuration": ANIMATION_MS,
        "storeops": fmt.chart_format(currency, lang, y_axes=("money",),
                                     series=("money", "money")),
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [during, baseline], "top": 0},
        "grid": {"left": 70, "right": 24, "top": 36, "bottom": 30},
        "xAxis": {"type": "category", "data": [d.day.strftime("%m-%d") for d in r.days]},
        "yAxis": [{"type": "value"}],
        "series": [
            {"name": during, "type": "bar", "barMaxWidth": 48, "itemStyle": {"color": "#e1251b"},
             "data": [float(d.gmv) for d in r.days]},  # floats only at the chart
            {"name": baseline, "type": "bar", "barMaxWidth": 48,
             "itemStyle": {"color": "#9ca3af"},
             "data": [float(d.baseline_gmv) for d in r.days]},
        ],
    }


def _local(moment: Any, tz: str) -> str:
    return moment.astimezone(zone(tz)).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class _Loaded:
    record: PromotionRecord
    store: Store
    sc: Scope
    results: Results


def _load(request: Request, promo_id: int) -> _Loaded | Response:
    """The promotion and its results (so far, for one still running), or the error page: 404
    for an unknown promotion, 409 for one that cannot have results (not started …)."""
    try:
        with session_factory(db_url_of(request))() as session:
            record = session.get(PromotionRecord, promo_id)
            if record is None:
                return render_error(request, 404, None)
            store = session.get(Store, record.store_id)
            assert store is not None
            sc = resolve_scope(session, store.name, None, None)
            found = results_query.results_for(session, record, so_far=True)
            session.expunge_all()
    except StoreopsError as exc:
        return render_error(request, 409, None, detail=localise(exc, page_lang(request)))
    return _Loaded(record, store, sc, found)


@router.get("/promotions/{promo_id:int}/results")
def promo_results_page(request: Request, promo_id: int,
                       user: CurrentUser = require(Permission.PROMO_VIEW)) -> Response:
    loaded = _load(request, promo_id)
    if isinstance(loaded, Response):
        return loaded
    lang = page_lang(request)
    record, store, found = loaded.record, loaded.store, loaded.results
    tz, currency = store.timezone, store.currency
    context = {
        "promo": record,
        "promo_name": record.name or record.code,
        "window": translate(lang, "promo_results.window", start=_local(found.start, tz),
                            end=_local(found.end, tz)),
        "baseline_text": translate(lang, "promo_results.baseline_windows", windows="；".join(
            f"{_local(a, tz)} – {_local(b, tz)}" for a, b in found.baseline_windows)),
        "so_far": found.so_far,
        "cards": cards(found, lang, currency),
        "rows": sku_rows(found, lang, currency),
        "no_list_price": ", ".join(found.no_list_price),
        "no_cost": ", ".join(found.no_cost),
        "xlsx_url": f"/promotions/{promo_id}/results.xlsx",
        "charts": {"promo_results": daily_chart(found, lang, currency)},
    }
    return render(request, "promo_results.html", context, user=user, sc=loaded.sc)


@router.get("/promotions/{promo_id:int}/results.xlsx")
def promo_results_xlsx(request: Request, promo_id: int,
                       user: CurrentUser = require(Permission.PROMO_VIEW)) -> Response:
    from storeops.web.exports_page import xlsx_response

    loaded = _load(request, promo_id)
    if isinstance(loaded, Response):
        return loaded
    lang, code = page_lang(request), loaded.record.code
    return xlsx_response(results_export.columns(lang), results_export.rows(loaded.results, lang),
                         f"{loaded.store.name}_{code}_results.xlsx",
                         sheet_name=results_export.sheet_name(code, lang),
                         currency_symbol=fmt.currency_symbol(loaded.store.currency))
