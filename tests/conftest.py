"""Fixtures shared by the suite.

Database tests run twice: on a SQLite file and on PostgreSQL (a fresh schema per test on the
server named by STOREOPS_TEST_PG_URL, default the local ``test`` database). Where no PostgreSQL
answers, the PostgreSQL half skips and says why.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PG_URL = os.environ.get(
    "STOREOPS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SHARED = Path(__file__).resolve().parents[2] / "shared"
ONLINE_RETAIL = SHARED / "data" / "online_retail" / "online_retail.csv.gz"

_pg_state: dict[str, str | None] = {}


def _pg_unavailable() -> str | None:
    """None when PostgreSQL answers, else the reason to skip."""
    if "reason" not in _pg_state:
        try:
            import psycopg

            with psycopg.connect(PG_URL.replace("+psycopg", ""), connect_timeout=3):
                pass
            _pg_state["reason"] = None
        except Exception as exc:  # noqa: BLE001 - any failure means: no server to test on
            _pg_state["reason"] = f"PostgreSQL not reachable at {PG_URL}: {exc}"
    return _pg_state["reason"]


def _new_pg_schema() -> tuple[str, str]:
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    sep = "&" if "?" in PG_URL else "?"
    return schema, f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


def _drop_pg_schema(schema: str, url: str) -> None:
    import psycopg

    from storeops.db.engine import get_engine

    get_engine(url).dispose()
    get_engine.cache_clear()
    with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        reason = _pg_unavailable()
        if reason:
            pytest.skip(reason)
    return request.param


@pytest.fixture
def empty_db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database URL with no tables yet, on each backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'storeops.db'}"
        return
    schema, url = _new_pg_schema()
    try:
        yield url
    finally:
        _drop_pg_schema(schema, url)


# A database at the newest schema is made by running the migrations once per test process
# and copying the result: the migrations took 0.2-0.3 s on SQLite and 0.6-0.9 s on PostgreSQL
# per test. The migrations themselves are tested on empty_db_url (test_schema, test_bulk,
# test_cli_init).
_templates: dict[str, Any] = {}


def _sqlite_template(factory: pytest.TempPathFactory) -> Path:
    if "sqlite" not in _templates:
        from storeops.db.engine import get_engine
        from storeops.db.migrate import upgrade

        path = factory.mktemp("migrated") / "storeops.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        engine = get_engine(url)
        with engine.connect() as conn:  # everything in the main file, none in the WAL
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        _templates["sqlite"] = path
    return _templates["sqlite"]


def _migrated_sqlite(factory: pytest.TempPathFactory, tmp_path: Path) -> str:
    path = tmp_path / "storeops.db"
    shutil.copyfile(_sqlite_template(factory), path)
    return f"sqlite:///{path}"


def _pg_template() -> tuple[str, str, str] | None:
    """(schema name, schema-only dump, head revision) of a migrated schema; None without
    pg_dump (each test then runs the migrations)."""
    if "pg" not in _templates:
        _templates["pg"] = None
        if shutil.which("pg_dump"):
            from sqlalchemy import text

            from storeops.db.engine import get_engine
            from storeops.db.migrate import upgrade

            schema, url = _new_pg_schema()
            try:
                upgrade(url)
                with get_engine(url).connect() as conn:
                    head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                dump = subprocess.run(
                    ["pg_dump", "--schema-only", "--no-owner", "--no-privileges", "-n", schema,
                     PG_URL.replace("+psycopg", "")],
                    capture_output=True, text=True, check=True).stdout
            finally:
                _drop_pg_schema(schema, url)
            # psql meta-commands (\restrict …) are not SQL.
            sql = "\n".join(line for line in dump.splitlines() if not line.startswith("\\"))
            _templates["pg"] = (schema, sql, str(head))
    return _templates["pg"]


def _migrated_pg() -> tuple[str, str]:
    template = _pg_template()
    if template is None:
        from storeops.db.migrate import upgrade

        schema, url = _new_pg_schema()
        upgrade(url)
        return schema, url
    import psycopg

    old, sql, head = template
    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(re.sub(rf"\b{old}\b", schema, sql))  # no parameters: many statements
        conn.execute(f'INSERT INTO "{schema}".alembic_version VALUES (%s)', (head,))
    sep = "&" if "?" in PG_URL else "?"
    return schema, f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture
def db_url(backend: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[str]:
    """A database at the newest schema, on each backend."""
    if backend == "sqlite":
        yield _migrated_sqlite(tmp_path_factory, tmp_path)
        return
    schema, url = _migrated_pg()
    try:
        yield url
    finally:
        _drop_pg_schema(schema, url)


@pytest.fixture
def sqlite_db_url(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite database, for tests that need not run on both backends."""
    return _migrated_sqlite(tmp_path_factory, tmp_path)


@pytest.fixture
def seeded(db_url: str) -> tuple[str, int]:
    """(database URL, store id) of the store of ``web_seed``, on each backend."""
    from web_seed import seed_store

    return db_url, seed_store(db_url)


@pytest.fixture
def client(seeded: tuple[str, int]) -> Iterator[Any]:
    """A logged-out test client of the app over the seeded store."""
    from web_seed import PageClient

    from storeops.api.app import create_app

    # Sends the CSRF token of its page with unsafe requests, as the cockpit's pages do.
    with PageClient(create_app(seeded[0], secret_key="test-secret")) as c:
        yield c


@pytest.fixture
def server(sqlite_db_url: str) -> Iterator[str]:
    """Uvicorn serving a seeded store (web_seed.seed_store) on a free localhost port, in a
    thread: what the real-browser tests open."""
    from web_seed import seed_store, serving

    from storeops.api.app import create_app

    seed_store(sqlite_db_url)
    with serving(create_app(sqlite_db_url, secret_key="browser-test")) as url:
        yield url
