"""The demo: a simulated store plus a user to log in with (``storeops demo``)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from storeops.accounts.users import create_user, get_user, set_password
from storeops.db.engine import unit_of_work

DEMO_USERNAME = "admin"
DEMO_ROLE = "owner"
DEMO_STORE = "demo"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    created: bool  # False: the user existed and got this new password


def new_password() -> str:
    """A fresh password for each demo run, printed once (never a default one that is public)."""
    return secrets.token_urlsafe(9)


def ensure_demo_user(
    session: Session, password: str, username: str = DEMO_USERNAME
) -> DemoLogin:
    """Create the demo owner, or give an existing user of that name this password and the
    owner role again, so that running the demo twice always prints a login that works."""
    user = get_user(session, username)
    if user is None:
        create_user(session, username, password, DEMO_ROLE, display_name="演示管理员")
        return DemoLogin(username, password, created=True)
    set_password(session, username, password)  # also ends the sessions of the old password
    user.role = DEMO_ROLE
    user.is_active = True
    session.flush()
    return DemoLogin(username, password, created=False)


def prepare_demo_login(db_url: str, password: str | None = None) -> DemoLogin:
    with unit_of_work(db_url) as session:
        return ensure_demo_user(session, password or new_password())


# --- live orders: the demo store connected to a JOS simulator that keeps making orders ------

LIVE_ORDERS_PER_MINUTE = 6.0
LIVE_SYNC_MINUTES = 1
# The demo store's rows that the connector, the order flow and the stock ledger add (the
# demo's own builder replaces orders, products, customers, traffic): removed before a rebuild,
# children first. Tables without a store_id are reached through their order.
LIVE_TABLES = (
    "channel_requests", "flash_claims", "shipment_lines", "stock_reservations", "order_events",
    "shipments", "stock_movements", "stock_levels", "channel_listings", "flash_sales",
    "jd_sync_runs", "jd_connections",
)


@dataclass
class LiveOrders:
    """A JOS simulator serving in this process, the demo store connected to it."""

    simulator: Any
    gateway: str
    store_id: int

    def stop(self) -> None:
        self.simulator.stop()


def reset_live_data(db_url: str, store: str = DEMO_STORE) -> None:
    """Forget what live orders left on the demo store (events, shipments, reservations, the
    ledger, the JD connection and its syncs), so that the store can be built again."""
    from sqlalchemy import delete, select

    from storeops.catalog.models import Store
    from storeops.db.all_models import load_all
    from storeops.db.base import Base

    load_all()
    tables = Base.metadata.tables
    orders = tables["orders"]
    with unit_of_work(db_url) as session:
        store_id = session.scalar(select(Store.id).where(Store.name == store))
        if store_id is None:
            return
        of_store = select(orders.c.id).where(orders.c.store_id == store_id)
        for name in LIVE_TABLES:
            table = tables.get(name)
            if table is None:
                continue
            if "store_id" in table.c:
                session.execute(delete(table).where(table.c.store_id == store_id))
            elif "order_id" in table.c:
                session.execute(delete(table).where(table.c.order_id.in_(of_store)))


def start_live_orders(db_url: str, *, seed: int = 7, skus: int = 300,
                      orders_per_minute: float = LIVE_ORDERS_PER_MINUTE,
                      store: str = DEMO_STORE, host: str = "127.0.0.1") -> LiveOrders:
    """Start a JOS simulator on a free local port that makes about ``orders_per_minute`` new
    orders of the demo catalogue (``seed``, ``skus``), and connect ``store`` to it with the
    simulator's demo credentials. The background jobs then sync them in."""
    from storeops.connectors.jd.simulator import (
        DEFAULT_ACCESS_TOKEN,
        DEFAULT_APP_KEY,
        DEFAULT_APP_SECRET,
        JosSimulator,
        OrderFactory,
    )
    from storeops.connectors.jd.sync import connect_store

    simulator = JosSimulator(seed=seed)
    simulator.factory = OrderFactory(seed, skus)  # the demo store's catalogue
    gateway = simulator.start(host, 0)
    try:
        found, _ = connect_store(db_url, store, app_key=DEFAULT_APP_KEY,
                                 app_secret=DEFAULT_APP_SECRET,
                                 access_token=DEFAULT_ACCESS_TOKEN, gateway=gateway)
        adopt_stock(db_url, found.id)
        simulator.start_stream(orders_per_minute)
    except BaseException:
        simulator.stop()
        raise
    return LiveOrders(simulator=simulator, gateway=gateway, store_id=found.id)


def adopt_stock(db_url: str, store_id: int) -> int:
    """The demo's stock figures (``products.stock``) as opening balances of the stock ledger
    in the default warehouse, so that live orders are allocated and shipped from them."""
    from storeops.inventory.service import adopt_product_stock, ensure_default_warehouse

    with unit_of_work(db_url) as session:
        ensure_default_warehouse(session, store_id)
        return adopt_product_stock(session, store_id, actor="system")
