"""Imports at the same time: they wait for each other, or fail with a clear error; two that
create the same store both succeed."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storeops.catalog.models import Store
from storeops.db.engine import unit_of_work
from storeops.db.migrate import upgrade
from storeops.importers.service import import_file
from storeops.orders.models import Order

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "examples" / "mappings" / "online_retail.yaml"
HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"


def _orders_file(path: Path, first: int, n: int) -> Path:
    path.write_text(HEADER + "".join(
        f"{first + i},SKU{i % 50},thing,{1 + i % 3},2011-01-05 10:00:00,1.25,{i % 40},UK\n"
        for i in range(n)), encoding="utf-8")
    return path


def _cli(db: Path, data: Path, *extra: str, env: dict | None = None) -> subprocess.Popen:
    import os

    return subprocess.Popen(
        [sys.executable, "-m", "storeops.cli", "import", "orders", str(data), "--mapping",
         str(MAPPING), "--store", "shared", "--db", str(db), "--json", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})},
    )


def test_two_processes_create_the_same_store_at_once(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    upgrade(f"sqlite:///{db}")
    a = _orders_file(tmp_path / "a.csv", 100000, 20000)
    b = _orders_file(tmp_path / "b.csv", 200000, 20000)
    procs = [_cli(db, a), _cli(db, b)]
    results = [p.communicate(timeout=300) for p in procs]
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "Traceback" not in err
    url = f"sqlite:///{db}"
    with unit_of_work(url) as s:
        assert s.scalars(select(Store.name)).all() == ["shared"]
        assert s.scalar(select(func.count()).select_from(Order)) == 40000
        assert s.scalar(select(Store.data_version)) == 2  # one version per import


def test_two_threads_create_the_same_store_at_once(db_url: str, tmp_path: Path) -> None:
    files = [_orders_file(tmp_path / f"{i}.csv", 100000 * (i + 1), 3000) for i in range(2)]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(path: Path) -> None:
        start.wait()
        try:
            import_file(db_url, "orders", path, mapping=MAPPING, store="shared")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f,)) for f in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert errors == []
    with unit_of_work(db_url) as s:
        assert s.scalars(select(Store.name)).all() == ["shared"]
        assert s.scalar(select(func.count()).select_from(Order)) == 6000
        assert s.scalar(select(Store.data_version)) == 2


def _hold_write_lock(db: Path, seconds: float, held: threading.Event,
                     release: threading.Event | None = None) -> None:
    """Hold SQLite's write lock for ``seconds``, or until ``release`` is set."""
    conn = sqlite3.connect(db)
    conn.execute("BEGIN IMMEDIATE")
    held.set()
    if release is None:
        time.sleep(seconds)
    else:
        release.wait(seconds)
    conn.rollback()
    conn.close()


def test_an_import_waits_for_the_database_then_runs(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    upgrade(f"sqlite:///{db}")
    held = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(db, 2.0, held))
    holder.start()
    held.wait(10)
    began = time.monotonic()
    proc = _cli(db, _orders_file(tmp_path / "a.csv", 1, 10))
    out, err = proc.communicate(timeout=120)
    holder.join()
    assert proc.returncode == 0, err
    assert time.monotonic() - began >= 1.5  # it waited for the lock rather than failing


def test_an_import_that_waits_too_long_fails_clearly(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    upgrade(f"sqlite:///{db}")
    held, release = threading.Event(), threading.Event()
    # Held until the command has given up (not a fixed time: it may be slow to start).
    holder = threading.Thread(target=_hold_write_lock, args=(db, 120.0, held, release))
    holder.start()
    held.wait(10)
    try:
        proc = _cli(db, _orders_file(tmp_path / "a.csv", 1, 10),
                    env={"STOREOPS_IMPORT_WAIT_SECONDS": "0.5"})
        out, err = proc.communicate(timeout=120)
    finally:
        release.set()
        holder.join()
    assert proc.returncode == 2, err
    assert "error: 数据库正忙" in err and "0.5 秒" in err  # zh-CN by default
    assert "STOREOPS_IMPORT_WAIT_SECONDS" in err
    assert "Traceback" not in err
    with unit_of_work(f"sqlite:///{db}") as s:
        assert s.scalar(select(func.count()).select_from(Store)) == 0


def test_a_store_created_meanwhile_is_used_not_duplicated(db_url: str) -> None:
    """PostgreSQL: the second creator waits on the first's uncommitted row, then finds it."""
    import pytest

    from storeops.catalog.stores import get_or_create_store

    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite imports take the write lock before looking for their store")
    created = threading.Event()
    release = threading.Event()
    found: list = []

    def first() -> None:
        with unit_of_work(db_url) as s:
            get_or_create_store(s, "shared")
            created.set()
            release.wait(10)

    def second() -> None:
        created.wait(10)
        with unit_of_work(db_url) as s:
            store, was_created = get_or_create_store(s, "shared")
            found.append((store.name, was_created))

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    time.sleep(0.5)  # the second is now blocked on the first's row
    release.set()
    for t in threads:
        t.join(30)
    assert found == [("shared", False)]
    with unit_of_work(db_url) as s:
        assert s.scalar(select(func.count()).select_from(Store)) == 1


@pytest.fixture(autouse=True)
def _work_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rejects files go to the working directory: keep them out of the repository."""
    monkeypatch.chdir(tmp_path)
