"""`storeops serve --workers N` on Linux: each worker listens on a socket of its own
(SO_REUSEPORT), so that the kernel spreads a client's connections over all of them; a port
already served is still refused."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from serving import wait_ready

STOREOPS = str(Path(sys.executable).with_name("storeops"))

pytestmark = pytest.mark.skipif(not Path("/proc/self/net/tcp").exists()
                                or not hasattr(socket, "SO_REUSEPORT"), reason="Linux only")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(db_url: str, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "STOREOPS_SECRET_KEY"}
    return subprocess.Popen(
        [STOREOPS, "serve", "--db", db_url, "--port", str(port), "--workers", "2",
         "--no-access-log"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)


def _listening(port: int) -> int:
    """Listening sockets on ``port`` (one shared by all workers, or one per worker)."""
    return sum(1 for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
               if int(line.split()[1].split(":")[1], 16) == port and line.split()[3] == "0A")


def _established_by_pid(port: int) -> dict[int, int]:
    """Connections to ``port`` held by each process (by the sockets' inodes)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":
            inodes.add(fields[9])
    held: dict[int, int] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            links = [os.readlink(fd) for fd in (proc / "fd").iterdir()]
        except OSError:
            continue
        n = sum(1 for link in links if link.startswith("socket:[")
                and link[8:-1] in inodes)
        if n:
            held[int(proc.name)] = n
    return held


def test_connections_spread_over_the_workers_and_a_served_port_is_refused(
        sqlite_db_url: str) -> None:
    port = _free_port()
    server = _serve(sqlite_db_url, port)
    base = f"http://127.0.0.1:{port}"
    clients: list[httpx.Client] = []
    try:
        wait_ready(server, base)
        time.sleep(1.0)  # both workers listening
        assert _listening(port) == 2  # a socket per worker: the kernel balances them
        for _ in range(32):  # 32 kept-alive connections, as a load generator opens them
            client = httpx.Client(base_url=base, timeout=10)
            assert client.get("/healthz").status_code == 200
            clients.append(client)
        held = _established_by_pid(port)
        held.pop(os.getpid(), None)  # this test's own ends
        assert len(held) == 2 and sum(held.values()) == 32, held
        assert min(held.values()) >= 6, held  # even, give or take chance (1 in ~10^4 fails)

        other = subprocess.run(
            [STOREOPS, "serve", "--db", sqlite_db_url, "--port", str(port), "--workers", "2",
             "--no-access-log"], capture_output=True, text=True, timeout=60)
        assert other.returncode != 0
        assert "already in use" in other.stdout + other.stderr
    finally:
        for client in clients:
            client.close()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
