"""Background jobs: the per-store sync lock, the periodic round, retries, the settings."""

from __future__ import annotations

import json
import logging
import multiprocessing
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from storeops.jobs import tasks
from storeops.jobs.locks import Locks, SqliteLocks
from storeops.jobs.queue import Jobs, make_jobs
from storeops.jobs.settings import display_redis_url, jobs_sqlite_path, sync_minutes


def _jobs(tmp_path: Path, db_url: str = "sqlite:///unused.db", **kwargs: Any) -> Jobs:
    return make_jobs(db_url, redis=None, sqlite_file=str(tmp_path / "jobs.sqlite"), **kwargs)


def _add_stores(db_url: str, names: list[str], *, connected: list[str]) -> dict[str, int]:
    from storeops.catalog.models import Store
    from storeops.connectors.jd.models import JdConnection
    from storeops.db.engine import unit_of_work

    ids = {}
    with unit_of_work(db_url) as session:
        for name in names:
            store = Store(name=name, platform="jd", timezone="Asia/Shanghai", currency="CNY",
                          data_version=0)
            session.add(store)
            session.flush()
            ids[name] = store.id
            if name in connected:
                session.add(JdConnection(store_id=store.id, app_key="k", app_secret_enc="x",
                                         access_token_enc="y"))
    return ids


def test_two_syncs_of_one_store_never_overlap(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    jobs = _jobs(tmp_path, immediate=True)
    running: dict[int, int] = {}
    spans: list[tuple[int, float, float]] = []
    first_started = threading.Event()
    release_first = threading.Event()
    guard = threading.Lock()

    def slow_sync(db_url: str, store_id: int, since: datetime | None = None) -> dict[str, int]:
        with guard:
            running[store_id] = running.get(store_id, 0) + 1
            assert running[store_id] == 1, "two syncs of one store at once"
        start = time.monotonic()
        if store_id == 1 and not first_started.is_set():
            first_started.set()
            release_first.wait(10)
        with guard:
            running[store_id] -= 1
        spans.append((store_id, start, time.monotonic()))
        return {"fetched": 3}

    monkeypatch.setattr(tasks, "run_sync", slow_sync)
    answers: dict[str, Any] = {}

    def call(label: str, store_id: int) -> None:
        answers[label] = jobs.sync_store(store_id).get()

    first = threading.Thread(target=call, args=("first", 1))
    first.start()
    assert first_started.wait(10)
    # While store 1 syncs: a second sync of store 1 does not run; store 2 syncs meanwhile.
    second = threading.Thread(target=call, args=("second", 1))
    other = threading.Thread(target=call, args=("other", 2))
    second.start()
    other.start()
    second.join(10)
    other.join(10)
    assert answers["second"] == {"store_id": 1, "busy": True}
    assert answers["other"] == {"fetched": 3}
    assert jobs.locks.is_locked("jd-sync-1")
    release_first.set()
    first.join(10)
    assert answers["first"] == {"fetched": 3}
    assert not jobs.locks.is_locked("jd-sync-1")
    # Once the first is over, the next sync of store 1 runs.
    assert jobs.sync_store(1).get() == {"fetched": 3}
    assert [s for s, _, _ in spans].count(1) == 2


def _hold_in_child(path: str, held: Any, done: Any) -> None:
    with Locks(SqliteLocks(path)).hold("jd-sync-7") as got:
        assert got
        held.set()
        done.wait(20)


def test_the_lock_holds_across_processes_and_a_dead_holder_frees_it(tmp_path: Path) -> None:
    path = str(tmp_path / "jobs.sqlite")
    locks = Locks(SqliteLocks(path))
    ctx = multiprocessing.get_context("fork")
    held, done = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_hold_in_child, args=(path, held, done))
    child.start()
    try:
        assert held.wait(20)
        with locks.hold("jd-sync-7") as got:
            assert not got  # another process has it
        with locks.hold("jd-sync-8") as got:
            assert got  # another store is free
    finally:
        done.set()
        child.join(20)
    assert child.exitcode == 0
    with locks.hold("jd-sync-7") as got:
        assert got
    # A holder that dies without releasing: its lock expires after its ttl.
    assert locks.store.acquire("jd-sync-9", "dead-worker", ttl=0.2)
    with locks.hold("jd-sync-9") as got:
        assert not got
    time.sleep(0.3)
    with locks.hold("jd-sync-9") as got:
        assert got


def test_a_long_sync_keeps_its_lock_past_the_ttl(tmp_path: Path) -> None:
    locks = Locks(SqliteLocks(tmp_path / "jobs.sqlite"))
    with locks.hold("jd-sync-1", ttl=0.3) as got:
        assert got
        time.sleep(0.8)  # renewed every ttl/3
        with locks.hold("jd-sync-1", ttl=0.3) as again:
            assert not again
    assert not locks.is_locked("jd-sync-1")


def test_the_round_queues_one_sync_per_connected_store(
        db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = _add_stores(db_url, ["旗舰店", "outlet", "offline"], connected=["旗舰店", "outlet"])
    monkeypatch.setattr(tasks, "now", lambda: datetime(2026, 12, 4, 10, 5, 1, tzinfo=UTC))
    jobs = _jobs(tmp_path, db_url)
    assert jobs.schedule_syncs.call_local() == 2
    pending = jobs.huey.pending()
    assert sorted(t.args for t in pending) == sorted([(ids["旗舰店"],), (ids["outlet"],)])
    assert {t.name for t in pending} == {"sync_store"}
    # Each store's stock push follows its sync (never beside it).
    assert sorted((t.on_complete.name, t.on_complete.args) for t in pending) == sorted(
        [("push_stock", (ids["旗舰店"],)), ("push_stock", (ids["outlet"],))])
    # Another worker's scheduler firing in the same round queues nothing more.
    assert _jobs(tmp_path, db_url).schedule_syncs.call_local() == 0
    assert len(jobs.huey.pending()) == 2


def test_the_round_comes_every_n_minutes() -> None:
    due = tasks.every_minutes(5)
    fired = [m for m in range(60) if due(datetime(2026, 12, 4, 10, m, 30))]
    assert fired == [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55]
    # 7 minutes apart across the hour too (cron's */7 would run at :56 and :00).
    due7 = tasks.every_minutes(7)
    runs = [datetime(2026, 12, 4, h, m) for h in (10, 11) for m in range(60)
            if due7(datetime(2026, 12, 4, h, m))]
    gaps = {(b - a).total_seconds() for a, b in zip(runs, runs[1:], strict=False)}
    assert gaps == {420.0}


def test_the_default_round_is_5_minutes_and_configurable(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("STOREOPS_SYNC_MINUTES", raising=False)
    assert sync_minutes() == 5
    monkeypatch.setenv("STOREOPS_SYNC_MINUTES", "2")
    assert sync_minutes() == 2 and _jobs(tmp_path).sync_minutes == 2
    for bad in ("0", "-3", "x", "100000"):
        monkeypatch.setenv("STOREOPS_SYNC_MINUTES", bad)
        assert sync_minutes() == 5


def test_the_embedded_queue_lives_beside_the_database(tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    assert jobs_sqlite_path(f"sqlite:///{db}") == tmp_path / "shop.db.jobs.sqlite"
    pg = jobs_sqlite_path("postgresql+psycopg://u@h/db")
    assert pg.parent.name == "jobs" and pg.suffix == ".sqlite"
    assert display_redis_url("redis://:s3cret@h:6379/2") == "redis://:***@h:6379/2"
    assert display_redis_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_a_transient_failure_is_retried_with_back_off_and_others_are_given_up(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    jobs = _jobs(tmp_path, immediate=True)

    def unreachable(db_url: str, store_id: int, since: datetime | None = None) -> None:
        raise httpx.ConnectError("connection refused")

    monkeypatch.setattr(tasks, "run_sync", unreachable)
    with caplog.at_level(logging.WARNING, logger="storeops.jobs"):
        jobs.sync_store(4)
    scheduled = jobs.huey.scheduled()
    assert [(t.name, t.args, t.retries) for t in scheduled] == [("sync_store", (4,), 2)]
    assert scheduled[0].retry_delay == 2 * tasks.RETRY_DELAY  # the next wait is longer
    assert "JD sync of store 4 failed, will retry" in caplog.text
    assert not jobs.locks.is_locked("jd-sync-4")

    def broken(db_url: str, store_id: int, since: datetime | None = None) -> None:
        raise ValueError("token expired for store 5")

    monkeypatch.setattr(tasks, "run_sync", broken)
    jobs.huey.flush()
    with caplog.at_level(logging.ERROR, logger="storeops.jobs"):
        answer = jobs.sync_store(5).get()
    assert answer == {"error": "ValueError: token expired for store 5"}
    assert jobs.huey.scheduled() == []  # not retried
    assert "JD sync of store 5 failed" in caplog.text and "Traceback" in caplog.text


def test_expiry_runs_once_a_minute_whatever_the_number_of_workers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[datetime] = []

    def expire(db_url: str, now: datetime) -> int:
        calls.append(now)
        return 2

    monkeypatch.setattr(tasks, "run_expiry", expire)
    monkeypatch.setattr(tasks, "now", lambda: datetime(2026, 12, 4, 10, 5, 59, tzinfo=UTC))
    first, second = _jobs(tmp_path), _jobs(tmp_path)
    answers = {first.expire_unpaid.call_local(), second.expire_unpaid.call_local()}
    assert answers == {2, 0} and len(calls) == 1
    assert calls[0].tzinfo is not None


def test_promotions_move_on_their_schedule_once_a_minute(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The periodic job starts a scheduled promotion whose start has passed and ends a live one
    past its end; a second worker in the same minute does nothing."""
    from storeops.catalog.models import Store
    from storeops.db.engine import unit_of_work
    from storeops.db.migrate import upgrade
    from storeops.pricing.models import PromotionRecord

    db_url = f"sqlite:///{tmp_path / 'promo.db'}"
    upgrade(db_url)
    start = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    with unit_of_work(db_url) as session:
        store = Store(name="s", platform="jd", timezone="Asia/Shanghai", currency="CNY",
                      data_version=0)
        session.add(store)
        session.flush()
        for code, status, end in (("starts", "scheduled", datetime(2026, 12, 5, tzinfo=UTC)),
                                  ("ends", "live", datetime(2026, 12, 4, 10, 3, tzinfo=UTC)),
                                  ("later", "scheduled", None)):
            session.add(PromotionRecord(
                store_id=store.id, code=code, kind="direct", status=status,
                spec_json=json.dumps({"id": code, "kind": "direct", "skus": "all", "off": "1"}),
                start_at=start if code != "later" else datetime(2026, 12, 6, tzinfo=UTC),
                end_at=end, breaches_floor=False, version=1))
    monkeypatch.setattr(tasks, "now", lambda: datetime(2026, 12, 4, 10, 5, 30, tzinfo=UTC))
    first, second = _jobs(tmp_path, db_url), _jobs(tmp_path, db_url)
    answers = [first.advance_promotions.call_local(), second.advance_promotions.call_local()]
    assert answers == [2, 0]
    with unit_of_work(db_url) as session:
        status = {r.code: r.status for r in session.query(PromotionRecord)}
    assert status == {"starts": "live", "ends": "ended", "later": "scheduled"}
