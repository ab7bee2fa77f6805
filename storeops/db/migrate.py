"""Create or upgrade a database to the newest schema with Alembic.

Alembic is imported only when a database has to be created or upgraded: every command checks
the schema first, and importing Alembic costs more than the check (a command's start-up time).
"""

from __future__ import annotations

import fcntl
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from storeops.config import sqlite_path
from storeops.db.engine import get_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"
_LOCK_KEY = 0x5709E0A5  # the advisory lock PostgreSQL upgraders take ("storeops")
_REVISION = re.compile(r"^(down_revision|revision)\s*=\s*['\"]?([\w]*)['\"]?", re.M)


def alembic_config(db_url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", db_url.replace("%", "%%"))
    return cfg


@contextmanager
def _one_upgrader(db_url: str) -> Iterator[None]:
    """Let one process at a time upgrade a SQLite file (two imports or workers started on a
    fresh database): SQLite's driver commits each DDL statement by itself, so without this a
    second upgrader trips over the first one's half-made schema.

    The lock is ``flock`` on a file of its own beside the database (``<db>.upgrade-lock``),
    never on the database file: closing any other descriptor of the database file drops every
    POSIX lock SQLite holds on it in this process ("How To Corrupt An SQLite Database File",
    §2.2)."""
    path = sqlite_path(db_url)
    if path is None or not path.parent.is_dir():
        yield
        return
    with open(path.with_name(path.name + ".upgrade-lock"), "ab") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(db_url: str) -> str:
    """Bring the schema to head; returns the revision it is at."""
    from alembic import command

    cfg = alembic_config(db_url)
    engine = get_engine(db_url)
    with _one_upgrader(db_url), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # PostgreSQL's DDL is transactional: a second upgrader waits here for the first
            # to commit, then finds the schema at head and does nothing.
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return head_revision()


@lru_cache(maxsize=1)
def head_revision() -> str:
    """The newest revision: the one no migration file names as its ``down_revision``.

    Read from the files' ``revision =`` lines, which Alembic itself writes, without importing
    Alembic; a test checks that this agrees with Alembic's own answer.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for key, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            (revisions if key == "revision" else parents).add(value)
    heads = sorted(revisions - parents)
    if len(heads) != 1:
        raise RuntimeError(f"migrations must have exactly one head, found {heads}")
    return heads[0]


def current_revision(db_url: str) -> str | None:
    """The database's Alembic revision; None on a database without storeops' tables."""
    with get_engine(db_url).connect() as conn:
        # One read of the version table: every command runs this check, and asking the
        # catalog first (inspect().has_table) costs more than the read.
        try:
            return conn.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalar()
        except DBAPIError:
            conn.rollback()  # PostgreSQL: the failed statement ended the transaction
            if inspect(conn).has_table(VERSION_TABLE):
                raise  # the table is there: the read failed for another reason
            return None


def is_current(db_url: str) -> bool:
    return current_revision(db_url) == head_revision()


_checked: set[str] = set()


def ensure_schema(db_url: str) -> None:
    """Upgrade the database to head once per process before a command uses it."""
    if db_url in _checked:
        return
    if not is_current(db_url):
        upgrade(db_url)
    _checked.add(db_url)
