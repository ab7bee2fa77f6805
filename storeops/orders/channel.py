"""The store's own order channel (``POST /api/v1/orders``): idempotent order creation with
stock reserved atomically, flash-sale quotas, unpaid orders that hold their stock for a while.

:func:`submit` runs one request from start to end (it owns its transactions, because a
refused or conflicting request must write nothing and a flash take must be given back when the
order is not written):

1. the ``Idempotency-Key`` (per user, table ``channel_requests``): a key seen before with the
   same body answers what it answered then, creating nothing; with another body it is refused;
2. the SKUs must exist in the store (422 naming each line at fault);
3. a SKU inside a flash sale's window takes its quota first (Redis, before any database
   write: :mod:`storeops.inventory.flash`) and is sold at the flash price;
4. one transaction: the key's row (a unique constraint: two identical requests at once make
   one order, the other answers the first's answer), the order through the orders service
   (``upsert_order``, channel ``own``: review, allocation and events apply), the stock through
   ``reserve_order`` (all or nothing: 409 with the shortages, nothing written), the flash
   claims, then the answer stored with the key.

Only answers that wrote something (201) are kept with the key: a refusal (409, 422) writes
nothing, so the same request sent again is looked at again.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from storeops.common.errors import StoreopsError
from storeops.common.money import from_cents, from_price_units
from storeops.common.timeutil import utcnow
from storeops.orders.models import ChannelRequest, Order, OrderLine
from storeops.orders.states import OrderStatus

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from storeops.inventory.flash import FlashTake

CHANNEL = "own"
MAX_KEY_CHARS = 255


# --- what a request holds (already validated by the API's models) ------------------------------

@dataclass(frozen=True)
class ChannelBuyer:
    account: str
    name: str | None = None
    phone: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class ChannelLine:
    sku: str
    qty: int
    price: Decimal


@dataclass(frozen=True)
class ChannelOrder:
    store: str
    channel_order_id: str
    buyer: ChannelBuyer
    lines: tuple[ChannelLine, ...]
    freight: Decimal = Decimal(0)
    remark: str | None = None
    paid: bool = True

    def digest(self) -> str:
        """SHA-256 of the request as understood (key order, number spelling and defaults do
        not matter: ``"12.50"`` and ``12.5`` are the same price)."""
        # the fields as dataclasses.asdict gives them, written out (asdict deep-copies every
        # value: the dearest part of a sold-out flash answer)
        b = self.buyer
        data = {"store": self.store, "channel_order_id": self.channel_order_id,
                "buyer": {"account": b.account, "name": b.name, "phone": b.phone,
                          "address": b.address},
                "lines": [{"sku": x.sku, "qty": x.qty, "price": _canon(x.price)}
                          for x in self.lines],
                "freight": _canon(self.freight), "remark": self.remark, "paid": self.paid}
        text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


def _canon(value: Decimal) -> str:
    text = format(Decimal(value).normalize(), "f")
    return "0" if text in ("-0", "") else text


# --- answers -------------------------------------------------------------------------------------

@dataclass
class ChannelAnswer:
    status: int
    body: dict[str, Any]
    replayed: bool = False
    order_id: int | None = None


class ChannelRefused(StoreopsError):
    """A request answered with an error body of its own (409, 422), nothing written."""

    http_status = 409
    error = "conflict"

    def __init__(self, message: str, *, key: str, extra: dict[str, Any] | None = None,
                 http_status: int | None = None, **params: Any) -> None:
        super().__init__(message, key=key, **params)
        self.extra = extra or {}
        if http_status is not None:
            self.http_status = http_status

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "detail": str(self), "code": self.code, **self.extra}


class KeyReused(ChannelRefused):
    http_status = 422
    error = "idempotency_key_reused"


class DuplicateOrder(ChannelRefused):
    error = "duplicate_order"


class OutOfStockRefused(ChannelRefused):
    error = "out_of_stock"


class NotPayable(ChannelRefused):
    error = "not_payable"


@dataclass
class FieldProblem:
    loc: list[str]
    msg: str
    type: str


class ChannelInvalid(StoreopsError):
    """Fields that are well-formed but wrong for this store (an unknown SKU): a 422 naming
    each, in the API's validation-error shape."""

    http_status = 422

    def __init__(self, problems: list[FieldProblem]) -> None:
        sentence = "; ".join(f"{'.'.join(p.loc[1:])}: {p.msg}" for p in problems)
        super().__init__(sentence, key="channel.invalid", detail=sentence)
        self.problems = problems

    def body(self) -> dict[str, Any]:
        return {"detail": str(self), "code": self.code,
                "errors": [asdict(p) for p in self.problems]}


# --- the order as the API shows it ---------------------------------------------------------------

def _price_text(units: int) -> str:
    """A unit price with at least two decimals (``199.00``, ``0.165``)."""
    price = from_price_units(units) or Decimal(0)
    if price.as_tuple().exponent > -2:  # type: ignore[operator]
        price = price.quantize(Decimal("0.01"))
    return str(price)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass(frozen=True)
class _LineRow:
    line_no: int
    platform_sku_id: str
    quantity: int
    unit_price_e4: int
    amount_cents: int
    product_id: int


def order_json(session: Session, order: Order, store_name: str,
               known_lines: tuple[list[_LineRow], dict[int, int]] | None = None
               ) -> dict[str, Any]:
    """The order as ``POST /api/v1/orders`` answers it (money as decimal strings). A new
    order passes its lines and flash sales (``known_lines``) instead of reading them back."""
    from storeops.catalog.models import Product
    from storeops.inventory.models import FlashClaim, FlashSale

    if known_lines is not None:
        return _order_dict(order, store_name, *known_lines)
    rows = session.execute(
        select(OrderLine.line_no, Product.platform_sku_id, OrderLine.quantity,
               OrderLine.unit_price_e4, OrderLine.amount_cents, OrderLine.product_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id == order.id).order_by(OrderLine.line_no)).all()
    flash = dict(session.execute(
        select(FlashSale.product_id, FlashSale.id).join(
            FlashClaim, FlashClaim.flash_sale_id == FlashSale.id)
        .where(FlashClaim.order_id == order.id)).all())
    return _order_dict(order, store_name, list(rows), flash)


def _order_dict(order: Order, store_name: str, rows: list[Any], flash: dict[int, int]
                ) -> dict[str, Any]:
    goods = sum(r.amount_cents for r in rows)
    return {
        "id": order.id, "store": store_name, "channel_order_id": order.platform_order_id,
        "channel": order.channel, "status": order.status, "stage": order.stage,
        "hold_reason": order.hold_reason, "paid": order.paid_at is not None,
        "lines": [{"line_no": r.line_no, "sku": r.platform_sku_id, "qty": r.quantity,
                   "price": _price_text(r.unit_price_e4),
                   "amount": str(from_cents(r.amount_cents)),
                   "flash_sale_id": flash.get(r.product_id)} for r in rows],
        "goods": str(from_cents(goods)), "freight": str(from_cents(order.freight_cents)),
        "total": str(from_cents(goods + order.freight_cents)),
        "placed_at": _iso(order.placed_at), "paid_at": _iso(order.paid_at),
        "pay_deadline": _iso(order.pay_deadline), "due_at": _iso(order.due_at),
    }


# --- the request ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class _StoreRef:
    """What the order intake reads of a store (stands in for the ORM object)."""

    id: int
    name: str
    timezone: str | None = None


# Per process: store names and SKUs resolved before (stores are not renamed, SKU ids not
# reused), so that a request reads neither before it needs to write.
_LOOKUP_TTL_S = 30.0
_stores: dict[tuple[str, str], tuple[float, _StoreRef]] = {}
_skus: dict[tuple[str, int, str], tuple[float, int]] = {}


def _cached_store(db_url: str, name: str) -> _StoreRef | None:
    hit = _stores.get((db_url, name))
    return hit[1] if hit is not None and hit[0] > time.monotonic() else None


def _cached_skus(db_url: str, store_id: int, request: ChannelOrder) -> dict[str, int]:
    """SKU → product id of the request's lines looked up within the TTL."""
    now = time.monotonic()
    known: dict[str, int] = {}
    for line in request.lines:
        hit = _skus.get((db_url, store_id, line.sku))
        if hit is not None and hit[0] > now:
            known[line.sku] = hit[1]
    return known


def _store(db_url: str, name: str) -> _StoreRef:
    from storeops.catalog.models import Store
    from storeops.catalog.stores import resolve_store
    from storeops.db.engine import session_factory

    hit = _cached_store(db_url, name)
    if hit is not None:
        return hit
    with session_factory(db_url)() as session:
        found = session.scalar(select(Store).where(Store.name == name))
        if found is None:
            resolve_store(session, name)  # raises, naming the stores there are
        assert found is not None
        ref = _StoreRef(found.id, found.name, found.timezone)
    _stores[(db_url, name)] = (time.monotonic() + _LOOKUP_TTL_S, ref)
    return ref


def _known_answer(session: Session, user_id: int, key: str, digest: str
                  ) -> ChannelAnswer | None:
    row = session.scalar(select(ChannelRequest).where(ChannelRequest.user_id == user_id,
                                                      ChannelRequest.idempotency_key == key))
    if row is None or row.status_code == 0:
        return None
    if row.body_sha256 != digest:
        raise KeyReused(
            f"the Idempotency-Key {key!r} was used before with another body: use a new key "
            "for a new request", key="channel.key_reused", idempotency_key=key)
    return ChannelAnswer(row.status_code, json.loads(row.response_json), replayed=True,
                         order_id=row.order_id)


def _products(db_url: str, store_id: int, request: ChannelOrder) -> dict[str, int]:
    """SKU → product id of the request's lines; 422 naming each line whose SKU the store
    does not have."""
    from storeops.catalog.models import Product
    from storeops.db.engine import session_factory

    now = time.monotonic()
    known = _cached_skus(db_url, store_id, request)
    missing = [line.sku for line in request.lines if line.sku not in known]
    if missing:
        with session_factory(db_url)() as session:
            found = dict(session.execute(select(Product.platform_sku_id, Product.id).where(
                Product.store_id == store_id, Product.platform_sku_id.in_(missing))).all())
        for sku, product_id in found.items():
            _skus[(db_url, store_id, sku)] = (now + _LOOKUP_TTL_S, product_id)
        known.update(found)
    problems = [FieldProblem(["body", "lines", str(i), "sku"],
                             f"unknown SKU {line.sku!r} in store {request.store!r}",
                             "unknown_sku")
                for i, line in enumerate(request.lines) if line.sku not in known]
    if problems:
        raise ChannelInvalid(problems)
    return known


def _incoming(request: ChannelOrder, prices: dict[str, Decimal], now: datetime) -> Any:
    from storeops.orders.incoming import IncomingLine, IncomingOrder

    paid = request.paid
    return IncomingOrder(
        platform_order_id=request.channel_order_id, channel=CHANNEL,
        status=OrderStatus.WAIT_STOCK_OUT if paid else OrderStatus.WAIT_PAY,
        placed_at=now, paid_at=now if paid else None,
        lines=[IncomingLine(sku=line.sku, qty=line.qty,
                            unit_price=prices.get(line.sku, line.price))
               for line in request.lines],
        freight=request.freight, buyer_account=request.buyer.account,
        buyer_name=request.buyer.name, buyer_phone=request.buyer.phone,
        address=request.buyer.address, buyer_remark=request.remark, source=CHANNEL,
        modified_at=now)


def _out_of_stock(exc: Any) -> OutOfStockRefused:
    skus = [{"sku": s.sku, "requested": s.requested, "available": max(0, s.available)}
            for s in exc.shortages]
    names = ", ".join(s["sku"] for s in skus)
    return OutOfStockRefused(f"out of stock: {names}", key="channel.out_of_stock", skus=names,
                             extra={"skus": skus})


def _flash_refused(exc: Any) -> ChannelRefused:
    refusal = ChannelRefused(str(exc), key=exc.key or "flash.sold_out", extra={
        "skus": [{"sku": exc.sku, "requested": exc.requested, "available": exc.available}],
        **({"per_buyer": exc.params["per_buyer"]} if "per_buyer" in exc.params else {})})
    refusal.error = exc.error
    refusal.params = exc.params
    return refusal


def hold_minutes(session: Session, store_id: int) -> int:
    from storeops.orders.service import settings_for

    return int(settings_for(session, store_id).unpaid_hold_minutes or 30)


@dataclass
class Prepared:
    """A request past its checks and its flash takes, ready to be written."""

    db_url: str
    user_id: int
    key: str
    digest: str
    request: ChannelOrder
    store: _StoreRef
    products: dict[str, int]
    takes: list[FlashTake]
    now: datetime


def submit(db_url: str, *, user_id: int, actor: str, key: str, request: ChannelOrder,
           now: datetime | None = None) -> ChannelAnswer:
    """Answer one ``POST /api/v1/orders``: a new order (201), the first answer to a key seen
    before, or a refusal (raises ChannelRefused / ChannelInvalid / StoreError). The API runs
    the same two steps, :func:`prepare` and :func:`write`, with a limit on concurrent
    writes in between."""
    for _attempt in range(5):
        prepared = prepare(db_url, user_id=user_id, key=key, request=request, now=now)
        if isinstance(prepared, ChannelAnswer):
            return prepared
        answer = write(prepared, actor=actor)
        if answer is not None:
            return answer
    raise in_progress()


def in_progress() -> ChannelRefused:
    return ChannelRefused("the request could not be completed: another request with the same "
                          "Idempotency-Key is still in progress; try again",
                          key="channel.in_progress", http_status=409)


def _read_known(db_url: str, user_id: int, key: str, digest: str) -> ChannelAnswer | None:
    from storeops.db.engine import session_factory

    with session_factory(db_url)() as session:
        return _known_answer(session, user_id, key, digest)


def prepare(db_url: str, *, user_id: int, key: str, request: ChannelOrder,
            now: datetime | None = None) -> Prepared | ChannelAnswer:
    """Everything before the order's transaction: the store and SKUs (cached per process),
    the flash sales' quotas taken (Redis, before any database write). A refusal raises; a
    refused request whose key answered before gets that answer back."""
    from storeops.inventory import flash

    now = now or utcnow()
    digest = request.digest()
    store = _store(db_url, request.store)
    products = _products(db_url, store.id, request)
    sales = flash.store_sales(db_url, store.id, now)
    takes: list[FlashTake] = []
    try:
        for line in request.lines:
            sale = sales.get(products[line.sku])
            if sale is not None:
                takes.append(flash.take_quota(db_url, sale, line.sku, request.buyer.account,
                                              line.qty))
    except flash.FlashRefused as exc:
        for take in takes:
            flash.abandon_take(take)
        # A request answered before gets its first answer again (Redis tells whether the key
        # may have one: a sold-out answer costs no database read).
        if flash.key_may_be_known(db_url, user_id, key):
            known = _read_known(db_url, user_id, key, digest)
            if known is not None:
                return known
        raise _flash_refused(exc) from None
    except BaseException:
        for take in takes:
            flash.abandon_take(take)
        raise
    return Prepared(db_url, user_id, key, digest, request, store, products, takes, now)


def prepare_cached(db_url: str, *, user_id: int, key: str, request: ChannelOrder,
                   now: datetime | None = None) -> Prepared | None:
    """:func:`prepare` without any I/O, for the API's event loop: None when it needs some (a
    store or SKU not looked up within the TTL, the flash sales not read lately, a line on
    an active flash sale, whose quota is taken first); :func:`prepare` then."""
    from storeops.inventory import flash

    store = _cached_store(db_url, request.store)
    if store is None:
        return None
    products = _cached_skus(db_url, store.id, request)
    if len(products) < len({line.sku for line in request.lines}):
        return None
    sales = flash.cached_sales(db_url, store.id)
    if sales is None or not sales[1]:
        return None
    now = now or utcnow()
    on_sale = flash.active_sales(sales[0], now)
    if any(products[line.sku] in on_sale for line in request.lines):
        return None
    return Prepared(db_url, user_id, key, request.digest(), request, store, products, [], now)


def write(prepared: Prepared, *, actor: str) -> ChannelAnswer | None:
    """The order's transaction. None: another request with the same key or order id was
    written at the same moment (unique constraints; prepare and write again to read its
    answer or say which). Flash takes are confirmed when the order commits and
    given back otherwise."""
    from storeops.db.engine import unit_of_work
    from storeops.inventory import flash
    from storeops.inventory.locking import lock_for_stock_write

    p = prepared
    committed = False
    try:
        flash.mark_key(p.db_url, p.user_id, p.key)
        with unit_of_work(p.db_url) as session:
            known = _known_answer(session, p.user_id, p.key, p.digest)
            if known is not None:
                return known
            try:
                for take in p.takes:
                    flash.check_left(session, take)
            except flash.FlashRefused as exc:
                raise _flash_refused(exc) from None
            # --- database writes from here on
            lock_for_stock_write(session)
            answer = _write_order(session, p.store, p.request, p.products,
                                  {take.sku: take.price for take in p.takes}, p.takes,
                                  actor=actor, now=p.now)
            # The key's row last: the same request at the same moment waits here (or on the
            # order's own unique id) and then reads this answer.
            session.add(ChannelRequest(
                user_id=p.user_id, idempotency_key=p.key, body_sha256=p.digest,
                status_code=answer.status, order_id=answer.order_id, created_at=p.now,
                response_json=json.dumps(answer.body, ensure_ascii=False)))
            session.flush()
        committed = True
    except IntegrityError:
        return None
    except DuplicateOrder:
        # the same request, committed a moment ago by another worker: its answer
        known = _read_known(p.db_url, p.user_id, p.key, p.digest)
        if known is not None:
            return known
        raise
    finally:
        for take in p.takes:
            if committed:
                flash.confirm_take(take)
            else:
                flash.abandon_take(take)
    return answer


def _duplicate(store: _StoreRef, request: ChannelOrder) -> DuplicateOrder:
    return DuplicateOrder(
        f"store {store.name!r} already has order {request.channel_order_id!r} (sent with "
        "another Idempotency-Key)", key="channel.duplicate_order",
        order=request.channel_order_id, store=store.name,
        extra={"channel_order_id": request.channel_order_id})


def _write_order(session: Session, store: _StoreRef, request: ChannelOrder,
                 product_ids: dict[str, int], prices: dict[str, Decimal],
                 takes: list[FlashTake], *, actor: str, now: datetime) -> ChannelAnswer:
    from storeops.catalog.models import Product, Store
    from storeops.catalog.stores import bump_data_version
    from storeops.common.money import line_amount_cents, to_price_units
    from storeops.inventory import flash
    from storeops.inventory.service import OutOfStock, reserve_order
    from storeops.orders.service import adopt_version, upsert_order

    shop = session.get(Store, store.id)
    assert shop is not None
    # The SKUs' rows first, in a fixed order, as the stock service locks them: the order's
    # lines (whose foreign keys share-lock them) and its reservation then never wait on
    # another order holding the same rows the other way round (PostgreSQL; SQLite holds the
    # write lock already).
    session.execute(select(Product.id).where(Product.id.in_(sorted(set(product_ids.values()))))
                    .order_by(Product.id).with_for_update())
    # The store's data_version is bumped once, at the end: its row stays locked (PostgreSQL)
    # only from then to the commit, not while the order is written and reviewed.
    adopt_version(session, store.id, 0)
    order, outcome = upsert_order(session, shop, _incoming(request, prices, now), actor=actor)
    if outcome != "created":  # the id was taken by another key's order: nothing is kept
        raise _duplicate(store, request)
    deadline = None
    if not request.paid:
        deadline = now + timedelta(minutes=hold_minutes(session, store.id))
        order.pay_deadline = deadline
    if order.stage != "allocated":  # allocated: review approved it and its stock is held
        try:
            # Review held the order (a remark, an address), found it short, or it is unpaid:
            # its stock is held now all the same, all or nothing, or the request is refused.
            reserve_order(session, order, actor=actor, expires_at=deadline)
        except OutOfStock as exc:
            raise _out_of_stock(exc) from None
    try:
        for take in takes:
            flash.take_in_db(session, take)
    except flash.FlashRefused as exc:
        raise _flash_refused(exc) from None
    for take in takes:
        flash.record_claim(session, take, order, state="sold" if request.paid else "held")
    rows = []
    for no, line in enumerate(request.lines, start=1):
        e4 = to_price_units(prices.get(line.sku, line.price))
        rows.append(_LineRow(no, line.sku, line.qty, e4, line_amount_cents(e4, line.qty),
                             product_ids[line.sku]))
    sales = {product_ids[take.sku]: take.sale.id for take in takes}
    answer = ChannelAnswer(201, order_json(session, order, store.name, (rows, sales)),
                           order_id=order.id)
    # the order's row carries the version bumped now (it never creates products: unknown
    # SKUs were refused)
    order.row_version = bump_data_version(session, store.id)
    session.flush()
    return answer


# --- paying an unpaid order ----------------------------------------------------------------------

def pay(session: Session, order_id: int, *, actor: str, now: datetime | None = None
        ) -> ChannelAnswer:
    """Mark an unpaid own-channel order paid: its held stock stays held (no deadline any
    more), its flash claims are sold, and it goes through review and allocation (200).
    Paying twice answers the order as it is. Past its deadline it is cancelled now (409,
    error not_payable; the cancellation is kept); a cancelled order raises NotPayable."""
    from storeops.catalog.models import Store
    from storeops.catalog.stores import bump_data_version
    from storeops.inventory import flash
    from storeops.inventory.locking import lock_for_stock_write
    from storeops.inventory.models import StockReservation
    from storeops.orders.expiry import expire_order
    from storeops.orders.service import OrderError, follow_status, record_event, settings_for
    from storeops.orders.sla import due_time

    now = now or utcnow()
    lock_for_stock_write(session)
    order = session.scalar(select(Order).where(Order.id == order_id).with_for_update())
    if order is None or order.channel != CHANNEL:
        raise OrderError(f"no order {order_id} of the store's own channel",
                         key="channel.unknown_order", order=order_id)
    store = session.get(Store, order.store_id)
    assert store is not None
    status = OrderStatus(order.status)
    if status is not OrderStatus.WAIT_PAY:
        if order.paid_at is not None and status is not OrderStatus.CANCELLED:
            return ChannelAnswer(200, order_json(session, order, store.name),
                                 order_id=order.id)  # paid already
        raise NotPayable(f"order {order.platform_order_id} is {status.value}: it cannot be "
                         "paid", key="channel.not_payable", order=order.platform_order_id,
                         status=status.value, extra={"order_id": order.id})
    if order.pay_deadline is not None and order.pay_deadline <= now:
        deadline = order.pay_deadline.isoformat()
        expire_order(session, order)
        refusal = NotPayable(f"order {order.platform_order_id}: its payment deadline "
                             f"{deadline} has passed; it was cancelled",
                             key="channel.deadline_passed", order=order.platform_order_id,
                             deadline=deadline, extra={"order_id": order.id})
        return ChannelAnswer(409, refusal.body(), order_id=order.id)
    settings = settings_for(session, order.store_id)
    order.status = OrderStatus.WAIT_STOCK_OUT.value
    order.paid_at = now
    order.pay_deadline = None
    order.due_at = due_time(now, settings.ship_sla_hours, cod=False, placed_at=order.placed_at)
    order.row_version = bump_data_version(session, order.store_id)
    session.execute(update(StockReservation).where(
        StockReservation.order_id == order.id, StockReservation.state == "held")
        .values(expires_at=None).execution_options(synchronize_session=False))
    flash.mark_sold(session, order)
    session.flush()
    # an "updated" event as any change of the order's facts (the order page words it)
    record_event(session, order, "updated", actor=actor, reason="paid", data={
        "changed": {"status": [OrderStatus.WAIT_PAY.value, order.status],
                    "paid_at": [None, now.isoformat()]}, "fields": ["paid_at", "status"]})
    follow_status(session, order, OrderStatus.WAIT_STOCK_OUT, actor=actor, settings=settings)
    session.flush()
    return ChannelAnswer(200, order_json(session, order, store.name), order_id=order.id)
