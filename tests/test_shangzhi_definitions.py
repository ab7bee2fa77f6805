"""成交 and 下单 figures as 京东商智 counts them, on hand-made orders (SQLite and PostgreSQL).

Store-local times are Asia/Shanghai (UTC+8): 23:50 local is 15:50 UTC the same day, 00:10
local is 16:10 UTC the day before, so a UTC day cut would put both on one day.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from test_metric_facts import Facts

from storeops.metrics import service

D = date.fromisoformat


@pytest.fixture(autouse=True)
def _warehouse_in_tmp(tmp_path, monkeypatch):  # noqa: ANN001, ANN202
    monkeypatch.setenv("STOREOPS_WAREHOUSE_DIR", str(tmp_path / "wh"))


def day(f: Facts, d: str) -> dict:
    return service.kpi_summary(f.db_url, f.store_id, D(d), D(d))


def by_day(f: Facts, first: str, last: str, key: str) -> list:
    return [r[key] for r in service.kpi_series(f.db_url, f.store_id, D(first), D(last))]


@pytest.fixture
def shop(db_url: str) -> Facts:
    f = Facts(db_url)
    f.p = f.product("P")
    f.q = f.product("Q")
    f.ann, f.bob, f.cat = f.customer("ann"), f.customer("bob"), f.customer("cat")
    return f


def test_paid_at_2350_and_0010_fall_on_their_own_store_local_days(shop: Facts) -> None:
    shop.order("2024-06-01 23:40", [(shop.p, 1, 1000)], paid="2024-06-01 23:50")
    shop.order("2024-06-01 23:45", [(shop.p, 1, 2000)], paid="2024-06-02 00:10")
    assert by_day(shop, "2024-06-01", "2024-06-02", "gmv") == [Decimal("10.00"),
                                                                Decimal("20.00")]
    assert by_day(shop, "2024-06-01", "2024-06-02", "orders") == [1, 1]
    # Both were placed on 06-01: that is the day of the 下单 figures.
    assert by_day(shop, "2024-06-01", "2024-06-02", "placed_amount") == [Decimal("30.00"),
                                                                          Decimal("0.00")]
    assert by_day(shop, "2024-06-01", "2024-06-02", "placed_orders") == [2, 0]
    # The same boundary holds for a total over one day.
    assert day(shop, "2024-06-02")["gmv"] == Decimal("20.00")


def test_placed_one_day_paid_the_next(shop: Facts) -> None:
    shop.order("2024-06-01 22:00", [(shop.p, 2, 5000)], customer=shop.ann, freight=600,
               paid="2024-06-02 09:00")
    d1, d2 = day(shop, "2024-06-01"), day(shop, "2024-06-02")
    assert d1["gmv"] == Decimal("0.00") and d1["orders"] == 0 and d1["buyers"] == 0
    assert d1["placed_amount"] == Decimal("56.00") and d1["placed_orders"] == 1
    assert d1["placed_buyers"] == 1
    assert d2["gmv"] == Decimal("56.00") and d2["goods_gmv"] == Decimal("50.00")
    assert d2["orders"] == 1 and d2["buyers"] == 1 and d2["units"] == 2
    assert d2["placed_orders"] == 0


def test_cash_on_delivery_counts_on_the_day_of_the_order(shop: Facts) -> None:
    # Not paid yet (the courier collects), and one paid at delivery three days later.
    shop.order("2024-06-01 20:00", [(shop.p, 1, 3000)], customer=shop.ann, cod=True,
               paid=False, freight=800)
    shop.order("2024-06-01 21:00", [(shop.q, 1, 4000)], customer=shop.bob, cod=True,
               paid="2024-06-04 15:00")
    assert by_day(shop, "2024-06-01", "2024-06-04", "gmv") == [
        Decimal("78.00"), Decimal("0.00"), Decimal("0.00"), Decimal("0.00")]
    assert day(shop, "2024-06-01")["buyers"] == 2


def test_unpaid_orders_are_placed_not_sold(shop: Facts, db_url: str) -> None:
    shop.order("2024-06-01 10:00", [(shop.p, 1, 3000)], customer=shop.ann, paid=False,
               status="wait_pay", freight=500)
    shop.order("2024-06-01 11:00", [(shop.q, 1, 1000)], customer=shop.bob)
    shop.traffic("2024-06-01", shop.p, uv=50)
    s = day(shop, "2024-06-01")
    assert s["gmv"] == Decimal("10.00") and s["orders"] == 1 and s["buyers"] == 1
    assert s["placed_amount"] == Decimal("45.00") and s["placed_orders"] == 2
    assert s["placed_buyers"] == 2
    assert s["conversion_rate"] == pytest.approx(1 / 50)
    assert s["placed_conversion_rate"] == pytest.approx(2 / 50)
    f = service.funnel(db_url, shop.store_id, D("2024-06-01"), D("2024-06-01"))
    steps = {step["key"]: step["value"] for step in f["steps"]}
    assert steps["order"] == 2 and steps["pay"] == 1


def test_cancellations_same_day_later_and_unknown(shop: Facts) -> None:
    shop.order("2024-06-01 09:00", [(shop.p, 1, 1000)], paid="2024-06-01 09:05",
               cancelled="2024-06-01 23:59")  # same store-local day: left out
    shop.order("2024-06-01 09:00", [(shop.p, 1, 2000)], paid="2024-06-01 09:05",
               cancelled="2024-06-03 10:00")  # later: stays on the day it was paid
    shop.order("2024-06-01 09:00", [(shop.p, 1, 4000)], paid="2024-06-01 09:05",
               status="cancelled")  # time unknown (a file export): left out entirely
    shop.order("2024-06-01 20:00", [(shop.q, 1, 8000)], cod=True, paid=False,
               cancelled="2024-06-02 08:00")  # cash on delivery, refused the next day
    assert by_day(shop, "2024-06-01", "2024-06-03", "gmv") == [
        Decimal("100.00"), Decimal("0.00"), Decimal("0.00")]
    assert by_day(shop, "2024-06-01", "2024-06-03", "orders") == [2, 0, 0]
    s = day(shop, "2024-06-01")
    assert s["placed_orders"] == 4 and s["placed_amount"] == Decimal("150.00")
    skus = service.kpi_by(shop.db_url, shop.store_id, D("2024-06-01"), D("2024-06-03"),
                          dimension="sku")
    assert {r["platform_sku_id"]: r["gmv"] for r in skus} == {
        "P": Decimal("20.00"), "Q": Decimal("80.00")}


def test_cancelled_just_after_midnight_is_a_later_day(shop: Facts) -> None:
    shop.order("2024-06-01 23:00", [(shop.p, 1, 1000)], paid="2024-06-01 23:10",
               cancelled="2024-06-02 00:10")
    assert day(shop, "2024-06-01")["gmv"] == Decimal("10.00")


def test_freight_is_in_gmv_but_not_in_a_sku_or_category(shop: Facts) -> None:
    shop.order("2024-06-01 10:00", [(shop.p, 1, 5000), (shop.q, 2, 3000)], freight=1000,
               customer=shop.ann)
    s = day(shop, "2024-06-01")
    assert s["gmv"] == Decimal("90.00") and s["goods_gmv"] == Decimal("80.00")
    assert s["aov"] == Decimal("90.00")
    skus = service.kpi_by(shop.db_url, shop.store_id, D("2024-06-01"), D("2024-06-01"),
                          dimension="sku")
    assert [(r["platform_sku_id"], r["gmv"]) for r in skus] == [
        ("P", Decimal("50.00")), ("Q", Decimal("30.00"))]
    assert sum(r["gmv"] for r in skus) == s["goods_gmv"]
    cats = service.kpi_by(shop.db_url, shop.store_id, D("2024-06-01"), D("2024-06-01"),
                          dimension="category")
    assert [r["gmv"] for r in cats] == [Decimal("80.00")]
    sources = service.kpi_by(shop.db_url, shop.store_id, D("2024-06-01"), D("2024-06-01"),
                             dimension="source")
    assert [r["gmv"] for r in sources] == [Decimal("90.00")]  # whole orders: freight in


def test_trailing_repurchase_windows(shop: Facts) -> None:
    p = shop.p
    shop.order("2024-03-01 12:00", [(p, 1, 100)], customer=shop.cat)
    shop.order("2024-05-10 12:00", [(p, 1, 100)], customer=shop.ann)
    shop.order("2024-06-10 12:00", [(p, 1, 100)], customer=shop.ann)
    shop.order("2024-06-20 12:00", [(p, 1, 100)], customer=shop.bob)
    shop.order("2024-06-25 12:00", [(p, 1, 100)], customer=shop.bob)
    # Neither unpaid nor same-day-cancelled orders make cat a repeat buyer.
    shop.order("2024-06-26 12:00", [(p, 1, 100)], customer=shop.cat, paid=False)
    shop.order("2024-06-27 12:00", [(p, 1, 100)], customer=shop.cat,
               cancelled="2024-06-27 13:00")
    s = day(shop, "2024-06-30")
    assert s["orders"] == 0 and s["repurchase_rate"] is None  # nothing on the day itself
    assert s["repurchase_rate_30d"] == 0.5  # 06-01..06-30: ann once, bob twice
    assert s["repurchase_rate_90d"] == 1.0  # 04-02..06-30: ann twice, bob twice
    months = service.kpi_series(shop.db_url, shop.store_id, D("2024-04-01"), D("2024-06-30"),
                                by="month")
    assert [r["repurchase_rate_30d"] for r in months] == [None, 0.0, 0.5]
    assert [r["repurchase_rate_90d"] for r in months] == [0.0, 0.0, 1.0]


def test_two_orders_on_one_day_are_a_repurchase(shop: Facts) -> None:
    shop.order("2024-06-05 10:00", [(shop.p, 1, 100)], customer=shop.ann)
    shop.order("2024-06-05 18:00", [(shop.p, 1, 100)], customer=shop.ann)
    s = day(shop, "2024-06-05")
    assert s["repurchase_rate"] == 1.0 and s["repurchase_rate_30d"] == 1.0


def test_trailing_repurchase_by_day_matches_a_plain_count(db_url: str) -> None:
    """The one-pass window count against counting each window directly."""
    f = Facts(db_url)
    rng = random.Random(5)
    start = D("2024-01-01")
    deals: list[tuple[int, date]] = []
    with f.batch():
        p = f.product("P")
        customers = [f.customer(f"c{i}") for i in range(6)]
        for _ in range(40):
            c, d = rng.choice(customers), start + timedelta(days=rng.randrange(150))
            f.order(f"{d} 12:00", [(p, 1, 100)], customer=c)
            deals.append((c, d))
    first, last = D("2024-02-01"), D("2024-05-31")
    rows = service.kpi_series(db_url, f.store_id, first, last, by="day")
    for row in rows:
        end = D(row["period"])
        for window in (30, 90):
            inside = [c for c, d in deals if end - timedelta(days=window - 1) <= d <= end]
            buyers = set(inside)
            repeat = {c for c in buyers if inside.count(c) >= 2}
            expected = round(len(repeat) / len(buyers), 6) if buyers else None
            assert row[f"repurchase_rate_{window}d"] == expected, (end, window)
