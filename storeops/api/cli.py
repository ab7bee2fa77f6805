"""``storeops serve``: the cockpit and the JSON API."""

from __future__ import annotations

from typing import Annotated

import typer

from storeops.common.cli_options import DbOption


def serve_command(
    db: DbOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
) -> None:
    """Serve the cockpit (http://HOST:PORT/) and the API (/api/v1, docs at /api/v1/docs)."""
    from storeops.api.server import serve
    from storeops.config import resolve_db_url

    url = resolve_db_url(db)
    typer.echo(f"storeops cockpit on http://{host}:{port}/ (API docs: /api/v1/docs)")
    serve(url, host=host, port=port)


def register(app: typer.Typer) -> None:
    """Add ``storeops serve`` to the main app."""
    app.command("serve")(serve_command)
