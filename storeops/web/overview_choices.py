"""What the overview's query asks for beyond the store and period: the comparison
(``compare=prev|wow|yoy``), the trend's cut (``by=day|week|month``) and the metric whose trend
is shown (``metric=<card key>``), checked, and the parameters its links keep."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from storeops.common.errors import StoreopsError
from storeops.metrics.comparison_periods import (
    COMPARE_CHOICES,
    DEFAULT_COMPARE,
    ComparisonError,
    check_compare,
)
from storeops.metrics.periods import BY_CHOICES, fitting_cut, span_limit
from storeops.web.views import CARD_METRICS


class ChoiceError(StoreopsError, ValueError):
    """A value of ``by`` or ``metric`` that the overview does not offer; ``message_key``: the
    pages' words for it."""

    def __init__(self, message: str, message_key: str) -> None:
        super().__init__(message)
        self.message_key = message_key


@dataclass(frozen=True)
class OverviewChoice:
    compare: str
    by: str  # the cut the trend is drawn by
    metric: str | None  # None: the GMV and orders trend
    refused_by: str | None = None  # a cut asked for that the period is too long for


def compare_params(compare: str | None) -> dict[str, str]:
    """``{"compare": …}`` for a baseline other than the default, for every page's links."""
    if compare in COMPARE_CHOICES and compare != DEFAULT_COMPARE:
        return {"compare": compare}
    return {}


def kept_params(params: Mapping[str, str]) -> dict[str, str]:
    """The overview's valid choices in ``params``, to keep in a link (invalid ones dropped)."""
    kept = compare_params(params.get("compare"))
    if params.get("by") in BY_CHOICES:
        kept["by"] = params["by"]
    if params.get("metric") in CARD_METRICS:
        kept["metric"] = params["metric"]
    return kept


def overview_choice(params: Mapping[str, str], first: date, last: date) -> OverviewChoice:
    """The choices of the query; an unknown value is an error with the pages' words for it.
    A cut too fine for the period's length (by day past about 3 years) is not an error: the
    trend is drawn by the finest allowed cut and ``refused_by`` says which was asked for."""
    try:
        compare = check_compare(params.get("compare"))
    except ComparisonError as exc:
        raise ChoiceError(str(exc), exc.message_key) from None
    asked = params.get("by") or None
    if asked is not None and asked not in BY_CHOICES:
        raise ChoiceError(f"unknown period cut {asked!r}: choose one of "
                          f"{', '.join(BY_CHOICES)}", "compare.unknown_cut")
    metric = params.get("metric") or None
    if metric is not None and metric not in CARD_METRICS:
        raise ChoiceError(f"no trend for metric {metric!r}", "compare.unknown_metric")
    fitting = fitting_cut(first, last)
    length = (last - first).days + 1
    if asked is None:
        return OverviewChoice(compare, fitting, metric)
    if length > span_limit(asked):
        return OverviewChoice(compare, fitting, metric, refused_by=asked)
    return OverviewChoice(compare, asked, metric)
