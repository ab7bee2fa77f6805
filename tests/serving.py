"""Waiting for a `storeops serve` started by a test to answer."""

from __future__ import annotations

import subprocess
import time

import httpx


def wait_ready(server: subprocess.Popen, base: str, timeout_s: float = 60) -> None:
    """Until ``base``/healthz answers 200; fails with the server's output if it exits."""
    deadline = time.monotonic() + timeout_s
    while True:
        assert server.poll() is None, server.stdout.read()  # type: ignore[union-attr]
        try:
            if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"server not ready in {timeout_s:g} s"
        time.sleep(0.2)
