"""``storeops promo protection``: the price-protection (价保) claims of a store's orders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from storeops.common.cli_options import DbOption, JsonOption, StoreOption, cli_lang


def _t(key: str, **params: Any) -> str:
    from storeops.web.i18n import translate

    return translate(cli_lang(), f"promo_checks.{key}", **params)


def register(promo: typer.Typer) -> None:
    """Add this module's subcommands to ``storeops promo``."""
    promo.command("protection")(protection_command)


def protection_command(
    store: StoreOption = None,
    sku: Annotated[list[str] | None, typer.Option(
        "--sku", help="Only this SKU (repeat for more).")] = None,
    first: Annotated[str | None, typer.Option(
        "--from", help="First payment day, YYYY-MM-DD (default: 30 days before --to).")] = None,
    last: Annotated[str | None, typer.Option(
        "--to", help="Last payment day, YYYY-MM-DD (default: today). At most 92 days.")] = None,
    days: Annotated[int | None, typer.Option(
        "--days", help="Protection window, 7-15 days (default: the store's setting, 7).")
    ] = None,
    changes: Annotated[Path | None, typer.Option(
        "--changes", help="Price changes file (CSV: sku,effective_at,price; or YAML/JSON) "
                          "instead of the recorded price changes.")] = None,
    as_json: JsonOption = False,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Also write the claims here.")
                    ] = None,
    db: DbOption = None,
) -> None:
    """Which paid order lines saw a lower price within the window, and what each may claim."""
    from storeops.catalog.stores import resolve_store
    from storeops.common.cli_options import database_url
    from storeops.db.engine import session_factory
    from storeops.metrics.periods import parse_day
    from storeops.pricing.protection import report_to_json
    from storeops.pricing.protection_data import load_changes, store_report

    day_first = parse_day(first, "--from date") if first else None
    day_last = parse_day(last, "--to date") if last else None
    with session_factory(database_url(db))() as session:
        st = resolve_store(session, store)
        tz, name, currency = st.timezone, st.name, st.currency
        points = load_changes(changes, tz) if changes is not None else None
        report = store_report(session, st.id, tz, first=day_first, last=day_last,
                              skus=sku or (), days=days, changes=points)
    if xlsx is not None:
        from storeops.web.price_protection_page import write_claims_xlsx

        write_claims_xlsx(report, tz, cli_lang(), xlsx, currency=currency)
    if as_json:
        typer.echo(json.dumps(report_to_json(report, tz), ensure_ascii=False, indent=2))
        return
    typer.echo(_t("cli.summary", store=name, days=report.days, orders=report.orders,
                  lines=report.lines, amount=f"{report.amount:.2f}",
                  checked=report.lines_checked))
    for c in report.claims:
        typer.echo(_t("cli.claim", order=c.order, line=c.line_no, sku=c.sku, qty=c.qty,
                      paid=f"{c.unit_paid:.2f}", lowest=f"{c.lowest_price:.2f}",
                      at=c.lowest_at.astimezone(_zone(tz)).strftime("%Y-%m-%d %H:%M"),
                      amount=f"{c.amount:.2f}"))
    if xlsx is not None:
        typer.echo(_t("cli.written", path=str(xlsx)))


def _zone(tz: str) -> Any:
    from storeops.common.timeutil import zone

    return zone(tz)
