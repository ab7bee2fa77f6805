"""``storeops stock …``: receive, adjust, count, transfer, show, check, warehouses and safety
buffers. Each command is one unit of work (storeops.inventory.service does the work and the
locking); words come from the ``stock`` catalogs in the terminal's language."""

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

stock_app = typer.Typer(help="Stock per warehouse: receipts, adjustments, counts, transfers, "
                             "the ledger check.", no_args_is_help=True)
warehouse_app = typer.Typer(help="The store's warehouses.", no_args_is_help=True)
stock_app.add_typer(warehouse_app, name="warehouse")

SkuOption = Annotated[str, typer.Option("--sku", help="The SKU (JD SKU id).")]
WarehouseOption = Annotated[
    str | None,
    typer.Option("--warehouse", help="Warehouse code or name (default: the default warehouse)."),
]
ReasonOption = Annotated[
    str | None, typer.Option("--reason", help="Why (kept as the movement's note).")
]


def register(app: typer.Typer) -> None:
    """Add ``storeops stock …`` to the main app."""
    app.add_typer(stock_app, name="stock")


def _t(key: str, **params: Any) -> str:
    from storeops.web.i18n import translate

    return translate(cli_lang(), f"stock.{key}", **params)


def _store(session: Session, name: str | None) -> Store:
    from storeops.catalog.stores import resolve_store

    return resolve_store(session, name)


def _level_line(key: str, session: Session, store: Store, sku: str, warehouse: str,
                **params: Any) -> str:
    from storeops.inventory.service import stock_rows

    row = next(r for r in stock_rows(session, store.id, sku) if r["warehouse"] == warehouse)
    return _t(f"cli.{key}", sku=sku, warehouse=warehouse, on_hand=row["on_hand"],
              available=row["available"], **params)


def _warehouse_code(session: Session, level: Any) -> str:
    from storeops.inventory.models import Warehouse

    return session.get(Warehouse, level.warehouse_id).code


@stock_app.command("receive")
def receive_command(
    sku: SkuOption,
    qty: Annotated[int, typer.Option("--qty", help="Units received (> 0).")],
    store: StoreOption = None,
    warehouse: WarehouseOption = None,
    reason: ReasonOption = None,
    db: DbOption = None,
) -> None:
    """Goods arrive: on hand + N (a receipt movement)."""
    from storeops.inventory import service

    with command_unit_of_work(db) as session:
        st = _store(session, store)
        level = service.receive(session, st.id, sku, qty, warehouse=warehouse, actor=cli_actor(),
                                note=reason)
        typer.echo(_level_line("received", session, st, sku, _warehouse_code(session, level),
                               qty=qty))


@stock_app.command("adjust")
def adjust_command(
    sku: SkuOption,
    qty: Annotated[int, typer.Option("--qty", help="Change of on hand, + or - (e.g. -2).")],
    reason: Annotated[str, typer.Option("--reason", help="Why (damage, loss, found …).")],
    store: StoreOption = None,
    warehouse: WarehouseOption = None,
    db: DbOption = None,
) -> None:
    """On hand ± N with a reason (an adjustment movement)."""
    from storeops.inventory import service

    with command_unit_of_work(db) as session:
        st = _store(session, store)
        level = service.adjust(session, st.id, sku, qty, warehouse=warehouse, actor=cli_actor(),
                               note=reason)
        typer.echo(_level_line("adjusted", session, st, sku, _warehouse_code(session, level),
                               qty=f"{qty:+d}"))


@stock_app.command("count")
def count_command(
    sku: SkuOption,
    qty: Annotated[int, typer.Option("--qty", help="Units counted on the shelf (>= 0).")],
    store: StoreOption = None,
    warehouse: WarehouseOption = None,
    reason: ReasonOption = None,
    db: DbOption = None,
) -> None:
    """A stock count (盘点): on hand becomes the counted figure; the movement is the
    difference."""
    from storeops.inventory import service

    with command_unit_of_work(db) as session:
        st = _store(session, store)
        before = {r["warehouse"]: r["on_hand"] for r in service.stock_rows(session, st.id, sku)}
        level = service.count(session, st.id, sku, qty, warehouse=warehouse, actor=cli_actor(),
                              note=reason)
        code = _warehouse_code(session, level)
        typer.echo(_level_line("counted", session, st, sku, code,
                               qty=f"{qty - before.get(code, 0):+d}"))


@stock_app.command("transfer")
def transfer_command(
    sku: SkuOption,
    qty: Annotated[int, typer.Option("--qty", help="Units moved (> 0).")],
    src: Annotated[str, typer.Option("--from", help="Warehouse the goods leave.")],
    dst: Annotated[str, typer.Option("--to", help="Warehouse the goods go to.")],
    store: StoreOption = None,
    reason: ReasonOption = None,
    db: DbOption = None,
) -> None:
    """Move units between two warehouses (two transfer movements with one reference)."""
    from storeops.inventory import service

    with command_unit_of_work(db) as session:
        st = _store(session, store)
        a, b = service.transfer(session, st.id, sku, qty, from_warehouse=src, to_warehouse=dst,
                                actor=cli_actor(), note=reason)
        typer.echo(_t("cli.transferred", sku=sku, qty=qty, src=_warehouse_code(session, a),
                      dst=_warehouse_code(session, b), src_on_hand=a.on_hand,
                      dst_on_hand=b.on_hand))


@stock_app.command("safety")
def safety_command(
    sku: SkuOption,
    buffer: Annotated[int, typer.Option("--buffer", help="Units never offered for sale.")],
    store: StoreOption = None,
    warehouse: WarehouseOption = None,
    db: DbOption = None,
) -> None:
    """Set a SKU's safety buffer (安全库存) in a warehouse: available = on hand − reserved −
    buffer."""
    from storeops.inventory import service

    with command_unit_of_work(db) as session:
        st = _store(session, store)
        level = service.set_safety_buffer(session, st.id, sku, buffer, warehouse=warehouse)
        typer.echo(_level_line("safety_set", session, st, sku, _warehouse_code(session, level),
                               buffer=buffer))


@stock_app.command("show")
def show_command(
    store: StoreOption = None,
    sku: Annotated[str | None, typer.Option("--sku", help="Only this SKU.")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stock per SKU and warehouse: on hand, reserved, available."""
    from storeops.inventory.service import stock_rows

    with command_unit_of_work(db) as session:
        st = _store(session, store)
        rows = stock_rows(session, st.id, sku)
    if as_json:
        keys = ("sku", "warehouse", "on_hand", "reserved", "available")
        typer.echo(json.dumps([{k: r[k] for k in keys} for r in rows], ensure_ascii=False,
                              indent=2))
        return
    if not rows:
        typer.echo(_t("cli.no_rows", store=st.name))
        return
    from rich.console import Console
    from rich.table import Table

    cols = ("sku", "warehouse", "on_hand", "reserved", "safety_buffer", "available")
    table = Table(*(_t(f"col.{c}") for c in cols))
    for r in rows:
        table.add_row(*(str(r[c]) for c in cols))
    Console().print(table)


@stock_app.command("check")
def check_command(store: StoreOption = None, db: DbOption = None) -> None:
    """Exit 0 when every on-hand and reserved figure equals the sum of its movements and
    nothing is negative; otherwise exit 1 naming every discrepancy."""
    from sqlalchemy import func, select

    from storeops.inventory.models import StockLevel
    from storeops.inventory.service import check_details

    with command_unit_of_work(db) as session:
        store_id = _store(session, store).id if store else None
        found = check_details(session, store_id)
        query = select(func.count(StockLevel.id))
        if store_id is not None:
            query = query.where(StockLevel.store_id == store_id)
        levels = session.scalar(query) or 0
    if not found:
        typer.echo(_t("cli.check_ok", levels=levels))
        return
    lang = cli_lang()
    typer.echo(_t("cli.check_failed", n=len(found)), err=True)
    for d in found:
        typer.echo(f"  {d.localised(lang)}", err=True)
    raise typer.Exit(1)


@warehouse_app.command("add")
def warehouse_add(
    code: Annotated[str, typer.Option("--code", help="Short code, e.g. sh.")],
    name: Annotated[str, typer.Option("--name", help="Name shown, e.g. 上海仓.")],
    store: StoreOption = None,
    priority: Annotated[int, typer.Option("--priority",
                                          help="Allocation tries lower first.")] = 0,
    db: DbOption = None,
) -> None:
    """Add a warehouse to the store."""
    from storeops.inventory.service import add_warehouse

    with command_unit_of_work(db) as session:
        st = _store(session, store)
        wh = add_warehouse(session, st.id, code, name, priority=priority)
        typer.echo(_t("cli.warehouse_added", code=wh.code, name=wh.name, store=st.name))


@warehouse_app.command("list")
def warehouse_list(store: StoreOption = None, db: DbOption = None,
                   as_json: JsonOption = False) -> None:
    """The store's warehouses, default first, then by priority."""
    from storeops.inventory.service import list_warehouses

    with command_unit_of_work(db) as session:
        st = _store(session, store)
        rows = [{"code": w.code, "name": w.name, "default": w.is_default,
                 "priority": w.priority} for w in list_warehouses(session, st.id)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(*(_t(f"col.{c}") for c in ("code", "name", "default", "priority")))
    for r in rows:
        table.add_row(r["code"], r["name"], "✓" if r["default"] else "", str(r["priority"]))
    Console().print(table)


@stock_app.command("opening")
def opening_command(store: StoreOption = None, warehouse: WarehouseOption = None,
                    db: DbOption = None) -> None:
    """Take the products file's 库存 figures into the ledger: each SKU with a stock figure
    and no stock level yet gets it as on hand (one count movement). Safe to run again."""
    from storeops.inventory.service import adopt_product_stock

    with command_unit_of_work(db) as session:
        st = _store(session, store)
        n = adopt_product_stock(session, st.id, actor=cli_actor(), warehouse=warehouse)
        typer.echo(_t("cli.opening", n=n, store=st.name))


@stock_app.command("channel")
def channel_command(
    channel: Annotated[str, typer.Option("--channel", help="Channel, e.g. jd.")] = "jd",
    share: Annotated[int | None, typer.Option("--share", help="Percent of available stock "
                                                              "the channel shows (0–100).")] = None,
    buffer: Annotated[int, typer.Option("--buffer", help="Units held back from it.")] = 0,
    store: StoreOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Set (with --share) or show what a channel publishes: floor(available × share) −
    buffer per SKU, delisted at 0; lists the SKUs whose published quantity is out of date."""
    from storeops.catalog.models import Product
    from storeops.inventory.channel_sync import (
        channel_share,
        plan_channel_sync,
        set_channel_share,
    )

    with command_unit_of_work(db) as session:
        st = _store(session, store)
        if share is not None:
            set_channel_share(session, st.id, channel, share, buffer)
        pct, buf = channel_share(session, st.id, channel)
        due = [{"sku": session.get(Product, x.product_id).platform_sku_id,
                "wanted": x.wanted_qty, "published": x.published_qty, "listed": x.listed}
               for x in plan_channel_sync(session, st.id, channel)]
    if as_json:
        typer.echo(json.dumps({"channel": channel, "share_percent": pct, "buffer": buf,
                               "to_push": due}, ensure_ascii=False, indent=2))
        return
    typer.echo(_t("cli.channel", channel=channel, share=pct, buffer=buf, n=len(due)))
    for d in due:
        published = "-" if d["published"] is None else d["published"]
        typer.echo(f"  {d['sku']}: {published} → {d['wanted']}"
                   + ("" if d["listed"] else f" ({_t('cli.delisted')})"))
