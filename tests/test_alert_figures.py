"""What alert rules measure (storeops.alerts.figures): the KPI figures equal `storeops kpi`
for the same day and scope to the cent, and each special figure on small hand-built data, on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from test_metric_facts import Facts

from storeops.ads.models import AdSpendDaily
from storeops.alerts import figures
from storeops.alerts.figures import FiguresError, Point, series
from storeops.catalog.stores import bump_data_version
from storeops.common.errors import localise
from storeops.db.engine import unit_of_work
from storeops.metrics import service
from storeops.metrics.definitions import METRIC_KEYS, METRICS
from storeops.metrics.targets import set_target, target_progress
from storeops.sim.writer import build_demo_store

D = date.fromisoformat
END = date(2026, 3, 20)
# 10:00 in Shanghai on the day after END: the last closed day is END
AS_OF = datetime(2026, 3, 21, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _warehouse_in_tmp(tmp_path, monkeypatch):  # noqa: ANN001, ANN202
    monkeypatch.setenv("STOREOPS_WAREHOUSE_DIR", str(tmp_path / "wh"))
    figures.clear_cache()


def _kpi_value(value: object) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)  # type: ignore[arg-type]


def _by_day(found: list[figures.ScopeSeries]) -> dict[str, dict[str, Decimal | None]]:
    return {s.scope_key: {p.period: p.value for p in s.points} for s in found}


def test_kpi_figures_equal_storeops_kpi_per_day_and_scope(db_url: str) -> None:
    stats = build_demo_store(db_url, days=7, end=END, seed=5, skus=8)
    sid = stats.store_id
    days = [END - timedelta(days=i) for i in (0, 1, 4)]
    # The store: every metric of the cockpit, each day, to the cent.
    for metric in METRIC_KEYS:
        got = series(db_url, sid, metric, {"kind": "store"}, "daily", AS_OF, 7)
        assert len(got) == 1 and got[0].scope_key == "store" and len(got[0].points) == 7
        assert got[0].points[-1].period == "2026-03-20"
        values = _by_day(got)["store"]
        for day in days:
            kpi = service.kpi_summary(db_url, sid, day, day)
            assert values[day.isoformat()] == _kpi_value(kpi[metric]), (metric, day)
    # The top SKUs by GMV over the window, each day, against the SKU's own summary.
    top = service.kpi_by(db_url, sid, END - timedelta(days=6), END, dimension="sku",
                         metrics=["gmv"], limit=3)
    sku_metrics = ("gmv", "units", "orders", "buyers", "aov", "uv", "conversion_rate",
                   "refund_amount", "add_to_cart_rate")
    for metric in sku_metrics:
        got = series(db_url, sid, metric, {"kind": "sku", "top": 3}, "daily", AS_OF, 7)
        assert [s.scope_key for s in got] == [f"sku:{r['platform_sku_id']}" for r in top]
        values = _by_day(got)
        for row in top:
            for day in days:
                kpi = service.kpi_summary(db_url, sid, day, day, product_id=row["product_id"])
                assert values[f"sku:{row['platform_sku_id']}"][day.isoformat()] == _kpi_value(
                    kpi[metric]), (metric, row["platform_sku_id"], day)
    one = top[1]["platform_sku_id"]
    got = series(db_url, sid, "gmv", {"kind": "sku", "value": one}, "daily", AS_OF, 7)
    assert [s.scope_key for s in got] == [f"sku:{one}"]
    # Categories and sources: as `storeops kpi --by category|source` for one day.
    for kind, metrics in (("category", ("gmv", "orders", "refund_rate", "sell_through", "uv")),
                          ("source", ("gmv", "uv", "conversion_rate", "bounce_rate"))):
        for metric in metrics:
            values = _by_day(series(db_url, sid, metric, {"kind": kind, "value": "all"},
                                    "daily", AS_OF, 7))
            for day in days:
                rows = service.kpi_by(db_url, sid, day, day, dimension=kind, metrics=[metric])
                assert rows
                for row in rows:
                    assert values[f"{kind}:{row[kind]}"][day.isoformat()] == _kpi_value(
                        row[metric]), (kind, metric, row[kind], day)


def test_window_ends_on_the_last_closed_store_local_day(db_url: str) -> None:
    f = Facts(db_url)
    a = f.product("A")
    f.order("2024-03-01 09:00", [(a, 1, 10000)])
    f.order("2024-03-02 23:30", [(a, 1, 2000)])
    f.order("2024-03-03 00:30", [(a, 1, 500)])
    # 2024-03-02 17:00 UTC is 2024-03-03 01:00 in Shanghai: 03-02 is the last closed day.
    as_of = datetime(2024, 3, 2, 17, 0, tzinfo=UTC)
    daily = series(db_url, f.store_id, "gmv", {"kind": "store"}, "daily", as_of, 3)
    # Before the store's first fact there is no history: None, not a zero.
    assert daily[0].points == [Point("2024-02-29", None),
                               Point("2024-03-01", Decimal("100.00")),
                               Point("2024-03-02", Decimal("20.00"))]
    # Intraday: today so far, against the day before up to the same time (01:00).
    today = series(db_url, f.store_id, "gmv", {"kind": "store"}, "intraday", as_of, 2)
    assert today[0].points == [Point("2024-03-02", Decimal("0.00")),
                               Point("2024-03-03", Decimal("5.00"))]
    # No traffic imported: visitors are unknown, not zero.
    uv = series(db_url, f.store_id, "uv", {"kind": "store"}, "daily", as_of, 1)
    assert uv[0].points == [Point("2024-03-02", None)]
    # An unknown SKU has no series; a category filter keeps its own.
    assert series(db_url, f.store_id, "gmv", {"kind": "sku", "value": "nope"}, "daily",
                  as_of, 3) == []
    cat = series(db_url, f.store_id, "gmv", {"kind": "category", "value": "cat"}, "daily",
                 as_of, 2)
    assert [(s.scope_key, [p.value for p in s.points]) for s in cat] == [
        ("category:cat", [Decimal("100.00"), Decimal("20.00")])]
    # An order imported since is in the next check's figures (the data version moved).
    f.order("2024-03-02 08:00", [(a, 2, 3000)])
    again = series(db_url, f.store_id, "gmv", {"kind": "store"}, "daily", as_of, 1)
    assert again[0].points == [Point("2024-03-02", Decimal("50.00"))]


@pytest.mark.parametrize(("metric", "scope", "key"), [
    ("nope", {"kind": "store"}, "alerts.figures.unknown_metric"),
    ("ad_spend", {"kind": "sku", "value": "all"}, "alerts.figures.metric_scope"),
    ("repurchase_rate_30d", {"kind": "category", "value": "all"}, "alerts.figures.metric_scope"),
    ("gmv", {"kind": "warehouse"}, "alerts.figures.unknown_scope"),
    ("gmv_pace", {"kind": "sku", "value": "all"}, "alerts.figures.metric_scope"),
])
def test_a_figure_that_cannot_be_measured_is_a_clear_error(metric, scope, key) -> None:  # noqa: ANN001
    with pytest.raises(FiguresError) as err:
        figures.check_metric_scope(metric, scope)
    assert err.value.key == key
    assert metric in str(err.value) or scope["kind"] in str(err.value)
    said = localise(err.value, "zh-CN")
    assert said != str(err.value) and (metric in said or scope["kind"] in said)


def test_bad_grain_or_periods_is_an_error() -> None:
    with pytest.raises(FiguresError, match="grain"):
        figures.window(AS_OF, "Asia/Shanghai", "hourly", 3)
    with pytest.raises(FiguresError, match="periods"):
        figures.window(AS_OF, "Asia/Shanghai", "daily", 0)


def test_source_share_of_visitors(db_url: str) -> None:
    f = Facts(db_url)
    a, b = f.product("A"), f.product("B")
    f.traffic("2024-03-01", a, "search", uv=70)
    f.traffic("2024-03-01", b, "search", uv=5)
    f.traffic("2024-03-01", a, "recommend", uv=25)
    f.traffic("2024-03-02", a, "recommend", uv=10)
    as_of = datetime(2024, 3, 3, 4, tzinfo=UTC)
    got = _by_day(series(db_url, f.store_id, "source_share",
                         {"kind": "source", "value": "all"}, "daily", as_of, 3))
    assert got == {
        "source:recommend": {"2024-02-29": None, "2024-03-01": Decimal("0.25"),
                             "2024-03-02": Decimal("1.0")},
        "source:search": {"2024-02-29": None, "2024-03-01": Decimal("0.75"),
                          "2024-03-02": Decimal("0")},
    }
    only = series(db_url, f.store_id, "source_share", {"kind": "source", "value": "search"},
                  "daily", as_of, 1)
    assert [(s.scope_key, s.unit, s.points[0].value) for s in only] == [
        ("source:search", "rate", Decimal("0"))]


def test_gmv_pace_against_the_months_target(db_url: str) -> None:
    f = Facts(db_url)
    a = f.product("A")
    f.order("2024-02-28 10:00", [(a, 1, 999900)])  # last month: not in March's pace
    f.order("2024-03-01 10:00", [(a, 1, 100000)], freight=1000)
    f.order("2024-03-02 10:00", [(a, 1, 50000)])
    with unit_of_work(db_url) as s:
        set_target(s, f.store_id, "2024-03", "gmv", Decimal("31000"))
    as_of = datetime(2024, 3, 3, 4, tzinfo=UTC)
    (got,) = series(db_url, f.store_id, "gmv_pace", {"kind": "store"}, "daily", as_of, 3)
    # 03-01: 1010.00 against 1000.00 to date; 03-02: 1510.00 against 2000.00; February has
    # no target.
    assert got.points == [Point("2024-02-29", None), Point("2024-03-01", Decimal("1.01")),
                          Point("2024-03-02", Decimal("0.755"))]
    assert got.unit == "rate"
    assert got.detail["target"] == Decimal("31000")
    assert got.detail["expected_to_date"] == Decimal("2000.00")
    assert got.detail["actual_to_date"] == Decimal("1510.00")
    progress = target_progress(db_url, f.store_id, "2024-03", D("2024-03-02"))
    assert float(got.points[-1].value) == progress["metrics"]["gmv"]["pace"]


def test_stock_cover_in_days_of_sales(db_url: str) -> None:
    from storeops.catalog.models import Product
    from storeops.inventory.models import StockMovement
    from storeops.inventory.service import receive, set_safety_buffer

    f = Facts(db_url)
    a, b, c, d = f.product("A"), f.product("B"), f.product("C"), f.product("OFF",
                                                                          status="off_shelf")
    # A: 56 units sold in the 28 days to 03-30 (2 a day); B: 28 (1 a day); C: none.
    f.order("2024-03-05 10:00", [(a, 56, 5600), (b, 28, 2800)])
    f.order("2024-03-02 10:00", [(a, 100, 10000)])  # before 03-03, the 28 days' first day
    with unit_of_work(db_url) as s:
        for pid, units in ((a, 10), (b, 60), (c, 5), (d, 1)):
            s.get(Product, pid).stock = units
        bump_data_version(s, f.store_id)
    as_of = datetime(2024, 3, 31, 4, tzinfo=UTC)  # 12:00 in Shanghai: 03-30 is the last day
    got = {s.scope_key: s for s in series(db_url, f.store_id, "stock_cover",
                                          {"kind": "sku", "value": "all"}, "daily", as_of, 2)}
    assert set(got) == {"sku:A", "sku:B", "sku:C"}  # on sale only
    # The products' stock figure is known now only: the last day has it, the day before not.
    assert got["sku:A"].points == [Point("2024-03-29", None),
                                   Point("2024-03-30", Decimal("5.0"))]  # 10 units / 2 a day
    assert got["sku:B"].points[-1].value == Decimal("60.0")
    assert got["sku:C"].points[-1].value is None  # no sales: no cover to speak of
    assert got["sku:A"].detail["safety_days"] == Decimal("7")
    assert got["sku:A"].detail["max_days"] == Decimal("45")
    assert got["sku:A"].detail["daily_units"] == Decimal("2.00")
    assert got["sku:A"].unit == "days"
    # The inventory ledger, where a SKU has one, wins over the products' stock figure and
    # gives past days too; its safety buffer becomes the SKU's safety line in days when that
    # is longer than 7.
    with unit_of_work(db_url) as s:
        receive(s, f.store_id, "A", 40, actor="test")
        set_safety_buffer(s, f.store_id, "A", 30)
        for move in s.query(StockMovement).filter(StockMovement.store_id == f.store_id):
            move.at = f.at("2024-03-30 09:00")  # received on the 30th
        bump_data_version(s, f.store_id)
    figures.clear_cache()
    (a_now,) = series(db_url, f.store_id, "stock_cover", {"kind": "sku", "value": "A"},
                      "daily", as_of, 2)
    # 03-29: nothing yet (0 days, whatever the sales); 03-30: 40 units / 2 a day.
    assert a_now.points == [Point("2024-03-29", Decimal("0.0")),
                            Point("2024-03-30", Decimal("20.0"))]
    assert a_now.detail["available"] == 40
    assert a_now.detail["safety_days"] == Decimal("15.0")  # 30 units / 2 a day
    # A check at 12:00 on the 30th, today so far: the receipt at 09:00 is in.
    (today,) = series(db_url, f.store_id, "stock_cover", {"kind": "sku", "value": "A"},
                      "intraday", datetime(2024, 3, 30, 4, tzinfo=UTC), 1)
    assert today.points == [Point("2024-03-30", Decimal("20.0"))]


def test_ship_deadline_counts_open_orders_due_soon_or_late(db_url: str) -> None:
    from storeops.orders.models import Order

    f = Facts(db_url)
    a = f.product("A")
    # as_of: 2024-03-02 12:00 Shanghai. Paid 21 h before: due in 3 h (soon); 30 h before:
    # late; 10 h before: due in 14 h (not yet); shipped or unpaid: nothing owed.
    f.order("2024-03-01 15:00", [(a, 1, 100)], status="wait_stock_out")
    f.order("2024-03-01 06:00", [(a, 1, 100)], status="wait_stock_out")
    f.order("2024-03-02 02:00", [(a, 1, 100)], status="wait_stock_out")
    f.order("2024-03-01 05:00", [(a, 1, 100)], status="shipped")
    f.order("2024-03-01 05:00", [(a, 1, 100)], status="wait_pay", paid=False)
    # A day earlier (03-01 12:00): one order was late then (due 10:00, shipped 14:00) and one
    # due soon (due 14:00, cancelled at 13:00); both owe nothing now.
    shipped_late = f.order("2024-02-29 10:00", [(a, 1, 100)], status="shipped")
    f.order("2024-02-29 14:00", [(a, 1, 100)], cancelled="2024-03-01 13:00")
    with unit_of_work(db_url) as s:
        s.get(Order, shipped_late).shipped_at = f.at("2024-03-01 14:00")
    as_of = datetime(2024, 3, 2, 4, 0, tzinfo=UTC)
    (soon_or_late,) = series(db_url, f.store_id, "ship_deadline", {"kind": "store"},
                             "intraday", as_of, 2)
    assert soon_or_late.points == [Point("2024-03-01", Decimal(2)),
                                   Point("2024-03-02", Decimal(2))]
    assert soon_or_late.detail == {"due_soon": 1, "overdue": 1, "hours": 24}
    (late,) = series(db_url, f.store_id, "ship_overdue", {"kind": "store"}, "intraday",
                     as_of, 2)
    assert [p.value for p in late.points] == [Decimal(1), Decimal(1)]
    # A daily check (and a backtest) reads the closed days at the same time of day.
    (daily,) = series(db_url, f.store_id, "ship_deadline", {"kind": "store"}, "daily",
                      as_of, 2)
    assert daily.points == [Point("2024-02-29", Decimal(0)), Point("2024-03-01", Decimal(2))]
    # Rebuilt from the orders' times, the moment of the check counts as the SLA board does.
    from storeops.alerts.figures import _past_due_counts

    with unit_of_work(db_url) as s:
        assert _past_due_counts(s, f.store_id, 24, [as_of]) == [(1, 1)]


def test_campaign_cost_per_click(db_url: str) -> None:
    f = Facts(db_url)
    with unit_of_work(db_url) as s:
        for day, campaign, spend, clicks, gmv in (
            ("2024-03-01", "快车-搜索", 16000, 10, 40000),
            ("2024-03-02", "快车-搜索", 3000, 2, 3000),
            ("2024-03-02", "展位", 5000, 0, 0),
        ):
            s.add(AdSpendDaily(store_id=f.store_id, day=D(day), campaign=campaign,
                               spend_cents=spend, clicks=clicks, attributed_gmv_cents=gmv))
        bump_data_version(s, f.store_id)
    as_of = datetime(2024, 3, 3, 4, tzinfo=UTC)
    got = _by_day(series(db_url, f.store_id, "campaign_cpc",
                         {"kind": "campaign", "value": "all"}, "daily", as_of, 2))
    assert got == {
        "campaign:快车-搜索": {"2024-03-01": Decimal("16.00"), "2024-03-02": Decimal("15.00")},
        "campaign:展位": {"2024-03-01": None, "2024-03-02": None},  # no clicks: no CPC
    }
    store = _by_day(series(db_url, f.store_id, "campaign_cpc", {"kind": "store"}, "daily",
                           as_of, 2))
    assert store == {"store": {"2024-03-01": Decimal("16.00"), "2024-03-02": Decimal("40.00")}}
    roas = _by_day(series(db_url, f.store_id, "roas", {"kind": "campaign", "value": "快车-搜索"},
                          "daily", as_of, 2))
    assert roas == {"campaign:快车-搜索": {"2024-03-01": Decimal("2.5"),
                                         "2024-03-02": Decimal("1.0")}}
    # The store's ROAS per day is the KPI engine's.
    kpi = service.kpi_summary(db_url, f.store_id, D("2024-03-02"), D("2024-03-02"))
    (day2,) = series(db_url, f.store_id, "roas", {"kind": "store"}, "daily", as_of, 1)
    assert day2.points[0].value == Decimal(repr(kpi["roas"])) == Decimal("0.375")


def test_every_metric_has_a_unit() -> None:
    for metric in (*METRICS, *figures.SPECIAL_METRICS):
        assert figures._unit(metric) in ("money", "rate", "count", "days")


def test_too_many_figures_at_once_is_an_error(db_url: str, monkeypatch) -> None:  # noqa: ANN001
    f = Facts(db_url)
    a, b = f.product("A"), f.product("B")
    f.order("2024-03-01 09:00", [(a, 1, 100), (b, 1, 100)])
    as_of = datetime(2024, 3, 3, 4, tzinfo=UTC)
    monkeypatch.setattr(figures, "MAX_POINTS", 5)
    with pytest.raises(FiguresError) as err:
        series(db_url, f.store_id, "gmv", {"kind": "sku", "value": "all"}, "daily", as_of, 3)
    assert err.value.key == "alerts.figures.too_many" and "top N" in str(err.value)
    # A top N within the limit is fine.
    assert len(series(db_url, f.store_id, "gmv", {"kind": "sku", "top": 1}, "daily", as_of,
                      3)) == 1


def test_intraday_figures_are_each_day_up_to_the_same_time(db_url: str) -> None:
    from storeops.metrics.realtime import realtime
    from storeops.metrics.realtime_query import window_orders

    f = Facts(db_url)
    a = f.product("A")
    alice = f.customer("alice")
    f.order("2024-03-01 09:00", [(a, 1, 10000)], customer=alice, freight=600)
    f.order("2024-03-01 15:00", [(a, 1, 20000)])  # after 12:00: not in 03-01's point
    f.order("2024-03-02 08:00", [(a, 2, 5000)], customer=alice)
    f.order("2024-03-02 11:00", [(a, 1, 3000)], paid="2024-03-02 13:00")  # paid after 12:00
    f.order("2024-03-03 10:00", [(a, 1, 7000)])
    f.order("2024-03-03 11:30", [(a, 1, 1000)], paid=False)
    as_of = datetime(2024, 3, 3, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai on 03-03
    got = {m: series(db_url, f.store_id, m, {"kind": "store"}, "intraday", as_of, 4)[0]
           for m in ("gmv", "orders", "placed_orders", "placed_amount", "aov")}
    assert [p.value for p in got["gmv"].points] == [
        None, Decimal("106.00"), Decimal("50.00"), Decimal("70.00")]  # 02-29: before the store
    assert [p.value for p in got["orders"].points] == [None, Decimal(1), Decimal(1), Decimal(1)]
    assert [p.value for p in got["placed_orders"].points][1:] == [Decimal(1), Decimal(2),
                                                                  Decimal(2)]
    assert got["placed_amount"].points[-1].value == Decimal("80.00")
    assert got["gmv"].detail == {"time_of_day": "12:00"}
    # The last two points are 今日实时's today and yesterday up to the same time.
    view = realtime(window_orders(db_url, f.store_id, D("2024-03-02"), D("2024-03-03"),
                                  f.at("2024-03-02 00:00"), f.at("2024-03-04 00:00")),
                    as_of, "Asia/Shanghai")
    for metric in ("gmv", "orders", "aov"):
        assert got[metric].points[-1].value == _kpi_value(view.today[metric])
        assert got[metric].points[-2].value == _kpi_value(view.yesterday[metric])
    # Other metrics, or a daily check, read whole days.
    (daily,) = series(db_url, f.store_id, "gmv", {"kind": "store"}, "daily", as_of, 2)
    assert [p.value for p in daily.points] == [Decimal("306.00"), Decimal("80.00")]
