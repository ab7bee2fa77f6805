"""Serving the cockpit with Uvicorn, in one process or several (``--workers N``).

Workers are separate processes (the analytics engine and the Python interpreter each use one
core per process). Each builds its app from :func:`app_from_env`, an import-string factory, with
the database URL passed in ``STOREOPS_DATABASE_URL``. They share what must be shared: the
database (SQLite in WAL mode or PostgreSQL), the warehouse folder (snapshots are built under a
file lock, see :mod:`storeops.metrics.warehouse`) and the secret key file, made once by the
parent before any worker starts. Each worker caches results on its own and checks the store's
data_version in the database, so an import made through any worker, or from the command line,
is seen by all of them at once.
"""

from __future__ import annotations

import gc
import os

import uvicorn
from fastapi import FastAPI

from storeops.config import ENV_DATABASE_URL, normalize_db_url, resolve_db_url

APP_FACTORY = "storeops.api.server:app_from_env"


def app_from_env() -> FastAPI:
    """The app over ``STOREOPS_DATABASE_URL`` (what each worker process runs)."""
    from storeops.api.app import create_app

    app = create_app(resolve_db_url())
    # The ~200,000 objects of the imports and the app live as long as the process: out of the
    # collector's sight, the full collections that requests trigger stop walking them each
    # time (a third of the CPU of a flash sale's sold-out answer went to them).
    gc.collect()
    gc.freeze()
    return app


def prepare(db_url: str) -> str:
    """Work done once before the workers start: upgrade the schema, make the secret key."""
    from storeops.api.secret import load_secret_key
    from storeops.db.migrate import ensure_schema

    db_url = normalize_db_url(db_url)
    ensure_schema(db_url)
    load_secret_key(db_url)
    return db_url


def serve(
    db_url: str, host: str = "127.0.0.1", port: int = 8000, workers: int = 1,
    access_log: bool = True,
) -> None:
    """Serve the cockpit and API until interrupted (blocking)."""
    os.environ[ENV_DATABASE_URL] = prepare(db_url)  # inherited by the worker processes
    uvicorn.run(
        APP_FACTORY, factory=True, host=host, port=port, workers=workers,
        log_level="info", access_log=access_log,
    )
