"""Pages of orders: the list, an order with its timeline and actions, the review queue.

Reads go straight to the orders tables (bounded: a page of ``PAGE_SIZE`` rows, a page number
of at most ``MAX_PAGE``, searches of at most ``SEARCH_CHARS``); every change goes through the
orders services (:mod:`storeops.orders.service`, :mod:`storeops.orders.shipping`), whose
refusals (:class:`StoreopsError`) come back on the page in the reader's language, the form
keeping what was typed. ``ORDER_VIEW`` sees, ``ORDER_MANAGE`` acts.

The helpers at the top (the store of a page, paging, store-local times) are shared by the
stock and connector pages.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi import Path as FastApiPath
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from storeops.accounts.permissions import Permission
from storeops.api.auth import CurrentUser, db_url_of, require
from storeops.api.context import Scope, resolve_scope
from storeops.api.limits import SEARCH_CHARS, STORE_NAME_CHARS
from storeops.catalog.models import Product, Store
from storeops.common.errors import StoreopsError, localise
from storeops.common.money import from_cents
from storeops.common.timeutil import utcnow, zone
from storeops.db.engine import session_factory, unit_of_work
from storeops.members.models import Customer
from storeops.orders.carriers import CARRIERS
from storeops.orders.lifecycle import OPEN_STAGES as STAGES_OPEN
from storeops.orders.lifecycle import Stage
from storeops.orders.models import Order, OrderEvent, OrderLine, Shipment, ShipmentLine
from storeops.orders.sla import DUE_SOON_HOURS
from storeops.orders.states import OrderStatus
from storeops.web import format as fmt
from storeops.web.i18n import catalog, translate
from storeops.web.pages import page_lang, render, render_error

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
MAX_PAGE = 200  # 10,000 rows deep at most: past that, narrow the filters (or download)
REASON_CHARS = 500
WAYBILL_CHARS = 64
BULK_MAX = 200  # orders one bulk action may name
SPLIT_PARCELS = 3  # parcels the split form offers
DUE_SOON = timedelta(hours=DUE_SOON_HOURS)
ACTIONS = ("approve", "hold", "cancel", "merge", "split", "ship", "ship_failed",
           "approve_held")

# Our steps and JD's states, in their lifecycle order.
STAGES = tuple(s.value for s in Stage)
OPEN_STAGES = tuple(s.value for s in STAGES_OPEN)  # not shipped yet: the SLA runs
MERGEABLE_STAGES = OPEN_STAGES
JD_STATES = tuple(s.value for s in OrderStatus)
SLA_CHOICES = ("due_soon", "overdue")


# --- shared by the ERP pages -----------------------------------------------------------------

def store_scope(request: Request, store: str | None) -> Scope:
    """The store a page is about (``?store=``, else the first), with every store for the
    chooser; the period of the cockpit's pages does not apply."""
    with session_factory(db_url_of(request))() as session:
        return resolve_scope(session, store, None, None)


def actor_of(user: CurrentUser) -> str:
    return f"user:{user.username}"


def local_time(moment: datetime | None, tz: str) -> str:
    """A UTC time as the store reads it (``2026-11-12 09:30``), "—" when unknown."""
    if moment is None:
        return fmt.DASH
    return moment.astimezone(zone(tz)).strftime("%Y-%m-%d %H:%M")


def money_of_cents(cents: int | None, currency: str) -> str:
    return fmt.money(from_cents(cents), currency)


def label(lang: str, prefix: str, code: str | None) -> str:
    """The page's word for a code (a stage, a state, a reason), else the code itself."""
    if not code:
        return fmt.DASH
    return catalog(lang).get(f"{prefix}.{code}") or catalog("zh-CN").get(f"{prefix}.{code}") \
        or code


def mask_account(account: str | None) -> str:
    """A buyer's account shown as ``ja***88``: enough to tell buyers apart on a list, not to
    read the account off a screen."""
    if not account:
        return fmt.DASH
    text = account.strip()
    if len(text) <= 2:
        return text[:1] + "*"
    if len(text) <= 4:
        return text[:1] + "***" + text[-1:]
    return text[:2] + "***" + text[-2:]


def like_prefix(text: str) -> str:
    """``text%`` for LIKE with ``\\`` escaping ``%`` and ``_`` in what the user typed."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


@dataclass(frozen=True)
class Paging:
    page: int
    pages: int
    total: int
    size: int = PAGE_SIZE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def paged(session: Session, query: Select[Any] | tuple[Select[Any], Select[Any]], page: int,
          size: int = PAGE_SIZE) -> tuple[Paging, list[Any]]:
    """One page of ``query`` (ordered by the caller; or (query, the query counting its rows))
    and the paging facts; a page past the last one is empty (its number says so)."""
    if isinstance(query, tuple):
        query, counting = query
    else:
        counting = select(func.count()).select_from(query.order_by(None).subquery())
    total = int(session.scalar(counting) or 0)
    pages = max(1, -(-total // size))
    info = Paging(page=page, pages=pages, total=total, size=size)
    rows = list(session.execute(query.limit(size).offset(info.offset)).all()) \
        if page <= pages else []
    return info, rows


def page_links(path: str, params: Mapping[str, Any], paging: Paging) -> dict[str, str | None]:
    """The previous and next pages' URLs (None at an end), keeping the filters."""
    clean = {k: v for k, v in params.items() if v not in (None, "")}

    def href(n: int) -> str:
        return f"{path}?{urlencode({**clean, 'page': n})}"

    return {"prev": href(paging.page - 1) if 1 < paging.page <= paging.pages else None,
            "next": href(paging.page + 1) if paging.page < paging.pages else None}


def form_text(form: Mapping[str, Any], name: str, limit: int = 200) -> str:
    """A form field as text, cut at ``limit`` characters (a longer one is refused by the
    caller where it matters); a file or a missing field is ""."""
    value = form.get(name)
    return value.strip()[: limit + 1] if isinstance(value, str) else ""


# --- the list ----------------------------------------------------------------------------------

def duration_text(delta: timedelta, lang: str) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours >= 48:
        return translate(lang, "pages.time.days_hours", days=hours // 24, hours=hours % 24)
    return translate(lang, "pages.time.hours_minutes", hours=hours, minutes=minutes)


def due_view(due_at: datetime | None, stage: str, now: datetime, lang: str) -> tuple[str, str]:
    """(what the due column says, its CSS class): time left, "overdue by …", or "—" for an
    order that is shipped, closed or has no deadline."""
    if due_at is None or stage not in OPEN_STAGES:
        return fmt.DASH, ""
    left = due_at - now
    if left < timedelta(0):
        return translate(lang, "pages.orders.overdue_by", time=duration_text(-left, lang)), \
            "overdue"
    css = "due-soon" if left <= DUE_SOON else ""
    return translate(lang, "pages.orders.due_in", time=duration_text(left, lang)), css


def order_amount_cents(o: Order) -> int:
    if o.paid_cents is not None:
        return o.paid_cents
    return (o.goods_cents or 0) - (o.seller_discount_cents or 0) + (o.freight_cents or 0)


@dataclass(frozen=True)
class OrderFilters:
    stage: str = ""
    status: str = ""
    sla: str = ""
    held: bool = False
    q: str = ""

    def params(self) -> dict[str, str]:
        return {"stage": self.stage, "status": self.status, "sla": self.sla,
                "held": "1" if self.held else "", "q": self.q}


def order_filter(store_id: int, f: OrderFilters, now: datetime, dialect: str = "sqlite"
                 ) -> list[Any]:
    """The WHERE terms of the list's filters, each one an indexed lookup where it can be
    (a buyer: its customer ids; deadlines: the due_at index; an order id prefix on SQLite: a
    range on the store's unique (store, order id) index, SQLite comparing text byte by byte;
    elsewhere LIKE, right under any collation)."""
    terms: list[Any] = [Order.store_id == store_id]
    if f.stage in STAGES:
        terms.append(Order.stage == f.stage)
    if f.status in JD_STATES:
        terms.append(Order.status == f.status)
    if f.sla == "overdue":
        terms += [Order.due_at < now, Order.stage.in_(OPEN_STAGES)]
    elif f.sla == "due_soon":
        terms += [Order.due_at >= now, Order.due_at <= now + DUE_SOON,
                  Order.stage.in_(OPEN_STAGES)]
    if f.held:
        terms += [Order.hold_reason.is_not(None), Order.hold_reason != ""]
    if f.q:
        buyers = select(Customer.id).where(Customer.store_id == store_id,
                                           Customer.platform_account == f.q)
        prefix = and_(Order.platform_order_id >= f.q,
                      Order.platform_order_id < f.q + "\U0010ffff") if dialect == "sqlite" \
            else Order.platform_order_id.like(like_prefix(f.q), escape="\\")
        terms.append(or_(prefix, Order.customer_id.in_(buyers)))
    return terms


def order_query(session: Session, store_id: int, f: OrderFilters, now: datetime
                ) -> tuple[Select[Any], Select[Any]]:
    """(the rows of the list, newest first, or most urgent first under a deadline filter;
    the query counting them)."""
    terms = order_filter(store_id, f, now, session.get_bind().dialect.name)
    rows = (select(Order, Customer.platform_account)
            .outerjoin(Customer, Customer.id == Order.customer_id).where(*terms))
    if f.sla:
        rows = rows.order_by(Order.due_at, Order.id)
    else:  # the (store, placed_date) index gives the order; the day's own orders sort after
        rows = rows.order_by(Order.placed_date.desc(), Order.placed_at.desc(), Order.id.desc())
    return rows, select(func.count()).select_from(Order).where(*terms)


def order_row(o: Order, account: str | None, tz: str, currency: str, now: datetime,
              lang: str) -> dict[str, Any]:
    due, due_class = due_view(o.due_at, o.stage, now, lang)
    return {
        "id": o.id, "platform_order_id": o.platform_order_id,
        "placed": local_time(o.placed_at, tz), "paid": local_time(o.paid_at, tz),
        "buyer": mask_account(account),
        "receiver": o.receiver_name or "",
        "amount": money_of_cents(order_amount_cents(o), currency),
        "stage": o.stage, "stage_label": label(lang, "orders.stage", o.stage),
        "status_label": label(lang, "pages.jd_status", o.status),
        "due": due, "due_class": due_class,
        "hold_reason": hold_text(o.hold_reason, lang),
    }


def page_rows(session: Session, found: list[Any], sc: Scope, now: datetime, lang: str,
              **extra: Callable[[Order], Any]) -> list[dict[str, Any]]:
    """The rows of an order table; held orders' reasons in the page's language (from each
    one's latest hold event: one query for the page)."""
    reasons = held_reasons(session, [o for o, _ in found if o.hold_reason], lang)
    rows = []
    for o, account in found:
        row = order_row(o, account, sc.store.timezone, sc.store.currency, now, lang)
        if o.id in reasons:
            row["hold_reason"] = reasons[o.id]
        rows.append({**row, **{k: fn(o) for k, fn in extra.items()}})
    return rows


def held_reasons(session: Session, held: list[Order], lang: str) -> dict[int, str]:
    """Order id → its hold reason in ``lang`` (only where the language is not the stored
    text's and the order's latest hold event says why)."""
    if lang == "zh-CN" or not held:
        return {}
    latest = select(func.max(OrderEvent.id)).where(
        OrderEvent.order_id.in_([o.id for o in held]), OrderEvent.kind == "held"
    ).group_by(OrderEvent.order_id)
    events = session.scalars(select(OrderEvent).where(OrderEvent.id.in_(latest))).all()
    stored = {o.id: o.hold_reason for o in held}
    # A hold event older than the order's reason (out of stock after approval …) is not it.
    return {ev.order_id: held_reason_text(ev, lang) for ev in events
            if ev.reason == stored.get(ev.order_id)}


def hold_text(reason: str | None, lang: str) -> str:
    """A hold reason as the orders service stored it (its words, in Chinese)."""
    return reason or ""


@router.get("/orders")
def orders_page(
    request: Request,
    user: CurrentUser = require(Permission.ORDER_VIEW),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
    stage: str = Query("", max_length=20),
    status: str = Query("", max_length=20),
    sla: str = Query("", max_length=20),
    held: str = Query("", max_length=1),
    q: str = Query("", max_length=SEARCH_CHARS),
    page: int = Query(1, ge=1, le=MAX_PAGE),
) -> Response:
    sc = store_scope(request, store)
    lang = page_lang(request)
    f = OrderFilters(stage=stage if stage in STAGES else "",
                     status=status if status in JD_STATES else "",
                     sla=sla if sla in SLA_CHOICES else "", held=held == "1", q=q.strip())
    now = utcnow()
    with session_factory(db_url_of(request))() as session:
        paging, found = paged(session, order_query(session, sc.store.id, f, now), page)
        rows = page_rows(session, found, sc, now, lang)
    params = {"store": sc.store.name, **f.params()}
    context = {
        "filters": f, "paging": paging,
        "links": page_links("/orders", params, paging),
        "rows": rows,
        "stages": [(s, label(lang, "orders.stage", s)) for s in STAGES],
        "jd_states": [(s, label(lang, "pages.jd_status", s)) for s in JD_STATES],
        "sla_choices": [(s, translate(lang, f"pages.orders.sla_{s}")) for s in SLA_CHOICES],
        "downloads": {ext: f"/orders.{ext}?{urlencode({k: v for k, v in params.items() if v})}"
                      for ext in ("csv", "xlsx")},
        "export_max": EXPORT_MAX,
    }
    return render(request, "orders.html", context, user=user, sc=sc)


EXPORT_MAX = 10_000  # rows a download holds at most: past that, narrow the filters


def export_columns(lang: str) -> list[Any]:
    from storeops.web.table_export import ID, MONEY, TEXT, Column

    t = lambda key: translate(lang, f"pages.orders.col_{key}")  # noqa: E731
    return [Column("platform_order_id", t("id"), ID), Column("placed", t("placed"), TEXT),
            Column("paid", t("paid"), TEXT), Column("buyer", t("buyer"), TEXT),
            Column("amount_value", t("amount"), MONEY), Column("stage_label", t("stage"), TEXT),
            Column("status_label", t("status"), TEXT), Column("due", t("due"), TEXT),
            Column("hold_reason", t("hold"), TEXT)]


def orders_download(request: Request, user: CurrentUser, store: str | None, f: OrderFilters,
                    ext: str) -> Response:
    """The orders of the list's filters (up to EXPORT_MAX, newest first) as CSV or XLSX."""
    from storeops.web.exports_page import csv_response, xlsx_response

    sc = store_scope(request, store)
    lang = page_lang(request)
    now = utcnow()
    with session_factory(db_url_of(request))() as session:
        query = order_query(session, sc.store.id, f, now)[0]
        found = session.execute(query.limit(EXPORT_MAX)).all()
        rows = page_rows(session, list(found), sc, now, lang,
                         amount_value=lambda o: from_cents(order_amount_cents(o)))
    name = f"{sc.store.name}_orders_{local_time(now, sc.store.timezone)[:10]}.{ext}"
    if ext == "csv":
        return csv_response(export_columns(lang), rows, name)
    return xlsx_response(export_columns(lang), rows, name,
                         sheet_name=translate(lang, "pages.orders.title"),
                         currency_symbol=fmt.currency_symbol(sc.store.currency))


@router.get("/orders.{ext}")
def orders_file(
    request: Request,
    ext: str,
    user: CurrentUser = require(Permission.ORDER_VIEW),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
    stage: str = Query("", max_length=20),
    status: str = Query("", max_length=20),
    sla: str = Query("", max_length=20),
    held: str = Query("", max_length=1),
    q: str = Query("", max_length=SEARCH_CHARS),
) -> Response:
    if ext not in ("csv", "xlsx"):
        return render_error(request, 404, None)
    f = OrderFilters(stage=stage if stage in STAGES else "",
                     status=status if status in JD_STATES else "",
                     sla=sla if sla in SLA_CHOICES else "", held=held == "1", q=q.strip())
    return orders_download(request, user, store, f, ext)


# --- one order ---------------------------------------------------------------------------------

def carriers(lang: str = "zh-CN") -> list[tuple[str, str]]:
    """(JD carrier id, name) of the carriers the ship form offers."""
    return [(c.id, c.english if lang == "en" else c.name) for c in CARRIERS]


# An order's id in a path: past the column's range there is no such order (a 422, never a
# database error).
OrderId = Annotated[int, FastApiPath(ge=1, le=2**63 - 1)]


def load_order(session: Session, order_id: int) -> Order | None:
    return session.get(Order, order_id)


def event_actor(ev: OrderEvent, lang: str) -> str:
    kind = label(lang, "pages.actor", ev.actor_kind)
    return f"{kind} {ev.actor}" if ev.actor else kind


def event_what(ev: OrderEvent, lang: str) -> str:
    what = label(lang, "orders.event", ev.kind)
    if ev.from_stage and ev.to_stage:
        what += translate(lang, "pages.stage_change",
                          frm=label(lang, "orders.stage", ev.from_stage),
                          to=label(lang, "orders.stage", ev.to_stage))
    return what


def held_reason_text(ev: OrderEvent, lang: str) -> str:
    """A hold's reason in the page's language, from the reasons the event keeps (the stored
    text is the orders service's Chinese); the stored text when they cannot be read."""
    if ev.kind != "held" or lang == "zh-CN" or not ev.data_json:
        return ev.reason or ""
    try:
        from storeops.orders.review import HoldReason
        from storeops.orders.service import hold_text as service_hold_text

        reasons = [HoldReason(r["code"], dict(r.get("params") or {}))
                   for r in json.loads(ev.data_json)["reasons"]]
        return service_hold_text(reasons, lang)
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        return ev.reason or ""


def timeline_rows(session: Session, order_id: int, tz: str, lang: str) -> list[dict[str, Any]]:
    events = session.scalars(select(OrderEvent).where(OrderEvent.order_id == order_id)
                             .order_by(OrderEvent.at, OrderEvent.id).limit(500)).all()
    return [{"at": local_time(ev.at, tz), "actor": event_actor(ev, lang),
             "what": event_what(ev, lang), "kind": ev.kind,
             "reason": held_reason_text(ev, lang),
             "data": "" if ev.kind == "held" else event_data(ev.data_json)} for ev in events]


def event_data(text: str | None) -> str:
    """An event's ``data_json`` as one short line (what changed)."""
    if not text:
        return ""
    try:
        data = json.loads(text)
    except ValueError:
        return text[:200]
    if isinstance(data, dict):
        return "; ".join(f"{k}: {v}" for k, v in list(data.items())[:8])[:300]
    return str(data)[:300]


def order_lines(session: Session, order_id: int, currency: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(OrderLine, Product.platform_sku_id, Product.title)
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id == order_id).order_by(OrderLine.line_no).limit(500)).all()
    return [{"id": line.id, "line_no": line.line_no, "sku": sku, "title": title or "",
             "quantity": line.quantity,
             "unit_price": fmt.money(from_cents(round(line.unit_price_e4 / 100)), currency),
             "amount": money_of_cents(line.amount_cents, currency)}
            for line, sku, title in rows]


def order_shipments(session: Session, order_id: int, tz: str, lang: str
                    ) -> list[dict[str, Any]]:
    from storeops.inventory.models import Warehouse

    ids = list(session.scalars(select(ShipmentLine.shipment_id).distinct()
                               .where(ShipmentLine.order_id == order_id).limit(100)))
    found = session.execute(
        select(Shipment, Warehouse.name).outerjoin(Warehouse, Warehouse.id == Shipment.warehouse_id)
        .where(Shipment.id.in_(ids)).order_by(Shipment.id)).all() if ids else []
    names = dict(carriers(lang))
    out = []
    for sh, warehouse in found:
        lines = session.execute(
            select(ShipmentLine.quantity, Product.platform_sku_id, Order.platform_order_id)
            .join(OrderLine, OrderLine.id == ShipmentLine.order_line_id)
            .join(Product, Product.id == OrderLine.product_id)
            .join(Order, Order.id == ShipmentLine.order_id)
            .where(ShipmentLine.shipment_id == sh.id).limit(200)).all()
        out.append({
            "id": sh.id, "warehouse": warehouse or fmt.DASH,
            "carrier": names.get(sh.carrier_id or "", sh.carrier_id or fmt.DASH),
            "waybill": sh.waybill or fmt.DASH,
            "state": label(lang, "pages.shipment_state", sh.state),
            "shipped": local_time(sh.shipped_at, tz), "error": sh.error or "",
            "lines": [{"qty": q, "sku": sku, "order": po} for q, sku, po in lines],
        })
    return out


def merge_candidates(session: Session, o: Order, tz: str, currency: str) -> list[dict[str, Any]]:
    """The other open orders of the same buyer to the same address."""
    if o.stage not in MERGEABLE_STAGES or not o.address_key:
        return []
    same_buyer = (Order.customer_id == o.customer_id) if o.customer_id is not None \
        else and_(Order.customer_id.is_(None), Order.receiver_name == o.receiver_name)
    found = session.scalars(
        select(Order).where(Order.store_id == o.store_id, Order.id != o.id,
                            Order.address_key == o.address_key, same_buyer,
                            Order.stage.in_(MERGEABLE_STAGES))
        .order_by(Order.placed_at).limit(50)).all()
    return [{"id": x.id, "platform_order_id": x.platform_order_id,
             "placed": local_time(x.placed_at, tz),
             "amount": money_of_cents(order_amount_cents(x), currency),
             "stage": x.stage} for x in found]


def detail_context(session: Session, o: Order, store: Store, lang: str) -> dict[str, Any]:
    tz, currency = store.timezone, store.currency
    now = utcnow()
    account = session.scalar(select(Customer.platform_account)
                             .where(Customer.id == o.customer_id)) if o.customer_id else None
    row = order_row(o, account, tz, currency, now, lang)
    if o.hold_reason:
        row["hold_reason"] = held_reasons(session, [o], lang).get(o.id, row["hold_reason"])
    lines = order_lines(session, o.id, currency)
    return {
        "order": o, "row": row,
        "facts": {
            "freight": money_of_cents(o.freight_cents, currency),
            "discount": money_of_cents(o.seller_discount_cents, currency),
            "goods": money_of_cents(o.goods_cents, currency),
            "channel": label(lang, "pages.channel", o.channel),
            "address": o.ship_address or fmt.DASH,
            "phone": o.receiver_phone or fmt.DASH,
            "buyer_remark": o.buyer_remark or "", "seller_remark": o.seller_remark or "",
            "due_at": local_time(o.due_at, tz), "shipped_at": local_time(o.shipped_at, tz),
            "ship_error": o.ship_error or "",
        },
        "lines": lines,
        "shipments": order_shipments(session, o.id, tz, lang),
        "timeline": timeline_rows(session, o.id, tz, lang),
        "merge_with": merge_candidates(session, o, tz, currency),
        "carriers": carriers(lang),
        "parcels": list(range(1, SPLIT_PARCELS + 1)),
        "is_open": o.stage in OPEN_STAGES,
    }


def render_order(request: Request, user: CurrentUser, order_id: int, *, status: int = 200,
                 errors: Mapping[str, str] | None = None, form: Mapping[str, Any] | None = None,
                 form_name: str = "", message: str = "") -> Response:
    lang = page_lang(request)
    with session_factory(db_url_of(request))() as session:
        o = load_order(session, order_id)
        if o is None:
            return render_error(request, 404, None,
                                detail=translate(lang, "pages.order.not_found", id=order_id))
        store = session.get(Store, o.store_id)
        context = detail_context(session, o, store, lang)
        sc = resolve_scope(session, store.name, None, None)
    context.update({"errors": dict(errors or {}), "form": dict(form or {}),
                    "form_name": form_name, "message": message,
                    "done": done if (done := request.query_params.get("done")) in ACTIONS
                    else ""})
    return render(request, "order.html", context, status=status, user=user, sc=sc)


@router.get("/orders/{order_id}")
def order_page(
    request: Request,
    order_id: OrderId,
    user: CurrentUser = require(Permission.ORDER_VIEW),
) -> Response:
    return render_order(request, user, order_id)


# An action may name what the page says afterwards (``done``); None: its own name.
Action = Callable[[Session, Order, Store, Mapping[str, Any]], str | None]


class FormRefused(Exception):
    """A form value the page refuses before any service runs: field → message."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("form refused")
        self.errors = dict(errors)


def run_action(request: Request, user: CurrentUser, order_id: int, name: str,
               form: Mapping[str, Any], action: Action, field: str = "") -> Response:
    """Run ``action`` in one unit of work; on success back to the order (303), on a refusal
    the order again (422, or the error's own status) with the message beside the form."""
    lang = page_lang(request)
    try:
        with unit_of_work(db_url_of(request)) as session:
            o = load_order(session, order_id)
            if o is None:
                return render_error(request, 404, None,
                                    detail=translate(lang, "pages.order.not_found", id=order_id))
            store = session.get(Store, o.store_id)
            done = action(session, o, store, form) or name
    except FormRefused as exc:
        return render_order(request, user, order_id, status=422, errors=exc.errors, form=form,
                            form_name=name)
    except StoreopsError as exc:
        text = localise(exc, lang)
        status = int(getattr(exc, "http_status", 422))
        key = getattr(exc, "key", None) or ""
        at = "carrier" if key.startswith("ship.carrier") else \
            "waybill" if key.startswith("ship.waybill") else field or "form"
        return render_order(request, user, order_id, status=status if status >= 400 else 422,
                            errors={at: text}, form=form, form_name=name, message=text)
    return RedirectResponse(f"/orders/{order_id}?done={done}", status_code=303)


def required_reason(form: Mapping[str, Any], lang: str, field: str = "reason") -> str:
    reason = form_text(form, field, REASON_CHARS)
    if not reason:
        raise FormRefused({field: translate(lang, "pages.form.reason_required")})
    if len(reason) > REASON_CHARS:
        raise FormRefused({field: translate(lang, "pages.form.too_long", limit=REASON_CHARS)})
    return reason


def orders_service() -> Any:
    from storeops.orders import service

    return service


@router.post("/orders/{order_id}/approve")
async def approve_order(request: Request, order_id: OrderId,
                        user: CurrentUser = require(Permission.ORDER_MANAGE)) -> Response:
    form = dict(await request.form())

    def act(session: Session, o: Order, store: Store, f: Mapping[str, Any]) -> str | None:
        orders_service().approve(session, o, actor=actor_of(user))
        # Not enough stock: the service keeps it held with the shortage as its reason.
        return "approve_held" if o.stage == Stage.UNDER_REVIEW else None

    return run_action(request, user, order_id, "approve", form, act)


@router.post("/orders/{order_id}/hold")
async def hold_order(request: Request, order_id: OrderId,
                     user: CurrentUser = require(Permission.ORDER_MANAGE)) -> Response:
    form = dict(await request.form())
    lang = page_lang(request)

    def act(session: Session, o: Order, store: Store, f: Mapping[str, Any]) -> str | None:
        orders_service().hold(session, o, required_reason(f, lang), actor=actor_of(user))
        return None

    return run_action(request, user, order_id, "hold", form, act, "reason")


@router.post("/orders/{order_id}/cancel")
async def cancel_order(request: Request, order_id: OrderId,
                       user: CurrentUser = require(Permission.ORDER_MANAGE)) -> Response:
    form = dict(await request.form())
    lang = page_lang(request)

    def act(session: Session, o: Order, store: Store, f: Mapping[str, Any]) -> str | None:
        orders_service().cancel(session, o, required_reason(f, lang, "cancel_reason"),
                                actor=actor_of(user))
        return None

    return run_action(request, user, order_id, "cancel", form, act, "cancel_reason")


@router.post("/orders/{order_id}/merge")
async def merge_order(request: Request, order_id: OrderId,
                      user: CurrentUser = require(Permission.ORDER_MANAGE)) -> Response:
    raw = await request.form()
    others = [v for v in raw.getlist("with")[:BULK_MAX] if isinstance(v, str)]
    form: dict[str, Any] = {"with": others}
    lang = page_lang(request)

    def act(session: Session, o: Order, store: Store, f: Mapping[str, Any]) -> str | None:
        ids = {int(v) for v in others if v.isdigit()}
        allowed = {c["id"] for c in merge_candidates(session, o, store.timezone, store.currency)}
        if not ids or not ids <= allowed:
            raise FormRefused({"with": translate(lang, "pages.form.merge_choose")})
        chosen = session.scalars(select(Order).where(Order.id.in_(ids))
                                 .order_by(Order.placed_at, Order.id)).all()
        orders_service().merge(session, [o, *chosen], actor=actor_of(user))
        return None

    return run_action(request, user, order_id, "merge", form, act, "with")


def split_groups(form: Mapping[str, Any], lines: Mapping[int, int], lang: str
                 ) -> list[dict[int, int]]:
    """The split form's quantities (``qty_<parcel>_<line id>``) as the service's groups: each
    line's quantities must add up to the line, at least two parcels must hold something."""
    errors: dict[str, str] = {}
    groups: list[dict[int, int]] = [{} for _ in range(SPLIT_PARCELS)]
    for line_id, quantity in lines.items():
        total = 0
        for p in range(SPLIT_PARCELS):
            name = f"qty_{p + 1}_{line_id}"
            text = form_text(form, name, 9)
            if not text:
                continue
            if not text.isdigit() or len(text) > 6:
                errors[name] = translate(lang, "pages.form.whole_number")
                continue
            qty = int(text)
            total += qty
            if qty:
                groups[p][line_id] = qty
        if not any(f"qty_{p + 1}_{line_id}" in errors for p in range(SPLIT_PARCELS)) \
                and total != quantity:
            errors[f"qty_1_{line_id}"] = translate(lang, "pages.form.split_sum",
                                                   qty=quantity, total=total)
    chosen = [g for g in groups if g]
    if not errors and len(chosen) < 2:
        errors["form"] = translate(lang, "pages.form.split_two")
    if errors:
        raise FormRefused(errors)
    return chosen


@router.post("/orders/{order_id}/split")
async def split_order(request: Request, order_id: OrderId,
                      user: CurrentUser = require(Permission.ORDER_MANAGE)) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    lang = page_lang(request)

    def act(session: Session, o: Order, store: Store, f: Mapping[str, Any]) -> str | None:
        lines = dict(session.execute(select(OrderLine.id, OrderLine.quantity)
                                     .where(OrderLine.order_id == o.id)).all())
        groups = split_groups(f, lines, lang)
        orders_service().split(session, o, groups, actor=actor_of(user))
        return None

    return run_action(request, user, order_id, "split", form, act)


@router.post("/orders/{order_id}/ship")
async def ship_order(request: Request, order_id: OrderId,
                     user: CurrentUser = require(Permission.ORDER_MANAGE)) -> Response:
    form = dict(await request.form())

    def act(session: Session, o: Order, store: Store, f: Mapping[str, Any]) -> str | None:
        # The shipping service checks the carrier (a listed one or any JD id) and the waybill.
        carrier = form_text(f, "carrier", 20)
        waybill = form_text(f, "waybill", WAYBILL_CHARS)
        from storeops.orders import shipping

        result = shipping.ship(session, store, o.platform_order_id, carrier, waybill,
                               actor=actor_of(user))
        # JD refused: the order stays allocated with JD's reason (ship_error), kept.
        return "ship_failed" if result.outcome == "failed" else None

    return run_action(request, user, order_id, "ship", form, act, "waybill")


# --- the review queue --------------------------------------------------------------------------

NO_HOLD = "-"  # the review queue's reason filter: orders under review without a hold reason


def review_query(store_id: int, reason: str) -> Select[Any]:
    q = (select(Order, Customer.platform_account)
         .outerjoin(Customer, Customer.id == Order.customer_id)
         .where(Order.store_id == store_id, Order.stage == "under_review"))
    if reason == NO_HOLD:
        q = q.where((Order.hold_reason.is_(None)) | (Order.hold_reason == ""))
    elif reason:
        q = q.where(Order.hold_reason == reason)
    held_last = (Order.hold_reason.is_(None)) | (Order.hold_reason == "")
    return q.order_by(held_last, Order.placed_at, Order.id)


def reason_counts(session: Session, store_id: int, lang: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Order.hold_reason, func.count()).where(Order.store_id == store_id,
                                                      Order.stage == "under_review")
        .group_by(Order.hold_reason).order_by(func.count().desc()).limit(50)).all()
    none = translate(lang, "pages.review.no_hold")
    return [{"code": r or NO_HOLD, "label": hold_text(r, lang) or none, "count": n}
            for r, n in rows]


def render_review(request: Request, user: CurrentUser, store: str | None, reason: str,
                  page: int, *, status: int = 200, results: list[dict[str, Any]] | None = None,
                  errors: Mapping[str, str] | None = None,
                  form: Mapping[str, Any] | None = None) -> Response:
    sc = store_scope(request, store)
    lang = page_lang(request)
    now = utcnow()
    with session_factory(db_url_of(request))() as session:
        paging, found = paged(session, review_query(sc.store.id, reason), page)
        rows = page_rows(session, found, sc, now, lang)
        counts = reason_counts(session, sc.store.id, lang)
    params = {"store": sc.store.name, "reason": reason}
    context = {
        "paging": paging, "links": page_links("/review", params, paging),
        "rows": rows,
        "counts": counts, "reason": reason,
        "results": results or [], "errors": dict(errors or {}), "form": dict(form or {}),
    }
    return render(request, "review.html", context, status=status, user=user, sc=sc)


@router.get("/review")
def review_page(
    request: Request,
    user: CurrentUser = require(Permission.ORDER_VIEW),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
    reason: str = Query("", max_length=REASON_CHARS),
    page: int = Query(1, ge=1, le=MAX_PAGE),
) -> Response:
    return render_review(request, user, store, reason, page)


@router.post("/review")
async def review_bulk(
    request: Request,
    user: CurrentUser = require(Permission.ORDER_MANAGE),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
) -> Response:
    """Approve or hold the ticked orders, each on its own (one refused order does not stop
    the others); the queue again with what happened to each."""
    raw = await request.form()
    lang = page_lang(request)
    action = form_text(raw, "action", 20)
    ids = [int(v) for v in raw.getlist("ids")[:BULK_MAX + 1]
           if isinstance(v, str) and v.isdigit() and len(v) < 19]
    form = {"reason": form_text(raw, "reason", REASON_CHARS), "ids": [str(i) for i in ids]}
    errors: dict[str, str] = {}
    if action not in ("approve", "hold"):
        errors["action"] = translate(lang, "pages.form.choose_action")
    if not ids:
        errors["ids"] = translate(lang, "pages.form.choose_orders")
    elif len(ids) > BULK_MAX:
        errors["ids"] = translate(lang, "pages.form.too_many", limit=BULK_MAX)
    if action == "hold":
        try:
            form["reason"] = required_reason(raw, lang)
        except FormRefused as exc:
            errors.update(exc.errors)
    if errors:
        return render_review(request, user, store, "", 1, status=422, errors=errors, form=form)
    sc = store_scope(request, store)
    service = orders_service()
    results = []
    for oid in ids:
        name = str(oid)
        try:
            with unit_of_work(db_url_of(request)) as session:
                o = session.get(Order, oid)
                if o is None or o.store_id != sc.store.id:
                    results.append({"id": oid, "order": str(oid), "ok": False,
                                    "message": translate(lang, "pages.order.not_found", id=oid)})
                    continue
                name = o.platform_order_id
                if action == "approve":
                    service.approve(session, o, actor=actor_of(user))
                else:
                    service.hold(session, o, form["reason"], actor=actor_of(user))
                still_held = action == "approve" and o.stage == Stage.UNDER_REVIEW
                reason = held_reasons(session, [o], lang).get(o.id, o.hold_reason or "") \
                    if still_held else ""
            # Approved but short of stock: kept under review with the shortage as its reason.
            results.append({"id": oid, "order": name, "ok": not still_held, "message": reason})
        except StoreopsError as exc:
            results.append({"id": oid, "order": name, "ok": False,
                            "message": localise(exc, lang)})
    return render_review(request, user, sc.store.name, "", 1, results=results)
