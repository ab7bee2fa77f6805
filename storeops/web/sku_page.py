"""The SKU page (``/sku/{platform_sku_id}``): one SKU's identity, stock, cards against the
baseline period, GMV/UV trend, traffic by source, funnel and refunds.

Every figure comes from the services the overview uses, filtered to the SKU (their
``product_id`` argument); the refund list is read from the database, which keeps reasons and
order ids the analytics snapshot does not carry. The id is the rest of the path, so an id with
``/``, ``?`` or ``%`` works once encoded (:func:`storeops.web.sku_table.sku_path`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import func, select

from storeops.accounts.permissions import Permission
from storeops.aftersales.models import Refund
from storeops.api.auth import CurrentUser, db_url_of, require
from storeops.api.context import Scope
from storeops.catalog.stock import LOW_COVER_DAYS, LOW_UNITS, stock_status
from storeops.common.money import from_cents
from storeops.db.engine import session_factory
from storeops.metrics import service
from storeops.metrics.comparison_periods import baseline_period, check_compare
from storeops.metrics.periods import fitting_cut
from storeops.web import format as fmt
from storeops.web import sku_data, sku_table
from storeops.web.i18n import label_or_raw, metric_label, translate
from storeops.web.pages import page_lang, page_scope, render, render_error
from storeops.web.views import Card, funnel_view, traffic_chart, trend_chart

router = APIRouter(include_in_schema=False)

# The SKU's cards, in display order (京东商智's 商品详情 figures).
SKU_CARD_METRICS = ("gmv", "orders", "units", "uv", "pv", "conversion_rate",
                    "add_to_cart_rate", "refund_amount")
LATEST_REFUNDS = 10


def sku_cards(current: Mapping[str, Any], previous: Mapping[str, Any], lang: str,
              currency: str) -> list[Card]:
    """A card per SKU_CARD_METRICS: the value (万/亿 on the card, exact in its tooltip) and the
    change against the baseline, red rising, green falling."""
    cards = []
    for key in SKU_CARD_METRICS:
        text, css = fmt.change_badge(key, service.change(current.get(key), previous.get(key)))
        cards.append(Card(
            key=key, label=metric_label(key, lang),
            value=fmt.metric_value(key, current.get(key), currency, compact_lang=lang),
            exact=fmt.metric_value(key, current.get(key), currency),
            change=text, change_class=css,
        ))
    return cards


def sku_trend_chart(series: Sequence[Mapping[str, Any]], lang: str,
                    currency: str = "CNY") -> dict[str, Any]:
    """ECharts option: the SKU's GMV as bars (left axis, money) and its visitors as a line
    (right axis), per day (week or month over a long period)."""
    return trend_chart(series, lang, currency, line="uv",
                       names=("sku_page.series_gmv", "sku_page.series_uv"))


def sku_refunds(db_url: str, store_id: int, product_id: int, first: date, last: date
                ) -> tuple[int, list[dict[str, Any]]]:
    """(number of refunded lines of the SKU in the period, the latest LATEST_REFUNDS of them:
    day, order id, amount, reason)."""
    where = (Refund.store_id == store_id, Refund.product_id == product_id,
             Refund.refund_date.between(first, last))
    with session_factory(db_url)() as session:
        count = session.execute(select(func.count()).select_from(Refund).where(*where)).scalar()
        rows = session.execute(
            select(Refund.refund_date, Refund.platform_order_id, Refund.amount_cents,
                   Refund.reason).where(*where)
            .order_by(Refund.refunded_at.desc(), Refund.id.desc()).limit(LATEST_REFUNDS)
        ).all()
    latest = [{"day": r[0], "order": r[1] or "", "amount": from_cents(r[2]),
               "reason": r[3] or ""} for r in rows]
    return int(count or 0), latest


@router.get("/sku/{platform_sku_id:path}")
def sku_page(
    request: Request,
    platform_sku_id: str,
    user: CurrentUser = require(Permission.SKU_VIEW),
    sc: Scope = Depends(page_scope),
) -> Response:
    lang = page_lang(request)
    db, sid, currency = db_url_of(request), sc.store.id, sc.store.currency
    found = sku_data.products(db, sid, platform_sku_id)
    if not found:
        return render_error(request, 404, None, detail=translate(
            lang, "sku_page.not_found", sku=platform_sku_id))
    product = found[0]
    pid = product["product_id"]
    compare = check_compare(request.query_params.get("compare"))
    base_first, base_last = baseline_period(sc.first, sc.last, compare)
    current = service.kpi_summary(db, sid, sc.first, sc.last, product_id=pid)
    previous = service.kpi_summary(db, sid, base_first, base_last, product_id=pid)
    series = service.kpi_series(db, sid, sc.first, sc.last, by=fitting_cut(sc.first, sc.last),
                                product_id=pid)
    sources = service.traffic_by_source(db, sid, sc.first, sc.last, product_id=pid)
    steps, weakest_text = funnel_view(service.funnel(db, sid, sc.first, sc.last, product_id=pid),
                                      lang)
    refund_count, latest_refunds = sku_refunds(db, sid, pid, sc.first, sc.last)
    status = stock_status(product["stock"], current.get("units"), sc.days)
    price = product["list_price_cents"]
    context = {
        "product": product,
        "price": fmt.DASH if price is None else fmt.money(from_cents(price), currency),
        "stock": fmt.count(product["stock"]),
        "stock_code": status,
        "stock_label": label_or_raw(lang, sku_table.STOCK_CODES, status),
        "stock_rule": translate(lang, "sku_page.stock_rule", days=LOW_COVER_DAYS,
                                units=LOW_UNITS),
        "product_status": label_or_raw(lang, "status", product["status"]),
        "cards": sku_cards(current, previous, lang, currency),
        "compare": compare,
        "base_first": base_first, "base_last": base_last,
        "charts": {"trend": sku_trend_chart(series, lang, currency),
                   "traffic": traffic_chart(sources, lang, currency)},
        "has_traffic": any(s.get("uv") for s in sources),
        "funnel_steps": steps,
        "weakest_text": weakest_text,
        "refund_amount": fmt.money(current.get("refund_amount"), currency),
        "refund_count": fmt.count(refund_count),
        "refund_rate": fmt.metric_value("refund_rate", current.get("refund_rate")),
        "latest_refunds": [{**r, "amount": fmt.money(r["amount"], currency)}
                           for r in latest_refunds],
        "back_href": "/skus",
    }
    return render(request, "sku.html", context, user=user, sc=sc)
