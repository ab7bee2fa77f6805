"""The store's own channel under /api/v1: ``POST /orders`` (idempotent), ``POST
/orders/{id}/pay``. The work is :mod:`storeops.orders.channel`; this module reads the
request (Pydantic 2, money as Decimal straight from the JSON text, never through float) and
shapes the answers.

Orders are written in micro-batches (:mod:`storeops.api.order_batcher`): the requests that
arrive while the process's order transactions are busy are written together in one
transaction (:mod:`storeops.orders.channel_batch`), each request awaiting its own answer
(201, 409 out of stock or sold out, the first answer of its key …) exactly as alone.
:mod:`storeops.api.fast_lane` gives an ordinary order of a good token this route's answer
without FastAPI's request handling (:func:`answer_order`).
Settings: ``STOREOPS_ORDER_WRITERS`` (threads, default 6), ``STOREOPS_ORDER_BATCH`` (orders
per transaction at most, default 64), ``STOREOPS_ORDER_BATCHES`` (batches written at once
per process, default 1)."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from storeops.accounts.permissions import Permission
from storeops.api import schemas
from storeops.api.auth import CurrentUser, db_url_of, require
from storeops.api.order_batcher import batcher_for

router = APIRouter(prefix="/api/v1", tags=["orders"], responses=schemas.ERROR_RESPONSES)
_CREATE = require(Permission.ORDER_CREATE)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Money = Annotated[Decimal, Field(ge=0, le=Decimal("999999999.99"), decimal_places=2,
                                 allow_inf_nan=False)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BuyerIn(_In):
    account: Annotated[Text, StringConstraints(max_length=120)] = Field(
        description="The buyer's account on the store's channel (per-buyer flash limits)")
    name: Annotated[str, StringConstraints(max_length=120)] | None = Field(
        None, description="Receiver's name (stored masked)")
    phone: Annotated[str, StringConstraints(max_length=40)] | None = Field(
        None, description="Receiver's phone (stored masked)")
    address: Annotated[str, StringConstraints(max_length=500)] | None = Field(
        None, description="Full shipping address: province, city, county, street")


class LineIn(_In):
    sku: Annotated[Text, StringConstraints(max_length=64)] = Field(
        description="The SKU (商品编号) of a product of the store")
    qty: int = Field(ge=1, le=100_000, description="Units")
    price: Annotated[Decimal, Field(ge=0, le=Decimal("99999999.9999"), decimal_places=4,
                                    allow_inf_nan=False)] = Field(
        description="Unit price (a decimal string or a number); a SKU in a flash sale is "
        "sold at the flash price")


class OrderIn(_In):
    store: Annotated[Text, StringConstraints(max_length=120)] = Field(
        description="Store name")
    channel_order_id: Annotated[Text, StringConstraints(max_length=64)] = Field(
        description="The order's id on the store's own channel (unique per store)")
    buyer: BuyerIn
    lines: list[LineIn] = Field(min_length=1, max_length=100)
    freight: Money = Field(Decimal(0), description="Freight charged to the buyer")
    remark: Annotated[str, StringConstraints(max_length=1000)] | None = Field(
        None, description="The buyer's remark (review may hold the order for a person)")
    paid: bool = Field(True, description="false: an unpaid order holds its stock until its "
                       "pay_deadline (the store's unpaid_hold_minutes, 30 by default)")


class OrderLineOut(BaseModel):
    line_no: int
    sku: str
    qty: int
    price: str = Field(description="Unit price, a decimal string")
    amount: str = Field(description="Line amount, a decimal string")
    flash_sale_id: int | None = None


class OrderOut(BaseModel):
    id: int
    store: str
    channel_order_id: str
    channel: str
    status: str = Field(description="wait_pay (unpaid), wait_stock_out (paid), cancelled …")
    stage: str = Field(description="received, under_review, allocated, shipped, … cancelled")
    hold_reason: str | None = None
    paid: bool
    lines: list[OrderLineOut]
    goods: str
    freight: str
    total: str
    placed_at: str | None
    paid_at: str | None
    pay_deadline: str | None = Field(description="Unpaid orders: cancelled after this")
    due_at: str | None = Field(description="Paid orders: to ship by this time")


class StockShortOut(BaseModel):
    sku: str
    requested: int
    available: int


class ConflictOut(BaseModel):
    """A refusal that wrote nothing."""

    error: str = Field(description="out_of_stock, flash_sold_out, flash_buyer_limit, "
                       "duplicate_order, not_payable")
    detail: str
    code: str | None = None
    skus: list[StockShortOut] | None = None


WRITERS_ENV = "STOREOPS_ORDER_WRITERS"
_pool_lock = threading.Lock()
_pools: dict[int, ThreadPoolExecutor] = {}


def _writers() -> ThreadPoolExecutor:
    """This process's threads for order transactions (STOREOPS_ORDER_WRITERS, default 6): a
    pool of their own, so that orders never queue behind the cheap answers (sold out,
    replays, authentication) in the server's shared thread pool, nor take all of it."""
    pid = os.getpid()
    found = _pools.get(pid)
    if found is None:
        with _pool_lock:
            found = _pools.get(pid)
            if found is None:
                try:
                    size = max(1, int(os.environ.get(WRITERS_ENV, "") or 6))
                except ValueError:
                    size = 6
                found = _pools[pid] = ThreadPoolExecutor(size, thread_name_prefix="orders")
    return found


def _blank_key() -> JSONResponse:
    errors = [{"loc": ["header", "Idempotency-Key"], "msg": "must not be blank: send a unique "
               "key per order (e.g. a UUID)", "type": "string_too_short"}]
    return JSONResponse({"detail": "header parameter 'Idempotency-Key': must not be blank",
                         "errors": errors}, status_code=422)


def _invalid(exc: ValidationError) -> JSONResponse:
    errors = [{**e, "loc": ("body", *e.get("loc", ()))} for e in exc.errors(include_url=False)]
    # The app's own validation answer (storeops.api.errors): one sentence and every field.
    from storeops.api.errors import validation_detail

    sentence, items = validation_detail(RequestValidationError(errors))
    return JSONResponse({"detail": sentence, "errors": items}, status_code=422)


def _to_request(body: OrderIn) -> Any:
    from storeops.orders.channel import ChannelBuyer, ChannelLine, ChannelOrder

    return ChannelOrder(
        store=body.store, channel_order_id=body.channel_order_id,
        buyer=ChannelBuyer(body.buyer.account, body.buyer.name, body.buyer.phone,
                           body.buyer.address),
        lines=tuple(ChannelLine(x.sku, x.qty, x.price) for x in body.lines),
        freight=body.freight, remark=body.remark, paid=body.paid)


def _duplicate_skus(body: OrderIn) -> JSONResponse | None:
    seen: dict[str, int] = {}
    errors = []
    for i, line in enumerate(body.lines):
        if line.sku in seen:
            errors.append({"loc": ["body", "lines", str(i), "sku"],
                           "msg": f"SKU {line.sku!r} is already on line {seen[line.sku]}: "
                           "one line per SKU", "type": "duplicate_sku"})
        seen.setdefault(line.sku, i)
    if not errors:
        return None
    sentence = "; ".join(f"{'.'.join(e['loc'][1:])}: {e['msg']}" for e in errors)
    return JSONResponse({"detail": sentence, "errors": errors}, status_code=422)


def _inline(schema: Any, defs: dict[str, Any]) -> Any:
    """The model's JSON schema with its ``$defs`` written in place (the body is read by
    hand, so FastAPI does not list its models under the document's components)."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.rsplit("/", 1)[1]], defs)
        return {k: _inline(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_inline(v, defs) for v in schema]
    return schema


def _body_doc() -> dict[str, Any]:
    schema = OrderIn.model_json_schema()
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": _inline(schema, schema.get("$defs", {}))}}}}


_BODY_DOC = _body_doc()


@router.post(
    "/orders", status_code=201, response_model=OrderOut, openapi_extra=_BODY_DOC,
    responses={
        200: {"model": OrderOut, "description": "Never: a new order is 201, a replay "
              "repeats the first answer's status"},
        409: {"model": ConflictOut, "description": "Out of stock, flash sale sold out or "
              "over its per-buyer limit, or the order id already used with another key; "
              "nothing written"},
    },
)
async def create_order(
    request: Request,
    idempotency_key: Annotated[str, Header(
        alias="Idempotency-Key", min_length=1, max_length=255,
        description="Required: one unique key per order (e.g. a UUID). The same key with "
        "the same body answers the first answer again and creates nothing; with another "
        "body it is refused (422, error idempotency_key_reused).")],
    user: CurrentUser = _CREATE,
) -> Any:
    """Create an order of the store's own channel. Stock is reserved at once, all or
    nothing (409 out_of_stock with the shortages otherwise); a SKU in a flash sale's window
    takes the sale's quota and is sold at the flash price. An unpaid order (`paid: false`)
    holds its stock until its `pay_deadline`, then is cancelled."""
    key = idempotency_key.strip()
    if not key:
        return _blank_key()
    raw = await request.body()
    try:
        body = OrderIn.model_validate_json(raw or b"null")
    except ValidationError as exc:
        return _invalid(exc)
    duplicate = _duplicate_skus(body)
    if duplicate is not None:
        return duplicate
    return await answer_order(db_url_of(request), user.id, user.username, key, body)


async def answer_order(db_url: str, user_id: int, username: str, key: str, body: OrderIn
                       ) -> JSONResponse:
    """The answer to a valid order of an authorised user (the route's, and the fast lane's
    for an ordinary order): prepared on the event loop when all it reads is cached in the
    process, else in a thread; written by the process's batcher (prepare run by the batch's
    writer thread instead cost PostgreSQL about twice the CPU per order in
    bench/order_api_bench.py, for no gain). Raises what the route leaves to the app's error
    handlers."""
    from storeops.orders import channel

    order = _to_request(body)
    try:
        for attempt in range(5):
            # what every request reads is cached per process: then no thread is needed
            prepared = None if attempt else channel.prepare_cached(
                db_url, user_id=user_id, key=key, request=order)
            if prepared is None:
                prepared = await run_in_threadpool(channel.prepare, db_url, user_id=user_id,
                                                   key=key, request=order)
            if isinstance(prepared, channel.ChannelAnswer):
                answer = prepared
                break
            written = await batcher_for(_writers()).write(prepared, actor=f"api:{username}")
            if written is not None:
                answer = written
                break
        else:
            raise channel.in_progress()
    except (channel.ChannelRefused, channel.ChannelInvalid) as exc:
        return JSONResponse(exc.body(), status_code=exc.http_status)
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return JSONResponse(answer.body, status_code=answer.status, headers=headers)


@router.post("/orders/{order_id}/pay", response_model=OrderOut, responses={
    409: {"model": ConflictOut, "description": "Cancelled, or past its payment deadline"}})
def pay_order(
    request: Request,
    order_id: int = Path(ge=1, le=2**62, description="The order's id (`id` of its answer)"),
    user: CurrentUser = _CREATE,
) -> Any:
    """Mark an unpaid order of the own channel paid: it keeps its stock and goes through
    review and allocation. Paying a paid order answers it as it is."""
    from storeops.db.engine import unit_of_work
    from storeops.orders import channel
    from storeops.orders.service import OrderError

    try:
        with unit_of_work(db_url_of(request)) as session:
            answer = channel.pay(session, order_id, actor=f"api:{user.username}")
        return JSONResponse(answer.body, status_code=answer.status)
    except channel.ChannelRefused as exc:
        return JSONResponse(exc.body(), status_code=exc.http_status)
    except OrderError as exc:
        return JSONResponse({"detail": str(exc), "code": exc.code}, status_code=404)
