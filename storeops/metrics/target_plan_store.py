"""Year plans in the database (``target_plans``, ``target_plan_cells``) and last year's
figures they are split by (:mod:`storeops.metrics.target_plan` is the pure part).

Saving a plan also writes each month's GMV, UV, conversion rate and AOV into
``monthly_targets`` (:func:`storeops.metrics.targets.set_target`), what ``storeops target
show``, the overview and the "GMV pace behind target" alert read. A month without a UV ×
conversion × AOV split (no history) leaves its UV, conversion and AOV targets as they were.

Re-planning a year replaces its cells but keeps the ones set by hand (pinned), with their
month's conversion and AOV; the plan records who changed it last and when (``updated_by``,
``updated_at``; each cell its own ``updated_at``, moved only when the cell changes).
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storeops.catalog.models import Product
from storeops.db.engine import session_factory, unit_of_work
from storeops.metrics import target_plan as tp
from storeops.metrics.models import TargetPlan, TargetPlanCell
from storeops.metrics.targets import set_target

RECENT_DAYS = 90  # the store's recent conversion and AOV: the last 90 closed days


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _closed_months(year: int, today: date) -> list[tuple[int, date, date]]:
    """(month, first, last) of the months of ``year`` over before ``today``."""
    out = []
    for m in range(1, 13):
        first = date(year, m, 1)
        last = date(year, m, calendar.monthrange(year, m)[1])
        if last < today:
            out.append((m, first, last))
    return out


def load_history(db_url: str, store_id: int, year: int, today: date, *,
                 by_category: bool = False) -> tp.History:
    """Last year's (``year`` − 1) closed months, the year before's, and (with
    ``by_category``) last year's GMV by category, per year and per month."""
    from storeops.metrics.service import kpi_by, kpi_series, kpi_summary

    months: dict[int, tp.MonthFigures] = {}
    last_year = _closed_months(year - 1, today)
    if last_year:
        rows = kpi_series(db_url, store_id, last_year[0][1], last_year[-1][2], by="month")
        for (m, _, _), row in zip(last_year, rows, strict=False):
            months[m] = tp.MonthFigures(_dec(row["gmv"]) or Decimal(0),
                                        _dec(row["conversion_rate"]), _dec(row["aov"]))
    before: dict[int, Decimal] = {}
    year_before = _closed_months(year - 2, today)
    if year_before:
        rows = kpi_series(db_url, store_id, year_before[0][1], year_before[-1][2], by="month")
        for (m, _, _), row in zip(year_before, rows, strict=False):
            before[m] = _dec(row["gmv"]) or Decimal(0)
    recent_conv = recent_aov = None
    yesterday = today - timedelta(days=1)
    recent = kpi_summary(db_url, store_id, yesterday - timedelta(days=RECENT_DAYS - 1),
                         yesterday)
    recent_conv, recent_aov = _dec(recent["conversion_rate"]), _dec(recent["aov"])
    categories: dict[str, Decimal] = {}
    month_categories: dict[int, dict[str, Decimal]] = {}
    names: list[str] = []
    if by_category:
        with session_factory(db_url)() as session:
            names = sorted({c or tp.UNCATEGORISED for c in session.scalars(
                select(Product.category).where(Product.store_id == store_id).distinct())})
        if last_year:
            categories = _by_category(kpi_by(db_url, store_id, last_year[0][1],
                                             last_year[-1][2], dimension="category",
                                             metrics=["gmv"]))
            for m, first, last in last_year:
                month_categories[m] = _by_category(kpi_by(
                    db_url, store_id, first, last, dimension="category", metrics=["gmv"]))
    return tp.History(months=months, before=before, categories=categories,
                      month_categories=month_categories, category_names=names,
                      recent_conversion=recent_conv, recent_aov=recent_aov)


def _by_category(rows: list[dict[str, Any]]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for row in rows:
        name = row.get("category") or tp.UNCATEGORISED
        out[name] = out.get(name, Decimal(0)) + (_dec(row.get("gmv")) or Decimal(0))
    return out


# --- rows <-> plan -----------------------------------------------------------------------------

def _plan_row(session: Session, store_id: int, year: int) -> TargetPlan | None:
    return session.scalar(select(TargetPlan).where(TargetPlan.store_id == store_id,
                                                   TargetPlan.year == year))


def load_plan(session: Session, store_id: int, year: int) -> tp.Plan | None:
    """The saved plan of ``year``, or None."""
    row = _plan_row(session, store_id, year)
    if row is None:
        return None
    cells = session.scalars(select(TargetPlanCell).where(TargetPlanCell.plan_id == row.id))
    found: dict[tp.Key, tp.Cell] = {}
    for c in cells:
        found[(c.level, c.period, c.category or "")] = tp.Cell(
            c.level, c.period, c.category or "", Decimal(c.gmv), _dec(c.share),
            None if c.uv is None else int(Decimal(c.uv)), _dec(c.conversion_rate), _dec(c.aov),
            bool(c.pinned))
    # Categories in the order of their year GMV (largest first), as a fresh plan has them.
    order = {c.category: (-c.gmv, c.category) for c in found.values() if c.level == tp.CATEGORY}
    rank = {level: i for i, level in enumerate(tp.LEVELS)}
    ordered = dict(sorted(found.items(), key=lambda kv: (
        rank[kv[0][0]], kv[0][1], order.get(kv[0][2], (Decimal(0), kv[0][2])))))
    return tp.Plan(row.year, Decimal(row.gmv), row.basis, bool(row.by_category), ordered)


def plan_info(session: Session, store_id: int, year: int) -> dict[str, Any] | None:
    """Who changed the plan last, and when (``updated_by``, ``updated_at``, ``created_at``)."""
    row = _plan_row(session, store_id, year)
    if row is None:
        return None
    return {"updated_by": row.updated_by, "updated_at": row.updated_at,
            "created_at": row.created_at}


def save_plan(session: Session, store_id: int, plan: tp.Plan, actor: str | None) -> TargetPlan:
    """Write ``plan`` (its row and cells; a cell only touched where it changed) and its months
    into ``monthly_targets``."""
    row = _plan_row(session, store_id, plan.year)
    if row is None:
        row = TargetPlan(store_id=store_id, year=plan.year, gmv=plan.gmv, basis=plan.basis,
                         by_category=plan.by_category, updated_by=actor)
        session.add(row)
        session.flush()
        stored: dict[tp.Key, TargetPlanCell] = {}
    else:
        row.gmv, row.basis, row.by_category, row.updated_by = (
            plan.gmv, plan.basis, plan.by_category, actor)
        stored = {(c.level, c.period, c.category or ""): c for c in session.scalars(
            select(TargetPlanCell).where(TargetPlanCell.plan_id == row.id))}
    gone = [c.id for k, c in stored.items() if k not in plan.cells]
    if gone:
        session.execute(delete(TargetPlanCell).where(TargetPlanCell.id.in_(gone)))
    for key, cell in plan.cells.items():
        values = {"gmv": cell.gmv, "share": cell.share,
                  "uv": None if cell.uv is None else Decimal(cell.uv),
                  "conversion_rate": cell.conversion_rate, "aov": cell.aov,
                  "pinned": cell.pinned}
        old = stored.get(key)
        if old is None:
            session.add(TargetPlanCell(plan_id=row.id, level=cell.level, period=cell.period,
                                       category=cell.category, **values))
            continue
        for name, value in values.items():
            current = getattr(old, name)
            if name != "pinned" and current is not None:
                current = Decimal(current)
            if current != value:
                setattr(old, name, value)
    _write_monthly_targets(session, store_id, plan)
    session.flush()
    return row


def _write_monthly_targets(session: Session, store_id: int, plan: tp.Plan) -> None:
    for cell in plan.level(tp.MONTH):
        set_target(session, store_id, cell.period, "gmv", cell.gmv)
        if cell.uv is not None and cell.conversion_rate and cell.aov:
            set_target(session, store_id, cell.period, "uv", Decimal(cell.uv))
            set_target(session, store_id, cell.period, "conversion_rate", cell.conversion_rate)
            set_target(session, store_id, cell.period, "aov", cell.aov)


# --- what the CLI and the page call ------------------------------------------------------------

def make_plan(db_url: str, store_id: int, year: int, gmv: Any, *, today: date,
              by_category: bool = False, actor: str | None = None,
              save: bool = True) -> tp.Plan:
    """Split ``gmv`` for ``year`` by last year's shares (keeping the cells of a saved plan of
    that year that were set by hand) and, with ``save``, store it."""
    total = tp.money(gmv)  # a bad amount is refused before any query
    history = load_history(db_url, store_id, year, today, by_category=by_category)
    with unit_of_work(db_url) as session:
        old = load_plan(session, store_id, year)
        pins: Mapping[tp.Key, Decimal] = {}
        rates: dict[str, tuple[Decimal | None, Decimal | None]] = {}
        if old is not None:
            pins = {k: c.gmv for k, c in old.cells.items() if c.pinned}
            rates = {c.period: (c.conversion_rate, c.aov) for c in old.level(tp.MONTH)
                     if c.pinned}
        new = tp.plan(year, total, history, by_category=by_category, pins=pins,
                      keep_rates=rates)
        if save:
            save_plan(session, store_id, new, actor)
    return new


def _change(db_url: str, store_id: int, year: int, actor: str | None, how: Any) -> tp.Plan:
    """Read, change and save the plan in one transaction; on PostgreSQL the plan's row is
    locked first, so that two people editing at once rebalance one after the other."""
    with unit_of_work(db_url) as session:
        session.execute(select(TargetPlan.id).where(
            TargetPlan.store_id == store_id, TargetPlan.year == year).with_for_update())
        current = load_plan(session, store_id, year)
        if current is None:
            raise tp.TargetPlanError(f"no plan for {year} yet: make one first "
                                     f"(storeops target plan --year {year} --gmv …)",
                                     key="target_plan.no_plan", year=year)
        new = how(current)
        save_plan(session, store_id, new, actor)
    return new


def edit_cell(db_url: str, store_id: int, year: int, key: tp.Key, gmv: Any,
              actor: str | None = None) -> tp.Plan:
    """Set one cell's GMV (pinned), rebalance the rest, store it."""
    return _change(db_url, store_id, year, actor, lambda p: tp.edit(p, key, gmv))


def edit_month_rates(db_url: str, store_id: int, year: int, month: str, *,
                     conversion_rate: Any = None, aov: Any = None, uv: Any = None,
                     actor: str | None = None) -> tp.Plan:
    return _change(db_url, store_id, year, actor, lambda p: tp.edit_rates(
        p, month, conversion_rate=conversion_rate, aov=aov, uv=uv))


def unpin_cell(db_url: str, store_id: int, year: int, key: tp.Key,
               actor: str | None = None) -> tp.Plan:
    return _change(db_url, store_id, year, actor, lambda p: tp.unpin(p, key))
