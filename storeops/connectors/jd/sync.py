"""Connecting a store to JD and pulling its orders (``storeops jd connect`` / ``jd sync``).

The sync reads ``jingdong.pop.order.search`` by sliding windows on the orders' modified time,
never by deep pages:

- a window is at most :data:`MAX_WINDOW` (JD allows one month) and holds at most
  :data:`MAX_WINDOW_ORDERS` orders: a fuller one is halved before it is read, a sparse one
  makes the next one twice as long;
- JD's windows include both ends; each window starts :data:`OVERLAP` before the previous one
  ended, so an order modified at a boundary (or made visible late) is never lost; an order
  already taken in this run with the same ``modified`` is not counted twice;
- each window is read page by page (100 orders, JD's maximum) to its end, again when orders
  moved out of it while it was read (fewer distinct orders than JD's total);
- each page is one transaction (a savepoint per order): a crash loses at most the page being
  written, and a malformed order is reported and skipped, never half-written;
- the resume point (``jd_connections.synced_until``) moves to a window's end once all its
  pages are committed; the next sync starts :data:`OVERLAP` before it.

Orders go through ``storeops.orders.service.upsert_order`` (channel "jd", actor
"connector:jd"), except that an order whose ``modified`` equals the stored one is counted
unchanged without being read again. Rate limiting and timeouts are retried by the client with
back-off; a signature, timestamp or token error stops the sync with a message naming the store
and is kept in ``last_error``. Every run is a ``jd_sync_runs`` row.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from storeops.common.errors import StoreopsError, localise
from storeops.common.timeutil import utcnow
from storeops.connectors.jd import secrets as jd_secrets
from storeops.connectors.jd.client import (
    TIMESTAMP_CODES,
    JosAuthError,
    JosClient,
    JosError,
    RetryPolicy,
)
from storeops.connectors.jd.mapping import ORDER_FIELDS, MalformedOrder, to_incoming
from storeops.connectors.jd.models import JD_GATEWAY, JdConnection, SyncRun
from storeops.connectors.jd.signing import CHINA, jd_timestamp

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from storeops.catalog.models import Store
    from storeops.orders.incoming import IncomingOrder

    Mapped = IncomingOrder | MalformedOrder  # an orderInfo mapped, or why it cannot be

SEARCH = "jingdong.pop.order.search"
ACTOR = "connector:jd"
PAGE_SIZE = 100  # JD's maximum
OVERLAP = timedelta(minutes=5)
FIRST_WINDOW = timedelta(days=1)
MIN_WINDOW = OVERLAP * 2
MAX_WINDOW = timedelta(days=30)  # JD: at most one month
MAX_WINDOW_ORDERS = 2_000  # 20 pages: a window fuller than this is halved before it is read
FIRST_SYNC = timedelta(days=30)  # how far back a store's first sync reaches without --since
MAX_REPASSES = 2
# Every state a POP order can be in: the sync follows an order through all of them.
ORDER_STATES = (
    "WAIT_PAY,WAIT_SELLER_STOCK_OUT,WAIT_SELLER_DELIVERY,WAIT_GOODS_RECEIVE_CONFIRM,"
    "FINISHED_L,TRADE_CANCELED,LOCKED,PAUSE,POP_ORDER_PAUSE"
)
SKIPPED_KEPT = 1_000  # skipped orders listed in a run's details (all are counted)
# A sync runs unattended: patient back-off (up to ~1 minute in all) on rate limits and
# timeouts before it gives up and says so.
SYNC_RETRY = RetryPolicy(attempts=7, base_delay=0.5, max_delay=30.0)
SYNC_TIMEOUT = 30.0


class SyncError(StoreopsError):
    """The sync of a store stopped (credentials refused, JD unreachable, …)."""


@dataclass
class SyncResult:
    fetched: int = 0  # distinct orders JD returned (each counted once per run)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0  # malformed or refused orders, listed in ``skipped_orders``
    skipped_orders: list[dict[str, str]] = field(default_factory=list)
    store: str = ""
    since: datetime | None = None
    until: datetime | None = None
    synced_until: datetime | None = None
    windows: int = 0
    pages: int = 0
    calls: int = 0  # HTTP requests, retries included
    retries: int = 0
    seconds: float = 0.0
    run_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("since", "until", "synced_until"):
            value = data[name]
            data[name] = value.isoformat() if value else None
        data["seconds"] = round(self.seconds, 3)
        return data


# --- connecting -------------------------------------------------------------------------------

def connect_store(db_url: str, store_name: str, *, app_key: str, app_secret: str,
                  access_token: str, gateway: str | None = None) -> tuple[Store, bool]:
    """Create the store if absent (platform jd, Asia/Shanghai, CNY) and keep its JD
    credentials, the secret and the token encrypted. Returns (store, created)."""
    from storeops.catalog.stores import get_or_create_store
    from storeops.db.engine import unit_of_work

    for name, value in (("app key", app_key), ("app secret", app_secret),
                        ("access token", access_token)):
        if not value or not value.strip():
            raise StoreopsError(f"the JD {name} is empty", key="jd.empty_credential",
                                what=name)
    gateway = (gateway or JD_GATEWAY).strip()
    if not gateway.startswith(("http://", "https://")):
        raise StoreopsError(f"the gateway must be an http(s) URL: {gateway!r}",
                            key="jd.bad_gateway", gateway=gateway)
    secret_enc = jd_secrets.encrypt(db_url, app_secret.strip())
    token_enc = jd_secrets.encrypt(db_url, access_token.strip())
    with unit_of_work(db_url) as session:
        store, created = get_or_create_store(session, store_name, timezone="Asia/Shanghai",
                                             currency="CNY", platform="jd")
        conn = session.get(JdConnection, store.id)
        if conn is None:
            conn = JdConnection(store_id=store.id)
            session.add(conn)
        conn.app_key = app_key.strip()
        conn.app_secret_enc = secret_enc
        conn.access_token_enc = token_enc
        conn.gateway = gateway
        conn.last_error = None
        session.flush()
        return store, created


def session_db_url(session: Session) -> str:
    """The URL a session's engine was made from (where the connector key lives)."""
    return session.get_bind().url.render_as_string(hide_password=False)


def client_for(db_url: str, conn: JdConnection, store_name: str, **options: Any) -> JosClient:
    """A client with the store's decrypted credentials (they live only in the client)."""
    return JosClient(
        conn.gateway, conn.app_key,
        jd_secrets.decrypt(db_url, conn.app_secret_enc, store=store_name),
        jd_secrets.decrypt(db_url, conn.access_token_enc, store=store_name),
        **options,
    )


def _find_store(session: Session, store: str | int | None) -> Store:
    from storeops.catalog.models import Store
    from storeops.catalog.stores import StoreError, resolve_store

    if isinstance(store, int):
        found = session.get(Store, store)
        if found is None:
            raise StoreError(f"no store with id {store}", key="store.unknown", name=store,
                             known="")
        return found
    return resolve_store(session, store)


def _connection(session: Session, store: Store) -> JdConnection:
    conn = session.get(JdConnection, store.id)
    if conn is None:
        raise SyncError(f"store {store.name!r} is not connected to JD: run `storeops jd"
                        " connect` first", key="jd.not_connected", store=store.name)
    return conn


# --- syncing ----------------------------------------------------------------------------------

def sync_store(db_url: str, store: str | int | None, *, since: datetime | str | None = None,
               client: JosClient | None = None, now: Callable[[], datetime] = utcnow,
               window: timedelta = FIRST_WINDOW,
               progress: Callable[[SyncResult], None] | None = None) -> SyncResult:
    """Pull the store's orders modified since ``since`` (default: where the last sync ended,
    less the overlap; a first sync reaches back 30 days) up to now. ``client`` replaces the
    one made from the stored credentials (tests: short back-off)."""
    from storeops.db.engine import unit_of_work

    started = time.monotonic()
    if isinstance(since, str):  # an ISO time from a queued job; China time without offset
        since = datetime.fromisoformat(since.strip())
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=CHINA)
    with unit_of_work(db_url) as session:
        found = _find_store(session, store)
        conn = _connection(session, found)
        store_id, store_name = found.id, found.name
        until = _second(now())
        if since is not None:
            start = since.astimezone(UTC)
        elif conn.synced_until is not None:
            start = conn.synced_until - OVERLAP
        else:
            start = until - FIRST_SYNC
        own_client = client is None
        if client is None:
            client = client_for(db_url, conn, store_name, retry=SYNC_RETRY,
                                timeout=SYNC_TIMEOUT)
        run = SyncRun(store_id=store_id, status="running")
        session.add(run)
        session.flush()
        run_id = run.id
    result = SyncResult(store=store_name, since=_second(start), until=until, run_id=run_id)
    calls0, retries0 = client.calls, client.retries
    try:
        _Puller(db_url, store_id, client, result, progress).run(_second(start), until, window)
    except JosError as exc:
        error = _stop_error(exc, store_name)
        _finish(db_url, store_id, run_id, result, error=error)
        raise error from None
    except BaseException as exc:
        _finish(db_url, store_id, run_id, result, error=exc)
        raise
    finally:
        result.calls = client.calls - calls0
        result.retries = client.retries - retries0
        result.seconds = time.monotonic() - started
        if own_client:
            client.close()
    _finish(db_url, store_id, run_id, result, error=None)
    return result


def _stop_error(exc: JosError, store: str) -> SyncError:
    if isinstance(exc, JosAuthError) and exc.jd_code in TIMESTAMP_CODES:
        return SyncError(f"JD refused the time of the requests for store {store!r}: {exc}."
                         " Check this machine's clock", key="jd.clock_refused", store=store,
                         reason=exc)
    if isinstance(exc, JosAuthError):
        return SyncError(f"JD refused the credentials of store {store!r}: {exc}. Renew the"
                         " access token and run `storeops jd connect` again",
                         key="jd.credentials_refused", store=store, reason=exc)
    return SyncError(f"the JD sync of store {store!r} stopped: {exc}", key="jd.sync_stopped",
                     store=store, reason=exc)


def _finish(db_url: str, store_id: int, run_id: int, result: SyncResult,
            error: BaseException | None) -> None:
    from storeops.db.engine import unit_of_work

    message = None
    if error is not None:
        message = localise(error, "en") if isinstance(error, StoreopsError) else \
            f"{type(error).__name__}: {error}"
    with unit_of_work(db_url) as session:
        run = session.get(SyncRun, run_id)
        if run is not None:
            run.finished_at = utcnow()
            run.status = "failed" if error is not None else "done"
            run.error = message
            _count(run, result)
        values: dict[str, Any] = {"last_error": message}
        if error is None:
            values["last_sync_at"] = utcnow()
        session.execute(update(JdConnection).where(JdConnection.store_id == store_id)
                        .values(**values))


def _count(run: SyncRun, result: SyncResult) -> None:
    run.fetched, run.created, run.updated = result.fetched, result.created, result.updated
    run.unchanged, run.skipped = result.unchanged, result.skipped
    run.details_json = json.dumps({"skipped": result.skipped_orders[:SKIPPED_KEPT]},
                                  ensure_ascii=False)


def _second(moment: datetime) -> datetime:
    """JD's times have whole seconds."""
    return moment.astimezone(UTC).replace(microsecond=0)


def _search_params(start: datetime, end: datetime, page: int) -> dict[str, str]:
    return {
        "start_date": jd_timestamp(start), "end_date": jd_timestamp(end),
        "order_state": ORDER_STATES, "optional_fields": ",".join(ORDER_FIELDS),
        "page": str(page), "page_size": str(PAGE_SIZE), "dateType": "0",
    }


class _Puller:
    """One sync run's windows and pages."""

    def __init__(self, db_url: str, store_id: int, client: JosClient, result: SyncResult,
                 progress: Callable[[SyncResult], None] | None) -> None:
        self.db_url = db_url
        self.store_id = store_id
        self.client = client
        self.result = result
        self.progress = progress
        self.seen: set[tuple[str, str]] = set()  # (order key, modified) taken in this run
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jd-prefetch")

    def search(self, start: datetime, end: datetime, page: int) -> dict[str, Any]:
        body = self.client.call(SEARCH, _search_params(start, end, page))
        found = body.get("searchorderinfo_result")
        if not isinstance(found, dict):
            raise JosError("response", "no searchorderinfo_result in the answer",
                           method=SEARCH)
        return found

    def run(self, start: datetime, until: datetime, size: timedelta) -> None:
        try:
            self._run(start, until, size)
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self, start: datetime, until: datetime, size: timedelta) -> None:
        size = min(max(size, MIN_WINDOW), MAX_WINDOW)
        if start >= until:
            return  # --since in the future: nothing to read
        while True:
            end = min(start + size, until)
            first = self.search(start, end, 1)
            total = int(first.get("orderTotal") or 0)
            if total > MAX_WINDOW_ORDERS and end - start > MIN_WINDOW:
                size = max(MIN_WINDOW, (end - start) / 2)  # too full: read half of it
                continue
            self._window(start, end, first)
            self._advance(end)
            if end >= until:
                return
            if total < MAX_WINDOW_ORDERS // 4:
                size = min(MAX_WINDOW, size * 2)
            start = end - OVERLAP

    def _window(self, start: datetime, end: datetime, first: dict[str, Any]) -> None:
        self.result.windows += 1
        keys: set[str] = set()
        for _ in range(1 + MAX_REPASSES):
            total = int(first.get("orderTotal") or 0)
            pages = max(1, math.ceil(total / PAGE_SIZE))
            for page, found, mapped in self._pages(start, end, first, pages):
                infos = found.get("orderInfoList") or []
                keys.update(_key(info) for info in infos)
                self._write(infos, mapped)
                self.result.pages += 1
                total = int(found.get("orderTotal") or 0)
                if not infos and page > 1:
                    break
            if len(keys) >= total:
                return
            first = self.search(start, end, 1)  # orders moved while it was read: again

    def _pages(self, start: datetime, end: datetime, first: dict[str, Any], pages: int
               ) -> Iterator[tuple[int, dict[str, Any], list[Mapped] | None]]:
        """The window's pages in order, each with its orders mapped (or None: map them when
        written). The next page is fetched and mapped in the prefetch thread while this one
        is written: its decoding and mapping run while SQLite works without the GIL. A
        failure there surfaces here, before anything of that page is written."""
        upcoming: Future[tuple[dict[str, Any], list[Mapped]]] | None = None
        for page in range(1, pages + 1):
            mapped: list[Mapped] | None = None
            if page == 1:
                found = first
            else:
                assert upcoming is not None
                found, mapped = upcoming.result()
            upcoming = self._pool.submit(self._fetch, start, end, page + 1) \
                if page < pages else None
            try:
                yield page, found, mapped
            except GeneratorExit:
                if upcoming is not None:
                    upcoming.cancel()
                raise

    def _fetch(self, start: datetime, end: datetime, page: int
               ) -> tuple[dict[str, Any], list[Mapped]]:
        found = self.search(start, end, page)
        return found, _map_all(found.get("orderInfoList") or [])

    def _write(self, infos: list[Any], mapped: list[Mapped] | None = None) -> None:
        """One page, one transaction: a savepoint per order. ``mapped``: ``infos`` mapped
        already (by :func:`_map_all`)."""
        from storeops.catalog.models import Store
        from storeops.db.engine import unit_of_work
        from storeops.db.preassigned_ids import preassign_sqlite_ids
        from storeops.inventory.locking import lock_for_stock_write
        from storeops.orders.models import Order
        from storeops.orders.service import upsert_order

        result = self.result
        todo = []
        if mapped is None:
            mapped = _map_all(infos)
        for info, incoming in zip(infos, mapped, strict=True):
            mark = (_key(info), str(info.get("modified") if isinstance(info, dict) else ""))
            if mark in self.seen:
                continue  # the overlap of two windows
            self.seen.add(mark)
            result.fetched += 1
            if isinstance(incoming, MalformedOrder):
                self._skip(incoming.order_id, incoming.field, incoming.reason)
            else:
                todo.append(incoming)
        with unit_of_work(self.db_url) as session:
            # SQLite: the write transaction starts now, so that the savepoints below nest in
            # it (a savepoint opened outside one would commit on release) and the stock a new
            # order reserves is read under the write lock. PostgreSQL: nothing to do.
            lock_for_stock_write(session)
            # SQLite: under that lock, new rows get their ids before the INSERT, so that a
            # page's orders, lines and customers go as one batch each, not row by row.
            preassign_sqlite_ids(session)
            store = session.get(Store, self.store_id)
            assert store is not None
            stored: dict[str, datetime | None] = {}
            ids = [o.platform_order_id for o in todo]
            for chunk in range(0, len(ids), 500):
                stored.update(session.execute(
                    select(Order.platform_order_id, Order.modified_at).where(
                        Order.store_id == self.store_id,
                        Order.platform_order_id.in_(ids[chunk:chunk + 500]))).all())
            changed = []
            for incoming in todo:
                known = stored.get(incoming.platform_order_id)
                if known is not None and incoming.modified_at is not None \
                        and known == incoming.modified_at:
                    result.unchanged += 1  # JD says it has not changed since we took it
                    continue
                changed.append(incoming)
            outcomes = self._upsert_all(session, store, changed, upsert_order,
                                        absent={o.platform_order_id for o in changed
                                                if o.platform_order_id not in stored})
            for outcome in outcomes:
                setattr(result, outcome, getattr(result, outcome) + 1)
            run = session.get(SyncRun, result.run_id)
            if run is not None:
                _count(run, result)
        if self.progress is not None:
            self.progress(result)

    def _upsert_all(self, session: Session, store: Store, orders: list[Any],
                    upsert_order: Callable[..., Any], absent: set[str]) -> list[str]:
        """Each order through A's upsert_order. The page is tried in one savepoint first,
        through ``upsert_orders`` (the page's orders, products, customers and stock read and
        locked once; one flush of what the orders leave pending); when an order is refused,
        that savepoint is rolled back and the page is taken again with a savepoint per order,
        so that the refused one is skipped whole and the others kept."""
        if not orders:
            return []
        from storeops.orders.batch_intake import upsert_orders

        try:
            with session.begin_nested():  # the page's reads and writes done together
                return [outcome for _order, outcome in upsert_orders(
                    session, store, orders, actor=ACTOR, load_orders=False, absent=absent)]
        except StoreopsError:
            pass
        outcomes = []
        for incoming in orders:
            try:
                with session.begin_nested():
                    _order, outcome = upsert_order(session, store, incoming, actor=ACTOR)
            except StoreopsError as exc:
                self._skip(incoming.platform_order_id, "", localise(exc, "en"))
                continue
            outcomes.append(outcome)
        return outcomes

    def _skip(self, order_id: str, field_name: str, reason: str) -> None:
        self.result.skipped += 1
        if len(self.result.skipped_orders) < SKIPPED_KEPT:
            self.result.skipped_orders.append(
                {"order_id": order_id, "field": field_name, "reason": reason})

    def _advance(self, end: datetime) -> None:
        """Every page of the window up to ``end`` is committed: resume from there."""
        from storeops.db.engine import unit_of_work

        with unit_of_work(self.db_url) as session:
            session.execute(update(JdConnection).where(JdConnection.store_id == self.store_id)
                            .values(synced_until=end))
        self.result.synced_until = end


def _map_all(infos: list[Any]) -> list[Mapped]:
    """Each ``orderInfo`` as storeops takes it in, or the MalformedOrder that says why not
    (pure: safe in the prefetch thread)."""
    out: list[Mapped] = []
    for info in infos:
        try:
            out.append(to_incoming(info))
        except MalformedOrder as exc:
            out.append(exc)
    return out


def _key(info: Any) -> str:
    if isinstance(info, dict):
        return str(info.get("orderId") or id(info))
    return str(id(info))
