"""One 成交 rule: the plain-Python form the realtime view uses (deal_rule) gives every order the
deal day the analytics export's Polars form (deal_days) gives it, on every branch of the rule."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from storeops.common.timeutil import local_date, localize
from storeops.metrics import deal_days
from storeops.metrics.deal_rule import counted_at, deal_day

D = date.fromisoformat


def _at(text: str, tz: str) -> datetime:
    return localize(datetime.fromisoformat(text), tz).astimezone(UTC)


# (placed, paid, cod, status, cancelled, deal day): store-local times, as in test_deal_days.
CASES = [
    ("2024-06-01 23:40", "2024-06-01 23:50", False, "finished", None, D("2024-06-01")),
    ("2024-06-01 23:45", "2024-06-02 00:10", False, "finished", None, D("2024-06-02")),
    ("2024-06-01 20:00", None, True, "finished", None, D("2024-06-01")),  # cash on delivery
    ("2024-06-01 20:00", None, False, "wait_pay", None, None),  # unpaid
    ("2024-06-01 09:00", "2024-06-01 09:05", False, "cancelled", "2024-06-01 23:59", None),
    ("2024-06-01 09:00", "2024-06-01 09:05", False, "cancelled", "2024-06-02 00:01",
     D("2024-06-01")),  # cancelled on a later day: stays
    ("2024-06-01 09:00", "2024-06-01 09:05", False, "cancelled", None, None),  # time unknown
    ("2024-06-01 20:00", None, True, "cancelled", "2024-06-01 21:00", None),  # COD refused
    ("2024-06-01 20:00", None, True, "cancelled", "2024-06-03 08:00", D("2024-06-01")),
    ("2024-05-30 10:00", "2024-06-01 00:00", False, "wait_stock_out", None, D("2024-06-01")),
]


@pytest.mark.parametrize("tz", ["Asia/Shanghai", "America/New_York"])
def test_python_and_polars_forms_of_the_rule_agree(tz: str) -> None:
    def iso(text: str | None) -> str | None:
        return _at(text, tz).strftime("%Y-%m-%d %H:%M:%S.%f") if text else None

    frame = pl.DataFrame({
        "placed_date": [local_date(_at(c[0], tz), tz) for c in CASES],
        "paid_at": [iso(c[1]) for c in CASES],
        "cod": [int(c[2]) for c in CASES],
        "status": [c[3] for c in CASES],
        "cancelled_at": [iso(c[4]) for c in CASES],
    }, schema_overrides={"paid_at": pl.Utf8, "cancelled_at": pl.Utf8})
    polars_days = deal_days.with_deal_date(frame, tz)["deal_date"].to_list()
    python_days = [
        deal_day(placed_date=local_date(_at(placed, tz), tz),
                 paid_at=_at(paid, tz) if paid else None,
                 cancelled_at=_at(cancelled, tz) if cancelled else None,
                 cod=cod, status=status, tz=tz)
        for placed, paid, cod, status, cancelled, _ in CASES
    ]
    expected = [c[5] for c in CASES]
    assert python_days == expected
    assert polars_days == expected


def test_a_deal_counts_at_payment_and_cash_on_delivery_at_placing() -> None:
    placed, paid = datetime(2024, 6, 1, 1, tzinfo=UTC), datetime(2024, 6, 1, 2, tzinfo=UTC)
    assert counted_at(placed_at=placed, paid_at=paid, cod=False) == paid
    assert counted_at(placed_at=placed, paid_at=None, cod=True) == placed
    assert counted_at(placed_at=placed, paid_at=None, cod=False) is None
