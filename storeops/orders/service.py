"""Orders on our side: take them in (``upsert_order``), review, allocate, hold, cancel, ship,
merge and split, each change an event on the order's timeline.

Service functions take an open Session, flush but never commit (the caller's unit of work
does). Stock goes through ``storeops.inventory.service`` (reserve, release, ship).
``actor`` is "user:alice", "rule:remark", "connector:jd", "api:token", "import" or "system".
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from storeops.catalog.models import Product, Store
from storeops.catalog.stores import bump_data_version
from storeops.common.errors import StoreopsError
from storeops.common.money import (
    allocate_cents,
    from_cents,
    from_price_units,
    line_amount_cents,
    to_cents,
    to_price_units,
)
from storeops.common.timeutil import local_date, utcnow
from storeops.members.masking import mask_contact
from storeops.members.models import Customer
from storeops.orders import merge_split as ms
from storeops.orders import review as rules
from storeops.orders.grouping import content_hash_of
from storeops.orders.incoming import IncomingOrder
from storeops.orders.lifecycle import (
    BEFORE_SHIPPING,
    OPEN_STAGES,
    IllegalTransition,
    Stage,
    StageName,
    check_transition,
    path,
    stage_for_status,
)
from storeops.orders.models import (
    BuyerBlacklist,
    Order,
    OrderEvent,
    OrderLine,
    ReviewSettings,
    Shipment,
    ShipmentLine,
)
from storeops.orders.states import OrderStatus

if TYPE_CHECKING:
    from types import ModuleType

TO_SHIP = (OrderStatus.WAIT_STOCK_OUT, OrderStatus.WAIT_DELIVERY)


class OrderError(StoreopsError, LookupError):
    """An order that cannot be found or handled as asked (names the order and store)."""


# --------------------------------------------------------------------------- helpers

def _inventory() -> ModuleType:
    """B's stock service (imported when first needed; tests may replace it)."""
    from storeops.inventory import service

    return service


def _label(order: Order) -> str:
    return order.platform_order_id


def split_actor(actor: str) -> tuple[str, str | None]:
    """"user:alice" → ("user", "alice"); "system" → ("system", None)."""
    kind, sep, rest = actor.partition(":")
    return (kind[:20] or "system", rest[:120] or None) if sep else (actor[:20] or "system", None)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def record_event(
    session: Session, order: Order, kind: str, *, actor: str, reason: str | None = None,
    data: dict[str, Any] | None = None, from_stage: str | None = None,
    to_stage: str | None = None,
) -> OrderEvent | None:
    """Add one event to the order's timeline (flushed with the caller's transaction). Inside
    a page of ``upsert_orders`` it is kept with the page's others, all inserted at the page's
    end in the order they happened (then None is returned)."""
    actor_kind, who = split_actor(actor)
    row = dict(
        store_id=order.store_id, order_id=order.id, at=utcnow(), kind=kind,
        from_stage=str(from_stage) if from_stage else None,
        to_stage=str(to_stage) if to_stage else None,
        actor_kind=actor_kind, actor=who, reason=reason,
        data_json=json.dumps({k: _json_value(v) for k, v in data.items()}, ensure_ascii=False,
                             sort_keys=True) if data else None,
    )
    batch = intake_batch(session)
    if batch is not None and order.id is not None:
        batch.events.append(row)
        return None
    event = OrderEvent(**row)
    session.add(event)  # flushed with the caller's next query or commit
    return event


def timeline(session: Session, order_id: int) -> list[OrderEvent]:
    """The order's events, oldest first."""
    return list(session.scalars(select(OrderEvent).where(OrderEvent.order_id == order_id)
                                .order_by(OrderEvent.at, OrderEvent.id)))


def order_by_platform_id(session: Session, store_id: int, platform_order_id: str) -> Order:
    """The store's order with that platform id; else an error naming the order and store."""
    order = session.scalar(select(Order).where(
        Order.store_id == store_id, Order.platform_order_id == platform_order_id))
    if order is None:
        store = session.get(Store, store_id)
        name = store.name if store is not None else str(store_id)
        raise OrderError(f"no order {platform_order_id!r} in store {name!r}",
                         key="orders.unknown_order", order=platform_order_id, store=name)
    return order


def _move(session: Session, order: Order, to: Stage, *, actor: str, kind: str | None = None,
          reason: str | None = None, data: dict[str, Any] | None = None) -> None:
    """One legal step of the lifecycle, with its event."""
    frm = Stage(order.stage)
    check_transition(frm, to, _label(order))
    order.stage = to.value
    record_event(session, order, kind or to.value, actor=actor, reason=reason, data=data,
                 from_stage=frm, to_stage=to)


def _per_transaction(session: Session) -> dict[Any, Any]:
    """A dict kept for the session's current transaction only (a new one after commit or
    rollback): what one unit of work may look up once for many orders."""
    tx = session.get_transaction()
    cache = session.info.get("storeops_orders_tx")
    if cache is None or cache[0] is not tx:
        cache = (tx, {})
        session.info["storeops_orders_tx"] = cache
    return cache[1]


def forget_cached(session: Session) -> None:
    """Drop what this transaction cached (review settings, blacklist) after changing them."""
    cache = _per_transaction(session)
    for key in [k for k in cache if k[0] in ("settings", "blacklist")]:
        del cache[key]


def store_version(session: Session, store_id: int) -> int:
    """The store's new data_version for the rows this transaction writes: bumped once per
    transaction and store (as one import is one version), then reused, so that many orders
    written in one unit of work cost one update of the store's row."""
    cache = _per_transaction(session)
    if ("version", store_id) not in cache:
        cache["version", store_id] = bump_data_version(session, store_id)
    return int(cache["version", store_id])


def adopt_version(session: Session, store_id: int, version: int) -> None:
    """Rows this transaction writes carry ``version``, which the caller (a file import, that
    bumps the store's version once at its end) has reserved with ``next_data_version``."""
    _per_transaction(session)["version", store_id] = version


def on_blacklist(session: Session, store_id: int, account: str) -> bool:
    """Whether the store's blacklist holds ``account`` (the list read once per
    transaction)."""
    cache = _per_transaction(session)
    if ("blacklist", store_id) not in cache:
        cache["blacklist", store_id] = set(session.scalars(_BLACKLIST, {"store_id": store_id}))
    return account in cache["blacklist", store_id]


def _stamp(session: Session, order: Order) -> None:
    """The order's facts the figures read changed: new data_version, stamped on the row."""
    order.row_version = store_version(session, order.store_id)


def settings_for(session: Session, store_id: int) -> rules.ReviewRules:
    """The store's review settings (the defaults when it has none); read once per
    transaction."""
    cache = _per_transaction(session)
    if ("settings", store_id) not in cache:
        cache["settings", store_id] = _read_settings(session, store_id)
    return cache["settings", store_id]  # type: ignore[no-any-return]


# the statements of the reads once per transaction, built once (building costs about a third
# of running them)
_SETTINGS = select(*[getattr(ReviewSettings, c.key) for c in ReviewSettings.__table__.c]).where(
    ReviewSettings.store_id == bindparam("store_id"))
_BLACKLIST = select(BuyerBlacklist.platform_account).where(
    BuyerBlacklist.store_id == bindparam("store_id"))


def review_reads(store_id: int) -> list[tuple[Any, dict[str, Any]]]:
    """The reads of the store's review settings and blacklist (statement, parameters), for a
    caller that runs them with others (:func:`storeops.db.pipelined.read_together`) and
    gives their rows to :func:`prime_review_reads`."""
    return [(_SETTINGS, {"store_id": store_id}), (_BLACKLIST, {"store_id": store_id})]


def prime_review_reads(session: Session, store_id: int, settings: Sequence[Any],
                       blacklist: Sequence[Any]) -> None:
    """This transaction's review settings and blacklist, from the rows of
    :func:`review_reads` (read in this transaction)."""
    cache = _per_transaction(session)
    cache["settings", store_id] = _rules_from_row(
        dict(zip((c.key for c in ReviewSettings.__table__.c), settings[0], strict=True))
        if settings else None)
    cache["blacklist", store_id] = {account for (account,) in blacklist}


def _read_settings(session: Session, store_id: int) -> rules.ReviewRules:
    # its columns, not an ORM object: building one costs several times the query (read once
    # per batch of orders); still an ORM statement, so that pending changes are flushed first
    row = session.execute(_SETTINGS, {"store_id": store_id}).first()
    return _rules_from_row(None if row is None else row._mapping)


def _rules_from_row(row: Any) -> rules.ReviewRules:
    """The rules of a review_settings row (a mapping of its columns; None: the defaults)."""
    if row is None:
        return rules.ReviewRules()
    return rules.ReviewRules(
        auto_approve=row["auto_approve"], hold_on_remark=row["hold_on_remark"],
        hold_on_incomplete_address=row["hold_on_incomplete_address"],
        max_amount_cents=row["max_amount_cents"], max_quantity=row["max_quantity"],
        brushing_orders=row["brushing_orders"], brushing_hours=row["brushing_hours"],
        ship_sla_hours=row["ship_sla_hours"] or 24,
        unpaid_hold_minutes=row["unpaid_hold_minutes"] or 30,
    )


def _due_at(paid_at: datetime | None, hours: int, *, cod: bool, placed_at: datetime
            ) -> datetime | None:
    from storeops.orders.sla import due_time  # E's rule: due ``hours`` after payment

    return due_time(paid_at, hours, cod=cod, placed_at=placed_at)


# --------------------------------------------------------------------------- addresses

def normalise_address(text: str) -> str:
    """Lower case, without spaces and punctuation (ASCII and full-width)."""
    kept = [ch for ch in unicodedata.normalize("NFKC", text)
            if not (ch.isspace() or unicodedata.category(ch)[0] in "PS")]
    return "".join(kept).lower()


def full_address(incoming: IncomingOrder) -> str:
    detail = (incoming.address or "").strip()
    head = ""
    for part in (incoming.province, incoming.city, incoming.county):
        part = (part or "").strip()
        if part and part not in detail and part not in head:
            head += part
    return head + detail


def address_key(full: str) -> str | None:
    norm = normalise_address(full)
    return hashlib.sha256(norm.encode()).hexdigest() if norm else None


def _address_parts(incoming: IncomingOrder) -> rules.AddressParts:
    """Province, city, county and the rest: as given, else read from the address text."""
    return _parts_of(incoming.address, incoming.province, incoming.city, incoming.county)


@lru_cache(maxsize=1024)  # pure; an order's parts are asked for twice (values, review)
def _parts_of(address: str | None, province: str | None, city: str | None,
              county: str | None) -> rules.AddressParts:
    if province or city:
        detail = (address or "").strip()
        for part in (province, city, county):
            if part and detail.startswith(part.strip()):
                detail = detail[len(part.strip()):].strip()
        return rules.AddressParts(province, city, county, detail or None)
    return rules.split_address(address)


def mask_name(name: str | None) -> str | None:
    """张三丰 → 张**; the receiver's name is never stored whole."""
    if not name or not name.strip():
        return None
    name = name.strip()
    return name[0] + "*" * max(1, min(len(name) - 1, 3))


def _masked_address(parts: rules.AddressParts) -> str | None:
    detail = (parts.detail or "").strip()
    head = "".join(p for p in (parts.province, parts.city, parts.county)
                   if p and p.strip() and p != detail)
    if parts.province == parts.city and parts.province:  # municipality: 北京市北京市 → 北京市
        head = "".join(p for p in (parts.province, parts.county) if p)
    masked = (detail[:3] + "****") if len(detail) > 3 else ("****" if detail else "")
    return (head + masked) or None


# --------------------------------------------------------------------------- upsert

# Fields compared when an order arrives again; a change of any of them is one "updated" event.
TRACKED = ("status", "paid_at", "cancelled_at", "finished_at", "goods_cents",
           "seller_discount_cents", "freight_cents", "paid_cents", "buyer_remark",
           "seller_remark", "receiver_name", "receiver_phone", "ship_address", "address_key",
           "source", "cod", "customer_id")


def intake_batch(session: Session) -> Any:
    """The page of orders ``storeops.orders.batch_intake.upsert_orders`` is taking in (its
    prefetched orders, products and customers), or None outside one."""
    return session.info.get("storeops_intake_batch")


def _products(session: Session, store: Store, incoming: IncomingOrder, version: int
              ) -> dict[str, int]:
    skus = list(dict.fromkeys(line.sku for line in incoming.lines))
    batch = intake_batch(session)
    if batch is not None and batch.store_id == store.id:
        found = {sku: batch.products[sku] for sku in skus if sku in batch.products}
    else:
        found = {}
    if len(found) < len(skus):
        found.update({p.platform_sku_id: p for p in session.scalars(select(Product).where(
            Product.store_id == store.id,
            Product.platform_sku_id.in_([sku for sku in skus if sku not in found])))})
    created = False
    for line in incoming.lines:
        if line.sku in found:
            product = found[line.sku]  # a SKU known without words (stock came first)
            if product.title is None and line.title:
                product.title, product.row_version = line.title, version
            if product.seller_code is None and line.seller_code:
                product.seller_code, product.row_version = line.seller_code, version
            continue
        product = Product(store_id=store.id, platform_sku_id=line.sku, title=line.title,
                          seller_code=line.seller_code, status="on_sale", row_version=version)
        session.add(product)
        found[line.sku] = product
        created = True
    if created:
        session.flush()  # one flush for all the SKUs new to the store
    if batch is not None and batch.store_id == store.id:
        batch.products.update(found)
    return {sku: p.id for sku, p in found.items()}


def _customer(session: Session, store: Store, incoming: IncomingOrder) -> int | None:
    account = (incoming.buyer_account or "").strip()
    if not account:
        return None
    batch = intake_batch(session)
    cached = batch is not None and batch.store_id == store.id
    found = batch.customers.get(account[:120]) if cached else None
    if found is None:
        found = session.scalar(select(Customer).where(
            Customer.store_id == store.id, Customer.platform_account == account[:120]))
    masked = mask_contact(incoming.buyer_phone)
    if found is None:
        found = Customer(store_id=store.id, platform_account=account[:120],
                         masked_contact=masked)
        session.add(found)
        session.flush()
    elif masked and found.masked_contact != masked:
        found.masked_contact = masked
    if cached:
        batch.customers[account[:120]] = found
    return found.id


def _lines(incoming: IncomingOrder, discount_cents: int) -> list[dict[str, Any]]:
    rows = []
    for no, line in enumerate(incoming.lines, start=1):
        if line.qty <= 0:
            raise OrderError(
                f"order {incoming.platform_order_id}: line {no} ({line.sku}) has quantity "
                f"{line.qty}", key="orders.bad_quantity", order=incoming.platform_order_id,
                line=no, sku=line.sku, qty=line.qty)
        e4 = to_price_units(line.unit_price)
        rows.append({"line_no": no, "sku": line.sku, "quantity": line.qty,
                     "unit_price_e4": e4, "gross": line_amount_cents(e4, line.qty)})
    shares = allocate_cents(discount_cents, [max(r["gross"], 0) for r in rows])
    for row, share in zip(rows, shares, strict=True):
        row["amount_cents"] = row["gross"] - share
    return rows


def _content_hash(platform_order_id: str, values: dict[str, Any], account: str | None,
                  contact: str | None, lines: list[dict[str, Any]]) -> str:
    """The importer's content hash of this order, so that the same order arriving later in a
    file is seen as unchanged."""
    return content_hash_of({**values, "order_id": platform_order_id, "deleted": False,
                            "customer": account, "contact": contact}, lines)


def _values(session: Session, store: Store, incoming: IncomingOrder,
            lines: list[dict[str, Any]], settings: rules.ReviewRules) -> dict[str, Any]:
    goods = sum(r["gross"] for r in lines)
    discount = to_cents(incoming.seller_discount or 0)
    freight = to_cents(incoming.freight or 0)
    paid = (to_cents(incoming.paid_amount) if incoming.paid_amount is not None
            else goods - discount + freight)
    parts = _address_parts(incoming)
    full = full_address(incoming)
    status = OrderStatus(incoming.status)
    finished_at = None
    if status is OrderStatus.FINISHED:
        finished_at = incoming.modified_at
    values: dict[str, Any] = {
        "status": status.value, "channel": incoming.channel,
        "placed_at": incoming.placed_at,
        "placed_date": local_date(incoming.placed_at, store.timezone),
        "paid_at": incoming.paid_at, "cancelled_at": incoming.cancelled_at,
        "finished_at": finished_at,
        "goods_cents": goods, "seller_discount_cents": discount, "freight_cents": freight,
        "paid_cents": paid, "source": (incoming.source or None),
        "cod": bool(incoming.cod),
        "buyer_remark": (incoming.buyer_remark or "").strip() or None,
        "seller_remark": (incoming.seller_remark or "").strip() or None,
        "receiver_name": mask_name(incoming.buyer_name),
        "receiver_phone": mask_contact(incoming.buyer_phone),
        "ship_address": _masked_address(parts), "address_key": address_key(full),
        "modified_at": incoming.modified_at,
    }
    values["due_at"] = _due_at(incoming.paid_at, settings.ship_sla_hours, cod=values["cod"],
                               placed_at=incoming.placed_at)
    return values


def _facts(session: Session, order: Order, incoming: IncomingOrder | None,
           settings: rules.ReviewRules) -> rules.ReviewInput:
    """What review needs, from the incoming order (its address parts) or what is stored."""
    if incoming is not None:
        quantity = sum(line.qty for line in incoming.lines)
        account = (incoming.buyer_account or "").strip()[:120] or None
        parts = _address_parts(incoming)
        province, city, detail = parts.province, parts.city, parts.detail
        has_phone = bool((incoming.buyer_phone or "").strip())
    else:
        province = city = detail = order.ship_address
        has_phone = bool(order.receiver_phone)
        quantity = int(session.scalar(select(func.coalesce(func.sum(OrderLine.quantity), 0))
                                      .where(OrderLine.order_id == order.id)) or 0)
        account = session.scalar(select(Customer.platform_account).where(
            Customer.id == order.customer_id)) if order.customer_id is not None else None
    blacklisted = account is not None and on_blacklist(session, order.store_id, account)
    recent = 1
    if rules.brushing_on(settings) and order.address_key:
        since = order.placed_at - timedelta(hours=int(settings.brushing_hours or 0))
        recent = int(session.scalar(select(func.count()).select_from(Order).where(
            Order.store_id == order.store_id, Order.address_key == order.address_key,
            Order.placed_at >= since, Order.placed_at <= order.placed_at,
            Order.stage != Stage.CANCELLED.value)) or 0)
    return rules.ReviewInput(
        amount_cents=int(order.paid_cents if order.paid_cents is not None
                         else order.goods_cents),
        quantity=quantity, buyer_remark=order.buyer_remark, province=province, city=city,
        detail=detail, has_phone=has_phone, blacklisted=blacklisted,
        same_address_recent=max(recent, 1),
    )


def prepare(session: Session, store: Store, incoming: IncomingOrder
            ) -> tuple[rules.ReviewRules, list[dict[str, Any]], dict[str, Any]]:
    """The store's review settings, the order's lines and its column values (content hash
    included) from ``incoming``; refuses an order without lines or with a line of no units."""
    if not incoming.lines and OrderStatus(incoming.status) is not OrderStatus.CANCELLED:
        raise OrderError(f"order {incoming.platform_order_id} has no lines",
                         key="orders.no_lines", order=incoming.platform_order_id)
    settings = settings_for(session, store.id)
    lines = _lines(incoming, to_cents(incoming.seller_discount or 0))
    values = _values(session, store, incoming, lines, settings)
    account = (incoming.buyer_account or "").strip()[:120] or None
    contact = mask_contact(incoming.buyer_phone)
    values["content_hash"] = _content_hash(incoming.platform_order_id, values, account,
                                           contact, lines)
    return settings, lines, values


def upsert_order(session: Session, store: Store, incoming: IncomingOrder, *, actor: str
                 ) -> tuple[Order, str]:
    """Create or update the store's order ``incoming.platform_order_id``.

    Returns (order, "created" | "updated" | "unchanged"). A new order gets a "received" event;
    a changed one one "updated" event naming every changed field (old and new), plus the
    events of the stage changes JD's state implies; an unchanged one is not touched. A paid
    order that waits to ship goes through review (held, or approved and allocated).
    """
    settings, lines, values = prepare(session, store, incoming)
    batch = intake_batch(session)
    if batch is not None and batch.store_id == store.id \
            and incoming.platform_order_id in batch.orders:
        order = batch.orders[incoming.platform_order_id]  # read with the page's others
    else:
        order = session.scalar(select(Order).where(
            Order.store_id == store.id, Order.platform_order_id == incoming.platform_order_id))
    if order is None:
        order = _create(session, store, incoming, values, lines, settings, actor=actor)
        if batch is not None and batch.store_id == store.id:
            batch.orders[incoming.platform_order_id] = order
        return order, "created"
    if batch is not None:  # taken before in this page: its lines may change now
        batch.fresh_lines.pop(order.id, None)
        if order.id in batch.new_ids:  # its parcels are written now, before it changes
            from storeops.orders.batch_intake import write_shipments

            batch.new_ids.discard(order.id)
            write_shipments(session, batch)
    return _update(session, store, order, incoming, values, lines, settings, actor=actor)


def _create(session: Session, store: Store, incoming: IncomingOrder, values: dict[str, Any],
            lines: list[dict[str, Any]], settings: rules.ReviewRules, *, actor: str) -> Order:
    order = insert_order_row(session, store, incoming, values)
    session.flush()
    order_lines = insert_line_rows(session, store, order, incoming, lines)
    session.flush()
    return take_in_created(session, order, order_lines, incoming, settings, actor=actor)


def insert_order_row(session: Session, store: Store, incoming: IncomingOrder,
                     values: dict[str, Any]) -> Order:
    """A new order's row (added, not flushed), with its customer."""
    version = store_version(session, store.id)
    stage = stage_for_status(OrderStatus(values["status"]), None)
    order = Order(store_id=store.id, platform_order_id=incoming.platform_order_id,
                  deleted=False, customer_id=_customer(session, store, incoming),
                  row_version=version, stage=stage.value, **values)
    if OrderStatus(values["status"]) is OrderStatus.SHIPPED:
        order.shipped_at = incoming.modified_at
    session.add(order)
    return order


def insert_line_rows(session: Session, store: Store, order: Order, incoming: IncomingOrder,
                     lines: list[dict[str, Any]]) -> list[OrderLine]:
    """The lines of a new (flushed) order, unknown SKUs created (added, not flushed)."""
    products = _products(session, store, incoming, store_version(session, store.id))
    order_lines = [OrderLine(order_id=order.id, store_id=store.id, line_no=row["line_no"],
                             product_id=products[row["sku"]], quantity=row["quantity"],
                             unit_price_e4=row["unit_price_e4"],
                             amount_cents=row["amount_cents"]) for row in lines]
    session.add_all(order_lines)
    return order_lines


def take_in_created(session: Session, order: Order, order_lines: list[OrderLine],
                    incoming: IncomingOrder, settings: rules.ReviewRules, *, actor: str
                    ) -> Order:
    """A new order written: its "received" event, then review and allocation when paid."""
    batch = intake_batch(session)
    if batch is not None:  # a new order holds nothing yet: its stock needs no second look
        batch.fresh_lines[order.id] = order_lines
        batch.new_ids.add(order.id)  # nor has it parcels yet
    status = OrderStatus(order.status)
    stage = Stage(order.stage)
    record_event(session, order, "received", actor=actor, to_stage=stage,
                 data={"status": status.value, "channel": incoming.channel})
    if status in TO_SHIP and stage is Stage.RECEIVED:
        process(session, order, actor=actor, incoming=incoming, settings=settings)
    return order


def _line_tuples(session: Session, order: Order) -> list[tuple[int, str, int, int, int]]:
    return [tuple(r) for r in session.execute(
        select(OrderLine.line_no, Product.platform_sku_id, OrderLine.quantity,
               OrderLine.unit_price_e4, OrderLine.amount_cents)
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id == order.id).order_by(OrderLine.line_no)).all()]


def _update(session: Session, store: Store, order: Order, incoming: IncomingOrder,
            values: dict[str, Any], lines: list[dict[str, Any]],
            settings: rules.ReviewRules, *, actor: str) -> tuple[Order, str]:
    values = dict(values)
    values["customer_id"] = _customer(session, store, incoming) if incoming.buyer_account \
        else order.customer_id
    # times JD does not repeat are kept
    for keep in ("finished_at", "cancelled_at", "due_at"):
        if values.get(keep) is None:
            values[keep] = getattr(order, keep)
    changed: dict[str, list[Any]] = {}
    for name in TRACKED:
        old, new = getattr(order, name), values.get(name)
        if old != new:
            changed[name] = [_json_value(old), _json_value(new)]
    new_lines = [(r["line_no"], r["sku"], r["quantity"], r["unit_price_e4"], r["amount_cents"])
                 for r in lines]
    old_lines = _line_tuples(session, order)
    lines_changed = bool(lines) and new_lines != old_lines
    if lines_changed:
        changed["lines"] = [[list(t[1:4]) for t in old_lines], [list(t[1:4]) for t in new_lines]]
    if not changed:
        return order, "unchanged"
    version = store_version(session, store.id)
    if lines_changed:
        _replace_lines(session, store, order, incoming, lines, version, actor=actor)
    for name, value in values.items():
        if name not in ("channel",):
            setattr(order, name, value)
    order.row_version = version
    session.flush()
    record_event(session, order, "updated", actor=actor,
                 data={"changed": changed, "fields": sorted(changed)})
    follow_status(session, order, OrderStatus(values["status"]), actor=actor,
                  incoming=incoming, settings=settings)
    return order, "updated"


def _replace_lines(session: Session, store: Store, order: Order, incoming: IncomingOrder,
                   lines: list[dict[str, Any]], version: int, *, actor: str) -> None:
    """New lines of a stored order: stock held for the old ones goes back first, and an
    allocated order goes back to review (its shipments were planned for the old lines)."""
    if Stage(order.stage) is Stage.ALLOCATED:
        _unallocate(session, order, actor=actor, reason="lines changed")
        _move(session, order, Stage.UNDER_REVIEW, actor=actor, kind="lines_changed")
    products = _products(session, store, incoming, version)
    stored = {line.line_no: line for line in session.scalars(
        select(OrderLine).where(OrderLine.order_id == order.id))}
    for row in lines:
        line = stored.pop(row["line_no"], None)
        if line is None:
            line = OrderLine(order_id=order.id, store_id=store.id, line_no=row["line_no"])
            session.add(line)
        line.product_id = products[row["sku"]]
        line.quantity, line.unit_price_e4 = row["quantity"], row["unit_price_e4"]
        line.amount_cents = row["amount_cents"]
    for line in stored.values():
        session.delete(line)
    session.flush()


def follow_status(session: Session, order: Order, status: OrderStatus, *, actor: str,
                  incoming: IncomingOrder | None = None,
                  settings: rules.ReviewRules | None = None,
                  review_received: bool = True) -> None:
    """Move the order's stage where JD's state says it is (events for each step; stock
    released on cancel, shipped when JD ships what we still hold). A received order that is
    now paid is reviewed, unless ``review_received`` is off (file imports: orders from files
    are not reviewed)."""
    current = Stage(order.stage)
    target = stage_for_status(status, current)
    if target is current:
        if status in TO_SHIP and ((current is Stage.RECEIVED and review_received) or (
                current is Stage.UNDER_REVIEW and not order.hold_reason)):
            # paid now, or its lines changed: review it (again)
            process(session, order, actor=actor, incoming=incoming, settings=settings)
        return
    if target is Stage.CANCELLED:
        cancel(session, order, "platform cancelled", actor=actor)
        return
    if target is Stage.SHIPPED or (target is Stage.FINISHED and current in BEFORE_SHIPPING):
        _ship_stock(session, order, actor=actor)
        _close_shipments(session, order, "shipped")
        order.shipped_at = order.shipped_at or order.modified_at or utcnow()
    if target is Stage.UNDER_REVIEW and current in (Stage.LOCKED, Stage.PAUSED):
        # back from after-sales or a pause: where the stock says it stood
        if _held(session, order):
            target = Stage.ALLOCATED
    for step in path(current, target, _label(order)):
        _move(session, order, step, actor=actor, kind=step.value,
              data={"status": status.value})
    if Stage(order.stage) is Stage.UNDER_REVIEW and not order.hold_reason:
        _review_and_allocate(session, order, actor=actor, incoming=incoming, settings=settings)


def process(session: Session, order: Order, *, actor: str, incoming: IncomingOrder | None = None,
            settings: rules.ReviewRules | None = None) -> None:
    """A paid order that waits to ship: received → under review → held, or approved and
    allocated."""
    if Stage(order.stage) is Stage.RECEIVED:
        _move(session, order, Stage.UNDER_REVIEW, actor=actor, kind="under_review")
    _review_and_allocate(session, order, actor=actor, incoming=incoming, settings=settings)


def _review_and_allocate(session: Session, order: Order, *, actor: str,
                         incoming: IncomingOrder | None,
                         settings: rules.ReviewRules | None) -> None:
    settings = settings or settings_for(session, order.store_id)
    reasons = rules.review(_facts(session, order, incoming, settings), settings)
    if reasons:
        _hold_for(session, order, reasons, actor=f"rule:{reasons[0].code}")
        return
    approve(session, order, actor="rule:auto")


def hold_text(reasons: Iterable[rules.HoldReason], lang: str = "zh-CN") -> str:
    """The readable hold reason (the order's ``hold_reason`` is in Chinese)."""
    from storeops.web.i18n import translate

    texts = []
    for reason in reasons:
        params = dict(reason.params)
        for key in ("amount_cents", "limit_cents"):
            if key in params:
                params[key[:-6]] = str(from_cents(int(params[key])))
        if "missing" in params:
            params["missing"] = ("、" if lang != "en" else ", ").join(
                translate(lang, f"orders.address_part.{p}") for p in params["missing"].split(","))
        if "skus" in params:
            params["skus"] = "; ".join(
                translate(lang, "orders.hold.shortage", **s) for s in params["skus"])
        texts.append(translate(lang, f"orders.hold.{reason.code}", **params))
    return "；".join(texts) if lang != "en" else "; ".join(texts)


def _hold_for(session: Session, order: Order, reasons: list[rules.HoldReason], *,
              actor: str) -> None:
    order.hold_reason = hold_text(reasons)
    record_event(session, order, "held", actor=actor, reason=order.hold_reason,
                 data={"reasons": [r.as_data() for r in reasons]})


def approve(session: Session, order: Order, *, actor: str) -> list[Shipment]:
    """A person (or the auto rule) lets the order go on: hold lifted, stock reserved,
    shipments planned. Out of stock: it stays held with the shortage as its reason."""
    stage = Stage(order.stage)
    if stage is Stage.ALLOCATED:  # approved already: nothing to do (bulk actions repeat)
        return _open_shipments(session, order)
    if stage is Stage.RECEIVED:
        if OrderStatus(order.status) not in TO_SHIP:
            raise OrderError(f"order {_label(order)} is not paid yet: nothing to approve",
                             key="orders.not_paid", order=_label(order))
        _move(session, order, Stage.UNDER_REVIEW, actor=actor, kind="under_review")
    elif stage is not Stage.UNDER_REVIEW:
        raise IllegalTransition(stage, Stage.ALLOCATED, _label(order))
    if order.hold_reason is not None:
        order.hold_reason = None
    record_event(session, order, "approved", actor=actor)
    OutOfStock = _inventory().OutOfStock
    try:  # reserve_order changes nothing when it refuses
        return allocate(session, order, actor=actor)
    except OutOfStock as exc:
        shortages = [{"sku": s.sku, "requested": s.requested, "available": s.available}
                     for s in exc.shortages]
        _hold_for(session, order, [rules.HoldReason(rules.OUT_OF_STOCK, {"skus": shortages})],
                  actor="rule:out_of_stock")
        return []


def hold(session: Session, order: Order, reason: str, *, actor: str) -> None:
    """Hold the order for a person (an allocated one gives its stock back first)."""
    stage = Stage(order.stage)
    if stage is Stage.ALLOCATED:
        _unallocate(session, order, actor=actor, reason=reason)
    if stage is not Stage.UNDER_REVIEW:
        _move(session, order, Stage.UNDER_REVIEW, actor=actor, kind="under_review")
    order.hold_reason = reason
    record_event(session, order, "held", actor=actor, reason=reason,
                 data={"reasons": [{"code": "person", "params": {"text": reason}}]})


def cancel(session: Session, order: Order, reason: str, *, actor: str) -> None:
    """Cancel the order; stock it holds goes back. An own-channel order is cancelled for the
    figures too (its ``status``); a JD order's status is JD's to change."""
    frm = Stage(order.stage)
    check_transition(frm, Stage.CANCELLED, _label(order))
    if _held(session, order):
        _inventory().release_order(session, order, actor=actor, reason=reason)
    _close_shipments(session, order, "cancelled")
    order.hold_reason = None
    if order.channel != "jd" and OrderStatus(order.status) is not OrderStatus.CANCELLED:
        order.status = OrderStatus.CANCELLED.value
    if OrderStatus(order.status) is OrderStatus.CANCELLED and order.cancelled_at is None:
        order.cancelled_at = utcnow()
    _stamp(session, order)
    _move(session, order, Stage.CANCELLED, actor=actor, kind="cancelled", reason=reason)


def _held(session: Session, order: Order) -> bool:
    from storeops.inventory.models import StockReservation

    return session.scalar(select(StockReservation.id).where(
        StockReservation.order_id == order.id, StockReservation.state == "held").limit(1)
    ) is not None


def _unallocate(session: Session, order: Order, *, actor: str, reason: str) -> None:
    if _held(session, order):
        _inventory().release_order(session, order, actor=actor, reason=reason)
    _close_shipments(session, order, "cancelled")


def _ship_stock(session: Session, order: Order, *, actor: str) -> None:
    if _held(session, order):
        _inventory().ship_order_stock(session, order, actor=actor)


def _open_shipments(session: Session, order: Order) -> list[Shipment]:
    ids = select(ShipmentLine.shipment_id).where(ShipmentLine.order_id == order.id)
    return list(session.scalars(select(Shipment).where(
        Shipment.id.in_(ids), Shipment.state == "open").order_by(Shipment.id)))


def _close_shipments(session: Session, order: Order, state: str, *,
                     carrier_id: str | None = None, waybill: str | None = None
                     ) -> list[Shipment]:
    """The order's open parcels are shipped or cancelled. A parcel shared with other orders
    (merged) loses this order's lines on cancel, and is shipped when its last order ships."""
    now = utcnow()
    touched = []
    for shipment in _open_shipments(session, order):
        others = set(session.scalars(select(ShipmentLine.order_id).where(
            ShipmentLine.shipment_id == shipment.id, ShipmentLine.order_id != order.id)))
        touched.append(shipment)
        if state == "cancelled":
            if others:
                session.execute(delete(ShipmentLine).where(
                    ShipmentLine.shipment_id == shipment.id, ShipmentLine.order_id == order.id))
            else:
                shipment.state = "cancelled"
            continue
        if carrier_id is not None:
            shipment.carrier_id, shipment.waybill, shipment.error = carrier_id, waybill, None
        waiting = session.scalar(select(func.count()).select_from(Order).where(
            Order.id.in_(others), Order.stage.in_([s.value for s in BEFORE_SHIPPING]))) \
            if others else 0
        if not waiting:
            shipment.state, shipment.shipped_at = "shipped", now
    return touched


def allocate(session: Session, order: Order, *, actor: str) -> list[Shipment]:
    """Reserve the order's stock (B's ``reserve_order``, all or nothing; raises OutOfStock)
    and plan its parcels: one shipment per warehouse. An allocated order keeps its plan."""
    stage = Stage(order.stage)
    if stage is Stage.ALLOCATED:
        return _open_shipments(session, order)
    check_transition(stage, Stage.ALLOCATED, _label(order))
    # reserves only what is not held yet (an own-channel order may hold its stock already)
    held = _inventory().reserve_order(session, order, actor=actor)
    for reservation in held:
        reservation.expires_at = None  # paid and approved: held until shipped
    warehouses = sorted({r.warehouse_id for r in held})
    batch = intake_batch(session)
    if batch is not None and order.id in batch.new_ids:
        # new in a page of upsert_orders: no parcels yet; its parcels are written with the
        # page's others at the page's end (their ids then go into this event)
        groups = ms.groups_by_warehouse((r.order_line_id, r.warehouse_id, r.quantity)
                                        for r in held)
        shipments = [Shipment(store_id=order.store_id, warehouse_id=w, state="open")
                     for w in warehouses]
        _move(session, order, Stage.ALLOCATED, actor=actor, kind="allocated",
              data={"shipments": [], "warehouses": warehouses})
        batch.shipments.append((order.id, shipments, groups, batch.events[-1], warehouses))
        return shipments
    shipments = _open_shipments(session, order)  # planned by a merge or a split: kept
    if shipments:
        for shipment in shipments:
            if shipment.warehouse_id is None and len(warehouses) == 1:
                shipment.warehouse_id = warehouses[0]
    else:
        shipments = [
            _new_shipment(session, order.store_id, warehouse_id,
                          [(order.id, line_id, qty) for line_id, qty in group.items()])
            for warehouse_id, group in zip(warehouses, ms.groups_by_warehouse(
                (r.order_line_id, r.warehouse_id, r.quantity) for r in held), strict=True)]
    _move(session, order, Stage.ALLOCATED, actor=actor, kind="allocated",
          data={"shipments": [s.id for s in shipments], "warehouses": warehouses})
    return shipments


def _new_shipment(session: Session, store_id: int, warehouse_id: int | None,
                  lines: Iterable[tuple[int, int, int]]) -> Shipment:
    """An open parcel of (order id, order line id, units)."""
    shipment = Shipment(store_id=store_id, warehouse_id=warehouse_id, state="open")
    session.add(shipment)
    session.flush()
    for order_id, line_id, qty in lines:
        session.add(ShipmentLine(shipment_id=shipment.id, order_id=order_id,
                                 order_line_id=line_id, quantity=qty))
    session.flush()
    return shipment


def _held_picks(session: Session, order: Order) -> list[tuple[int, int, int]]:
    from storeops.inventory.models import StockReservation

    return [tuple(r) for r in session.execute(  # type: ignore[misc]
        select(StockReservation.order_line_id, StockReservation.warehouse_id,
               StockReservation.quantity).where(
            StockReservation.order_id == order.id, StockReservation.state == "held")
        .order_by(StockReservation.id)).all()]


def _line_qtys(session: Session, order: Order) -> list[ms.LineQty]:
    return [ms.LineQty(*r) for r in session.execute(
        select(OrderLine.id, OrderLine.line_no, Product.platform_sku_id, OrderLine.quantity)
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id == order.id).order_by(OrderLine.line_no)).all()]


def _shared_parcel(session: Session, order: Order) -> bool:
    ids = [s.id for s in _open_shipments(session, order)]
    return bool(ids) and session.scalar(select(ShipmentLine.id).where(
        ShipmentLine.shipment_id.in_(ids), ShipmentLine.order_id != order.id).limit(1)
    ) is not None


def merge(session: Session, orders: list[Order], *, actor: str) -> Shipment:
    """One parcel for the open orders of one buyer and address (their earlier parcels are
    replaced); refused with the reason otherwise. An event on every order."""
    candidates = [ms.MergeCandidate(
        o.platform_order_id, o.store_id, o.stage, o.customer_id, o.address_key,
        frozenset(w for _, w, _ in _held_picks(session, o))) for o in orders]
    warehouse_id = ms.check_merge(candidates)
    members = {o.id for o in orders}
    for o in orders:
        for shipment in _open_shipments(session, o):
            outside = session.scalar(select(ShipmentLine.order_id).where(
                ShipmentLine.shipment_id == shipment.id,
                ShipmentLine.order_id.not_in(members)).limit(1))
            if outside is not None:
                other = session.get(Order, outside)
                raise ms.MergeRefused(
                    f"order {o.platform_order_id} shares a parcel with order "
                    f"{other.platform_order_id if other else outside}, which is not merged",
                    key="orders.merge_other", order=o.platform_order_id,
                    other=other.platform_order_id if other else outside)
            shipment.state = "cancelled"
    shipment = _new_shipment(session, orders[0].store_id, warehouse_id, [
        (o.id, line.line_id, line.qty) for o in orders for line in _line_qtys(session, o)])
    ids = [o.platform_order_id for o in orders]
    for o in orders:
        record_event(session, o, "merged", actor=actor,
                     data={"shipment": shipment.id, "orders": ids})
    return shipment


def split(session: Session, order: Order, groups: list[dict[int, int]], *, actor: str
          ) -> list[Shipment]:
    """Spread the order's lines over several parcels (order line id → units per parcel; every
    unit in exactly one). Its earlier parcel is replaced; an event names the parcels."""
    return _split(session, order, groups, actor=actor)


def _split(session: Session, order: Order, groups: list[dict[int, int]], *, actor: str,
           warehouses: list[int] | None = None) -> list[Shipment]:
    label = _label(order)
    if Stage(order.stage) not in OPEN_STAGES:
        raise ms.SplitRefused(
            f"order {label} is {StageName(order.stage)}: only orders not shipped yet can be "
            "split", key="orders.split_stage", order=label, stage=StageName(order.stage))
    lines = _line_qtys(session, order)
    groups = ms.check_split(label, lines, groups)
    if _shared_parcel(session, order):
        raise ms.SplitRefused(f"order {label} shares a parcel with other orders (merged): "
                              "it cannot be split", key="orders.split_merged", order=label)
    for shipment in _open_shipments(session, order):
        shipment.state = "cancelled"
    where = {}  # line → its warehouse, when its held stock is in one
    for line_id, warehouse_id, _ in _held_picks(session, order):
        where[line_id] = warehouse_id if where.get(line_id, warehouse_id) == warehouse_id \
            else None
    shipments = []
    for i, group in enumerate(groups):
        found = {where.get(line_id) for line_id in group}
        warehouse_id = warehouses[i] if warehouses else (
            found.pop() if len(found) == 1 else None)
        shipments.append(_new_shipment(session, order.store_id, warehouse_id,
                                       [(order.id, k, v) for k, v in group.items()]))
    by_no = {line.line_id: line.line_no for line in lines}
    record_event(session, order, "split", actor=actor, data={
        "shipments": [s.id for s in shipments],
        "parcels": [{str(by_no[k]): v for k, v in g.items()} for g in groups]})
    return shipments


def split_by_warehouse(session: Session, order: Order, *, actor: str) -> list[Shipment]:
    """One parcel per warehouse the order's held stock is in."""
    picks = _held_picks(session, order)
    groups = ms.groups_by_warehouse(picks)
    if len(groups) < 2:
        raise ms.SplitRefused(f"order {_label(order)} is not held in several warehouses: "
                              "nothing to split", key="orders.split_nothing",
                              order=_label(order))
    return _split(session, order, groups, actor=actor,
                  warehouses=sorted({w for _, w, _ in picks}))


def split_by_stock(session: Session, order: Order, *, actor: str) -> list[Shipment]:
    """What is in stock now in one parcel, the rest in another (an order not allocated yet)."""
    lines = _line_qtys(session, order)
    if _held(session, order):
        available = {line.sku: line.qty for line in lines}  # all held already
    else:
        available = _inventory().availability(session, order.store_id,
                                              sorted({line.sku for line in lines}))
    groups = ms.groups_by_stock(lines, available)
    if not all(groups):
        raise ms.SplitRefused(f"order {_label(order)}: all or none of it is in stock, "
                              "nothing to split", key="orders.split_nothing",
                              order=_label(order))
    return split(session, order, groups, actor=actor)


def mark_shipped(session: Session, order: Order, *, carrier_id: str, waybill: str,
                 actor: str) -> None:
    """The parcel left (the platform confirmed it): stage shipped, shipments shipped with
    the carrier and waybill, the held stock leaves the warehouse."""
    frm = Stage(order.stage)
    check_transition(frm, Stage.SHIPPED, _label(order))
    _ship_stock(session, order, actor=actor)
    now = utcnow()
    if not _open_shipments(session, order):
        _new_shipment(session, order.store_id, None, [
            (order.id, line.id, line.quantity)
            for line in session.scalars(select(OrderLine).where(OrderLine.order_id == order.id)
                                        .order_by(OrderLine.line_no))])
    shipments = _close_shipments(session, order, "shipped", carrier_id=str(carrier_id),
                                 waybill=waybill)
    order.shipped_at, order.ship_error, order.hold_reason = now, None, None
    if OrderStatus(order.status) in TO_SHIP:
        order.status = OrderStatus.SHIPPED.value
    _stamp(session, order)
    _move(session, order, Stage.SHIPPED, actor=actor, kind="shipped",
          data={"carrier_id": str(carrier_id), "waybill": waybill,
                "shipments": [s.id for s in shipments]})


def open_stage(order: Order) -> bool:
    return Stage(order.stage) in OPEN_STAGES


# --------------------------------------------------------------------------- reading

def _money(cents: int | None) -> str | None:
    value = from_cents(cents)
    return None if value is None else str(value)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def order_detail(session: Session, order: Order) -> dict[str, Any]:
    """Everything about one order as plain JSON-ready data: its facts, lines, parcels and
    timeline (money as decimal strings, times ISO in UTC)."""
    from storeops.inventory.models import Warehouse

    store = session.get(Store, order.store_id)
    account = session.scalar(select(Customer.platform_account).where(
        Customer.id == order.customer_id)) if order.customer_id else None
    lines = session.execute(
        select(OrderLine.id, OrderLine.line_no, Product.platform_sku_id, Product.title,
               OrderLine.quantity, OrderLine.unit_price_e4, OrderLine.amount_cents)
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id == order.id).order_by(OrderLine.line_no)).all()
    line_no = {r.id: r.line_no for r in lines}
    ship_ids = select(ShipmentLine.shipment_id).where(ShipmentLine.order_id == order.id)
    parcels = []
    for shipment in session.scalars(select(Shipment).where(Shipment.id.in_(ship_ids))
                                    .order_by(Shipment.id)):
        warehouse = session.get(Warehouse, shipment.warehouse_id) \
            if shipment.warehouse_id else None
        members = session.execute(
            select(ShipmentLine.order_id, Order.platform_order_id, ShipmentLine.order_line_id,
                   ShipmentLine.quantity).join(Order, Order.id == ShipmentLine.order_id)
            .where(ShipmentLine.shipment_id == shipment.id).order_by(ShipmentLine.id)).all()
        parcels.append({
            "id": shipment.id, "state": shipment.state,
            "warehouse": warehouse.code if warehouse else None,
            "carrier_id": shipment.carrier_id, "waybill": shipment.waybill,
            "shipped_at": _iso(shipment.shipped_at), "error": shipment.error,
            "orders": sorted({m.platform_order_id for m in members}),
            "lines": [{"order": m.platform_order_id,
                       "line_no": line_no.get(m.order_line_id), "qty": m.quantity}
                      for m in members if m.order_id == order.id],
        })
    return {
        "order": order.platform_order_id, "store": store.name if store else None,
        "channel": order.channel, "stage": order.stage, "status": order.status,
        "placed_at": _iso(order.placed_at), "paid_at": _iso(order.paid_at),
        "due_at": _iso(order.due_at), "pay_deadline": _iso(order.pay_deadline),
        "shipped_at": _iso(order.shipped_at), "finished_at": _iso(order.finished_at),
        "cancelled_at": _iso(order.cancelled_at),
        "hold_reason": order.hold_reason, "ship_error": order.ship_error,
        "buyer": account, "receiver_name": order.receiver_name,
        "receiver_phone": order.receiver_phone, "ship_address": order.ship_address,
        "buyer_remark": order.buyer_remark, "seller_remark": order.seller_remark,
        "cod": order.cod, "source": order.source,
        "goods": _money(order.goods_cents), "seller_discount": _money(order.seller_discount_cents),
        "freight": _money(order.freight_cents), "paid": _money(order.paid_cents),
        "lines": [{"line_no": r.line_no, "sku": r.platform_sku_id, "title": r.title,
                   "qty": r.quantity, "unit_price": format(from_price_units(r.unit_price_e4), "f"),
                   "amount": _money(r.amount_cents)} for r in lines],
        "shipments": parcels,
        "timeline": _timeline_data(session, order),
    }


def _timeline_data(session: Session, order: Order) -> list[dict[str, Any]]:
    """The events as data; an order that came from a file (no "received" event: imports
    write none) starts with an "imported" entry naming the file that last wrote it."""
    from storeops.importers.models import ImportBatch

    events = timeline(session, order.id)
    out = [{
        "at": _iso(e.at), "kind": e.kind, "from_stage": e.from_stage,
        "to_stage": e.to_stage, "actor": f"{e.actor_kind}:{e.actor}" if e.actor
        else e.actor_kind, "reason": e.reason,
        "data": json.loads(e.data_json) if e.data_json else None,
    } for e in events]
    if order.import_batch_id and not any(e.kind == "received" for e in events):
        batch = session.get(ImportBatch, order.import_batch_id)
        if batch is not None:
            out.insert(0, {"at": _iso(batch.started_at), "kind": "imported",
                           "from_stage": None, "to_stage": None, "actor": "import",
                           "reason": batch.source_name, "data": None})
    return out
