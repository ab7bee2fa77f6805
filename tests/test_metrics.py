"""Metric definitions and their edge cases, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from test_metric_facts import Facts

from storeops.common.errors import StoreopsError
from storeops.metrics import service
from storeops.metrics.definitions import METRIC_KEYS, METRICS, derive

D = date.fromisoformat


@pytest.fixture(autouse=True)
def _warehouse_in_tmp(tmp_path, monkeypatch):  # noqa: ANN001, ANN202
    monkeypatch.setenv("STOREOPS_WAREHOUSE_DIR", str(tmp_path / "wh"))


@pytest.fixture
def shop(db_url: str) -> Facts:
    """Two days of a small store (Asia/Shanghai).

    Day 1 (2024-03-01): alice 2 orders, bob 1 unpaid, a guest 1, one cancelled order of carol
    (cancellation time unknown, as in a file export).
    Day 2 (2024-03-02): alice 1 more order, a refund of a day-1 order, traffic, ads.
    """
    f = Facts(db_url)
    with f.batch():
        f.a = f.product("A", "shoes")
        f.b = f.product("B", "shoes")
        f.c = f.product("C", "hats")
        f.off = f.product("OFF", "hats", status="off_shelf")
        alice, bob, carol = f.customer("alice"), f.customer("bob"), f.customer("carol")
        f.o1 = f.order("2024-03-01 09:00", [(f.a, 2, 10000), (f.b, 1, 5000)], customer=alice,
                       freight=800)
        f.order("2024-03-01 12:00", [(f.a, 1, 5000)], customer=alice, source="pc")
        f.order("2024-03-01 13:00", [(f.b, 3, 9000)], customer=bob, paid=False)
        f.order("2024-03-01 14:00", [(f.a, 1, 1500)], customer=None, freight=200)
        f.order("2024-03-01 15:00", [(f.c, 5, 99999)], customer=carol, status="cancelled")
        f.order("2024-03-02 10:00", [(f.b, 1, 2000)], customer=alice)
        f.refund("2024-03-02 11:00", 3000, order=f.o1, product=f.a)
        f.traffic("2024-03-01", f.a, "search", uv=100, pv=300, exposure=2000, clicks=150, cart=30,
                  bounce=40)
        f.traffic("2024-03-01", f.b, "recommend", uv=50, pv=80, exposure=1000, clicks=50, cart=5,
                  bounce=10)
        f.traffic("2024-03-02", f.a, "search", uv=50, pv=100, exposure=1000, clicks=100, cart=10,
                  bounce=5)
        f.ad("2024-03-02", 5000, 20000)
    return f


def test_summary_of_a_small_store(shop: Facts) -> None:
    s = service.kpi_summary(shop.db_url, shop.store_id, D("2024-03-01"), D("2024-03-02"))
    assert set(METRIC_KEYS) <= set(s)
    # 成交: paid orders only (bob's unpaid 90.00 and carol's cancelled 999.99 are out), goods
    # 235.00 plus their freight 10.00
    assert s["goods_gmv"] == Decimal("235.00")
    assert s["gmv"] == Decimal("245.00")
    assert s["orders"] == 4
    assert s["units"] == 2 + 1 + 1 + 1 + 1
    # alice + one guest order; bob did not pay, carol's only order was cancelled
    assert s["buyers"] == 2
    assert s["aov"] == Decimal("122.50")
    assert s["refund_amount"] == Decimal("30.00")
    assert s["refund_rate"] == pytest.approx(30 / 245, abs=1e-6)
    # alice has 3 deals and is the only identified buyer
    assert s["repurchase_rate"] == 1.0
    assert s["repurchase_rate_30d"] == 1.0 and s["repurchase_rate_90d"] == 1.0
    # 下单: every order placed, unpaid and cancelled ones included
    assert s["placed_orders"] == 6 and s["placed_buyers"] == 4
    assert s["placed_amount"] == Decimal("1334.99")  # goods 1324.99 + freight 10.00
    assert s["placed_conversion_rate"] == pytest.approx(4 / 200)
    assert s["uv"] == 200 and s["pv"] == 480
    assert s["conversion_rate"] == pytest.approx(2 / 200)
    assert s["uv_value"] == Decimal("1.23")  # 1.225 rounds half up
    assert s["bounce_rate"] == pytest.approx(55 / 200)
    assert s["add_to_cart_rate"] == pytest.approx(45 / 200)
    assert s["click_through_rate"] == pytest.approx(300 / 4000)
    # A and B sold (C only in a cancelled order); 3 products on sale
    assert s["sell_through"] == pytest.approx(2 / 3, abs=1e-6)
    assert s["ad_spend"] == Decimal("50.00") and s["roas"] == 4.0


def test_gmv_has_freight_goods_gmv_has_not(shop: Facts) -> None:
    s = service.kpi_summary(shop.db_url, shop.store_id, D("2024-03-01"), D("2024-03-02"))
    assert s["gmv"] - s["goods_gmv"] == Decimal("10.00")
    assert s["freight"] == Decimal("10.00")
    with pytest.raises(TypeError):  # the old switch is gone: gmv is 商智's, with freight
        service.kpi_summary(shop.db_url, shop.store_id, D("2024-03-01"), D("2024-03-02"),
                            with_freight=True)


def test_refunds_count_on_refund_day_not_order_day(shop: Facts) -> None:
    day1 = service.kpi_summary(shop.db_url, shop.store_id, D("2024-03-01"), D("2024-03-01"))
    day2 = service.kpi_summary(shop.db_url, shop.store_id, D("2024-03-02"), D("2024-03-02"))
    assert day1["refund_amount"] == Decimal("0.00") and day1["refund_rate"] == 0.0
    assert day2["refund_amount"] == Decimal("30.00")
    assert day2["refund_rate"] == 1.5  # 30 refunded on a day that sold 20
    # one order of alice per period on day 2: nobody repurchased within the day
    assert day2["repurchase_rate"] == 0.0


def test_empty_period_zero_sums_and_null_ratios(shop: Facts) -> None:
    s = service.kpi_summary(shop.db_url, shop.store_id, D("2023-01-01"), D("2023-01-31"))
    # no orders is a true zero; no traffic rows means the visitors are unknown, not zero
    assert s["gmv"] == Decimal("0.00") and s["orders"] == 0 and s["ad_spend"] == Decimal("0.00")
    assert s["uv"] is None and s["pv"] is None and s["exposure"] is None
    for key in ("aov", "refund_rate", "repurchase_rate", "conversion_rate", "uv_value",
                "bounce_rate", "add_to_cart_rate", "click_through_rate", "roas",
                "placed_conversion_rate", "repurchase_rate_30d", "repurchase_rate_90d"):
        assert s[key] is None, key
    # products are on sale but nothing sold: sell-through is a real 0
    assert s["sell_through"] == 0.0


def test_traffic_rows_with_zero_visitors_are_a_real_zero(shop: Facts) -> None:
    shop.traffic("2023-01-05", shop.a, "search", uv=0, pv=0, exposure=0, clicks=0, cart=0,
                 bounce=0)
    s = service.kpi_summary(shop.db_url, shop.store_id, D("2023-01-01"), D("2023-01-31"))
    assert s["uv"] == 0 and s["pv"] == 0 and s["conversion_rate"] is None
    days = service.kpi_series(shop.db_url, shop.store_id, D("2023-01-04"), D("2023-01-05"))
    assert [d["uv"] for d in days] == [None, 0]


def test_zero_denominators_are_none_not_errors() -> None:
    values = derive({"goods_gmv": 1000, "uv": 0, "buyers": 0, "exposure": 0})
    assert values["aov"] is None and values["uv_value"] is None
    assert values["click_through_rate"] is None and values["sell_through"] is None
    assert values["gmv"] == Decimal("10.00")


def test_guest_orders_each_count_as_a_buyer(db_url: str) -> None:
    f = Facts(db_url)
    p = f.product("P")
    for hour in (9, 10, 11):
        f.order(f"2024-05-01 {hour:02d}:00", [(p, 1, 100)], customer=None)
    s = service.kpi_summary(db_url, f.store_id, D("2024-05-01"), D("2024-05-01"))
    assert s["buyers"] == 3
    assert s["repurchase_rate"] is None  # no identified customer at all


def test_day_cut_follows_store_timezone_at_midnight(db_url: str) -> None:
    f = Facts(db_url, tz="Asia/Shanghai")
    p = f.product("P")
    f.order("2024-06-01 23:59", [(p, 1, 100)])  # 15:59 UTC on 06-01
    f.order("2024-06-02 00:00", [(p, 1, 200)])  # 16:00 UTC on 06-01, but 06-02 locally
    rows = service.kpi_series(db_url, f.store_id, D("2024-06-01"), D("2024-06-02"), by="day")
    assert [(r["period"], r["gmv"]) for r in rows] == [
        ("2024-06-01", Decimal("1.00")), ("2024-06-02", Decimal("2.00")),
    ]


def test_series_week_and_month_labels_zero_filled(shop: Facts) -> None:
    # 2024-02-26 is Monday of ISO week 9; 2024-03-01 is Friday of the same week
    weeks = service.kpi_series(shop.db_url, shop.store_id, D("2024-02-20"), D("2024-03-12"),
                               by="week")
    assert [r["period"] for r in weeks] == ["2024-W08", "2024-W09", "2024-W10", "2024-W11"]
    assert weeks[0]["gmv"] == Decimal("0.00") and weeks[0]["aov"] is None
    assert weeks[1]["gmv"] == Decimal("245.00") and weeks[1]["repurchase_rate"] == 1.0
    assert weeks[1]["ad_spend"] == Decimal("50.00")
    months = service.kpi_series(shop.db_url, shop.store_id, D("2024-02-01"), D("2024-03-31"),
                                by="month")
    assert [(r["period"], r["orders"]) for r in months] == [("2024-02", 0), ("2024-03", 4)]
    days = service.kpi_series(shop.db_url, shop.store_id, D("2024-03-01"), D("2024-03-03"))
    assert [r["orders"] for r in days] == [3, 1, 0]
    assert [r["placed_orders"] for r in days] == [5, 1, 0]
    assert days[2]["conversion_rate"] is None


def test_iso_week_label_uses_iso_year(db_url: str) -> None:
    f = Facts(db_url)
    p = f.product("P")
    f.order("2021-01-02 12:00", [(p, 1, 100)])  # Saturday, ISO week 53 of 2020
    rows = service.kpi_series(db_url, f.store_id, D("2020-12-31"), D("2021-01-04"), by="week")
    assert [r["period"] for r in rows] == ["2020-W53", "2021-W01"]
    assert rows[0]["gmv"] == Decimal("1.00")


def test_periods_outside_the_usual_calendar_years(db_url: str) -> None:
    # The calendar table that cuts periods starts in 2000; older data must extend it.
    f = Facts(db_url)
    p = f.product("P")
    f.order("1998-12-31 12:00", [(p, 2, 100)])
    f.order("2045-06-01 12:00", [(p, 1, 300)])
    old = service.kpi_series(db_url, f.store_id, D("1998-12-01"), D("1999-01-31"), by="month")
    assert [(r["period"], r["units"]) for r in old] == [("1998-12", 2), ("1999-01", 0)]
    late = service.kpi_series(db_url, f.store_id, D("2045-06-01"), D("2045-06-02"))
    assert [(r["period"], r["gmv"]) for r in late] == [("2045-06-01", Decimal("3.00")),
                                                      ("2045-06-02", Decimal("0.00"))]


def test_kpi_by_sku_category_and_source(shop: Facts) -> None:
    first, last = D("2024-03-01"), D("2024-03-02")
    skus = service.kpi_by(shop.db_url, shop.store_id, first, last, dimension="sku")
    # C was only in a cancelled order: listed (it was ordered) with nothing sold
    assert [r["platform_sku_id"] for r in skus] == ["A", "B", "C"]
    assert skus[2]["gmv"] == Decimal("0.00") and skus[2]["orders"] == 0
    assert skus[2]["placed_orders"] == 1 and skus[2]["placed_amount"] == Decimal("999.99")
    # B: bob's unpaid order is placed, not a deal
    assert skus[1]["gmv"] == Decimal("70.00") and skus[1]["placed_amount"] == Decimal("160.00")
    a = skus[0]
    # by SKU gmv is the goods alone: an order's freight is not split over its SKUs
    assert a["gmv"] == a["goods_gmv"] == Decimal("165.00")
    assert a["units"] == 4 and a["orders"] == 3
    assert a["buyers"] == 2 and a["uv"] == 150 and a["refund_amount"] == Decimal("30.00")
    assert a["title"] == "TA" and a["category"] == "shoes" and a["status"] == "on_sale"
    assert a["conversion_rate"] == pytest.approx(2 / 150, abs=1e-6)
    assert a["ad_spend"] is None and a["roas"] is None  # not cut by SKU
    assert a["repurchase_rate_30d"] is None  # trailing windows end on a period's last day
    assert a["sell_through"] == 1.0

    cats = service.kpi_by(shop.db_url, shop.store_id, first, last, dimension="category")
    assert [(r["category"], r["gmv"]) for r in cats] == [
        ("shoes", Decimal("235.00")), ("hats", Decimal("0.00"))]
    assert cats[0]["sell_through"] == 1.0

    sources = service.kpi_by(shop.db_url, shop.store_id, first, last, dimension="source",
                             metrics=["gmv", "uv", "sell_through"], order_by="uv")
    by_source = {r["source"]: r for r in sources}
    # by source an order is whole: goods 185.00 + freight 10.00
    assert by_source["app"]["gmv"] == Decimal("195.00")
    assert by_source["pc"]["gmv"] == Decimal("50.00")
    assert by_source["search"]["uv"] == 150 and by_source["search"]["gmv"] == Decimal("0.00")
    assert all(r["sell_through"] is None for r in sources)
    assert sources[0]["source"] == "search"  # ordered by uv
    assert set(sources[0]) == {"source", "gmv", "uv", "sell_through"}


def test_kpi_by_limit_order_and_errors(shop: Facts) -> None:
    first, last = D("2024-03-01"), D("2024-03-02")
    top = service.kpi_by(shop.db_url, shop.store_id, first, last, dimension="sku", limit=1,
                         order_by="units", descending=False)
    assert [(r["platform_sku_id"], r["units"]) for r in top] == [("C", 0)]
    top2 = service.kpi_by(shop.db_url, shop.store_id, first, last, dimension="sku", limit=2,
                          order_by="units")
    assert [(r["platform_sku_id"], r["units"]) for r in top2] == [("A", 4), ("B", 2)]
    # only sales asked for: the SKU seen only in a cancelled order has no row
    sold = service.kpi_by(shop.db_url, shop.store_id, first, last, dimension="sku",
                          metrics=["gmv", "units"])
    assert [(r["platform_sku_id"], r["gmv"], r["units"]) for r in sold] == [
        ("A", Decimal("165.00"), 4), ("B", Decimal("70.00"), 2)]
    assert set(sold[0]) == {"product_id", "platform_sku_id", "title", "category", "status",
                            "gmv", "units"}
    with pytest.raises(StoreopsError):
        service.kpi_by(shop.db_url, shop.store_id, first, last, dimension="colour")
    with pytest.raises(StoreopsError):
        service.kpi_by(shop.db_url, shop.store_id, first, last, dimension="sku",
                       order_by="nope")
    with pytest.raises(StoreopsError):
        service.kpi_summary(shop.db_url, shop.store_id, last, first)


@pytest.mark.parametrize("dimension", ["sku", "category", "source"])
def test_top_n_matches_the_full_ranking(shop: Facts, dimension: str) -> None:
    first, last = D("2024-03-01"), D("2024-03-02")
    full = service.kpi_by(shop.db_url, shop.store_id, first, last, dimension=dimension)
    for n in (1, 2):
        top = service.kpi_by(shop.db_url, shop.store_id, first, last, dimension=dimension,
                             limit=n)
        assert top == full[:n]
    top = service.kpi_by(shop.db_url, shop.store_id, first, last, dimension="sku", limit=1,
                         metrics=["gmv", "sell_through", "refund_amount"])
    assert top[0]["platform_sku_id"] == "A" and top[0]["sell_through"] == 1.0
    assert top[0]["refund_amount"] == Decimal("30.00")


def test_funnel_and_weakest_step(shop: Facts) -> None:
    f = service.funnel(shop.db_url, shop.store_id, D("2024-03-01"), D("2024-03-02"))
    steps = {s["key"]: s for s in f["steps"]}
    assert [s["key"] for s in f["steps"]] == ["exposure", "click", "cart", "order", "pay"]
    assert steps["exposure"]["value"] == 4000 and steps["exposure"]["rate"] is None
    assert steps["click"]["rate"] == pytest.approx(300 / 4000)
    assert steps["cart"]["rate"] == pytest.approx(45 / 300)
    assert steps["order"]["value"] == 6  # 下单: every order placed, cancelled/unpaid included
    assert steps["pay"]["value"] == 4  # 成交: paid and not cancelled
    # order: 6/45 = 0.133 against a low end of 0.30 is the furthest below its range
    assert f["weakest"] == "order"


def test_traffic_by_source_shares(shop: Facts) -> None:
    rows = service.traffic_by_source(shop.db_url, shop.store_id, D("2024-03-01"),
                                     D("2024-03-02"))
    assert rows == [
        {"source": "search", "uv": 150, "pv": 400, "share": 0.75},
        {"source": "recommend", "uv": 50, "pv": 80, "share": 0.25},
    ]


def test_compare_with_previous_period(shop: Facts) -> None:
    c = service.compare(shop.db_url, shop.store_id, D("2024-03-02"), D("2024-03-02"))
    assert c["previous_period"] == {"from": D("2024-03-01"), "to": D("2024-03-01")}
    assert c["current"]["gmv"] == Decimal("20.00")
    assert c["previous"]["gmv"] == Decimal("225.00")
    assert c["change"]["gmv"] == pytest.approx(-205 / 225, abs=1e-6)
    assert c["change"]["ad_spend"] is None  # no spend the day before: no base


def test_every_metric_declares_labels_and_cuts() -> None:
    for key in METRIC_KEYS:
        m = METRICS[key]
        assert m.label_zh and m.label_en and m.unit in ("money", "count", "rate")
        assert {"day", "week", "month"} <= m.cuts
    assert METRICS["gmv"].label_zh == "成交金额" and METRICS["roas"].label_zh == "投入产出比(ROAS)"


def test_sell_through_never_passes_100_percent(db_url: str) -> None:
    f = Facts(db_url)
    live, gone = f.product("L"), f.product("G", status="off_shelf")
    f.product("I")  # on sale, no sale
    f.order("2024-05-01 10:00", [(live, 1, 1000), (gone, 1, 1000)])
    s = service.kpi_summary(db_url, f.store_id, D("2024-05-01"), D("2024-05-01"))
    # L sold and is on sale; G sold but is off sale now, so it is in neither count; I idle
    assert s["sell_through"] == 0.5
    cats = service.kpi_by(db_url, f.store_id, D("2024-05-01"), D("2024-05-01"),
                          dimension="category")
    assert cats[0]["sell_through"] == 0.5
    skus = {r["platform_sku_id"]: r for r in service.kpi_by(
        db_url, f.store_id, D("2024-05-01"), D("2024-05-01"), dimension="sku")}
    assert skus["L"]["sell_through"] == 1.0 and skus["G"]["sell_through"] is None
    assert skus["G"]["gmv"] == Decimal("10.00")  # its sales still count in GMV
