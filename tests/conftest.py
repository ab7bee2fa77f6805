"""Fixtures shared by the suite.

Database tests run twice: on a SQLite file and on PostgreSQL (a fresh schema per test on the
server named by STOREOPS_TEST_PG_URL, default the local ``test`` database). Where no PostgreSQL
answers, the PostgreSQL half skips and says why.
"""

from __future__ import annotations

import os
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


@pytest.fixture
def db_url(empty_db_url: str) -> str:
    """A database at the newest schema, on each backend."""
    from storeops.db.migrate import upgrade

    upgrade(empty_db_url)
    return empty_db_url


@pytest.fixture
def sqlite_db_url(tmp_path: Path) -> str:
    """A migrated SQLite database, for tests that need not run on both backends."""
    from storeops.db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'storeops.db'}"
    upgrade(url)
    return url


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
