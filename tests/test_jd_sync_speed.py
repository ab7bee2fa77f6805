"""The JD sync's fast paths read exactly what the general ones read (issue 7, speed)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from storeops.connectors.jd.mapping import parse_jd_time, parse_money
from storeops.connectors.jd.signing import CHINA


@pytest.mark.parametrize("text", [
    "2026-12-04 08:01:30", "2026-01-01 00:00:00", "2024-02-29 23:59:59", "1992-01-01 00:00:00",
])
def test_a_plain_china_time_is_read_as_the_time_zone_reads_it(text: str) -> None:
    expected = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)
    got = parse_jd_time(text)
    assert got == expected and got.tzinfo is UTC
    # 2026-12-04 08:01:30 in Beijing is 00:01:30 UTC (8 hours ahead)
    if text == "2026-12-04 08:01:30":
        assert got == datetime(2026, 12, 4, 0, 1, 30, tzinfo=UTC)


def test_a_time_from_chinas_daylight_saving_years_keeps_its_offset() -> None:
    # 1991-07-01 12:00 was daylight saving time in China (UTC+9): 03:00 UTC, not 04:00
    assert parse_jd_time("1991-07-01 12:00:00") == datetime(1991, 7, 1, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2026-02-30 00:00:00", "2026-13-01 08:00:00",
                                  "2026-12-04 24:00:00", "2026-12-04 08:01:3x"])
def test_an_impossible_time_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a time"):
        parse_jd_time(text)


@pytest.mark.parametrize(("text", "amount"), [
    ("199.00", Decimal("199.00")), ("0", Decimal("0")), ("12.5", Decimal("12.5")),
    ("99999999.99", Decimal("99999999.99")), ("1,299.00", Decimal("1299.00")),
    (" 3.10 ", Decimal("3.10")), ("100000000.00", Decimal("100000000")),
])
def test_plain_amounts_read_as_before(text: str, amount: Decimal) -> None:
    assert parse_money(text) == amount


@pytest.mark.parametrize("text", ["-1.00", "1.005", "100000000.01", "abc", "NaN", "1.2.3"])
def test_amounts_that_are_not_money_are_still_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_money(text)
