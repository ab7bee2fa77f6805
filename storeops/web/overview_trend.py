"""The overview's trend card and the links around it: the cut buttons (按日/按周/按月), the
cards that open their metric's trend, and a click on a bar that opens its days' SKUs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from storeops.api.context import Scope
from storeops.metrics.periods import BY_CHOICES, span_limit
from storeops.web import format as fmt
from storeops.web.i18n import metric_label, translate
from storeops.web.overview_choices import OverviewChoice, compare_params, kept_params
from storeops.web.views import CARD_METRICS, metric_trend_chart, period_spans, trend_chart

# Builds a link: (path, query parameters) → URL.
UrlFor = Callable[[str, Mapping[str, str]], str]
TREND_ANCHOR = "#trend"  # the trend card: a link that changes the trend scrolls to it


@dataclass(frozen=True)
class CutButton:
    by: str
    label: str
    href: str
    active: bool


def trend_context(
    sc: Scope, choice: OverviewChoice, figures: Mapping[str, Any],
    params: Mapping[str, str], lang: str, url_for: UrlFor,
) -> dict[str, Any]:
    """The template's trend card: title, chart option, cut buttons, the link back to the
    GMV and orders trend, the note on a refused cut, each bar's SKU link, each card's link."""
    page = {"store": sc.store.name, "from": sc.first.isoformat(), "to": sc.last.isoformat(),
            **kept_params(params)}
    if choice.refused_by:
        page.pop("by")  # links onward show the cut drawn, not the refusal again
    cut = translate(lang, f"compare.by_{choice.by}")
    series = figures["series"]
    if choice.metric:
        baseline = translate(lang, f"compare.name_{choice.compare}")
        chart = metric_trend_chart(
            choice.metric, series, figures.get("baseline_series", []), lang,
            sc.store.currency,
            baseline_name=translate(lang, "compare.series_baseline",
                                    metric=metric_label(choice.metric, lang),
                                    baseline=baseline))
        title = translate(lang, "compare.trend_metric", metric=metric_label(choice.metric, lang),
                          cut=cut)
    else:
        chart = trend_chart(series, lang, sc.store.currency)
        title = translate(lang, "compare.trend_default", cut=cut)
    refused = None
    if choice.refused_by:
        refused = translate(lang, "compare.cut_too_long",
                            cut=translate(lang, f"compare.by_{choice.refused_by}"),
                            limit=fmt.count(span_limit(choice.refused_by)),
                            days=fmt.count(sc.days), shown=cut.lower())
    skus = {"store": sc.store.name, **compare_params(choice.compare)}
    without_metric = {k: v for k, v in page.items() if k != "metric"}
    return {
        "trend_title": title,
        "trend_chart": chart,
        "trend_links": [url_for("/skus", {**skus, "from": a.isoformat(), "to": b.isoformat()})
                        for a, b in period_spans(sc.first, sc.last, choice.by)],
        "cut_buttons": [
            CutButton(by, translate(lang, f"compare.by_{by}"),
                      url_for("/", {**page, "by": by}) + TREND_ANCHOR, by == choice.by)
            for by in BY_CHOICES],
        "cut_refused": refused,
        "trend_metric": choice.metric,
        "default_trend_href": url_for("/", without_metric) + TREND_ANCHOR,
        # The period form keeps the cut and the metric (hidden fields) when it is applied.
        "period_keep": {k: page[k] for k in ("by", "metric") if k in page},
        "card_links": {key: url_for("/", {**page, "metric": key}) + TREND_ANCHOR
                       for key in CARD_METRICS},
    }
