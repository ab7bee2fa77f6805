"""``storeops notify …``: the store's notification channels (DingTalk, WeCom, email).

``add`` keeps the webhook address and the DingTalk secret encrypted; ``list`` shows a masked
address only; ``test`` sends a test message to every channel at once and reports each one's
answer; ``send`` sends what is due now (what the worker does every minute). Nothing prints a
secret. Words come from the ``notify`` catalogs in the terminal's language.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

from storeops.common.cli_options import (
    DbOption,
    JsonOption,
    StoreOption,
    cli_actor,
    cli_lang,
    database_url,
)

notify_app = typer.Typer(help="Notification channels of a store: DingTalk and WeCom group "
                         "robots, email.", no_args_is_help=True)

ChannelOption = Annotated[int, typer.Option("--channel", help="The channel's id (see "
                                            "`storeops notify list`).", show_default=False)]


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root ``storeops`` command."""
    app.add_typer(notify_app, name="notify")


def _t(key: str, **params: Any) -> str:
    from storeops.web.i18n import translate

    return translate(cli_lang(), f"notify.cli.{key}", **params)


def _store(session: Any, store: str | None) -> Any:
    from storeops.catalog.stores import resolve_store

    return resolve_store(session, store)


@notify_app.command("add")
def add_command(
    kind: Annotated[str, typer.Option("--kind", help="dingtalk, wecom or email.",
                                      show_default=False)],
    target: Annotated[str, typer.Option(
        "--target", help="The robot's webhook address, or an email address.",
        show_default=False)],
    secret: Annotated[str | None, typer.Option(
        "--secret", help="DingTalk 加签 secret (SEC…); `-` reads it from standard input.",
        show_default=False)] = None,
    name: Annotated[str | None, typer.Option("--name", help="A name for lists.",
                                             show_default=False)] = None,
    lang: Annotated[str, typer.Option("--lang", help="Language of its messages: zh-CN or en."
                                      )] = "zh-CN",
    min_severity: Annotated[str | None, typer.Option(
        "--min-severity", help="Send only alerts at least this severe: info, warning or "
        "critical (default: all).", show_default=False)] = None,
    store: StoreOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add a channel: alerts, resolutions and reports of the store are sent to it."""
    from storeops.alerts import channels
    from storeops.db.engine import unit_of_work

    if secret == "-":
        secret = sys.stdin.readline().strip()
    url = database_url(db)
    with unit_of_work(url) as session:
        shop = _store(session, store)
        channel = channels.add_channel(session, url, shop.id, kind=kind, target=target,
                                       secret=secret, name=name, lang=lang,
                                       min_severity=min_severity, actor=cli_actor())
        view = next(v for v in channels.list_channels(session, shop.id) if v.id == channel.id)
    if as_json:
        typer.echo(json.dumps(view.as_json(), ensure_ascii=False))
        return
    typer.echo(_t("added", id=view.id, kind=_t(f"kind_{view.kind}"), target=view.target_hint,
                  store=shop.name, signed=_t("signed") if view.has_secret else ""))


@notify_app.command("list")
def list_command(store: StoreOption = None, db: DbOption = None,
                 as_json: JsonOption = False) -> None:
    """The store's channels: kind, masked address, language, last success and last error."""
    from storeops.alerts import channels
    from storeops.db.engine import unit_of_work

    url = database_url(db)
    with unit_of_work(url) as session:
        shop = _store(session, store)
        views = channels.list_channels(session, shop.id)
    if as_json:
        typer.echo(json.dumps({"store": shop.name, "channels": [v.as_json() for v in views]},
                              ensure_ascii=False, indent=2))
        return
    if not views:
        typer.echo(_t("none", store=shop.name))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=_t("title", store=shop.name), title_justify="left")
    for col in ("col_id", "col_kind", "col_name", "col_target", "col_lang", "col_severity",
                "col_state", "col_last_ok", "col_last_error"):
        table.add_column(_t(col))
    for v in views:
        table.add_row(str(v.id), _t(f"kind_{v.kind}"), escape(v.name), escape(v.target_hint),
                      v.lang, v.min_severity or _t("all"),
                      _t("enabled") if v.enabled else _t("disabled"),
                      _when(v.last_ok_at), escape(_error(v.last_error, v.last_error_at)))
    console = Console(highlight=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=200)  # a pipe or a file: whole lines
    console.print(table)


def _when(moment: Any) -> str:
    if moment is None:
        return "-"
    from storeops.common.timeutil import DEFAULT_TIMEZONE, zone

    return moment.astimezone(zone(DEFAULT_TIMEZONE)).strftime("%Y-%m-%d %H:%M")


def _error(text: str | None, at: Any) -> str:
    if not text:
        return "-"
    return f"{_when(at)} {text}"[:200]


@notify_app.command("test")
def test_command(
    channel: Annotated[int | None, typer.Option(
        "--channel", help="Only this channel (default: every channel of the store).",
        show_default=False)] = None,
    store: StoreOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Send a test message to every channel of the store now and say what each answered.
    Exits 1 when a channel did not take it."""
    results = run_test(database_url(db), store, channel)
    failed = [r for r in results["channels"] if not r["ok"]]
    if as_json:
        typer.echo(json.dumps(results, ensure_ascii=False, indent=2))
    elif not results["channels"]:
        typer.echo(_t("none", store=results["store"]))
    else:
        for r in results["channels"]:
            key = "test_ok" if r["ok"] else "test_failed"
            typer.echo(_t(key, id=r["id"], kind=_t(f"kind_{r['kind']}"), name=r["name"],
                          error=r["error"] or ""))
    if failed:
        raise typer.Exit(1)


def run_test(db_url: str, store: str | None, channel_id: int | None = None) -> dict[str, Any]:
    """Queue a test message for the channels (all, or one) and send each at once."""
    from storeops.alerts import channels, delivery
    from storeops.alerts.models import NotifyDelivery
    from storeops.common.timeutil import utcnow
    from storeops.db.engine import unit_of_work

    with unit_of_work(db_url) as session:
        shop = _store(session, store)
        store_name = shop.name
        rows = []
        views = {v.id: v for v in channels.list_channels(session, shop.id)}
        if channel_id is not None:
            chosen = [channels.get_channel(session, shop.id, channel_id)]
        else:
            from sqlalchemy import select

            from storeops.alerts.models import NotifyChannel

            chosen = list(session.scalars(select(NotifyChannel)
                                          .where(NotifyChannel.store_id == shop.id)
                                          .order_by(NotifyChannel.id)))
        for ch in chosen:
            d = delivery.enqueue_test(session, ch, store_name)
            rows.append((ch.id, d.id))
    out = []
    for cid, did in rows:
        status = delivery.send_one(db_url, did, utcnow())
        with unit_of_work(db_url) as session:
            d = session.get(NotifyDelivery, did)
            error = d.last_error if d is not None and status != delivery.SENT else None
        v = views[cid]
        out.append({"id": cid, "kind": v.kind, "name": v.name, "target": v.target_hint,
                    "ok": status == delivery.SENT, "error": error})
    return {"store": store_name, "channels": out}


@notify_app.command("enable")
def enable_command(channel: ChannelOption, store: StoreOption = None,
                   db: DbOption = None) -> None:
    """Send to this channel again (what waited while it was disabled goes out)."""
    _set_enabled(db, store, channel, True)


@notify_app.command("disable")
def disable_command(channel: ChannelOption, store: StoreOption = None,
                    db: DbOption = None) -> None:
    """Stop sending to this channel; its messages wait until it is enabled again."""
    _set_enabled(db, store, channel, False)


def _set_enabled(db: str | None, store: str | None, channel_id: int, enabled: bool) -> None:
    from storeops.alerts import channels
    from storeops.db.engine import unit_of_work

    with unit_of_work(database_url(db)) as session:
        shop = _store(session, store)
        ch = channels.set_enabled(session, shop.id, channel_id, enabled)
        name = channels.channel_name(ch)
    typer.echo(_t("enabled_one" if enabled else "disabled_one", id=channel_id, name=name))


@notify_app.command("remove")
def remove_command(channel: ChannelOption, store: StoreOption = None,
                   db: DbOption = None) -> None:
    """Remove a channel, with the messages still waiting for it."""
    from storeops.alerts import channels
    from storeops.db.engine import unit_of_work

    with unit_of_work(database_url(db)) as session:
        shop = _store(session, store)
        ch = channels.remove_channel(session, shop.id, channel)
        name = channels.channel_name(ch)
    typer.echo(_t("removed", id=channel, name=name))


@notify_app.command("send")
def send_command(store: StoreOption = None, db: DbOption = None,
                 as_json: JsonOption = False) -> None:
    """Send every message that is due now (the worker does this every minute)."""
    from storeops.alerts import delivery
    from storeops.common.timeutil import utcnow
    from storeops.db.engine import unit_of_work

    url = database_url(db)
    store_id = None
    if store is not None:
        with unit_of_work(url) as session:
            store_id = _store(session, store).id
    sent = delivery.send_due(url, utcnow(), store_id=store_id)
    if as_json:
        typer.echo(json.dumps({"sent": sent}))
        return
    typer.echo(_t("sent", sent=sent))
