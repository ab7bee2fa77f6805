"""Fast bulk writes inside the caller's transaction.

The ORM costs ~10× a raw load for half a million rows, so imports and the simulator write
through the driver: ``executemany`` on SQLite, ``COPY`` on PostgreSQL. Values are Python
values as the models declare them (aware datetimes, dates, bools, ints, str); this module turns
them into what each backend stores, exactly as the ORM types would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Boolean, Connection, Date, Table

from storeops.db.types import UTCDateTime

Converter = Callable[[Any], Any]


def _utc_naive(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTCDateTime column")
    return value.astimezone(UTC).replace(tzinfo=None)


def _sqlite_datetime(value: datetime | None) -> str | None:
    naive = _utc_naive(value)
    return None if naive is None else naive.strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _sqlite_bool(value: bool | None) -> int | None:
    return None if value is None else int(bool(value))


def _converters(table: Table, columns: Sequence[str], dialect: str) -> list[Converter | None]:
    result: list[Converter | None] = []
    for name in columns:
        col_type = table.c[name].type
        if isinstance(col_type, UTCDateTime):
            result.append(_sqlite_datetime if dialect == "sqlite" else _utc_naive)
        elif dialect == "sqlite" and isinstance(col_type, Date):
            result.append(_sqlite_date)
        elif dialect == "sqlite" and isinstance(col_type, Boolean):
            result.append(_sqlite_bool)
        else:
            result.append(None)
    return result


def _convert(rows: Iterable[Sequence[Any]], converters: list[Converter | None]):
    active = [(i, f) for i, f in enumerate(converters) if f is not None]
    if not active:
        yield from rows
        return
    for row in rows:
        out = list(row)
        for i, f in active:
            out[i] = f(out[i])
        yield out


def bulk_insert(
    conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table``; returns the row count."""
    dialect = conn.dialect.name
    converted = _convert(rows, _converters(table, columns, dialect))
    raw = conn.connection.dbapi_connection
    col_list = ", ".join(columns)
    count = 0
    if dialect == "postgresql":
        with raw.cursor() as cur:
            with cur.copy(f"COPY {table.name} ({col_list}) FROM STDIN") as copy:
                for row in converted:
                    copy.write_row(row)
                    count += 1
        return count
    marks = ", ".join("?" for _ in columns)
    cur = raw.cursor()
    try:
        batch: list[Sequence[Any]] = []
        for row in converted:
            batch.append(row)
            if len(batch) >= 50_000:
                cur.executemany(f"INSERT INTO {table.name} ({col_list}) VALUES ({marks})", batch)
                count += len(batch)
                batch = []
        if batch:
            cur.executemany(f"INSERT INTO {table.name} ({col_list}) VALUES ({marks})", batch)
            count += len(batch)
    finally:
        cur.close()
    return count
