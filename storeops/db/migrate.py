"""Create or upgrade a database to the newest schema with Alembic."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from storeops.db.engine import get_engine

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(db_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", db_url.replace("%", "%%"))
    return cfg


def upgrade(db_url: str) -> str:
    """Bring the schema to head; returns the revision it is at."""
    cfg = alembic_config(db_url)
    engine = get_engine(db_url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return head_revision()


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return script.get_current_head() or ""


def current_revision(db_url: str) -> str | None:
    with get_engine(db_url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


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
