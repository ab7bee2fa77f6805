"""Does a rule's condition hold on a series? Pure: no database, no clock.

:func:`evaluate` reads the points of one scope (oldest first; the last is the period checked,
see :mod:`storeops.alerts.figures`) and answers whether the rule fires there, with the figure,
its baseline, the change against it, since which period the condition has held, and the
severity (a tier of an above/below rule may raise it).

A point without a value (no traffic imported that day, a ratio over zero) is *unknown*: a rule
neither fires nor clears on it (``known`` is False), so a missing import does not resolve an
alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from statistics import median
from typing import Any

from storeops.alerts.rules import DEFAULT_SENSITIVITY, Condition, RuleSpec

_BACK = {"previous_period": 1, "same_weekday_last_week": 7}


@dataclass(frozen=True)
class Evaluation:
    fires: bool
    known: bool  # the figure (and its baseline, where the condition needs one) exists
    value: Decimal | None
    baseline: Decimal | None
    change: Decimal | None  # (value - baseline) / baseline, a fraction
    since: str | None  # the first period of the run of periods the condition holds in
    period: str | None  # the period checked (the last point's)
    severity: str | None = None  # the tier's severity, where a tier was crossed
    score: float | None = None  # anomaly: the robust z


@dataclass(frozen=True)
class _At:
    holds: bool | None  # None: unknown
    value: Decimal | None
    baseline: Decimal | None
    change: Decimal | None
    severity: str | None = None
    score: float | None = None


def _dec(value: Any) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _values(points: Sequence[Any]) -> list[Decimal | None]:
    return [_dec(getattr(p, "value", p)) for p in points]


def _change(value: Decimal, baseline: Decimal | None) -> Decimal | None:
    if baseline is None or baseline == 0:
        return None
    return (value - baseline) / abs(baseline)


def baseline_at(values: Sequence[Decimal | None], i: int, baseline: str) -> Decimal | None:
    """The baseline of point ``i``: the point before it, the one 7 before, or the median of the
    same weekday over the 4 weeks before (at least 3 of the 4 known)."""
    if baseline in _BACK:
        j = i - _BACK[baseline]
        return values[j] if j >= 0 else None
    past = [values[i - 7 * k] for k in range(1, 5) if i - 7 * k >= 0]
    known = [v for v in past if v is not None]
    if len(known) < 3:
        return None
    return Decimal(median(known))


def _at(points: Sequence[Any], values: Sequence[Decimal | None], i: int, c: Condition,
        severity: str) -> _At:
    value = values[i]
    if value is None:
        return _At(None, None, None, None)
    if c.kind in ("above", "below"):
        threshold = c.threshold if c.threshold is not None else Decimal(0)
        above = c.kind == "above"
        holds = value > threshold if above else value < threshold
        sev = severity
        for tier in c.tiers:
            if (value > tier.threshold) if above else (value < tier.threshold):
                sev = tier.severity
        return _At(holds, value, threshold, _change(value, threshold) if holds else None,
                   sev if holds else None)
    if c.kind == "change":
        base = baseline_at(values, i, c.baseline or "previous_period")
        if base is None:
            return _At(None, value, None, None)
        if c.min_baseline is not None and base < c.min_baseline:
            return _At(False, value, base, _change(value, base))
        change = _change(value, base)
        if change is None:  # a zero baseline: a rise from nothing, no fall possible
            return _At(False, value, base, None)
        limit = c.threshold or Decimal(0)
        holds = ((c.direction in ("down", "any") and change < -limit)
                 or (c.direction in ("up", "any") and change > limit))
        return _At(holds, value, base, change, severity if holds else None)
    from storeops.alerts.anomaly import detect

    watch = {"any": "both"}.get(c.direction, c.direction)
    found = detect(points[:i + 1], float(c.sensitivity or DEFAULT_SENSITIVITY), watch=watch)
    if found.baseline is None:
        return _At(None, value, None, None)
    return _At(bool(found.is_anomaly), value, found.baseline, _change(value, found.baseline),
               severity if found.is_anomaly else None, found.score)


def evaluate(points: Sequence[Any], rule: RuleSpec | Condition,
             severity: str | None = None) -> Evaluation:
    """Whether ``rule`` (or a bare condition) fires on the last of ``points``: it must hold on
    each of the last ``periods`` points."""
    c = rule.condition if isinstance(rule, RuleSpec) else rule
    sev = severity or (rule.severity if isinstance(rule, RuleSpec) else "warning")
    if not points:
        return Evaluation(False, False, None, None, None, None, None)
    values = _values(points)
    last = len(points) - 1
    period = getattr(points[last], "period", None)
    now = _at(points, values, last, c, sev)
    if now.holds is None:
        return Evaluation(False, False, now.value, now.baseline, now.change, None, period)
    run, since = 0, None
    i = last
    while i >= 0:
        here = now if i == last else _at(points, values, i, c, sev)
        if not here.holds:
            break
        run += 1
        since = getattr(points[i], "period", None)
        i -= 1
    fires = run >= c.periods
    return Evaluation(fires, True, now.value, now.baseline, now.change,
                      since if fires else None, period, now.severity if fires else None,
                      now.score)
