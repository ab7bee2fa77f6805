"""Price protection (价保): which paid order lines saw a lower price within the store's window
after payment, and how much each may claim. Pure: values in, a report out.

Rules (domain reference §6):

- The window runs from the payment time for ``days`` days (7–15, the store's
  ``price_protection_days``), counted on the store's wall clock: a price change counts when
  ``paid_at < effective_at <= paid_at + days`` (store-local), and only once it has taken effect
  (``effective_at <= as_of``).
- A line claims once, against the lowest price in effect at any change inside its window:
  ``claim = paid amount − lowest price × qty``, i.e. (paid unit price − lowest price) × qty,
  exact in Decimal; a lowest price at or above what the buyer paid claims nothing (never
  negative). The paid amount is what the buyer paid for the line (after the seller's discount
  share), so a line bought below list price claims only what the later price undercuts.
- Cancelled and unpaid orders are not lines here: the caller passes paid lines only.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from storeops.common.errors import StoreopsError
from storeops.common.timeutil import DEFAULT_TIMEZONE, zone

MIN_DAYS, MAX_DAYS = 7, 15
CENT = Decimal("0.01")


class ProtectionError(StoreopsError, ValueError):
    pass


def check_days(days: int) -> int:
    """A protection window the rules allow: 7 to 15 days."""
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise ProtectionError(f"price protection days must be {MIN_DAYS} to {MAX_DAYS}, "
                              f"not {days}", key="promo_checks.days_range", days=days,
                              low=MIN_DAYS, high=MAX_DAYS)
    return days


@dataclass(frozen=True)
class PricePoint:
    """A SKU's price from ``at`` (aware) on."""

    sku: str
    at: datetime
    price: Decimal


@dataclass(frozen=True)
class PaidLine:
    """One line of a paid, not cancelled order."""

    order: str  # the platform order id
    line_no: int
    sku: str
    qty: int
    paid_amount: Decimal  # what the buyer paid for the line (yuan)
    paid_at: datetime  # aware

    @property
    def unit_paid(self) -> Decimal:
        return self.paid_amount / self.qty if self.qty else self.paid_amount


@dataclass(frozen=True)
class Claim:
    order: str
    line_no: int
    sku: str
    qty: int
    paid_at: datetime
    window_end: datetime  # the last moment a drop counts (store-local aware)
    paid_amount: Decimal
    unit_paid: Decimal  # paid amount / qty, to 0.01 for display
    lowest_price: Decimal
    lowest_at: datetime  # when the lowest price took effect
    amount: Decimal  # what the line may claim


@dataclass(frozen=True)
class ProtectionReport:
    days: int
    claims: tuple[Claim, ...]
    lines_checked: int
    orders: int  # orders with at least one claim
    lines: int  # lines that may claim
    amount: Decimal  # sum of the claims


def window_end(paid_at: datetime, days: int, tz: str | ZoneInfo = DEFAULT_TIMEZONE) -> datetime:
    """The end of a line's window: ``days`` days after payment on the store's wall clock."""
    tzinfo = zone(tz) if isinstance(tz, str) else tz
    # Aware arithmetic in one tzinfo is wall-clock arithmetic (a DST day keeps its 23/25 h).
    local = paid_at.astimezone(tzinfo)
    return (local.replace(tzinfo=None) + timedelta(days=days)).replace(tzinfo=tzinfo)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def _micros(moment: datetime) -> int:
    """An aware time as an integer: comparing these is exact and much cheaper than comparing
    aware datetimes of different zones (each comparison asks the zone for its offset)."""
    return (moment - _EPOCH) // _MICRO


class _RangeMin:
    """The lowest (price, time) over any run of a SKU's changes in time order, in O(1) a
    query after an O(n log n) build (a sparse table): a line's window costs the same however
    many changes it spans."""

    def __init__(self, points: list[tuple[datetime, Decimal]]) -> None:
        points = sorted(points, key=lambda p: p[0])
        self.times = [_micros(at) for at, _ in points]
        self.moments = [at for at, _ in points]
        level = [(price, self.times[i], i) for i, (_, price) in enumerate(points)]
        self.levels = [level]
        width = 1
        while 2 * width <= len(level):
            prev = self.levels[-1]
            self.levels.append([min(prev[i], prev[i + width])
                                for i in range(len(prev) - width)])
            width *= 2

    def lowest(self, after: datetime, until: datetime) -> tuple[Decimal, datetime] | None:
        """The lowest price of the changes in ``(after, until]`` and when it took effect (the
        earliest such change when the lowest price came more than once)."""
        lo = bisect.bisect_right(self.times, _micros(after))
        hi = bisect.bisect_right(self.times, _micros(until))
        if lo >= hi:
            return None
        k = (hi - lo).bit_length() - 1
        row = self.levels[k]
        price, _, index = min(row[lo], row[hi - (1 << k)])
        return price, self.moments[index]


def claims(lines: Iterable[PaidLine], changes: Iterable[PricePoint], days: int, *,
           tz: str | ZoneInfo = DEFAULT_TIMEZONE,
           as_of: datetime | None = None) -> ProtectionReport:
    """Every line of ``lines`` that may claim, with its amount, and the totals. ``lines`` is
    read once, as it comes (a query's rows may stream through)."""
    check_days(days)
    by_sku: dict[str, list[tuple[datetime, Decimal]]] = defaultdict(list)
    for change in changes:
        if as_of is None or change.at <= as_of:
            by_sku[change.sku].append((change.at, change.price))
    tables = {sku: _RangeMin(points) for sku, points in by_sku.items()}
    found: list[Claim] = []
    checked = 0
    for line in lines:
        checked += 1
        table = tables.get(line.sku)
        if table is None or line.qty <= 0:
            continue
        end = window_end(line.paid_at, days, tz)
        # Strictly after payment, up to and including the window's end.
        low = table.lowest(line.paid_at, end)
        if low is None:
            continue
        lowest, lowest_at = low
        amount = line.paid_amount - lowest * line.qty
        if amount <= 0:
            continue
        found.append(Claim(
            order=line.order, line_no=line.line_no, sku=line.sku, qty=line.qty,
            paid_at=line.paid_at, window_end=end, paid_amount=line.paid_amount,
            unit_paid=line.unit_paid.quantize(CENT), lowest_price=lowest, lowest_at=lowest_at,
            amount=amount))
    return report(days, found, checked)


def report(days: int, found: Sequence[Claim], checked: int) -> ProtectionReport:
    ordered = tuple(sorted(found, key=lambda c: (c.paid_at, c.order, c.line_no)))
    return ProtectionReport(days=days, claims=ordered, lines_checked=checked,
                            orders=len({c.order for c in ordered}), lines=len(ordered),
                            amount=sum((c.amount for c in ordered), Decimal("0")))


def report_to_json(r: ProtectionReport, tz: str | ZoneInfo = DEFAULT_TIMEZONE) -> dict:
    """The report as JSON: money as decimal strings, times ISO 8601 in the store's zone."""
    tzinfo = zone(tz) if isinstance(tz, str) else tz

    def t(moment: datetime) -> str:
        return moment.astimezone(tzinfo).isoformat()

    return {
        "days": r.days,
        "claims": [{
            "order": c.order, "line_no": c.line_no, "sku": c.sku, "qty": c.qty,
            "paid_at": t(c.paid_at), "window_end": t(c.window_end),
            "paid_amount": str(c.paid_amount.quantize(CENT)), "unit_paid": str(c.unit_paid),
            "lowest_price": str(c.lowest_price.quantize(CENT)), "lowest_at": t(c.lowest_at),
            "amount": str(c.amount.quantize(CENT)),
        } for c in r.claims],
        "totals": {"orders": r.orders, "lines": r.lines,
                   "amount": str(r.amount.quantize(CENT)), "lines_checked": r.lines_checked},
    }
