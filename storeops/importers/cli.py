"""``storeops import orders|products|traffic|ads FILE``: the importers on the command line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from storeops.common.cli_options import DbOption, JsonOption, StoreOption, cli_lang

FileArg = Annotated[Path, typer.Argument(help="CSV or XLSX file, plain or gzip-compressed.")]
MappingOption = Annotated[
    Path | None,
    typer.Option("--mapping", help="YAML column mapping (see examples/mappings/)."),
]
FormatOption = Annotated[
    str | None, typer.Option("--format", help="Known export layout: jd (JD order export).")
]

CompleteOption = Annotated[
    bool,
    typer.Option("--complete", help="The file holds every line of each order in it: a "
                 "changed order is replaced whole (by default lines are matched and stored "
                 "lines the file does not mention are kept)."),
]

RejectsOption = Annotated[
    Path | None,
    typer.Option("--rejects", help="Where the rejected rows go (a file, or a folder for "
                 "<input>.rejects.csv); default: the working directory."),
]

SheetOption = Annotated[
    str | None,
    typer.Option("--sheet", metavar="NAME-OR-NUMBER",
                 help="Sheet of an XLSX workbook: its name or number (1 = the first; "
                 "default: the mapping's sheet, else the first)."),
]

import_app = typer.Typer(help="Import JD exports or any CSV/XLSX file.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main ``storeops`` app."""
    app.add_typer(import_app, name="import")


def _run(kind: str, file: Path, db: str | None, store: str | None, as_json: bool,
         fmt: str | None = None, mapping: Path | None = None, complete: bool = False,
         rejects: Path | None = None, sheet: str | None = None) -> None:
    from storeops.config import resolve_db_url
    from storeops.db.migrate import ensure_schema
    from storeops.importers.service import import_file
    from storeops.importers.summary import check_rejects_target

    check_rejects_target(rejects)  # before the database is created or upgraded
    url = resolve_db_url(db)
    ensure_schema(url)
    console = Console(stderr=True)
    words = _reason_text()  # the rejects file in the terminal's language
    if as_json or not console.is_terminal:
        summary = import_file(url, kind, file, fmt=fmt, mapping=mapping, store=store,
                              complete=complete, rejects_to=rejects, sheet=sheet,
                              reason_text=words)
    else:
        with Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as bar:
            task = bar.add_task(f"importing {file.name}", total=1.0)

            def step(stage: str, fraction: float) -> None:
                bar.update(task, completed=fraction, description=f"{file.name}: {stage}")

            summary = import_file(url, kind, file, fmt=fmt, mapping=mapping, store=store,
                                  progress=step, complete=complete, rejects_to=rejects,
                                  sheet=sheet, reason_text=words)
    data = summary.to_dict()
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    _print_summary(data)


def _reason_text() -> Callable[[str, str], str]:
    """A reject's words in the terminal's language (STOREOPS_LANG)."""
    from storeops.web.i18n import reject_text

    lang = cli_lang()
    return lambda key, reason: reject_text(lang, key, reason)


def _print_summary(data: dict) -> None:
    from storeops.web.i18n import reject_reason, translator

    lang = cli_lang()
    t = translator(lang)
    kind = t(f"import.kinds.{data['kind']}")
    title = t("cli_import.title", kind=kind, source=data["source"], store=data["store"])
    table = Table()
    table.add_column("")
    table.add_column(t("cli_import.rows"), justify="right")
    for key in ("read", "imported", "unchanged", "rejected"):
        table.add_row(t(f"cli_import.{key}"), str(data[key]))
    for reason, count in data["by_reason"].items():
        table.add_row(f"  {t('cli_import.rejected')}: {reject_reason(lang, reason)}", str(count))
    if data.get("excluded"):
        table.add_row(t("cli_import.excluded"), str(data["excluded"]))
        for sku, count in data.get("excluded_by_sku", {}).items():
            table.add_row(f"  {sku}", str(count))
    if data.get("freight"):
        table.add_row(t("cli_import.freight"), str(data["freight"]))
    keys = (("orders_created", "orders_updated", "orders_unchanged", "refunds",
             "products_created", "customers_created") if data["kind"] == "orders"
            else ("created", "updated", "products_created"))
    for key in keys:
        table.add_row(t(f"cli_import.{key}"), str(data[key]))
    if data.get("stock_kept"):
        table.add_row(t("cli_import.stock_kept"), str(data["stock_kept"]))
    if data.get("orders_partial"):
        table.add_row(t("cli_import.orders_partial"), str(data["orders_partial"]))
        table.add_row(f"  {t('cli_import.lines_kept')}", str(data["lines_kept"]))
    console = Console()
    console.print(title, soft_wrap=True, highlight=False)  # a table title would wrap
    console.print(table)
    if data["rejects_file"]:
        console.print(t("cli_import.rejects_file", path=data["rejects_file"]), soft_wrap=True,
                      highlight=False)


@import_app.command("orders")
def import_orders(
    file: FileArg, fmt: FormatOption = None, mapping: MappingOption = None,
    store: StoreOption = None, db: DbOption = None, as_json: JsonOption = False,
    complete: CompleteOption = False, rejects: RejectsOption = None, sheet: SheetOption = None,
) -> None:
    """Import orders: the JD order export (--format jd) or any file through --mapping."""
    _run("orders", file, db, store, as_json, fmt=fmt, mapping=mapping, complete=complete,
         rejects=rejects, sheet=sheet)


@import_app.command("products")
def import_products(
    file: FileArg, mapping: MappingOption = None, store: StoreOption = None,
    db: DbOption = None, as_json: JsonOption = False, rejects: RejectsOption = None,
    sheet: SheetOption = None,
) -> None:
    """Import or update products (SKU, 货号, title, category, brand, price, cost, status)."""
    _run("products", file, db, store, as_json, mapping=mapping, rejects=rejects,
         sheet=sheet)


@import_app.command("traffic")
def import_traffic(
    file: FileArg, mapping: MappingOption = None, store: StoreOption = None,
    db: DbOption = None, as_json: JsonOption = False, rejects: RejectsOption = None,
    sheet: SheetOption = None,
) -> None:
    """Import daily traffic per SKU and source (京东商智 export)."""
    _run("traffic", file, db, store, as_json, mapping=mapping, rejects=rejects,
         sheet=sheet)


@import_app.command("ads")
def import_ads(
    file: FileArg, mapping: MappingOption = None, store: StoreOption = None,
    db: DbOption = None, as_json: JsonOption = False, rejects: RejectsOption = None,
    sheet: SheetOption = None,
) -> None:
    """Import daily ad spend per campaign (京准通 export)."""
    _run("ads", file, db, store, as_json, mapping=mapping, rejects=rejects,
         sheet=sheet)
