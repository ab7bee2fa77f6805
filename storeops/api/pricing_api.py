"""``POST /api/v1/price``: price a cart for a store, with the store's offers from the database
or with offers sent inline in the promotions file format (:mod:`storeops.pricing.spec`).

Speed: a store's offers are read and parsed once per worker and kept until its promotions
change: a write through the ORM in this process drops them at once; otherwise one small
aggregate query (count, latest ``updated_at``, sum of ``version``) at most every
``STOREOPS_PRICE_CACHE_SECONDS`` (1 s) tells whether they changed. The engine compiles a
cached ``Offers`` once too, since it is the same object; inline offers are parsed once per
distinct text. A cart of up to ``INLINE_LINES`` lines priced on cached offers is answered on
the event loop (pure work, no thread hop, no query); larger ones in a thread. The body is read
as JSON with numbers as Decimal (never float).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, object_session

from storeops.accounts.permissions import Permission
from storeops.api import schemas
from storeops.api.auth import (
    REQUIRE_MARK,
    CurrentUser,
    Forbidden,
    check_csrf,
    current_user,
    db_url_of,
)
from storeops.pricing.model import Offers
from storeops.pricing.models import PromotionRecord

router = APIRouter(prefix="/api/v1", tags=["pricing"], responses=schemas.ERROR_RESPONSES)

BODY_KEYS = ("store", "cart", "at", "promotions")
PRICE_PERMISSIONS = (Permission.PROMO_VIEW, Permission.ORDER_CREATE)
# Carts up to this many lines are priced on the event loop. The best-stack search grows with
# the lines: at 5 the worst case measured (a coupon competing with the promotions) took 37 ms
# of CPU, at 6 already 146 ms and at 8-12 up to seconds (up to about 12 s measured, with
# several competing scoped coupons: the search's work caps); on the loop that would stall
# every other request of the worker, so larger carts go to a thread.
INLINE_LINES = 5


class ForbiddenAny(Forbidden):
    """None of the permissions that allow the route."""

    def __init__(self, user: CurrentUser, permissions: tuple[Permission, ...]) -> None:
        super().__init__(user, permissions[0])
        names = " or ".join(p.value for p in permissions)
        self.args = (f"the role {user.role!r} may not do this (needs {names})",)


def require_any(*permissions: Permission) -> Any:
    """Like :func:`storeops.api.auth.require`, for a route that one of several permissions
    allows (pricing: whoever views promotions, or the integration role that creates the
    channel's orders)."""

    async def check(request: Request, user: CurrentUser = Depends(current_user)) -> CurrentUser:
        if not any(user.can(p) for p in permissions):
            raise ForbiddenAny(user, permissions)
        await check_csrf(request)
        return user

    setattr(check, REQUIRE_MARK, permissions[0])
    check.__name__ = "require_any_" + "_".join(p.value.replace(".", "_") for p in permissions)
    return Depends(check)


_PRICE = require_any(*PRICE_PERMISSIONS)


# --- answers ----------------------------------------------------------------------------------

def _invalid(loc: list[str], msg: str, kind: str, code: str | None = None) -> JSONResponse:
    where = ".".join(loc[1:]) or "body"
    body: dict[str, Any] = {"detail": f"{where}: {msg}",
                            "errors": [{"loc": loc, "msg": msg, "type": kind}]}
    if code:
        body["code"] = code
    return JSONResponse(body, status_code=422)


def _spec_invalid(exc: Any, section: str) -> JSONResponse:
    """An OfferSpecError as the API's 422: the sentence, its code and the field's place."""
    loc = ["body", section, *exc.loc()]
    body = {"detail": str(exc), "code": exc.code,
            "errors": [{"loc": loc, "msg": exc.problem_text, "type": exc.code}]}
    return JSONResponse(body, status_code=422)


# --- the store's offers, cached ---------------------------------------------------------------

# How long a worker trusts its copy of a store's offers before it asks the database whether
# they changed (count, latest updated_at, sum of versions of the store's rows: one small
# query). A change committed through a session of this process (pages, the API) is seen at
# once; one made elsewhere (another worker, the CLI, plain SQL) within this many seconds.
CACHE_SECONDS = float(os.environ.get("STOREOPS_PRICE_CACHE_SECONDS", "") or 1.0)


@dataclass
class _Cached:
    version: tuple[Any, ...]
    offers: Offers
    checked: float  # time.monotonic() of the last version check
    generation: int  # _generation when checked


_cache_lock = threading.Lock()
_offers_cache: dict[tuple[str, int, bool], _Cached] = {}
_stores: dict[tuple[str, str | None], tuple[Any, float]] = {}
STORE_SECONDS = 60.0
_generation = 0  # bumped by every commit in this process that wrote promotions rows


class _NeedsDb(Exception):
    """The answer needs a database read (run it in a thread)."""


_CHANGED = "storeops.pricing_api.promotions_changed"


def _written(_mapper: Any, _connection: Any, target: Any) -> None:
    """A promotions row flushed by a session: its commit makes the cached offers stale."""
    session = object_session(target)
    if session is not None:
        session.info[_CHANGED] = True


def _orm_statement(state: Any) -> None:
    """An ORM update/delete statement on promotions (``update(PromotionRecord)``)."""
    if ((state.is_update or state.is_delete) and state.bind_mapper is not None
            and state.bind_mapper.class_ is PromotionRecord):
        state.session.info[_CHANGED] = True


def _committed(session: Session) -> None:
    global _generation
    if session.info.pop(_CHANGED, False):
        _generation += 1


def _rolled_back(session: Session) -> None:
    session.info.pop(_CHANGED, None)


for _event in ("after_insert", "after_update", "after_delete"):
    event.listen(PromotionRecord, _event, _written)
event.listen(Session, "do_orm_execute", _orm_statement)
event.listen(Session, "after_commit", _committed)
event.listen(Session, "after_rollback", _rolled_back)


def _store(url: str, name: str | None, allow_db: bool = True) -> Any:
    """The store (id, name, timezone) by name, or the only one; looked up again after
    STORE_SECONDS (a renamed store, a changed timezone)."""
    kept = _stores.get((url, name))
    if kept is not None and time.monotonic() - kept[1] < STORE_SECONDS:
        return kept[0]
    if not allow_db:
        raise _NeedsDb
    from storeops.catalog.stores import find_store
    from storeops.db.engine import get_engine

    with get_engine(url).connect() as conn:
        found = find_store(conn, name)
    if len(_stores) > 1000:
        _stores.clear()
    _stores[(url, name)] = (found, time.monotonic())
    return found


def _version(url: str, store_id: int) -> tuple[Any, ...]:
    from storeops.db.engine import get_engine

    P = PromotionRecord  # noqa: N806
    query = (select(func.count(), func.max(P.updated_at), func.coalesce(func.sum(P.version), 0),
                    func.max(P.id))
             .where(P.store_id == store_id))
    with get_engine(url).connect() as conn:
        return tuple(conn.execute(query).one())


def store_offers_cached(url: str, store_id: int, with_scheduled: bool,
                        allow_db: bool = True) -> Offers:
    """The store's live (and scheduled) offers; asks whether they changed at most every
    CACHE_SECONDS, reads them again only when they did."""
    key = (url, store_id, with_scheduled)
    hit = _offers_cache.get(key)
    now = time.monotonic()
    if (hit is not None and hit.generation == _generation
            and now - hit.checked < CACHE_SECONDS):
        return hit.offers
    if not allow_db:
        raise _NeedsDb
    generation = _generation
    version = _version(url, store_id)
    if hit is not None and hit.version == version:
        hit.checked, hit.generation = now, generation
        return hit.offers
    from storeops.db.engine import unit_of_work
    from storeops.pricing.store import store_offers

    statuses = ("live", "scheduled") if with_scheduled else ("live",)
    with unit_of_work(url) as session:
        offers = store_offers(session, store_id, statuses=statuses)
    with _cache_lock:
        if len(_offers_cache) > 256:
            _offers_cache.clear()
        _offers_cache[key] = _Cached(version, offers, now, generation)
    return offers


_inline_cache: OrderedDict[tuple[str, str], Offers] = OrderedDict()
INLINE_CACHE_SIZE = 64


def _inline_offers(data: Any, tz: str, parse: Any) -> Offers:
    """Offers sent inline, parsed once per distinct text: a client that sends the same offers
    with every cart gets the same ``Offers`` back, which the engine has compiled already."""
    key = (json.dumps(data, sort_keys=True, default=str, ensure_ascii=False), tz)
    with _cache_lock:
        found = _inline_cache.get(key)
        if found is not None:
            _inline_cache.move_to_end(key)
            return found
    offers = parse(data, "promotions", tz)
    with _cache_lock:
        _inline_cache[key] = offers
        while len(_inline_cache) > INLINE_CACHE_SIZE:
            _inline_cache.popitem(last=False)
    return offers


def clear_cache() -> None:
    with _cache_lock:
        _offers_cache.clear()
        _stores.clear()
        _inline_cache.clear()


# --- the route --------------------------------------------------------------------------------

def _at(value: Any, tz: str) -> datetime | None:
    from storeops.common.timeutil import zone

    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone(tz))


def _price(url: str, body: Mapping[str, Any], allow_db: bool = True) -> JSONResponse:
    from storeops.catalog.stores import StoreError
    from storeops.common.timeutil import DEFAULT_TIMEZONE, utcnow
    from storeops.pricing.engine import price_cart
    from storeops.pricing.spec import OfferSpecError, parse_cart, parse_offers, result_to_json

    name = body.get("store")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        return _invalid(["body", "store"], "must be a store's name", "string_type")
    inline = body.get("promotions")
    store = None
    if inline is None or name is not None:
        try:
            store = _store(url, name.strip() if name else None, allow_db)
        except StoreError as exc:
            return JSONResponse({"detail": str(exc), "code": exc.code}, status_code=404)
    tz = store.timezone if store is not None and store.timezone else DEFAULT_TIMEZONE
    now = utcnow()
    at = now
    if body.get("at") is not None:
        at = _at(body["at"], tz)
        if at is None:
            return _invalid(["body", "at"], "must be an ISO 8601 time such as "
                            "2026-06-18T20:00:00+08:00", "datetime_parsing",
                            "pricing.bad_at")
    if body.get("cart") is None:
        return _invalid(["body", "cart"], "Field required", "missing")
    try:
        cart = parse_cart(body["cart"], "cart")
    except OfferSpecError as exc:
        return _spec_invalid(exc, "cart")
    if inline is not None:
        try:
            offers = _inline_offers(inline, tz, parse_offers)
        except OfferSpecError as exc:
            return _spec_invalid(exc, "promotions")
    else:
        offers = store_offers_cached(url, store.id, at > now, allow_db)
    result = result_to_json(price_cart(cart, offers, at))
    result["store"] = store.name if store is not None else None
    result["at"] = at.isoformat()
    return JSONResponse(result)


@router.post(
    "/price",
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"type": "object", "required": ["cart"], "additionalProperties": False,
                   "properties": {
                       "store": {"type": "string", "description": "Store name (may be left "
                                 "out when the database has one store)"},
                       "cart": {"type": "object", "description": "lines: [{sku, qty, price "
                                "(decimal string), category?}], member_tier, group_buy"},
                       "at": {"type": "string", "description": "ISO 8601 time to price at "
                              "(default now; without an offset: the store's timezone)"},
                       "promotions": {"type": "object", "description": "Offers inline in "
                                      "the promotions file format (promotions, coupons, "
                                      "points) instead of the store's"}}}}}}},
)
async def price(request: Request, user: CurrentUser = _PRICE) -> Any:
    """Price a cart: the lowest payable the allowed stacks reach, line by line (money as
    decimal strings). Without inline `promotions`, the store's live offers, and its scheduled
    ones too when `at` is in the future."""
    raw = await request.body()
    try:
        body = json.loads(raw or b"null", parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return _invalid(["body"], f"not valid JSON: {exc}", "json_invalid")
    if not isinstance(body, dict):
        return _invalid(["body"], "must be a JSON object with cart (and store, at, "
                        "promotions)", "model_type")
    unknown = [k for k in body if k not in BODY_KEYS]
    if unknown:
        return _invalid(["body", str(unknown[0])], "unknown field (known: "
                        f"{', '.join(BODY_KEYS)})", "extra_forbidden")
    url = db_url_of(request)
    cart = body.get("cart")
    lines = cart.get("lines") if isinstance(cart, dict) else None
    if not isinstance(lines, list) or len(lines) <= INLINE_LINES:
        try:  # a small cart on cached offers: pure work, answered here without a thread hop
            return _price(url, body, allow_db=False)
        except _NeedsDb:
            pass
    # A large cart (the search grows with it) or a database read: in a thread, so that the
    # event loop keeps answering the small ones meanwhile.
    return await run_in_threadpool(_price, url, body)
