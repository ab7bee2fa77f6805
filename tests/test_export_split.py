"""A full rebuild on SQLite reads a large table in key ranges on several connections at once
(storeops.metrics.export.read_split) and runs its export children at the same time.

The ranges are read through the ADBC SQLite driver in this process, on a database file that
this process never opens with ``sqlite3`` (one copy of SQLite per file and process: see
storeops.metrics.export)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import adbc_driver_sqlite.dbapi as adbc_sqlite
import polars as pl
import pytest

from storeops.metrics import export

SCHEMA = {"day": pl.Date, "sku": pl.String, "uv": pl.Int64}
DAYS = ["2024-01-03", "2024-01-01", "2024-01-02", "2024-01-02", "2024-01-05", "2024-01-02",
        "2024-01-04", "2024-01-01"]


def _db(tmp_path: Path, days: list[str | None]) -> Path:
    path = tmp_path / "facts.db"
    with adbc_sqlite.connect(str(path)) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE facts (id INTEGER PRIMARY KEY, store_id INTEGER, day DATE,"
                    " sku TEXT, uv INTEGER)")
        cur.execute("CREATE INDEX ix_facts_day ON facts (store_id, day)")
        for i, day in enumerate(days):
            value = "NULL" if day is None else f"'{day}'"
            cur.execute(f"INSERT INTO facts VALUES ({i + 1}, 1, {value}, 'it''s {i}', {i})")
        cur.execute("INSERT INTO facts VALUES (999, 2, '2024-01-01', 'other store', 0)")
        conn.commit()
    return path


def _job(tmp_path: Path, parts: int) -> export.Job:
    return export.Job("SELECT day, sku, uv FROM facts WHERE store_id = 1", SCHEMA, ("day",),
                      tmp_path / "facts.parquet", parts=parts)


@pytest.mark.parametrize("parts", [2, 3, 20])
def test_ranges_hold_every_row_once_in_key_order(tmp_path: Path, parts: int) -> None:
    path = _db(tmp_path, DAYS)
    frame = export.read_split(lambda: adbc_sqlite.connect(str(path)), _job(tmp_path, parts))
    assert frame.schema == pl.Schema(SCHEMA)
    assert frame.get_column("day").to_list() == sorted(date.fromisoformat(d) for d in DAYS)
    assert sorted(frame.get_column("uv").to_list()) == list(range(len(DAYS)))
    # rows of one day keep the order they were read in (as the whole table's sort does)
    second = frame.filter(pl.col("day") == date(2024, 1, 2)).get_column("uv").to_list()
    assert second == [2, 3, 5]
    assert frame.get_column("sku").str.starts_with("it's").all()


def test_rows_without_a_key_and_an_empty_table(tmp_path: Path) -> None:
    path = _db(tmp_path, [*DAYS, None])
    frame = export.read_split(lambda: adbc_sqlite.connect(str(path)), _job(tmp_path, 2))
    assert frame.height == len(DAYS) + 1 and frame.get_column("day").null_count() == 1

    (tmp_path / "empty").mkdir()
    empty = _db(tmp_path / "empty", [])
    frame = export.read_split(lambda: adbc_sqlite.connect(str(empty)), _job(tmp_path, 2))
    assert frame.height == 0 and frame.schema == pl.Schema(SCHEMA)


def test_a_date_before_1970_and_a_time_keep_their_day(tmp_path: Path) -> None:
    path = _db(tmp_path, ["1969-12-31", "2024-02-29 23:59:59"])
    with adbc_sqlite.connect(str(path)) as conn:
        frame = export.adbc_read(conn, _job(tmp_path, 1).sql, SCHEMA, True)
    assert sorted(frame.get_column("day").to_list()) == [date(1969, 12, 31), date(2024, 2, 29)]


def test_large_tables_are_marked_for_ranges(tmp_path: Path) -> None:
    jobs = [export.Job("", SCHEMA, ("day",), tmp_path / "t.parquet", weight=45),
            export.Job("", SCHEMA, ("day",), tmp_path / "o.parquet", weight=10),
            export.Job("", SCHEMA, (), tmp_path / "n.parquet", weight=45),
            export.Job("", SCHEMA, ("day",), tmp_path / "l.parquet", weight=50,
                       assemble=export.Assemble(tmp_path / "o.parquet", tmp_path / "p.parquet",
                                                SCHEMA))]
    parts = export.SPLIT_PARTS
    assert [job.parts for job in export._split_large(jobs)] == [parts, 1, 1, parts]


def test_export_children_work_at_the_same_time(sqlite_db_url: str, tmp_path: Path) -> None:
    """Each child gets its request at once, not after the previous child has finished (each
    works ~1 s here: the other has begun long before, its imports done in ~0.4 s)."""
    slow = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 3000000)"
            " SELECT x FROM c")
    jobs = [export.Job(slow, {"x": pl.Int64}, (), tmp_path / f"{i}.parquet") for i in range(2)]
    rows = export.export_tables(sqlite_db_url, jobs, expected_rows=export.CHILD_MIN_ROWS)
    assert rows == [3_000_000, 3_000_000]
    (began_a, done_a, _), (began_b, done_b, _) = export.last_child_times
    assert began_b < done_a and began_a < done_b
