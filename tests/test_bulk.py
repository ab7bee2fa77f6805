from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from storeops.catalog.models import Product
from storeops.catalog.stores import get_or_create_store
from storeops.db import bulk
from storeops.db.bulk import bulk_insert
from storeops.db.engine import get_engine, unit_of_work
from storeops.orders.models import Order, OrderLine


def test_bulk_rows_read_back_like_orm_rows(db_url):
    with unit_of_work(db_url) as s:
        store, _ = get_or_create_store(s, "s")
        store_id = store.id
    placed = datetime(2026, 6, 18, 0, 5, tzinfo=ZoneInfo("Asia/Shanghai"))
    cols = ["store_id", "platform_order_id", "status", "deleted", "placed_at", "placed_date",
            "goods_cents", "seller_discount_cents", "freight_cents", "content_hash", "updated_at"]
    rows = [(store_id, str(i), "finished", i % 2 == 0, placed, placed.date(), 100 * i, 0, 0,
             "h", placed) for i in range(1, 101)]
    with get_engine(db_url).begin() as conn:
        assert bulk_insert(conn, Order.__table__, cols, rows) == 100
    with unit_of_work(db_url) as s:
        orders = list(s.scalars(select(Order).order_by(Order.goods_cents)))
    assert len(orders) == 100
    assert orders[0].placed_at == placed and orders[0].placed_date == date(2026, 6, 18)
    assert orders[1].deleted is True and orders[0].deleted is False
    assert sum(o.goods_cents for o in orders) == 100 * 5050


def _store_with_order(db_url: str) -> tuple[int, int]:
    with unit_of_work(db_url) as s:
        store, _ = get_or_create_store(s, "s")
        store_id = store.id
    placed = datetime(2026, 6, 18, 0, 5, tzinfo=ZoneInfo("Asia/Shanghai"))
    with get_engine(db_url).begin() as conn:
        bulk_insert(conn, Order.__table__,
                    ["store_id", "platform_order_id", "status", "deleted", "placed_at",
                     "placed_date", "goods_cents", "seller_discount_cents", "freight_cents",
                     "content_hash", "updated_at"],
                    [(store_id, "1", "finished", False, placed, placed.date(), 100, 0, 0, "h",
                      placed)])
        order_id = conn.execute(select(Order.id)).scalar_one()
    return store_id, order_id


LINE_COLS = ["order_id", "store_id", "line_no", "product_id", "quantity", "unit_price_e4",
             "amount_cents"]


def _lines(order_id: int, store_id: int, product_id: int, n: int) -> list[tuple]:
    return [(order_id, store_id, i, product_id, 1, 10_000, 100) for i in range(1, n + 1)]


@pytest.mark.parametrize("expected", [None, 1])  # row by row; checked once (PostgreSQL)
def test_a_load_that_breaks_a_key_stores_nothing(db_url, expected, monkeypatch):
    monkeypatch.setattr(bulk, "ONCE_MIN_ROWS", 1)
    store_id, order_id = _store_with_order(db_url)
    with pytest.raises(IntegrityError), get_engine(db_url).begin() as conn:
        bulk_insert(conn, OrderLine.__table__, LINE_COLS,
                    _lines(order_id, store_id, 999_999, 5), expected_rows=expected)
    with unit_of_work(db_url) as s:
        assert s.scalar(select(func.count()).select_from(OrderLine)) == 0


def test_keys_checked_once_are_back_and_enforced_after_the_load(db_url, monkeypatch):
    monkeypatch.setattr(bulk, "ONCE_MIN_ROWS", 1)
    store_id, order_id = _store_with_order(db_url)
    with unit_of_work(db_url) as s:
        s.add(Product(store_id=store_id, platform_sku_id="1001", title="t",
                      list_price_cents=100, status="on_sale"))
    with unit_of_work(db_url) as s:
        product_id = s.scalar(select(Product.id))
    with get_engine(db_url).begin() as conn:
        dropped = []
        with bulk.foreign_keys_checked_once(conn, OrderLine.__table__, 3) as once:
            dropped.append(once)
            bulk_insert(conn, OrderLine.__table__, LINE_COLS,
                        _lines(order_id, store_id, product_id, 3))
    assert dropped == [get_engine(db_url).dialect.name == "postgresql"]
    with unit_of_work(db_url) as s:
        assert s.scalar(select(func.count()).select_from(OrderLine)) == 3
    with pytest.raises(IntegrityError), get_engine(db_url).begin() as conn:
        bulk_insert(conn, OrderLine.__table__, LINE_COLS,
                    [(order_id, store_id, 9, 999_999, 1, 10_000, 100)])


def test_a_small_load_keeps_checking_row_by_row(db_url):
    store_id, _ = _store_with_order(db_url)
    with get_engine(db_url).begin() as conn:
        with bulk.foreign_keys_checked_once(conn, OrderLine.__table__, 10) as once:
            assert once is False  # below ONCE_MIN_ROWS: the constraints stay in place


def test_frame_rows_read_back_like_orm_rows(db_url, monkeypatch):
    import polars as pl

    from storeops.db.bulk import bulk_insert_frame

    monkeypatch.setattr(bulk, "FRAME_SLICE", 7)  # several slices
    with unit_of_work(db_url) as s:
        store, _ = get_or_create_store(s, "s")
        store_id = store.id
    placed = datetime(2026, 6, 18, 0, 5, tzinfo=ZoneInfo("Asia/Shanghai"))
    n = 20
    frame = pl.DataFrame({
        "store_id": [store_id] * n,
        "platform_order_id": [str(i) for i in range(n)],
        "status": ["finished"] * n,
        "deleted": [i % 2 == 0 for i in range(n)],
        "cod": [None if i == 3 else i == 4 for i in range(n)],
        "placed_at": [placed] * n,
        "placed_date": [placed.date()] * n,
        "paid_at": [None if i % 3 else placed for i in range(n)],
        "goods_cents": list(range(n)),
        "seller_discount_cents": [0] * n,
        "freight_cents": [0] * n,
        # text that CSV must keep exactly: empty (not NULL), quotes, commas, new lines, \N
        "source": ["", None, 'say "hi", ok', "two\nlines", "\\N", "移动端"] + ["x"] * (n - 6),
        "content_hash": ["h"] * n,
        "updated_at": [placed] * n,
    }).with_columns(pl.col("placed_at", "paid_at", "updated_at").dt.convert_time_zone("UTC"))
    frame = frame.with_columns(pl.col("cod").fill_null(False))
    with get_engine(db_url).begin() as conn:
        assert bulk_insert_frame(conn, Order.__table__, frame) == n
    with unit_of_work(db_url) as s:
        orders = list(s.scalars(select(Order).order_by(Order.goods_cents)))
    assert len(orders) == n
    assert orders[0].placed_at == placed and orders[0].placed_date == date(2026, 6, 18)
    assert orders[0].paid_at == placed and orders[1].paid_at is None
    assert [o.deleted for o in orders[:2]] == [True, False]
    assert orders[4].cod is True and orders[5].cod is False
    assert [o.source for o in orders[:6]] == ["", None, 'say "hi", ok', "two\nlines", "\\N",
                                              "移动端"]


def test_frame_naive_datetimes_are_refused(db_url):
    import polars as pl

    from storeops.db.bulk import bulk_insert_frame

    frame = pl.DataFrame({"placed_at": [datetime(2026, 6, 18)]})
    with get_engine(db_url).begin() as conn, pytest.raises(ValueError, match="naive"):
        bulk_insert_frame(conn, Order.__table__, frame)


def test_sqlite_indexes_are_rebuilt_after_a_large_load_and_back_after_a_rollback(
        sqlite_db_url, monkeypatch):
    from sqlalchemy import text

    from storeops.db.bulk import sqlite_indexes_built_after

    monkeypatch.setattr(bulk, "ONCE_MIN_ROWS", 1)
    names = "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='order_lines'" \
            " AND sql IS NOT NULL ORDER BY name"
    store_id, order_id = _store_with_order(sqlite_db_url)
    with unit_of_work(sqlite_db_url) as s:
        before = s.execute(text(names)).scalars().all()
        product = Product(store_id=store_id, platform_sku_id="A")
        s.add(product)
        s.flush()
        product_id = product.id
    assert before == ["ix_order_lines_product_id", "ix_order_lines_store_id",
                      "uq_order_lines_order_line"]  # the unique key too (0006)
    with pytest.raises(RuntimeError), get_engine(sqlite_db_url).begin() as conn:
        with sqlite_indexes_built_after(conn, OrderLine.__table__, 10) as dropped:
            assert dropped
            assert conn.execute(text(names)).scalars().all() == []
            raise RuntimeError("failed half-way")
    with get_engine(sqlite_db_url).begin() as conn:
        assert conn.execute(text(names)).scalars().all() == before
        with sqlite_indexes_built_after(conn, OrderLine.__table__, 10):
            bulk_insert(conn, OrderLine.__table__, LINE_COLS,
                        _lines(order_id, store_id, product_id, 10))
        assert conn.execute(text(names)).scalars().all() == before
        # a load smaller than the table keeps its indexes
        with sqlite_indexes_built_after(conn, OrderLine.__table__, 5) as dropped:
            assert not dropped


def test_an_import_without_key_checks_leaves_them_on_for_the_next_writer(sqlite_db_url):
    from storeops.db.engine import import_transaction

    store_id, order_id = _store_with_order(sqlite_db_url)

    def keys_on(conn) -> bool:  # noqa: ANN001
        return conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1

    with import_transaction(sqlite_db_url, foreign_keys=False) as s:
        assert not keys_on(s.connection())
        bulk_insert(s.connection(), OrderLine.__table__, LINE_COLS,
                    _lines(order_id, store_id, 999_999, 1))  # not checked here
        s.connection().exec_driver_sql("DELETE FROM order_lines")
    with pytest.raises(RuntimeError), import_transaction(sqlite_db_url, foreign_keys=False):
        raise RuntimeError("failed half-way")
    with get_engine(sqlite_db_url).connect() as conn:
        assert keys_on(conn)
    with pytest.raises(IntegrityError), get_engine(sqlite_db_url).begin() as conn:
        bulk_insert(conn, OrderLine.__table__, LINE_COLS,
                    _lines(order_id, store_id, 999_999, 1))


def test_a_large_load_with_a_line_twice_fails_whole_and_names_it(db_url, monkeypatch):
    """SQLite builds the (order, line) unique index after a large load: a key found twice
    then fails the load as the inline check did, naming the key; PostgreSQL's COPY names it
    too. Nothing is stored and the indexes are all there afterwards."""
    import polars as pl
    from sqlalchemy import inspect

    from storeops.db.bulk import DuplicateKeyError, bulk_insert_frame, sqlite_indexes_built_after

    monkeypatch.setattr(bulk, "ONCE_MIN_ROWS", 1)
    store_id, order_id = _store_with_order(db_url)
    with unit_of_work(db_url) as s:
        s.add(Product(store_id=store_id, platform_sku_id="A"))
    with unit_of_work(db_url) as s:
        product_id = s.scalar(select(Product.id))
    rows = _lines(order_id, store_id, product_id, 6) + [(order_id, store_id, 4, product_id,
                                                          2, 10_000, 200)]
    frame = pl.DataFrame(rows, schema=LINE_COLS, orient="row")
    engine = get_engine(db_url)
    indexes = sorted(i["name"] for i in inspect(engine).get_indexes("order_lines"))
    with pytest.raises(DuplicateKeyError) as failed, engine.begin() as conn:
        with sqlite_indexes_built_after(conn, OrderLine.__table__, frame.height):
            bulk_insert_frame(conn, OrderLine.__table__, frame, expected_rows=frame.height)
    assert f"({order_id}, 4)" in str(failed.value) and "order_lines" in str(failed.value)
    assert "line_no" in str(failed.value)
    with unit_of_work(db_url) as s:
        assert s.scalar(select(func.count()).select_from(OrderLine)) == 0
    assert sorted(i["name"] for i in inspect(get_engine(db_url)).get_indexes(
        "order_lines")) == indexes
    assert "uq_order_lines_order_line" in indexes
    # and the key is enforced again for the next writer
    with pytest.raises((IntegrityError, DuplicateKeyError)), engine.begin() as conn:
        bulk_insert(conn, OrderLine.__table__, LINE_COLS, rows[:1] + rows[:1])


def test_migration_0006_keeps_the_lines_and_their_key_on_a_filled_database(empty_db_url):
    """0005 -> 0006 on a table holding lines: same rows, the (order, line) key a named
    unique index that still refuses a line twice, the database intact; and back down."""
    from alembic import command
    from sqlalchemy import inspect, text

    from storeops.db.migrate import alembic_config, upgrade

    def migrate(fn, target: str) -> None:  # noqa: ANN001
        cfg = alembic_config(empty_db_url)
        with get_engine(empty_db_url).begin() as conn:
            cfg.attributes["connection"] = conn
            fn(cfg, target)

    def unique_keys() -> tuple[list, list]:
        insp = inspect(get_engine(empty_db_url))
        return (sorted(i["name"] for i in insp.get_indexes("order_lines") if i["unique"]),
                sorted(c["name"] for c in insp.get_unique_constraints("order_lines")))

    migrate(command.upgrade, "0005")
    store_id, order_id = _store_with_order(empty_db_url)
    with get_engine(empty_db_url).begin() as conn:
        conn.execute(text("INSERT INTO products (store_id, platform_sku_id, status, created_at,"
                          " updated_at) VALUES (:s, 'A', 'on_sale', '2026-01-01',"
                          " '2026-01-01')"), {"s": store_id})
        product_id = conn.execute(text("SELECT max(id) FROM products")).scalar()
        bulk_insert(conn, OrderLine.__table__, LINE_COLS,
                    _lines(order_id, store_id, product_id, 50))
    upgrade(empty_db_url)
    assert unique_keys()[0] == ["uq_order_lines_order_line"]
    assert "uq_order_lines_order_id" not in unique_keys()[1]
    engine = get_engine(empty_db_url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(OrderLine)).scalar() == 50
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    with pytest.raises((IntegrityError, bulk.DuplicateKeyError)), engine.begin() as conn:
        bulk_insert(conn, OrderLine.__table__, LINE_COLS,
                    _lines(order_id, store_id, product_id, 1))
    migrate(command.downgrade, "0005")
    assert unique_keys() == ([], ["uq_order_lines_order_id"]) or (
        unique_keys()[1] == ["uq_order_lines_order_id"])
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(OrderLine)).scalar() == 50
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    upgrade(empty_db_url)
    assert unique_keys()[0] == ["uq_order_lines_order_line"]
