"""A cold overview reads its figures in a few statements, and they are the figures the separate
service calls give (SQLite and PostgreSQL)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from test_metric_facts import Facts

from storeops.metrics import cache, service, warehouse
from storeops.metrics.cockpit import overview_figures
from storeops.metrics.periods import previous_period

D = date.fromisoformat
FIRST, LAST = D("2024-03-05"), D("2024-04-03")  # 30 days across a month's end
METRICS = ["gmv", "orders", "units", "uv", "conversion_rate", "add_to_cart_rate"]


@pytest.fixture(autouse=True)
def _fresh(tmp_path, monkeypatch):  # noqa: ANN001, ANN202
    monkeypatch.setenv("STOREOPS_WAREHOUSE_DIR", str(tmp_path / "wh"))
    cache.results.clear()
    yield
    cache.results.clear()


@pytest.fixture
def shop(db_url: str) -> Facts:
    """Three months of every kind of order (paid late, cash on delivery, unpaid, cancelled the
    same day and later, guests, repeat buyers), refunds, traffic and ad spend."""
    rng = random.Random(11)
    f = Facts(db_url)
    with f.batch():  # one transaction: ~200 commits cost seconds on PostgreSQL
        products = [f.product(f"S{i}", category=f"c{i % 3}", status="on_sale" if i % 4 else
                              "off_shelf") for i in range(8)]
        customers = [f.customer(f"u{i}") for i in range(12)] + [None, None]
        start = D("2024-01-20")
        for _ in range(90):
            day = start + timedelta(days=rng.randrange(76))
            when = f"{day} {rng.randrange(24):02d}:{rng.randrange(60):02d}"
            kind = rng.randrange(6)
            pay = day + timedelta(days=rng.choice([0, 0, 1]))
            f.order(
                when, [(rng.choice(products), rng.randint(1, 3), rng.randint(100, 9000))
                       for _ in range(rng.randint(1, 3))],
                customer=rng.choice(customers), freight=rng.choice([0, 0, 600]),
                source=rng.choice(["app", "pc", None]), cod=kind == 1,
                paid=False if kind in (1, 2) else f"{pay} 23:5{rng.randrange(10)}",
                cancelled=(f"{pay + timedelta(days=rng.choice([0, 2]))} 23:59" if kind == 3
                           else None),
                status="cancelled" if kind == 4 else "finished",
            )
        for i in range(10):
            f.refund(f"{start + timedelta(days=7 * i)} 12:00", 300 + i,
                     product=products[i % len(products)])
        for i in range(0, 76, 2):
            day = str(start + timedelta(days=i))
            f.traffic(day, products[i % 8], rng.choice(["search", "campaign"]), uv=50 + i, pv=120,
                      exposure=900, clicks=60, cart=9, bounce=20)
            f.ad(day, 1000 + i, 4000)
    return f


def _overview(f: Facts, first: date, last: date, by: str) -> dict[str, Any]:
    return overview_figures(f.db_url, f.store_id, first, last, series_by=by, top=5,
                            top_metrics=METRICS)


def _separately(f: Facts, first: date, last: date, by: str) -> dict[str, Any]:
    """The same figures from the service calls on their own, nothing cached."""
    cache.results.clear()
    url, sid = f.db_url, f.store_id
    comparison = service.compare(url, sid, first, last)
    return {
        "comparison": comparison,
        "series": service.kpi_series(url, sid, first, last, by=by),
        "sources": service.traffic_by_source(url, sid, first, last),
        "funnel": service.funnel_from_facts(comparison["current"]),
        "top": service.kpi_by(url, sid, first, last, dimension="sku", limit=5,
                              metrics=METRICS),
        "month_to_date": service.kpi_summary(url, sid, last.replace(day=1), last),
    }


def _count_statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = warehouse.Warehouse.run

    def counting(self, sql, params=()):  # noqa: ANN001, ANN202
        seen.append(sql)
        return real(self, sql, params)

    monkeypatch.setattr(warehouse.Warehouse, "run", counting)
    return seen


@pytest.mark.parametrize(("first", "last", "by"), [
    (FIRST, LAST, "day"), (D("2024-01-01"), D("2024-04-30"), "week"),
    (D("2024-02-01"), D("2024-02-29"), "month"),
])
def test_the_overview_gives_the_figures_of_the_separate_calls(
    shop: Facts, first: date, last: date, by: str
) -> None:
    together = _overview(shop, first, last, by)
    assert together["comparison"]["current"]["orders"] > 0
    assert together == _separately(shop, first, last, by)


def test_a_cold_overview_runs_a_few_statements(
    shop: Facts, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse.open_store(shop.db_url, shop.store_id)
    seen = _count_statements(monkeypatch)
    figures = _overview(shop, FIRST, LAST, "day")
    assert len(seen) <= 8, seen
    assert len(figures["series"]) == 30
    # The target cards' month to date and both periods of the comparison are cached now: the
    # page reading them runs nothing more.
    before = len(seen)
    prev_first, prev_last = previous_period(FIRST, LAST)
    service.kpi_summary(shop.db_url, shop.store_id, LAST.replace(day=1), LAST)
    service.kpi_summary(shop.db_url, shop.store_id, prev_first, prev_last)
    service.compare(shop.db_url, shop.store_id, FIRST, LAST)
    assert len(seen) == before
    # Warm: nothing at all.
    _overview(shop, FIRST, LAST, "day")
    assert len(seen) == before


def test_an_import_landing_meanwhile_is_never_hidden(shop: Facts) -> None:
    """Facts read together stand for the snapshot they came from: once the store's data
    changed, a figure asked for is computed afresh, never from them."""
    url, sid = shop.db_url, shop.store_id
    month = (LAST.replace(day=1), LAST)
    before = service.kpi_summary.uncached(url, sid, *month)
    with service.computed_together(url, sid, summaries=[month]):
        shop.order(f"{LAST} 10:00", [(shop.product("NEW"), 1, 12345)])
        after = service.kpi_summary(url, sid, *month)
    assert after["goods_gmv"] - before["goods_gmv"] == Decimal("123.45")
