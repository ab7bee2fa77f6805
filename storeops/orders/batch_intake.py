"""Taking in a page of orders at once (the JD sync's pages of 100): ``upsert_orders``.

Each order still goes through the pieces of :func:`storeops.orders.service.upsert_order` —
the same review rules, content hash, masking, events and stage logic, in the same order — but
what the page needs is read once and written together, with plain Core statements rather
than ORM objects where the page owns the rows:

* the page's new orders (those once in the page) and their lines: their column values from
  ``service.prepare``, their ids given before the insert (SQLite, under the write lock: the
  next ids; PostgreSQL: the sequence), one insert each; then each order's "received" event,
  review and stock in page order, as one by one, on :class:`NewOrder` objects (plain values).
  On PostgreSQL the rows are inserted once review and allocation are done, with their final
  stage (or before any other statement the session runs meanwhile: :func:`write_new`); what
  changes on them after their insert (stage, hold reason) is written back at the page's end
  with one UPDATE per set of columns. Not when the brushing rule is on (it counts the orders
  stored before each one): then every order goes through ``upsert_order``;
* the page's stored orders in one query (``service.intake_batch``: upsert_order looks there
  before it asks the database), skipping the ids the caller has just read as absent;
* the page's products and customers in one query each, as :class:`PageProduct` /
  :class:`PageCustomer` rows (changes written back at the end), the missing ones inserted
  together (masked contact and words of each one's first order, as the single path writes
  them);
* the stock of the page's new paid orders: its products and ``stock_levels`` rows locked once
  in id order (:func:`storeops.inventory.batch_reserve.reserving`), each new order reserved
  from them all or nothing (short of stock: held with the shortage, as one by one), and
  ``products.stock`` written once at the end;
* the orders' events kept in order and inserted together at the page's end, the parcels of
  the page's allocated new orders and their lines too (one executemany each: the values bound
  by each column's own bind processor, Python-side defaults filled, as SQLAlchemy would);
* the store's data_version is bumped once per transaction (``service.store_version``).

All or nothing per call: an order the service refuses raises (nothing of the call should be
kept: run it in a savepoint, as the connector does, and take the orders one by one then).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from sqlalchemy import any_, bindparam, event, func, select
from sqlalchemy.orm import ORMExecuteState, Session

from storeops.catalog.models import Product
from storeops.catalog.stores import bump_data_version
from storeops.common.timeutil import utcnow
from storeops.db import pipelined
from storeops.db.types import UTCDateTime
from storeops.inventory.batch_reserve import hold_writes, holding_writes
from storeops.inventory.locking import lock_for_stock_write
from storeops.members.masking import mask_contact
from storeops.members.models import Customer
from storeops.orders import service
from storeops.orders.models import Order, OrderEvent, OrderLine, Shipment, ShipmentLine
from storeops.orders.states import OrderStatus

if TYPE_CHECKING:
    from storeops.catalog.models import Store
    from storeops.orders.incoming import IncomingOrder

KEY = "storeops_intake_batch"  # session.info, read by service.intake_batch
CHUNK = 500  # ids per IN (...) list


@dataclass
class IntakeBatch:
    """What the page's orders share, read once (platform order id → order or None, SKU →
    product, account → customer) and the page's new orders' lines (order id → lines)."""

    store_id: int
    orders: dict[str, Order | None] = field(default_factory=dict)
    products: dict[str, PageProduct] = field(default_factory=dict)
    customers: dict[str, PageCustomer] = field(default_factory=dict)
    fresh_lines: dict[int, Sequence[Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)  # order_events rows, in order
    new_ids: set[int] = field(default_factory=set)  # the orders this page created
    # parcels of the page's new orders allocated in it, written at the page's end:
    # (order id, shipments, {order line id: units} per shipment, its "allocated" event row,
    # warehouse ids)
    shipments: list[tuple[int, list[Shipment], list[dict[int, int]], dict[str, Any],
                          list[int]]] = field(default_factory=list)
    written: list[PageRow] = field(default_factory=list)  # written back at the end
    parcel_ids: list[int] = field(default_factory=list)  # taken from the sequence, unused
    # the page's new orders (and their lines) not inserted yet: see write_new
    unwritten: list[NewOrder] = field(default_factory=list)
    unwritten_lines: list[dict[str, Any]] = field(default_factory=list)
    order_keys: tuple[str, ...] = ()  # the columns their rows were made with


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[i:i + CHUNK] for i in range(0, len(values), CHUNK)]


def buyer_key(account: str | None) -> str:
    """The customer a buyer account is stored as (its platform_account; "" for none)."""
    return (account or "").strip()[:120]


_CUSTOMERS_ANY = select(*(Customer.__table__.c[k] for k in ("id", "platform_account",
                                                            "masked_contact"))).where(
    Customer.__table__.c.store_id == bindparam("store_id"),
    Customer.__table__.c.platform_account == any_(bindparam("accounts")))


def customers_read(store_id: int, accounts: Collection[str | None]
                   ) -> tuple[Any, dict[str, Any]]:
    """PostgreSQL: the read of the stored customers of ``accounts`` (buyer accounts) as
    (statement, parameters) for :func:`storeops.db.pipelined.read_together`; its rows go to
    :func:`upsert_orders` (``customer_rows``)."""
    return _CUSTOMERS_ANY, {"store_id": store_id,
                            "accounts": sorted({buyer_key(a) for a in accounts} - {""})}


def _prefetch(session: Session, store: Store, orders: Sequence[IncomingOrder],
              absent: Collection[str] = (),
              customer_rows: Sequence[tuple[Any, ...]] | None = None) -> IntakeBatch:
    batch = IntakeBatch(store.id)
    ids = list(dict.fromkeys(o.platform_order_id for o in orders))
    batch.orders = dict.fromkeys(ids)
    for chunk in _chunks([i for i in ids if i not in absent]):
        for order in session.scalars(select(Order).where(
                Order.store_id == store.id, Order.platform_order_id.in_(chunk))):
            batch.orders[order.platform_order_id] = order
    first_line: dict[str, Any] = {}
    for o in orders:
        for line in o.lines:
            first_line.setdefault(line.sku, line)
    session.flush()  # the rows below are read by Core statements (no autoflush)
    products = Product.__table__
    # products the caller's stock batch has locked (and read) already are not read again
    from storeops.inventory.batch_reserve import stock_batch

    stock = stock_batch(session)
    if stock is not None and stock.store_id == store.id:
        for locked in stock.levels.products.values():
            if locked.platform_sku_id in first_line:
                product = PageProduct({k: getattr(locked, k) for k in PageProduct.read},
                                      stored=True)
                batch.products[product.platform_sku_id] = product
                batch.written.append(product)
    for chunk in _chunks([sku for sku in first_line if sku not in batch.products]):
        for row in session.execute(select(*(products.c[k] for k in PageProduct.read)).where(
                products.c.store_id == store.id, products.c.platform_sku_id.in_(chunk))
                ).mappings():
            product = PageProduct(dict(row), stored=True)
            batch.products[product.platform_sku_id] = product
            batch.written.append(product)
    first_order: dict[str, IncomingOrder] = {}
    for o in orders:
        account = buyer_key(o.buyer_account)
        if account:
            first_order.setdefault(account, o)
    customers = Customer.__table__
    if customer_rows is not None:  # read already in this transaction (customers_read)
        found: Any = [dict(zip(PageCustomer.read, r, strict=True)) for r in customer_rows]
    else:
        found = (row for chunk in _chunks(list(first_order)) for row in session.execute(
            select(*(customers.c[k] for k in PageCustomer.read)).where(
                customers.c.store_id == store.id,
                customers.c.platform_account.in_(chunk))).mappings())
    for row in found:
        if row["platform_account"] in first_order:
            customer = PageCustomer(dict(row), stored=True)
            batch.customers[customer.platform_account] = customer
            batch.written.append(customer)
    new_products = {sku: line for sku, line in first_line.items() if sku not in batch.products}
    new_customers = {account: mask_contact(o.buyer_phone)
                     for account, o in first_order.items() if account not in batch.customers}
    if new_products or new_customers:  # SQLite: the ids given below are ours until the commit
        lock_for_stock_write(session)
    if new_products:  # one insert, as one by one would (words of each one's first line)
        version = service.store_version(session, store.id)
        rows = [{"id": product_id, "store_id": store.id, "platform_sku_id": sku,
                 "title": line.title, "seller_code": line.seller_code, "status": "on_sale",
                 "row_version": version}
                for product_id, (sku, line) in zip(_new_ids(
                    session, products, len(new_products)), new_products.items(), strict=True)]
        insert_rows(session, products, rows)
        for row in rows:
            product = PageProduct(row)
            batch.products[product.platform_sku_id] = product
            batch.written.append(product)
    if new_customers:  # one insert (masked contact of each one's first order)
        now = utcnow()
        rows = [{"id": customer_id, "store_id": store.id, "platform_account": account,
                 "masked_contact": masked, "created_at": now}
                for customer_id, (account, masked) in zip(_new_ids(
                    session, customers, len(new_customers)), new_customers.items(),
                    strict=True)]
        insert_rows(session, customers, rows)
        for row in rows:
            customer = PageCustomer(row)
            batch.customers[customer.platform_account] = customer
            batch.written.append(customer)
    return batch


class PageRow:
    """A row the page read or wrote with Core statements (not an ORM object): its column
    values as attributes, read and changed as the ORM object would be; what is changed is
    written back at the page's end (:func:`_write_back`: one UPDATE per set of columns)."""

    table: Any = None
    read: tuple[str, ...] = ()  # the columns read of a stored row (the others are not set)

    def __init__(self, values: dict[str, Any], *, stored: bool = False) -> None:
        if not stored:  # a new row: what is not given is None
            blank = type(self).__dict__.get("_blank")
            if blank is None:
                blank = dict.fromkeys(self.table.c.keys())
                type.__setattr__(type(self), "_blank", blank)
            self.__dict__.update(blank)
        self.__dict__.update(values)
        self.__dict__["_changed"] = {}

    def __setattr__(self, name: str, value: Any) -> None:
        self.__dict__[name] = value
        self._changed[name] = value


class PageProduct(PageRow):
    """A product of the page's orders (an order may give it the words it lacks)."""

    table = Product.__table__
    read = ("id", "platform_sku_id", "title", "seller_code", "row_version")


class NewOrder(PageRow):
    """A new order of the page: review and allocation read and change it as an ``Order``."""

    table = Order.__table__


class PageCustomer(PageRow):
    """A customer of the page's orders (a later order may change its masked contact)."""

    table = Customer.__table__
    read = ("id", "platform_account", "masked_contact")


class NewLine:
    """A line of a new order of the page (written by a Core insert)."""

    __slots__ = ("id", "order_id", "store_id", "line_no", "product_id", "quantity",
                 "unit_price_e4", "amount_cents")

    def __init__(self, row: dict[str, Any]) -> None:
        for name in self.__slots__:
            setattr(self, name, row[name])


_SQL: dict[tuple[Any, ...], tuple[str, list[Any], tuple[Any, ...]]] = {}


def _statement(conn: Any, table: Any, keys: tuple[str, ...], update_by_id: bool
               ) -> tuple[str, list[Any], tuple[str, ...]]:
    """The driver's SQL for an INSERT of ``keys`` (or an UPDATE … WHERE id of them), each
    column's bind processor, and the columns SQLAlchemy would fill itself (Python-side
    ``default`` on insert, ``onupdate`` on update; callables are called once per call)."""
    dialect = conn.dialect
    cache_key = (dialect.name, dialect.paramstyle, table.name, keys, update_by_id)
    if cache_key not in _SQL:
        extra = tuple(c.key for c in table.c if c.key not in keys and not c.primary_key
                      and (c.onupdate if update_by_id else c.default) is not None)
        names = [*keys, *extra]
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        quote = dialect.identifier_preparer.quote
        target = dialect.identifier_preparer.format_table(table)
        if update_by_id:
            sets = ", ".join(f"{quote(table.c[k].name)} = {mark}" for k in names)
            sql = f"UPDATE {target} SET {sets} WHERE {quote(table.c.id.name)} = {mark}"
            names.append("id")
        else:
            cols = ", ".join(quote(table.c[k].name) for k in names)
            sql = f"INSERT INTO {target} ({cols}) VALUES ({', '.join([mark] * len(names))})"
        _SQL[cache_key] = (sql, [_processor(table.c[k].type, dialect) for k in names], extra)
    return _SQL[cache_key]


def _utc_text(value: datetime) -> str:
    """An aware datetime as SQLite stores a UTCDateTime (naive UTC, SQLAlchemy's format)."""
    if value.tzinfo is not UTC:
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
    return (f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value.hour:02d}:"
            f"{value.minute:02d}:{value.second:02d}.{value.microsecond:06d}")


_SAMPLES = (datetime(2026, 12, 4, 23, 5, 9, tzinfo=UTC),
            datetime(2026, 1, 2, 3, 4, 5, 67, tzinfo=UTC),
            datetime(2026, 6, 30, 7, 59, 1, 999999, tzinfo=timezone(timedelta(hours=8))))


def _processor(column_type: Any, dialect: Any) -> Any:
    """The column type's bind processor; for a UTCDateTime on SQLite one function doing the
    same (used only when it gives SQLAlchemy's own text for sample times)."""
    slow = column_type._cached_bind_processor(dialect)
    if dialect.name == "sqlite" and isinstance(column_type, UTCDateTime) and slow is not None \
            and all(_utc_text(t) == slow(t) for t in _SAMPLES):
        return _utc_text
    return slow


def _default(column: Any, update_by_id: bool) -> Any:
    spec = column.onupdate if update_by_id else column.default
    if spec.is_scalar:
        return spec.arg
    if spec.is_callable:
        return spec.arg(None)
    raise TypeError(f"column {column.key}: a default this writer cannot compute")


def _execute_rows(session: Session, table: Any, rows: Sequence[dict[str, Any]], *,
                  update_by_id: bool = False) -> None:
    """One executemany of ``rows`` (dicts of the same keys; for an update, "id" says which
    row), the values bound as SQLAlchemy binds them, without its per-row statement work."""
    if not rows:
        return
    conn = session.connection()
    keys = tuple(k for k in rows[0] if not (update_by_id and k == "id"))
    sql, processors, extra = _statement(conn, table, keys, update_by_id)
    width = len(keys)
    filled = [_default(table.c[k], update_by_id) for k in extra]
    filled = [v if p is None or v is None else p(v)
              for p, v in zip(processors[width:width + len(extra)], filled, strict=True)]
    convert = [(i, p) for i, p in enumerate(processors[:width]) if p is not None]
    if update_by_id:
        filled.append(None)  # the row's id, set below
    read = itemgetter(*keys) if len(keys) > 1 else (lambda row: (row[keys[0]],))
    params = []
    for row in rows:
        values = [*read(row), *filled]
        for i, p in convert:
            v = values[i]
            if v is not None:
                values[i] = p(v)
        if update_by_id:
            values[-1] = row["id"]
        params.append(tuple(values))
    if pipelined.defer(conn, sql, params):  # sent with the transaction's other small writes
        return
    if not update_by_id and conn.dialect.name == "postgresql":
        _copy_rows(conn, table, (*keys, *extra), params)
        return
    conn.exec_driver_sql(sql, params)


_COPY: dict[tuple[str, tuple[str, ...]], str] = {}


def _copy_rows(conn: Any, table: Any, names: tuple[str, ...], params: list[tuple[Any, ...]]
               ) -> None:
    """INSERT by ``COPY … FROM STDIN`` (PostgreSQL): the same values, adapted by psycopg as
    parameters are, at a fifth of an executemany's cost per row. A refusal (a unique key …)
    raises SQLAlchemy's exception for it, as the executemany would."""
    import psycopg
    from sqlalchemy.exc import DBAPIError

    pipelined.flush(conn)  # the writes kept before this one go first
    sql = _COPY.get((table.name, names))
    if sql is None:
        quote = conn.dialect.identifier_preparer.quote
        target = conn.dialect.identifier_preparer.format_table(table)
        sql = _COPY[table.name, names] = (
            f"COPY {target} ({', '.join(quote(table.c[k].name) for k in names)}) FROM STDIN")
    cursor = conn.connection.cursor()
    try:
        with cursor.copy(sql) as copy:
            for values in params:
                copy.write_row(values)
    except psycopg.Error as exc:
        raise DBAPIError.instance(sql, params, exc, psycopg.Error,
                                  dialect=conn.dialect) from exc
    finally:
        cursor.close()


def insert_rows(session: Session, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """INSERT ``rows`` (dicts with the same keys) into ``table`` with one executemany."""
    _execute_rows(session, table, rows)


def update_rows(session: Session, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """UPDATE ``table`` by id with one executemany: ``rows`` are dicts of the same keys, "id"
    saying which row (``onupdate`` columns set as SQLAlchemy would)."""
    _execute_rows(session, table, rows, update_by_id=True)


def _new_ids(session: Session, table: Any, n: int) -> list[int]:
    """``n`` ids for new rows of ``table``: the ones SQLite would give them (max + 1…; the
    caller holds the write lock) or the next values of the PostgreSQL sequence."""
    return _new_id_lists(session, [(table, n)])[0]


def _new_id_lists(session: Session, wanted: Sequence[tuple[Any, int]]) -> list[list[int]]:
    """``_new_ids`` of several (table, n) at once: on PostgreSQL one round trip, or none when
    ids taken ahead (:func:`ids_read`) are enough."""
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        out = []
        for table, n in wanted:
            top = conn.execute(select(func.max(table.c.id))).scalar() or 0
            out.append(list(range(top + 1, top + 1 + n)))
        return out
    ahead = service._per_transaction(session)
    if all(len(ahead.get(("ids", t.name), ())) >= n for t, n in wanted):
        out = []
        for table, n in wanted:
            ids = ahead["ids", table.name]
            out.append(ids[:n])
            del ids[:n]
        return out
    sql, params = ids_read(wanted)
    found: list[list[int]] = [[] for _ in wanted]
    for k, value in conn.exec_driver_sql(sql, params):
        found[k].append(value)
    return [sorted(ids) for ids in found]


def ids_read(wanted: Sequence[tuple[Any, int]]) -> tuple[str, dict[str, int]]:
    """PostgreSQL: the driver's SQL (and parameters) taking ``n`` ids from the sequence of
    each (table, n): rows (k, id), k the index in ``wanted``."""
    sql = " UNION ALL ".join(
        f"SELECT {k}, nextval(pg_get_serial_sequence('{table.name}', 'id'))"
        f" FROM generate_series(1, %(n{k})s)" for k, (table, _n) in enumerate(wanted))
    return sql, {f"n{k}": n for k, (_t, n) in enumerate(wanted)}


def keep_ids(session: Session, wanted: Sequence[tuple[Any, int]],
             rows: Sequence[tuple[int, int]]) -> None:
    """Keep the ids of :func:`ids_read`'s rows (read in this transaction) for the new rows
    this transaction writes; those not used are gaps in the sequences, as a rollback's."""
    ahead = service._per_transaction(session)
    found: list[list[int]] = [[] for _ in wanted]
    for k, value in rows:
        found[k].append(value)
    for (table, _n), ids in zip(wanted, found, strict=True):
        ahead.setdefault(("ids", table.name), []).extend(sorted(ids))


def _insert_new(session: Session, store: Store, incoming_list: Sequence[IncomingOrder],
                batch: IntakeBatch) -> dict[str, tuple[Any, list[Any], Any]]:
    """The rows of the page's new orders (those once in the page) and their lines, written
    with one Core insert each (the orders as :class:`NewOrder`, their lines as
    :class:`NewLine`); their events, review and stock follow order by order. Not when the
    brushing rule is on: it counts the orders stored before each one."""
    from storeops.orders.lifecycle import stage_for_status
    from storeops.orders.review import brushing_on

    if brushing_on(service.settings_for(session, store.id)):
        return {}
    seen: dict[str, int] = {}
    for incoming in incoming_list:
        seen[incoming.platform_order_id] = seen.get(incoming.platform_order_id, 0) + 1
    todo = [incoming for incoming in incoming_list
            if seen[incoming.platform_order_id] == 1
            and batch.orders.get(incoming.platform_order_id) is None]
    if not todo:
        return {}
    lock_for_stock_write(session)  # SQLite: the ids below are ours until the commit
    prepared = [service.prepare(session, store, incoming) for incoming in todo]
    # review's other read, done now: a statement run while the new orders wait for their
    # final stage would insert them at once (write_new)
    service.on_blacklist(session, store.id, "")
    version = service.store_version(session, store.id)
    wanted = [(Order.__table__, len(todo)),
              (OrderLine.__table__, sum(len(lines) for _s, lines, _v in prepared))]
    # PostgreSQL: a parcel id for each paid order too, in the same round trip (an order
    # allocated from one warehouse has one parcel; more are asked for when written). Not on
    # SQLite, whose next ids a parcel written meanwhile would take
    paid = sum(1 for _s, _l, values in prepared if OrderStatus(values["status"]) in service.TO_SHIP)
    if paid and session.connection().dialect.name == "postgresql":
        wanted.append((Shipment.__table__, paid))
    order_ids, line_ids, *parcel_ids = _new_id_lists(session, wanted)
    if parcel_ids:
        batch.parcel_ids.extend(parcel_ids[0])
    order_rows = []
    for incoming, order_id, (_settings, _lines, values) in zip(todo, order_ids, prepared,
                                                                strict=True):
        # as service.insert_order_row
        status = OrderStatus(values["status"])
        order_rows.append({
            "id": order_id, "store_id": store.id,
            "platform_order_id": incoming.platform_order_id, "deleted": False,
            "customer_id": service._customer(session, store, incoming),
            "row_version": version, "stage": stage_for_status(status, None).value,
            "shipped_at": incoming.modified_at if status is OrderStatus.SHIPPED else None,
            **values})
    line_rows = []
    per_order = []
    for incoming, row, (_settings, lines, _values) in zip(todo, order_rows, prepared,
                                                          strict=True):
        # as service.insert_line_rows
        products = service._products(session, store, incoming, version)
        mine = [{"order_id": row["id"], "store_id": store.id, "line_no": r["line_no"],
                 "product_id": products[r["sku"]], "quantity": r["quantity"],
                 "unit_price_e4": r["unit_price_e4"], "amount_cents": r["amount_cents"]}
                for r in lines]
        line_rows.extend(mine)
        per_order.append(mine)
    for line_id, r in zip(line_ids, line_rows, strict=True):
        r["id"] = line_id
    written = {}
    for incoming, row, mine, (settings, _lines, _values) in zip(
            todo, order_rows, per_order, prepared, strict=True):
        order = NewOrder(row)
        written[incoming.platform_order_id] = (order, [NewLine(r) for r in mine], settings)
        batch.orders[incoming.platform_order_id] = order
        batch.written.append(order)
        batch.unwritten.append(order)
    batch.unwritten_lines.extend(line_rows)
    batch.order_keys = tuple(order_rows[0])
    if session.connection().dialect.name == "sqlite":
        # their ids are SQLite's next ones: an order or line written meanwhile by the ORM
        # (another of the page's orders) would take them
        write_new(session, batch)
    return written


def write_new(session: Session, batch: IntakeBatch) -> None:
    """Insert the page's new orders not inserted yet, as they stand now, and their lines: one
    insert each. They wait for this until review and allocation are done (their stage is
    then written with the row, not by an UPDATE: on PostgreSQL a new version of the row and
    of each of its indexes), or until the session runs any other statement, which may read
    them or rows that point at them (:func:`_write_new_first`)."""
    orders, lines = batch.unwritten, batch.unwritten_lines
    if not orders:
        return
    batch.unwritten, batch.unwritten_lines = [], []
    table = Order.__table__
    keys = list(batch.order_keys)
    # columns set since (hold reason …); one with a default stays for the write-back, where
    # an order that did not set it cannot take a NULL for its default
    for k in sorted({k for o in orders for k in o._changed} - set(keys)):
        if table.c[k].default is None and table.c[k].server_default is None:
            keys.append(k)
    insert_rows(session, table, [{k: o.__dict__[k] for k in keys} for o in orders])
    for o in orders:
        for k in keys:
            o._changed.pop(k, None)
    insert_rows(session, OrderLine.__table__, lines)


@event.listens_for(Session, "do_orm_execute")
def _write_new_first(state: ORMExecuteState) -> None:
    """A statement run while a page holds new orders back: they are inserted first."""
    batch = state.session.info.get(KEY)
    if batch is not None and batch.unwritten and not holding_writes(state.session):
        write_new(state.session, batch)


def _write_back(session: Session, batch: IntakeBatch) -> None:
    """What review, allocation and later orders changed on the page's :class:`PageRow` rows:
    one executemany UPDATE per table and set of changed columns."""
    groups: dict[tuple[Any, tuple[str, ...]], list[dict[str, Any]]] = {}
    for row in batch.written:
        if row._changed:
            keys = tuple(sorted(row._changed))
            groups.setdefault((row.table, keys), []).append({**row._changed, "id": row.id})
            row._changed.clear()
    for (table, _keys), rows in groups.items():
        _execute_rows(session, table, rows, update_by_id=True)


def write_shipments(session: Session, batch: IntakeBatch) -> None:
    """The parcels of the page's allocated new orders: one insert for the parcels, one for
    their lines; each order's "allocated" event then names its parcels' ids."""
    write_new(session, batch)  # the parcels' lines point at the orders and their lines
    parcels = [s for _o, shipments, _g, _e, _w in batch.shipments for s in shipments]
    if parcels:  # the Shipment objects stay out of the session: their rows go by one insert
        lock_for_stock_write(session)  # SQLite: the ids below are ours until the commit
        table = Shipment.__table__
        ids, batch.parcel_ids = batch.parcel_ids[:len(parcels)], batch.parcel_ids[len(parcels):]
        if len(ids) < len(parcels):
            ids += _new_ids(session, table, len(parcels) - len(ids))
        for shipment, shipment_id in zip(parcels, ids, strict=True):
            shipment.id = shipment_id
        insert_rows(session, table, [
            {"id": s.id, "store_id": s.store_id, "warehouse_id": s.warehouse_id,
             "state": s.state} for s in parcels])
    rows = []
    for order_id, shipments, groups, allocated, warehouses in batch.shipments:
        for shipment, group in zip(shipments, groups, strict=True):
            rows.extend({"shipment_id": shipment.id, "order_id": order_id,
                         "order_line_id": line_id, "quantity": qty}
                        for line_id, qty in group.items())
        allocated["data_json"] = json.dumps({"shipments": [s.id for s in shipments],
                                             "warehouses": warehouses}, ensure_ascii=False,
                                            sort_keys=True)
    if rows:
        insert_rows(session, ShipmentLine.__table__, rows)
    batch.shipments.clear()


def upsert_orders(session: Session, store: Store, incoming_list: Sequence[IncomingOrder], *,
                  actor: str, load_orders: bool = True, absent: Collection[str] = (),
                  stamp_version: bool = False,
                  customer_rows: Sequence[tuple[Any, ...]] | None = None
                  ) -> list[tuple[Any, str]]:
    """``upsert_order`` of each incoming order, in order, with the page's reads done once:
    the same orders, lines, events, stages, reservations and movements as one by one.
    Returns (order, "created" | "updated" | "unchanged") per incoming order; the new orders
    written by Core inserts are read back as ``Order`` objects (one query) unless
    ``load_orders`` is off (then they are :class:`NewOrder`: their values, for reading).
    ``absent``: platform order ids the caller has just read are not stored (in this
    transaction): not looked for again. ``stamp_version``: the store's data_version is bumped
    after the orders are reviewed (the caller adopted a version for the rows written before)
    and stamped on the orders created or updated, so that the store's row stays locked
    (PostgreSQL) only from then to the commit. ``customer_rows``: the rows of
    :func:`customers_read` of the orders' buyers, read already in this transaction.

    Inside a caller's :func:`storeops.inventory.batch_reserve.reserving` (its levels locked
    already) the new orders reserve from that batch, which the caller finishes."""
    from storeops.inventory.batch_reserve import reserving, stock_batch

    if not incoming_list:
        return []
    if session.info.get(KEY) is not None:
        raise RuntimeError("upsert_orders: a batch is open on this session already")
    batch = _prefetch(session, store, incoming_list, absent, customer_rows)
    # the products of the new orders that will want stock at once (paid, waiting to ship)
    wanting = {batch.products[line.sku].id for o in incoming_list
               if batch.orders.get(o.platform_order_id) is None
               and OrderStatus(o.status) in service.TO_SHIP
               for line in o.lines if line.sku in batch.products}
    session.info[KEY] = batch
    try:
        outer = stock_batch(session)
        stock_ctx: Any = nullcontext()
        if outer is not None and outer.store_id == store.id:
            outer.cover(session, wanting)
            batch.fresh_lines = outer.fresh_lines
            stock_ctx = nullcontext(outer)
        elif wanting:
            stock_ctx = reserving(session, store.id, wanting, batch.fresh_lines)
        with stock_ctx as stock:
            if stock is not None:  # the reservations point at the new orders: those first
                stock.before_write = partial(write_new, batch=batch)
            written = _insert_new(session, store, incoming_list, batch)
            out = []
            for incoming in incoming_list:
                new = written.pop(incoming.platform_order_id, None)
                if new is None:
                    out.append(service.upsert_order(session, store, incoming, actor=actor))
                    continue
                order, order_lines, settings = new
                out.append((service.take_in_created(session, order, order_lines, incoming,
                                                    settings, actor=actor), "created"))
            if stamp_version:
                # the bump reads nothing of the page: the new orders wait for their version
                with hold_writes(session):
                    version = bump_data_version(session, store.id)
                for order, outcome in out:
                    if outcome != "unchanged":
                        order.row_version = version
            write_new(session, batch)
            if batch.shipments:
                write_shipments(session, batch)
            if batch.events:  # one executemany, in the order they happened
                insert_rows(session, OrderEvent.__table__, batch.events)
            _write_back(session, batch)
            if stock is not None:
                stock.before_write = None
        ids = [o.id for o in batch.written if isinstance(o, NewOrder)]
        if load_orders and ids:
            loaded = {}
            for i in range(0, len(ids), CHUNK):
                loaded.update((o.id, o) for o in session.scalars(
                    select(Order).where(Order.id.in_(ids[i:i + CHUNK]))))
            out = [(loaded[o.id] if isinstance(o, NewOrder) else o, outcome)
                   for o, outcome in out]
        return out
    finally:
        session.info.pop(KEY, None)
        outer = stock_batch(session)
        if outer is not None:
            outer.before_write = None
