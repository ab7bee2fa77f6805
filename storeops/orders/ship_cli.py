"""``storeops ship …``: waybills one at a time or from a file.

- ``storeops ship --store S --order ORDER_ID --carrier ID-OR-NAME --waybill NO [--json]``
- ``storeops ship import FILE --store S [--rejects PATH] [--sheet N] [--json]``
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from storeops.common.cli_options import (
    DbOption,
    JsonOption,
    StoreOption,
    cli_actor,
    cli_lang,
    database_url,
)

ship_app = typer.Typer(
    help="Ship orders: a carrier and a waybill per order, told to JD for JD orders.",
    invoke_without_command=True,
)

OrderOption = Annotated[
    str | None, typer.Option("--order", metavar="ORDER_ID",
                             help="The platform order id (JD's 订单号).")]
CarrierOption = Annotated[
    str | None, typer.Option("--carrier", metavar="ID-OR-NAME",
                             help="JD carrier id or name: 467 or 顺丰, 465 or EMS, 2087 or 京东 …")]
WaybillOption = Annotated[
    str | None, typer.Option("--waybill", metavar="NO", help="The waybill number (运单号).")]


def register(app: typer.Typer) -> None:
    """Add ``storeops ship …`` to the main app."""
    app.add_typer(ship_app, name="ship")


@ship_app.callback()
def ship_one(
    ctx: typer.Context,
    store: StoreOption = None,
    order: OrderOption = None,
    carrier: CarrierOption = None,
    waybill: WaybillOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Ship one order: --order ORDER_ID --carrier ID-OR-NAME --waybill NO (or `ship import`)."""
    if ctx.invoked_subcommand is not None:
        return
    from storeops.common.errors import StoreopsError
    from storeops.web.i18n import translate

    lang = cli_lang()
    missing = [name for name, value in (("--order", order), ("--carrier", carrier),
                                        ("--waybill", waybill)) if not value]
    if missing:
        raise StoreopsError(
            f"storeops ship needs {', '.join(missing)} (or: storeops ship import FILE)",
            key="ship.cli_missing", options=", ".join(missing))
    from storeops.catalog.stores import resolve_store
    from storeops.db.engine import unit_of_work
    from storeops.orders.carriers import parse_carrier, parse_waybill
    from storeops.orders.shipping import ship

    chosen, number = parse_carrier(carrier), parse_waybill(waybill)  # before the database
    url = database_url(db)
    with unit_of_work(url) as session:
        found = resolve_store(session, store)
        result = ship(session, found, str(order), chosen, number, actor=cli_actor())
        store_name = found.name
    data = {**result.to_dict(), "store": store_name}
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False))
    if not result.ok:
        # committed above: the order keeps JD's message in ship_error and stays allocated
        raise StoreopsError(
            f"order {result.platform_order_id} of store {store_name}: JD refused the "
            f"shipment: {result.error}",
            key="ship.jd_refused", order=result.platform_order_id, store=store_name,
            jd_message=result.error or "")
    if not as_json:
        key = "ship.cli.done_pushed" if result.pushed else "ship.cli.done"
        typer.echo(translate(lang, key, order=result.platform_order_id, store=store_name,
                             carrier=f"{result.carrier_id} {result.carrier_name}",
                             waybill=result.waybill))
        if result.allocated:
            typer.echo(translate(lang, "ship.cli.allocated_first"))


FileArg = Annotated[Path, typer.Argument(help="CSV or XLSX file: order id, carrier, waybill.")]
RejectsOption = Annotated[
    Path | None,
    typer.Option("--rejects", help="Where the rejected rows go (a file, or a folder for "
                 "<input>.rejects.csv); default: the working directory."),
]
SheetOption = Annotated[
    str | None,
    typer.Option("--sheet", metavar="NAME-OR-NUMBER",
                 help="Sheet of an XLSX workbook (default: the first)."),
]


@ship_app.command("import")
def ship_import(
    file: FileArg,
    store: StoreOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    rejects: RejectsOption = None,
    sheet: SheetOption = None,
) -> None:
    """Ship many orders from a file with columns 订单号/order_id, 快递公司/carrier,
    运单号/waybill; rejected rows go to <file>.rejects.csv with their reasons."""
    from storeops.importers.summary import check_rejects_target
    from storeops.orders.ship_import import ship_file

    check_rejects_target(rejects)
    url = database_url(db)
    summary = ship_file(url, file, store=store, lang=cli_lang(), rejects_to=rejects,
                        sheet=sheet)
    data = summary.to_dict()
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    _print_summary(data)


def _print_summary(data: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    from storeops.web.i18n import translator

    t = translator(cli_lang())
    table = Table()
    table.add_column("")
    table.add_column(t("ship.cli.rows"), justify="right")
    for key in ("read", "shipped", "already_shipped", "rejected"):
        table.add_row(t(f"ship.cli.{key}"), str(data[key]))
    if data["jd_refused"]:
        table.add_row(f"  {t('ship.cli.jd_refused')}", str(data["jd_refused"]))
    console = Console()
    console.print(t("ship.cli.title", source=data["source"], store=data["store"]),
                  soft_wrap=True, highlight=False)
    console.print(table)
    if data["rejects_file"]:
        console.print(t("ship.cli.rejects_file", path=data["rejects_file"]), soft_wrap=True,
                      highlight=False)
