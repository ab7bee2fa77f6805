"""Monthly targets (GMV split into UV × conversion × AOV, domain reference §7) and progress.

Values: gmv and aov in currency units, uv a count, conversion_rate a fraction 0..1.
"""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import String, select, type_coerce
from sqlalchemy.orm import Session

from storeops.common.errors import MetricName, StoreopsError
from storeops.metrics.definitions import METRICS
from storeops.metrics.models import MonthlyTarget
from storeops.metrics.month_pace import expected_by
from storeops.metrics.periods import parse_month

TARGET_METRICS = ("gmv", "uv", "conversion_rate", "aov")
PRO_RATA_METRICS = ("gmv", "uv")  # sums that grow through the month
log = logging.getLogger(__name__)


class TargetError(StoreopsError, ValueError):
    pass


def _check_metric(metric: str) -> None:
    if metric not in TARGET_METRICS:
        raise TargetError(
            f"no target for metric {metric!r}: choose one of {', '.join(TARGET_METRICS)}",
            key="target.unknown_metric", metric=metric, choices=", ".join(TARGET_METRICS),
        )


# The sensible range of a target: finite, not negative, at most MAX_DIGITS digits written out
# (a GMV below 10^13 with its cents), money to the cent, UV whole, rates a fraction 0..1.
MAX_DIGITS = 15
MONEY_PLACES = 2
RATE_PLACES = 6
RATE_METRICS = ("conversion_rate",)
MONEY_METRICS = ("gmv", "aov")


def _digits(number: Decimal) -> tuple[int, int]:
    """(digits before the point, digits after it) of ``number`` written out plainly."""
    _, digits, exponent = number.normalize().as_tuple()
    assert isinstance(exponent, int)  # finite: checked by the caller
    if number == 0:
        return 1, 0
    return max(len(digits) + exponent, 0), max(-exponent, 0)


def check_value(metric: str, value: Decimal | int | float | str) -> Decimal:
    """The target as a Decimal, or a TargetError saying what a sensible value is."""
    _check_metric(metric)
    name = MetricName(metric)
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise TargetError(f"{metric} target is not a number: {value!r}",
                          key="target.not_number", metric=name, value=value) from None
    if not number.is_finite() or number < 0:
        raise TargetError(f"{metric} target must be a finite number ≥ 0, not {value!r}",
                          key="target.negative", metric=name, value=value)
    whole, places = _digits(number)
    if whole + places > MAX_DIGITS:
        raise TargetError(f"{metric} target has {whole + places} digits: at most {MAX_DIGITS}",
                          key="target.too_many_digits", metric=name, digits=whole + places,
                          limit=MAX_DIGITS)
    if metric in RATE_METRICS:
        if number > 1:
            # the pages take a rate as a percentage: the localised words say it as one
            raise TargetError(f"{metric} is a fraction 0..1 (e.g. 0.03 for 3%), not {value!r}",
                              key="target.rate_over_one", metric=name, value=value,
                              percent=f"{(number * 100).normalize():f}%")
        if places > RATE_PLACES:
            raise TargetError(f"{metric} target has more than {RATE_PLACES} decimal places",
                              key="target.rate_places", metric=name,
                              places=RATE_PLACES - 2)  # as a percentage, two fewer
    elif metric in MONEY_METRICS and places > MONEY_PLACES:
        raise TargetError(f"{metric} target is money: at most {MONEY_PLACES} decimal places "
                          f"(cents), not {value!r}", key="target.money_places", metric=name,
                          value=value, places=MONEY_PLACES)
    elif metric == "uv" and places:
        raise TargetError(f"uv target must be a whole number: {value!r}",
                          key="target.uv_whole", metric=name, value=value)
    return number


def set_target(session: Session, store_id: int, month: str, metric: str,
               value: Decimal) -> MonthlyTarget:
    """Create or replace the month's target for ``metric``."""
    parse_month(month)
    number = check_value(metric, value)
    target = session.scalar(select(MonthlyTarget).where(
        MonthlyTarget.store_id == store_id, MonthlyTarget.month == month,
        MonthlyTarget.metric == metric,
    ))
    if target is None:
        target = MonthlyTarget(store_id=store_id, month=month, metric=metric, value=number)
        session.add(target)
    else:
        target.value = number
    session.flush()
    return target


def get_targets(session: Session, store_id: int, month: str) -> dict[str, Decimal]:
    parse_month(month)
    # The stored text as it is (not through DecimalText): a value written around these checks
    # (an old version, straight SQL) is left out rather than allowed to break every page.
    rows = session.execute(select(
        MonthlyTarget.metric, type_coerce(MonthlyTarget.value, String())
    ).where(MonthlyTarget.store_id == store_id, MonthlyTarget.month == month))
    targets: dict[str, Decimal] = {}
    for metric, raw in rows:
        if metric not in TARGET_METRICS:
            continue
        try:
            targets[metric] = check_value(metric, raw)
        except TargetError:
            log.warning("ignoring the stored %s target of store %s, %s: %r", metric,
                        store_id, month, raw)
    return targets


def _as_decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def progress(targets: dict[str, Decimal], actuals: dict[str, Any], month_first: date,
             month_last: date, as_of: date) -> dict[str, Any]:
    """Pure core of :func:`target_progress`: achievement and, for sums, the pro-rata pace."""
    days_in_month = (month_last - month_first).days + 1
    elapsed = max(0, min((as_of - month_first).days + 1, days_in_month))
    metrics: dict[str, Any] = {}
    for metric in TARGET_METRICS:
        target = targets.get(metric)
        actual = actuals.get(metric)
        entry: dict[str, Any] = {
            "label_zh": METRICS[metric].label_zh, "label_en": METRICS[metric].label_en,
            "target": target, "actual": actual, "achievement": None,
        }
        act = _as_decimal(actual)
        if target is not None and act is not None and target > 0:
            entry["achievement"] = round(float(act / target), 6)
        if metric in PRO_RATA_METRICS:
            expected = None
            if target is not None:
                expected = (expected_by(target, days_in_month, elapsed) if metric == "gmv"
                            else round(target * elapsed / days_in_month))
            entry["expected_to_date"] = expected
            entry["pace"] = (
                round(float(act / Decimal(expected)), 6) if expected and act is not None
                else None
            )
        metrics[metric] = entry
    return {"days_elapsed": elapsed, "days_in_month": days_in_month, "metrics": metrics}


def target_progress(
    db_url: str, store_id: int, month: str, as_of: date,
    targets: dict[str, Decimal] | None = None,
) -> dict[str, Any]:
    """Targets of ``month`` against the month-to-date actuals up to ``as_of`` (inclusive);
    ``targets``: the month's targets when the caller has just read them."""
    from storeops.db.engine import unit_of_work
    from storeops.metrics.service import kpi_summary

    first, last = parse_month(month)
    if targets is None:
        with unit_of_work(db_url) as session:
            targets = get_targets(session, store_id, month)
    end = min(as_of, last)
    actuals: dict[str, Any] = {}
    if end >= first:
        summary = kpi_summary(db_url, store_id, first, end)
        actuals = {m: summary[m] for m in TARGET_METRICS}
    else:  # the month has not started yet
        actuals = {"gmv": Decimal("0.00"), "uv": 0, "conversion_rate": None, "aov": None}
    result = progress(targets, actuals, first, last, as_of)
    result.update({"month": month, "as_of": as_of})
    return result
