"""Opening the database from the command line (issue 10): read-only commands never create
one; a SQLite path in a folder that does not exist is ``error: …`` and exit 2 everywhere."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from web_seed import run_cli

ORDERS = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
MAPPING = Path(__file__).resolve().parents[1] / "examples" / "mappings" / "online_retail.yaml"


def _run(argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys) -> tuple[int, str]:
    code, out, err = run_cli(argv, monkeypatch, capsys)
    return code, out + err


@pytest.mark.parametrize("argv", [
    ["kpi", "--from", "2026-11-01", "--to", "2026-11-30"],
    ["target", "show"],
])
def test_read_only_commands_never_create_a_database(argv: list[str], tmp_path: Path,
                                                     monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "nothing.db"
    code, out = _run([*argv, "--db", str(db)], monkeypatch, capsys)
    assert code == 2 and "error:" in out and "storeops init" in out
    assert not db.exists() and list(tmp_path.iterdir()) == []
    monkeypatch.delenv("STOREOPS_DATABASE_URL", raising=False)
    code, out = _run(argv, monkeypatch, capsys)  # the default ./storeops.db
    assert code == 2 and list(tmp_path.iterdir()) == []
    empty = tmp_path / "empty.db"
    empty.touch()  # a file that is not a storeops database gets no tables
    code, out = _run([*argv, "--db", str(empty)], monkeypatch, capsys)
    assert code == 2 and "没有 storeops 数据库" in out  # zh-CN by default
    import sqlite3

    with sqlite3.connect(empty) as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)


@pytest.mark.parametrize("argv", [
    ["init"],
    ["kpi", "--from", "2026-11-01", "--to", "2026-11-30"],
    ["target", "show"],
    ["target", "set", "--month", "2026-11", "--metric", "gmv", "--value", "100"],
    ["import", "orders", "{orders}", "--mapping", str(MAPPING)],
    ["import", "products", "{orders}"],
    ["user", "list"],
    ["user", "add", "alice", "--role", "analyst", "--password", "a-long-pass-phrase"],
    ["token", "list"],
    ["demo", "--days", "3", "--no-serve"],
])
def test_a_path_in_a_missing_folder_is_a_clear_error(argv: list[str], tmp_path: Path,
                                                     monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    orders = tmp_path / "o.csv"
    orders.write_text(ORDERS, encoding="utf-8")
    argv = [a.replace("{orders}", str(orders)) for a in argv]
    missing = tmp_path / "no" / "such" / "folder" / "s.db"
    code, out = _run([*argv, "--db", str(missing)], monkeypatch, capsys)
    assert code == 2, out
    assert "error:" in out and "不存在" in out and "Traceback" not in out  # zh-CN by default
    assert not (tmp_path / "no").exists()


def test_missing_folder_through_the_environment(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "s.db"
    proc = subprocess.run([sys.executable, "-m", "storeops.cli", "user", "list"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={"PATH": "/usr/bin:/bin", "STOREOPS_DATABASE_URL": str(missing)})
    assert proc.returncode == 2 and "error:" in proc.stderr and "Traceback" not in proc.stderr
