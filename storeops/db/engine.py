"""Engines and sessions: SQLite in WAL mode by default, PostgreSQL through psycopg 3."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError, OperationalError

from storeops.common.errors import StoreopsError

if TYPE_CHECKING:
    # The ORM is imported by the first session, not with the engine: a command that reads
    # with Core only (storeops kpi) starts ~40 ms sooner without it.
    from sqlalchemy.orm import Session, sessionmaker

BUSY_TIMEOUT_MS = 10_000
# How long an import waits for another import into the same SQLite file to finish.
ENV_IMPORT_WAIT = "STOREOPS_IMPORT_WAIT_SECONDS"
DEFAULT_IMPORT_WAIT_S = 600
# A pooled PostgreSQL connection is pinged before use only when it sat idle this long: a busy
# server's connections go back to work within milliseconds, and a ping on each checkout
# (pool_pre_ping) cost one round trip per transaction. A connection the server dropped while
# in use fails its transaction once, and SQLAlchemy then discards the pool's older connections.
PING_AFTER_IDLE_S = 1.0


class DatabaseBusyError(StoreopsError):
    """Another writer held the database for longer than this command would wait."""


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.close()


def _checked_in(_dbapi_conn, record) -> None:  # noqa: ANN001
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_conn, record, _proxy) -> None:  # noqa: ANN001
    """Pessimistic disconnect handling for connections that sat idle (the server may have
    ended them meanwhile: a restart, idle timeouts); DisconnectionError makes the pool
    discard the connection and check out another (SQLAlchemy's documented recipe)."""
    if getattr(dbapi_conn, "closed", False) or getattr(dbapi_conn, "broken", False):
        raise DisconnectionError("connection closed")
    since = record.info.get("idle_since")
    if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
        return  # fresh from connect, or back from work a moment ago
    try:
        cur = dbapi_conn.cursor()
        try:
            cur.execute("SELECT 1")
        finally:
            cur.close()
        dbapi_conn.rollback()  # the ping's implicit transaction ends here
    except Exception as exc:
        raise DisconnectionError(f"connection dropped while idle: {exc}") from exc


@lru_cache(maxsize=16)
def get_engine(db_url: str) -> Engine:
    """One engine per URL for the life of the process."""
    if db_url.startswith("sqlite"):
        engine = create_engine(db_url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(db_url)
        event.listen(engine, "checkin", _checked_in)
        event.listen(engine, "checkout", _ping_if_idle)
    return engine


def session_factory(db_url: str) -> sessionmaker[Session]:
    return _sessionmaker(get_engine(db_url))


@lru_cache(maxsize=16)
def _sessionmaker(engine: Engine) -> sessionmaker[Session]:
    # One per engine: each sessionmaker makes a Session subclass whose event set-up costs
    # about half a millisecond, on every request that opens a session.
    from sqlalchemy.orm import sessionmaker

    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def unit_of_work(db_url: str) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises."""
    session = session_factory(db_url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def import_wait_seconds() -> float:
    raw = os.environ.get(ENV_IMPORT_WAIT, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_IMPORT_WAIT_S
    except ValueError:
        value = DEFAULT_IMPORT_WAIT_S
    return value if value >= 0 else DEFAULT_IMPORT_WAIT_S


@contextmanager
def import_transaction(db_url: str, *, foreign_keys: bool = True) -> Iterator[Session]:
    """``unit_of_work`` for a writer that holds the database a while (an import).

    On SQLite it takes the write lock first, waiting up to ``STOREOPS_IMPORT_WAIT_SECONDS``
    (default 600) for another import to commit: two imports run one after the other instead
    of failing half-way, and one that waits too long ends with a clear error. (PostgreSQL
    writers wait on the rows they touch; the import locks its store's row.)

    ``foreign_keys=False``: the writer takes every key it writes from rows it read in this
    transaction, so SQLite need not check one per inserted row (a quarter of a bulk insert);
    the checks are on again before the connection goes back to the pool. No effect on
    PostgreSQL.
    """
    with unit_of_work(db_url) as session:
        conn = session.connection()
        keys_off = not foreign_keys and conn.dialect.name == "sqlite"
        if not keys_off:
            _take_write_lock(conn)
            yield session
            return
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction
        try:
            _take_write_lock(conn)
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:  # outside the transaction now, where the pragma takes effect
            session.connection().exec_driver_sql("PRAGMA foreign_keys=ON")


def _take_write_lock(conn: Connection) -> None:
    if conn.dialect.name != "sqlite":
        return
    wait_ms = int(import_wait_seconds() * 1000)
    conn.exec_driver_sql(f"PRAGMA busy_timeout={wait_ms}")
    try:
        # an UPDATE that changes nothing still starts a write transaction
        conn.exec_driver_sql("UPDATE stores SET id = id WHERE 0")
    except OperationalError as exc:
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise
        raise DatabaseBusyError(
            f"the database is busy: another import has been writing to it for more"
            f" than {wait_ms // 1000} s ({ENV_IMPORT_WAIT}); try again when it is done",
            key="db.busy", seconds=f"{wait_ms / 1000:g}", setting=ENV_IMPORT_WAIT,
        ) from exc
    finally:
        conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
