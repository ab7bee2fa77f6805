"""The robust anomaly check: is the last point of a daily series unusual for its weekday?

Pure (no I/O). The *seasonal baseline* of the checked day is the median of the same weekday
over the last ``weeks`` weeks (default 8, at least ``min_weeks`` = 4 of them with a value):
Saturdays are compared with Saturdays, so a store's weekly rhythm is not an anomaly. The
*robust spread* is the median absolute deviation (MAD) of those same-weekday values around
the baseline, scaled by 1.4826 so that it estimates a standard deviation on normal data. A
floor keeps a flat series from firing on noise: the spread is at least ``rel_floor`` (default
10%) of the baseline's size and at least ``abs_floor`` (default 0), so that on a series
whose past Mondays were all exactly equal, a Monday must still move by more than
``sensitivity × 10%`` of the baseline to count.

The *score* is the robust z of the checked value, ``(value - baseline) / spread``; the point
is an anomaly when ``|score| >= sensitivity`` (in the direction(s) asked for).

``sensitivity`` is the setting: the threshold in robust z units. The default, 3.5, is the
usual cut-off for the modified z-score (Iglewicz & Hoaglin); lower values catch smaller moves
and raise more false alarms (see docs/alert_figures.md and bench/alert_bench.py for the
false-alarm rate on the demo store at several settings).

A point without a value, or too little history, is never an anomaly (``baseline`` is then
None when the history is too short).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from statistics import median
from typing import Any, Literal

DEFAULT_SENSITIVITY = 3.5
DEFAULT_WEEKS = 8
MIN_WEEKS = 4
MAD_SCALE = 1.4826  # MAD × this estimates σ on normally distributed data
REL_FLOOR = 0.10  # the spread is at least this share of |baseline|

Direction = Literal["up", "down", "flat"]
Watch = Literal["both", "down", "up"]


@dataclass(frozen=True)
class Anomaly:
    is_anomaly: bool
    baseline: Decimal | None  # median of the same weekday over the recent weeks
    score: float | None  # robust z of the checked value; None without a baseline / value
    direction: Direction | None  # where the value moved against the baseline
    spread: Decimal | None = None  # the robust spread used (after the floor)
    history: int = 0  # how many same-weekday values the baseline stands on


def _value(point: Any) -> Any:
    if isinstance(point, tuple | list):
        return point[1]
    return getattr(point, "value", point)


def _period(point: Any) -> str | None:
    if isinstance(point, tuple | list):
        return point[0]
    return getattr(point, "period", None)


def _as_decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def same_weekday_history(points: Sequence[Any], weeks: int = DEFAULT_WEEKS) -> list[Decimal]:
    """The values of the same weekday as the last point, over the ``weeks`` weeks before it
    (newest first; missing days and None values left out).

    Points are read by their ``period`` as ISO dates when they have one (gaps allowed);
    otherwise the series is taken as consecutive days (7 points back = one week back).
    """
    if not points:
        return []
    last = _period(points[-1])
    by_day: dict[date, Any] | None = None
    last_day: date | None = None
    if isinstance(last, str):
        try:
            last_day = date.fromisoformat(last)
            by_day = {date.fromisoformat(str(_period(p))): _value(p) for p in points}
        except ValueError:
            by_day = None
    out: list[Decimal] = []
    for k in range(1, weeks + 1):
        if by_day is not None and last_day is not None:
            raw = by_day.get(last_day - timedelta(days=7 * k))
        else:
            i = len(points) - 1 - 7 * k
            if i < 0:
                break
            raw = _value(points[i])
        value = _as_decimal(raw)
        if value is not None:
            out.append(value)
    return out


def detect(
    points: Sequence[Any], sensitivity: float = DEFAULT_SENSITIVITY, *,
    weeks: int = DEFAULT_WEEKS, min_weeks: int = MIN_WEEKS, watch: Watch = "both",
    rel_floor: float = REL_FLOOR, abs_floor: float = 0.0,
) -> Anomaly:
    """Whether the last of ``points`` (oldest first; each a ``Point``, a ``(period, value)``
    pair or a bare value) is an anomaly against its weekday's recent history.

    ``watch``: "down" fires only on falls, "up" only on rises, "both" on either.
    """
    if sensitivity <= 0:
        raise ValueError("sensitivity must be positive (robust z units, default 3.5)")
    if not points:
        return Anomaly(False, None, None, None)
    value = _as_decimal(_value(points[-1]))
    history = same_weekday_history(points, weeks)
    if len(history) < min_weeks:
        return Anomaly(False, None, None, None, history=len(history))
    baseline = Decimal(median(history))
    mad = Decimal(median(abs(v - baseline) for v in history))
    spread = max(mad * Decimal(str(MAD_SCALE)), abs(baseline) * Decimal(str(rel_floor)),
                 Decimal(str(abs_floor)))
    if value is None:
        return Anomaly(False, baseline, None, None, spread, len(history))
    direction: Direction = "up" if value > baseline else "down" if value < baseline else "flat"
    if spread == 0:  # every past value and the floor are zero: nothing to judge against
        return Anomaly(False, baseline, None, direction, spread, len(history))
    score = float((value - baseline) / spread)
    fires = abs(score) >= sensitivity and (
        watch == "both" or (watch == "down" and score < 0) or (watch == "up" and score > 0)
    )
    return Anomaly(fires, baseline, round(score, 4), direction, spread, len(history))
