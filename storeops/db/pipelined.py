"""Small writes sent together: PostgreSQL's pipeline mode for a transaction's many short
executemany writes (an own-channel order batch writes ten or so tables, a few rows each).

Inside :func:`deferring`, :func:`defer` keeps each write instead of running it; the kept
writes go, in the order they were made, in one pipeline (one round trip instead of one or
two per table) just before any other statement runs on the connection (an engine event, so
that every read sees them), before a COPY on it (:func:`flush`) and when the block ends
(before the commit). A refusal (a unique key …) raises SQLAlchemy's exception for it, as the
executemany would have. Elsewhere, and on SQLite (in process: no round trips to save),
:func:`defer` keeps nothing and the caller runs the write at once.

A COPY stays cheaper for a page of many rows (the JD sync's pages of 100 orders): writes of
more than :data:`MAX_ROWS` rows are not kept.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

KEY = "storeops_pipelined_writes"  # Connection.info: the kept (sql, params) writes
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
    sql = writes[0][0]
    try:
        with raw.pipeline(), raw.cursor() as cursor:
            for sql, params in writes:
                cursor.executemany(sql, params)
    except psycopg.Error as exc:
        raise DBAPIError.instance(sql, None, exc, psycopg.Error,
                                  dialect=conn.dialect) from exc


@event.listens_for(Engine, "before_cursor_execute")
def _kept_first(conn: Connection, cursor: Any, statement: str, parameters: Any,
                context: Any, executemany: bool) -> None:
    """Any statement run on a connection with kept writes: they go first (it may read
    them, or depend on them)."""
    if conn.info.get(KEY):
        flush(conn)
