"""The ``storeops`` command: each business area adds its own commands."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from storeops.common.cli_options import DbOption
from storeops.common.errors import StoreopsError

app = typer.Typer(
    name="storeops",
    help="Operations platform for JD.com POP stores: imports, KPIs and the cockpit.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)


@app.callback()
def _root() -> None:
    """storeops: the operations back office of a JD.com store."""


@app.command()
def init(db: DbOption = None) -> None:
    """Create the database, or upgrade it to the newest schema."""
    from sqlalchemy.exc import OperationalError

    from storeops.config import resolve_db_url
    from storeops.db.migrate import current_revision, upgrade

    url = resolve_db_url(db)
    try:
        before = current_revision(url)
        after = upgrade(url)
    except OperationalError as exc:
        raise StoreopsError(f"cannot open the database {_display_url(url)}: {exc.orig}") from exc
    state = "created" if before is None else ("upgraded" if before != after else "up to date")
    typer.echo(f"database {state} at schema {after}: {_display_url(url)}")


def _display_url(url: str) -> str:
    """A URL safe to print: no password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _register() -> None:
    # Each area owns its commands; importing here keeps `storeops --help` complete.
    from storeops.accounts.cli import register as register_accounts
    from storeops.api.cli import register as register_api
    from storeops.importers.cli import register as register_importers
    from storeops.metrics.cli import register as register_metrics
    from storeops.sim.cli import register as register_sim

    for register in (
        register_importers, register_metrics, register_accounts, register_api, register_sim,
    ):
        register(app)


_register()


def main() -> None:
    try:
        app()
    except StoreopsError as exc:
        # soft_wrap: a long file path must stay on one line to be copied or grepped.
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
