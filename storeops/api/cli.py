"""``storeops serve``: the cockpit and the JSON API."""

from __future__ import annotations

from typing import Annotated

import typer

from storeops.common.cli_options import DbOption

MAX_WORKERS = 64


def serve_command(
    db: DbOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.", min=1,
                                      max=65535)] = 8000,
    workers: Annotated[int, typer.Option(
        "--workers", min=1, max=MAX_WORKERS,
        help="Server processes (about one per CPU core for a team).")] = 1,
    access_log: Annotated[bool, typer.Option(
        "--access-log/--no-access-log", help="Log every request.")] = True,
    jobs: Annotated[bool | None, typer.Option(
        "--jobs/--no-jobs", show_default=False,
        help="Run background jobs (JD syncs, stock pushes, unpaid-order expiry) in this "
        "process. Default: on without STOREOPS_REDIS_URL, off with it (run storeops worker)."),
    ] = None,
) -> None:
    """Serve the cockpit (http://HOST:PORT/) and the API (/api/v1, docs at /api/v1/docs)."""
    from storeops.api.server import serve
    from storeops.config import resolve_db_url
    from storeops.jobs.serving import background_jobs

    url = resolve_db_url(db)
    typer.echo(f"storeops cockpit on http://{host}:{port}/ (API docs: /api/v1/docs)"
               + (f", {workers} worker processes" if workers > 1 else ""))
    # Jobs run in this (the parent) process only, however many server processes serve.
    with background_jobs(url, enabled=jobs):
        serve(url, host=host, port=port, workers=workers, access_log=access_log)


def register(app: typer.Typer) -> None:
    """Add ``storeops serve`` to the main app."""
    app.command("serve")(serve_command)
