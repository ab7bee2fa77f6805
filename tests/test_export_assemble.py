"""A full rebuild assembles the lines table from the lines' own columns and the orders and
products files it has just written (storeops.metrics.export.assemble_lines): same rows and
columns as the lines' export SQL, in the lines' sort order. (tests/test_warehouse.py holds a
full rebuild equal to the incremental path, which runs that SQL, on SQLite and PostgreSQL.)"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from storeops.metrics import export
from storeops.metrics.warehouse import LINES_OWN, TABLES


def _files(tmp_path: Path) -> export.Assemble:
    orders = pl.DataFrame({
        "order_id": [7, 3, 5],  # sorted by (placed_date, order_id), as the export writes them
        "platform_order_id": ["A7", "A3", "A5"],
        "placed_date": [date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 2)],
        "status": ["finished", "cancelled", "wait_pay"],
        "customer_id": [1, None, 2],
        "source": ["app", None, "pc"],
        "freight_cents": [600, 0, 0],
        "paid": [1, 1, 0],
        "paid_at": ["2023-12-31 16:10:00", "2024-01-02 01:00:00", None],
        "cancelled_at": [None, None, None],
        "cod": [0, 0, 0],
        "deal_date": [date(2024, 1, 1), None, None],
    }, schema_overrides={"paid": pl.Int8, "cod": pl.Int8, "cancelled_at": pl.String})
    orders.write_parquet(tmp_path / "orders.parquet")
    pl.DataFrame({
        "product_id": [10, 11], "platform_sku_id": ["S10", "S11"], "title": ["t", "u"],
        "category": ["c", "c"], "status": ["on_sale", "off_shelf"],
    }).write_parquet(tmp_path / "products.parquet")
    return export.Assemble(tmp_path / "orders.parquet", tmp_path / "products.parquet",
                           TABLES["lines"][1])


def test_lines_take_their_order_and_sku_columns_in_the_orders_order(tmp_path: Path) -> None:
    spec = _files(tmp_path)
    own = pl.DataFrame({  # as read: in the database's order
        "order_id": [5, 3, 7, 3, 99, 7],  # 99: no such order
        "product_id": [10, 11, 10, 10, 10, 12],  # 12: no such SKU
        "quantity": [1, 2, 3, 4, 5, 6],
        "amount_cents": [100, 200, 300, 400, 500, 600],
    }, schema=LINES_OWN[1])
    lines = export.assemble_lines(own, spec)
    # the declared columns in their order, then the export's deal_date
    assert lines.columns == [*TABLES["lines"][1], "deal_date"]
    assert lines.select("order_id", "quantity").rows() == [(7, 3), (3, 2), (3, 4), (5, 1)]
    assert lines.get_column("on_sale").to_list() == [1, 0, 1, 1]
    assert lines.get_column("platform_order_id").cast(pl.String).to_list() == [
        "A7", "A3", "A3", "A5"]
    assert lines.get_column("deal_date").to_list() == [date(2024, 1, 1), None, None, None]
    assert lines.get_column("source").cast(pl.String).to_list() == ["app", None, None, "pc"]
    assert lines.schema["paid"] == pl.Int8 and lines.schema["placed_date"] == pl.Date
    # written, the order's text reads back as text in DuckDB (the engine of the queries)
    import duckdb

    out = tmp_path / "lines.parquet"
    export.write(own, export.Job("", LINES_OWN[1], ("placed_date", "order_id"), out,
                                 assemble=spec))
    types = {r[0]: r[1] for r in duckdb.sql(
        f"DESCRIBE SELECT * FROM read_parquet('{out}')").fetchall()}
    assert types["status"] == "VARCHAR" and types["paid_at"] == "VARCHAR"
    assert duckdb.sql(f"SELECT status, count(*) FROM read_parquet('{out}') GROUP BY 1"
                      " ORDER BY 1").fetchall() == [("cancelled", 2), ("finished", 1),
                                                    ("wait_pay", 1)]


def test_assembling_job_runs_after_and_beside_its_inputs(tmp_path: Path) -> None:
    spec = _files(tmp_path)
    jobs = [
        export.Job("", LINES_OWN[1], (), tmp_path / "lines.parquet", weight=100,
                   assemble=spec),
        export.Job("", {}, (), tmp_path / "traffic.parquet", weight=80),
        export.Job("", {}, (), tmp_path / "orders.parquet", weight=10),
        export.Job("", {}, (), tmp_path / "products.parquet", weight=1),
    ]
    assert export._units(jobs) == [[2, 3, 0], [1]]


def test_lines_read_in_order_ranges_give_the_lines_of_one_read(tmp_path: Path) -> None:
    """A large store's lines are read in ranges of order ids on several connections
    (export.read_split) and completed once: the same table as from one read."""
    import adbc_driver_sqlite.dbapi as adbc_sqlite

    spec = _files(tmp_path)
    db = str(tmp_path / "lines.db")  # never opened with sqlite3 (one SQLite copy per file)
    with adbc_sqlite.connect(db) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE order_lines (id INTEGER PRIMARY KEY, order_id INTEGER,"
                    " store_id INTEGER, product_id INTEGER, quantity INTEGER,"
                    " amount_cents INTEGER)")
        for i, (order, sku) in enumerate([(5, 10), (3, 11), (7, 10), (3, 10), (99, 10),
                                          (7, 12), (7, 11)]):
            cur.execute(f"INSERT INTO order_lines VALUES ({i + 1}, {order}, 1, {sku}, {i + 1},"
                        f" {100 * (i + 1)})")
        cur.execute("INSERT INTO order_lines VALUES (99, 3, 2, 10, 1, 1)")  # another store
        conn.commit()
    job = export.Job(LINES_OWN[0].format(sid=1), LINES_OWN[1], ("placed_date", "order_id"),
                     tmp_path / "lines.parquet", assemble=spec, parts=3)
    split = export.read_split(lambda: adbc_sqlite.connect(db), job)
    with adbc_sqlite.connect(db) as conn:
        whole = export.ordered(export.adbc_read(conn, job.sql, job.schema, True), job)
    assert split.select("order_id", "quantity").rows() == [(7, 3), (7, 7), (3, 2), (3, 4),
                                                            (5, 1)]
    assert split.equals(whole)
