"""``storeops promo results CODE``: what an ended promotion earned against its baseline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from storeops.common.cli_options import (
    DbOption,
    JsonOption,
    StoreOption,
    cli_lang,
    command_unit_of_work,
)


def _t(key: str, **params: Any) -> str:
    from storeops.web.i18n import translate

    return translate(cli_lang(), f"promo_results.{key}", **params)


def results_command(
    code: Annotated[str, typer.Argument(help="The promotion's id (its code).")],
    store: StoreOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Also write the table to this "
                                              "XLSX file.")] = None,
    so_far: Annotated[bool, typer.Option("--so-far", help="A promotion still running: its "
                                         "results up to now.")] = False,
) -> None:
    """GMV, units, buyers and AOV during the promotion against the same weekdays and hours of
    the 4 weeks before; incremental GMV, discount cost, margin after cost and commission, ROI;
    by SKU."""
    from storeops.catalog.stores import resolve_store
    from storeops.pricing import results_query
    from storeops.pricing.results import results_dict

    with command_unit_of_work(db) as session:
        st = resolve_store(session, store)
        record = results_query.find_promotion(session, st.id, code)
        found = results_query.results_for(session, record, so_far=so_far)
        currency = st.currency
    if xlsx is not None:
        from storeops.pricing.results_export import results_xlsx
        from storeops.web.format import currency_symbol

        xlsx.write_bytes(results_xlsx(found, code, cli_lang(), currency_symbol(currency)))
    if as_json:
        typer.echo(json.dumps({"promotion": code, "store": st.name, **results_dict(found)},
                              ensure_ascii=False, indent=2))
        return
    _print(found, code, currency)
    if xlsx is not None:
        typer.echo(_t("cli.written", path=str(xlsx)))


def _print(found: Any, code: str, currency: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from storeops.pricing.results_export import COLUMNS, rows
    from storeops.web import format as fmt

    lang = cli_lang()
    t = found.total
    typer.echo(_t("cli.heading", code=code, start=found.start.strftime("%Y-%m-%d %H:%M"),
                  end=found.end.strftime("%Y-%m-%d %H:%M")))
    if found.so_far:
        typer.echo(_t("so_far"))
    typer.echo(_t("cli.summary", gmv=fmt.money(t.during.gmv, currency),
                  baseline=fmt.money(t.baseline.gmv, currency),
                  incremental=fmt.money(t.incremental_gmv, currency),
                  cost=fmt.money(t.discount_cost, currency),
                  margin=fmt.money(t.during.margin, currency),
                  incremental_margin=fmt.money(t.incremental_margin, currency),
                  roi=fmt.DASH if t.roi is None else str(t.roi)))
    if t.roi is None:
        typer.echo(_t("roi_none"))
    for key, skus in (("no_list_price", found.no_list_price), ("no_cost", found.no_cost)):
        if skus:
            typer.echo(_t(key, skus=", ".join(skus)))
    table = Table(*(_t(f"col.{k}") for k, _ in COLUMNS))
    for r in rows(found, lang):
        table.add_row(*(_cell(r[k], kind, currency) for k, kind in COLUMNS))
    Console().print(table)


def _cell(value: Any, kind: str, currency: str) -> str:
    from storeops.web import format as fmt

    if value is None:
        return fmt.DASH
    if kind == "money":
        return fmt.money(value, currency)
    return str(value)


def register(promo: typer.Typer) -> None:
    """Add ``storeops promo results`` to ``storeops promo``."""
    promo.command("results")(results_command)
