"""``storeops order …``: look at an order and its timeline, approve, hold, cancel, merge and
split it, set the store's review rules and its buyer blacklist. Each command is one unit of
work (storeops.orders.service does the work); words come from the ``orders`` catalogs in the
terminal's language. ``--order`` is the platform order id (JD's 订单编号)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from storeops.common.cli_options import (
    DbOption,
    JsonOption,
    StoreOption,
    cli_actor,
    cli_lang,
    command_unit_of_work,
)

if TYPE_CHECKING:

    from sqlalchemy.orm import Session

    from storeops.catalog.models import Store
    from storeops.orders.models import Order

order_app = typer.Typer(help="Orders: show with timeline, approve, hold, cancel, merge, split; "
                             "review rules and the buyer blacklist.", no_args_is_help=True)
blacklist_app = typer.Typer(help="Buyers whose orders are always held for review.",
                            no_args_is_help=True)
order_app.add_typer(blacklist_app, name="blacklist")

OrderOption = Annotated[str, typer.Option("--order", help="Platform order id (JD 订单编号).")]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why (on the timeline).")]
BuyerOption = Annotated[str, typer.Option("--buyer", help="The buyer's platform account.")]


def register(app: typer.Typer) -> None:
    """Add ``storeops order …`` to the main app."""
    app.add_typer(order_app, name="order")


def _t(key: str, **params: Any) -> str:
    from storeops.web.i18n import translate

    return translate(cli_lang(), f"orders.{key}", **params)


def _store(session: Session, name: str | None) -> Store:
    from storeops.catalog.stores import resolve_store

    return resolve_store(session, name)


def _order(session: Session, store: Store, order_id: str) -> Order:
    from storeops.orders.service import order_by_platform_id

    return order_by_platform_id(session, store.id, order_id)


def _echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _local(iso: str | None, tz: str) -> str:
    from datetime import datetime

    from storeops.common.timeutil import zone

    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone(zone(tz)).strftime("%Y-%m-%d %H:%M:%S")


def _stage(value: str | None) -> str:
    return _t(f"stage.{value}") if value else "-"


def _event_line(event: dict[str, Any], tz: str) -> str:
    from storeops.web.i18n import catalog

    kind = event["kind"]
    label = catalog(cli_lang()).get(f"orders.event.{kind}") or kind
    parts = [_local(event["at"], tz), label]
    if event["from_stage"] or event["to_stage"]:
        parts.append(f"{_stage(event['from_stage'])} → {_stage(event['to_stage'])}")
    parts.append(f"[{event['actor']}]")
    if event["reason"]:
        parts.append(event["reason"])
    data = event["data"] or {}
    if kind == "updated" and data.get("fields"):
        parts.append(", ".join(data["fields"]))
    return "  ".join(parts)


def print_detail(detail: dict[str, Any], tz: str) -> None:
    """The order as text: its facts, lines, parcels and timeline."""
    rows = [
        ("order", detail["order"]), ("store", detail["store"]),
        ("stage", _stage(detail["stage"])), ("status", detail["status"]),
        ("channel", detail["channel"]), ("placed_at", _local(detail["placed_at"], tz)),
        ("paid_at", _local(detail["paid_at"], tz)), ("due_at", _local(detail["due_at"], tz)),
        ("amount", f"¥{detail['paid']}" if detail["paid"] is not None else "-"),
        ("buyer", detail["buyer"] or "-"),
        ("receiver", " ".join(x for x in (detail["receiver_name"], detail["receiver_phone"])
                              if x) or "-"),
        ("address", detail["ship_address"] or "-"), ("remark", detail["buyer_remark"] or "-"),
    ]
    if detail["hold_reason"]:
        rows.append(("hold_reason", detail["hold_reason"]))
    for key, value in rows:
        typer.echo(f"{_t('cli.' + key)}: {value}")
    typer.echo(f"{_t('cli.lines')}:")
    for line in detail["lines"]:
        typer.echo(f"  {line['line_no']}. {line['sku']} {line['title'] or ''} × {line['qty']}"
                   f"  ¥{line['amount']}")
    if detail["shipments"]:
        typer.echo(f"{_t('cli.shipments')}:")
        for p in detail["shipments"]:
            units = ", ".join(f"{x['line_no']}×{x['qty']}" for x in p["lines"])
            extra = " ".join(x for x in (p["warehouse"], p["carrier_id"], p["waybill"]) if x)
            others = [o for o in p["orders"] if o != detail["order"]]
            typer.echo(f"  #{p['id']} {p['state']} {extra} [{units}]"
                       + (f" + {', '.join(others)}" if others else ""))
    typer.echo(f"{_t('cli.timeline')}:")
    for event in detail["timeline"]:
        typer.echo("  " + _event_line(event, tz))


@order_app.command("show")
def show(order: OrderOption, store: StoreOption = None, db: DbOption = None,
         as_json: JsonOption = False) -> None:
    """An order: its stage, JD state, buyer (masked), lines, parcels and timeline."""
    from storeops.orders.service import order_detail

    with command_unit_of_work(db) as session:
        shop = _store(session, store)
        detail = order_detail(session, _order(session, shop, order))
        if as_json:
            _echo_json(detail)
        else:
            print_detail(detail, shop.timezone)


@order_app.command("approve")
def approve(order: OrderOption, store: StoreOption = None, db: DbOption = None) -> None:
    """Approve a held order: its stock is reserved and its parcels planned (out of stock:
    it stays held and says which SKU is short)."""
    from storeops.orders import service as svc

    with command_unit_of_work(db) as session:
        found = _order(session, _store(session, store), order)
        svc.approve(session, found, actor=cli_actor())
        if found.hold_reason:
            typer.echo(_t("cli.still_held", order=order, reason=found.hold_reason))
            raise typer.Exit(1)
        typer.echo(_t("cli.approved", order=order, stage=_stage(found.stage)))


@order_app.command("hold")
def hold(order: OrderOption, reason: Annotated[str, typer.Option(
        "--reason", help="Why it waits for a person (on the order and its timeline).")],
         store: StoreOption = None, db: DbOption = None) -> None:
    """Hold an order for a person (an allocated one gives its stock back)."""
    from storeops.orders import service as svc

    with command_unit_of_work(db) as session:
        found = _order(session, _store(session, store), order)
        svc.hold(session, found, reason, actor=cli_actor())
        typer.echo(_t("cli.held", order=order, reason=reason))


@order_app.command("cancel")
def cancel(order: OrderOption, reason: ReasonOption = None, store: StoreOption = None,
           db: DbOption = None) -> None:
    """Cancel an order; the stock it holds goes back."""
    from storeops.orders import service as svc

    with command_unit_of_work(db) as session:
        found = _order(session, _store(session, store), order)
        svc.cancel(session, found, reason or "cancelled from the command line", actor=cli_actor())
        typer.echo(_t("cli.cancelled", order=order))


@order_app.command("merge")
def merge(orders: Annotated[list[str], typer.Option(
        "--order", help="An order to merge (give two or more).")],
          store: StoreOption = None, db: DbOption = None) -> None:
    """Ship the open orders of one buyer and address in one parcel."""
    from storeops.orders import service as svc

    with command_unit_of_work(db) as session:
        shop = _store(session, store)
        found = [_order(session, shop, o) for o in orders]
        shipment = svc.merge(session, found, actor=cli_actor())
        typer.echo(_t("cli.merged", orders=", ".join(orders), shipment=shipment.id))


@order_app.command("split")
def split(order: OrderOption, by: Annotated[str | None, typer.Option(
        "--by", help="warehouse: a parcel per warehouse; stock: what is in stock now, "
                     "and the rest.")] = None,
          parcels: Annotated[list[str] | None, typer.Option(
              "--parcel", help="A parcel as LINE:QTY,LINE:QTY (order line numbers); "
                               "give one per parcel.")] = None,
          store: StoreOption = None, db: DbOption = None) -> None:
    """Split an order over several parcels."""
    from sqlalchemy import select

    from storeops.common.errors import StoreopsError
    from storeops.orders import service as svc
    from storeops.orders.models import OrderLine

    if (by is None) == (not parcels):
        raise StoreopsError("give either --by warehouse|stock or --parcel (two or more)",
                            key="orders.split_how")
    with command_unit_of_work(db) as session:
        found = _order(session, _store(session, store), order)
        if by == "warehouse":
            shipments = svc.split_by_warehouse(session, found, actor=cli_actor())
        elif by == "stock":
            shipments = svc.split_by_stock(session, found, actor=cli_actor())
        elif by is not None:
            raise StoreopsError(f"--by is warehouse or stock, not {by!r}",
                                key="orders.split_how")
        else:
            ids = dict(session.execute(select(OrderLine.line_no, OrderLine.id).where(
                OrderLine.order_id == found.id)).all())
            groups = []
            for text in parcels or []:
                group: dict[int, int] = {}
                for part in text.split(","):
                    no, _, qty = part.strip().partition(":")
                    try:
                        line_no, units = int(no), int(qty)
                    except ValueError:
                        raise StoreopsError(
                            f"a parcel is LINE:QTY,LINE:QTY, not {text!r}",
                            key="orders.bad_parcel", value=text) from None
                    group[ids.get(line_no, -line_no)] = group.get(ids.get(
                        line_no, -line_no), 0) + units
                groups.append(group)
            shipments = svc.split(session, found, groups, actor=cli_actor())
        typer.echo(_t("cli.split", order=order, count=len(shipments)))


def _limit(value: str | None, field: str, *, money: bool = False) -> tuple[bool, int | None]:
    """(given, value): "none"/"off" clears a limit."""
    from storeops.common.errors import StoreopsError
    from storeops.common.money import parse_decimal, to_cents

    if value is None:
        return False, None
    if value.strip().lower() in ("none", "off", "-", ""):
        return True, None
    try:
        number = parse_decimal(value) if money else int(value)
    except (ValueError, ArithmeticError, StoreopsError):
        number = None
    if number is None or number < 0:
        raise StoreopsError(f"{field} must be a number of at least 0, not {value!r}",
                            key="orders.bad_limit", field=field, value=value)
    return True, to_cents(number) if money else int(number)


def _brushing(value: str | None) -> tuple[bool, int | None, int | None]:
    from storeops.common.errors import StoreopsError

    if value is None:
        return False, None, None
    if value.strip().lower() in ("none", "off", "-", ""):
        return True, None, None
    n, sep, h = value.partition("/")
    try:
        orders, hours = int(n), int(h)
    except ValueError:
        orders = hours = 0
    if not sep or orders < 2 or hours < 1:
        raise StoreopsError(f"brushing is N/H (N ≥ 2 orders to one address within H ≥ 1 "
                            f"hours), not {value!r}", key="orders.bad_brushing", value=value)
    return True, orders, hours


def settings_dict(row: Any) -> dict[str, Any]:
    from storeops.common.money import from_cents

    return {
        "auto_approve": row.auto_approve, "hold_on_remark": row.hold_on_remark,
        "hold_on_incomplete_address": row.hold_on_incomplete_address,
        "max_amount": str(from_cents(row.max_amount_cents))
        if row.max_amount_cents is not None else None,
        "max_quantity": row.max_quantity,
        "brushing": f"{row.brushing_orders}/{row.brushing_hours}"
        if row.brushing_orders and row.brushing_hours else None,
        "ship_sla_hours": row.ship_sla_hours, "unpaid_hold_minutes": row.unpaid_hold_minutes,
    }


@order_app.command("review-settings")
def review_settings(
    store: StoreOption = None,
    auto_approve: Annotated[bool | None, typer.Option(
        "--auto-approve/--no-auto-approve", help="Approve plain orders by themselves.",
        show_default=False)] = None,
    hold_on_remark: Annotated[bool | None, typer.Option(
        "--hold-on-remark/--no-hold-on-remark", help="Hold orders with a buyer remark.",
        show_default=False)] = None,
    hold_on_address: Annotated[bool | None, typer.Option(
        "--hold-on-incomplete-address/--no-hold-on-incomplete-address",
        help="Hold orders missing province, city, street or phone.",
        show_default=False)] = None,
    max_amount: Annotated[str | None, typer.Option(
        "--max-amount", help="Hold orders paying more (yuan; 'none' clears).")] = None,
    max_quantity: Annotated[str | None, typer.Option(
        "--max-quantity", help="Hold orders of more units ('none' clears).")] = None,
    brushing: Annotated[str | None, typer.Option(
        "--brushing", help="N/H: hold the N-th order to one address within H hours "
                           "('off' clears).")] = None,
    ship_sla_hours: Annotated[int | None, typer.Option(
        "--ship-sla-hours", help="Ship within this many hours of payment (1-48).")] = None,
    unpaid_hold_minutes: Annotated[int | None, typer.Option(
        "--unpaid-hold-minutes", help="Minutes an unpaid own-channel order holds stock.",
        min=1)] = None,
    db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """Show the store's review rules (审单规则), or change the ones given."""
    from storeops.orders.models import ReviewSettings

    amount = _limit(max_amount, "--max-amount", money=True)
    quantity = _limit(max_quantity, "--max-quantity")
    brush = _brushing(brushing)
    if ship_sla_hours is not None:
        from storeops.orders.sla import check_sla_hours

        check_sla_hours(ship_sla_hours)
    with command_unit_of_work(db) as session:
        shop = _store(session, store)
        row = session.get(ReviewSettings, shop.id)
        changes: dict[str, Any] = {
            k: v for k, v in {
                "auto_approve": auto_approve, "hold_on_remark": hold_on_remark,
                "hold_on_incomplete_address": hold_on_address,
                "ship_sla_hours": ship_sla_hours, "unpaid_hold_minutes": unpaid_hold_minutes,
            }.items() if v is not None}
        if amount[0]:
            changes["max_amount_cents"] = amount[1]
        if quantity[0]:
            changes["max_quantity"] = quantity[1]
        if brush[0]:
            changes["brushing_orders"], changes["brushing_hours"] = brush[1], brush[2]
        if row is None:
            row = ReviewSettings(store_id=shop.id, auto_approve=True, hold_on_remark=True,
                                 hold_on_incomplete_address=True, ship_sla_hours=24,
                                 unpaid_hold_minutes=30)
            if changes:
                session.add(row)
        for key, value in changes.items():
            setattr(row, key, value)
        session.flush()
        data = {"store": shop.name, **settings_dict(row)}
        if as_json:
            _echo_json(data)
            return
        if changes:
            typer.echo(_t("cli.settings_saved", store=shop.name))
        for key, value in data.items():
            typer.echo(f"{key}: {'-' if value is None else value}")


@blacklist_app.command("add")
def blacklist_add(buyer: BuyerOption, reason: ReasonOption = None, store: StoreOption = None,
                  db: DbOption = None) -> None:
    """Hold every order of this buyer for review."""
    from sqlalchemy import select

    from storeops.orders.models import BuyerBlacklist

    with command_unit_of_work(db) as session:
        shop = _store(session, store)
        row = session.scalar(select(BuyerBlacklist).where(
            BuyerBlacklist.store_id == shop.id, BuyerBlacklist.platform_account == buyer))
        if row is None:
            session.add(BuyerBlacklist(store_id=shop.id, platform_account=buyer,
                                       reason=reason))
        elif reason:
            row.reason = reason
        typer.echo(_t("cli.blacklist_added", buyer=buyer, store=shop.name))


@blacklist_app.command("remove")
def blacklist_remove(buyer: BuyerOption, store: StoreOption = None,
                     db: DbOption = None) -> None:
    """Take a buyer off the blacklist."""
    from sqlalchemy import select

    from storeops.common.errors import StoreopsError
    from storeops.orders.models import BuyerBlacklist

    with command_unit_of_work(db) as session:
        shop = _store(session, store)
        row = session.scalar(select(BuyerBlacklist).where(
            BuyerBlacklist.store_id == shop.id, BuyerBlacklist.platform_account == buyer))
        if row is None:
            raise StoreopsError(f"buyer {buyer} is not on the blacklist of store {shop.name!r}",
                                key="orders.not_blacklisted", buyer=buyer, store=shop.name)
        session.delete(row)
        typer.echo(_t("cli.blacklist_removed", buyer=buyer, store=shop.name))


@blacklist_app.command("list")
def blacklist_list(store: StoreOption = None, db: DbOption = None,
                   as_json: JsonOption = False) -> None:
    """The store's blacklisted buyers."""
    from sqlalchemy import select

    from storeops.orders.models import BuyerBlacklist

    with command_unit_of_work(db) as session:
        shop = _store(session, store)
        rows = session.scalars(select(BuyerBlacklist).where(BuyerBlacklist.store_id == shop.id)
                               .order_by(BuyerBlacklist.platform_account)).all()
        data = [{"buyer": r.platform_account, "reason": r.reason,
                 "since": r.created_at.isoformat() if r.created_at else None} for r in rows]
        if as_json:
            _echo_json(data)
            return
        if not data:
            typer.echo(_t("cli.blacklist_empty", store=shop.name))
        for item in data:
            typer.echo(f"{item['buyer']}  {item['reason'] or ''}".rstrip())
