"""The stock ledger: warehouses, receipts, adjustments, counts, transfers and the reservations
of orders, without ever selling a unit that is not there.

Conventions (as every service of the project): functions take an open ``Session``, flush but
never commit; the caller's unit of work commits. ``actor`` says who acted ("user:alice",
"connector:jd", "api:token", "system" …).

Every change of a stock level writes one :class:`StockMovement` (two for a transfer, with one
reference), so that ``on_hand`` is always the sum of the movements' ``on_hand_delta`` and
``reserved`` the sum of their ``reserved_delta`` (:func:`check`).

Locking (no oversell): every function that changes stock first calls
:func:`storeops.inventory.locking.lock_for_stock_write` (SQLite: the write lock, taken before
anything is read), then locks the products rows and their ``stock_levels`` rows with
``SELECT … FOR UPDATE`` ordered by id (PostgreSQL; re-read under the lock), decides, and writes.
Nothing is decided on figures read before the lock.

``products.stock`` (the cockpit's 库存) is kept equal to the SKU's available units summed over
its warehouses (each warehouse counted from 0: a buffer above the free units of one warehouse
does not eat into another's). The store's ``data_version`` is *not* bumped by stock changes:
the cockpit reads ``products.stock`` from the database directly (no analytics snapshot holds
it), and bumping it would make every reservation refresh the snapshot and serialise all stock
writers of a store on the store's row.
"""

from __future__ import annotations

import uuid
from collections import defaultdict, namedtuple
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import any_, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from storeops.catalog.models import Product, Store
from storeops.common.errors import StoreopsError
from storeops.inventory.allocation import Need, Shortage, WarehouseInfo, allocate
from storeops.inventory.locking import lock_for_stock_write
from storeops.inventory.models import StockLevel, StockMovement, StockReservation, Warehouse

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from storeops.orders.models import Order

__all__ = [
    "DEFAULT_WAREHOUSE_CODE", "DEFAULT_WAREHOUSE_NAME", "REASONS", "Discrepancy", "OutOfStock",
    "Shortage", "StockError", "add_warehouse", "adjust", "adopt_product_stock", "availability",
    "check", "check_details", "count", "ensure_default_warehouse", "held_reservations",
    "list_warehouses", "receive", "release_order", "reserve_order", "set_safety_buffer",
    "ship_order_stock", "stock_rows", "transfer",
]

DEFAULT_WAREHOUSE_CODE = "default"
DEFAULT_WAREHOUSE_NAME = "默认仓"
REASONS = ("receipt", "reservation", "release", "shipment", "return", "adjustment", "count",
           "transfer")


class StockError(StoreopsError, ValueError):
    """A stock change refused: unknown SKU or warehouse, a figure that would go negative …"""


class OutOfStock(StockError):
    """An order asks for more than is available; nothing was reserved."""

    def __init__(self, shortages: Sequence[Shortage], order_ref: str | None = None) -> None:
        self.shortages = list(shortages)
        detail = "; ".join(f"{s.sku} (requested {s.requested}, available {s.available})"
                           for s in self.shortages)
        where = f"order {order_ref}: " if order_ref else ""
        super().__init__(f"{where}out of stock: {detail}", key="stock.out_of_stock",
                         order=order_ref or "-", detail=detail)


# --- lookups ------------------------------------------------------------------------------


def _store(session: Session, store_id: int) -> Store:
    store = session.get(Store, store_id)
    if store is None:
        raise StockError(f"no store with id {store_id}", key="stock.no_store", store=store_id)
    return store


def _product(session: Session, store_id: int, sku: str) -> Product:
    product = session.scalar(select(Product).where(Product.store_id == store_id,
                                                   Product.platform_sku_id == sku))
    if product is None:
        store = _store(session, store_id)
        raise StockError(f"unknown SKU {sku!r} in store {store.name!r}", key="stock.unknown_sku",
                         sku=sku, store=store.name)
    return product


def ensure_default_warehouse(session: Session, store_id: int) -> Warehouse:
    """The store's default warehouse (code ``default``, 默认仓), created when missing."""
    found = session.scalar(select(Warehouse).where(Warehouse.store_id == store_id,
                                                   Warehouse.is_default.is_(True))
                           .order_by(Warehouse.id).limit(1))
    if found is not None:
        return found
    found = session.scalar(select(Warehouse).where(Warehouse.store_id == store_id,
                                                   Warehouse.code == DEFAULT_WAREHOUSE_CODE))
    if found is not None:
        found.is_default = True
        session.flush()
        return found
    wh = Warehouse(store_id=store_id, code=DEFAULT_WAREHOUSE_CODE, name=DEFAULT_WAREHOUSE_NAME,
                   is_default=True, priority=0)
    try:
        with session.begin_nested():  # another writer creating it at the same moment wins
            session.add(wh)
            session.flush()
    except IntegrityError:
        existing = session.scalar(select(Warehouse).where(
            Warehouse.store_id == store_id, Warehouse.code == DEFAULT_WAREHOUSE_CODE))
        if existing is None:
            raise
        return existing
    return wh


def list_warehouses(session: Session, store_id: int, *, as_rows: bool = False,
                    read_rows: Sequence[tuple[Any, ...]] | None = None) -> list[Any]:
    """The store's warehouses, default first, then by priority and id (the default is
    created when missing). ``as_rows``: rows of the table's columns, not ORM objects (what a
    batch of reservations reads); ``read_rows``: those rows read already in this
    transaction (:func:`batch_stock_reads`)."""
    query = (select(*Warehouse.__table__.c) if as_rows else select(Warehouse)).where(
        Warehouse.store_id == store_id)

    def read() -> list[Any]:
        return list(session.execute(query).all() if as_rows else session.scalars(query))

    rows = read() if read_rows is None else [WarehouseRow(*r) for r in read_rows]
    if not any(w.is_default for w in rows):
        ensure_default_warehouse(session, store_id)
        rows = read()
    return sorted(rows, key=lambda w: (not w.is_default, w.priority, w.id))


def add_warehouse(session: Session, store_id: int, code: str, name: str, *,
                  priority: int = 0) -> Warehouse:
    """A new warehouse of the store; a code already used is refused."""
    store = _store(session, store_id)
    code = code.strip()
    if not code or len(code) > 40:
        raise StockError(f"bad warehouse code {code!r} (1 to 40 characters)",
                         key="stock.bad_warehouse_code", code=code)
    ensure_default_warehouse(session, store_id)
    if session.scalar(select(Warehouse.id).where(Warehouse.store_id == store_id,
                                                 Warehouse.code == code)) is not None:
        raise StockError(f"store {store.name!r} already has a warehouse {code!r}",
                         key="stock.warehouse_exists", code=code, store=store.name)
    wh = Warehouse(store_id=store_id, code=code, name=name.strip() or code, is_default=False,
                   priority=priority)
    session.add(wh)
    session.flush()
    return wh


def _warehouse(session: Session, store_id: int, code: str | None) -> Warehouse:
    """The warehouse with ``code`` (or, failing that, that name); None: the default."""
    if code is None:
        return ensure_default_warehouse(session, store_id)
    wh = session.scalar(select(Warehouse).where(Warehouse.store_id == store_id,
                                                Warehouse.code == code))
    if wh is None:
        wh = session.scalar(select(Warehouse).where(Warehouse.store_id == store_id,
                                                    Warehouse.name == code)
                            .order_by(Warehouse.id).limit(1))
    if wh is None:
        store = _store(session, store_id)
        known = ", ".join(w.code for w in list_warehouses(session, store_id))
        raise StockError(f"no warehouse {code!r} in store {store.name!r} (warehouses: {known})",
                         key="stock.unknown_warehouse", warehouse=code, store=store.name,
                         known=known)
    return wh


# --- locking and bookkeeping --------------------------------------------------------------


class _Locked(dict[int, list[StockLevel]]):
    """Locked stock levels per product id, with the locked products rows (``products``):
    held here because the session's identity map keeps objects only while referenced."""

    products: dict[int, Any]  # Product objects, or rows (_lock's product_rows)


# what a batch of reservations reads of a product it locks (product_rows=True)
LOCKED_PRODUCT_COLUMNS = (Product.id, Product.platform_sku_id, Product.title,
                          Product.seller_code, Product.row_version, Product.stock)
# _lock's statements, built once (building one costs about a third of running it); the
# ids are one expanding parameter
_IDS = bindparam("ids", expanding=True)
_ARRAY = bindparam("ids")
_LEVEL_KEYS = [c.key for c in StockLevel.__table__.c]
_LEVEL_PRODUCT = _LEVEL_KEYS.index("product_id")
_LOCK_PRODUCTS = (select(Product).where(Product.id.in_(_IDS)).order_by(Product.id)
                  .with_for_update().execution_options(populate_existing=True))


def _rows_locked(columns: Iterable[Any], key: Any, order: Any, array: bool = False) -> Any:
    """``columns`` of the rows whose ``key`` is one of the ids, locked in ``order``: the ids
    as one expanding IN parameter, or (``array``, PostgreSQL) as one array parameter."""
    match = key == any_(_ARRAY) if array else key.in_(_IDS)
    return select(*columns).where(match).order_by(order).with_for_update()


_LOCK_PRODUCT_ROWS = _rows_locked(LOCKED_PRODUCT_COLUMNS, Product.id, Product.id)
_LOCK_LEVELS = (select(StockLevel).where(StockLevel.product_id.in_(_IDS))
                .order_by(StockLevel.id).with_for_update()
                .execution_options(populate_existing=True))


# PostgreSQL: what a batch of reservations starts with, read with other statements in one
# round trip (storeops.db.pipelined.read_together): the store's warehouses, and its products
# locked in id order (one array parameter: an expanding IN is not a statement built once)
_WAREHOUSE_ROWS = select(*Warehouse.__table__.c).where(Warehouse.store_id == bindparam("store_id"))
_LOCK_PRODUCT_ROWS_ANY = _rows_locked(LOCKED_PRODUCT_COLUMNS, Product.id, Product.id, True)
_LOCK_LEVEL_ROWS_ANY = _rows_locked(StockLevel.__table__.c, StockLevel.product_id, StockLevel.id,
                                    True)
WarehouseRow = namedtuple("WarehouseRow", [c.key for c in Warehouse.__table__.c])  # type: ignore[misc]
LockedProduct = namedtuple("LockedProduct", [c.key for c in LOCKED_PRODUCT_COLUMNS])  # type: ignore[misc]


def batch_stock_reads(store_id: int, product_ids: Iterable[int]
                      ) -> list[tuple[Any, dict[str, Any]]]:
    """PostgreSQL: the reads that start a batch of reservations of ``product_ids`` (statement,
    parameters), for :func:`storeops.db.pipelined.read_together`; their rows go to
    :func:`storeops.inventory.batch_reserve.reserving` (``read_rows``)."""
    ids = sorted(set(product_ids))
    return [(_WAREHOUSE_ROWS, {"store_id": store_id}), (_LOCK_PRODUCT_ROWS_ANY, {"ids": ids}),
            (_LOCK_LEVEL_ROWS_ANY, {"ids": ids})]


def _adopt_levels(session: Session, rows: Sequence[tuple[Any, ...]]) -> list[StockLevel]:
    """The ORM objects of stock_levels rows read (and locked) in this transaction, as a query
    with populate_existing gives them: the session's own object told the row's values, or
    a new one in the session as if loaded."""
    out = []
    for row in rows:
        values = dict(zip(_LEVEL_KEYS, row, strict=True))
        level = session.identity_map.get(identity_key(StockLevel, values["id"]))
        if level is None:
            level = StockLevel(**values)
            make_transient_to_detached(level)  # no pending change: as loaded
            session.add(level)
        else:
            for key, value in values.items():
                set_committed_value(level, key, value)
        out.append(level)
    return out


def _lock(session: Session, product_ids: Iterable[int], *, product_rows: bool = False,
          locked_rows: Sequence[tuple[Any, ...]] | None = None,
          level_rows: Sequence[tuple[Any, ...]] | None = None) -> _Locked:
    """Lock the products and all their stock levels (PostgreSQL row locks, ordered by id;
    SQLite: the write lock) and return the levels, re-read under the lock, per product.
    ``product_rows``: the products as rows of ``LOCKED_PRODUCT_COLUMNS``, not ORM objects
    (a batch writes their stock itself); ``locked_rows`` and ``level_rows``: those rows and
    the levels' rows of the same products, locked and read already in this transaction
    (:func:`batch_stock_reads`)."""
    lock_for_stock_write(session)
    ids = sorted(set(product_ids))
    out = _Locked({pid: [] for pid in ids})
    out.products = {}
    if not ids:
        return out
    read_all = locked_rows is not None  # every product among the rows read already
    if locked_rows is not None:
        out.products = {r[0]: LockedProduct(*r) for r in locked_rows if r[0] in out}
        if len(out.products) < len(ids):  # a product not among them: read all as usual
            read_all = False
            out.products = {p.id: p for p in session.execute(_LOCK_PRODUCT_ROWS, {"ids": ids})}
    elif product_rows:
        out.products = {p.id: p for p in session.execute(_LOCK_PRODUCT_ROWS, {"ids": ids})}
    else:
        # re-read (populate_existing): products.stock is written from these objects, and an
        # object loaded before the lock could hold a figure another writer has changed since
        out.products = {p.id: p for p in session.scalars(_LOCK_PRODUCTS, {"ids": ids})}
    if read_all and level_rows is not None:
        levels = _adopt_levels(session, [r for r in level_rows if r[_LEVEL_PRODUCT] in out])
    else:
        levels = session.scalars(_LOCK_LEVELS, {"ids": ids}).all()
    for level in levels:
        out[level.product_id].append(level)
    return out


def _level(session: Session, levels: dict[int, list[StockLevel]], store_id: int,
           product_id: int, warehouse_id: int) -> StockLevel:
    """The (locked) level of a product in a warehouse, created at zero when missing."""
    for level in levels.setdefault(product_id, []):
        if level.warehouse_id == warehouse_id:
            return level
    level = StockLevel(store_id=store_id, warehouse_id=warehouse_id, product_id=product_id,
                       on_hand=0, reserved=0, safety_buffer=0)
    try:
        with session.begin_nested():
            session.add(level)
            session.flush()
    except IntegrityError:  # created meanwhile by another writer (its product lock was free)
        level = session.scalars(
            select(StockLevel).where(StockLevel.warehouse_id == warehouse_id,
                                     StockLevel.product_id == product_id)
            .with_for_update().execution_options(populate_existing=True)).one()
    levels[product_id].append(level)
    return level


def level_available(level: StockLevel) -> int:
    """Free units of one level: on hand − reserved − safety buffer, never below 0."""
    return max(0, level.on_hand - level.reserved - level.safety_buffer)


class PendingWrites(Protocol):
    """Where a batch of reservations keeps its writes until it writes them together
    (:class:`storeops.inventory.batch_reserve.StockBatch`), instead of ORM objects."""

    def level_changed(self, level: StockLevel, on_hand: int, reserved: int) -> None: ...

    def movement(self, row: dict[str, Any]) -> None: ...

    def reservation(self, row: dict[str, Any]) -> Any: ...


def _move(session: Session, level: StockLevel, *, on_hand: int = 0, reserved: int = 0,
          reason: str, actor: str | None, reference: str | None = None,
          note: str | None = None, sku: str | None = None,
          warehouse: str | None = None, pending: PendingWrites | None = None
          ) -> StockMovement | None:
    """Apply a change to a locked level and write its movement; refuses any change that would
    leave on hand or reserved negative, or reserved above on hand. ``pending``: the change
    and its movement go there (None is returned)."""
    new_on_hand = level.on_hand + on_hand
    new_reserved = level.reserved + reserved
    if new_on_hand < 0 or new_reserved < 0 or new_reserved > new_on_hand:
        sku = sku or session.get(Product, level.product_id).platform_sku_id  # type: ignore[union-attr]
        warehouse = warehouse or session.get(Warehouse, level.warehouse_id).code  # type: ignore[union-attr]
        raise StockError(
            f"SKU {sku!r} in warehouse {warehouse!r}: {reason} refused, it would leave"
            f" on hand {new_on_hand} and reserved {new_reserved} (now {level.on_hand} and"
            f" {level.reserved}; neither may go below 0 nor reserved above on hand)",
            key="stock.would_go_negative", sku=sku, warehouse=warehouse,
            on_hand=new_on_hand, reserved=new_reserved, was_on_hand=level.on_hand,
            was_reserved=level.reserved)
    row = {"store_id": level.store_id, "warehouse_id": level.warehouse_id,
           "product_id": level.product_id, "on_hand_delta": on_hand,
           "reserved_delta": reserved, "reason": reason, "actor": actor,
           "reference": reference, "note": note}
    if pending is not None:
        pending.level_changed(level, new_on_hand, new_reserved)
        pending.movement(row)
        return None
    level.on_hand = new_on_hand
    level.reserved = new_reserved
    movement = StockMovement(**row)
    session.add(movement)
    return movement


def _sync_products(session: Session, levels: _Locked, product_ids: Iterable[int]) -> None:
    """products.stock = the SKU's available units over its warehouses (locked levels)."""
    session.flush()
    for pid in set(product_ids):
        product = levels.products.get(pid)
        if product is not None:
            product.stock = sum(level_available(lv) for lv in levels.get(pid, []))
    session.flush()


# --- manual changes -----------------------------------------------------------------------


def _one(session: Session, store_id: int, sku: str, warehouse: str | None
         ) -> tuple[Product, Warehouse, _Locked, StockLevel]:
    lock_for_stock_write(session)
    product = _product(session, store_id, sku)
    wh = _warehouse(session, store_id, warehouse)
    levels = _lock(session, [product.id])
    return product, wh, levels, _level(session, levels, store_id, product.id, wh.id)


def _positive(qty: int, what: str, sku: str) -> None:
    if qty <= 0:
        raise StockError(f"SKU {sku!r}: {what} must be a positive number of units, not {qty}",
                         key="stock.not_positive", sku=sku, qty=qty)


def receive(session: Session, store_id: int, sku: str, qty: int, *,
            warehouse: str | None = None, actor: str | None, note: str | None = None,
            reference: str | None = None, reason: str = "receipt") -> StockLevel:
    """``qty`` units arrive in ``warehouse`` (code or name; None: the default). ``reason``
    "return" records goods coming back from a buyer."""
    _positive(qty, "a receipt", sku)
    if reason not in ("receipt", "return"):
        raise ValueError(f"receive: reason {reason!r} is neither receipt nor return")
    product, wh, levels, level = _one(session, store_id, sku, warehouse)
    _move(session, level, on_hand=qty, reason=reason, actor=actor, reference=reference,
          note=note, sku=sku, warehouse=wh.code)
    _sync_products(session, levels, [product.id])
    return level


def adjust(session: Session, store_id: int, sku: str, delta: int, *,
           warehouse: str | None = None, actor: str | None, note: str | None = None
           ) -> StockLevel:
    """On hand ± ``delta`` (damage, loss, found goods …); ``note`` says why."""
    if delta == 0:
        raise StockError(f"SKU {sku!r}: an adjustment of 0 changes nothing",
                         key="stock.zero_adjustment", sku=sku)
    product, wh, levels, level = _one(session, store_id, sku, warehouse)
    _move(session, level, on_hand=delta, reason="adjustment", actor=actor, note=note,
          sku=sku, warehouse=wh.code)
    _sync_products(session, levels, [product.id])
    return level


def count(session: Session, store_id: int, sku: str, counted: int, *,
          warehouse: str | None = None, actor: str | None, note: str | None = None
          ) -> StockLevel:
    """A stock count (盘点): on hand becomes ``counted``; the movement is the difference (also
    written when it is 0, as the record of the count)."""
    if counted < 0:
        raise StockError(f"SKU {sku!r}: a counted figure cannot be negative ({counted})",
                         key="stock.negative_count", sku=sku, qty=counted)
    product, wh, levels, level = _one(session, store_id, sku, warehouse)
    _move(session, level, on_hand=counted - level.on_hand, reason="count", actor=actor,
          note=note, sku=sku, warehouse=wh.code)
    _sync_products(session, levels, [product.id])
    return level


def transfer(session: Session, store_id: int, sku: str, qty: int, *, from_warehouse: str,
             to_warehouse: str, actor: str | None, note: str | None = None
             ) -> tuple[StockLevel, StockLevel]:
    """Move ``qty`` free units between two warehouses: two movements with one reference."""
    _positive(qty, "a transfer", sku)
    lock_for_stock_write(session)
    product = _product(session, store_id, sku)
    src = _warehouse(session, store_id, from_warehouse)
    dst = _warehouse(session, store_id, to_warehouse)
    if src.id == dst.id:
        raise StockError(f"SKU {sku!r}: transfer from warehouse {src.code!r} to itself",
                         key="stock.same_warehouse", sku=sku, warehouse=src.code)
    levels = _lock(session, [product.id])
    a = _level(session, levels, store_id, product.id, src.id)
    b = _level(session, levels, store_id, product.id, dst.id)
    free = a.on_hand - a.reserved
    if qty > free:
        raise StockError(
            f"SKU {sku!r} in warehouse {src.code!r}: cannot transfer {qty}, only {free}"
            f" unreserved on hand", key="stock.transfer_short", sku=sku, warehouse=src.code,
            qty=qty, free=free)
    ref = f"transfer-{uuid.uuid4().hex[:12]}"
    _move(session, a, on_hand=-qty, reason="transfer", actor=actor, reference=ref,
          note=note or f"to {dst.code}", sku=sku, warehouse=src.code)
    _move(session, b, on_hand=qty, reason="transfer", actor=actor, reference=ref,
          note=note or f"from {src.code}", sku=sku, warehouse=dst.code)
    _sync_products(session, levels, [product.id])
    return a, b


def set_safety_buffer(session: Session, store_id: int, sku: str, buffer: int, *,
                      warehouse: str | None = None) -> StockLevel:
    """Units of ``sku`` in ``warehouse`` never offered for sale (not a movement: on hand and
    reserved do not change)."""
    if buffer < 0:
        raise StockError(f"SKU {sku!r}: a safety buffer cannot be negative ({buffer})",
                         key="stock.negative_buffer", sku=sku, qty=buffer)
    product, _wh, levels, level = _one(session, store_id, sku, warehouse)
    level.safety_buffer = buffer
    _sync_products(session, levels, [product.id])
    return level


def adopt_product_stock(session: Session, store_id: int, *, actor: str | None,
                        warehouse: str | None = None) -> int:
    """Opening balances: every SKU of the store that has a ``products.stock`` figure (from a
    products file, the demo) but no stock level yet gets it as on hand in ``warehouse`` (the
    default), one ``count`` movement each. Returns the number of SKUs taken over; SKUs
    already in the ledger are left alone, so running it again does nothing."""
    lock_for_stock_write(session)
    wh = _warehouse(session, store_id, warehouse)
    stocked = select(StockLevel.product_id).where(StockLevel.store_id == store_id)
    todo = session.execute(
        select(Product.platform_sku_id, Product.stock)
        .where(Product.store_id == store_id, Product.stock.is_not(None), Product.stock > 0,
               Product.id.not_in(stocked))
        .order_by(Product.id)).all()
    for sku, units in todo:
        count(session, store_id, sku, int(units), warehouse=wh.code, actor=actor,
              note="opening balance (products.stock)")
    return len(todo)


# --- orders -------------------------------------------------------------------------------


def _order_ref(order: Order) -> str:
    return order.platform_order_id


def reserve_order(session: Session, order: Order, *, actor: str | None,
                  expires_at: datetime | None = None) -> list[StockReservation]:
    """Hold the stock of every line of ``order``, all or nothing.

    Lines already held (or shipped) are not held twice: calling it again reserves only what a
    changed order asks for beyond its reservations, and returns the order's held reservations.
    Raises :class:`OutOfStock` (with ``.shortages``) and changes nothing when any SKU lacks
    units. ``expires_at``: an unpaid order's hold ends then (see storeops.orders.expiry).

    Inside :func:`storeops.inventory.batch_reserve.reserving` (a page of new orders), a new
    order's stock is taken from the page's levels locked once, without reading again."""
    from storeops.inventory.batch_reserve import stock_batch
    from storeops.orders.models import OrderLine

    batch = stock_batch(session)
    if batch is not None and order.id in batch.fresh_lines:
        return batch.reserve_fresh(session, order, actor=actor, expires_at=expires_at)
    lock_for_stock_write(session)
    lines = session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)
                            .order_by(OrderLine.line_no)).all()
    if not lines:
        return held_reservations(session, order.id)
    warehouses = list_warehouses(session, order.store_id)
    # locked before reading what the order already holds: two calls for one order at once
    # cannot both reserve it
    levels = _lock(session, [line.product_id for line in lines])
    taken: dict[int, int] = defaultdict(int)
    for line_id, qty in session.execute(
            select(StockReservation.order_line_id, StockReservation.quantity)
            .where(StockReservation.order_id == order.id,
                   StockReservation.state.in_(("held", "shipped")))):
        taken[line_id] += qty
    todo = [(line, line.quantity - taken[line.id]) for line in lines
            if line.quantity - taken[line.id] > 0]
    if todo:
        needs, _made = _reserve_lines(session, order, todo, levels, warehouses, actor=actor,
                                      expires_at=expires_at)
        _sync_products(session, levels, {n.product_id for n in needs})
    return held_reservations(session, order.id)


def _reserve_lines(session: Session, order: Order, todo: Sequence[tuple[Any, int]],
                   levels: _Locked, warehouses: Sequence[Warehouse], *, actor: str | None,
                   expires_at: datetime | None, pending: PendingWrites | None = None
                   ) -> tuple[list[Need], list[Any]]:
    """Reserve (line, units) of ``order`` from the locked ``levels``, all or nothing (raises
    :class:`OutOfStock`, nothing changed); returns the needs met and the new reservations
    (products.stock is the caller's to bring up to date). ``pending``: the writes are kept
    there (the reservations returned are its rows) instead of ORM objects."""
    # the products rows were loaded (and locked) by _lock: no query here
    skus = {pid: levels.products[pid].platform_sku_id
            for pid in {line.product_id for line, _ in todo}}
    needs = [Need(line.id, line.product_id, skus[line.product_id], qty)
             for line, qty in todo]
    by_key = {(lv.warehouse_id, lv.product_id): lv
              for lvs in levels.values() for lv in lvs}
    plan = allocate(needs, [WarehouseInfo(w.id, w.code, w.is_default, w.priority)
                            for w in warehouses],
                    {key: level_available(lv) for key, lv in by_key.items()})
    if not plan.ok:
        raise OutOfStock(plan.shortages, _order_ref(order))
    codes = {w.id: w.code for w in warehouses}
    made: list[Any] = []
    for pick in plan.picks:
        level = by_key[(pick.warehouse_id, pick.product_id)]
        _move(session, level, reserved=pick.quantity, reason="reservation", actor=actor,
              reference=_order_ref(order), sku=skus[pick.product_id],
              warehouse=codes[pick.warehouse_id], pending=pending)
        row = {"store_id": order.store_id, "order_id": order.id, "order_line_id": pick.key,
               "warehouse_id": pick.warehouse_id, "product_id": pick.product_id,
               "quantity": pick.quantity, "state": "held", "expires_at": expires_at}
        made.append(pending.reservation(row) if pending is not None
                    else StockReservation(**row))
    if pending is None:
        session.add_all(made)
    return needs, made


def held_reservations(session: Session, order_id: int) -> list[StockReservation]:
    """The order's reservations still holding stock."""
    return list(session.scalars(select(StockReservation).where(
        StockReservation.order_id == order_id, StockReservation.state == "held")
        .order_by(StockReservation.id)))


def _settle(session: Session, order: Order, *, actor: str | None, to_state: str, reason: str,
            note: str | None) -> list[StockReservation]:
    lock_for_stock_write(session)
    held = list(session.scalars(
        select(StockReservation).where(StockReservation.order_id == order.id,
                                       StockReservation.state == "held")
        .order_by(StockReservation.id).with_for_update()
        .execution_options(populate_existing=True)))
    held = [r for r in held if r.state == "held"]
    if not held:
        return []
    levels = _lock(session, [r.product_id for r in held])
    by_key = {(lv.warehouse_id, lv.product_id): lv for lvs in levels.values() for lv in lvs}
    shipping = to_state == "shipped"
    for r in held:
        level = by_key[(r.warehouse_id, r.product_id)]
        _move(session, level, on_hand=-r.quantity if shipping else 0, reserved=-r.quantity,
              reason=reason, actor=actor, reference=_order_ref(order), note=note)
        r.state = to_state
    _sync_products(session, levels, levels.keys())
    return held


def release_order(session: Session, order: Order, *, actor: str | None,
                  reason: str | None = None) -> list[StockReservation]:
    """Give back the stock the order holds (cancelled, unpaid past its deadline …); returns
    the reservations released (none: nothing was held)."""
    return _settle(session, order, actor=actor, to_state="released", reason="release",
                   note=reason)


def ship_order_stock(session: Session, order: Order, *, actor: str | None
                     ) -> list[StockReservation]:
    """The order's held units leave the warehouse: on hand and reserved both go down."""
    return _settle(session, order, actor=actor, to_state="shipped", reason="shipment",
                   note=None)


# --- reading ------------------------------------------------------------------------------


def availability(session: Session, store_id: int, skus: Sequence[str]) -> dict[str, int]:
    """Available units of each SKU over the store's warehouses (0 for an unknown SKU)."""
    out = dict.fromkeys(skus, 0)
    if not skus:
        return out
    rows = session.execute(
        select(Product.platform_sku_id, StockLevel.on_hand, StockLevel.reserved,
               StockLevel.safety_buffer)
        .join(StockLevel, StockLevel.product_id == Product.id)
        .where(Product.store_id == store_id, Product.platform_sku_id.in_(list(set(skus))))
    ).all()
    for sku, on_hand, reserved, buffer in rows:
        out[sku] += max(0, on_hand - reserved - buffer)
    return out


def stock_rows(session: Session, store_id: int, sku: str | None = None
               ) -> list[dict[str, Any]]:
    """Stock per SKU and warehouse: dicts of sku, warehouse (its code), on_hand, reserved,
    available (and safety_buffer, warehouse_name), by SKU then warehouse."""
    query = (select(Product.platform_sku_id, Warehouse.code, Warehouse.name, StockLevel.on_hand,
                    StockLevel.reserved, StockLevel.safety_buffer)
             .join(StockLevel, StockLevel.product_id == Product.id)
             .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
             .where(StockLevel.store_id == store_id)
             .order_by(Product.platform_sku_id, Warehouse.is_default.desc(),
                       Warehouse.priority, Warehouse.id))
    if sku is not None:
        _product(session, store_id, sku)  # an unknown SKU is an error, not an empty list
        query = query.where(Product.platform_sku_id == sku)
    return [
        {"sku": s, "warehouse": code, "on_hand": on_hand, "reserved": reserved,
         "available": max(0, on_hand - reserved - buffer), "safety_buffer": buffer,
         "warehouse_name": name}
        for s, code, name, on_hand, reserved, buffer in session.execute(query)
    ]


@dataclass(frozen=True)
class Discrepancy:
    """One thing :func:`check` found wrong: ``key`` (``stock.check.<key>`` in the catalogs)
    and its parameters, and the English text."""

    key: str
    params: dict[str, Any]
    text: str

    def localised(self, lang: str) -> str:
        from storeops.web.i18n import catalog, translate

        full = f"stock.check.{self.key}"
        return translate(lang, full, **self.params) if full in catalog(lang) else self.text


def check(session: Session, store_id: int | None = None) -> list[str]:
    """Every discrepancy of the ledger in English (empty: all is well); see
    :func:`check_details`."""
    return [d.text for d in check_details(session, store_id)]


def check_details(session: Session, store_id: int | None = None) -> list[Discrepancy]:
    """A level whose on hand or reserved differs from the sum of its movements, a negative
    figure, reserved above on hand, reserved differing from the order reservations held
    there, movements or reservations without a level."""
    stores = dict(session.execute(select(Store.id, Store.name)).all())
    levels_q = (select(StockLevel.id, StockLevel.store_id, StockLevel.warehouse_id,
                       StockLevel.product_id, StockLevel.on_hand, StockLevel.reserved,
                       StockLevel.safety_buffer, Product.platform_sku_id, Warehouse.code)
                .join(Product, Product.id == StockLevel.product_id)
                .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
                .order_by(StockLevel.store_id, Product.platform_sku_id, Warehouse.code))
    moves_q = (select(StockMovement.warehouse_id, StockMovement.product_id,
                      func.sum(StockMovement.on_hand_delta), func.sum(StockMovement.reserved_delta))
               .group_by(StockMovement.warehouse_id, StockMovement.product_id))
    held_q = (select(StockReservation.warehouse_id, StockReservation.product_id,
                     func.sum(StockReservation.quantity))
              .where(StockReservation.state == "held")
              .group_by(StockReservation.warehouse_id, StockReservation.product_id))
    if store_id is not None:
        levels_q = levels_q.where(StockLevel.store_id == store_id)
        moves_q = moves_q.where(StockMovement.store_id == store_id)
        held_q = held_q.where(StockReservation.store_id == store_id)
    moves = {(w, p): (int(a or 0), int(b or 0)) for w, p, a, b in session.execute(moves_q)}
    held = {(w, p): int(q or 0) for w, p, q in session.execute(held_q)}
    found: list[Discrepancy] = []
    seen = set()
    for (_id, sid, wid, pid, on_hand, reserved, buffer, sku,
         code) in session.execute(levels_q):
        seen.add((wid, pid))
        at = {"store": stores.get(sid, sid), "sku": sku, "warehouse": code}
        where = f"store {at['store']!r}, SKU {sku!r}, warehouse {code!r}"

        def add(key: str, text: str, at: dict[str, Any] = at, where: str = where,
                **params: Any) -> None:
            found.append(Discrepancy(key, {**at, **params}, f"{where}: {text}"))

        m_on_hand, m_reserved = moves.get((wid, pid), (0, 0))
        if on_hand != m_on_hand:
            add("on_hand_vs_movements", f"on hand {on_hand} but its movements sum to"
                f" {m_on_hand}", value=on_hand, total=m_on_hand)
        if reserved != m_reserved:
            add("reserved_vs_movements", f"reserved {reserved} but its movements sum to"
                f" {m_reserved}", value=reserved, total=m_reserved)
        for name, value in (("on_hand", on_hand), ("reserved", reserved),
                            ("safety_buffer", buffer)):
            if value < 0:
                add(f"negative_{name}", f"{name.replace('_', ' ')} is negative ({value})",
                    value=value)
        if reserved > on_hand:
            add("reserved_above_on_hand", f"reserved {reserved} is above on hand {on_hand}",
                value=reserved, total=on_hand)
        if reserved != held.get((wid, pid), 0):
            add("reserved_vs_orders", f"reserved {reserved} but orders hold"
                f" {held.get((wid, pid), 0)}", value=reserved, total=held.get((wid, pid), 0))
    for w, p in sorted(set(moves) - seen):
        if moves[(w, p)] != (0, 0):
            found.append(Discrepancy(
                "orphan_movements", {"warehouse_id": w, "product_id": p,
                                     "value": moves[(w, p)][0], "total": moves[(w, p)][1]},
                f"warehouse id {w}, product id {p}: movements without a stock level (on hand"
                f" {moves[(w, p)][0]}, reserved {moves[(w, p)][1]})"))
    for w, p in sorted(set(held) - seen):
        found.append(Discrepancy(
            "orphan_reservations", {"warehouse_id": w, "product_id": p, "value": held[(w, p)]},
            f"warehouse id {w}, product id {p}: orders hold {held[(w, p)]} units but there is"
            f" no stock level"))
    return found
