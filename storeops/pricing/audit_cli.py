"""``storeops promo audit``: the 破价 audit of a store from the terminal.

Every SKU's lowest reachable unit price under the store's live and scheduled offers (and,
with ``--promotions FILE``, a planned promotions file on top, not imported) against its
floor; the SKUs below floor as a table (``--json``: the report; ``--xlsx OUT``: the table as a
workbook). Exit 1 when any SKU can be stacked below its floor, 0 otherwise, 2 on an error.
"""

from __future__ import annotations

import json
from datetime import datetime
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

PromotionsOption = Annotated[
    Path | None,
    typer.Option("--promotions", help="A planned promotions file (YAML or JSON) to audit on "
                                      "top of the store's offers, without importing it."),
]
XlsxOption = Annotated[
    Path | None, typer.Option("--xlsx", help="Also write the SKUs below floor to this XLSX."),
]
AtOption = Annotated[
    str | None,
    typer.Option("--at", help="Audit from this ISO time (default: now; a time without offset "
                              "is in the store's time zone)."),
]


def _t(key: str, **params: Any) -> str:
    from storeops.web.i18n import translate

    return translate(cli_lang(), f"promo_audit.{key}", **params)


def _moment(text: str | None, tz: str) -> datetime | None:
    if text is None:
        return None
    from storeops.common.errors import StoreopsError
    from storeops.common.timeutil import zone

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise StoreopsError(f"--at {text!r} is not an ISO 8601 time",
                            key="errors.promo_audit.bad_at", value=text) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone(tz))


def audit_command(
    store: StoreOption = None,
    promotions: PromotionsOption = None,
    xlsx: XlsxOption = None,
    at: AtOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """破价 audit: the SKUs any allowed stack of offers takes below their floor (exit 1 when
    there are any)."""
    from storeops.catalog.stores import resolve_store
    from storeops.pricing.audit_store import audit_store
    from storeops.pricing.audit_table import breach_row, columns, report_json

    planned = None
    if promotions is not None:
        from storeops.pricing.spec import load_offers

    with command_unit_of_work(db) as session:
        st = resolve_store(session, store)
        if promotions is not None:
            planned = load_offers(promotions, st.timezone)
        report = audit_store(session, st.id, planned, _moment(at, st.timezone))
        name, currency = st.name, st.currency
    lang = cli_lang()
    rows = [breach_row(b) for b in report.breaches]
    if xlsx is not None:
        from storeops.web.table_export import write_xlsx

        symbol = "¥" if currency == "CNY" else currency
        written = write_xlsx(columns(lang), rows, str(xlsx), sheet_name=_t("sheet"),
                             currency_symbol=symbol)
    if as_json:
        typer.echo(json.dumps(report_json(report, name), ensure_ascii=False, indent=2))
    else:
        if planned is not None:
            typer.echo(_t("cli.planned", path=promotions, promotions=len(planned.promotions),
                          coupons=len(planned.coupons)))
        typer.echo(_t("cli.summary", store=name, checked=report.checked,
                      below=len(report.breaches), no_floor=report.no_floor_count))
        if rows:
            from rich.console import Console
            from rich.table import Table

            keys = ("sku", "title", "price", "floor", "lowest", "gap", "stack")
            table = Table(*(_t(f"col.{k}") for k in keys))
            for row in rows:
                table.add_row(*("" if row[k] is None else str(row[k]) for k in keys))
            Console(width=200).print(table)
        else:
            typer.echo(_t("cli.none_below"))
        if xlsx is not None:
            typer.echo(_t("cli.written", path=xlsx, rows=written))
    if report.breaches:
        raise typer.Exit(1)


def register(promo: typer.Typer) -> None:
    """Add ``storeops promo audit``."""
    promo.command("audit")(audit_command)
