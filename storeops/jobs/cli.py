"""``storeops worker``: run background jobs (Huey consumer)."""

from __future__ import annotations

from typing import Annotated

import typer

from storeops.common.cli_options import DbOption

MAX_THREADS = 64


def worker_command(
    db: DbOption = None,
    workers: Annotated[int, typer.Option(
        "--workers", min=1, max=MAX_THREADS,
        help="Job threads in this process (syncs wait on JD most of the time).")] = 2,
) -> None:
    """Run background jobs: JD syncs every STOREOPS_SYNC_MINUTES (default 5), channel stock
    pushes, expiry of unpaid orders. Jobs are queued in Redis when STOREOPS_REDIS_URL is set
    (start any number of workers), else in a SQLite file beside the database (what
    `storeops serve` runs in-process). Stop with Ctrl-C (running jobs finish first)."""
    import logging

    from storeops.common.cli_options import cli_lang
    from storeops.config import resolve_db_url
    from storeops.db.migrate import ensure_schema
    from storeops.jobs.queue import make_jobs
    from storeops.jobs.runner import make_consumer
    from storeops.web.i18n import translate

    url = resolve_db_url(db)
    ensure_schema(url)
    jobs = make_jobs(url)
    typer.echo(translate(cli_lang(), f"jobs.worker.started_{jobs.backend}", threads=workers,
                         where=jobs.where, minutes=jobs.sync_minutes))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                        "%(message)s")
    make_consumer(jobs, threads=workers).run()


def register(app: typer.Typer) -> None:
    """Add ``storeops worker`` to the main app."""
    app.command("worker")(worker_command)
