"""Analytics results computed once per store and data version, then reused.

Every figure the cockpit and the API show is a function of the store's data, and the store's
``data_version`` (bumped by every import and simulator run, in the OLTP database) says when
that data changed. So a result is kept under (database, store, data_version, function, its
arguments) and served again until the version moves:

* Checking the version is one primary-key read of ``stores`` per call (tens of microseconds
  on SQLite): no TTL, so a page never shows figures older than the last committed import,
  whichever process (``storeops serve --workers N``) or command wrote it.
* The version is read *before* the result is computed. A write racing with the computation
  can only make a result newer than its key says, never older, so it is never stale.
* The cache is bounded (least recently used entries go first) and thread-safe; concurrent
  callers asking for the same missing result wait for one computation instead of each running
  the queries (eight users opening the overview at 9:00 after an import cost one computation).
* Results are shared between callers: treat them as read-only.

``STOREOPS_RESULT_CACHE`` sets the number of entries (default 512, ``0`` turns caching off).
"""

from __future__ import annotations

import functools
import inspect
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from storeops.catalog.stores import StoreError
from storeops.db.engine import get_engine

ENV_RESULT_CACHE = "STOREOPS_RESULT_CACHE"
DEFAULT_ENTRIES = 512

F = TypeVar("F", bound=Callable[..., Any])


_MARKERS = {"qmark": "?", "numeric": ":1", "named": ":id", "format": "%s", "pyformat": "%s"}


@functools.lru_cache(maxsize=16)
def _version_sql(db_url: str) -> str:
    marker = _MARKERS[get_engine(db_url).dialect.paramstyle]
    return f"SELECT data_version FROM stores WHERE id = {marker}"


def data_version(db_url: str, store_id: int) -> int:
    """The store's current data_version: one primary-key read of ``stores``.

    Straight on the pooled driver connection: this runs before every cached answer, and
    SQLAlchemy's statement and result machinery would cost ten times the read itself.
    """
    sql = _version_sql(db_url)
    params: Any = {"id": store_id} if sql.endswith(":id") else (store_id,)
    conn = get_engine(db_url).raw_connection()
    try:
        cursor = conn.cursor()
        try:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        finally:
            cursor.close()
    finally:
        conn.close()  # back to the pool, its transaction rolled back: the next read is fresh
    if row is None:
        raise StoreError(f"no store with id {store_id}", key="store.no_id", id=store_id)
    return int(row[0] or 0)


def _frozen(value: Any) -> Hashable:
    """A hashable stand-in for an argument (lists of metrics, sets, dicts)."""
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, set | frozenset):
        return frozenset(_frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    return value


class _Pending:
    """A computation in progress that other callers of the same key wait for."""

    def __init__(self) -> None:
        self.done = threading.Event()


class ResultCache:
    """A bounded, thread-safe LRU map from keys to results, with single-flight computing."""

    def __init__(self, max_entries: int = DEFAULT_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._pending: dict[Hashable, _Pending] = {}
        # Newest version seen per (database, store): older entries are dropped when it moves.
        self._versions: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._versions.clear()
            self.hits = self.misses = 0

    def _note_version(self, db_url: str, store_id: int, version: int) -> None:
        """Forget the results of older versions of the store (called under the lock)."""
        seen = self._versions.get((db_url, store_id))
        if seen is not None and seen >= version:
            return
        self._versions[(db_url, store_id)] = version
        if seen is None:
            return
        stale = [k for k in self._entries if k[0] == db_url and k[1] == store_id
                 and k[2] < version]
        for key in stale:
            del self._entries[key]

    def get_or_compute(
        self, db_url: str, store_id: int, version: int, call: Hashable,
        compute: Callable[[], Any],
    ) -> Any:
        """The result stored under the key, else ``compute()`` (once, whoever else asks)."""
        if self.max_entries <= 0:
            return compute()
        key = (db_url, store_id, version, call)
        while True:
            with self._lock:
                self._note_version(db_url, store_id, version)
                if key in self._entries:
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return self._entries[key]
                pending = self._pending.get(key)
                if pending is None:
                    pending = self._pending[key] = _Pending()
                    self.misses += 1
                    break
            # Someone else computes it: wait, then look again (if it failed, we try).
            pending.done.wait()
        try:
            result = compute()
            with self._lock:
                if self._versions.get((db_url, store_id), version) <= version:
                    self._entries[key] = result
                    self._entries.move_to_end(key)
                    while len(self._entries) > self.max_entries:
                        self._entries.popitem(last=False)
            return result
        finally:
            with self._lock:
                self._pending.pop(key, None)
            pending.done.set()


def _size_from_env() -> int:
    raw = os.environ.get(ENV_RESULT_CACHE, "").strip()
    try:
        return max(0, int(raw)) if raw else DEFAULT_ENTRIES
    except ValueError:
        return DEFAULT_ENTRIES


results = ResultCache(_size_from_env())


def cached(fn: F) -> F:
    """Serve ``fn(db_url, store_id, …)`` from :data:`results` while the store's data_version
    stays the same. ``fn``'s arguments (bound to its signature, defaults applied) are the key.
    """
    signature = inspect.signature(fn)
    name = f"{fn.__module__}.{fn.__qualname__}"

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = bound.arguments
        db_url, store_id = arguments["db_url"], int(arguments["store_id"])
        call = (name, _frozen(tuple(arguments.items())))
        version = data_version(db_url, store_id)
        return results.get_or_compute(db_url, store_id, version, call,
                                      lambda: fn(*args, **kwargs))

    wrapper.uncached = fn  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]
