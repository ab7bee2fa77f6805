"""PostgreSQL exports keep their ADBC connection for the next export of the process (opening
one costs ~0.2 s of CPU), give it back without a transaction open, and survive a kept
connection the server dropped meanwhile."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from storeops.metrics import export


def _job(tmp_path: Path, name: str) -> export.Job:
    return export.Job("SELECT 1 AS n UNION ALL SELECT 2", {"n": pl.Int64}, ("n",),
                      tmp_path / f"{name}.parquet")


# PostgreSQL only (SQLite exports read through their own paths); skips where no server answers.
pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


@pytest.fixture
def pg_url(db_url: str) -> str:
    return db_url


def test_second_export_reuses_the_connection_and_no_snapshot_is_held(
        pg_url: str, tmp_path: Path) -> None:
    uri = export._adbc_uri(pg_url)
    assert export.export_tables(pg_url, [_job(tmp_path, "a")]) == [2]
    with export.pg_connection(uri) as (conn, reused):
        assert reused  # the first export's connection, kept
        with conn.cursor() as cur:  # given back rolled back: not idle in a transaction
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                        "AND state = 'idle in transaction' AND application_name = "
                        "current_setting('application_name')")
            assert cur.fetchone()[0] == 0
    assert export.export_tables(pg_url, [_job(tmp_path, "b")]) == [2]
    assert pl.read_parquet(tmp_path / "b.parquet")["n"].to_list() == [1, 2]


def test_a_dropped_kept_connection_is_replaced(pg_url: str, tmp_path: Path) -> None:
    uri = export._adbc_uri(pg_url)
    export.export_tables(pg_url, [_job(tmp_path, "a")])
    with export.pg_connection(uri) as (conn, reused):
        assert reused
        with conn.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            pid = cur.fetchone()[0]
    with export.pg_connection(uri, fresh=True) as (other, _):
        with other.cursor() as cur:  # the server ends the kept connection's session
            cur.execute(f"SELECT pg_terminate_backend({int(pid)})")
    assert export.export_tables(pg_url, [_job(tmp_path, "c")]) == [2]
    assert pl.read_parquet(tmp_path / "c.parquet")["n"].to_list() == [1, 2]


def test_few_connections_are_kept_whatever_the_number_of_databases(
        pg_url: str, tmp_path: Path) -> None:
    for n in range(export.PG_IDLE_MAX + 3):
        # Another URL each time (as another database would be): the libpq parameter changes
        # the key, not the database.
        url = f"{pg_url}{'&' if '?' in pg_url else '?'}connect_timeout={10 + n}"
        export.export_tables(url, [_job(tmp_path, f"j{n}")])
    assert sum(len(v) for v in export._pg_idle.values()) <= export.PG_IDLE_MAX
