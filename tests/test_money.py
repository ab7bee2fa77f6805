from decimal import Decimal

import pytest

from storeops.common.money import (
    MoneyError,
    allocate_cents,
    format_money,
    from_cents,
    line_amount_cents,
    parse_decimal,
    to_cents,
    to_price_units,
)


def test_parse_decimal_reads_export_formats():
    assert parse_decimal("1,234.50") == Decimal("1234.50")
    assert parse_decimal(" ¥12 ") == Decimal("12")
    assert parse_decimal("") is None
    with pytest.raises(MoneyError, match="not a number"):
        parse_decimal("12元")
    with pytest.raises(MoneyError):
        parse_decimal("NaN")


def test_cents_round_half_up_and_back():
    assert to_cents(Decimal("0.005")) == 1
    assert to_cents(Decimal("-0.005")) == -1
    assert from_cents(12345) == Decimal("123.45")


def test_three_decimal_unit_price_keeps_its_precision():
    assert to_price_units(Decimal("0.165")) == 1650
    assert line_amount_cents(1650, 3) == 50  # 0.495 → 0.50
    assert line_amount_cents(1650, -3) == -50


@pytest.mark.parametrize(
    "total,weights", [(100, [1, 1, 1]), (-7, [3, 3, 1]), (1, [0, 0]), (99999, [123, 456, 789])]
)
def test_allocation_never_creates_or_loses_a_cent(total, weights):
    parts = allocate_cents(total, weights)
    assert sum(parts) == total
    assert len(parts) == len(weights)


def test_allocation_is_pro_rata():
    assert allocate_cents(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate_cents(1000, [300, 100]) == [750, 250]


def test_format_money_uses_the_store_currency():
    assert format_money(123456, "CNY") == "¥1,234.56"
    assert format_money(50, "GBP") == "£0.50"
    assert format_money(None) == "—"
