"""Reserving the stock of many orders at once (a page of orders from the JD sync).

The page's products and ``stock_levels`` rows are locked once (PostgreSQL: ``SELECT … FOR
UPDATE`` ordered by id; SQLite: the write lock, :mod:`storeops.inventory.locking`), then each
order is reserved from those locked levels in turn, all or nothing per order, by the same
allocation and bookkeeping as :func:`storeops.inventory.service.reserve_order`
(``_reserve_lines``): an order short of stock raises :class:`OutOfStock` and changes nothing,
the next orders go on. ``products.stock`` is brought up to date once at the end.

Two ways in:

* :func:`reserving` — a context under which ``reserve_order`` of an order registered as new
  (``fresh_lines``: order id → its lines, nothing held yet) takes its stock from the locked
  levels without reading anything again. The batched order intake
  (:mod:`storeops.orders.batch_intake`) uses it, so that review still decides order by order
  whether an order is reserved at all.
* :func:`reserve_orders` — reserve a list of stored orders (what each does not hold yet).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, select
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from storeops.catalog.models import Product
from storeops.inventory import service as stock
from storeops.inventory.locking import lock_for_stock_write
from storeops.inventory.models import StockLevel, StockMovement, StockReservation

if TYPE_CHECKING:
    from storeops.orders.models import Order

KEY = "storeops_stock_batch"
HOLD = "storeops_hold_writes"


def holding_writes(session: Session) -> bool:
    """Inside :func:`hold_writes`: the batches' pending writes wait."""
    return bool(session.info.get(HOLD))


@contextmanager
def hold_writes(session: Session) -> Iterator[None]:
    """Statements run inside do not write the batches' pending rows first, nor the small
    writes kept to go together (:mod:`storeops.db.pipelined`): for a statement that reads
    none of them, run before those rows are final."""
    from storeops.db import pipelined

    session.info[HOLD] = True
    try:
        with pipelined.holding(session):
            yield
    finally:
        session.info.pop(HOLD, None)


def stock_batch(session: Session) -> StockBatch | None:
    """The batch of :func:`reserving` open on this session, if any."""
    return session.info.get(KEY)


class NewReservation:
    """A reservation the batch has made and not written yet (read and changed as a
    ``StockReservation``: allocation clears ``expires_at`` of a paid order's)."""

    __slots__ = ("store_id", "order_id", "order_line_id", "warehouse_id", "product_id",
                 "quantity", "state", "expires_at")

    def __init__(self, row: dict[str, Any]) -> None:
        for name in self.__slots__:
            setattr(self, name, row[name])

    def row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


class StockBatch:
    """The locked levels of a page's products and the page's new orders' lines.

    Its writes (levels, movements, reservations, ``products.stock``) are kept and written
    together, one executemany each, by :meth:`write_pending`: at the batch's end, and before
    any statement the session runs meanwhile (so that what is read sees them). The locked
    levels (ORM objects) are told their new figures as committed values, so that a flush
    never writes them a second time and a later re-read under the lock finds the same
    figures; the products are locked and read as rows (only their stock is written)."""

    def __init__(self, session: Session, store_id: int, product_ids: Iterable[int],
                 fresh_lines: dict[int, Sequence[Any]],
                 read_rows: Sequence[Sequence[tuple[Any, ...]]] | None = None) -> None:
        lock_for_stock_write(session)
        self.store_id = store_id
        warehouses, products, levels = read_rows if read_rows is not None else (None,) * 3
        self.warehouses = stock.list_warehouses(session, store_id, as_rows=True,
                                                read_rows=warehouses)
        self.levels = stock._lock(session, product_ids, product_rows=True,
                                  locked_rows=products, level_rows=levels)
        self.fresh_lines = fresh_lines
        self.touched: set[int] = set()
        # called before the writes (the rows they point at, e.g. a page's new orders)
        self.before_write: Callable[[Session], None] | None = None
        self.changed: dict[int, StockLevel] = {}  # level id → level, to write
        self.movements: list[dict[str, Any]] = []
        self.reservations: list[NewReservation] = []

    # --- stock.PendingWrites
    def level_changed(self, level: StockLevel, on_hand: int, reserved: int) -> None:
        set_committed_value(level, "on_hand", on_hand)
        set_committed_value(level, "reserved", reserved)
        self.changed[level.id] = level

    def movement(self, row: dict[str, Any]) -> None:
        self.movements.append(row)

    def reservation(self, row: dict[str, Any]) -> NewReservation:
        made = NewReservation(row)
        self.reservations.append(made)
        return made

    def write_pending(self, session: Session) -> None:
        """Write the levels, movements and reservations changed since the last time."""
        from storeops.orders.batch_intake import insert_rows, update_rows

        if self.before_write is not None and (self.changed or self.movements
                                              or self.reservations):
            self.before_write(session)
        if self.changed:
            update_rows(session, StockLevel.__table__, [
                {"on_hand": lv.on_hand, "reserved": lv.reserved, "id": lv.id}
                for lv in self.changed.values()])
            self.changed = {}
        if self.movements:
            insert_rows(session, StockMovement.__table__, self.movements)
            self.movements = []
        if self.reservations:
            insert_rows(session, StockReservation.__table__,
                        [r.row() for r in self.reservations])
            self.reservations = []

    def cover(self, session: Session, product_ids: Iterable[int]) -> None:
        """Lock products the batch did not know (created after it began)."""
        missing = {pid for pid in product_ids if pid not in self.levels}
        if missing:
            more = stock._lock(session, missing, product_rows=True)
            self.levels.update(more)
            self.levels.products.update(more.products)

    def reserve_todo(self, session: Session, order: Order, todo: Sequence[tuple[Any, int]], *,
                     actor: str | None, expires_at: datetime | None
                     ) -> list[StockReservation]:
        """Reserve (line, units) of ``order``, all or nothing; the new reservations."""
        todo = [(line, qty) for line, qty in todo if qty > 0]
        if not todo:
            return []
        pids = {line.product_id for line, _ in todo}
        self.cover(session, pids)
        # the order's products' levels only (the same locked objects): the allocation looks
        # at no other product, and the page's other levels need not be gone through again
        mine = stock._Locked({pid: self.levels[pid] for pid in pids})
        mine.products = self.levels.products
        needs, made = stock._reserve_lines(session, order, todo, mine, self.warehouses,
                                           actor=actor, expires_at=expires_at, pending=self)
        self.touched.update(n.product_id for n in needs)
        return made

    def reserve_fresh(self, session: Session, order: Order, *, actor: str | None,
                      expires_at: datetime | None = None) -> list[StockReservation]:
        """``reserve_order`` of a new order of the page (nothing held yet)."""
        lines = sorted(self.fresh_lines.pop(order.id), key=lambda line: line.line_no)
        return self.reserve_todo(session, order, [(line, line.quantity) for line in lines],
                                 actor=actor, expires_at=expires_at)

    def finish(self, session: Session) -> None:
        """Write what is pending, and products.stock = the available units of every product
        the batch reserved (as ``stock._sync_products``)."""
        self.write_pending(session)
        rows = []
        for pid in sorted(self.touched):
            if pid in self.levels.products:
                units = sum(stock.level_available(lv) for lv in self.levels.get(pid, []))
                rows.append({"stock": units, "id": pid})
                # the product's object in this session, if any, is told as a flush would
                loaded = session.identity_map.get(identity_key(Product, pid))
                if loaded is not None:
                    set_committed_value(loaded, "stock", units)
        if rows:
            from storeops.orders.batch_intake import update_rows

            update_rows(session, Product.__table__, rows)
        self.touched.clear()


@event.listens_for(Session, "do_orm_execute")
def _pending_first(state: ORMExecuteState) -> None:
    """A statement run while a batch holds writes: they go first (it may read them)."""
    batch = state.session.info.get(KEY)
    if batch is not None and (batch.changed or batch.movements or batch.reservations) \
            and not holding_writes(state.session):
        batch.write_pending(state.session)


@contextmanager
def reserving(session: Session, store_id: int, product_ids: Iterable[int],
              fresh_lines: dict[int, Sequence[Any]] | None = None, *,
              read_rows: Sequence[Sequence[tuple[Any, ...]]] | None = None
              ) -> Iterator[StockBatch]:
    """Lock the levels of ``product_ids`` once; inside, ``reserve_order`` of an order in
    ``fresh_lines`` reserves from them. products.stock is updated on a normal exit.
    ``read_rows``: the rows of :func:`storeops.inventory.service.batch_stock_reads` of the
    same products, read already in this transaction (the products locked)."""
    if stock_batch(session) is not None:
        raise RuntimeError("reserving: a stock batch is open on this session already")
    batch = StockBatch(session, store_id, product_ids,
                       fresh_lines if fresh_lines is not None else {}, read_rows)
    session.info[KEY] = batch
    try:
        yield batch
        batch.finish(session)
    finally:
        session.info.pop(KEY, None)


def reserve_orders(session: Session, orders: Sequence[Order], *, actor: str | None,
                   expires_at: datetime | None = None
                   ) -> dict[int, list[StockReservation] | stock.OutOfStock]:
    """Reserve what each of ``orders`` (one store's) does not hold yet, all or nothing per
    order, in the given order: order id → its held reservations, or the OutOfStock that
    refused it (that order changed nothing). All the orders' levels are locked once."""
    from storeops.orders.models import OrderLine

    if not orders:
        return {}
    ids = [o.id for o in orders]
    lines: dict[int, list[Any]] = defaultdict(list)
    for line in session.scalars(select(OrderLine).where(OrderLine.order_id.in_(ids))
                                .order_by(OrderLine.order_id, OrderLine.line_no)):
        lines[line.order_id].append(line)
    out: dict[int, list[StockReservation] | stock.OutOfStock] = {}
    with reserving(session, orders[0].store_id,
                   {line.product_id for ls in lines.values() for line in ls}) as batch:
        taken: dict[int, int] = defaultdict(int)  # read under the lock
        for line_id, qty in session.execute(
                select(StockReservation.order_line_id, StockReservation.quantity)
                .where(StockReservation.order_id.in_(ids),
                       StockReservation.state.in_(("held", "shipped")))):
            taken[line_id] += qty
        for order in orders:
            todo = [(line, line.quantity - taken[line.id]) for line in lines[order.id]]
            try:
                batch.reserve_todo(session, order, todo, actor=actor, expires_at=expires_at)
            except stock.OutOfStock as exc:
                out[order.id] = exc
                continue
            out[order.id] = []
    held: dict[int, list[StockReservation]] = defaultdict(list)
    for r in session.scalars(select(StockReservation).where(
            StockReservation.order_id.in_(ids), StockReservation.state == "held")
            .order_by(StockReservation.id)):
        held[r.order_id].append(r)
    for order_id, result in out.items():
        if not isinstance(result, stock.OutOfStock):
            out[order_id] = held[order_id]
    return out
