"""Named locks shared by every worker process: one sync of a store at a time.

Huey's own ``lock_task`` takes the lock atomically on both storages, but on SQLite it has no
expiry: a worker killed in the middle of a sync would leave the store locked until someone
flushes the locks. These locks expire (``ttl`` seconds) unless their holder renews them, which
a holder does in a background thread while it works, so a crashed worker frees the store
within one ``ttl`` and a live one keeps it however long the sync takes.

- :class:`SqliteLocks`: a table in the embedded queue's SQLite file, taken in a
  ``BEGIN IMMEDIATE`` transaction (atomic across the processes of one machine).
- :class:`RedisLocks`: ``SET key token NX PX ttl``; renewal and release check the token in a
  Lua script, so a worker never frees a lock another one holds now.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

logger = logging.getLogger("storeops.jobs")

DEFAULT_TTL = 120.0  # seconds; renewed every ttl/3 while held


class LockStore(Protocol):
    def acquire(self, name: str, token: str, ttl: float) -> bool: ...
    def renew(self, name: str, token: str, ttl: float) -> bool: ...
    def release(self, name: str, token: str) -> None: ...
    def is_locked(self, name: str) -> bool: ...


class SqliteLocks:
    """Locks in a table of a SQLite file (the embedded job queue's)."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        with self._connect() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS storeops_locks (name TEXT PRIMARY KEY,"
                         " token TEXT NOT NULL, expires REAL NOT NULL)")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")  # the write lock first: no read-then-write race
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def acquire(self, name: str, token: str, ttl: float) -> bool:
        now = time.time()
        with self._connect() as conn:
            conn.execute("DELETE FROM storeops_locks WHERE name = ? AND expires < ?", (name, now))
            cur = conn.execute("INSERT OR IGNORE INTO storeops_locks VALUES (?, ?, ?)",
                               (name, token, now + ttl))
            return cur.rowcount == 1

    def renew(self, name: str, token: str, ttl: float) -> bool:
        with self._connect() as conn:
            cur = conn.execute("UPDATE storeops_locks SET expires = ? WHERE name = ? AND token = ?",
                               (time.time() + ttl, name, token))
            return cur.rowcount == 1

    def release(self, name: str, token: str) -> None:
        with self._connect() as conn:
            conn.execute("DELETE FROM storeops_locks WHERE name = ? AND token = ?", (name, token))

    def is_locked(self, name: str) -> bool:
        with self._connect() as conn:
            row = conn.execute("SELECT expires FROM storeops_locks WHERE name = ?",
                               (name,)).fetchone()
        return row is not None and row[0] >= time.time()


_RENEW_LUA = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE_LUA = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class RedisLocks:
    """Locks as Redis keys ``<prefix><name>`` that expire."""

    def __init__(self, client: Any, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._renew = client.register_script(_RENEW_LUA)
        self._release = client.register_script(_RELEASE_LUA)

    def acquire(self, name: str, token: str, ttl: float) -> bool:
        return bool(self.client.set(self.prefix + name, token, nx=True, px=int(ttl * 1000)))

    def renew(self, name: str, token: str, ttl: float) -> bool:
        return bool(self._renew(keys=[self.prefix + name], args=[token, int(ttl * 1000)]))

    def release(self, name: str, token: str) -> None:
        self._release(keys=[self.prefix + name], args=[token])

    def is_locked(self, name: str) -> bool:
        return bool(self.client.exists(self.prefix + name))


class Locks:
    """Named, expiring, renewed locks over a :class:`LockStore`."""

    def __init__(self, store: LockStore) -> None:
        self.store = store

    @contextmanager
    def hold(self, name: str, ttl: float = DEFAULT_TTL) -> Iterator[bool]:
        """Hold the lock ``name`` for the block if it is free: yields True; yields False at
        once (without waiting) when another holder has it."""
        token = secrets.token_hex(16)
        if not self.store.acquire(name, token, ttl):
            yield False
            return
        stop = threading.Event()

        def keep() -> None:
            while not stop.wait(ttl / 3):
                try:
                    if not self.store.renew(name, token, ttl):
                        logger.warning("lock %s was lost while held", name)
                        return
                except Exception:  # a blip: try again at the next beat, the ttl is long
                    logger.warning("could not renew lock %s", name, exc_info=True)

        renewer = threading.Thread(target=keep, name=f"lock-{name}", daemon=True)
        renewer.start()
        try:
            yield True
        finally:
            stop.set()
            renewer.join(timeout=5)
            try:
                self.store.release(name, token)
            except Exception:  # expires by itself within ttl
                logger.warning("could not release lock %s", name, exc_info=True)

    def claim(self, name: str, ttl: float) -> bool:
        """Take ``name`` for ``ttl`` seconds and keep it until it expires: True for the first
        caller only (used so that each scheduled round runs once, however many workers)."""
        return self.store.acquire(name, secrets.token_hex(16), ttl)

    def is_locked(self, name: str) -> bool:
        return self.store.is_locked(name)
