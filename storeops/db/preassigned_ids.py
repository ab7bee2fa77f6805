"""Primary keys given before the INSERT on SQLite, so that the ORM writes new rows in batches.

SQLAlchemy cannot batch the INSERTs of new ORM objects on SQLite when it must read their ids
back (SQLite's ``RETURNING`` does not promise the rows' order): it sends one INSERT per row,
which is most of the statements a JD sync page sends (its orders, their lines, new
customers). When the ids are known, the rows go as one ``executemany`` per table.

:func:`preassign_sqlite_ids` makes a session give every new object of a table with a
single integer primary key the next free ids (``max(id) + 1…``, read from the table at each
flush, so rows written by Core statements in between are counted) just before it is
flushed. That is safe only while the transaction holds SQLite's write lock (no other writer
can take those ids meanwhile): it is done only then (``lock_for_stock_write`` taken in this
transaction), and never on PostgreSQL, whose sequences and ``RETURNING`` batch already.
The ids are the ones SQLite would have chosen itself (the largest + 1).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, event

if TYPE_CHECKING:
    from sqlalchemy import Column, Table
    from sqlalchemy.orm import Session, UOWTransaction

_KEY = "storeops.preassigned_ids"
_LOCK_KEY = "storeops.stock_write_lock"  # storeops.inventory.locking: the locked transaction


def preassign_sqlite_ids(session: Session) -> None:
    """From now on, ``session`` (SQLite, holding the write lock) gives new rows their ids
    before each flush. A no-op on other databases and when it is on already."""
    if session.get_bind().dialect.name != "sqlite" or session.info.get(_KEY):
        return
    session.info[_KEY] = True
    event.listen(session, "before_flush", _before_flush)


def _integer_key(table: Table) -> Column[Any] | None:
    if table.kwargs.get("sqlite_autoincrement"):
        return None  # AUTOINCREMENT never reuses an id: max(id) + 1 could
    keys = list(table.primary_key.columns)
    if len(keys) != 1 or not isinstance(keys[0].type, Integer) or keys[0].default is not None:
        return None
    return keys[0]


_TARGETS: dict[Any, tuple[Any, Any, str] | None] = {}  # mapper → (table, key column, attr)


def _target(mapper: Any) -> tuple[Any, Any, str] | None:
    if mapper not in _TARGETS:
        table = mapper.local_table
        column = None
        if mapper.inherits is None and table is mapper.persist_selectable:
            column = _integer_key(table)
        _TARGETS[mapper] = None if column is None else \
            (table, column, mapper.get_property_by_column(column).key)
    return _TARGETS[mapper]


def _before_flush(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    if session.info.get(_LOCK_KEY) is not session.get_transaction():
        return  # not under the write lock: let SQLite choose
    pending: dict[Any, list[Any]] = defaultdict(list)
    for obj in session.new:
        state = obj._sa_instance_state
        target = _target(state.mapper)
        if target is not None and state.dict.get(target[2]) is None:
            pending[target].append(obj)
    if not pending:
        return
    conn = session.connection()
    quote = conn.dialect.identifier_preparer.quote
    for (table, column, attr), objects in pending.items():
        top = conn.exec_driver_sql(
            f"SELECT max({quote(column.name)}) FROM {quote(table.name)}").scalar() or 0
        objects.sort(key=lambda obj: obj._sa_instance_state.insert_order)  # added order
        for n, obj in enumerate(objects, start=top + 1):
            setattr(obj, attr, n)
