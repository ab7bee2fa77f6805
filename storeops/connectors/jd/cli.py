"""``storeops jd …``: connect a store, sync its orders, run the JOS simulator."""

from __future__ import annotations

from typing import Annotated

import typer

from storeops.common.cli_options import DbOption, JsonOption, database_url

jd_app = typer.Typer(help="JD Open Platform (JOS): connect a store, sync its orders, simulate"
                          " the gateway.", no_args_is_help=True)

StoreRequired = Annotated[str, typer.Option("--store", help="Store name.")]


def register(app: typer.Typer) -> None:
    """Add ``storeops jd …`` to the main app."""
    app.add_typer(jd_app, name="jd")


def _t(key: str, **params: object) -> str:
    from storeops.common.cli_options import cli_lang
    from storeops.web.i18n import translate

    return translate(cli_lang(), f"jd.cli.{key}", **params)


@jd_app.command("connect")
def connect(
    store: StoreRequired,
    app_key: Annotated[str, typer.Option("--app-key", help="The JOS app key.")],
    app_secret: Annotated[str, typer.Option("--app-secret",
                                            help="The app secret (stored encrypted).")],
    access_token: Annotated[str, typer.Option("--access-token",
                                              help="The store's access token (stored"
                                                   " encrypted).")],
    gateway: Annotated[str | None, typer.Option(
        "--gateway", help="Gateway URL (default https://api.jd.com/routerjson).",
        show_default=False)] = None,
    db: DbOption = None,
) -> None:
    """Connect a store to JD (created if absent: platform jd, Asia/Shanghai, CNY); the
    secret and the token are encrypted at rest and never printed."""
    from storeops.connectors.jd.models import JD_GATEWAY
    from storeops.connectors.jd.sync import connect_store

    found, created = connect_store(database_url(db), store, app_key=app_key, app_secret=app_secret,
                                   access_token=access_token, gateway=gateway)
    typer.echo(_t("connected_new" if created else "connected", store=found.name,
                  app_key=app_key.strip(), gateway=(gateway or JD_GATEWAY).strip()))


def _parse_since(text: str | None):  # noqa: ANN202 - datetime | None, imported lazily
    if not text:
        return None
    from datetime import datetime

    from storeops.common.errors import StoreopsError
    from storeops.connectors.jd.signing import CHINA

    raw = text.strip().replace(" ", "T", 1)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise StoreopsError(f"--since is not an ISO time: {text!r}", key="jd.bad_since",
                            value=text) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA)


@jd_app.command("sync")
def sync(
    store: StoreRequired,
    since: Annotated[str | None, typer.Option(
        "--since", help="Pull orders modified since this ISO time (China time unless it has"
                        " an offset); default: where the last sync ended.",
        show_default=False)] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Pull the store's orders from JD by modified time and take them in."""
    import json

    from storeops.connectors.jd.sync import sync_store

    start = _parse_since(since)
    result = sync_store(database_url(db), store, since=start)
    if as_json:
        typer.echo(json.dumps(result.as_json(), ensure_ascii=False, indent=2))
        return
    typer.echo(_t("synced", store=result.store, fetched=result.fetched,
                  created=result.created, updated=result.updated,
                  unchanged=result.unchanged, skipped=result.skipped,
                  seconds=f"{result.seconds:.1f}"))
    if result.synced_until:
        from storeops.connectors.jd.signing import jd_timestamp

        typer.echo(_t("synced_until", until=jd_timestamp(result.synced_until)))
    for row in result.skipped_orders:
        typer.echo(_t("skipped_order", order=row["order_id"] or "?",
                      field=row["field"] or "-", reason=_reason(row["reason"])))


# MalformedOrder's reasons (storeops.connectors.jd.mapping), said in the terminal's language.
_REASONS = (
    (r"^missing$", "missing"), (r"^no items$", "no_items"), (r"^not an object$", "not_object"),
    (r"^not an amount: (?P<value>.*)$", "not_amount"),
    (r"^more than two decimals: (?P<value>.*)$", "decimals"),
    (r"^not a time: (?P<value>.*)$", "not_time"),
    (r"^unknown state (?P<value>.*)$", "unknown_state"),
    (r"^not a quantity: (?P<value>.*)$", "not_quantity"),
)


def _reason(text: str) -> str:
    import re

    for pattern, key in _REASONS:
        found = re.match(pattern, text)
        if found:
            return _t(f"reasons.{key}", **found.groupdict())
    return text


@jd_app.command("simulate")
def simulate(
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")],
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    rate_limit: Annotated[str | None, typer.Option(
        "--rate-limit", help="Calls per second before gateway code 2 (e.g. 50 or 50/s).",
        show_default=False)] = None,
    app_key: Annotated[str | None, typer.Option("--app-key", show_default=False,
                                                help="App key to accept.")] = None,
    app_secret: Annotated[str | None, typer.Option("--app-secret", show_default=False,
                                                   help="App secret to sign with.")] = None,
    access_token: Annotated[str | None, typer.Option("--access-token", show_default=False,
                                                     help="Access token to accept.")] = None,
    orders_per_minute: Annotated[float, typer.Option(
        "--orders-per-minute", help="New orders per minute in the live stream.")] = 6.0,
    history: Annotated[int, typer.Option(
        "--history", help="Orders made on start, over the last 3 days.")] = 300,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 7,
) -> None:
    """Serve a JOS gateway simulator (orders of the demo store arrive live) until Ctrl-C."""
    import threading
    from datetime import timedelta

    from storeops.common.errors import StoreopsError
    from storeops.common.timeutil import utcnow
    from storeops.connectors.jd import simulator as sim

    rate = None
    if rate_limit:
        try:
            rate = float(rate_limit.strip().removesuffix("/s"))
        except ValueError:
            raise StoreopsError(f"--rate-limit is not a number of calls per second:"
                                f" {rate_limit!r}", key="jd.bad_rate", value=rate_limit) from None
        if rate <= 0:
            raise StoreopsError(f"--rate-limit must be above 0: {rate_limit!r}",
                                key="jd.bad_rate", value=rate_limit)
    gateway = sim.JosSimulator(
        app_key=app_key or sim.DEFAULT_APP_KEY, app_secret=app_secret or sim.DEFAULT_APP_SECRET,
        access_token=access_token or sim.DEFAULT_ACCESS_TOKEN, rate_limit=rate, seed=seed)
    now = utcnow()
    if history > 0:
        gateway.generate(history, now - timedelta(days=3), now)
    try:
        url = gateway.start(host, port)
    except OSError as exc:
        raise StoreopsError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                            key="jd.cannot_listen", host=host, port=port,
                            reason=exc.strerror or str(exc)) from None
    gateway.start_stream(orders_per_minute)
    typer.echo(_t("simulating", url=url, orders=len(gateway.orders),
                  per_minute=f"{orders_per_minute:g}",
                  rate=f"{rate:g}/s" if rate else "-"))
    if app_secret is None and access_token is None:
        # the simulator's own demo credentials, not anybody's secret
        typer.echo(_t("connect_hint", url=url, app_key=gateway.app_key,
                      app_secret=sim.DEFAULT_APP_SECRET, access_token=gateway.access_token))
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        gateway.stop()
