"""Background jobs inside ``storeops serve`` and ``storeops demo``.

On the embedded default (no ``STOREOPS_REDIS_URL``) the server runs the job consumer in
background threads of its own process, so nothing else has to be started. With
``serve --workers N`` the consumer runs once, in the parent process that supervises the N
server processes (they only enqueue). With Redis configured, jobs are left to
``storeops worker`` unless ``--jobs`` asks for them here too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from storeops.jobs.runner import InProcessWorker


def jobs_wanted(enabled: bool | None) -> bool:
    """--jobs / --no-jobs, else: on without STOREOPS_REDIS_URL, off with it."""
    from storeops.jobs.settings import redis_url

    return enabled if enabled is not None else redis_url() is None


@contextmanager
def background_jobs(db_url: str, *, enabled: bool | None = None,
                    minutes: int | None = None) -> Iterator[InProcessWorker | None]:
    """Run the job consumer in this process for the block when wanted (see
    :func:`jobs_wanted`); says which on the terminal. ``minutes``: between two syncs of a
    store (default ``STOREOPS_SYNC_MINUTES``)."""
    from storeops.common.cli_options import cli_lang
    from storeops.web.i18n import translate

    lang = cli_lang()
    if not jobs_wanted(enabled):
        typer.echo(translate(lang, "jobs.serve.disabled" if enabled is False
                             else "jobs.serve.use_worker"))
        yield None
        return
    from storeops.db.migrate import ensure_schema
    from storeops.jobs.queue import make_jobs
    from storeops.jobs.runner import in_process_worker

    ensure_schema(db_url)  # before the first periodic task runs
    jobs = make_jobs(db_url, minutes=minutes)
    try:
        with _sigterm_exits(), in_process_worker(jobs) as worker:
            typer.echo(translate(lang, "jobs.serve.in_process", where=jobs.where,
                                 minutes=jobs.sync_minutes))
            yield worker
    finally:
        typer.echo(translate(lang, "jobs.serve.stopped"))


@contextmanager
def _sigterm_exits() -> Iterator[None]:
    """SIGTERM ends the block with SystemExit(0) rather than killing the process, so that the
    consumer stops cleanly (Uvicorn stops serving on SIGTERM, then raises it again with the
    handler it found: this one)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(0)

    before = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)
