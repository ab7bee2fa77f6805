"""Fast bulk writes inside the caller's transaction.

The ORM costs ~10× a raw load for half a million rows, so imports and the simulator write
through the driver: ``executemany`` on SQLite, ``COPY`` on PostgreSQL. Values are Python
values as the models declare them (aware datetimes, dates, bools, ints, str); this module turns
them into what each backend stores, exactly as the ORM types would.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import polars as pl
from sqlalchemy import Boolean, Connection, Date, Table, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.schema import AddConstraint, DropConstraint

from storeops.common.errors import StoreopsError
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


# PostgreSQL checks a foreign key once per inserted row (~3 µs each, measured on order_lines);
# adding the constraint back validates the whole table in one join (~0.1 µs a row). Below these
# sizes the per-row checks are cheaper than re-validating what is already there.
ONCE_MIN_ROWS = 50_000
ONCE_MAX_EXISTING_PER_NEW = 20


def _existing_rows_estimate(conn: Connection, table: Table) -> float:
    # The planner's estimate: exact enough for a threshold and free, unlike count(*).
    found = conn.execute(
        text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:name)"),
        {"name": table.name},
    ).scalar()
    return max(float(found or 0), 0.0)


@contextmanager
def foreign_keys_checked_once(
    conn: Connection, table: Table, new_rows: int
) -> Iterator[bool]:
    """On PostgreSQL, for a load large next to the table, drop ``table``'s foreign keys for the
    block and add them back after it, which validates every row in one pass. It all happens in
    the caller's transaction: a row that breaks a key fails the whole load and the constraints
    come back with the rollback. The block holds an exclusive lock on ``table`` (readers wait
    until commit). Yields whether the keys were dropped."""
    fks = list(table.foreign_key_constraints)
    once = (
        conn.dialect.name == "postgresql" and bool(fks) and new_rows >= ONCE_MIN_ROWS
        and _existing_rows_estimate(conn, table) <= new_rows * ONCE_MAX_EXISTING_PER_NEW
    )
    if not once:
        yield False
        return
    for fk in fks:
        conn.execute(DropConstraint(fk))
    yield True
    for fk in fks:
        conn.execute(AddConstraint(fk))


def bulk_insert(
    conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]],
    *, expected_rows: int | None = None,
) -> int:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table``; returns the row count.
    Give ``expected_rows`` for large loads: PostgreSQL may then check foreign keys once
    (``foreign_keys_checked_once``) instead of row by row. A broken key raises SQLAlchemy's
    ``IntegrityError``, as the ORM would; a unique key PostgreSQL names, ``DuplicateKeyError``."""
    try:
        return _insert(conn, table, columns, rows, expected_rows or 0)
    except conn.dialect.loaded_dbapi.IntegrityError as exc:
        raise _integrity_error(table, exc) from exc


_PG_KEY = re.compile(r"Key \((?P<columns>.*)\)=\((?P<values>.*)\) already exists")


def _integrity_error(table: Table, exc: Exception) -> Exception:
    """SQLAlchemy's ``IntegrityError`` for a broken key, as the ORM would raise; a
    ``DuplicateKeyError`` naming the key when PostgreSQL says which one was there twice."""
    diag = getattr(exc, "diag", None)
    found = _PG_KEY.search(getattr(diag, "message_detail", None) or "")
    if found:
        cols, values = found["columns"], found["values"]
        return DuplicateKeyError(
            f"{table.name}: the key ({cols}) = ({values}) would be stored twice; nothing of"
            " this load was written", key="bulk.duplicate_key", table=table.name,
            columns=cols, values=values)
    return IntegrityError(f"bulk insert into {table.name}", None, exc)


FRAME_SLICE = 50_000  # rows turned into Python tuples at a time


# The page cache an index is built under. SQLite sizes CREATE INDEX's sorter by the cache:
# with the import's large cache it sorts one huge in-memory list (5.3 M order lines: 5.6 s for
# the product index), with the default 2 MB it merges small sorted runs (1.9 s).
INDEX_BUILD_CACHE_KIB = 2000


class DuplicateKeyError(StoreopsError):
    """Rows that a unique key allows once were written twice (a whole load fails with it)."""


@contextmanager
def sqlite_indexes_built_after(conn: Connection, table: Table, new_rows: int) -> Iterator[bool]:
    """On SQLite, for a load at least as large as what ``table`` holds, drop its indexes
    (those created with CREATE INDEX, unique ones included: order lines' (order, line) key is
    one since migration 0006; a UNIQUE written into the table stays) for the block and create
    them again after it: one sort instead of millions of b-tree inserts (5.3 M order lines:
    inserts 5.9 s -> 3.6 s, then 1.2 s for the unique index). In the caller's transaction: a
    rollback brings the indexes back, and readers (WAL) never see the table without them. A
    unique index that finds a key twice raises ``DuplicateKeyError`` naming the first one.
    Yields whether the indexes were dropped."""
    if conn.dialect.name != "sqlite" or new_rows < ONCE_MIN_ROWS:
        yield False
        return
    existing = conn.execute(text(f"SELECT max(rowid) FROM {table.name}")).scalar() or 0
    indexes = conn.execute(
        text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"
             " AND sql IS NOT NULL ORDER BY name"), {"t": table.name}).all()
    if existing > new_rows or not indexes:
        yield False
        return
    if not conn.connection.dbapi_connection.in_transaction:
        # the driver opens its transaction at the first DML only: DROP INDEX alone would
        # commit at once, and a failed load would leave the table without its indexes
        conn.execute(text(f"DELETE FROM {table.name} WHERE 0"))
    for name, _sql in indexes:
        conn.execute(text(f'DROP INDEX "{name}"'))
    yield True
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size=-{INDEX_BUILD_CACHE_KIB}")
    try:
        for _name, sql in indexes:
            try:
                conn.exec_driver_sql(sql)
            except IntegrityError as exc:
                raise _duplicate_key(conn, table, sql) from exc
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(before)}")


def _duplicate_key(conn: Connection, table: Table, index_sql: str) -> DuplicateKeyError:
    """The error for a unique index of ``table`` that could not be built (``index_sql``, its
    CREATE statement): its first key found twice (SQLite; the statement failed, the
    transaction goes on)."""
    cols = index_sql[index_sql.rindex("(") + 1:index_sql.rindex(")")].strip()
    found = conn.exec_driver_sql(
        f"SELECT {cols} FROM {table.name} GROUP BY {cols} HAVING count(*) > 1"
        f" ORDER BY {cols} LIMIT 1").first()
    values = ", ".join(str(v) for v in found) if found else "?"
    return DuplicateKeyError(
        f"{table.name}: the key ({cols}) = ({values}) would be stored twice; nothing of this"
        " load was written", key="bulk.duplicate_key", table=table.name, columns=cols,
        values=values)


def _frame_converters(table: Table, frame: pl.DataFrame, dialect: str) -> list[pl.Expr]:
    """Column-wise (Polars) what ``_converters`` does row by row: UTC datetimes as naive text
    (SQLite's format, which PostgreSQL also parses), and on SQLite dates as ISO text and
    booleans as 0/1. Half a million datetimes take milliseconds instead of a second."""
    exprs = []
    for name in frame.columns:
        col_type = table.c[name].type
        dtype = frame.schema[name]
        col = pl.col(name)
        if isinstance(col_type, UTCDateTime) and isinstance(dtype, pl.Datetime):
            if dtype.time_zone is None:
                raise ValueError(f"naive datetimes given to the UTCDateTime column {name}")
            col = col.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%d %H:%M:%S.%6f")
        elif dialect == "sqlite" and isinstance(col_type, Date) and dtype == pl.Date:
            col = col.dt.strftime("%Y-%m-%d")
        elif dialect == "sqlite" and isinstance(col_type, Boolean) and dtype == pl.Boolean:
            col = col.cast(pl.Int64)
        exprs.append(col.alias(name))
    return exprs


def bulk_insert_frame(
    conn: Connection, table: Table, frame: pl.DataFrame, *, expected_rows: int | None = None,
) -> int:
    """``bulk_insert`` of a Polars frame whose columns are named after ``table``'s (aware UTC
    datetimes, dates, booleans, integers, text), converted column-wise: on SQLite
    ``executemany`` of row slices, on PostgreSQL ``COPY`` of CSV text that Polars writes."""
    if frame.height == 0:
        return 0
    ready = frame.select(_frame_converters(table, frame, conn.dialect.name))
    col_list = ", ".join(ready.columns)
    raw = conn.connection.dbapi_connection
    try:
        if conn.dialect.name == "postgresql":
            rows = expected_rows or ready.height
            with foreign_keys_checked_once(conn, table, rows), raw.cursor() as cur:
                sql = f"COPY {table.name} ({col_list}) FROM STDIN WITH (FORMAT csv)"
                with cur.copy(sql) as copy:
                    for start in range(0, ready.height, FRAME_SLICE):
                        # quoted text, unquoted empty = NULL: "" stays an empty string
                        copy.write(ready.slice(start, FRAME_SLICE).write_csv(
                            include_header=False, quote_style="non_numeric", null_value=""))
            return ready.height
        # an integer column that holds one value (the store, the batch, the version) is
        # written into the statement: a value fewer to turn into Python and bind per row
        constants = _integer_constants(ready)
        if len(constants) == ready.width:  # a frame without columns has no rows
            constants.pop(ready.columns[0])
        bound = ready.drop(list(constants))
        values = ", ".join(str(constants[c]) if c in constants else "?" for c in ready.columns)
        sql = f"INSERT INTO {table.name} ({col_list}) VALUES ({values})"
        cur = raw.cursor()
        try:
            for start in range(0, ready.height, FRAME_SLICE):
                # tuples zipped from column lists: half the time of ``DataFrame.rows``
                part = bound.slice(start, FRAME_SLICE)
                cur.executemany(sql, zip(*(c.to_list() for c in part.get_columns()),
                                         strict=True))
        finally:
            cur.close()
        return ready.height
    except conn.dialect.loaded_dbapi.IntegrityError as exc:
        raise _integrity_error(table, exc) from exc


def _integer_constants(frame: pl.DataFrame) -> dict[str, int]:
    """Integer columns of ``frame`` that hold a single non-null value, with that value."""
    ints = [c for c, t in frame.schema.items() if t.is_integer()]
    if not ints or frame.height == 0:
        return {}
    stats = frame.select(
        *[pl.col(c).min().alias(f"min{i}") for i, c in enumerate(ints)],
        *[pl.col(c).max().alias(f"max{i}") for i, c in enumerate(ints)],
        *[pl.col(c).null_count().alias(f"nulls{i}") for i, c in enumerate(ints)],
    ).row(0, named=True)
    return {c: int(stats[f"min{i}"]) for i, c in enumerate(ints)
            if stats[f"nulls{i}"] == 0 and stats[f"min{i}"] == stats[f"max{i}"]}


def _insert(
    conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]],
    expected_rows: int,
) -> int:
    dialect = conn.dialect.name
    converted = _convert(rows, _converters(table, columns, dialect))
    raw = conn.connection.dbapi_connection
    col_list = ", ".join(columns)
    count = 0
    if dialect == "postgresql":
        with foreign_keys_checked_once(conn, table, expected_rows), raw.cursor() as cur:
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
