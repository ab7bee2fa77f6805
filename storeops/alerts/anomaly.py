"""The robust anomaly check: is the last point of a daily series unusual for its weekday?

Pure (no I/O). The *seasonal baseline* of the checked day is the median of the same weekday
over the last ``weeks`` weeks (default 8; at least ``min_weeks`` = 4 of them with a value):
Saturdays are compared with Saturdays, so a store's weekly rhythm is not an anomaly.

The *robust spread* is the median absolute deviation (MAD), scaled by 1.4826 so that it
estimates a standard deviation on normal data, of every day of those weeks against its own
weekday's median, as a share of that median (so that busy weekends and quiet Mondays share
one scale), times the baseline. Pooling the seven weekdays gives the MAD some 50 days to stand
on instead of 8, which keeps it steady: on the demo store it catches more real drops and
raises fewer false alarms than a MAD of the same weekday alone (bench/alert_bench.py). A
floor keeps a flat series from firing on noise: the spread is at least ``rel_floor`` (default
5%) of the baseline and at least ``abs_floor`` (default 0).

The *score* is the robust z of the checked value, ``(value - baseline) / spread``; the point
is an anomaly when ``|score| >= sensitivity`` in the direction(s) watched.

``sensitivity`` is the setting: the threshold in robust z units, default 3.0 (a fall of three
robust standard deviations below the weekday's median). Lower catches smaller moves and
raises more false alarms; higher the reverse. On the demo store (a normal year), at 3.0 no
store-day's GMV or UV drop is flagged and a 40% drop is caught on ~9 days in 10 for GMV and
~99 in 100 for UV; see docs/alert_figures.md for the rates per setting.

A point without a value, or too little history, is never an anomaly (``baseline`` is None
when the history is too short).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from statistics import median
from typing import Any, Literal

DEFAULT_SENSITIVITY = 3.0
DEFAULT_WEEKS = 8
MIN_WEEKS = 4
MAD_SCALE = 1.4826  # MAD × this estimates σ on normally distributed data
REL_FLOOR = 0.05  # the spread is at least this share of |baseline|
MIN_RESIDUALS = 8  # days (all weekdays) the spread stands on, at the least

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


def _by_offset(points: Sequence[Any], weeks: int) -> dict[int, Decimal]:
    """Values of the ``weeks`` weeks before the last point by their distance in days from it
    (1 .. 7 × weeks; None values left out). Points are read by their ``period`` as ISO dates
    when they have one (gaps allowed); otherwise the series is taken as consecutive days."""
    last = _period(points[-1])
    out: dict[int, Decimal] = {}
    span = 7 * weeks
    if isinstance(last, str):
        try:
            last_day = date.fromisoformat(last)
            for p in points[:-1]:
                back = (last_day - date.fromisoformat(str(_period(p)))).days
                value = _as_decimal(_value(p))
                if 1 <= back <= span and value is not None:
                    out[back] = value
            return out
        except ValueError:
            out = {}
    n = len(points) - 1
    for back in range(1, min(span, n) + 1):
        value = _as_decimal(_value(points[n - back]))
        if value is not None:
            out[back] = value
    return out


def same_weekday_history(points: Sequence[Any], weeks: int = DEFAULT_WEEKS) -> list[Decimal]:
    """The values of the same weekday as the last point over the ``weeks`` weeks before it,
    newest first (missing days and None values left out)."""
    if not points:
        return []
    found = _by_offset(points, weeks)
    return [found[back] for back in range(7, 7 * weeks + 1, 7) if back in found]


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
        raise ValueError("sensitivity must be positive (robust z units, default 3.0)")
    if not points:
        return Anomaly(False, None, None, None)
    value = _as_decimal(_value(points[-1]))
    found = _by_offset(points, weeks)
    groups: dict[int, list[Decimal]] = {}
    for back, v in found.items():
        groups.setdefault(back % 7, []).append(v)
    history = groups.get(0, [])
    if len(history) < min_weeks:
        return Anomaly(False, None, None, None, history=len(history))
    baseline = Decimal(median(history))
    residuals: list[Decimal] = []
    for values in groups.values():
        if len(values) < 2:
            continue
        centre = abs(Decimal(median(values)))
        if centre:
            residuals += [v / centre - 1 for v in values]
    relative = Decimal(0)
    if len(residuals) >= MIN_RESIDUALS:
        mid = Decimal(median(residuals))
        relative = Decimal(median(abs(r - mid) for r in residuals)) * Decimal(str(MAD_SCALE))
    spread = max(max(relative, Decimal(str(rel_floor))) * abs(baseline),
                 Decimal(str(abs_floor)))
    if value is None:
        return Anomaly(False, baseline, None, None, spread, len(history))
    direction: Direction = "up" if value > baseline else "down" if value < baseline else "flat"
    if spread == 0:  # a zero baseline and no floor: nothing to judge a change against
        return Anomaly(False, baseline, None, direction, spread, len(history))
    score = float((value - baseline) / spread)
    fires = abs(score) >= sensitivity and (
        watch == "both" or (watch == "down" and score < 0) or (watch == "up" and score > 0)
    )
    return Anomaly(fires, baseline, round(score, 4), direction, spread, len(history))
