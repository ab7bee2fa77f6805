"""A built demo store reads back exactly as generated, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from storeops.ads.models import AdSpendDaily
from storeops.aftersales.models import Refund
from storeops.catalog.models import Product, Store
from storeops.db.engine import unit_of_work
from storeops.members.models import Customer
from storeops.metrics.models import TrafficDaily
from storeops.metrics.targets import get_targets
from storeops.orders.models import Order, OrderLine
from storeops.sim.model import SimConfig, generate_store
from storeops.sim.writer import DemoStoreExists, build_demo_store

END = date(2026, 3, 20)
SMALL = {"days": 14, "end": END, "seed": 3, "skus": 40}


def _count(session, model, store_id: int) -> int:
    return session.scalar(select(func.count()).select_from(model).where(
        model.store_id == store_id))


@pytest.fixture(scope="module")
def small(module_db_url: str) -> tuple[str, Any, Any]:
    """(database URL, build stats, the simulated store) of the SMALL demo store, built once
    per backend for the tests that only read it."""
    stats = build_demo_store(module_db_url, **SMALL)
    return module_db_url, stats, generate_store(SimConfig(end=END, days=14, seed=3, skus=40))


def test_written_store_round_trips(small: tuple[str, Any, Any]) -> None:
    db_url, stats, sim = small
    assert stats.orders == len(sim.orders) > 1000
    assert stats.first_day == date(2026, 3, 7) and stats.last_day == END
    tz = ZoneInfo("Asia/Shanghai")
    with unit_of_work(db_url) as session:
        store = session.scalar(select(Store).where(Store.name == "demo"))
        assert store.data_version >= 1 and store.timezone == "Asia/Shanghai"
        sid = store.id
        assert _count(session, Product, sid) == 40
        assert _count(session, Customer, sid) == stats.customers == len(sim.customers)
        assert _count(session, Order, sid) == stats.orders
        assert _count(session, OrderLine, sid) == stats.order_lines
        assert _count(session, Refund, sid) == stats.refunds == len(sim.refunds)
        assert _count(session, TrafficDaily, sid) == stats.traffic_rows == len(sim.traffic)
        assert _count(session, AdSpendDaily, sid) == stats.ad_rows
        # Line amounts add up to goods less the seller discount, order by order.
        mismatched = session.execute(
            select(Order.id)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .where(Order.store_id == sid)
            .group_by(Order.id, Order.goods_cents, Order.seller_discount_cents)
            .having(func.sum(OrderLine.amount_cents)
                    != Order.goods_cents - Order.seller_discount_cents)
        ).all()
        assert mismatched == []
        # Times come back aware and the store-local day is the Shanghai day, not the UTC one.
        orders = session.scalars(select(Order).where(Order.store_id == sid)).all()
        assert all(o.placed_at.tzinfo is not None for o in orders)
        assert all(o.placed_date == o.placed_at.astimezone(tz).date() for o in orders)
        assert any(o.placed_date != o.placed_at.date() for o in orders)  # evening in UTC
        by_id = {o.platform_order_id: o for o in orders}
        first = sim.orders[0]
        stored = by_id[first.platform_order_id]
        assert stored.placed_at == first.placed_at and stored.paid_at == first.paid_at
        assert stored.goods_cents == first.goods_cents and stored.status == first.status
        assert len({o.content_hash for o in orders}) == len(orders)
        total_gmv = session.scalar(select(func.sum(OrderLine.amount_cents)).where(
            OrderLine.store_id == sid))
        assert total_gmv == sum(ln.amount_cents for o in sim.orders for ln in o.lines)
        refund = session.scalars(select(Refund).where(Refund.store_id == sid)).first()
        assert refund.refund_date == refund.refunded_at.astimezone(tz).date()
        assert refund.order_id is not None and refund.customer_id is not None
        uv = session.scalar(select(func.sum(TrafficDaily.uv)).where(TrafficDaily.store_id == sid))
        assert uv == sum(t.uv for t in sim.traffic)
        targets = get_targets(session, sid, "2026-03")
        assert set(targets) == {"gmv", "uv", "conversion_rate", "aov"}
        assert 0 < targets["conversion_rate"] < 1
        assert get_targets(session, sid, "2026-02")["gmv"] > 0


def test_rebuilding_needs_replace_and_replaces_only_that_store(db_url: str) -> None:
    build_demo_store(db_url, **SMALL)
    other = build_demo_store(db_url, name="other", days=3, end=END, seed=9, skus=10)
    with pytest.raises(DemoStoreExists, match="already exists"):
        build_demo_store(db_url, **SMALL)
    again = build_demo_store(db_url, **{**SMALL, "seed": 4}, replace=True)
    assert again.replaced
    with unit_of_work(db_url) as session:
        demo = session.scalar(select(Store).where(Store.name == "demo"))
        assert demo.id == again.store_id and demo.data_version >= 2
        assert _count(session, Order, demo.id) == again.orders
        assert _count(session, Refund, demo.id) == again.refunds
        assert _count(session, Product, demo.id) == 40
        assert _count(session, Order, other.store_id) == other.orders


def test_default_end_is_today_in_shanghai_and_nothing_is_in_the_future(db_url: str) -> None:
    from storeops.common.timeutil import utcnow

    before = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()
    stats = build_demo_store(db_url, days=2, skus=10)
    after = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()
    assert stats.last_day in {before, after}  # the build may straddle midnight
    assert stats.first_day == stats.last_day - timedelta(days=1)
    with unit_of_work(db_url) as session:
        latest = session.scalar(select(func.max(Order.placed_at)))
        assert latest <= utcnow()


def test_rows_carry_the_build_version_and_the_payment_facts(small: tuple[str, Any, Any]) -> None:
    db_url, stats, _sim = small
    with unit_of_work(db_url) as session:
        version = session.scalar(select(Store.data_version).where(Store.id == stats.store_id))
        for model in (Product, Order, Refund, TrafficDaily, AdSpendDaily):
            versions = session.scalars(select(model.row_version).where(
                model.store_id == stats.store_id).distinct()).all()
            assert versions == [version], model.__name__
        assert session.scalar(select(func.count()).where(
            Order.store_id == stats.store_id, Order.cod.is_(True))) > 0
        assert session.scalar(select(func.count()).where(
            Order.store_id == stats.store_id, Order.cancelled_at.is_not(None))) > 0


def test_kpis_of_a_built_store_match_the_simulated_deals(
    small: tuple[str, Any, Any], tmp_path, monkeypatch: pytest.MonkeyPatch  # noqa: ANN001
) -> None:
    """The warehouse's 成交 rules (SQL) and the simulator's reading of them agree, day by day."""
    from storeops.metrics import service
    from storeops.sim.model import daily_figures

    monkeypatch.setenv("STOREOPS_WAREHOUSE_DIR", str(tmp_path / "wh"))
    db_url, stats, sim = small
    figures = daily_figures(sim)
    rows = service.kpi_series(db_url, stats.store_id, stats.first_day, END, by="day")
    assert [(r["period"], r["gmv"], r["buyers"]) for r in rows] == [
        (str(d), Decimal(figures[d].gmv_cents) / 100, figures[d].buyers)
        for d in sorted(figures) if stats.first_day <= d <= END
    ]
    total = service.kpi_summary(db_url, stats.store_id, stats.first_day, END)
    assert total["placed_orders"] == len(sim.orders) > total["orders"]
    assert total["gmv"] > total["goods_gmv"]  # freight is in


def test_demo_promotions_one_per_step_of_their_lifecycle_and_rebuilt_with_the_store(
        db_url: str) -> None:
    """The campaign's 满减 has ended (its results page has figures), this week's cut is live,
    the multi-buy is scheduled, and the deep flash sale breaks its SKU's floor: it stays a
    draft until a second person approves it. A rebuild replaces them (no foreign key left)."""
    from storeops.pricing.models import PricingChange, PromotionRecord

    build_demo_store(db_url, **SMALL)
    again = build_demo_store(db_url, **SMALL, replace=True)
    assert again.promotions == 5
    with unit_of_work(db_url) as session:
        rows = session.scalars(select(PromotionRecord).where(
            PromotionRecord.store_id == again.store_id)).all()
        status = {r.code: r.status for r in rows}
        assert status == {"demo-event-mj": "ended", "demo-week-direct": "live",
                          "demo-shop-coupon": "live", "demo-multi-buy": "scheduled",
                          "demo-flash-deep": "draft"}
        flash = next(r for r in rows if r.code == "demo-flash-deep")
        assert flash.breaches_floor and flash.approved_by is None
        assert _count(session, PricingChange, again.store_id) > 0
