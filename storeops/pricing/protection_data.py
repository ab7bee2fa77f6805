"""Price protection (价保) over a store's data: its paid orders and its price changes (the
``price_changes`` table, or a changes file), bounded so that no request can ask for an
unbounded amount of work.

The changes file (CSV, or YAML/JSON) has one row per change: ``sku``, ``effective_at`` (ISO
8601; a time without an offset is store-local) and ``price`` (the new list price, yuan), e.g.::

    sku,effective_at,price
    1001,2026-11-05 10:00,179.00

or ``changes: [{sku: "1001", effective_at: "2026-11-05T10:00", price: "179.00"}]``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from storeops.catalog.models import Product
from storeops.common.errors import StoreopsError, Term
from storeops.common.money import from_cents, parse_decimal
from storeops.common.timeutil import day_bounds_utc, local_date, utcnow, zone
from storeops.metrics.periods import PeriodError, check_day
from storeops.orders.models import Order, OrderLine
from storeops.orders.states import OrderStatus
from storeops.pricing.check_files import csv_rows, is_csv, read_text, structured
from storeops.pricing.models import PriceChange, PricingSettings
from storeops.pricing.protection import (
    PaidLine,
    PricePoint,
    ProtectionError,
    ProtectionReport,
    check_days,
    claims,
)

# The longest payment period one request may cover, in days, and the default one.
MAX_RANGE_DAYS = 92
DEFAULT_RANGE_DAYS = 30
MAX_SKUS = 200  # SKUs one request may name
MAX_LINES = 300_000  # order lines one request may read (narrow the period or the SKUs)
MAX_CHANGES_ROWS = 100_000


@dataclass(frozen=True)
class Period:
    first: date
    last: date


def store_days(session: Session, store_id: int) -> int:
    """The store's protection window (``pricing_settings``; 7 when not set)."""
    settings = session.get(PricingSettings, store_id)
    return settings.price_protection_days if settings is not None else 7


def period_of(first: date | None, last: date | None, today: date) -> Period:
    """The payment days asked for: by default the 30 days up to today; at most 92 days."""
    last = last or (first + timedelta(days=DEFAULT_RANGE_DAYS - 1) if first else today)
    first = first or last - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    for day in (first, last):
        check_day(day)
    if first > last:
        raise PeriodError(f"the period starts after it ends: {first} > {last}",
                          key="period.reversed", first=first, last=last)
    length = (last - first).days + 1
    if length > MAX_RANGE_DAYS:
        raise ProtectionError(f"the period {first}..{last} is {length} days long: price "
                              f"protection looks at most {MAX_RANGE_DAYS} days at a time",
                              key="promo_checks.period_too_long", first=first, last=last,
                              length=length, limit=MAX_RANGE_DAYS)
    return Period(first, last)


def store_report(session: Session, store_id: int, tz: str, *, first: date | None = None,
                 last: date | None = None, skus: Sequence[str] = (), days: int | None = None,
                 changes: Sequence[PricePoint] | None = None,
                 as_of: datetime | None = None,
                 max_lines: int = MAX_LINES) -> ProtectionReport:
    """Claims of the store's orders paid on store-local days ``first..last`` (default the last
    30 days), of ``skus`` (default all), against ``changes`` (default the ``price_changes``
    rows)."""
    as_of = as_of or utcnow()
    if len(skus) > MAX_SKUS:
        raise ProtectionError(f"{len(skus)} SKUs: at most {MAX_SKUS} at a time",
                              key="promo_checks.too_many_skus", count=len(skus),
                              limit=MAX_SKUS)
    if skus:
        known = set(session.scalars(select(Product.platform_sku_id).where(
            Product.store_id == store_id, Product.platform_sku_id.in_(list(skus)))))
        unknown = [s for s in skus if s not in known]
        if unknown:
            raise ProtectionError(f"unknown SKU {', '.join(unknown[:5])}",
                                  key="promo_checks.unknown_sku", sku=", ".join(unknown[:5]))
    period = period_of(first, last, local_date(as_of, tz))
    days = check_days(days if days is not None else store_days(session, store_id))
    start, end = day_bounds_utc(period.first, period.last, tz)
    # A change counts up to `days` after a payment (one more day for a DST day's extra hour).
    changes_end = end + timedelta(days=days + 1)
    if changes is None:
        q = (select(Product.platform_sku_id, PriceChange.effective_at, PriceChange.new_price_cents)
             .join(Product, Product.id == PriceChange.product_id)
             .where(PriceChange.store_id == store_id, PriceChange.effective_at > start,
                    PriceChange.effective_at <= changes_end))
        if skus:
            q = q.where(Product.platform_sku_id.in_(list(skus)))
        changes = [PricePoint(sku, at, from_cents(cents))
                   for sku, at, cents in session.execute(q)]
    else:
        changes = [c for c in changes if start < c.at <= changes_end
                   and (not skus or c.sku in skus)]
    changed = sorted({c.sku for c in changes})
    if not changed:
        return claims([], [], days, tz=tz, as_of=as_of)

    read = [0]

    def paid_lines() -> Iterator[PaidLine]:
        # Only lines of SKUs whose price changed can claim: those, a slice of SKUs at a time,
        # streamed (the rule reads each line once and keeps only the claims).
        for i in range(0, len(changed), 500):
            q = (select(Order.platform_order_id, OrderLine.line_no, Product.platform_sku_id,
                        OrderLine.quantity, OrderLine.amount_cents, Order.paid_at)
                 .join(Order, Order.id == OrderLine.order_id)
                 .join(Product, Product.id == OrderLine.product_id)
                 .where(Order.store_id == store_id, Order.paid_at.is_not(None),
                        Order.paid_at >= start, Order.paid_at < end,
                        Order.status != OrderStatus.CANCELLED.value,
                        Order.cancelled_at.is_(None),
                        or_(Order.deleted.is_(False), Order.deleted.is_(None)),
                        Product.platform_sku_id.in_(changed[i:i + 500])))
            for order, line_no, sku, qty, cents, paid_at in session.execute(
                    q.execution_options(yield_per=2000)):
                read[0] += 1
                if read[0] > max_lines:
                    raise ProtectionError(
                        f"more than {max_lines} order lines in {period.first}..{period.last}: "
                        "choose a shorter period or fewer SKUs",
                        key="promo_checks.too_many_lines", limit=max_lines,
                        first=period.first, last=period.last)
                yield PaidLine(order, line_no, sku, qty, from_cents(cents), paid_at)

    return claims(paid_lines(), changes, days, tz=tz, as_of=as_of)


# --- the changes file --------------------------------------------------------------------------

def _bad(source: str, row: int | str, field: str, word: str, english: str,
         value: Any = "") -> ProtectionError:
    """A bad changes file: the file, row and field, what is wrong (a word of the catalogs,
    ``errors.terms.promo_checks.<word>``) and the value found."""
    problem = Term(english, f"promo_checks.{word}")
    return ProtectionError(f"{source}, row {row}, {field}: {english}: {value}",
                           key="promo_checks.changes_bad", source=source, row=row,
                           field=field, problem=problem, value=str(value)[:100])


def parse_time(text: Any, tz: str, source: str, row: int | str, field: str) -> datetime:
    value = str(text or "").strip()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _bad(source, row, field, "not_time",
                   "not a time (ISO 8601, e.g. 2026-11-05 10:00)", value) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone(tz))


def parse_changes(rows: Sequence[Any], tz: str, source: str, *,
                  first_row: int = 1) -> list[PricePoint]:
    out = []
    if len(rows) > MAX_CHANGES_ROWS:
        raise _bad(source, len(rows), "rows", "too_many_rows", "too many rows",
                   f"{len(rows)} > {MAX_CHANGES_ROWS}")
    for n, item in enumerate(rows, first_row):
        if not isinstance(item, dict):
            raise _bad(source, n, "row", "not_row", "expected sku, effective_at and price",
                       item)
        sku = str(item.get("sku") or "").strip()
        if not sku:
            raise _bad(source, n, "sku", "missing", "missing")
        moment = parse_time(item.get("effective_at"), tz, source, n, "effective_at")
        try:
            price = parse_decimal(item.get("price") if item.get("price") is None
                                  else str(item.get("price")))
        except StoreopsError:
            price = None
        if price is None or price < 0:
            raise _bad(source, n, "price", "not_price", "not a price", item.get("price"))
        out.append(PricePoint(sku, moment, price))
    return out


def load_changes(path: Path, tz: str) -> list[PricePoint]:
    """The changes of a CSV, YAML or JSON file (see the module's doc)."""
    source = str(path)
    text = read_text(path)
    if is_csv(path):
        header, rows = csv_rows(text)
        missing = {"sku", "effective_at", "price"} - set(header)
        if missing:
            raise _bad(source, 1, ", ".join(sorted(missing)), "column_missing",
                       "column missing")
        return parse_changes(rows, tz, source, first_row=2)
    data = structured(path, text)
    rows = data.get("changes") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise _bad(source, 0, "changes", "not_list", "expected a list of changes")
    return parse_changes(rows, tz, source)
