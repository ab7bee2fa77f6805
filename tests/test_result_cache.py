"""Results computed once per store and data version: reused, bounded, never stale."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from web_seed import LAST_DAY, STORE, fast_hashing, login  # noqa: F401

from storeops.aftersales.models import Refund
from storeops.catalog.stores import bump_data_version
from storeops.db.engine import unit_of_work
from storeops.metrics import service
from storeops.metrics.cache import ResultCache, data_version, results
from storeops.metrics.cockpit import overview_figures

# Logins check passwords with cheap Argon2 parameters: hashing is not what is tested here.
pytestmark = pytest.mark.usefixtures("fast_hashing")

FIRST = date(2026, 10, 2)


@pytest.fixture(autouse=True)
def empty_cache() -> None:
    results.clear()


def add_to_a_refund(db_url: str, store_id: int, cents: int) -> int:
    """What every writer does: change rows, stamp them with the new data_version."""
    with unit_of_work(db_url) as s:
        version = bump_data_version(s, store_id)
        refund_id = s.scalar(select(Refund.id).where(Refund.refund_date >= FIRST).limit(1))
        s.execute(update(Refund).where(Refund.id == refund_id).values(
            amount_cents=Refund.amount_cents + cents, row_version=version))
        return version


def test_figures_are_reused_until_an_import_changes_the_data(seeded: tuple[str, int]) -> None:
    db, sid = seeded
    first = service.kpi_summary(db, sid, FIRST, LAST_DAY)
    hits = results.hits
    again = service.kpi_summary(db, sid, FIRST, LAST_DAY)
    assert again is first and results.hits == hits + 1  # served from the cache
    # The same call spelt another way is the same result.
    assert service.kpi_summary(db, store_id=sid, first=FIRST, last=LAST_DAY) is first

    version = add_to_a_refund(db, sid, 12_345)
    assert data_version(db, sid) == version
    fresh = service.kpi_summary(db, sid, FIRST, LAST_DAY)
    assert fresh["refund_amount"] - first["refund_amount"] == Decimal("123.45")
    assert fresh == service.kpi_summary.uncached(db, sid, FIRST, LAST_DAY)
    # The overview's bundle sees the change too, right away.
    page = overview_figures(db, sid, FIRST, LAST_DAY, top=3)
    assert page["comparison"]["current"]["refund_amount"] == fresh["refund_amount"]
    add_to_a_refund(db, sid, 100)
    page_after = overview_figures(db, sid, FIRST, LAST_DAY, top=3)
    assert (page_after["comparison"]["current"]["refund_amount"]
            - page["comparison"]["current"]["refund_amount"]) == Decimal("1.00")


def test_other_arguments_and_stores_are_other_results(seeded: tuple[str, int]) -> None:
    db, sid = seeded
    month = service.kpi_summary(db, sid, date(2026, 10, 1), LAST_DAY)
    week = service.kpi_summary(db, sid, date(2026, 10, 25), LAST_DAY)
    assert month["orders"] > week["orders"]
    by_day = service.kpi_series(db, sid, FIRST, LAST_DAY, by="day")
    by_week = service.kpi_series(db, sid, FIRST, LAST_DAY, by="week")
    assert len(by_day) == 30 and len(by_week) < len(by_day)
    top2 = service.kpi_by(db, sid, FIRST, LAST_DAY, dimension="sku", limit=2)
    top3 = service.kpi_by(db, sid, FIRST, LAST_DAY, dimension="sku", limit=3)
    assert len(top2) == 2 and len(top3) == 3


def test_a_bad_call_is_an_error_each_time_never_a_cached_answer(
    seeded: tuple[str, int],
) -> None:
    db, sid = seeded
    for _ in range(2):
        with pytest.raises(service.MetricsError):
            service.kpi_series(db, sid, FIRST, LAST_DAY, by="fortnight")
    assert len(results) == 0


def test_the_cache_is_bounded_and_forgets_old_versions() -> None:
    cache = ResultCache(max_entries=3)
    for n in range(5):
        cache.get_or_compute("db", 1, 1, ("call", n), lambda n=n: n)
    assert len(cache) == 3  # the least recently used went first
    assert cache.get_or_compute("db", 1, 1, ("call", 0), lambda: "again") == "again"
    cache.get_or_compute("db", 2, 7, ("call", 0), lambda: "other store")
    cache.get_or_compute("db", 1, 2, ("call", 9), lambda: "new version")
    # Store 1's version-1 results are gone; store 2's stay.
    assert cache.get_or_compute("db", 1, 1, ("call", 4), lambda: "recomputed") == "recomputed"
    assert cache.get_or_compute("db", 2, 7, ("call", 0), lambda: "x") == "other store"
    off = ResultCache(max_entries=0)
    calls = []
    for _ in range(2):
        off.get_or_compute("db", 1, 1, "k", lambda: calls.append(1))
    assert len(calls) == 2 and len(off) == 0


def test_a_result_computed_for_an_older_version_is_not_kept() -> None:
    cache = ResultCache()
    cache.get_or_compute("db", 1, 5, "k", lambda: "v5")
    # A slow request that read version 4 before an import finishes after version 5 was seen.
    assert cache.get_or_compute("db", 1, 4, "k", lambda: "v4") == "v4"
    assert cache.get_or_compute("db", 1, 4, "k", lambda: "v4 again") == "v4 again"
    assert cache.get_or_compute("db", 1, 5, "k", lambda: "other") == "v5"


def test_concurrent_callers_share_one_computation_and_failures_are_not_kept() -> None:
    cache = ResultCache()
    calls: list[int] = []
    gate = threading.Event()

    def slow() -> str:
        calls.append(1)
        gate.wait(5)
        return "figures"

    answers: list[str] = []
    threads = [threading.Thread(target=lambda: answers.append(
        cache.get_or_compute("db", 1, 1, "page", slow))) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join(5)
    assert answers == ["figures"] * 8 and len(calls) == 1

    def broken() -> str:
        raise RuntimeError("engine failed")

    with pytest.raises(RuntimeError):
        cache.get_or_compute("db", 1, 1, "other", broken)
    assert cache.get_or_compute("db", 1, 1, "other", lambda: "works") == "works"


def _uv_card(html: str) -> str:
    """The figure on the overview's UV card."""
    card = html.split('data-metric="uv"', 1)[1]
    return card.split('<div class="value">', 1)[1].split("</div>", 1)[0].strip()


def test_the_cockpit_shows_an_import_at_once_whichever_process_made_it(
    client: TestClient, seeded: tuple[str, int], tmp_path: Path,
) -> None:
    db, _ = seeded
    login(client, "operator")
    period = {"from": FIRST.isoformat(), "to": LAST_DAY.isoformat()}
    before = client.get("/api/v1/kpi/summary", params=period).json()["metrics"]["uv"]
    page = client.get("/", params=period).text
    assert _uv_card(page) == f"{before:,}"
    assert client.get("/api/v1/kpi/summary", params=period).json()["metrics"]["uv"] == before

    # An import through this server …
    upload = "日期,商品ID,流量来源,访客数,浏览量,曝光量,点击量,加购人数,跳失访客数\n" \
             "2026-10-31,1001,Friends Share,1234,2000,9000,800,50,100\n"
    r = client.post("/api/v1/imports", data={"kind": "traffic"},
                    files={"file": ("traffic.csv", upload.encode(), "text/csv")})
    assert r.status_code == 200, r.text
    assert client.get("/api/v1/kpi/summary", params=period).json()["metrics"]["uv"] \
        == before + 1234
    assert _uv_card(client.get("/", params=period).text) == f"{before + 1234:,}"

    # … and one by another process (the command line, or another `serve --workers` process).
    path = tmp_path / "more.csv"
    path.write_text(upload.replace("Friends Share,1234", "Friends Share,1300"), "utf-8")
    done = subprocess.run(
        [str(Path(sys.executable).with_name("storeops")), "import", "traffic", str(path),
         "--db", db, "--store", STORE], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert client.get("/api/v1/kpi/summary", params=period).json()["metrics"]["uv"] \
        == before + 1300
    assert _uv_card(client.get("/", params=period).text) == f"{before + 1300:,}"
