"""KPI services for the CLI, the API and the cockpit.

Every function takes ``db_url`` and ``store_id``; dates are store-local ``datetime.date``,
``first..last`` inclusive. Results are plain dicts and lists: money as ``Decimal`` (2 places),
counts as ``int``, rates as ``float`` fractions (see :mod:`storeops.metrics.definitions`),
``None`` where a value is undefined. :func:`storeops.metrics.render.jsonable` turns them into
JSON values.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from storeops.common.errors import StoreopsError
from storeops.metrics import queries
from storeops.metrics.cache import cached, data_version
from storeops.metrics.comparison_periods import (
    DEFAULT_COMPARE,
    baseline_period,
    check_compare,
)
from storeops.metrics.definitions import (
    DIMENSIONS,
    FUNNEL_STEPS,
    METRIC_KEYS,
    METRICS,
    base_facts,
    derive,
    rate,
)
from storeops.metrics.periods import (
    BY_CHOICES,
    calendar_rows,
    check_range,
    period_labels,
)
from storeops.metrics.queries import Grouping
from storeops.metrics.warehouse import open_store


class MetricsError(StoreopsError, ValueError):
    pass


@dataclass(frozen=True)
class _Together:
    """Facts of several summaries and trends, read in one statement from one snapshot."""

    db_url: str
    store_id: int
    version: int  # the snapshot's data_version: its rows are at least this new
    facts: dict[tuple[Any, ...], Any]  # ("all", first, last) | ("series", first, last, by)


_together = threading.local()


def _read_together(db_url: str, store_id: int, key: tuple[Any, ...]) -> Any:
    """The facts under ``key`` if :func:`computed_together` holds them for this store, else
    None. Only while no import has landed since they were read: a cached answer is computed
    after its data_version was read, so it must never come from an older snapshot."""
    held: _Together | None = getattr(_together, "held", None)
    if held is None or (held.db_url, held.store_id) != (db_url, store_id):
        return None
    if key not in held.facts or data_version(db_url, store_id) > held.version:
        return None
    return held.facts[key]


@contextmanager
def computed_together(
    db_url: str, store_id: int, summaries: Sequence[tuple[date, date]] = (),
    series: Sequence[tuple[date, date, str]] = (),
) -> Iterator[None]:
    """Compute the facts of the ``summaries`` (first, last) and the trends ``series``
    (first, last, by) in one statement (each range a window of one grouping), and let
    :func:`kpi_summary`, :func:`compare` and :func:`kpi_series` of this thread use them inside
    the block instead of querying each range on its own. The results are the same: the same
    facts go through the same :func:`derive`, and are cached under the same keys."""
    windows: list[tuple[str, date, date]] = []
    where: dict[str, tuple[tuple[Any, ...], Any]] = {}  # window key → (facts key, label)
    for first, last in summaries:
        check_range(first, last)
        key = f"w{len(windows)}"
        windows.append((key, first, last))
        where[key] = (("all", first, last), None)
    for first, last, by in series:
        if by not in BY_CHOICES:
            continue  # kpi_series says why
        period_labels(first, last, by)  # bounded like the request
        spans: dict[str, list[date]] = {}
        for day, label in calendar_rows(first, last, by):
            spans.setdefault(label, []).append(day)
        for label, days in spans.items():
            key = f"w{len(windows)}"
            windows.append((key, days[0], days[-1]))
            where[key] = (("series", first, last, by), label)
    if not windows:
        yield
        return
    wh = open_store(db_url, store_id)
    found = queries.collect_facts(wh, Grouping.of_windows(windows))
    facts: dict[tuple[Any, ...], Any] = {}
    for key, (target, label) in where.items():
        group = dict(found.get(key, {}))
        if label is None:
            facts[target] = group
        else:
            facts.setdefault(target, {})[label] = group
    previous = getattr(_together, "held", None)
    _together.held = _Together(db_url, store_id, wh.snapshot.data_version, facts)
    try:
        yield
    finally:
        _together.held = previous


def _summary_facts(db_url: str, store_id: int, first: date, last: date,
                   product_id: int | None = None) -> dict[str, int]:
    check_range(first, last)
    if product_id is None:
        held = _read_together(db_url, store_id, ("all", first, last))
        if held is not None:
            return dict(held)
    wh = open_store(db_url, store_id)
    grouping = Grouping("all", first, last, product=product_id)
    return dict(queries.collect_facts(wh, grouping).get(None, {}))


def _cut_of(by: str, product_id: int | None) -> str:
    """The cut metrics are derived under: one SKU's figures are a SKU's (goods only, no
    freight, ad spend or trailing repurchase, which are not per SKU)."""
    return "sku" if product_id is not None else by


@cached
def kpi_summary(db_url: str, store_id: int, first: date, last: date,
                product_id: int | None = None) -> dict[str, Any]:
    """Every metric (and base fact) of the store, or of one SKU (``product_id``, the
    products row id), over the period."""
    return derive(_summary_facts(db_url, store_id, first, last, product_id),
                  _cut_of("day", product_id))


@cached
def kpi_series(
    db_url: str, store_id: int, first: date, last: date, *, by: str = "day",
    product_id: int | None = None,
) -> list[dict[str, Any]]:
    """One row per period in the range (empty periods zero-filled), each with ``period``;
    of one SKU only with ``product_id``."""
    if by not in BY_CHOICES:
        raise MetricsError(f"unknown period cut {by!r}: choose one of {', '.join(BY_CHOICES)}",
                           key="period.unknown_cut", by=by, choices=", ".join(BY_CHOICES))
    check_range(first, last)
    facts = None
    if product_id is None:
        facts = _read_together(db_url, store_id, ("series", first, last, by))
    if facts is None:
        facts = queries.collect_facts(open_store(db_url, store_id),
                                      Grouping(by, first, last, product=product_id))
    rows = []
    for label in period_labels(first, last, by):
        row = {"period": label}
        row.update(derive(facts.get(label, {}), _cut_of(by, product_id)))
        rows.append(row)
    return rows


SKU_FIELDS = ("product_id", "platform_sku_id", "title", "category", "status")


def _sort_key(value: Any, descending: bool) -> tuple[bool, Any]:
    """None sorts last whichever the direction."""
    if value is None:
        return (True, 0)
    return (False, -value if descending else value)


def _ranked(
    facts: queries.Facts, dimension: str, order_by: str, descending: bool
) -> list[tuple[Any, Any, dict[str, int]]]:
    """(order_by value, key, facts) of the groups with any activity, best first."""
    candidates = []
    for key, group in facts.items():
        if not any(v for k, v in group.items() if k != "on_sale_products"):
            continue
        if dimension == "sku" and key is None:
            continue  # refunds not tied to a product
        candidates.append((derive(group, dimension, [order_by])[order_by], key, group))
    # Ties broken by key, so that a top N is stable; None sorts last either way.
    candidates.sort(key=lambda c: (*_sort_key(c[0], descending), str(c[1])))
    return candidates


@cached
def kpi_by(
    db_url: str, store_id: int, first: date, last: date, *, dimension: str,
    metrics: list[str] | None = None, limit: int | None = None, order_by: str = "gmv",
    descending: bool = True,
) -> list[dict[str, Any]]:
    """Metrics per SKU, category or source, sorted by ``order_by``; groups with no activity
    in the period are left out."""
    if dimension not in DIMENSIONS:
        choices = ", ".join(DIMENSIONS)
        raise MetricsError(f"unknown dimension {dimension!r}: choose one of {choices}",
                           key="metrics.unknown_dimension", dimension=dimension,
                           choices=choices)
    wanted = list(metrics) if metrics else list(METRIC_KEYS)
    for key in [*wanted, order_by]:
        if key not in METRICS:
            raise MetricsError(f"unknown metric {key!r}", key="metrics.unknown_metric",
                               metric=key)
    if limit is not None and limit < 0:
        raise MetricsError("limit must not be negative", key="metrics.negative_limit")
    check_range(first, last)
    wh = open_store(db_url, store_id)
    # Only the queries the asked metrics need: the per-order one is the costliest.
    parts = queries.families_for(base_facts([*wanted, order_by]))
    ranking = queries.families_for(base_facts([order_by]))
    two_pass = limit is not None and descending and set(ranking) < set(parts)
    grouping = Grouping(dimension, first, last)
    facts = queries.collect_facts(wh, grouping, ranking if two_pass else parts)
    candidates = _ranked(facts, dimension, order_by, descending)
    if two_pass and len(candidates) >= (limit or 0):
        # A top N: rank on the order_by facts, then read the other facts for the N kept only.
        candidates = candidates[:limit]
        keys = tuple(key for _, key, _ in candidates)
        rest = tuple(p for p in parts if p not in ranking)
        more = queries.collect_facts(wh, Grouping(dimension, first, last, only=keys),
                                     rest)
        for _, key, group in candidates:
            group.update(more.get(key, {}))
    elif two_pass:  # fewer active groups than asked: rank on every fact, as without a limit
        facts = queries.collect_facts(wh, grouping, parts)
        candidates = _ranked(facts, dimension, order_by, descending)
    if limit is not None:
        candidates = candidates[:limit]
    products: dict[int, tuple[Any, ...]] = {}
    if dimension == "sku":
        products = {
            r[0]: r for r in wh.run(
                "SELECT product_id, platform_sku_id, title, category, status FROM {products}"
            )
        }
    rows = []
    for _, key, group in candidates:
        if dimension == "sku":
            info = products.get(key, (key, None, None, None, None))
            row: dict[str, Any] = dict(zip(SKU_FIELDS, info, strict=True))
        else:
            row = {dimension: key}
        row.update(derive(group, dimension, wanted))
        rows.append(row)
    return rows


@cached
def traffic_by_source(db_url: str, store_id: int, first: date, last: date,
                      product_id: int | None = None) -> list[dict]:
    """UV, PV and share of UV per traffic source (of one SKU with ``product_id``), biggest
    first."""
    check_range(first, last)
    wh = open_store(db_url, store_id)
    facts = queries.collect_facts(wh, Grouping("source", first, last, product=product_id),
                                  parts=("traffic",))
    total_uv = sum(f.get("uv", 0) for f in facts.values())
    rows = [
        {"source": k, "uv": f.get("uv", 0), "pv": f.get("pv", 0),
         "share": rate(f.get("uv", 0), total_uv)}
        for k, f in facts.items()
    ]
    rows.sort(key=lambda r: (-r["uv"], str(r["source"])))
    return rows


def funnel_from_facts(facts: dict[str, int]) -> dict[str, Any]:
    """Exposure → click → cart → order → pay with step rates and the weakest step.

    ``order`` counts every order placed in the period, unpaid and cancelled ones included
    (下单单量); ``pay`` counts the period's deals (成交单量: paid, cash on delivery placed, not
    cancelled that day). The weakest step is the one whose
    rate falls furthest below the low end of its typical range (lowest rate / low end); a
    step inside (or above) its range is never the weakest, and a store without traffic
    (no exposure) has none: its funnel cannot be judged.
    """
    steps: list[dict[str, Any]] = []
    previous: int | None = None
    weakest, weakest_score = None, None
    for key, fact, typical in FUNNEL_STEPS:
        value = int(facts.get(fact, 0) or 0)
        step_rate = None if previous is None else rate(value, previous)
        steps.append({"key": key, "value": value, "rate": step_rate,
                      "typical": list(typical) if typical else None})
        if typical and step_rate is not None and step_rate < typical[0]:
            score = step_rate / typical[0]
            if weakest_score is None or score < weakest_score:
                weakest, weakest_score = key, score
        previous = value
    if not steps or not steps[0]["value"]:
        weakest = None
    return {"steps": steps, "weakest": weakest}


@cached
def funnel(db_url: str, store_id: int, first: date, last: date,
           product_id: int | None = None) -> dict[str, Any]:
    return funnel_from_facts(_summary_facts(db_url, store_id, first, last, product_id))


def change(current: Any, previous: Any) -> float | None:
    """Relative change as a fraction; None when either side is unknown or the base is zero."""
    if current is None or previous is None or not previous:
        return None
    return round(float((current - previous) / previous), 6)


@cached
def compare(db_url: str, store_id: int, first: date, last: date,
            against: str = DEFAULT_COMPARE) -> dict[str, Any]:
    """This period, its baseline (``against``: the previous period of the same length, the
    same dates a week or a year earlier, see :mod:`storeops.metrics.comparison_periods`;
    under the key ``previous_period``) and the change per metric."""
    prev_first, prev_last = baseline_period(first, last, against)
    current = kpi_summary(db_url, store_id, first, last)
    previous = kpi_summary(db_url, store_id, prev_first, prev_last)
    return {
        "period": {"from": first, "to": last},
        "previous_period": {"from": prev_first, "to": prev_last},
        "current": current,
        "previous": previous,
        "change": {k: change(current[k], previous[k]) for k in current},
        "compare": check_compare(against),
    }
