"""Pages of stock: by warehouse and SKU, the movement ledger, flash sales.

Reads query the inventory tables directly, a bounded page at a time; receipts, adjustments and
new flash sales go through the inventory services (:mod:`storeops.inventory.service`,
:func:`storeops.inventory.flash.create_flash_sale`), whose refusals come back beside the form
in the reader's language with what was typed kept. ``STOCK_VIEW`` sees, ``STOCK_MANAGE`` changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from storeops.accounts.permissions import Permission
from storeops.api.auth import CurrentUser, Forbidden, db_url_of, require
from storeops.api.limits import STORE_NAME_CHARS
from storeops.catalog.models import Product, Store
from storeops.catalog.stock import LOW_UNITS
from storeops.common.errors import StoreopsError, localise
from storeops.common.money import from_cents, parse_decimal
from storeops.common.timeutil import localize, utcnow
from storeops.db.engine import session_factory, unit_of_work
from storeops.inventory.flash import create_flash_sale
from storeops.inventory.models import FlashSale, StockLevel, StockMovement, Warehouse
from storeops.web import format as fmt
from storeops.web.i18n import translate
from storeops.web.orders_pages import (
    MAX_PAGE,
    REASON_CHARS,
    FormRefused,
    actor_of,
    form_text,
    label,
    like_prefix,
    local_time,
    page_links,
    paged,
    store_scope,
)
from storeops.web.pages import page_lang, render

router = APIRouter(include_in_schema=False)

SKU_CHARS = 64
MAX_QTY = 1_000_000
LEDGER_REASONS = ("receipt", "reservation", "release", "shipment", "return", "adjustment",
                  "count", "transfer")
FLASH_STATES = ("upcoming", "running", "ended")


def stock_viewer(user: CurrentUser = require(Permission.STOCK_VIEW)) -> CurrentUser:
    """A person who may see stock on the pages: STOCK_VIEW, and the cockpit's SKU view (the
    integration role reads stock through the API only, never through these pages)."""
    if not user.can(Permission.SKU_VIEW):
        raise Forbidden(user, Permission.SKU_VIEW)
    return user


def warehouses(session: Session, store_id: int) -> list[Warehouse]:
    return list(session.scalars(select(Warehouse).where(Warehouse.store_id == store_id)
                                .order_by(Warehouse.is_default.desc(), Warehouse.priority,
                                          Warehouse.id).limit(200)))


def stock_class(available: int, buffer: int) -> str:
    """``stock-out`` at nothing available, ``stock-low`` under LOW_UNITS (or at the buffer)."""
    if available <= 0:
        return "stock-out"
    if available < LOW_UNITS or available <= buffer:
        return "stock-low"
    return ""


def whole_number(form: Mapping[str, Any], name: str, lang: str, *, allow_negative: bool = False,
                 errors: dict[str, str]) -> int:
    text = form_text(form, name, 12)
    body = text[1:] if allow_negative and text[:1] in "+-" else text
    if not text:
        errors[name] = translate(lang, "pages.form.required")
        return 0
    if not body.isdigit() or int(body) > MAX_QTY:
        key = "pages.form.nonzero_number" if allow_negative else "pages.form.positive_number"
        errors[name] = translate(lang, key)
        return 0
    value = int(text)
    if value == 0 or (value < 0 and not allow_negative):
        key = "pages.form.nonzero_number" if allow_negative else "pages.form.positive_number"
        errors[name] = translate(lang, key)
    return value


def sku_of(session: Session, store_id: int, form: Mapping[str, Any], lang: str,
           errors: dict[str, str]) -> str:
    sku = form_text(form, "sku", SKU_CHARS)
    if not sku:
        errors["sku"] = translate(lang, "pages.form.required")
    elif len(sku) > SKU_CHARS or session.scalar(
            select(Product.id).where(Product.store_id == store_id,
                                     Product.platform_sku_id == sku)) is None:
        errors["sku"] = translate(lang, "pages.form.unknown_sku", sku=sku[:SKU_CHARS])
    return sku


# --- stock by warehouse ------------------------------------------------------------------------

def stock_query(store_id: int, sku: str, warehouse_id: int | None) -> Select[Any]:
    q = (select(StockLevel, Product.platform_sku_id, Product.title, Warehouse.name,
                Warehouse.code)
         .join(Product, Product.id == StockLevel.product_id)
         .join(Warehouse, Warehouse.id == StockLevel.warehouse_id)
         .where(StockLevel.store_id == store_id))
    if sku:
        q = q.where(Product.platform_sku_id.like(like_prefix(sku), escape="\\"))
    if warehouse_id:
        q = q.where(StockLevel.warehouse_id == warehouse_id)
    return q.order_by(Product.platform_sku_id, Warehouse.is_default.desc(), Warehouse.id)


def render_stock(request: Request, user: CurrentUser, store: str | None, sku: str,
                 warehouse: int | None, page: int, *, status: int = 200,
                 errors: Mapping[str, str] | None = None, form: Mapping[str, Any] | None = None,
                 form_name: str = "", message: str = "") -> Response:
    sc = store_scope(request, store)
    with session_factory(db_url_of(request))() as session:
        paging, rows = paged(session, stock_query(sc.store.id, sku, warehouse), page)
        houses = warehouses(session, sc.store.id)
    view = []
    for level, psku, title, wname, wcode in rows:
        available = level.on_hand - level.reserved - level.safety_buffer
        view.append({"sku": psku, "title": title or "", "warehouse": wname, "code": wcode,
                     "on_hand": level.on_hand, "reserved": level.reserved,
                     "buffer": level.safety_buffer, "available": available,
                     "css": stock_class(available, level.safety_buffer)})
    params = {"store": sc.store.name, "sku": sku, "warehouse": warehouse or ""}
    done = request.query_params.get("done")
    context = {
        "rows": view, "paging": paging, "links": page_links("/stock", params, paging),
        "sku": sku, "warehouse": warehouse, "warehouses": houses,
        "errors": dict(errors or {}), "form": dict(form or {}), "form_name": form_name,
        "message": message, "done": done if done in ("receive", "adjust") else "",
        "low_units": LOW_UNITS,
    }
    return render(request, "stock.html", context, status=status, user=user, sc=sc)


@router.get("/stock")
def stock_page(
    request: Request,
    user: CurrentUser = Depends(stock_viewer),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
    sku: str = Query("", max_length=SKU_CHARS),
    warehouse: int | None = Query(None, ge=1, le=2**31 - 1),
    page: int = Query(1, ge=1, le=MAX_PAGE),
) -> Response:
    return render_stock(request, user, store, sku.strip(), warehouse, page)


def stock_change(request: Request, user: CurrentUser, store: str | None, name: str,
                 form: Mapping[str, Any]) -> Response:
    """A receipt or an adjustment from the stock page's forms."""
    from storeops.inventory import service

    lang = page_lang(request)
    sc = store_scope(request, store)
    errors: dict[str, str] = {}
    try:
        with unit_of_work(db_url_of(request)) as session:
            sku = sku_of(session, sc.store.id, form, lang, errors)
            qty = whole_number(form, "qty", lang, allow_negative=name == "adjust", errors=errors)
            code = form_text(form, "warehouse", 40)
            if code and code not in {w.code for w in warehouses(session, sc.store.id)}:
                errors["warehouse"] = translate(lang, "pages.form.unknown_warehouse")
            note = form_text(form, "note", REASON_CHARS)
            if len(note) > REASON_CHARS:
                errors["note"] = translate(lang, "pages.form.too_long", limit=REASON_CHARS)
            if name == "adjust" and not note:
                errors["note"] = translate(lang, "pages.form.reason_required")
            if errors:
                raise FormRefused(errors)
            if name == "receive":
                service.receive(session, sc.store.id, sku, qty, warehouse=code or None,
                                actor=actor_of(user), note=note or None)
            else:
                service.adjust(session, sc.store.id, sku, qty, warehouse=code or None,
                               actor=actor_of(user), note=note)
    except FormRefused as exc:
        return render_stock(request, user, sc.store.name, "", None, 1, status=422,
                            errors=exc.errors, form=form, form_name=name)
    except StoreopsError as exc:
        text = localise(exc, lang)
        return render_stock(request, user, sc.store.name, "", None, 1, status=422,
                            errors={"form": text}, form=form, form_name=name, message=text)
    return RedirectResponse(f"/stock?store={_q(sc.store.name)}&done={name}", status_code=303)


def _q(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


@router.post("/stock/receive")
async def stock_receive(request: Request, user: CurrentUser = require(Permission.STOCK_MANAGE),
                        store: str | None = Query(None, max_length=STORE_NAME_CHARS)
                        ) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    return stock_change(request, user, store, "receive", form)


@router.post("/stock/adjust")
async def stock_adjust(request: Request, user: CurrentUser = require(Permission.STOCK_MANAGE),
                       store: str | None = Query(None, max_length=STORE_NAME_CHARS)
                       ) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    return stock_change(request, user, store, "adjust", form)


# --- the ledger --------------------------------------------------------------------------------

@router.get("/stock/ledger")
def ledger_page(
    request: Request,
    user: CurrentUser = Depends(stock_viewer),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
    sku: str = Query("", max_length=SKU_CHARS),
    warehouse: int | None = Query(None, ge=1, le=2**31 - 1),
    reason: str = Query("", max_length=20),
    page: int = Query(1, ge=1, le=MAX_PAGE),
) -> Response:
    sc = store_scope(request, store)
    lang = page_lang(request)
    sku = sku.strip()
    reason = reason if reason in LEDGER_REASONS else ""
    q = (select(StockMovement, Product.platform_sku_id, Warehouse.name)
         .join(Product, Product.id == StockMovement.product_id)
         .join(Warehouse, Warehouse.id == StockMovement.warehouse_id)
         .where(StockMovement.store_id == sc.store.id))
    if sku:
        q = q.where(Product.platform_sku_id == sku)
    if warehouse:
        q = q.where(StockMovement.warehouse_id == warehouse)
    if reason:
        q = q.where(StockMovement.reason == reason)
    q = q.order_by(StockMovement.id.desc())
    with session_factory(db_url_of(request))() as session:
        paging, rows = paged(session, q, page)
        houses = warehouses(session, sc.store.id)
    tz = sc.store.timezone
    view = [{"at": local_time(m.at, tz), "sku": psku, "warehouse": wname,
             "on_hand": _signed(m.on_hand_delta), "reserved": _signed(m.reserved_delta),
             "reason": label(lang, "pages.ledger.reason", m.reason), "code": m.reason,
             "actor": m.actor or fmt.DASH, "reference": m.reference or "", "note": m.note or ""}
            for m, psku, wname in rows]
    params = {"store": sc.store.name, "sku": sku, "warehouse": warehouse or "",
              "reason": reason}
    context = {
        "rows": view, "paging": paging, "links": page_links("/stock/ledger", params, paging),
        "sku": sku, "warehouse": warehouse, "reason": reason, "warehouses": houses,
        "reasons": [(r, label(lang, "pages.ledger.reason", r)) for r in LEDGER_REASONS],
    }
    return render(request, "ledger.html", context, user=user, sc=sc)


def _signed(n: int) -> str:
    return f"{n:+,}" if n else "0"


# --- flash sales -------------------------------------------------------------------------------

def flash_state(sale: FlashSale, now: datetime) -> str:
    if now < sale.starts_at:
        return "upcoming"
    if now < sale.ends_at:
        return "running"
    return "ended"


def parse_local_time(text: str, tz: str) -> datetime | None:
    """``2026-11-11T20:00`` (a datetime-local input, or with a space) in the store's zone, as
    UTC; None when it is not such a time."""
    try:
        moment = datetime.fromisoformat(text.strip().replace(" ", "T"))
    except ValueError:
        return None
    if moment.tzinfo is not None or not 1970 <= moment.year <= 2099:
        return None
    return localize(moment, tz)


def flash_form_values(form: Mapping[str, Any], tz: str, lang: str, errors: dict[str, str]
                      ) -> tuple[int, Decimal, datetime | None, datetime | None, int | None]:
    qty = whole_number(form, "qty", lang, errors=errors)
    price: Decimal | None = None
    try:
        price = parse_decimal(form_text(form, "price", 20))
    except StoreopsError:
        price = None
    if price is None or price <= 0 or price > Decimal("10000000") \
            or price != price.quantize(Decimal("0.01")):
        errors["price"] = translate(lang, "pages.form.bad_price")
        price = Decimal(0)
    start = parse_local_time(form_text(form, "start", 30), tz)
    end = parse_local_time(form_text(form, "end", 30), tz)
    for name, value in (("start", start), ("end", end)):
        if value is None:
            errors[name] = translate(lang, "pages.form.bad_time")
    if start and end and end <= start:
        errors["end"] = translate(lang, "pages.flash.end_after_start")
    per_buyer = None
    if form_text(form, "per_buyer", 12):
        per_buyer = whole_number(form, "per_buyer", lang, errors=errors)
    return qty, price, start, end, per_buyer


def render_flash(request: Request, user: CurrentUser, store: str | None, page: int, *,
                 status: int = 200, errors: Mapping[str, str] | None = None,
                 form: Mapping[str, Any] | None = None, message: str = "") -> Response:
    sc = store_scope(request, store)
    lang = page_lang(request)
    now = utcnow()
    q = (select(FlashSale, Product.platform_sku_id, Product.title)
         .join(Product, Product.id == FlashSale.product_id)
         .where(FlashSale.store_id == sc.store.id)
         .order_by(FlashSale.starts_at.desc(), FlashSale.id.desc()))
    with session_factory(db_url_of(request))() as session:
        paging, rows = paged(session, q, page)
    tz, currency = sc.store.timezone, sc.store.currency
    view = []
    for sale, sku, title in rows:
        state = flash_state(sale, now)
        view.append({"id": sale.id, "sku": sku, "title": title or "",
                     "start": local_time(sale.starts_at, tz), "end": local_time(sale.ends_at, tz),
                     "price": fmt.money(from_cents(sale.price_cents), currency),
                     "quota": sale.quota, "sold": sale.sold,
                     "remaining": max(0, sale.quota - sale.sold),
                     "per_buyer": sale.per_buyer or fmt.DASH, "state": state,
                     "state_label": translate(lang, f"pages.flash.state_{state}")})
    done = request.query_params.get("done")
    context = {
        "rows": view, "paging": paging,
        "links": page_links("/flash", {"store": sc.store.name}, paging),
        "errors": dict(errors or {}), "form": dict(form or {}), "message": message,
        "done": done == "create",
    }
    return render(request, "flash.html", context, status=status, user=user, sc=sc)


@router.get("/flash")
def flash_page(
    request: Request,
    user: CurrentUser = Depends(stock_viewer),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
    page: int = Query(1, ge=1, le=MAX_PAGE),
) -> Response:
    return render_flash(request, user, store, page)


@router.post("/flash")
async def flash_create(
    request: Request,
    user: CurrentUser = require(Permission.STOCK_MANAGE),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    lang = page_lang(request)
    sc = store_scope(request, store)
    errors: dict[str, str] = {}
    try:
        with unit_of_work(db_url_of(request)) as session:
            sku = sku_of(session, sc.store.id, form, lang, errors)
            qty, price, start, end, per_buyer = flash_form_values(form, sc.store.timezone,
                                                                   lang, errors)
            if errors:
                raise FormRefused(errors)
            create_flash_sale(session, session.get(Store, sc.store.id), sku, qty, price,
                              start, end, per_buyer)
    except FormRefused as exc:
        return render_flash(request, user, sc.store.name, 1, status=422, errors=exc.errors,
                            form=form)
    except StoreopsError as exc:
        text = localise(exc, lang)
        return render_flash(request, user, sc.store.name, 1, status=422,
                            errors={"form": text}, form=form, message=text)
    return RedirectResponse(f"/flash?store={_q(sc.store.name)}&done=create", status_code=303)
