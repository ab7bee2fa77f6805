"""The ``storeops`` command: each business area adds its own commands."""

from __future__ import annotations

import sys
from importlib import import_module
from typing import Any

import typer
from typer.core import TyperGroup

from storeops.common.cli_options import DbOption, cli_lang
from storeops.common.cli_text_options import install as install_text_options
from storeops.common.errors import StoreopsError, localise

# Each area adds its own commands. Only the area of the command being run is imported: all of
# them together cost ~45 ms of every command's start-up. Help and completion list every command,
# so they import every area; a command missing from COMMAND_AREAS still runs (every area is
# imported to find it), only slower.
AREAS = (
    "storeops.importers.cli", "storeops.metrics.cli", "storeops.accounts.cli",
    "storeops.api.cli", "storeops.sim.cli", "storeops.orders.cli", "storeops.orders.ship_cli",
    "storeops.inventory.cli", "storeops.inventory.flash_cli", "storeops.connectors.jd.cli",
    "storeops.jobs.cli", "storeops.pricing.cli", "storeops.pricing.promo_cli",
    "storeops.alerts.cli", "storeops.alerts.notify_cli", "storeops.reports.cli",
)
COMMAND_AREAS = {
    "import": "storeops.importers.cli", "kpi": "storeops.metrics.cli",
    "target": "storeops.metrics.cli", "user": "storeops.accounts.cli",
    "token": "storeops.accounts.cli", "serve": "storeops.api.cli", "demo": "storeops.sim.cli",
    "order": "storeops.orders.cli", "ship": "storeops.orders.ship_cli",
    "stock": "storeops.inventory.cli", "flash": "storeops.inventory.flash_cli",
    "jd": "storeops.connectors.jd.cli", "worker": "storeops.jobs.cli",
    "price": "storeops.pricing.cli", "promo": "storeops.pricing.promo_cli",
    "alert": "storeops.alerts.cli", "notify": "storeops.alerts.notify_cli",
    "report": "storeops.reports.cli",
}


class _AreaCommands(TyperGroup):
    """The root group: imports an area's module the first time one of its commands is asked
    for; lists the commands as registering every area on the root would."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._own = dict(self.commands)  # the root's own commands (init)
        self._areas: dict[str, dict[str, Any]] = {}

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:
        if cmd_name not in self.commands:
            area = COMMAND_AREAS.get(cmd_name)
            self._load((area,) if area else AREAS)
            if cmd_name not in self.commands:
                self._load(AREAS)
        return self.commands.get(cmd_name)

    def list_commands(self, ctx: typer.Context) -> list[str]:
        self._load(AREAS)
        return super().list_commands(ctx)

    def _load(self, areas: tuple[str, ...]) -> None:
        for area in areas:
            if area in self._areas:
                continue
            # The area registers on a Typer of its own, made into click commands with the
            # root's settings, as `app.add_typer`/`app.command` on the root would.
            own = typer.Typer(rich_markup_mode=self.rich_markup_mode,
                              suggest_commands=self.suggest_commands,
                              pretty_exceptions_short=app.pretty_exceptions_short)
            import_module(area).register(own)
            self._areas[area] = dict(typer.main.get_group(own).commands)
        # Typer's order: every command (root's first, then the areas'), then every group.
        known = [self._own, *(self._areas.get(area, {}) for area in AREAS)]
        self.commands = {
            name: cmd for is_group in (False, True) for commands in known
            for name, cmd in commands.items() if isinstance(cmd, TyperGroup) == is_group
        }


install_text_options()  # pydantic off every command's start-up (most options are text)
app = typer.Typer(
    name="storeops",
    help="Operations platform for JD.com POP stores: imports, KPIs and the cockpit.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=_AreaCommands,
)


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
        raise StoreopsError(f"cannot open the database {_display_url(url)}: {exc.orig}",
                            key="db.cannot_open", db=_display_url(url), reason=exc.orig) from exc
    state = "created" if before is None else ("upgraded" if before != after else "up to date")
    typer.echo(f"database {state} at schema {after}: {_display_url(url)}")


def _display_url(url: str) -> str:
    """A URL safe to print: no password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _click_errors() -> Any:
    # Typer raises the exceptions of its own copy of Click: their module is BadParameter's.
    return sys.modules[typer.BadParameter.__module__]


def main() -> None:
    click = _click_errors()
    try:
        code = app(standalone_mode=False)  # usage errors come here, to be said as ours are
    except StoreopsError as exc:
        _fail(localise(exc, cli_lang()), 2)
    except click.NoArgsIsHelpError as exc:
        exc.show()  # the help itself
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        _fail(usage_text(exc, cli_lang()), exc.exit_code)
    except click.ClickException as exc:
        _fail(exc.format_message(), exc.exit_code)
    except typer.Abort:
        _fail("Aborted!", 1)
    if isinstance(code, int) and code:  # typer.Exit(code), or 130 on Ctrl-C
        sys.exit(code)


def _fail(message: str, code: int) -> None:
    from rich.console import Console  # not imported by a command that succeeds
    from rich.markup import escape

    # "error:" stays as it is in every language: scripts and greps look for it. The message is
    # in the terminal's language (STOREOPS_LANG). soft_wrap: a long file path must stay on one
    # line to be copied or grepped.
    Console(stderr=True).print(f"[bold red]error:[/] {escape(message)}", highlight=False,
                               soft_wrap=True)
    sys.exit(code)


def _value_problem(exc: Any, lang: str) -> str:
    """What is wrong with an option's value: the pages' words for a validation error type
    (Typer checks values with pydantic), else Click's own message."""
    from storeops.web.i18n import catalog

    errors = getattr(exc.__cause__, "errors", None)
    first = errors()[0] if callable(errors) and errors() else {}
    words = catalog(lang).get(f"errors.validation.{first.get('type', '')}")
    try:
        return words.format(**(first.get("ctx") or {})) if words else exc.message
    except (KeyError, IndexError, ValueError):
        return exc.message


def usage_text(exc: Any, lang: str) -> str:
    """A command-line usage error (a missing or unknown option, a bad value) in ``lang``,
    with how to see the command's help. English is Click's own text."""
    from storeops.web.i18n import translate

    click = _click_errors()
    ctx = exc.ctx
    command = ctx.command_path if ctx is not None else "storeops"
    hint = translate(lang, "errors.usage.help", command=command)
    if lang == "en":
        return f"{exc.format_message()} ({hint})"
    param = getattr(exc, "param", None)
    is_argument = param is not None and param.param_type_name == "argument"
    if param is None:
        name = str(getattr(exc, "param_hint", None) or "")
    else:
        name = (param.name or "").upper() if is_argument else " / ".join(param.opts)
    if isinstance(exc, click.MissingParameter):
        key = "missing_argument" if is_argument else "missing_option"
        text = translate(lang, f"errors.usage.{key}", name=name)
    elif isinstance(exc, click.NoSuchOption):
        text = translate(lang, "errors.usage.no_such_option", name=exc.option_name)
        if exc.possibilities:
            text += translate(lang, "errors.usage.did_you_mean",
                              choices=", ".join(sorted(exc.possibilities)))
    elif isinstance(exc, click.BadParameter):
        text = translate(lang, "errors.usage.bad_value", name=name,
                         detail=_value_problem(exc, lang))
    elif exc.message.startswith("No such command"):
        text = translate(lang, "errors.usage.no_such_command",
                         name=exc.message.split("'")[1] if "'" in exc.message else "")
    else:
        text = translate(lang, "errors.usage.other", detail=exc.format_message())
    return f"{text}（{hint}）"


if __name__ == "__main__":
    main()
