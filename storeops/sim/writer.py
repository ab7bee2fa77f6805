"""Writes a simulated store into the database: one transaction, bulk inserts through the driver.

A store built again under the same name has its facts replaced (only with ``replace=True``;
otherwise the build refuses, so that real data is never overwritten by accident).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storeops.ads.models import AdSpendDaily
from storeops.aftersales.models import Refund
from storeops.catalog.models import Product, Store
from storeops.catalog.stores import bump_data_version
from storeops.common.errors import StoreopsError
from storeops.common.timeutil import DEFAULT_TIMEZONE, local_date, utcnow
from storeops.db.bulk import bulk_insert
from storeops.db.engine import unit_of_work
from storeops.members.models import Customer
from storeops.metrics.models import MonthlyTarget, TrafficDaily
from storeops.metrics.targets import set_target
from storeops.orders.models import Order, OrderLine
from storeops.pricing.models import (
    CategoryCommission,
    PriceChange,
    PricingChange,
    PricingSettings,
    PromotionRecord,
)
from storeops.sim.model import SimConfig, SimOrder, SimStore, generate_store, monthly_targets
from storeops.sim.promotions import seed_demo_promotions
from storeops.sim.stock import stock_levels

Progress = Callable[[str], None]


class DemoStoreExists(StoreopsError):
    """The demo store's name is taken and replacing it was not asked for."""


@dataclass(frozen=True)
class DemoStats:
    store: str
    store_id: int
    first_day: date
    last_day: date
    event: str  # the simulated campaign, e.g. "双11 2026-11-09..2026-11-11"
    products: int
    customers: int
    orders: int
    order_lines: int
    refunds: int
    traffic_rows: int
    ad_rows: int
    targets: int
    replaced: bool  # True when an existing store of that name had its data replaced
    promotions: int = 0


def build_demo_store(
    db_url: str,
    *,
    name: str = "demo",
    days: int = 180,
    end: date | None = None,
    seed: int = 7,
    skus: int = 300,
    replace: bool = False,
    progress: Progress | None = None,
) -> DemoStats:
    """Generate a store (``days`` store-local days ending on ``end``, default today in
    Asia/Shanghai) and write it; the schema must be current (``ensure_schema``)."""
    if days < 1:
        raise StoreopsError(f"days must be at least 1, not {days}", key="demo.days",
                            days=days)
    if skus < 5:
        raise StoreopsError(f"a demo store needs at least 5 SKUs, not {skus}", key="demo.skus",
                            skus=skus)
    step = progress or (lambda _label: None)
    now = utcnow()
    today = now.astimezone(ZoneInfo(DEFAULT_TIMEZONE)).date()
    end_day = end or today
    # A store that reaches today holds only the hours gone by: nothing is placed in the future.
    as_of = now if end_day >= today else None
    step("generate")
    sim = generate_store(
        SimConfig(end=end_day, days=days, seed=seed, skus=skus, as_of=as_of)
    )
    with unit_of_work(db_url) as session:
        store, replaced = _prepare_store(session, name, replace)
        # One new data version for the whole build; every row written carries it.
        version = bump_data_version(session, store.id)
        step("write")
        counts = write_store(session, store.id, sim, progress=step, row_version=version)
        step("targets")
        targets = 0
        for month, values in monthly_targets(sim).items():
            for metric, value in values.items():
                set_target(session, store.id, month, metric, value)
                targets += 1
        step("promotions")
        promotions = seed_demo_promotions(session, store.id, sim, now,
                                          ZoneInfo(DEFAULT_TIMEZONE)).created
        store_id = store.id
    event = sim.event
    return DemoStats(
        store=name, store_id=store_id, first_day=sim.config.start, last_day=sim.config.end,
        event=f"{event.name} {event.first}..{event.last}", targets=targets, replaced=replaced,
        promotions=promotions, **counts,
    )


def _prepare_store(session: Session, name: str, replace: bool) -> tuple[Store, bool]:
    store = session.scalar(select(Store).where(Store.name == name))
    if store is None:
        store = Store(name=name, platform="jd", timezone=DEFAULT_TIMEZONE, currency="CNY",
                      commission_rate=Decimal("0.05"), data_version=0)
        session.add(store)
        session.flush()
        return store, False
    if not replace:
        raise DemoStoreExists(
            f"a store named {name!r} already exists: pick another name, or replace its data",
            key="demo.store_exists", name=name,
        )
    _delete_store_facts(session, store.id)
    return store, True


def _delete_store_facts(session: Session, store_id: int) -> None:
    from storeops.alerts.models import (
        Alert,
        AlertCheckRun,
        AlertEvent,
        InboxMessage,
        InboxRead,
        NotifyDelivery,
    )
    from storeops.metrics.models import TargetPlan, TargetPlanCell
    from storeops.reports.models import Report

    # What the demo's first morning raised and planned on the old facts (sim/watch.py); the
    # store's rules and channels are its team's settings and stay.
    alerts = select(Alert.id).where(Alert.store_id == store_id)
    messages = select(InboxMessage.id).where(InboxMessage.store_id == store_id)
    plans = select(TargetPlan.id).where(TargetPlan.store_id == store_id)
    session.execute(delete(AlertEvent).where(AlertEvent.alert_id.in_(alerts)))
    session.execute(delete(InboxRead).where(InboxRead.message_id.in_(messages)))
    session.execute(delete(TargetPlanCell).where(TargetPlanCell.plan_id.in_(plans)))
    for model in (NotifyDelivery, InboxMessage, Alert, AlertCheckRun, TargetPlan, Report):
        session.execute(delete(model).where(model.store_id == store_id))
    # Children first: the foreign keys have no cascade on SQLite without the ORM.
    for model in (PricingChange, PriceChange, PromotionRecord, CategoryCommission,
                  PricingSettings, Refund, OrderLine, Order, TrafficDaily, AdSpendDaily,
                  MonthlyTarget, Customer, Product):
        session.execute(delete(model).where(model.store_id == store_id))


def order_content_hash(order: SimOrder, product_ids: list[str]) -> str:
    """A digest of what an order says, so that a later import of the same order is a no-op."""
    parts = [
        order.platform_order_id, order.status, order.placed_at.isoformat(),
        str(order.paid_at), str(order.finished_at), str(order.goods_cents),
        str(order.seller_discount_cents), str(order.freight_cents), str(order.paid_cents),
        str(order.cod), str(order.cancelled_at),
    ]
    parts += [
        f"{product_ids[ln.product_index]}:{ln.quantity}:{ln.unit_price_e4}:{ln.amount_cents}"
        for ln in order.lines
    ]
    return hashlib.md5("|".join(parts).encode(), usedforsecurity=False).hexdigest()


def write_store(
    session: Session, store_id: int, sim: SimStore, *, progress: Progress | None = None,
    row_version: int = 0,
) -> dict[str, int]:
    """Insert every fact of ``sim`` into an empty store; returns the row count per table.

    Rows carry ``row_version`` (the store's data version of this write, from
    ``bump_data_version``), which is how the warehouse finds what changed."""
    rv = row_version
    step = progress or (lambda _label: None)
    conn = session.connection()
    tz = ZoneInfo(sim.config.timezone)
    now = utcnow()
    sku_ids = [p.platform_sku_id for p in sim.products]
    counts: dict[str, int] = {}

    counts["products"] = bulk_insert(
        conn, Product.__table__,
        ("store_id", "platform_sku_id", "seller_code", "title", "category", "brand",
         "list_price_cents", "cost_cents", "status", "stock", "created_at", "updated_at",
         "row_version"),
        ((store_id, p.platform_sku_id, p.seller_code, p.title, p.category, p.brand,
          p.list_price_cents, p.cost_cents, p.status, stock, now, now, rv)
         for p, stock in zip(sim.products, stock_levels(sim), strict=True)),
    )
    by_sku = dict(session.execute(
        select(Product.platform_sku_id, Product.id).where(Product.store_id == store_id)
    ).all())
    product_db = [by_sku[s] for s in sku_ids]

    counts["customers"] = bulk_insert(
        conn, Customer.__table__,
        ("store_id", "platform_account", "masked_contact", "created_at"),
        ((store_id, c.platform_account, c.masked_contact, now) for c in sim.customers),
    )
    by_account = dict(session.execute(
        select(Customer.platform_account, Customer.id).where(Customer.store_id == store_id)
    ).all())
    customer_db = [by_account[c.platform_account] for c in sim.customers]

    step("orders")
    counts["orders"] = bulk_insert(
        conn, Order.__table__,
        ("store_id", "platform_order_id", "status", "deleted", "customer_id", "placed_at",
         "placed_date", "paid_at", "shipped_at", "finished_at", "goods_cents",
         "seller_discount_cents", "freight_cents", "paid_cents", "source", "content_hash",
         "updated_at", "cod", "cancelled_at", "row_version"),
        ((store_id, o.platform_order_id, str(o.status), False, customer_db[o.customer_index],
          o.placed_at, local_date(o.placed_at, tz), o.paid_at, o.shipped_at, o.finished_at,
          o.goods_cents, o.seller_discount_cents, o.freight_cents, o.paid_cents, o.source,
          order_content_hash(o, sku_ids), now, o.cod, o.cancelled_at, rv)
         for o in sim.orders),
    )
    by_order = dict(session.execute(
        select(Order.platform_order_id, Order.id).where(Order.store_id == store_id)
    ).all())
    order_db = [by_order[o.platform_order_id] for o in sim.orders]

    counts["order_lines"] = bulk_insert(
        conn, OrderLine.__table__,
        ("order_id", "store_id", "line_no", "product_id", "quantity", "unit_price_e4",
         "amount_cents"),
        ((order_db[i], store_id, ln.line_no, product_db[ln.product_index], ln.quantity,
          ln.unit_price_e4, ln.amount_cents)
         for i, o in enumerate(sim.orders) for ln in o.lines),
        expected_rows=sum(len(o.lines) for o in sim.orders),
    )
    counts["refunds"] = bulk_insert(
        conn, Refund.__table__,
        ("store_id", "platform_refund_id", "line_no", "order_id", "platform_order_id",
         "customer_id", "product_id", "quantity", "amount_cents", "refunded_at", "refund_date",
         "reason", "row_version"),
        ((store_id, r.platform_refund_id, r.line_no, order_db[r.order_index],
          sim.orders[r.order_index].platform_order_id,
          customer_db[sim.orders[r.order_index].customer_index], product_db[r.product_index],
          r.quantity, r.amount_cents, r.refunded_at, local_date(r.refunded_at, tz), r.reason,
          rv) for r in sim.refunds),
    )
    step("traffic")
    counts["traffic_rows"] = bulk_insert(
        conn, TrafficDaily.__table__,
        ("store_id", "day", "product_id", "source", "uv", "pv", "exposure", "clicks",
         "cart_users", "bounce_visits", "row_version"),
        ((store_id, t.day, product_db[t.product_index], t.source, t.uv, t.pv, t.exposure,
          t.clicks, t.cart_users, t.bounce_visits, rv) for t in sim.traffic),
        expected_rows=len(sim.traffic),
    )
    counts["ad_rows"] = bulk_insert(
        conn, AdSpendDaily.__table__,
        ("store_id", "day", "campaign", "spend_cents", "impressions", "clicks",
         "attributed_orders", "attributed_gmv_cents", "row_version"),
        ((store_id, a.day, a.campaign, a.spend_cents, a.impressions, a.clicks,
          a.attributed_orders, a.attributed_gmv_cents, rv) for a in sim.ads),
    )
    return counts

