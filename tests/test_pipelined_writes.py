"""Small writes kept and sent together (storeops.db.pipelined): on PostgreSQL they wait until
a statement needs them or the block ends, every read sees them, a refused one fails the
transaction as the write alone would; on SQLite nothing waits."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.exc import IntegrityError

from storeops.catalog.stores import get_or_create_store
from storeops.db import pipelined
from storeops.db.engine import get_engine, unit_of_work
from storeops.members.models import Customer
from storeops.orders.batch_intake import insert_rows, update_rows
from storeops.orders.models import BuyerBlacklist

TABLE = BuyerBlacklist.__table__


@pytest.fixture
def store_id(db_url: str) -> int:
    with unit_of_work(db_url) as s:
        return get_or_create_store(s, "pipelined-shop")[0].id


def _rows(store_id: int, *accounts: str) -> list[dict[str, Any]]:
    return [{"store_id": store_id, "platform_account": a, "reason": "test"} for a in accounts]


def _count_elsewhere(url: str) -> int:
    """The rows another connection sees (committed ones)."""
    with get_engine(url).connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(TABLE)) or 0)


def test_writes_wait_for_the_blocks_end_then_all_are_committed(
        db_url: str, store_id: int, backend: str) -> None:
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    from sqlalchemy import event

    engine = get_engine(db_url)
    with unit_of_work(db_url) as s, pipelined.deferring(s):
        event.listen(engine, "before_cursor_execute", seen)
        try:
            insert_rows(s, TABLE, _rows(store_id, "a", "b"))
            insert_rows(s, TABLE, _rows(store_id, "c"))
            sent_inside = list(statements)
        finally:
            event.remove(engine, "before_cursor_execute", seen)
    if backend == "postgresql":  # kept: nothing went to the server before the block's end
        assert sent_inside == []
    else:  # SQLite: written at once
        assert len(sent_inside) == 2
    assert _count_elsewhere(db_url) == 3


def test_a_read_inside_the_block_sees_the_kept_writes(db_url: str, store_id: int) -> None:
    with unit_of_work(db_url) as s, pipelined.deferring(s):
        insert_rows(s, TABLE, _rows(store_id, "a", "b"))
        # an ORM query, a Core statement and the driver's SQL each see them
        assert len(s.scalars(select(BuyerBlacklist)).all()) == 2
        insert_rows(s, TABLE, _rows(store_id, "c"))
        assert s.scalar(select(func.count()).select_from(TABLE)) == 3
        ids = [r[0] for r in s.execute(select(TABLE.c.id).order_by(TABLE.c.id))]
        update_rows(s, TABLE, [{"id": ids[0], "reason": "changed"}])
        assert s.connection().exec_driver_sql(
            "SELECT count(*) FROM buyer_blacklist WHERE reason = 'changed'").scalar() == 1
    with unit_of_work(db_url) as s:
        assert s.scalar(select(BuyerBlacklist.reason).where(BuyerBlacklist.id == ids[0])) \
            == "changed"


def test_a_refused_write_fails_the_transaction_and_keeps_nothing(
        db_url: str, store_id: int) -> None:
    with unit_of_work(db_url) as s:
        insert_rows(s, TABLE, _rows(store_id, "taken"))
    with pytest.raises(IntegrityError) as refused, unit_of_work(db_url) as s, \
            pipelined.deferring(s):
        insert_rows(s, Customer.__table__, [{"store_id": store_id, "platform_account": "c-1",
                                             "masked_contact": None}])
        insert_rows(s, TABLE, _rows(store_id, "new-1"))
        insert_rows(s, TABLE, _rows(store_id, "taken"))  # the unique key refuses it
        insert_rows(s, Customer.__table__, [{"store_id": store_id, "platform_account": "c-2",
                                             "masked_contact": None}])
    assert _count_elsewhere(db_url) == 1
    # the error names the statement of the refused table, not the pipeline's first or last
    assert "buyer_blacklist" in refused.value.statement
    assert "customers" not in refused.value.statement
    # the connection went back to the pool clean: the next transaction works as usual
    with unit_of_work(db_url) as s, pipelined.deferring(s):
        insert_rows(s, TABLE, _rows(store_id, "after"))
    assert _count_elsewhere(db_url) == 2


def test_an_error_inside_the_block_drops_the_kept_writes(db_url: str, store_id: int) -> None:
    with pytest.raises(RuntimeError), unit_of_work(db_url) as s, pipelined.deferring(s):
        insert_rows(s, TABLE, _rows(store_id, "a"))
        raise RuntimeError("the caller gave up")
    assert _count_elsewhere(db_url) == 0
    with unit_of_work(db_url) as s:  # nothing of it is left on the pooled connection
        assert not s.connection().info.get(pipelined.KEY)
        s.execute(text("SELECT 1"))
    assert _count_elsewhere(db_url) == 0


def test_many_rows_are_not_kept(db_url: str, store_id: int, backend: str) -> None:
    many = _rows(store_id, *(f"acct-{i}" for i in range(pipelined.MAX_ROWS + 1)))
    with unit_of_work(db_url) as s, pipelined.deferring(s):
        insert_rows(s, TABLE, _rows(store_id, "first"))
        insert_rows(s, TABLE, many)  # written at once (COPY), after the kept one
        assert not s.connection().info.get(pipelined.KEY)
    assert _count_elsewhere(db_url) == pipelined.MAX_ROWS + 2


def test_reads_together_answer_each_in_order_and_see_the_kept_writes(
        db_url: str, store_id: int) -> None:
    accounts = select(TABLE.c.platform_account).where(
        TABLE.c.store_id == bindparam("store_id")).order_by(TABLE.c.platform_account)
    with unit_of_work(db_url) as s, pipelined.deferring(s):
        insert_rows(s, TABLE, _rows(store_id, "b", "a"))
        found, none, one = pipelined.read_together(s, [
            (accounts, {"store_id": store_id}),
            (accounts, {"store_id": store_id + 1000}),
            ("SELECT 1", {})])
    assert found == [("a",), ("b",)] and none == [] and one == [(1,)]


def test_a_refused_read_raises_as_the_statement_alone_would(db_url: str) -> None:
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError) as refused, unit_of_work(db_url) as s:
        pipelined.read_together(s, [("SELECT 1", {}), ("SELECT * FROM no_such_table", {})])
    assert "no_such_table" in refused.value.statement  # the refused one is among those named
    with unit_of_work(db_url) as s:  # the pooled connection works as usual after it
        assert pipelined.read_together(s, [("SELECT 2", {})]) == [[(2,)]]
