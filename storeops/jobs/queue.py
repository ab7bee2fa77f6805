"""The job queue: a Huey instance chosen by configuration, with storeops' tasks on it.

``STOREOPS_REDIS_URL`` set → ``RedisHuey`` (name ``storeops``) on that URL; else a
``SqliteHuey`` in a file beside the SQLite database (see :mod:`storeops.jobs.settings`).
Each instance carries its database URL: the tasks registered on it work on that database, so
a worker started with ``--db`` (or ``STOREOPS_DATABASE_URL``) runs them there.

Callers enqueue through :func:`jobs_for` (one instance per database and queue in a process)::

    from storeops.jobs.queue import enqueue_sync, enqueue_push_stock
    enqueue_sync(db_url, store_id)        # a JD sync of the store, soon
    enqueue_push_stock(db_url, store_id)  # push the store's changed channel quantities
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from huey import RedisHuey, SqliteHuey
from huey.api import Huey, Result, TaskWrapper

from storeops.config import normalize_db_url
from storeops.jobs.locks import Locks, RedisLocks, SqliteLocks
from storeops.jobs.settings import (
    QUEUE_NAME,
    display_redis_url,
    jobs_sqlite_path,
    redis_url,
    sync_minutes,
)

_FROM_ENV: Any = object()


@dataclass
class Jobs:
    """A Huey instance bound to one database, with the tasks registered on it."""

    huey: Huey
    db_url: str
    locks: Locks
    sync_minutes: int
    backend: str  # "sqlite" | "redis"
    where: str  # the queue's file or (password-less) Redis URL, to print
    tasks: dict[str, TaskWrapper] = field(default_factory=dict)

    @property
    def sync_store(self) -> TaskWrapper:
        """``sync_store(store_id, since=None)``: pull the store's JD orders (one at a time)."""
        return self.tasks["sync_store"]

    @property
    def schedule_syncs(self) -> TaskWrapper:
        """Periodic: a sync and a stock push of every connected store."""
        return self.tasks["schedule_syncs"]

    @property
    def expire_unpaid(self) -> TaskWrapper:
        """Periodic (every minute): cancel unpaid own-channel orders past their deadline."""
        return self.tasks["expire_unpaid"]

    @property
    def advance_promotions(self) -> TaskWrapper:
        """Periodic (every minute): scheduled promotions go live, live ones end, on time."""
        return self.tasks["advance_promotions"]

    @property
    def push_stock(self) -> TaskWrapper:
        """``push_stock(store_id)``: push the quantities to publish that changed."""
        return self.tasks["push_stock"]

    @property
    def ping(self) -> TaskWrapper:
        """``ping()``: answers with the worker's pid (checks that a worker runs)."""
        return self.tasks["ping"]


def make_jobs(
    db_url: str,
    *,
    redis: str | None = _FROM_ENV,
    name: str = QUEUE_NAME,
    immediate: bool = False,
    minutes: int | None = None,
    sqlite_file: str | None = None,
) -> Jobs:
    """A new Huey instance for ``db_url`` with every storeops task registered on it.

    ``redis``: a Redis URL, None for the embedded SQLite queue, default ``STOREOPS_REDIS_URL``.
    ``minutes``: minutes between scheduled syncs (default ``STOREOPS_SYNC_MINUTES``).
    ``immediate``: run tasks at once in the caller (tests)."""
    from storeops.jobs.tasks import register_tasks

    db_url = normalize_db_url(db_url)
    url = redis_url() if redis is _FROM_ENV else redis
    huey: Huey
    if url:
        huey = RedisHuey(name, url=url, immediate=immediate, results=True)
        prefix = f"storeops.locks.{name}."
        locks = Locks(RedisLocks(huey.storage.conn, prefix))
        backend, where = "redis", display_redis_url(url)
    else:
        path = sqlite_file or str(jobs_sqlite_path(db_url))
        huey = SqliteHuey(name, filename=path, immediate=immediate, results=True)
        locks = Locks(SqliteLocks(path))
        backend, where = "sqlite", path
    jobs = Jobs(huey=huey, db_url=db_url, locks=locks, sync_minutes=minutes or sync_minutes(),
                backend=backend, where=where)
    register_tasks(jobs)
    return jobs


_instances: dict[tuple[str, str | None], Jobs] = {}
_instances_lock = threading.Lock()


def jobs_for(db_url: str) -> Jobs:
    """This process's job queue for ``db_url`` (made on first use, from the environment)."""
    key = (normalize_db_url(db_url), redis_url())
    with _instances_lock:
        jobs = _instances.get(key)
        if jobs is None:
            jobs = _instances[key] = make_jobs(key[0], redis=key[1])
        return jobs


def enqueue_sync(db_url: str, store_id: int) -> Result | None:
    """Queue a JD sync of the store (skipped by the worker when one is running)."""
    return jobs_for(db_url).sync_store(store_id)


def enqueue_push_stock(db_url: str, store_id: int) -> Result | None:
    """Queue a push of the store's channel quantities that changed."""
    return jobs_for(db_url).push_stock(store_id)
