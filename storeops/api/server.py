"""Serving the cockpit with Uvicorn, in one process or several (``--workers N``).

Workers are separate processes (the analytics engine and the Python interpreter each use one
core per process). Each builds its app from :func:`app_from_env`, an import-string factory, with
the database URL passed in ``STOREOPS_DATABASE_URL``. They share what must be shared: the
database (SQLite in WAL mode or PostgreSQL), the warehouse folder (snapshots are built under a
file lock, see :mod:`storeops.metrics.warehouse`) and the secret key file, made once by the
parent before any worker starts. Each worker caches results on its own and checks the store's
data_version in the database, so an import made through any worker, or from the command line,
is seen by all of them at once.

With several workers on Linux (``SO_REUSEPORT``), each worker listens on a socket of its own
bound to the same address, and the kernel spreads new connections evenly over them. Uvicorn's
own way, one socket shared by all workers, lets whichever worker wakes first accept: under
load one worker took most of a client's connections (e.g. 14 orders per batch against 2.5 in
bench/order_api_bench.py) and its queue made the slowest answers. The parent binds the
address first (with ``SO_REUSEPORT``, never listening: it receives no connection), so that a
port in use fails at once as before.
"""

from __future__ import annotations

import gc
import logging
import os
import socket

import uvicorn
from fastapi import FastAPI
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import multiprocess

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
    if workers > 1 and _reuse_port_supported():
        _serve_reuse_port(host, port, workers, access_log)
        return
    uvicorn.run(
        APP_FACTORY, factory=True, host=host, port=port, workers=workers,
        log_level="info", access_log=access_log,
    )


def _reuse_port_supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT") and os.name == "posix"


def _bind(host: str, port: int, *, shared: bool = True) -> socket.socket:
    """A TCP socket bound to (host, port) that, ``shared``, other sockets of this user may
    bind too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if shared:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class ReusePortWorker(multiprocess.Process):
    """Uvicorn's worker process, listening on a socket of its own."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:
        own = None
        if sockets:
            own = [_bind(*s.getsockname()[:2]) for s in sockets]
            for s in sockets:
                s.close()  # the parent's, never listened on
        super().target(own)


def _serve_reuse_port(host: str, port: int, workers: int, access_log: bool) -> None:
    config = uvicorn.Config(APP_FACTORY, factory=True, host=host, port=port, workers=workers,
                            log_level="info", access_log=access_log)
    try:
        # First alone: a port another server holds (even one of ours, whose sockets allow
        # sharing) is refused as "address already in use", as uvicorn's own bind does.
        with _bind(host, port, shared=False) as probe:
            port = probe.getsockname()[1]
        sock = _bind(host, port)
    except OSError as exc:  # as uvicorn says it
        logging.getLogger("uvicorn.error").error(exc)
        raise SystemExit(STARTUP_FAILURE) from None
    bound = sock.getsockname()
    shown = f"[{bound[0]}]" if sock.family == socket.AF_INET6 else bound[0]
    logging.getLogger("uvicorn.error").info(
        "Uvicorn running on http://%s:%d (Press CTRL+C to quit)", shown, bound[1])
    # The supervisor makes (and remakes, when one dies) its workers by this module-level name.
    multiprocess.Process = ReusePortWorker  # type: ignore[misc]
    try:
        multiprocess.Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
