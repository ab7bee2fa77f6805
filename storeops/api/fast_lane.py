"""The fast lane of ``POST /api/v1/orders``: the route's answers, on the event loop.

A pure ASGI middleware (the innermost one: security headers, the body limit and the origin
check still apply) that gives the route's very answer without FastAPI's request handling
(dependency solving, a thread hop for the token), when it is sure the route would take the
request: the API token is good (:func:`tokens.check_token`: the route's own check, with its
cache and its 5 s bound on a revocation) and its role may create orders; no query string;
one ``Idempotency-Key`` header of 1–255 characters; a body the route's own model
(:class:`orders_api.OrderIn`) takes, one line per SKU. Anything else — a token that is not
good, an invalid body (the route names the fields), a store the route must refuse — goes down
the ordinary route unchanged, with the body it was sent.

* An ordinary order is prepared and written as the route does (:func:`orders_api.answer_order`:
  prepared in a thread, written by the process's order batcher); the same 201, 409 or first
  answer with ``Idempotent-Replayed``.
* A flash sale's buyer, once the sale is sold out, mostly gets ``409 flash_sold_out``
  (Redis configured). The lane answers it without any write when the SKU's sale is in its
  window (the SKU's ids looked up in a thread and kept per process, the store's sales from
  :func:`flash.store_sales`' cache) and sold out — this process saw it so less than
  ``flash.SOLD_OUT_MEMORY_S`` ago, or Redis says fewer units are left than the line asks —
  and Redis says the key never reached an order transaction (``flash.key_marker``), so there
  is no first answer to give back. The Redis questions of the requests of one moment go in
  one ``MGET``; Redis unsure sends the request down the route. Requests that may take wait at
  the sale's gate (:class:`_Gate`) rather than all crowd the route when a sale opens.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.responses import JSONResponse

from storeops.accounts.permissions import Permission, has_permission
from storeops.accounts.tokens import TokenCheck, TokenStatus, check_token, remembered
from storeops.api.orders_api import OrderIn, _duplicate_skus, answer_order
from storeops.common.timeutil import utcnow
from storeops.inventory import flash

log = logging.getLogger(__name__)

PATH = "/api/v1/orders"
# Bodies above this (an order of one line is well under 1 KB) take the ordinary route: the
# fast lane never holds much, and never meets the body limit itself.
MAX_BODY = 16 * 1024
MAX_KEY_CHARS = 255  # as the route's Idempotency-Key header
# A store's SKU is looked up (its store and product ids) again after this (stores are not
# renamed nor SKU ids reused); the store's sales come from flash.store_sales' own cache.
IDS_TTL_S = 30.0
_MAX_IDS = 10_000  # SKUs remembered, at most
_MAX_BODIES = 1024  # sold-out answers kept rendered, by (SKU, quantity)
GATE_WAIT_S = 0.5  # a request waiting at a sale's gate asks again at least this often

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


_ids: dict[tuple[str, str, str], tuple[float, tuple[int, int] | None]] = {}
_bodies: dict[tuple[str, int], bytes] = {}


def forget() -> None:
    """Forget what the fast lane knows of SKUs (tests: a database made again)."""
    _ids.clear()
    _bodies.clear()


def _look_up_ids(db_url: str, store: str, sku: str) -> None:
    """Remember the store and product ids of a store's SKU (None: no such SKU); a thread's
    work."""
    from sqlalchemy import select

    from storeops.catalog.models import Product, Store
    from storeops.db.engine import session_factory

    try:
        with session_factory(db_url)() as session:
            row = session.execute(
                select(Store.id, Product.id).join(Product, Product.store_id == Store.id)
                .where(Store.name == store, Product.platform_sku_id == sku)).first()
    except Exception:  # noqa: BLE001 - the ordinary route answers meanwhile
        log.debug("fast lane: looking up %s/%s failed", store, sku, exc_info=True)
        return
    if len(_ids) >= _MAX_IDS:
        _ids.clear()
    _ids[(db_url, store, sku)] = (time.monotonic() + IDS_TTL_S,
                                  (row[0], row[1]) if row is not None else None)


def _read_sales(db_url: str, store_id: int) -> None:
    try:
        flash.store_sales(db_url, store_id, utcnow())
    except Exception:  # noqa: BLE001 - the ordinary route answers meanwhile
        log.debug("fast lane: reading the sales of store %s failed", store_id, exc_info=True)


@dataclass
class _Gate:
    """The requests of one sale in the ordinary route at once (this process): at most as
    many as units were left when Redis was last asked, the others wait for one of them to
    finish and ask again (a sold-out answer for most). A sale that just opened meets all its
    buyers at once: without the gate, each would go the dear way to learn it is sold out."""

    limit: int = 1
    in_flight: int = 0
    waiters: deque[asyncio.Future[None]] = field(default_factory=deque)

    def wake(self, left_key: str) -> None:
        """Wake the waiters the free places allow, or all once the sale is sold out."""
        free = len(self.waiters) if flash.sold_out_marked(left_key) else (
            self.limit - self.in_flight)
        while free > 0 and self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1


class _LoopState:
    """What the lane keeps per event loop: its Redis connections, the reads under way in
    threads and the sales' gates."""

    def __init__(self) -> None:
        self.mgets: dict[str, _Mget] = {}
        self.reading: dict[Any, asyncio.Future[Any]] = {}
        self.gates: dict[str, _Gate] = {}

    def mget(self, url: str) -> _Mget:
        found = self.mgets.get(url)
        if found is None:
            found = self.mgets[url] = _Mget(url)
        return found

    def gate(self, left_key: str) -> _Gate:
        found = self.gates.get(left_key)
        if found is None:
            found = self.gates[left_key] = _Gate()
        return found

    async def user_of(self, db_url: str, token: str) -> TokenCheck | None:
        """The token's good check: remembered, else read in a thread (once at a time per
        token: when a busy token's remembered check runs out, its requests wait for one read
        instead of all taking the route). None: not a good token (the route says why)."""
        found = remembered(db_url, token)
        if found is not None:
            return found
        try:
            check = await asyncio.shield(self._once(("token", db_url, token), check_token,
                                                    db_url, token))
        except Exception:  # noqa: BLE001 - the route reads it again and answers
            return None
        return check if check.status is TokenStatus.OK else None

    def _once(self, key: Any, work: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """``work(*args)`` in a thread, once at a time per ``key`` (the requests of the
        moment share its result)."""
        pending = self.reading.get(key)
        if pending is None:
            loop = asyncio.get_running_loop()
            pending = self.reading[key] = loop.run_in_executor(None, work, *args)
            pending.add_done_callback(lambda _f: self.reading.pop(key, None))
        return pending

    async def sale_of(self, db_url: str, store: str, sku: str) -> flash.SaleInfo | None:
        """The sale of the store's SKU whose window holds now, from what this process knows
        (read in a thread when it knows nothing, again in the background when its knowledge
        is old: a sale's window and quota never change and sales of one SKU never overlap, so
        an old list that holds a sale in its window still names the SKU's sale)."""
        key = (db_url, store, sku)
        found = _ids.get(key)
        if found is None or found[0] <= time.monotonic():
            pending = self._once(key, _look_up_ids, db_url, store, sku)
            if found is None:
                await asyncio.shield(pending)
                found = _ids.get(key)
                if found is None:
                    return None
        if found[1] is None:
            return None
        store_id, product_id = found[1]
        cached = flash.cached_sales(db_url, store_id)
        if cached is None or not cached[1]:
            pending = self._once((db_url, store_id), _read_sales, db_url, store_id)
            if cached is None:
                await asyncio.shield(pending)
                cached = flash.cached_sales(db_url, store_id)
                if cached is None:
                    return None
        return flash.active_sales(cached[0], utcnow()).get(product_id)


_loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
    weakref.WeakKeyDictionary())


def _state() -> _LoopState:
    loop = asyncio.get_running_loop()
    found = _loops.get(loop)
    if found is None:
        found = _loops[loop] = _LoopState()
    return found


class _Mget:
    """One Redis ``MGET`` for the questions of the requests of one moment (one connection
    per event loop; one round trip at a time, the next moment's questions wait for it)."""

    def __init__(self, url: str) -> None:
        import redis.asyncio

        self.client = redis.asyncio.Redis.from_url(url, socket_timeout=2,
                                                   socket_connect_timeout=2)
        self.waiting: list[tuple[list[str], asyncio.Future[list[Any]]]] = []
        self.running = False

    async def get(self, keys: list[str]) -> list[Any]:
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self.waiting.append((keys, future))
        if not self.running:
            self.running = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            await asyncio.sleep(0)  # let the requests of this moment join
            while self.waiting:
                taken, self.waiting = self.waiting, []
                try:
                    values = await self.client.mget([k for keys, _ in taken for k in keys])
                except BaseException as exc:  # each request hears it (and takes the route)
                    for _, future in taken:
                        if not future.done():
                            future.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
                    continue
                at = 0
                for keys, future in taken:
                    if not future.done():
                        future.set_result(values[at:at + len(keys)])
                    at += len(keys)
        finally:
            self.running = False


def _sold_out_body(sku: str, qty: int) -> bytes:
    """The ordinary route's answer to a buyer of a sold-out sale, byte for byte."""
    found = _bodies.get((sku, qty))
    if found is None:
        from storeops.orders.channel import _flash_refused

        refusal = _flash_refused(flash.sold_out_error(sku, qty))
        found = JSONResponse(refusal.body(), status_code=refusal.http_status).body
        if len(_bodies) >= _MAX_BODIES:
            _bodies.clear()
        _bodies[(sku, qty)] = found
    return found


@dataclass(frozen=True)
class _Ask:
    token: str
    key: str


def _ask(scope: Scope) -> _Ask | None:
    """The bearer token and Idempotency-Key of a request the lane may answer, else None."""
    if scope.get("query_string"):
        return None  # the app's query checks apply
    token = key = None
    length = -1
    for name, value in scope["headers"]:
        if name == b"authorization":
            if token is not None:
                return None
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer":
                return None
            token = token.strip()
        elif name == b"idempotency-key":
            if key is not None:
                return None
            key = value.decode("latin-1")
        elif name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                return None
        elif name == b"transfer-encoding":
            return None
    if not token or key is None or not 1 <= len(key) <= MAX_KEY_CHARS or not key.strip():
        return None
    if not 0 < length <= MAX_BODY:
        return None
    return _Ask(token, key.strip())


class _Replay:
    """``receive`` for the ordinary route: the messages the lane read, then the server's."""

    def __init__(self, messages: list[Message], error: BaseException | None,
                 receive: Receive) -> None:
        self.messages, self.error, self.receive = messages, error, receive

    async def __call__(self) -> Message:
        if self.messages:
            return self.messages.pop(0)
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        return await self.receive()


@dataclass(frozen=True)
class _Parsed:
    """A request the lane may answer: its user, its one line and the line's sale."""

    user_id: int
    key: str
    sku: str
    qty: int
    left_key: str


@dataclass(frozen=True)
class _Ordinary:
    """An order of a good token the lane writes as the route does (no flash sale to answer
    sold out)."""

    user_id: int
    username: str
    key: str
    body: OrderIn


async def _no_receive() -> Message:
    # A response of the lane never reads the request (its body was read already).
    return {"type": "http.disconnect"}


# What the lane makes of a request, once Redis was asked.
_ROUTE, _ANSWER, _TAKE = "route", "answer", "take"


class OrderFastLane:
    """ASGI middleware: answers the sold-out buyers of a flash sale (see the module)."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]],
                 db_url: str) -> None:
        self.app = app
        self.db_url = db_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        ask = _ask(scope)
        if ask is None:
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        error: BaseException | None = None
        chunks: list[bytes] = []
        try:
            while True:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request":
                    break
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        except Exception as exc:  # noqa: BLE001 - the ordinary route hears it
            error = exc
        replay = _Replay(messages, error, receive)
        parsed = None
        if error is None and messages[-1]["type"] == "http.request":
            parsed = await self._parse(ask, b"".join(chunks))
        if parsed is None:
            await self.app(scope, replay, send)
        elif isinstance(parsed, _Ordinary):
            await self._ordinary(parsed, scope, lambda: self.app(scope, replay, send), send)
        else:
            await self._answer(parsed, lambda: self.app(scope, replay, send), send)

    async def _parse(self, ask: _Ask, raw: bytes) -> _Parsed | _Ordinary | None:
        """What the lane may do with the request: a good token that may create orders and a
        body the route would take (valid, one line per SKU); a flash sale's one-line order
        (with Redis) or an ordinary one. None: the route answers."""
        user = await _state().user_of(self.db_url, ask.token)
        if user is None or not has_permission(user.role or "", Permission.ORDER_CREATE):
            return None
        try:
            body = OrderIn.model_validate_json(raw)
        except ValidationError:
            return None  # the route names the fields
        if _duplicate_skus(body) is not None:
            return None
        ordinary = _Ordinary(user.user_id or 0, user.username or "", ask.key, body)
        if len(body.lines) != 1 or flash.redis_url() is None:
            return ordinary
        line = body.lines[0]
        sale = await _state().sale_of(self.db_url, body.store, line.sku)
        if sale is None:
            return ordinary
        return _Parsed(user.user_id or 0, ask.key, line.sku, line.qty,
                       flash.redis_keys(self.db_url, sale)[0])

    async def _ordinary(self, order: _Ordinary, scope: Scope,
                        route: Callable[[], Awaitable[None]], send: Send) -> None:
        """The route's answer to an ordinary order (orders_api.answer_order). What the
        route leaves to the app's error handlers (an unknown store, the database down …)
        goes to the route itself: nothing was written, and it answers as it always does."""
        try:
            response = await answer_order(self.db_url, order.user_id, order.username,
                                          order.key, order.body)
        except Exception:  # noqa: BLE001 - the route answers it
            log.debug("fast lane: an ordinary order taken by the route", exc_info=True)
            await route()
            return
        await response(scope, _no_receive, send)

    async def _answer(self, parsed: _Parsed, route: Callable[[], Awaitable[None]],
                      send: Send) -> None:
        """Answer sold out, or take the route (through the sale's gate when it may take)."""
        state = _state()
        gate = state.gate(parsed.left_key)
        woken = False
        while True:
            kind, left = await self._decide(state, parsed)
            if kind != _TAKE:
                if woken:  # the place it was woken for goes to the next
                    gate.wake(parsed.left_key)
                if kind == _ANSWER:
                    answer = _sold_out_body(parsed.sku, parsed.qty)
                    await send({"type": "http.response.start", "status": 409, "headers": [
                        (b"content-length", str(len(answer)).encode()),
                        (b"content-type", b"application/json")]})
                    await send({"type": "http.response.body", "body": answer})
                else:
                    await route()
                return
            gate.limit = max(1, left)
            if gate.in_flight < gate.limit:
                gate.in_flight += 1
                gate.wake(parsed.left_key)  # a higher limit lets more in
                try:
                    await route()
                finally:
                    gate.in_flight -= 1
                    gate.wake(parsed.left_key)
                return
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            gate.waiters.append(waiter)
            try:
                # bounded: a waiter woken and then gone never holds the others up for long
                await asyncio.wait_for(waiter, GATE_WAIT_S)
            except TimeoutError:
                pass
            woken = True

    async def _decide(self, state: _LoopState, parsed: _Parsed) -> tuple[str, int]:
        """Ask Redis whether the key may have a first answer and, unless this process saw the
        sale sold out a moment ago, what is left: (_ANSWER, 0) sold out, (_TAKE, units left)
        a take may succeed, (_ROUTE, 0) the route decides."""
        url = flash.redis_url()
        if url is None:
            return _ROUTE, 0
        marked = flash.sold_out_marked(parsed.left_key)
        keys = [flash.key_marker(self.db_url, parsed.user_id, parsed.key)]
        if not marked:
            keys.append(parsed.left_key)
        try:
            values = await state.mget(url).get(keys)
        except Exception:  # noqa: BLE001 - Redis unsure: the ordinary route decides
            return _ROUTE, 0
        if values[0] is not None:
            return _ROUTE, 0  # the key may have a first answer: the route reads it
        if marked:
            return _ANSWER, 0
        if values[1] is None:
            return _TAKE, 1  # not seeded yet: the first take seeds it
        left = int(values[1])
        if left <= 0:
            flash.remember_sold_out(parsed.left_key)
            return _ANSWER, 0
        if left < parsed.qty:
            return _ANSWER, 0  # fewer left than asked: as the take script answers
        return _TAKE, left
