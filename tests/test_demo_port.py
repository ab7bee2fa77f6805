"""``make demo PORT=…`` and a busy port reported before the demo is built."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from storeops.cli import app

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that another server is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def _demo(db: Path, *args: str, lang: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "STOREOPS_LANG"}
    if lang:
        env["STOREOPS_LANG"] = lang
    return subprocess.run(
        [sys.executable, "-m", "storeops.cli", "demo", "--db", str(db), "--days", "2",
         "--skus", "10", *args],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )


def test_a_busy_port_is_an_error_before_anything_is_built(tmp_path: Path, busy_port: int) -> None:
    db = tmp_path / "demo.db"
    result = _demo(db, "--port", str(busy_port))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error:")
    assert f"127.0.0.1:{busy_port}" in result.stderr and "已被占用" in result.stderr
    assert "PORT=" in result.stderr  # says how to choose another port
    assert not db.exists()  # refused before the store was built

    english = _demo(db, "--port", str(busy_port), lang="en")
    assert english.returncode == 2
    assert f"port 127.0.0.1:{busy_port} is already in use" in english.stderr


def test_no_serve_builds_even_when_the_port_is_busy(tmp_path: Path, busy_port: int) -> None:
    db = tmp_path / "demo.db"
    result = CliRunner().invoke(app, ["demo", "--db", str(db), "--no-serve", "--days", "2",
                                      "--skus", "10", "--port", str(busy_port)])
    assert result.exit_code == 0, result.output
    assert db.exists()


def test_an_address_that_cannot_be_listened_on_is_an_error(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = _demo(db, "--host", "no-such-host.invalid", "--port", "8000", lang="en")
    assert result.returncode == 2, result.stderr
    assert "error: cannot listen on no-such-host.invalid:8000" in result.stderr
    assert "Traceback" not in result.stderr
    assert not db.exists()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_passes_port_on() -> None:
    def demo_line(*args: str) -> str:
        out = subprocess.run(["make", "-n", "demo", *args], cwd=ROOT, capture_output=True,
                             text=True, check=True,
                             env={k: v for k, v in os.environ.items() if k != "PORT"}).stdout
        return [line for line in out.splitlines() if "storeops demo" in line][-1]

    assert demo_line("PORT=8123").endswith("storeops demo --port 8123")
    assert demo_line().endswith("storeops demo --port 8000")  # the README's default
