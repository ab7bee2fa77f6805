"""The simulated store behaves like a JD store: funnel rates, traffic mix, seasonality, money."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from storeops.orders.states import OrderStatus
from storeops.sim.model import SimConfig, daily_figures, generate_store, monthly_targets, pick_event

END = date(2026, 11, 20)  # 60 days hold 双11 (Nov 9–11)


@pytest.fixture(scope="module")
def store():
    return generate_store(SimConfig(end=END, days=60, seed=11, skus=120))


def _traffic_sum(store, attr: str) -> int:
    return sum(getattr(row, attr) for row in store.traffic)


def test_funnel_rates_fall_in_the_domain_ranges(store) -> None:
    exposure, clicks = _traffic_sum(store, "exposure"), _traffic_sum(store, "clicks")
    uv, cart = _traffic_sum(store, "uv"), _traffic_sum(store, "cart_users")
    orders = store.orders
    paid = [o for o in orders if o.paid_at is not None or o.cod]
    assert 0.05 <= clicks / exposure <= 0.10
    assert 0.15 <= cart / uv <= 0.25
    assert 0.15 <= cart / clicks <= 0.25  # the funnel's step after the click
    assert 0.30 <= len(orders) / cart <= 0.40
    assert 0.80 <= len(paid) / len(orders) <= 0.90
    buyers = sum(f.buyers for f in daily_figures(store).values())
    assert 0.02 <= buyers / uv <= 0.05


def test_traffic_mix_is_jds(store) -> None:
    by_source: Counter[str] = Counter()
    for row in store.traffic:
        by_source[row.source] += row.uv
    total = sum(by_source.values())
    share = {k: v / total for k, v in by_source.items()}
    # The campaign days lift the campaign share a little above its 22%.
    assert 0.46 <= share["search"] <= 0.58
    assert 0.19 <= share["campaign"] <= 0.30
    assert 0.12 <= share["recommend"] <= 0.18
    assert 0.07 <= share["category"] <= 0.13


def test_refunds_are_two_to_three_percent_a_few_days_after_shipping(store) -> None:
    shipped = [o for o in store.orders if o.shipped_at is not None]
    assert 0.02 <= len(store.refunds) / len(shipped) <= 0.03
    for refund in store.refunds:
        order = store.orders[refund.order_index]
        assert timedelta(days=1) <= refund.refunded_at - order.shipped_at <= timedelta(days=7)
        line = next(ln for ln in order.lines if ln.line_no == refund.line_no)
        assert 0 < refund.amount_cents <= line.amount_cents
        assert refund.reason


def test_weekends_bring_more_traffic_than_weekdays(store) -> None:
    event = store.event
    figures = {d: f for d, f in daily_figures(store).items() if not event.first <= d <= event.last}
    weekend = [f.uv for d, f in figures.items() if d.weekday() >= 5]
    weekday = [f.uv for d, f in figures.items() if d.weekday() < 5]
    assert sum(weekend) / len(weekend) > 1.1 * sum(weekday) / len(weekday)


def test_the_campaign_spike_is_visible(store) -> None:
    assert store.event.name == "双11"
    assert store.event.first == date(2026, 11, 9)
    figures = daily_figures(store)
    normal = [f.gmv_cents for d, f in figures.items() if d < store.event.first - timedelta(1)]
    peak = figures[date(2026, 11, 10)].gmv_cents
    assert peak > 3 * sum(normal) / len(normal)
    campaign_share = sum(r.uv for r in store.traffic if r.day == date(2026, 11, 10)
                         and r.source == "campaign") / figures[date(2026, 11, 10)].uv
    assert campaign_share > 0.35


def test_a_period_without_a_big_campaign_gets_a_store_anniversary() -> None:
    event = pick_event(date(2026, 1, 1), date(2026, 1, 14))
    assert event.name == "店庆"
    assert date(2026, 1, 1) <= event.first <= event.last <= date(2026, 1, 14)
    assert pick_event(date(2026, 5, 1), date(2026, 7, 1)).first == date(2026, 6, 16)


def test_volume_is_hundreds_of_orders_a_day(store) -> None:
    per_day = Counter(o.placed_at.astimezone(ZoneInfo("Asia/Shanghai")).date()
                      for o in store.orders)
    ordinary = [n for d, n in per_day.items() if not store.event.first <= d <= store.event.last]
    assert 200 <= min(ordinary) and max(ordinary) <= 1500


def test_money_adds_up_to_the_cent(store) -> None:
    for order in store.orders:
        gross = [ln.unit_price_e4 * ln.quantity // 100 for ln in order.lines]
        assert order.goods_cents == sum(gross)
        assert sum(ln.amount_cents for ln in order.lines) == (
            order.goods_cents - order.seller_discount_cents
        )
        assert all(ln.amount_cents > 0 for ln in order.lines)
        free = order.goods_cents - order.seller_discount_cents >= 9_900
        assert order.freight_cents == (0 if free else 600)
        if order.paid_at is not None:
            assert order.paid_cents == (
                order.goods_cents - order.seller_discount_cents + order.freight_cents
            )
    discounted = [o for o in store.orders if o.seller_discount_cents]
    assert 0.1 < len(discounted) / len(store.orders) < 0.9
    assert {len(o.lines) for o in store.orders} == {1, 2, 3}


def test_statuses_follow_the_age_of_orders(store) -> None:
    as_of = datetime(2026, 11, 20, 16, tzinfo=UTC)  # 2026-11-21 00:00 Shanghai
    statuses = Counter(o.status for o in store.orders)
    assert set(statuses) <= set(OrderStatus)
    for order in store.orders:
        age = as_of - order.placed_at
        if order.status == OrderStatus.WAIT_PAY:
            assert order.paid_at is None and age < timedelta(days=1)
        if order.status == OrderStatus.FINISHED and not order.cod:
            assert order.placed_at <= order.paid_at <= order.shipped_at <= order.finished_at
        if order.status == OrderStatus.FINISHED and order.cod:  # paid to the courier
            assert order.placed_at <= order.shipped_at <= order.paid_at == order.finished_at
        if order.status in (OrderStatus.WAIT_STOCK_OUT, OrderStatus.SHIPPED):
            assert age < timedelta(days=8)
        if age > timedelta(days=10) and order.status != OrderStatus.CANCELLED:
            assert order.status == OrderStatus.FINISHED
        if order.paid_at is not None and not order.cod:
            assert timedelta(0) < order.paid_at - order.placed_at < timedelta(hours=3)
        if order.status == OrderStatus.CANCELLED:  # JD records when
            assert order.cancelled_at is not None and order.placed_at < order.cancelled_at
        else:
            assert order.cancelled_at is None
    paid_cancelled = [o for o in store.orders
                      if o.status == OrderStatus.CANCELLED and o.paid_at is not None]
    assert 0.005 < len(paid_cancelled) / len(store.orders) < 0.03


def test_cash_on_delivery_unpaid_and_cancellations_are_there(store) -> None:
    """Every case the 成交 rules tell apart occurs, in realistic shares."""
    tz = ZoneInfo("Asia/Shanghai")
    orders = store.orders
    cod = [o for o in orders if o.cod]
    assert 0.015 < len(cod) / len(orders) < 0.05
    assert any(o.paid_at is None and o.status != OrderStatus.CANCELLED for o in cod)
    assert any(o.status == OrderStatus.CANCELLED for o in cod)  # refused at the door
    unpaid = [o for o in orders if o.paid_at is None and not o.cod]
    assert 0.08 < len(unpaid) / len(orders) < 0.25
    assert all(o.status in (OrderStatus.WAIT_PAY, OrderStatus.CANCELLED) for o in unpaid)
    assert any(o.status == OrderStatus.WAIT_PAY for o in unpaid)  # the last day's
    paid_cancelled = [o for o in orders if o.status == OrderStatus.CANCELLED
                      and o.paid_at is not None]
    same_day = [o for o in paid_cancelled
                if o.cancelled_at.astimezone(tz).date() == o.paid_at.astimezone(tz).date()]
    assert 0 < len(same_day) < len(paid_cancelled)  # some the same day, some later
    assert 0.3 < sum(1 for o in orders if o.freight_cents) / len(orders) < 0.95


def test_some_customers_buy_again(store) -> None:
    orders_per_customer = Counter(o.customer_index for o in store.orders)
    repeaters = sum(1 for n in orders_per_customer.values() if n >= 2)
    assert 0.05 < repeaters / len(orders_per_customer) < 0.5
    accounts = [c.platform_account for c in store.customers]
    assert len(set(accounts)) == len(accounts)


def test_orders_follow_the_hours_of_a_chinese_day(store) -> None:
    hours = Counter(o.placed_at.astimezone(ZoneInfo("Asia/Shanghai")).hour for o in store.orders)
    assert hours[21] > 5 * hours[4]


def test_assortment(store) -> None:
    products = store.products
    assert len(products) == 120
    assert len({p.category for p in products}) == 5
    assert len({p.platform_sku_id for p in products}) == 120
    assert len({p.seller_code for p in products}) == 120
    assert any(p.status == "off_shelf" for p in products)
    assert all(0 < p.cost_cents < p.list_price_cents for p in products)
    sold = Counter(ln.product_index for o in store.orders for ln in o.lines)
    top = sum(n for _, n in sold.most_common(12))  # the top 10% of SKUs
    assert top > 0.4 * sum(sold.values())


def test_ads_return_two_to_five_times_their_spend(store) -> None:
    spend = sum(a.spend_cents for a in store.ads)
    gmv = sum(a.attributed_gmv_cents for a in store.ads)
    assert 2 <= gmv / spend <= 5
    assert 2 <= len({a.campaign for a in store.ads}) <= 4


def test_the_same_seed_gives_the_same_store() -> None:
    a = generate_store(SimConfig(end=END, days=10, seed=3, skus=40))
    b = generate_store(SimConfig(end=END, days=10, seed=3, skus=40))
    c = generate_store(SimConfig(end=END, days=10, seed=4, skus=40))
    assert a.orders == b.orders and a.traffic == b.traffic and a.refunds == b.refunds
    assert a.products == b.products and a.ads == b.ads
    assert a.orders != c.orders


def test_nothing_happens_after_as_of() -> None:
    as_of = datetime(2026, 11, 20, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai
    store = generate_store(SimConfig(end=END, days=5, seed=5, skus=40, as_of=as_of))
    assert max(o.placed_at for o in store.orders) <= as_of
    today = [o for o in store.orders
             if o.placed_at.astimezone(ZoneInfo("Asia/Shanghai")).date() == END]
    yesterday = [o for o in store.orders
                 if o.placed_at.astimezone(ZoneInfo("Asia/Shanghai")).date()
                 == END - timedelta(1)]
    assert 0 < len(today) < len(yesterday) / 2


def test_targets_sit_a_little_above_the_run_rate(store) -> None:
    targets = monthly_targets(store)
    assert set(targets) == {"2026-10", "2026-11"}
    recent = [f for d, f in daily_figures(store).items()
              if d > END - timedelta(28) and not store.event.first <= d <= store.event.last]
    daily_gmv = sum(f.gmv_cents for f in recent) / len(recent) / 100
    november = targets["2026-11"]
    assert 1.0 < float(november["gmv"]) / (daily_gmv * 30) < 1.2
    assert 0.02 < november["conversion_rate"] < 0.06
    assert november["aov"] > 0 and november["uv"] > 0


def test_bad_config_is_refused() -> None:
    with pytest.raises(ValueError):
        SimConfig(end=END, days=0)
