"""`storeops serve --workers N`: several processes over one database, one secret key."""

from __future__ import annotations

import multiprocessing
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from serving import wait_ready

from storeops.accounts.users import create_user
from storeops.api.secret import load_secret_key, secret_key_file
from storeops.db.engine import unit_of_work

STOREOPS = str(Path(sys.executable).with_name("storeops"))
PASSWORD = "team-cockpit-2026"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _worker_pids(pid: int) -> list[int]:
    """Child processes of ``pid`` that run a multiprocessing worker (uvicorn's)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    found = []
    for child in children:
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"multiprocessing" in cmdline and b"resource_tracker" not in cmdline:
            found.append(int(child))
    return found


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_serve_with_two_workers_starts_and_answers(
    sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STOREOPS_SECRET_KEY", raising=False)
    with unit_of_work(sqlite_db_url) as s:
        create_user(s, "owner", PASSWORD, "owner")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "STOREOPS_SECRET_KEY"}
    server = subprocess.Popen(
        [STOREOPS, "serve", "--db", sqlite_db_url, "--port", str(port), "--workers", "2",
         "--no-access-log"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(server, base)
        assert len(_worker_pids(server.pid)) == 2
        # Both workers answer with the same user database (new connections spread over them).
        for _ in range(6):
            me = httpx.get(base + "/api/v1/me", auth=("owner", PASSWORD), timeout=10)
            assert me.status_code == 200 and me.json()["username"] == "owner"
        assert httpx.get(base + "/api/v1/me", timeout=10).status_code == 401
        key_file = secret_key_file(sqlite_db_url)
        assert key_file.exists() and key_file.stat().st_mode & 0o077 == 0
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()
    assert server.returncode == 0


def _load_key(db_url: str, barrier: multiprocessing.synchronize.Barrier, out: object) -> None:
    barrier.wait()
    out.put(load_secret_key(db_url))  # type: ignore[attr-defined]


def test_processes_starting_at_once_agree_on_one_secret_key(
    sqlite_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STOREOPS_SECRET_KEY", raising=False)
    ctx = multiprocessing.get_context("fork")
    n = 6
    barrier, out = ctx.Barrier(n), ctx.Queue()
    procs = [ctx.Process(target=_load_key, args=(sqlite_db_url, barrier, out))
             for _ in range(n)]
    for p in procs:
        p.start()
    keys = [out.get(timeout=30) for _ in range(n)]
    for p in procs:
        p.join(10)
    assert len(set(keys)) == 1 and len(keys[0]) >= 40
    assert load_secret_key(sqlite_db_url) == keys[0]
    leftovers = [p.name for p in secret_key_file(sqlite_db_url).parent.iterdir()
                 if p.name.startswith(".")]
    assert leftovers == []
