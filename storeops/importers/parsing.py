"""Column-wise parsing of exact text into integers, money and times (Polars expressions).

Each ``parse_*`` is null where the text is not valid; the caller tells "empty" from "invalid"
by looking at the source column. Amounts go through ``storeops.common.money`` (Decimal, never
float), once per distinct text.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import polars as pl

from storeops.common.money import MoneyError, parse_decimal, to_cents, to_price_units

NULL_TIMES = ("0001-01-01 00:00:00", "0000-00-00 00:00:00")
MAX_DIGITS = 15  # whole digits; beyond that a cell is an id or garbage, not an amount


def _map_unique(series: pl.Series, convert: Callable[[Decimal], int | None]) -> pl.Series:
    """Parse each distinct text once with ``money.parse_decimal`` (exports repeat values a lot),
    so the rules are exactly those of ``storeops.common.money``; invalid → null."""
    mapping: dict[str, int | None] = {}
    for text in series.drop_nulls().unique().to_list():
        try:
            value = parse_decimal(text)
        except MoneyError:
            value = None
        if value is None or abs(value) >= 10**MAX_DIGITS:
            mapping[text] = None
        else:
            mapping[text] = convert(value)
    return series.replace_strict(mapping, default=None, return_dtype=pl.Int64)


def parse_cents(series: pl.Series) -> pl.Series:
    """Amounts as written in exports (``1,234.50``, ``¥12``) → integer cents, half up."""
    return _map_unique(series, to_cents)


def parse_price_e4(series: pl.Series) -> pl.Series:
    """Unit prices → integer 1/10000 units (``0.165`` → 1650)."""
    return _map_unique(series, to_price_units)


def parse_int(series: pl.Series) -> pl.Series:
    """Whole numbers; ``"3.0"`` (as spreadsheets write them) is 3, ``"3.5"`` is invalid."""
    return _map_unique(series, lambda d: int(d) if d == d.to_integral_value() else None)


# An id that Excel turned into a number and wrote back as text: ``2.9E+11``,
# ``1.00012E+11`` (digits lost for good) or ``536365.0``. Real ids never look like that, and
# two different ids can come out the same, so such a row is rejected, never imported.
EXCEL_NUMBER_ID = r"^\s*(?:[0-9]+(?:\.[0-9]*)?[eE][+-]?[0-9]+|[0-9]+\.0+)\s*$"
EXCEL_NUMBER_REASON = "this looks like an ID that Excel converted to a number; export it as text"


def excel_number_id(text: pl.Expr) -> pl.Expr:
    """True where an id cell looks like a number Excel wrote back (see ``EXCEL_NUMBER_ID``)."""
    return text.str.contains(EXCEL_NUMBER_ID).fill_null(False)


# How Excel writes a time back when it re-saves a file (year first, so never ambiguous;
# hours, months and days may have one digit, seconds may be gone): tried after the file's
# own format.
EXCEL_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S",
                      "%Y/%m/%d %H:%M")


def parse_local_time(col: str, fmt: str, tz: str) -> pl.Expr:
    """Wall-clock text in ``tz`` → aware UTC datetime; placeholder 0001-01-01 times → null.
    Text in ``fmt`` or as Excel re-saves times (``EXCEL_TIME_FORMATS``) is read."""
    text = pl.col(col)
    text = pl.when(text.is_in(list(NULL_TIMES))).then(None).otherwise(text)
    naive = pl.coalesce([text.str.strptime(pl.Datetime("us"), f, strict=False)
                         for f in (fmt, *(f for f in EXCEL_TIME_FORMATS if f != fmt))])
    return naive.dt.replace_time_zone(
        tz, ambiguous="earliest", non_existent="null"
    ).dt.convert_time_zone("UTC")


def parse_local_times(series: pl.Series, fmt: str, tz: str) -> pl.Series:
    """``parse_local_time`` of a column, once per distinct text: an order's lines share its
    time, so an export holds a few times fewer distinct times than rows."""
    frame = series.to_frame("text")
    distinct = frame.unique()
    if distinct.height * 2 > frame.height:
        return frame.select(parse_local_time("text", fmt, tz)).to_series().alias(series.name)
    parsed = distinct.with_columns(parse_local_time("text", fmt, tz).alias("time"))
    return frame.join(parsed, on="text", how="left", maintain_order="left",
                      nulls_equal=True).get_column("time").alias(series.name)


def parse_day(col: str, fmt: str = "%Y-%m-%d") -> pl.Expr:
    """A calendar day; also accepts ``2024/01/05`` and ``20240105`` as JD's tools write them."""
    text = pl.col(col).str.slice(0, 10)
    return pl.coalesce(
        text.str.strptime(pl.Date, fmt, strict=False),
        text.str.strptime(pl.Date, "%Y/%m/%d", strict=False),
        text.str.strptime(pl.Date, "%Y%m%d", strict=False),
    )


def cents_of(price_e4: pl.Expr, quantity: pl.Expr) -> pl.Expr:
    """Unit price × quantity in cents, rounded half up: ``money.line_amount_cents`` column-wise
    (a test holds the two to the same results)."""
    total = price_e4 * quantity
    magnitude = total.abs()
    cents = magnitude // 100 + (magnitude % 100 >= 50).cast(pl.Int64)
    return pl.when(total < 0).then(-cents).otherwise(cents)
