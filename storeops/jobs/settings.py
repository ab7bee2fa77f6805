"""Where background jobs are queued and how often they run (read from the environment).

- ``STOREOPS_REDIS_URL`` set (``redis://127.0.0.1:6379/0``): jobs are queued in Redis; run
  ``storeops worker`` (any number of them, on any machine that reaches Redis and the database).
- Not set (the embedded default): jobs are queued in a SQLite file beside the SQLite database
  (``<db>.jobs.sqlite``); for a PostgreSQL database without Redis, in
  ``~/.cache/storeops/jobs/<hash of the URL>.sqlite`` (workers must then share one machine).
  ``storeops serve`` runs them in-process.
- ``STOREOPS_SYNC_MINUTES`` (default 5): how often every connected JD store is synced.

Plain functions, no Huey import: the command line reads them on its start-up.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from storeops.config import sqlite_path

ENV_REDIS_URL = "STOREOPS_REDIS_URL"
ENV_SYNC_MINUTES = "STOREOPS_SYNC_MINUTES"
DEFAULT_SYNC_MINUTES = 5
MAX_SYNC_MINUTES = 24 * 60
QUEUE_NAME = "storeops"


def redis_url() -> str | None:
    """The Redis URL of the job queue, or None for the embedded SQLite queue."""
    value = os.environ.get(ENV_REDIS_URL, "").strip()
    return value or None


def sync_minutes() -> int:
    """Minutes between two scheduled syncs of a store (``STOREOPS_SYNC_MINUTES``, default 5).

    A value that is not a whole number from 1 to 1440 falls back to the default."""
    raw = os.environ.get(ENV_SYNC_MINUTES, "").strip()
    try:
        minutes = int(raw) if raw else DEFAULT_SYNC_MINUTES
    except ValueError:
        return DEFAULT_SYNC_MINUTES
    return minutes if 1 <= minutes <= MAX_SYNC_MINUTES else DEFAULT_SYNC_MINUTES


def jobs_sqlite_path(db_url: str) -> Path:
    """The SQLite file of the embedded job queue for the database at ``db_url``."""
    path = sqlite_path(db_url)
    if path is not None and path.name != ":memory:":
        return path.with_name(path.name + ".jobs.sqlite")
    digest = hashlib.sha256(db_url.encode()).hexdigest()[:16]
    folder = Path.home() / ".cache" / "storeops" / "jobs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{digest}.sqlite"


def display_redis_url(url: str) -> str:
    """A Redis URL safe to print: no password."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
