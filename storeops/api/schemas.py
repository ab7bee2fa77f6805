"""Response and request models of the JSON API (Pydantic 2).

Metric fields are generated from :mod:`storeops.metrics.definitions`, so a metric added there
shows up in the API and its OpenAPI document without another edit. Money serialises as a
decimal string, counts as integers, rates as numbers (fractions), unknown values as null.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from storeops.metrics.definitions import METRIC_KEYS, METRICS
from storeops.metrics.targets import MAX_DIGITS

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
OPTIONAL_MONTH_SCHEMA = {"type": "string", "anyOf": [{"pattern": MONTH_PATTERN}, {"maxLength": 0}]}

_UNIT_TYPES: dict[str, Any] = {"money": Decimal, "count": int, "rate": float}


def _metric_fields(as_change: bool = False) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key in METRIC_KEYS:
        m = METRICS[key]
        py_type = float if as_change else _UNIT_TYPES[m.unit]
        desc = f"{m.label_en} ({m.label_zh})"
        if as_change:
            desc = f"Relative change of {desc} vs the previous period, as a fraction"
        fields[key] = (py_type | None, Field(None, description=desc))
    return fields


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


MetricValues = create_model("MetricValues", __base__=_Model, **_metric_fields())
MetricChanges = create_model("MetricChanges", __base__=_Model, **_metric_fields(as_change=True))
SeriesRow = create_model(
    "SeriesRow", __base__=MetricValues,
    period=(str, Field(description="YYYY-MM-DD, YYYY-Www (ISO week) or YYYY-MM")),
)
ByRow = create_model(
    "ByRow", __base__=MetricValues,
    product_id=(int | None, None), platform_sku_id=(str | None, None),
    title=(str | None, None), category=(str | None, None), status=(str | None, None),
    source=(str | None, None),
)


class ScopeOut(_Model):
    store: str
    from_: date = Field(alias="from")
    to: date


class StoreOut(_Model):
    id: int
    name: str
    platform: str
    timezone: str
    currency: str


class MeOut(_Model):
    username: str
    display_name: str | None
    role: str
    permissions: list[str]


class SummaryOut(ScopeOut):
    metrics: MetricValues  # type: ignore[valid-type]


class SeriesOut(ScopeOut):
    by: str
    rows: list[SeriesRow]  # type: ignore[valid-type]


class PeriodOut(_Model):
    from_: date = Field(alias="from")
    to: date


class CompareOut(ScopeOut):
    compare: str = "prev"  # the baseline: prev, wow or yoy (its dates: previous_period)
    previous_period: PeriodOut
    current: MetricValues  # type: ignore[valid-type]
    previous: MetricValues  # type: ignore[valid-type]
    change: MetricChanges  # type: ignore[valid-type]


class ByOut(ScopeOut):
    dimension: str
    rows: list[ByRow]  # type: ignore[valid-type]


class FunnelStep(_Model):
    key: str
    value: int
    rate: float | None = Field(None, description="This step / the previous step")
    typical: list[float] | None = Field(None, description="Typical rate range [low, high]")


class FunnelOut(ScopeOut):
    steps: list[FunnelStep]
    weakest: str | None = Field(None, description="The step furthest below its typical range")


class TrafficSource(_Model):
    source: str | None
    uv: int
    pv: int
    share: float | None = Field(None, description="Share of UV, a fraction")


class TrafficOut(ScopeOut):
    sources: list[TrafficSource]


_DIGITS = f"at most {MAX_DIGITS} digits"


def _bounds(maximum: int | None = None) -> dict[str, Any]:
    # Declared for the document; the one check is storeops.metrics.targets.check_value, whose
    # messages the API, the page and the CLI share. A number, or a decimal written as a string.
    number: dict[str, Any] = {"type": "number", "minimum": 0}
    text = {"type": "string", "pattern": r"^\d+(\.\d+)?$"}
    if maximum is not None:
        number["maximum"] = maximum
        text["pattern"] = r"^(0(\.\d+)?|1(\.0+)?)$"
    return {"anyOf": [number, text, {"type": "null"}]}


class TargetValues(_Model):
    """The month's targets; a metric left out (or null) keeps its current target."""

    model_config = ConfigDict(extra="forbid")
    gmv: Decimal | None = Field(None, json_schema_extra=_bounds(), description=(
        f"GMV in currency units, to the cent, {_DIGITS}"))
    uv: Decimal | None = Field(None, json_schema_extra=_bounds(), description=(
        f"Visitors, a whole number, {_DIGITS}"))
    conversion_rate: Decimal | None = Field(None, json_schema_extra=_bounds(1), description=(
        "A fraction 0..1 (0.03 = 3%), at most 6 decimal places"))
    aov: Decimal | None = Field(None, json_schema_extra=_bounds(), description=(
        f"Average order value in currency units, to the cent, {_DIGITS}"))


class TargetsIn(_Model):
    model_config = ConfigDict(extra="forbid")
    month: str = Field(description="YYYY-MM", examples=["2026-11"], max_length=7,
                       json_schema_extra={"pattern": MONTH_PATTERN})
    targets: TargetValues = Field(
        description="metric → target; money in currency units, rates as fractions (0.03 = 3%)",
        examples=[{"gmv": "1200000", "uv": "300000", "conversion_rate": "0.03", "aov": "150"}],
    )


class TargetsOut(_Model):
    store: str
    month: str = Field(description="YYYY-MM")
    targets: dict[str, Decimal]
    progress: dict[str, Any] = Field(default_factory=dict)


class ImportOut(_Model):
    store: str | None = None
    summary: dict[str, Any]
    rejected_rows: list[dict[str, Any]] = Field(default_factory=list)


class FieldError(_Model):
    loc: list[str] = Field(description="Where: query/path/body, then the parameter or field")
    msg: str
    type: str


class ErrorOut(_Model):
    """Every error the API answers: a sentence, plus the fields for a validation error."""

    detail: str = Field(description="What went wrong, in words a user can act on")
    code: str | None = Field(
        None, description="A stable name of the error (e.g. period.bad_day), when it has one")
    errors: list[FieldError] | None = Field(
        None, description="Each invalid field (only when the request did not validate)")


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


# What every route of the API may answer besides its success (see storeops.api.errors).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("The body could not be parsed (not JSON, broken multipart)"),
    401: _error("Not logged in: send the session cookie or credentials"),
    403: _error("Logged in, but the role may not do this"),
    404: _error("No such store"),
    422: _error("Invalid input: a bad or out-of-range value, a period too long for its cut, "
                "a file that cannot be imported"),
    429: _error("Too many failed logins from this account or address: wait Retry-After "
                "seconds"),
}
UPLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: _error("The upload is larger than the upload limit (STOREOPS_MAX_UPLOAD_MB)"),
}
