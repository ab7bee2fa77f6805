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


def _replay_pg_template() -> tuple[str, str]:
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


# Making a migrated schema (0.5-0.9 s) and dropping it (0.3-0.5 s) cost about a second per
# PostgreSQL test. So a schema a test used is emptied instead (the rows of its tables deleted,
# its used sequences set back to their start: a few tens of ms) and handed to the next test of
# the process, unless the test changed its shape (tables, columns, indexes, constraints,
# sequences, functions, the revision): that one is dropped. Each use gets a URL of its own
# (application_name): the result cache, the warehouse folder, the job queue and the Redis keys
# are keyed by the URL, so nothing of an earlier test is ever seen through them.
_pg_pool: list[tuple[str, str]] = []  # (schema, shape) of emptied schemas ready for reuse
_pg_shapes: dict[str, str] = {}  # schema -> its shape when made
_pg_uses = iter(range(1, 1 << 62))
_PG_REUSE_ROWS = 20_000  # past this many rows in a table, the schema is dropped instead

_SHAPE_SQL = """
SELECT md5(coalesce(string_agg(x, '|' ORDER BY x), '')) FROM (
  SELECT 'r:' || c.relname || ':' || c.relkind::text AS x
    FROM pg_class c WHERE c.relnamespace = %(s)s::text::regnamespace
  UNION ALL
  SELECT 'a:' || c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod)
         || ':' || a.attnotnull::text || ':' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE c.relnamespace = %(s)s::text::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'k:' || conname || ':' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = %(s)s::text::regnamespace
  UNION ALL
  SELECT 'i:' || indexname || ':' || indexdef FROM pg_indexes WHERE schemaname = %(s)s::text
  UNION ALL
  SELECT 'f:' || p.oid::regprocedure::text FROM pg_proc p
   WHERE p.pronamespace = %(s)s::text::regnamespace
  UNION ALL
  SELECT 't:' || t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
   WHERE c.relnamespace = %(s)s::text::regnamespace
  UNION ALL
  SELECT 'y:' || typname FROM pg_type WHERE typnamespace = %(s)s::text::regnamespace
) shape
"""


def _pg_shape(conn: Any, schema: str) -> str:
    shape = conn.execute(_SHAPE_SQL, {"s": schema}).fetchone()[0]
    revision = conn.execute(f'SELECT string_agg(version_num, \',\' ORDER BY version_num) '
                            f'FROM "{schema}".alembic_version').fetchone()[0]
    return f"{shape}:{revision}"


def _pg_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    # In the order SQLAlchemy renders a URL's query (code that renders it gets the same text).
    return (f"{PG_URL}{sep}application_name=storeops_test_{schema}_{next(_pg_uses)}"
            f"&options=-csearch_path%3D{schema}")


def _migrated_pg() -> tuple[str, str]:
    if _pg_pool:
        schema, _shape = _pg_pool.pop()
        return schema, _pg_url(schema)
    schema, _url = _replay_pg_template()
    import psycopg

    with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
        _pg_shapes[schema] = _pg_shape(conn, schema)
    return schema, _pg_url(schema)


def _release_pg_schema(schema: str, url: str) -> None:
    """Empty the schema a test used and keep it for the next test, or drop it (see above)."""
    import psycopg

    from storeops.db.engine import get_engine

    get_engine(url).dispose()
    get_engine.cache_clear()
    shape = _pg_shapes.get(schema)
    try:
        with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
            if shape is None or _pg_shape(conn, schema) != shape:
                raise LookupError("the test changed the schema's shape")
            tables = [r[0] for r in conn.execute(
                "SELECT relname FROM pg_class WHERE relnamespace = %s::text::regnamespace"
                " AND relkind IN ('r', 'p') AND relname <> 'alembic_version'", (schema,))]
            counts = conn.execute(" UNION ALL ".join(
                f"SELECT '{t}', count(*) FROM (SELECT FROM \"{schema}\".\"{t}\" LIMIT"
                f" {_PG_REUSE_ROWS + 1}) x" for t in tables)).fetchall() if tables else []
            if any(n > _PG_REUSE_ROWS for _t, n in counts):
                raise LookupError("many rows: dropping the schema is cheaper")
            with conn.transaction():
                conn.execute("SET LOCAL lock_timeout = '20s'")
                # Rows go in any order: foreign keys are not checked for this emptying.
                conn.execute("SET LOCAL session_replication_role = replica")
                for table, n in counts:
                    if n:
                        conn.execute(f'DELETE FROM "{schema}"."{table}"')
                conn.execute(
                    "SELECT setval(format('%%I.%%I', schemaname, sequencename), start_value,"
                    " false) FROM pg_sequences WHERE schemaname = %s"
                    " AND last_value IS NOT NULL", (schema,))
    except Exception:  # noqa: BLE001 - anything unexpected: the schema is not reused
        _pg_shapes.pop(schema, None)
        _drop_pg_schema(schema, url)
        return
    _pg_pool.append((schema, shape))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop the emptied schemas this process kept."""
    while _pg_pool:
        schema, _shape = _pg_pool.pop()
        try:
            _drop_pg_schema(schema, _pg_url(schema))
        except Exception:  # noqa: BLE001 - the server may be gone: nothing left to clean
            pass


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
        _release_pg_schema(schema, url)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[str]:
    """A database at the newest schema on each backend, shared by the tests of a module that
    only read what a module-scoped fixture built in it (build once, read many times)."""
    if request.param == "sqlite":
        yield _migrated_sqlite(tmp_path_factory, tmp_path_factory.mktemp("module_db"))
        return
    reason = _pg_unavailable()
    if reason:
        pytest.skip(reason)
    schema, url = _migrated_pg()
    try:
        yield url
    finally:
        _release_pg_schema(schema, url)


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
