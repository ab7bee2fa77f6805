"""``storeops price CART.json --promotions PROMOS.yaml [--at ISO-TIME] [--json]``: price a cart
with the best stack of a promotions file's offers (storeops.pricing.engine). Words come from the
``pricing`` catalogs in the terminal's language."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from storeops.common.cli_options import JsonOption, cli_lang

if TYPE_CHECKING:
    from storeops.pricing.model import PricingResult


def register(app: typer.Typer) -> None:
    """Add ``storeops price`` to the main app."""
    app.command("price")(price_command)


def _t(key: str, **params: Any) -> str:
    from storeops.web.i18n import translate

    return translate(cli_lang(), f"pricing.cli.{key}", **params)


def parse_at(value: str, tz: str | None = None) -> datetime:
    """An ISO 8601 time; without an offset it is in ``tz`` (Asia/Shanghai)."""
    from storeops.common.errors import StoreopsError
    from storeops.common.timeutil import DEFAULT_TIMEZONE, zone

    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise StoreopsError(f"--at {value}: not an ISO 8601 time such as "
                            "2026-06-18T20:00:00+08:00", key="pricing.bad_at",
                            value=value) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone(tz or DEFAULT_TIMEZONE))


def price_command(
    cart: Annotated[Path, typer.Argument(help="The cart: a JSON (or YAML) file with lines of "
                                         "sku, qty, price (and category), member_tier, "
                                         "group_buy.", show_default=False)],
    promotions: Annotated[Path, typer.Option(
        "--promotions", help="The promotions file (YAML or JSON): promotions, coupons, "
        "points; see docs/promotions.md.", show_default=False)],
    at: Annotated[str | None, typer.Option(
        "--at", help="Price at this time (ISO 8601; without an offset: the promotions file's "
        "timezone, Asia/Shanghai by default). "
        "Default: now.", show_default=False)] = None,
    as_json: JsonOption = False,
) -> None:
    """Price a cart: the lowest payable any allowed stack of the file's promotions, coupons
    and points reaches, line by line."""
    from storeops.common.timeutil import utcnow
    from storeops.pricing.engine import price_cart
    from storeops.pricing.spec import load_cart, parse_offers, read_data, result_to_json

    if at is not None:
        parse_at(at)  # a bad --at is said before the files are read
    data = read_data(promotions)
    offers = parse_offers(data, str(promotions))
    tz = data.get("timezone") if isinstance(data, dict) else None
    moment = parse_at(at, tz) if at is not None else utcnow()
    priced = price_cart(load_cart(cart), offers, moment)
    if as_json:
        typer.echo(json.dumps(result_to_json(priced), ensure_ascii=False, indent=2))
        return
    _print_table(priced, moment)


def _print_table(priced: PricingResult, moment: datetime) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from storeops.common.timeutil import DEFAULT_TIMEZONE, zone
    from storeops.pricing.spec import result_to_json

    data = result_to_json(priced)
    shown = moment.astimezone(zone(DEFAULT_TIMEZONE)).isoformat(timespec="minutes")
    table = Table(title=_t("title", at=shown), title_justify="left")
    table.add_column(_t("col_sku"))
    table.add_column(_t("col_qty"), justify="right")
    table.add_column(_t("col_list"), justify="right")
    table.add_column(_t("col_discounts"))
    table.add_column(_t("col_final"), justify="right")
    for line in data["lines"]:
        discounts = "\n".join(
            escape(f"{d['id']} −{d['amount']}" + (f" {d['text']}" if d.get("text") else ""))
            for d in line["discounts"])
        table.add_row(escape(line["sku"]), str(line["qty"]), line["list_amount"], discounts,
                      line["final_amount"])
    table.add_section()
    table.add_row(_t("goods_total"), "", data["goods_total"], "", "")
    table.add_row(_t("discount_total"), "", "", f"−{data['discount_total']}", "")
    table.add_row(f"[bold]{_t('payable')}[/]", "", "", "", f"[bold]{data['payable']}[/]")
    console = Console(highlight=False)
    console.print(table)
    if data["points_used"]:
        console.print(_t("points_used", points=data["points_used"]))
    if data["gifts"]:
        console.print(_t("gifts", gifts=", ".join(f"{g['sku']} × {g['qty']}"
                                                  for g in data["gifts"])))
    console.print(escape(_t("applied", ids=", ".join(data["applied"]))) if data["applied"]
                  else _t("none_applied"))
    for note in data["notes"]:
        console.print(escape(f"· {note}"))
