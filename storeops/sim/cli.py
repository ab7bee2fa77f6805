"""``storeops demo``: build the demo store, make a login, serve the cockpit."""

from __future__ import annotations

import errno
import shlex
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from storeops.common.cli_options import DbOption, cli_lang
from storeops.common.errors import StoreopsError

STAGES = {
    "generate": "生成模拟数据 / generating",
    "write": "写入商品与客户 / products, customers",
    "orders": "写入订单与退款 / orders, refunds",
    "traffic": "写入流量与广告 / traffic, ads",
    "targets": "设置月度目标 / monthly targets",
    "promotions": "促销与价格底线 / promotions, price floors",
    "warehouse": "生成分析快照 / analytics snapshot",
    "watch": "检查预警规则、制定明年目标 / alert rules, next year's plan",
}


def check_can_listen(host: str, port: int) -> None:
    """Raise StoreopsError unless a server could listen on host:port now.

    Building the demo takes a minute; a port another server holds should stop it before, not
    after. SO_REUSEADDR as Uvicorn sets it: a port left in TIME_WAIT is free, one with a
    listener is not."""
    from storeops.web.i18n import translate

    lang = cli_lang()
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StoreopsError(translate(lang, "cli_demo.cannot_listen", host=host, port=port,
                                      reason=exc.strerror)) from exc
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            busy = exc.errno == errno.EADDRINUSE
            key = "cli_demo.port_busy" if busy else "cli_demo.cannot_listen"
            raise StoreopsError(translate(lang, key, host=host, port=port,
                                          reason=exc.strerror)) from exc


def demo_command(
    db: DbOption = None,
    days: Annotated[int, typer.Option("--days", min=1, max=1100,
                                      help="Days of history to simulate.")] = 180,
    end: Annotated[str | None, typer.Option(
        "--end", help="Last simulated day, YYYY-MM-DD (default: today, up to the current hour).",
    )] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed: the same seed, the same store.")] = 7,
    skus: Annotated[int, typer.Option("--skus", min=5, max=5000, help="Number of SKUs.")] = 300,
    password: Annotated[str | None, typer.Option(
        "--password", help="Password of the demo user (default: a new random one each run).",
    )] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535,
                                      help="Port to listen on.")] = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Build only; do not serve.")] = False,
    live: Annotated[bool, typer.Option(
        "--live/--no-live",
        help="While serving, connect the store to a JOS simulator started here and sync "
        "its new orders every minute.")] = True,
) -> None:
    """Build the demo store (rebuilt from scratch on every run), print the login, serve it."""
    from rich.console import Console
    from rich.panel import Panel
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from storeops.accounts.passwords import check_password_rules
    from storeops.config import resolve_db_url
    from storeops.db.migrate import ensure_schema
    from storeops.metrics.periods import parse_day
    from storeops.metrics.warehouse import refresh
    from storeops.sim.demo import DEMO_STORE, prepare_demo_login, reset_live_data
    from storeops.sim.watch import seed_demo_watch
    from storeops.sim.writer import build_demo_store

    if password is not None:  # refuse before minutes of work, not after
        check_password_rules(password)
    if not no_serve:
        check_can_listen(host, port)
    end_day = parse_day(end, "--end") if end else None
    console = Console()
    url = resolve_db_url(db)
    ensure_schema(url)
    reset_live_data(url)  # what live orders of an earlier run added
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
        console=console, transient=False,
    ) as bar:
        task = bar.add_task("演示店铺 / demo store", total=len(STAGES))
        seen: list[str] = []

        def step(stage: str) -> None:
            if seen:
                bar.advance(task)
            seen.append(stage)
            bar.update(task, description=STAGES.get(stage, stage))

        stats = build_demo_store(url, name=DEMO_STORE, days=days, end=end_day, seed=seed,
                                 skus=skus, replace=True, progress=step)
        # Built now rather than on the first page view, which would otherwise wait for it.
        step("warehouse")
        refresh(url, stats.store_id)
        step("watch")
        watch = seed_demo_watch(url, stats.store_id, stats.last_day)
        bar.update(task, completed=len(STAGES), description="完成 / done")
    login = prepare_demo_login(url, password)
    action = "rebuilt" if stats.replaced else "built"
    console.print(
        f"demo store {stats.store!r} {action}: {stats.first_day}..{stats.last_day}, "
        f"{stats.products} SKUs, {stats.orders:,} orders, {stats.customers:,} customers, "
        f"{stats.refunds:,} refunds, {stats.traffic_rows:,} traffic rows, "
        f"{stats.promotions} promotions; campaign {stats.event}; {watch.alerts} alerts "
        f"raised by the default rules; a {watch.plan_year} GMV plan of ¥{watch.plan_gmv:,.0f}",
        highlight=False,
    )
    address = f"http://{host}:{port}/"
    console.print(Panel.fit(
        f"地址 URL:      {address}\n"
        f"用户名 user:   {login.username}\n"
        f"密码 password: {login.password}",
        title="登录 / Log in", border_style="green",
    ), highlight=False)
    if no_serve:
        # The same database as this build, whichever way it was named (--db, env, default).
        where = f" --db {shlex.quote(db)}" if db else ""
        console.print(f"start it later with: storeops serve{where} --port {port}",
                      highlight=False, soft_wrap=True)
        return
    from storeops.api.server import serve

    with _live_orders(url, live, seed=seed, skus=skus, console=console) as orders:
        from storeops.jobs.serving import background_jobs
        from storeops.sim.demo import LIVE_SYNC_MINUTES

        with background_jobs(url, enabled=True if orders else None,
                             minutes=LIVE_SYNC_MINUTES if orders else None) as jobs:
            if orders is not None and jobs is not None:
                jobs.jobs.sync_store(orders.store_id)  # the first sync now, then every minute
            serve(url, host=host, port=port)


@contextmanager
def _live_orders(url: str, live: bool, *, seed: int, skus: int,
                 console: Any) -> Iterator[Any]:
    """The JOS simulator making live orders for the demo store (None with --no-live, or
    when it cannot start: the demo then serves without it and says why)."""
    if not live:
        yield None
        return
    from storeops.sim.demo import DEMO_STORE, start_live_orders
    from storeops.web.i18n import translate

    lang = cli_lang()
    try:
        orders = start_live_orders(url, seed=seed, skus=skus)
    except Exception as exc:  # the cockpit still serves the built store
        console.print(translate(lang, "jobs.demo.live_failed", reason=exc), highlight=False)
        yield None
        return
    console.print(translate(lang, "jobs.demo.live", gateway=orders.gateway, store=DEMO_STORE),
                  highlight=False, soft_wrap=True)
    try:
        yield orders
    finally:
        orders.stop()


def register(app: typer.Typer) -> None:
    """Add ``storeops demo`` to the main app."""
    app.command("demo")(demo_command)
