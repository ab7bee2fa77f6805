"""Small writes, and independent reads, sent together: PostgreSQL's pipeline mode for a
transaction's many short statements (an own-channel order batch reads seven things and
writes ten or so tables, a few rows each).

Inside :func:`deferring`, :func:`defer` keeps each write instead of running it; the kept
writes go, in the order they were made, in one pipeline (one round trip instead of one or
two per table) just before any other statement runs on the connection (an engine event, so
that every read sees them), before a COPY on it (:func:`flush`) and when the block ends
(before the commit). A refusal (a unique key …) raises SQLAlchemy's exception for it, as the
executemany would have. Elsewhere, and on SQLite (in process: no round trips to save),
:func:`defer` keeps nothing and the caller runs the write at once.

A COPY stays cheaper for a page of many rows (the JD sync's pages of 100 orders): writes of
more than :data:`MAX_ROWS` rows are not kept.

:func:`read_together` runs reads that do not depend on each other in one round trip.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

KEY = "storeops_pipelined_writes"  # Connection.info: the kept (sql, params) writes
HOLD = "storeops_pipelined_hold"  # Connection.info: set inside holding()
MAX_ROWS = 64


@contextmanager
def deferring(session: Session) -> Iterator[None]:
    """Keep the session's small writes (see the module) until they must go; all of them are
    sent when the block ends. On an error they are dropped (the transaction rolls back)."""
    conn = session.connection()
    if conn.dialect.name != "postgresql" or KEY in conn.info:
        yield
        return
    conn.info[KEY] = []
    try:
        yield
        flush(conn)
    finally:
        conn.info.pop(KEY, None)


@contextmanager
def holding(session: Session) -> Iterator[None]:
    """Statements run inside do not send the kept writes first: for a statement that neither
    reads them nor depends on them (a store's version bump in the middle of a batch)."""
    info = session.connection().info
    info[HOLD] = True
    try:
        yield
    finally:
        info.pop(HOLD, None)


def defer(conn: Connection, sql: str, params: Sequence[tuple[Any, ...]]) -> bool:
    """Keep the executemany of ``sql`` (the driver's SQL) over ``params`` if a
    :func:`deferring` block is open on ``conn`` and the rows are few: True when kept."""
    kept = conn.info.get(KEY)
    if kept is None or len(params) > MAX_ROWS:
        return False
    kept.append((sql, params))
    return True


def flush(conn: Connection) -> None:
    """Send the kept writes of ``conn``, in order, in one pipeline."""
    kept = conn.info.get(KEY)
    if not kept:
        return
    import psycopg
    from sqlalchemy.exc import DBAPIError

    writes = list(kept)
    kept.clear()
    raw = conn.connection.dbapi_connection
    try:
        with raw.pipeline(), raw.cursor() as cursor:
            for sql, params in writes:
                cursor.executemany(sql, params)
    except psycopg.Error as exc:
        raise DBAPIError.instance(_refused([sql for sql, _ in writes], exc), None, exc,
                                  psycopg.Error, dialect=conn.dialect) from exc


def _refused(sqls: Sequence[str], exc: Exception) -> str:
    """Which of a pipeline's statements the server refused, for the error: the first that
    writes to, or reads, the table its report names (a unique key's, say); else all of them,
    one per line (a pipeline's error does not say which statement it came from)."""
    table = getattr(getattr(exc, "diag", None), "table_name", None)
    if table:
        named = re.compile(rf'\b(?:INTO|UPDATE|FROM)\s+(?:\w+\.)?"?{re.escape(table)}\b"?',
                           re.IGNORECASE)
        for sql in sqls:
            if named.search(sql):
                return sql
    return "\n".join(dict.fromkeys(sqls))


# the driver's SQL of each statement read_together was given and its columns' result
# processors (a UTCDateTime comes out aware, as SQLAlchemy gives it), worked out once per
# statement (statements are built once, at import: compiling costs more than running one)
_COMPILED: dict[tuple[int, str], tuple[Any, str, list[tuple[int, Any]]]] = {}


def _driver_sql(statement: Any, conn: Connection) -> tuple[str, list[tuple[int, Any]]]:
    if isinstance(statement, str):
        return statement, []
    key = (id(statement), conn.dialect.name)
    found = _COMPILED.get(key)
    if found is None or found[0] is not statement:
        processors = [(i, p) for i, c in enumerate(statement.selected_columns)
                      if (p := c.type._cached_result_processor(conn.dialect, None)) is not None]
        found = _COMPILED[key] = (statement, str(statement.compile(dialect=conn.dialect)),
                                  processors)
    return found[1], found[2]


def _processed(rows: list[tuple[Any, ...]], processors: list[tuple[int, Any]]
               ) -> list[tuple[Any, ...]]:
    if not processors:
        return rows
    out = []
    for row in rows:
        values = list(row)
        for i, process in processors:
            values[i] = process(values[i])
        out.append(tuple(values))
    return out


def read_together(session: Session, reads: Sequence[tuple[Any, Mapping[str, Any]]]
                  ) -> list[list[tuple[Any, ...]]]:
    """The rows (plain tuples) of each (statement, parameters) of
    ``reads``: on PostgreSQL sent in one pipeline, in order, after the kept writes; elsewhere
    one after the other. A statement is a Core statement built once (named parameters, no
    expanding IN: use ``= ANY``; its columns' values come out as SQLAlchemy gives them) or
    the driver's SQL. Nothing of the ORM applies (no autoflush: flush first what the reads
    must see)."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return [[tuple(r) for r in (conn.exec_driver_sql(s, dict(p)) if isinstance(s, str)
                                    else conn.execute(s, dict(p)))] for s, p in reads]
    import psycopg
    from sqlalchemy.exc import DBAPIError

    flush(conn)
    raw = conn.connection.dbapi_connection
    sqls = [_driver_sql(s, conn) for s, _p in reads]
    cursors = [raw.cursor() for _ in reads]
    try:
        with raw.pipeline():
            for cursor, (sql, _), (_s, params) in zip(cursors, sqls, reads, strict=True):
                cursor.execute(sql, params)
        return [_processed(cursor.fetchall(), processors)
                for cursor, (_sql, processors) in zip(cursors, sqls, strict=True)]
    except psycopg.Error as exc:
        raise DBAPIError.instance(_refused([sql for sql, _ in sqls], exc), None, exc,
                                  psycopg.Error, dialect=conn.dialect) from exc
    finally:
        for cursor in cursors:
            cursor.close()


@event.listens_for(Engine, "before_cursor_execute")
def _kept_first(conn: Connection, cursor: Any, statement: str, parameters: Any,
                context: Any, executemany: bool) -> None:
    """Any statement run on a connection with kept writes: they go first (it may read
    them, or depend on them)."""
    if conn.info.get(KEY) and not conn.info.get(HOLD):
        flush(conn)
