"""The overview's figures, computed together and kept as one cached result.

A warm overview then costs one data_version check instead of one per service call (five), and
a cold one computes each part once for everyone who asks at the same time (see
:mod:`storeops.metrics.cache`).

Cold, the period, its baseline (the period before it, or the same dates a week or a year
earlier), the month to date (the target cards) and every bar of the trend and of the
baseline's trend are windows of one grouping, read in one statement
(:func:`storeops.metrics.service.computed_together`); traffic by source and the top SKUs take
one statement each (the top SKUs two, plus their names): five statements instead of ~45.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from storeops.metrics import service
from storeops.metrics.cache import cached
from storeops.metrics.comparison_periods import DEFAULT_COMPARE, baseline_period


def month_to_date(last: date) -> tuple[date, date]:
    """The month of ``last`` up to ``last``: what the target cards compare against."""
    return last.replace(day=1), last


@cached
def overview_figures(
    db_url: str, store_id: int, first: date, last: date, *, series_by: str = "day",
    compare: str = DEFAULT_COMPARE, baseline_trend: bool = False, top: int = 10,
    top_metrics: Sequence[str] = (),
) -> dict[str, Any]:
    """The comparison with the baseline ``compare`` (the previous period, the same dates a
    week or a year earlier), the trend cut ``series_by``, traffic by source, the funnel, the
    ``top`` SKUs by GMV (with ``top_metrics``) and the month to date of ``last`` (also cached
    as that period's :func:`service.kpi_summary`, which the target cards read). With
    ``baseline_trend``, also the baseline's trend (``baseline_series``), read in the same
    statement; without, its windows are not read at all."""
    month = month_to_date(last)
    base_first, base_last = baseline_period(first, last, compare)
    together = service.computed_together(
        db_url, store_id, summaries=[(first, last), (base_first, base_last), month],
        series=[(first, last, series_by)]
        + ([(base_first, base_last, series_by)] if baseline_trend else []),
    )
    with together:
        comparison = service.compare(db_url, store_id, first, last, compare)
        series = service.kpi_series(db_url, store_id, first, last, by=series_by)
        mtd = service.kpi_summary(db_url, store_id, *month)
        extra = {"baseline_series": service.kpi_series(
            db_url, store_id, base_first, base_last, by=series_by)} if baseline_trend else {}
    return {
        "comparison": comparison,
        "series": series,
        **extra,
        "sources": service.traffic_by_source(db_url, store_id, first, last),
        # The funnel's steps are base facts the comparison already holds: no second query.
        "funnel": service.funnel_from_facts(comparison["current"]),
        "top": service.kpi_by(db_url, store_id, first, last, dimension="sku", limit=top,
                              metrics=list(top_metrics) or None),
        "month_to_date": mtd,
    }
