"""A year's GMV target split into quarters, months and categories, and each month into
UV × conversion × AOV (domain reference §7: GMV = 访客数 × 成交转化率 × 客单价). Pure: the
figures of last year come in a :class:`History`; :mod:`storeops.metrics.target_plan_store`
reads them and saves plans.

**Shares.** Months take last year's shares of GMV (the store's GMV of each closed month of
the previous calendar year); a quarter is the sum of its months. Where last year has no
history at all, every month gets the same share (1/12 of the year). Where it has only some
months (a store opened in June, or last year's last months not yet over), a month without
history is filled first from the same month two years before, scaled by how the months both
years have grew (sum of last year / sum of the year before over those months; with no month
in common, last year's GMV per day / the year before's); failing that, from the average GMV
per day of last year's known months × the month's days. The plan's
``basis`` says which: ``last_year``, ``partial`` or ``even``; ``notes`` name the filled months.

**Categories** (optional) take last year's category shares: at the year level (the year's
GMV by category) and per month (that month's GMV by category; a month without category
history takes the year's category shares; no history at all: even). The two are separate
splits of the same totals: a category's twelve month cells need not add up to its year cell.

**UV × conversion × AOV.** Each month keeps last year's same month's conversion rate and
AOV (the store's recent ones where that month has no traffic or orders; none where the store
has neither), and its UV is what the GMV target needs at those rates: UV = GMV /
(conversion × AOV), rounded half up to a whole visitor. Conversion is kept to 4 places
(0.01%), AOV to the cent.

**Rounding.** Money is Decimal to the cent; the parts of a total always sum to it exactly
(largest remainder: each part gets its share rounded down to the cent, the cents left go to
the largest remainders, ties to the earlier part).

**Editing.** Setting a cell's GMV pins it; its unpinned siblings (the other quarters of the
year, the other months of its quarter, the other categories of the year or of its month)
share what is left of the parent's total in proportion to their current GMV (evenly where
those are all zero), and its own unpinned children are rescaled to its new total. Setting
the year's GMV rescales the unpinned quarters and categories. An edit that cannot balance
(pinned cells already over the parent's total, or every sibling pinned and the sum off) is a
:class:`TargetPlanError` and changes nothing.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from storeops.common.errors import StoreopsError
from storeops.metrics.month_pace import expected_by

CENT = Decimal("0.01")
RATE_QUANTUM = Decimal("0.0001")
SHARE_QUANTUM = Decimal("0.000001")
MAX_GMV = Decimal("9999999999999.99")  # monthly_targets takes at most 15 digits
UNCATEGORISED = "未分类"

YEAR, QUARTER, MONTH, CATEGORY, MONTH_CATEGORY = (
    "year", "quarter", "month", "category", "month_category")
LEVELS = (YEAR, QUARTER, MONTH, CATEGORY, MONTH_CATEGORY)
BASES = ("last_year", "partial", "even")

Key = tuple[str, str, str]  # (level, period, category): ("month", "2027-03", "")


class TargetPlanError(StoreopsError, ValueError):
    pass


# --- input -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MonthFigures:
    """One closed month of history: its GMV, and its conversion rate and AOV where known."""

    gmv: Decimal
    conversion_rate: Decimal | None = None
    aov: Decimal | None = None


@dataclass(frozen=True)
class History:
    """Last year's figures (``months``: month number → figures, closed months only), the
    year before's GMV by month (``before``), last year's GMV by category (year and per
    month), the category names the store has (even split where no GMV), and the store's
    recent conversion rate and AOV (the fallback of a month without its own)."""

    months: Mapping[int, MonthFigures] = field(default_factory=dict)
    before: Mapping[int, Decimal] = field(default_factory=dict)
    categories: Mapping[str, Decimal] = field(default_factory=dict)
    month_categories: Mapping[int, Mapping[str, Decimal]] = field(default_factory=dict)
    category_names: Sequence[str] = ()
    recent_conversion: Decimal | None = None
    recent_aov: Decimal | None = None


# --- output ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    level: str
    period: str  # YYYY | YYYY-Qn | YYYY-MM
    category: str  # "" but for category cells
    gmv: Decimal
    share: Decimal | None = None  # of the parent's GMV, 6 places
    uv: int | None = None  # months only
    conversion_rate: Decimal | None = None
    aov: Decimal | None = None
    pinned: bool = False

    @property
    def key(self) -> Key:
        return (self.level, self.period, self.category)


@dataclass(frozen=True)
class Plan:
    year: int
    gmv: Decimal
    basis: str
    by_category: bool
    cells: Mapping[Key, Cell]
    notes: tuple[str, ...] = ()

    def cell(self, key: Key) -> Cell:
        try:
            return self.cells[key]
        except KeyError:
            raise TargetPlanError(f"the plan of {self.year} has no cell {describe(key)}",
                                  key="target_plan.no_cell", cell=describe(key),
                                  year=self.year) from None

    def level(self, level: str) -> list[Cell]:
        return [c for c in self.cells.values() if c.level == level]

    def categories(self) -> list[str]:
        return [c.category for c in self.level(CATEGORY)]

    def month_categories(self, month: str) -> list[Cell]:
        return [c for c in self.level(MONTH_CATEGORY) if c.period == month]


def describe(key: Key) -> str:
    level, period, category = key
    return f"{period} {category}".strip() if category else period


# --- keys and the tree -------------------------------------------------------------------------

def quarter_of(month: int) -> int:
    return (month - 1) // 3 + 1


def month_key(year: int, month: int) -> Key:
    return (MONTH, f"{year:04d}-{month:02d}", "")


def quarter_key(year: int, quarter: int) -> Key:
    return (QUARTER, f"{year:04d}-Q{quarter}", "")


def year_key(year: int) -> Key:
    return (YEAR, f"{year:04d}", "")


def parse_cell(year: int, text: str, category: str | None = None) -> Key:
    """The key of the cell a user names: ``2027`` (the year), ``2027-Q1``, ``2027-03``, and
    with ``category`` the category of the year or of that month."""
    value = text.strip().upper()
    cat = (category or "").strip()
    key: Key | None = None
    if value == f"{year:04d}":
        key = (CATEGORY, value, cat) if cat else year_key(year)
    elif len(value) == 7 and value.startswith(f"{year:04d}-Q") and value[6] in "1234" and not cat:
        key = quarter_key(year, int(value[6]))
    elif len(value) == 7 and value.startswith(f"{year:04d}-") and value[5:].isdigit() \
            and 1 <= int(value[5:]) <= 12:
        key = (MONTH_CATEGORY, value, cat) if cat else (MONTH, value, "")
    if key is None:
        raise TargetPlanError(
            f"cell {text!r}: name the year ({year}), a quarter ({year}-Q1) or a month "
            f"({year}-03) of the plan", key="target_plan.bad_cell", cell=text, year=year)
    return key


def parent_of(key: Key) -> Key | None:
    level, period, _ = key
    if level == YEAR:
        return None
    if level in (QUARTER, CATEGORY):
        return (YEAR, period[:4], "")
    if level == MONTH:
        return quarter_key(int(period[:4]), quarter_of(int(period[5:7])))
    return (MONTH, period, "")  # a month's category


# --- money ---------------------------------------------------------------------------------

def money(value: Any, what: str = "gmv") -> Decimal:
    """A GMV target: a finite Decimal ≥ 0 with at most two places, else a TargetPlanError."""
    try:
        number = Decimal(str(value).strip().replace(",", "").lstrip("¥￥"))
    except (InvalidOperation, ValueError):
        raise TargetPlanError(f"{what}: {value!r} is not an amount", key="target_plan.not_amount",
                              value=str(value)) from None
    if not number.is_finite() or number < 0:
        raise TargetPlanError(f"{what}: an amount ≥ 0, not {value!r}",
                              key="target_plan.negative", value=str(value))
    if number != number.quantize(CENT):
        raise TargetPlanError(f"{what}: money has at most two decimal places, not {value!r}",
                              key="target_plan.places", value=str(value))
    if number > MAX_GMV:
        raise TargetPlanError(f"{what}: at most {MAX_GMV}, not {value!r}",
                              key="target_plan.too_large", value=str(value))
    return number.quantize(CENT)


def allocate(total: Decimal, weights: Sequence[Decimal | int]) -> list[Decimal]:
    """``total`` (to the cent) in parts proportional to ``weights`` (evenly where they sum to
    zero), each to the cent, summing exactly to ``total`` (largest remainder)."""
    if not weights:
        return []
    cents = int((total / CENT).to_integral_value())
    fracs = [Fraction(w) if w > 0 else Fraction(0) for w in weights]
    whole = sum(fracs)
    if whole == 0:
        fracs, whole = [Fraction(1)] * len(weights), Fraction(len(weights))
    raw = [cents * f / whole for f in fracs]
    parts = [r.numerator // r.denominator for r in raw]
    left = cents - sum(parts)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += 1
    return [(Decimal(p) * CENT).quantize(CENT) for p in parts]


def distribute(parent: Key, total: Decimal, children: Sequence[Key],
               weights: Mapping[Key, Decimal], pins: Mapping[Key, Decimal]
               ) -> dict[Key, Decimal]:
    """The children's GMV: pinned ones as pinned, the rest sharing what is left by weight."""
    pinned = {k: pins[k] for k in children if k in pins}
    held = sum(pinned.values(), Decimal(0))
    free = [k for k in children if k not in pins]
    where = describe(parent)
    if held > total:
        raise TargetPlanError(
            f"{where}: the cells set by hand add up to {held}, more than its total {total}",
            key="target_plan.pinned_over", cell=where, pinned=f"{held:,.2f}",
            total=f"{total:,.2f}")
    if not free and children and held != total:
        raise TargetPlanError(
            f"{where}: every part is set by hand and they add up to {held}, not its total "
            f"{total}", key="target_plan.all_pinned", cell=where, pinned=f"{held:,.2f}",
            total=f"{total:,.2f}")
    out = dict(pinned)
    out.update(zip(free, allocate(total - held, [weights.get(k, Decimal(0)) for k in free]),
                   strict=True))
    return out


# --- last year's shares ----------------------------------------------------------------------

def month_weights(history: History, year: int) -> tuple[dict[int, Decimal], str, list[str]]:
    """(weight of each month 1..12, basis, notes) from last year's GMV; see the module doc."""
    known = {m: f.gmv for m, f in history.months.items() if 1 <= m <= 12 and f.gmv > 0}
    if not known:
        return {m: Decimal(1) for m in range(1, 13)}, "even", []
    if len(known) == 12:
        return dict(known), "last_year", []
    weights: dict[int, Decimal] = dict(known)
    notes: list[str] = []
    before = {m: v for m, v in history.before.items() if 1 <= m <= 12 and v > 0}
    days = {m: calendar.monthrange(year - 1, m)[1] for m in range(1, 13)}
    per_day = sum(known.values(), Decimal(0)) / sum(days[m] for m in known)
    both = [m for m in known if m in before]
    growth: Decimal | None = None
    if both:  # the months both years have
        growth = sum((known[m] for m in both), Decimal(0)) / sum(
            (before[m] for m in both), Decimal(0))
    elif before:  # none in common: the two years' GMV per day
        before_days = sum(calendar.monthrange(year - 2, m)[1] for m in before)
        growth = per_day / (sum(before.values(), Decimal(0)) / before_days)
    for m in range(1, 13):
        if m in known:
            continue
        if growth is not None and m in before:
            weights[m] = before[m] * growth
            notes.append(f"{year - 1}-{m:02d}: {year - 2}-{m:02d} × {growth:.4f}")
        else:
            weights[m] = per_day * days[m]
            notes.append(f"{year - 1}-{m:02d}: average per day × {days[m]}")
    return weights, "partial", notes


def category_weights(history: History) -> dict[str, Decimal]:
    """Last year's GMV by category (every named category, 0 where it sold nothing)."""
    weights = {name: Decimal(0) for name in history.category_names}
    for name, value in history.categories.items():
        weights[name] = max(Decimal(value), Decimal(0))
    return weights


def _rates(history: History, month: int) -> tuple[Decimal | None, Decimal | None]:
    figures = history.months.get(month)
    conv = figures.conversion_rate if figures else None
    aov = figures.aov if figures else None
    if not conv or not aov:
        conv, aov = history.recent_conversion, history.recent_aov
    if not conv or not aov:
        return None, None
    return (Decimal(conv).quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP) or None,
            Decimal(aov).quantize(CENT, rounding=ROUND_HALF_UP) or None)


def visitors(gmv: Decimal, conversion_rate: Decimal | None, aov: Decimal | None) -> int | None:
    """The UV a month's GMV needs at its conversion rate and AOV, half up to a visitor."""
    if not conversion_rate or not aov:
        return None
    return int((gmv / (conversion_rate * aov)).to_integral_value(rounding=ROUND_HALF_UP))


# --- building ------------------------------------------------------------------------------

def _build(year: int, gmv: Decimal, basis: str, categories: Sequence[str] | None,
           weights: Mapping[Key, Decimal], pins: Mapping[Key, Decimal],
           rates: Mapping[str, tuple[Decimal | None, Decimal | None]],
           notes: Sequence[str] = ()) -> Plan:
    """The whole tree, top down: pinned cells as pinned, the rest by ``weights``."""
    values: dict[Key, Decimal] = {year_key(year): gmv}
    ykey = year_key(year)
    quarters = [quarter_key(year, q) for q in range(1, 5)]
    values.update(distribute(ykey, gmv, quarters, weights, pins))
    for q, qkey in enumerate(quarters, start=1):
        months = [month_key(year, m) for m in range(3 * q - 2, 3 * q + 1)]
        values.update(distribute(qkey, values[qkey], months, weights, pins))
    if categories is not None:
        cats = [(CATEGORY, f"{year:04d}", c) for c in categories]
        values.update(distribute(ykey, gmv, cats, weights, pins))
        for m in range(1, 13):
            mkey = month_key(year, m)
            mcats = [(MONTH_CATEGORY, mkey[1], c) for c in categories]
            values.update(distribute(mkey, values[mkey], mcats, weights, pins))
    cells: dict[Key, Cell] = {}
    for key, value in values.items():
        if key[0] == YEAR:
            continue
        parent = parent_of(key)
        assert parent is not None
        total = values[parent]
        share = (value / total).quantize(SHARE_QUANTUM, rounding=ROUND_HALF_UP) if total else None
        cell = Cell(key[0], key[1], key[2], value, share, pinned=key in pins)
        if key[0] == MONTH:
            conv, aov = rates.get(key[1], (None, None))
            cell = replace(cell, conversion_rate=conv, aov=aov, uv=visitors(value, conv, aov))
        cells[key] = cell
    return Plan(year, gmv, basis, categories is not None, _ordered(cells), tuple(notes))


def _ordered(cells: Mapping[Key, Cell]) -> dict[Key, Cell]:
    rank = {level: i for i, level in enumerate(LEVELS)}
    return dict(sorted(cells.items(), key=lambda kv: (rank[kv[0][0]], kv[0][1])))


def plan(year: int, gmv: Any, history: History, *, by_category: bool = False,
         pins: Mapping[Key, Decimal] | None = None,
         keep_rates: Mapping[str, tuple[Decimal | None, Decimal | None]] | None = None) -> Plan:
    """Split the year's ``gmv`` by last year's shares. ``pins``: cells kept as they are (a
    re-plan keeps the cells set by hand); ``keep_rates``: conversion and AOV of months kept
    (pinned months of a re-plan)."""
    if not 2000 <= year <= 2100:
        raise TargetPlanError(f"year {year}: between 2000 and 2100",
                              key="target_plan.bad_year", year=year)
    total = money(gmv)
    by_month, basis, notes = month_weights(history, year)
    weights: dict[Key, Decimal] = {}
    for m, w in by_month.items():
        weights[month_key(year, m)] = w
        qkey = quarter_key(year, quarter_of(m))
        weights[qkey] = weights.get(qkey, Decimal(0)) + w
    categories: list[str] | None = None
    if by_category:
        cat_weights = category_weights(history)
        if not cat_weights:
            raise TargetPlanError("no categories to split by: the store's products have none",
                                  key="target_plan.no_categories")
        categories = sorted(cat_weights, key=lambda c: (-cat_weights[c], c))
        for c, w in cat_weights.items():
            weights[(CATEGORY, f"{year:04d}", c)] = w
        for m in range(1, 13):
            own = {c: Decimal(v) for c, v in history.month_categories.get(m, {}).items()
                   if c in cat_weights and v > 0}
            source = own if own else cat_weights
            for c in categories:
                weights[(MONTH_CATEGORY, month_key(year, m)[1], c)] = source.get(c, Decimal(0))
    rates = {month_key(year, m)[1]: _rates(history, m) for m in range(1, 13)}
    rates.update(keep_rates or {})
    kept = {k: v for k, v in (pins or {}).items() if k[0] != YEAR}
    if categories is None:
        kept = {k: v for k, v in kept.items() if k[0] in (QUARTER, MONTH)}
    else:
        kept = {k: v for k, v in kept.items() if k[0] in (QUARTER, MONTH) or k[2] in categories}
    return _build(year, total, basis, categories, weights, kept, rates, notes)


def _state(p: Plan) -> tuple[dict[Key, Decimal], dict[Key, Decimal],
                             dict[str, tuple[Decimal | None, Decimal | None]]]:
    weights = {k: c.gmv for k, c in p.cells.items()}
    pins = {k: c.gmv for k, c in p.cells.items() if c.pinned}
    rates = {c.period: (c.conversion_rate, c.aov) for c in p.level(MONTH)}
    return weights, pins, rates


def edit(p: Plan, key: Key, gmv: Any) -> Plan:
    """Set one cell's GMV (pinning it; the year: its total) and rebalance; see the module."""
    value = money(gmv)
    weights, pins, rates = _state(p)
    if key == year_key(p.year):
        return _build(p.year, value, p.basis, p.categories() if p.by_category else None,
                      weights, pins, rates, p.notes)
    p.cell(key)  # a cell of this plan
    pins[key] = value
    return _build(p.year, p.gmv, p.basis, p.categories() if p.by_category else None,
                  weights, pins, rates, p.notes)


def unpin(p: Plan, key: Key) -> Plan:
    """Let a cell set by hand follow its siblings again (its GMV stays until the next edit)."""
    cell = p.cell(key)
    cells = dict(p.cells)
    cells[key] = replace(cell, pinned=False)
    return replace(p, cells=cells)


def edit_rates(p: Plan, month: str, *, conversion_rate: Any = None, aov: Any = None,
               uv: Any = None) -> Plan:
    """Change a month's conversion rate and/or AOV (its UV follows), or its UV (its conversion
    rate follows, the AOV kept). The month's GMV does not move."""
    key = (MONTH, month, "")
    cell = p.cell(key)
    conv, avg = cell.conversion_rate, cell.aov
    try:
        if conversion_rate is not None:
            conv = Decimal(str(conversion_rate)).quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP)
        if aov is not None:
            avg = money(aov, "aov")
        if uv is not None:
            count = Decimal(str(uv))
            if count <= 0 or count != count.to_integral_value():
                raise TargetPlanError(f"uv {uv!r}: a whole number above 0",
                                      key="target_plan.bad_uv", value=str(uv))
            if not avg:
                raise TargetPlanError(f"{month}: set the AOV before the UV",
                                      key="target_plan.uv_needs_aov", month=month)
            conv = (cell.gmv / (count * avg)).quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError) as exc:
        if isinstance(exc, StoreopsError):
            raise
        raise TargetPlanError(f"{month}: not a number", key="target_plan.not_amount",
                              value=str(conversion_rate if conversion_rate is not None
                                        else aov if aov is not None else uv)) from None
    if conv is not None and not (Decimal(0) < conv <= 1):
        raise TargetPlanError(f"{month}: a conversion rate is above 0 and at most 100%, not "
                              f"{conv}", key="target_plan.bad_rate", month=month,
                              value=f"{conv * 100:.2f}%")
    if avg is not None and avg <= 0:
        raise TargetPlanError(f"{month}: AOV above 0", key="target_plan.bad_aov", month=month)
    cells = dict(p.cells)
    count_uv = int(Decimal(str(uv))) if uv is not None else visitors(cell.gmv, conv, avg)
    cells[key] = replace(cell, conversion_rate=conv, aov=avg, uv=count_uv)
    return replace(p, cells=cells)


# --- daily pace ----------------------------------------------------------------------------

def daily_targets(target: Decimal, days_in_month: int) -> list[Decimal]:
    """Each day's share of a month's GMV target: the steps of :func:`expected_by`, so that
    they add up to the target exactly and their running sum is the pace to date."""
    marks = [expected_by(target, days_in_month, n) for n in range(days_in_month + 1)]
    return [marks[n] - marks[n - 1] for n in range(1, days_in_month + 1)]


def to_dict(p: Plan) -> dict[str, Any]:
    """The plan as JSON-ready data with stable keys (money and rates as decimal strings)."""

    def text(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    def row(c: Cell) -> dict[str, Any]:
        out: dict[str, Any] = {"period": c.period, "gmv": text(c.gmv), "share": text(c.share),
                               "pinned": c.pinned}
        if c.category:
            out = {"category": c.category, **out}
        if c.level == MONTH:
            out.update({"uv": c.uv, "conversion_rate": text(c.conversion_rate),
                        "aov": text(c.aov)})
        return out

    out: dict[str, Any] = {
        "year": p.year, "gmv": text(p.gmv), "basis": p.basis, "notes": list(p.notes),
        "quarters": [row(c) for c in p.level(QUARTER)],
        "months": [row(c) for c in p.level(MONTH)],
    }
    if p.by_category:
        out["categories"] = [row(c) for c in p.level(CATEGORY)]
        out["month_categories"] = [row(c) for c in p.level(MONTH_CATEGORY)]
    return out
