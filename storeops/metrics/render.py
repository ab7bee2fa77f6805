"""Metric values for JSON: money as decimal strings ("1234.50"), rates as numbers rounded to
6 places, dates as ISO text, unknown values as null."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from storeops.metrics.definitions import RATE_PLACES


def jsonable(value: Any) -> Any:
    """A copy of ``value`` that ``json.dumps`` writes the way the API and CLI promise."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, float):
        return round(value, RATE_PLACES)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k) if k is not None else None: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
