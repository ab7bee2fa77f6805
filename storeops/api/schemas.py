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


class TargetsIn(_Model):
    month: str = Field(description="YYYY-MM", examples=["2026-11"])
    targets: dict[str, Decimal] = Field(
        description="metric → target; money in currency units, rates as fractions (0.03 = 3%)",
        examples=[{"gmv": "1200000", "uv": "300000", "conversion_rate": "0.03", "aov": "150"}],
    )


class TargetsOut(_Model):
    store: str
    month: str
    targets: dict[str, Decimal]
    progress: dict[str, Any] = Field(default_factory=dict)


class ImportOut(_Model):
    store: str | None = None
    summary: dict[str, Any]
    rejected_rows: list[dict[str, Any]] = Field(default_factory=list)
