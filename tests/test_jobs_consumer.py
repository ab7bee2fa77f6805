"""Real consumers: a thread consumer on the SQLite queue and on Redis, `storeops worker`, and
`storeops serve` running the jobs in-process on the embedded default."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from serving import wait_ready
from typer.testing import CliRunner

from storeops.cli import app
from storeops.jobs import tasks
from storeops.jobs.queue import Jobs, make_jobs
from storeops.jobs.runner import in_process_worker
from storeops.jobs.serving import background_jobs

STOREOPS = str(Path(sys.executable).with_name("storeops"))
REDIS_URL = os.environ.get("STOREOPS_TEST_REDIS_URL", "redis://127.0.0.1:6379/7")


def _redis_unavailable() -> str | None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        return f"no Redis at {REDIS_URL}: {exc}"
    return None


@pytest.fixture
def redis_jobs(sqlite_db_url: str) -> Iterator[Jobs]:
    reason = _redis_unavailable()
    if reason:
        pytest.skip(reason)
    jobs = make_jobs(sqlite_db_url, redis=REDIS_URL, name=f"storeops-test-{uuid.uuid4().hex}")
    try:
        yield jobs
    finally:  # only this test's keys
        jobs.huey.storage.flush_all()
        conn = jobs.huey.storage.conn
        for key in conn.scan_iter(match=f"{jobs.locks.store.prefix}*"):  # type: ignore[attr-defined]
            conn.delete(key)


def _fake_sync(db_url: str, store_id: int, since: datetime | None = None) -> dict[str, int]:
    return {"store_id": store_id, "fetched": 1}


def test_a_thread_consumer_on_the_sqlite_queue_runs_tasks(
        sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks, "run_sync", _fake_sync)
    jobs = make_jobs(sqlite_db_url, redis=None)
    assert jobs.backend == "sqlite" and jobs.where.endswith("storeops.db.jobs.sqlite")
    with in_process_worker(jobs, max_delay=0.2) as worker:
        assert worker.running
        assert jobs.ping().get(blocking=True, timeout=15) == {"pid": os.getpid()}
        assert jobs.sync_store(3).get(blocking=True, timeout=15) == {"store_id": 3,
                                                                      "fetched": 1}
    assert not worker.running
    assert not jobs.locks.is_locked("jd-sync-3")


def test_a_thread_consumer_on_redis_runs_tasks(
        redis_jobs: Jobs, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks, "run_sync", _fake_sync)
    assert redis_jobs.backend == "redis"
    with in_process_worker(redis_jobs):
        assert redis_jobs.ping().get(blocking=True, timeout=15) == {"pid": os.getpid()}
        assert redis_jobs.sync_store(8).get(blocking=True, timeout=15)["fetched"] == 1
        # The Redis lock: held by one, refused to another.
        with redis_jobs.locks.hold("jd-sync-8") as got, \
                redis_jobs.locks.hold("jd-sync-8") as again:
            assert got and not again
        assert redis_jobs.sync_store(9).get(blocking=True, timeout=15)["store_id"] == 9


def test_worker_help_says_how_to_run_it() -> None:
    shown = CliRunner().invoke(app, ["worker", "--help"], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    for words in ("--workers", "--db", "STOREOPS_REDIS_URL", "STOREOPS_SYNC_MINUTES"):
        assert words in shown.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(proc: subprocess.Popen[str], sig: int) -> str:
    proc.send_signal(sig)
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
    return out


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("STOREOPS_REDIS_URL", "STOREOPS_SECRET_KEY")}
    env["STOREOPS_LANG"] = "en"
    return env


@pytest.mark.parametrize("processes", [1, 2])
def test_serve_runs_the_jobs_in_process_and_stops_them(sqlite_db_url: str,
                                                       processes: int) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [STOREOPS, "serve", "--db", sqlite_db_url, "--port", str(port), "--no-access-log",
         "--workers", str(processes)],
        env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    try:
        wait_ready(server, f"http://127.0.0.1:{port}")
        # A job queued by anyone (here: this test) is run by the server's own process (with
        # several server processes: by their parent, once).
        answer = make_jobs(sqlite_db_url, redis=None).ping().get(blocking=True, timeout=20)
        assert answer == {"pid": server.pid}
    finally:
        out = _stop(server, signal.SIGTERM)
    assert server.returncode == 0, out
    assert "background jobs run in this process" in out
    assert out.rstrip().endswith("background jobs stopped")


def test_the_worker_command_runs_jobs_and_stops_on_ctrl_c(sqlite_db_url: str) -> None:
    worker = subprocess.Popen(
        [STOREOPS, "worker", "--db", sqlite_db_url, "--workers", "1"],
        env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)
    try:
        answer = make_jobs(sqlite_db_url, redis=None).ping().get(blocking=True, timeout=30)
        assert answer == {"pid": worker.pid}
    finally:
        out = _stop(worker, signal.SIGINT)
    assert worker.returncode == 0, out
    assert out.startswith("storeops worker: 1 job threads; jobs queued in the SQLite file")


def test_with_redis_serve_leaves_jobs_to_workers(
        sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("STOREOPS_LANG", "en")
    monkeypatch.setenv("STOREOPS_REDIS_URL", REDIS_URL)
    with background_jobs(sqlite_db_url) as worker:
        assert worker is None
    assert "start storeops worker" in capsys.readouterr().out
    monkeypatch.delenv("STOREOPS_REDIS_URL")
    with background_jobs(sqlite_db_url, enabled=False) as worker:
        assert worker is None
    assert "--no-jobs" in capsys.readouterr().out
