"""``storeops flash …``: flash sales (秒杀): create, list, reconcile. Words come from the
``flash`` catalogs in the terminal's language; errors name the value at fault."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from storeops.common.cli_options import (
    DbOption,
    JsonOption,
    StoreOption,
    cli_lang,
    command_unit_of_work,
)

if TYPE_CHECKING:

    pass

flash_app = typer.Typer(help="Flash sales (秒杀): a quota of one SKU at a flash price inside a "
                        "time window.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``storeops flash …`` to the main app."""
    app.add_typer(flash_app, name="flash")


def _t(key: str, **params: Any) -> str:
    from storeops.web.i18n import translate

    return translate(cli_lang(), f"flash.cli.{key}", **params)


@flash_app.command("create")
def create(
    sku: Annotated[str, typer.Option("--sku", help="The SKU on sale (must exist).")],
    qty: Annotated[int, typer.Option("--qty", help="Units of quota.")],
    price: Annotated[str, typer.Option("--price", help="Flash price, e.g. 99 or 99.90.")],
    start: Annotated[str, typer.Option(
        "--start", help="ISO time; without an offset, the store's wall clock.")],
    end: Annotated[str, typer.Option("--end", help="ISO time, after --start.")],
    per_buyer: Annotated[int | None, typer.Option(
        "--per-buyer", help="Units one buyer may have (default: no limit).")] = None,
    store: StoreOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a flash sale of one SKU: QTY units at PRICE from START to END."""
    from storeops.catalog.stores import resolve_store
    from storeops.inventory import flash

    amount = flash.parse_price(price)
    with command_unit_of_work(db) as session:
        shop = resolve_store(session, store)
        starts = flash.parse_time(start, shop.timezone, name="--start")
        ends = flash.parse_time(end, shop.timezone, name="--end")
        sale = flash.create_flash_sale(session, shop, sku.strip(), qty, amount, starts, ends,
                                       per_buyer)
        row = flash.sale_row(session, sale, shop.timezone)
    if as_json:
        typer.echo(json.dumps(row, ensure_ascii=False))
        return
    typer.echo(_t("created", id=row["id"], sku=row["sku"], qty=row["quota"],
                  price=row["price"], start=row["start"], end=row["end"],
                  per_buyer=row["per_buyer"] or "-"))


@flash_app.command("list")
def list_command(store: StoreOption = None, db: DbOption = None,
                 as_json: JsonOption = False) -> None:
    """The store's flash sales: window, price, quota, sold, left, state."""
    from storeops.catalog.stores import resolve_store
    from storeops.inventory import flash

    with command_unit_of_work(db) as session:
        shop = resolve_store(session, store)
        rows = [flash.sale_row(session, s, shop.timezone)
                for s in flash.list_sales(session, shop.id)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(*[_t(f"col.{c}") for c in ("id", "sku", "price", "quota", "sold", "left",
                                              "per_buyer", "start", "end", "state")])
    for r in rows:
        table.add_row(str(r["id"]), r["sku"] or "", r["price"], str(r["quota"]), str(r["sold"]),
                      str(r["left"]), str(r["per_buyer"] or "-"), r["start"], r["end"],
                      _t(f"state.{r['state']}"))
    if not rows:
        typer.echo(_t("none", store=shop.name))
        return
    Console().print(table)


@flash_app.command("reconcile")
def reconcile_command(
    sale_id: Annotated[int | None, typer.Option("--id", help="One sale (default: every sale "
                                                "of the store).")] = None,
    store: StoreOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Recompute what each sale sold from its orders' claims (quota of cancelled or unpaid
    orders given back) and re-seed Redis from it."""
    from storeops.catalog.stores import resolve_store
    from storeops.inventory import flash

    with command_unit_of_work(db) as session:
        shop = resolve_store(session, store)
        ids = [sale_id] if sale_id is not None else [s.id for s in
                                                     flash.list_sales(session, shop.id)]
        for one in ids:
            sale = session.get(flash.FlashSale, one)
            if sale is None or sale.store_id != shop.id:
                raise flash.FlashError(f"no flash sale {one} in store {shop.name!r}",
                                       key="flash.unknown_sale_in_store", id=one,
                                       store=shop.name)
        results = [flash.reconcile(session, one).as_dict() for one in ids]
    if as_json:
        typer.echo(json.dumps(results, ensure_ascii=False, indent=2))
        return
    for r in results:
        typer.echo(_t("reconciled", id=r["id"], sold_before=r["sold_before"], sold=r["sold"],
                      quota=r["quota"], left=r["left"], returned=r["returned"],
                      redis=r["redis_left"] if r["redis_left"] is not None else "-"))
