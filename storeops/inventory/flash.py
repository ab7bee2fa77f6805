"""Flash sales (秒杀): a quota of one SKU at a flash price inside a time window.

How a unit of quota is taken, so that a sale never sells more than its quota:

* **Redis** (``STOREOPS_REDIS_URL`` set): one Lua script checks what is left and the buyer's
  count against ``per_buyer``, takes the units and records the buyer and a *pending* entry, in
  one atomic step, before the order touches the database. A refusal never reaches the
  database; when nothing is left (not merely fewer units than one line asks), this process
  also remembers for :data:`SOLD_OUT_MEMORY_S` that the sale is sold out and answers the next
  buyers without asking Redis (:mod:`storeops.api.fast_lane` answers them on the server's
  event loop, from the same memory).
* **The database** is the ground truth on both paths: the order's transaction adds the units
  with a conditional ``UPDATE flash_sales SET sold = sold + :q WHERE … AND sold + :q <=
  quota`` (without Redis this *is* the take), checks the buyer's claims, and writes a
  :class:`FlashClaim`. A Redis take whose transaction fails is given back
  (:func:`abandon_take`); one that commits drops its pending entry (:func:`confirm_take`).
* :func:`return_quota` gives back the units of an order that was cancelled or went unpaid;
  :func:`reconcile` recomputes ``sold`` from the claims that stand and re-seeds Redis from it
  (what is left = quota − sold − takes still in flight), so the quota never ends above or below
  what the orders explain.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, select, update

from storeops.common.errors import StoreopsError
from storeops.common.money import from_cents, to_cents
from storeops.common.timeutil import zone
from storeops.inventory.models import FlashClaim, FlashSale

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from storeops.catalog.models import Store
    from storeops.orders.models import Order

ENV_REDIS_URL = "STOREOPS_REDIS_URL"
ENV_REDIS_PREFIX = "STOREOPS_REDIS_PREFIX"
DEFAULT_PREFIX = "storeops:"
# A Redis take not confirmed nor given back after this long is taken for lost (its process
# died) when reconciling.
PENDING_STALE_S = 120
# How long this process answers "sold out" for a sale without asking Redis again.
SOLD_OUT_MEMORY_S = 0.5
# How long this process keeps a store's list of flash sales (a new sale shows within this).
SALES_CACHE_S = 1.0
MAX_QUOTA = 1_000_000
STANDING = ("held", "sold")  # claim states that count as sold


class FlashError(StoreopsError):
    """A flash sale that cannot be created as asked (bad time, unknown SKU …)."""


class FlashRefused(StoreopsError):
    """A buyer who cannot have the flash price: sold out, or over the per-buyer limit."""

    http_status = 409
    error = "flash_sold_out"

    def __init__(self, message: str, *, key: str, sku: str, requested: int, available: int,
                 **params: Any) -> None:
        super().__init__(message, key=key, sku=sku, requested=requested, available=available,
                         **params)
        self.sku, self.requested, self.available = sku, requested, available


class FlashSoldOut(FlashRefused):
    error = "flash_sold_out"


class FlashBuyerLimit(FlashRefused):
    error = "flash_buyer_limit"


# --- pure rules ----------------------------------------------------------------------------

def parse_time(text: str, tz: str, *, name: str) -> datetime:
    """An ISO time (``2026-12-12T10:00``, ``2026-12-12 10:00:00+08:00``): a time without an
    offset is the store's wall clock."""
    raw = (text or "").strip()
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise FlashError(f"{name}: not an ISO time: {text!r} (e.g. 2026-12-12T10:00)",
                         key="flash.bad_time", field=name, value=text) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone(tz))
    return value.astimezone(UTC)


def check_sale(quota: int, price: Decimal, starts_at: datetime, ends_at: datetime,
               per_buyer: int | None, tz: str = "UTC") -> None:
    """The rules of a new flash sale (raises FlashError naming the value at fault)."""
    if not 1 <= quota <= MAX_QUOTA:
        raise FlashError(f"--qty must be between 1 and {MAX_QUOTA}: {quota}",
                         key="flash.bad_qty", value=quota, maximum=MAX_QUOTA)
    if not price.is_finite() or price < 0 or price != price.quantize(Decimal("0.01")):
        raise FlashError(f"--price must be an amount ≥ 0 with at most 2 decimals: {price}",
                         key="flash.bad_price", value=price)
    if ends_at <= starts_at:
        start, end = (t.astimezone(zone(tz)).isoformat() for t in (starts_at, ends_at))
        raise FlashError(f"--end ({end}) must be after --start ({start})",
                         key="flash.end_before_start", start=start, end=end)
    if per_buyer is not None and per_buyer < 1:
        raise FlashError(f"--per-buyer must be at least 1: {per_buyer}",
                         key="flash.bad_per_buyer", value=per_buyer)


def parse_price(text: str) -> Decimal:
    try:
        value = Decimal(str(text).strip())
    except InvalidOperation:
        raise FlashError(f"--price is not an amount: {text!r}", key="flash.bad_price",
                         value=text) from None
    return value


# --- the sales -------------------------------------------------------------------------------

@dataclass(frozen=True)
class SaleInfo:
    """What the order path needs of a sale, cached per process for SALES_CACHE_S."""

    id: int
    product_id: int
    price_cents: int
    quota: int
    per_buyer: int | None
    starts_at: datetime
    ends_at: datetime
    created_at: datetime

    def active(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at


def _info(sale: FlashSale) -> SaleInfo:
    return SaleInfo(sale.id, sale.product_id, sale.price_cents, sale.quota, sale.per_buyer,
                    sale.starts_at, sale.ends_at, sale.created_at)


def create_flash_sale(session: Session, store: Store, sku: str, qty: int, price: Decimal,
                      starts_at: datetime, ends_at: datetime,
                      per_buyer: int | None = None) -> FlashSale:
    """A new flash sale of ``sku`` (which must exist in ``store``); refused when the SKU has
    another sale whose window overlaps."""
    from storeops.catalog.models import Product

    check_sale(qty, price, starts_at, ends_at, per_buyer, store.timezone)
    product = session.scalar(select(Product).where(Product.store_id == store.id,
                                                   Product.platform_sku_id == sku))
    if product is None:
        raise FlashError(f"unknown SKU {sku!r} in store {store.name!r}", key="flash.unknown_sku",
                         sku=sku, store=store.name)
    clash = session.scalar(select(FlashSale).where(
        FlashSale.store_id == store.id, FlashSale.product_id == product.id,
        FlashSale.starts_at < ends_at, FlashSale.ends_at > starts_at))
    if clash is not None:
        start, end = (t.astimezone(zone(store.timezone)).isoformat()
                      for t in (clash.starts_at, clash.ends_at))
        raise FlashError(f"SKU {sku!r} already has flash sale {clash.id} from {start} to {end}",
                         key="flash.overlap", sku=sku, id=clash.id, start=start, end=end)
    sale = FlashSale(store_id=store.id, product_id=product.id, price_cents=to_cents(price),
                     quota=qty, sold=0, per_buyer=per_buyer, starts_at=starts_at,
                     ends_at=ends_at, created_at=datetime.now(UTC))
    session.add(sale)
    session.flush()
    clear_cache()
    return sale


def active_flash_sale(session: Session, store_id: int, product_id: int,
                      at: datetime) -> FlashSale | None:
    """The sale of the product whose window holds ``at``, if any."""
    return session.scalar(select(FlashSale).where(
        FlashSale.store_id == store_id, FlashSale.product_id == product_id,
        FlashSale.starts_at <= at, FlashSale.ends_at > at).order_by(FlashSale.id).limit(1))


_cache_lock = threading.Lock()
_sales_cache: dict[tuple[str, int], tuple[float, list[SaleInfo]]] = {}
_sold_out: dict[str, float] = {}


def clear_cache() -> None:
    """Forget the cached sales and sold-out marks of this process."""
    with _cache_lock:
        _sales_cache.clear()
        _sold_out.clear()


def store_sales(db_url: str, store_id: int, at: datetime) -> dict[int, SaleInfo]:
    """product id → its sale active at ``at``, read at most every SALES_CACHE_S per process."""
    from storeops.db.engine import session_factory

    key = (db_identity(db_url), store_id)
    now = time.monotonic()
    hit = _sales_cache.get(key)
    if hit is None or hit[0] < now:
        with session_factory(db_url)() as session:
            rows = session.scalars(select(FlashSale).where(
                FlashSale.store_id == store_id, FlashSale.ends_at > at))
            sales = [_info(s) for s in rows]
        with _cache_lock:
            _sales_cache[key] = (now + SALES_CACHE_S, sales)
    else:
        sales = hit[1]
    return active_sales(sales, at)


def active_sales(sales: Sequence[SaleInfo], at: datetime) -> dict[int, SaleInfo]:
    """product id → its sale among ``sales`` active at ``at``."""
    return {s.product_id: s for s in sorted(sales, key=lambda s: -s.id) if s.active(at)}


def cached_sales(db_url: str, store_id: int) -> tuple[list[SaleInfo], bool] | None:
    """The store's sales as :func:`store_sales` last read them in this process, without any
    I/O (the API's fast lane asks on its event loop), and whether that read is still within
    SALES_CACHE_S; None: never read."""
    hit = _sales_cache.get((db_identity(db_url), store_id))
    if hit is None:
        return None
    return hit[1], hit[0] >= time.monotonic()


def list_sales(session: Session, store_id: int) -> list[FlashSale]:
    return list(session.scalars(select(FlashSale).where(FlashSale.store_id == store_id)
                                .order_by(FlashSale.starts_at, FlashSale.id)))


# --- Redis -------------------------------------------------------------------------------------

_TAKE = """
local left = redis.call('GET', KEYS[1])
if not left then return -3 end
local qty = tonumber(ARGV[2])
if tonumber(left) <= 0 then return -1 end
if tonumber(left) < qty then return -4 end
local per = tonumber(ARGV[3])
if per > 0 then
  local had = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
  if had + qty > per then return -2 end
end
local after = redis.call('DECRBY', KEYS[1], qty)
redis.call('HINCRBY', KEYS[2], ARGV[1], qty)
redis.call('HSET', KEYS[3], ARGV[4], ARGV[1] .. '|' .. ARGV[2] .. '|' .. ARGV[5])
return after
"""
# Give back a take still pending (a failed order): only once, whoever calls it.
_ABANDON = """
local entry = redis.call('HGET', KEYS[3], ARGV[1])
if not entry then return 0 end
redis.call('HDEL', KEYS[3], ARGV[1])
local sep = string.find(entry, '|', 1, true)
local rest = string.sub(entry, sep + 1)
local sep2 = string.find(rest, '|', 1, true)
local buyer = string.sub(entry, 1, sep - 1)
local qty = tonumber(string.sub(rest, 1, sep2 - 1))
if redis.call('EXISTS', KEYS[1]) == 1 then
  local left = tonumber(redis.call('GET', KEYS[1]))
  redis.call('SET', KEYS[1], math.min(left + qty, tonumber(ARGV[2])), 'KEEPTTL')
end
local had = tonumber(redis.call('HINCRBY', KEYS[2], buyer, -qty))
if had <= 0 then redis.call('HDEL', KEYS[2], buyer) end
return qty
"""
# Give back units of an order that stood (cancelled, unpaid later).
_GIVE_BACK = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  local left = tonumber(redis.call('GET', KEYS[1]))
  redis.call('SET', KEYS[1], math.min(left + tonumber(ARGV[2]), tonumber(ARGV[3])), 'KEEPTTL')
end
local had = tonumber(redis.call('HINCRBY', KEYS[2], ARGV[1], -tonumber(ARGV[2])))
if had <= 0 then redis.call('HDEL', KEYS[2], ARGV[1]) end
return 1
"""
# Seed (when missing) or re-seed (force) from the database's claims. ARGV: force, quota,
# db_sold, now_ms, stale_ms, ttl_s, then buyer, qty pairs. Takes still pending (younger than
# stale_ms) stay taken; older ones are dropped.
_SEED = """
if ARGV[1] == '0' and redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local now, stale = tonumber(ARGV[4]), tonumber(ARGV[5])
local pending = 0
local buyers = {}
local entries = redis.call('HGETALL', KEYS[3])
for i = 1, #entries, 2 do
  local entry = entries[i + 1]
  local sep = string.find(entry, '|', 1, true)
  local rest = string.sub(entry, sep + 1)
  local sep2 = string.find(rest, '|', 1, true)
  local buyer = string.sub(entry, 1, sep - 1)
  local qty = tonumber(string.sub(rest, 1, sep2 - 1))
  local at = tonumber(string.sub(rest, sep2 + 1))
  if now - at > stale then
    redis.call('HDEL', KEYS[3], entries[i])
  else
    pending = pending + qty
    buyers[buyer] = (buyers[buyer] or 0) + qty
  end
end
for i = 7, #ARGV, 2 do
  buyers[ARGV[i]] = (buyers[ARGV[i]] or 0) + tonumber(ARGV[i + 1])
end
local left = tonumber(ARGV[2]) - tonumber(ARGV[3]) - pending
if left < 0 then left = 0 end
local ttl = tonumber(ARGV[6])
redis.call('SET', KEYS[1], left, 'EX', ttl)
redis.call('DEL', KEYS[2])
for buyer, qty in pairs(buyers) do
  if qty > 0 then redis.call('HSET', KEYS[2], buyer, qty) end
end
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('EXPIRE', KEYS[3], ttl)
return left
"""

_redis_lock = threading.Lock()
_redis_clients: dict[str, Any] = {}


def redis_url() -> str | None:
    return os.environ.get(ENV_REDIS_URL, "").strip() or None


class _Redis:
    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.take = self.client.register_script(_TAKE)
        self.abandon = self.client.register_script(_ABANDON)
        self.give_back = self.client.register_script(_GIVE_BACK)
        self.seed = self.client.register_script(_SEED)


def _redis(url: str | None = None) -> _Redis | None:
    url = url or redis_url()
    if not url:
        return None
    found = _redis_clients.get(url)
    if found is None:
        with _redis_lock:
            found = _redis_clients.get(url) or _Redis(url)
            _redis_clients[url] = found
    return found


_identities: dict[int, str] = {}


def db_identity(where: Session | str) -> str:
    """A short name of the database (several databases may share one Redis), from a session
    or a database URL (both through the URL's one engine)."""
    from storeops.db.engine import get_engine

    engine = get_engine(where) if isinstance(where, str) else where.get_bind()
    ident = _identities.get(id(engine))
    if ident is None:
        url = engine.url.render_as_string(hide_password=False)
        ident = _identities[id(engine)] = hashlib.sha256(url.encode()).hexdigest()[:12]
    return ident


def redis_keys(where: Session | str, sale: SaleInfo | FlashSale) -> tuple[str, str, str]:
    """(what is left, buyers' counts, pending takes) of a sale. The creation time is part of
    the name: a database made again from scratch never meets an old sale's counter."""
    prefix = os.environ.get(ENV_REDIS_PREFIX, DEFAULT_PREFIX)
    stamp = int(sale.created_at.timestamp() * 1_000_000)
    base = f"{prefix}{db_identity(where)}:flash:{sale.id}:{stamp}"
    return f"{base}:left", f"{base}:buyers", f"{base}:pending"


def _ttl_s(sale: SaleInfo | FlashSale) -> int:
    ends = sale.ends_at + timedelta(days=7)
    return max(60, int((ends - datetime.now(UTC)).total_seconds()))


def _now_ms() -> int:
    return int(time.time() * 1000)


def _claims_by_buyer(session: Session, sale_id: int) -> list[tuple[str, int]]:
    rows = session.execute(
        select(FlashClaim.buyer, func.sum(FlashClaim.quantity))
        .where(FlashClaim.flash_sale_id == sale_id, FlashClaim.state.in_(STANDING))
        .group_by(FlashClaim.buyer))
    return [(b or "", int(q or 0)) for b, q in rows]


def _seed(session: Session, r: _Redis, sale: SaleInfo | FlashSale, *, force: bool) -> int:
    """Seed (or, ``force``, re-seed) the sale's Redis keys from the database."""
    sold = int(session.scalar(select(FlashSale.sold).where(FlashSale.id == sale.id)) or 0)
    args: list[Any] = ["1" if force else "0", sale.quota, sold, _now_ms(),
                       PENDING_STALE_S * 1000, _ttl_s(sale)]
    for buyer, qty in _claims_by_buyer(session, sale.id):
        args += [buyer, qty]
    return int(r.seed(keys=redis_keys(session, sale), args=args))


# --- taking and giving back --------------------------------------------------------------------

@dataclass
class FlashTake:
    """Units of a sale taken for one order line, not yet written."""

    sale: SaleInfo
    sku: str
    buyer: str
    qty: int
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    keys: tuple[str, str, str] | None = None  # set when Redis took it

    @property
    def price(self) -> Decimal:
        return from_cents(self.sale.price_cents) or Decimal(0)


def sold_out_error(sku: str, qty: int, available: int = 0) -> FlashSoldOut:
    return FlashSoldOut(f"the flash sale of SKU {sku!r} is sold out", key="flash.sold_out",
                        sku=sku, requested=qty, available=available)


def _limit_error(sku: str, qty: int, per_buyer: int) -> FlashBuyerLimit:
    return FlashBuyerLimit(
        f"the flash sale of SKU {sku!r} allows {per_buyer} unit(s) per buyer; this buyer "
        "has reached it", key="flash.buyer_limit", sku=sku, requested=qty, available=0,
        per_buyer=per_buyer)


def take_quota(db_url: str, sale: SaleInfo, sku: str, buyer: str, qty: int) -> FlashTake:
    """Take ``qty`` units of ``sale`` for ``buyer`` in Redis (when configured), before any
    database write; raises FlashSoldOut or FlashBuyerLimit. Without Redis this only builds the
    take: :func:`take_in_db` takes it in the order's transaction."""
    take = FlashTake(sale, sku, buyer, qty)
    r = _redis()
    if r is None:
        return take
    keys = redis_keys(db_url, sale)
    if sold_out_marked(keys[0]):
        raise sold_out_error(sku, qty)
    args = [buyer, qty, sale.per_buyer or 0, take.token, _now_ms()]
    result = int(r.take(keys=keys, args=args))
    if result == -3:
        from storeops.db.engine import session_factory

        with session_factory(db_url)() as session:
            _seed(session, r, sale, force=False)
        result = int(r.take(keys=keys, args=args))
    if result == -1:
        remember_sold_out(keys[0])
        raise sold_out_error(sku, qty)
    if result == -2:
        raise _limit_error(sku, qty, sale.per_buyer or 0)
    if result < 0:  # -4: fewer units left than asked; a smaller order may still have them
        raise sold_out_error(sku, qty)
    take.keys = keys
    return take


def sold_out_marked(left_key: str) -> bool:
    """Whether this process saw the sale of ``left_key`` sold out less than
    SOLD_OUT_MEMORY_S ago (no I/O: the API's fast lane asks on its event loop)."""
    marked = _sold_out.get(left_key)
    return marked is not None and marked > time.monotonic()


def remember_sold_out(left_key: str) -> None:
    """Redis said nothing is left of the sale of ``left_key``: answer its next buyers in
    this process without asking for SOLD_OUT_MEMORY_S."""
    _sold_out[left_key] = time.monotonic() + SOLD_OUT_MEMORY_S


def check_left(session: Session, take: FlashTake) -> None:
    """Without Redis: a cheap read before the order is written, so that a buyer of a sold-out
    sale is answered at once (the conditional UPDATE of :func:`take_in_db` decides)."""
    if take.keys is not None:
        return
    left = session.scalar(select(FlashSale.quota - FlashSale.sold).where(
        FlashSale.id == take.sale.id))
    if left is None or left < take.qty:
        raise sold_out_error(take.sku, take.qty)


def take_in_db(session: Session, take: FlashTake) -> None:
    """In the order's transaction, once the order is written (the sale's row stays locked on
    PostgreSQL only until the commit that follows): add the units to the sale's ``sold`` if
    the quota allows (one conditional UPDATE: the take itself without Redis, the ground truth
    with it), and check the buyer's standing claims against ``per_buyer``."""
    done = session.execute(
        update(FlashSale)
        .where(FlashSale.id == take.sale.id, FlashSale.sold + take.qty <= FlashSale.quota)
        .values(sold=FlashSale.sold + take.qty)
        .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise sold_out_error(take.sku, take.qty)
    if take.sale.per_buyer:
        had = int(session.scalar(select(func.coalesce(func.sum(FlashClaim.quantity), 0)).where(
            FlashClaim.flash_sale_id == take.sale.id, FlashClaim.buyer == take.buyer,
            FlashClaim.state.in_(STANDING))) or 0)
        if had + take.qty > take.sale.per_buyer:
            raise _limit_error(take.sku, take.qty, take.sale.per_buyer)


def record_claim(session: Session, take: FlashTake, order: Order, *, state: str) -> FlashClaim:
    """The order's claim on the units :func:`take_in_db` took (same transaction)."""
    claim = FlashClaim(flash_sale_id=take.sale.id, order_id=order.id, buyer=take.buyer,
                       quantity=take.qty, state=state, created_at=datetime.now(UTC))
    session.add(claim)
    return claim


def confirm_take(take: FlashTake) -> None:
    """After the order committed: the Redis take is no longer pending."""
    r = _redis()
    if r is None or take.keys is None:
        return
    try:
        r.client.hdel(take.keys[2], take.token)
    except Exception:  # noqa: BLE001 - a stale pending entry only waits for reconcile
        pass


def abandon_take(take: FlashTake) -> None:
    """The order was not written: give the Redis take back (once)."""
    r = _redis()
    if r is None or take.keys is None:
        return
    r.abandon(keys=take.keys, args=[take.token, take.sale.quota])
    _sold_out.pop(take.keys[0], None)


def return_quota(session: Session, order: Order) -> int:
    """Give back the flash units of ``order`` (cancelled, unpaid, failed): its standing claims
    become ``returned`` and leave the sale's ``sold``; Redis gets them back after the
    transaction commits. Returns the units given back; a second call gives back nothing."""
    claims = list(session.scalars(select(FlashClaim).where(
        FlashClaim.order_id == order.id, FlashClaim.state.in_(STANDING)).with_for_update()))
    total = 0
    for claim in claims:
        done = session.execute(
            update(FlashClaim).where(FlashClaim.id == claim.id,
                                     FlashClaim.state.in_(STANDING))
            .values(state="returned").execution_options(synchronize_session=False))
        if done.rowcount != 1:
            continue
        session.execute(update(FlashSale).where(FlashSale.id == claim.flash_sale_id)
                        .values(sold=func.max(FlashSale.sold - claim.quantity, 0)
                                if session.get_bind().dialect.name == "sqlite"
                                else func.greatest(FlashSale.sold - claim.quantity, 0))
                        .execution_options(synchronize_session=False))
        sale = session.get(FlashSale, claim.flash_sale_id)
        if sale is not None:
            _after_commit(session, sale, claim.buyer or "", claim.quantity)
        total += claim.quantity
    if claims:
        session.expire_all()
    return total


def _after_commit(session: Session, sale: FlashSale, buyer: str, qty: int) -> None:
    if _redis() is None:
        return
    from sqlalchemy import event

    keys, quota = redis_keys(session, sale), sale.quota

    def give_back(_session: Session) -> None:
        r = _redis()
        if r is None:
            return
        try:
            r.give_back(keys=keys, args=[buyer, qty, quota])
            _sold_out.pop(keys[0], None)
        except Exception:  # noqa: BLE001 - reconcile re-seeds from the database
            pass

    event.listen(session, "after_commit", give_back, once=True)


def mark_sold(session: Session, order: Order) -> None:
    """An unpaid flash order was paid: its held claims are sold."""
    session.execute(update(FlashClaim).where(FlashClaim.order_id == order.id,
                                             FlashClaim.state == "held")
                    .values(state="sold").execution_options(synchronize_session=False))


# --- idempotency hints ---------------------------------------------------------------------------
# A refused flash buyer must still get the first answer of a key that was answered before. With
# Redis, every request that reaches its order transaction leaves a marker first (kept a day), so
# that a refusal reads the database only when the key may have an answer there.
MARKER_TTL_S = 86_400


def key_marker(db_url: str, user_id: int, key: str) -> str:
    """The Redis key of the marker of (user, Idempotency-Key)."""
    prefix = os.environ.get(ENV_REDIS_PREFIX, DEFAULT_PREFIX)
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"{prefix}{db_identity(db_url)}:key:{user_id}:{digest}"


def mark_key(db_url: str, user_id: int, key: str) -> None:
    """Before the order's transaction: this key may have an answer in the database."""
    r = _redis()
    if r is not None:
        r.client.set(key_marker(db_url, user_id, key), 1, ex=MARKER_TTL_S)


def mark_keys(db_url: str, keys: Sequence[tuple[int, str]]) -> None:
    """:func:`mark_key` of many (user id, key) pairs, in one Redis round trip."""
    r = _redis()
    if r is None or not keys:
        return
    pipe = r.client.pipeline(transaction=False)
    for user_id, key in keys:
        pipe.set(key_marker(db_url, user_id, key), 1, ex=MARKER_TTL_S)
    pipe.execute()


def key_may_be_known(db_url: str, user_id: int, key: str) -> bool:
    """False only when Redis is sure the key never reached an order transaction."""
    r = _redis()
    if r is None:
        return True
    try:
        return bool(r.client.exists(key_marker(db_url, user_id, key)))
    except Exception:  # noqa: BLE001 - Redis unsure: read the database
        return True


# --- reconciliation ----------------------------------------------------------------------------

@dataclass
class Reconciled:
    id: int
    quota: int
    sold_before: int
    sold: int
    returned: int  # units of cancelled orders whose claims still stood
    redis_left: int | None  # what Redis now says is left (None: no Redis)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "quota": self.quota, "sold_before": self.sold_before,
                "sold": self.sold, "left": self.quota - self.sold,
                "returned": self.returned, "redis_left": self.redis_left}


def reconcile(session: Session, flash_sale_id: int) -> Reconciled:
    """Make the sale's figures what its orders explain: claims of cancelled orders are given
    back, ``sold`` = the units of the claims that stand, and Redis is re-seeded from that."""
    from storeops.orders.models import Order

    sale = session.scalar(select(FlashSale).where(FlashSale.id == flash_sale_id)
                          .with_for_update())
    if sale is None:
        raise FlashError(f"no flash sale {flash_sale_id}", key="flash.unknown_sale",
                         id=flash_sale_id)
    before = sale.sold
    stale = list(session.scalars(
        select(FlashClaim).join(Order, Order.id == FlashClaim.order_id).where(
            FlashClaim.flash_sale_id == sale.id, FlashClaim.state.in_(STANDING),
            (Order.stage == "cancelled") | (Order.status == "cancelled"))))
    returned = 0
    for claim in stale:
        claim.state = "returned"
        returned += claim.quantity
    session.flush()
    sold = int(session.scalar(select(func.coalesce(func.sum(FlashClaim.quantity), 0)).where(
        and_(FlashClaim.flash_sale_id == sale.id, FlashClaim.state.in_(STANDING)))) or 0)
    sale.sold = sold
    session.flush()
    left = None
    r = _redis()
    if r is not None:
        left = _seed(session, r, sale, force=True)
        _sold_out.pop(redis_keys(session, sale)[0], None)
    return Reconciled(sale.id, sale.quota, before, sold, returned, left)


def sale_row(session: Session, sale: FlashSale, tz: str) -> dict[str, Any]:
    """A sale as `flash list --json` and the pages show it."""
    from storeops.catalog.models import Product

    sku = session.scalar(select(Product.platform_sku_id).where(Product.id == sale.product_id))
    local = zone(tz)
    now = datetime.now(UTC)
    state = ("scheduled" if now < sale.starts_at else "ended" if now >= sale.ends_at
             else "sold_out" if sale.sold >= sale.quota else "active")
    return {"id": sale.id, "sku": sku, "price": str(from_cents(sale.price_cents)),
            "quota": sale.quota, "sold": sale.sold, "left": sale.quota - sale.sold,
            "per_buyer": sale.per_buyer, "start": sale.starts_at.astimezone(local).isoformat(),
            "end": sale.ends_at.astimezone(local).isoformat(), "state": state}
