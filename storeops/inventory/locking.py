"""Taking the locks a stock-changing unit of work needs, so that stock is never oversold.

* **SQLite** has one writer at a time. A transaction that reads stock and then writes it must
  hold the write lock *before* it reads, or two of them could read the same figure. Call
  :func:`lock_for_stock_write` first thing in the unit of work (every function of
  :mod:`storeops.inventory.service` that changes stock calls it too, which is harmless when it
  is already held): it starts the write transaction at once (an UPDATE that changes nothing),
  waiting for another writer as imports do (``STOREOPS_IMPORT_WAIT_SECONDS``).
* **PostgreSQL**: a no-op. The service locks the rows it changes instead: the products rows,
  then their ``stock_levels`` rows, each ``SELECT … FOR UPDATE`` ordered by id (a fixed order,
  so two writers never deadlock on each other), and re-reads them under the lock.

Usage::

    with unit_of_work(db_url) as session:
        lock_for_stock_write(session)
        ... read the order, reserve_order(session, order, actor=...) ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


_HELD = "storeops.stock_write_lock"  # session.info: the transaction holding the write lock


def lock_for_stock_write(session: Session) -> None:
    """Hold SQLite's write lock for the rest of ``session``'s transaction (PostgreSQL: no-op).

    Raises :class:`storeops.db.engine.DatabaseBusyError` when another writer keeps the
    database longer than ``STOREOPS_IMPORT_WAIT_SECONDS``."""
    from storeops.db.engine import _take_write_lock

    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return
    transaction = session.get_transaction()
    if session.info.get(_HELD) is transaction:
        return  # taken already in this transaction
    _take_write_lock(conn)
    session.info[_HELD] = transaction
