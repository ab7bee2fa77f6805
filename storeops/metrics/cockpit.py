"""The overview's figures, computed together and kept as one cached result.

A warm overview then costs one data_version check instead of one per service call (five), and
a cold one computes each part once for everyone who asks at the same time (see
:mod:`storeops.metrics.cache`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from storeops.metrics import service
from storeops.metrics.cache import cached


@cached
def overview_figures(
    db_url: str, store_id: int, first: date, last: date, *, series_by: str = "day",
    top: int = 10, top_metrics: Sequence[str] = (),
) -> dict[str, Any]:
    """The comparison with the previous period, the trend cut ``series_by``, traffic by
    source, the funnel and the ``top`` SKUs by GMV (with ``top_metrics``)."""
    comparison = service.compare(db_url, store_id, first, last)
    return {
        "comparison": comparison,
        "series": service.kpi_series(db_url, store_id, first, last, by=series_by),
        "sources": service.traffic_by_source(db_url, store_id, first, last),
        # The funnel's steps are base facts the comparison already holds: no second query.
        "funnel": service.funnel_from_facts(comparison["current"]),
        "top": service.kpi_by(db_url, store_id, first, last, dimension="sku", limit=top,
                              metrics=list(top_metrics) or None),
    }
