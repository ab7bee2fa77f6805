"""``storeops import …`` on the command line: JSON summary, table, exit code 2 on bad files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from storeops.cli import app

ROOT = Path(__file__).resolve().parents[1]
MAPPING = ROOT / "examples" / "mappings" / "online_retail.yaml"
SAMPLE = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "536365,85123A,HEART HOLDER,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
    "536365,85123A,HEART HOLDER,6,2010-12-01 08:26:00,2.55,17850,United Kingdom\n"
    "C536383,35004C,SET OF 3 COLOURED  FLYING DUCKS,-1,2010-12-01 09:49:00,4.65,15311,"
    "United Kingdom\n"
    "536380,22961,JAM JAR,-3,2010-12-01 09:41:00,1.45,,United Kingdom\n"
)


def test_json_summary(tmp_path: Path) -> None:
    data = tmp_path / "sales.csv"
    data.write_text(SAMPLE, encoding="utf-8")
    db = tmp_path / "s.db"
    result = CliRunner().invoke(app, ["import", "orders", str(data), "--mapping", str(MAPPING),
                                      "--db", str(db), "--store", "uk", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert {k: out[k] for k in ("read", "imported", "rejected", "orders_created",
                                "orders_updated", "refunds", "store", "unchanged")} == {
        "read": 4, "imported": 3, "rejected": 1, "orders_created": 1, "orders_updated": 0,
        "refunds": 1, "store": "uk", "unchanged": 0}
    # the repeated line is one more line of order 536365 (the mapping keeps duplicates)
    assert out["by_reason"] == {"quantity not positive": 1}
    assert out["rejects_file"] == str(tmp_path / "sales.csv.rejects.csv")
    again = CliRunner().invoke(app, ["import", "orders", str(data), "--mapping", str(MAPPING),
                                     "--db", str(db), "--json"])
    out = json.loads(again.stdout)
    assert (out["orders_created"], out["orders_updated"], out["unchanged"]) == (0, 0, 3)


def test_a_mapping_may_reject_exact_copies(tmp_path: Path) -> None:
    data = tmp_path / "sales.csv"
    data.write_text(SAMPLE, encoding="utf-8")
    strict = tmp_path / "strict.yaml"
    strict.write_text(MAPPING.read_text(encoding="utf-8").replace(
        "duplicate_rows: keep", "duplicate_rows: reject"), encoding="utf-8")
    result = CliRunner().invoke(app, ["import", "orders", str(data), "--mapping", str(strict),
                                      "--db", str(tmp_path / "s.db"), "--json"],
                                env={"STOREOPS_LANG": "en"})  # the rejects file's words
    out = json.loads(result.stdout)
    assert (out["imported"], out["rejected"]) == (2, 2)
    assert out["by_reason"] == {"duplicate row": 1, "quantity not positive": 1}
    with open(out["rejects_file"], encoding="utf-8-sig") as fh:
        assert "duplicate of row 2" in fh.read()


def test_rejects_go_to_the_working_directory_when_the_input_folder_refuses(
    tmp_path: Path, monkeypatch
) -> None:
    inbox, work = tmp_path / "inbox", tmp_path / "work"
    inbox.mkdir(), work.mkdir()
    data = inbox / "sales.csv"
    data.write_text(SAMPLE, encoding="utf-8")
    (inbox / "sales.csv.rejects.csv").mkdir()  # cannot be opened as a file, even by root
    monkeypatch.chdir(work)
    monkeypatch.delenv("STOREOPS_LANG", raising=False)
    result = CliRunner().invoke(app, ["import", "orders", str(data), "--mapping", str(MAPPING),
                                      "--db", str(tmp_path / "s.db"), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["rejects_file"] == str(work / "sales.csv.rejects.csv")
    # the reason in the terminal's language (zh-CN unless STOREOPS_LANG says otherwise)
    assert "数量不为正" in Path(out["rejects_file"]).read_text("utf-8-sig")


def test_summary_table(tmp_path: Path) -> None:
    data = tmp_path / "sales.csv"
    data.write_text(SAMPLE, encoding="utf-8")
    result = CliRunner().invoke(app, ["import", "orders", str(data), "--mapping", str(MAPPING),
                                      "--db", str(tmp_path / "s.db")])
    assert result.exit_code == 0, result.output
    assert "拒绝: 数量不为正" in result.stdout  # Chinese by default
    assert "被拒绝的行及原因" in result.stdout and "sales.csv.rejects.csv" in result.stdout
    english = CliRunner().invoke(app, ["import", "orders", str(data), "--mapping", str(MAPPING),
                                       "--db", str(tmp_path / "s.db")],
                                 env={"STOREOPS_LANG": "en"})
    assert english.exit_code == 0, english.output
    assert "rejected: quantity not positive" in english.stdout
    assert "orders unchanged" in english.stdout  # the second run changed nothing


def test_bad_file_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    data = tmp_path / "orders.csv"
    data.write_text("订单号,商品ID\n1,2\n", encoding="utf-8")
    db = tmp_path / "s.db"
    proc = subprocess.run(
        [sys.executable, "-m", "storeops.cli", "import", "orders", str(data), "--format", "jd",
         "--db", str(db)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "error:" in proc.stderr and "orders.csv" in proc.stderr
    assert "缺少列" in proc.stderr and "订购数量" in proc.stderr  # zh-CN by default
    assert "Traceback" not in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "storeops.cli", "import", "orders", str(data), "--mapping",
         str(tmp_path / "nope.yaml"), "--db", str(db)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2 and "nope.yaml" in proc.stderr


def test_rejects_never_land_beside_an_input_in_another_folder(tmp_path: Path,
                                                              monkeypatch) -> None:
    shared, work = tmp_path / "shared", tmp_path / "work"
    shared.mkdir(), work.mkdir()
    data = shared / "sales.csv"
    data.write_text(SAMPLE, encoding="utf-8")
    monkeypatch.chdir(work)
    result = CliRunner().invoke(app, ["import", "orders", str(data), "--mapping", str(MAPPING),
                                      "--db", str(tmp_path / "s.db")],
                                env={"STOREOPS_LANG": "en", "COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert list(shared.iterdir()) == [data]  # nothing written beside the input
    assert (work / "sales.csv.rejects.csv").is_file()
    assert f"rejected rows and reasons: {work / 'sales.csv.rejects.csv'}" in result.stdout


def test_rejects_option_chooses_the_file_or_folder(tmp_path: Path, monkeypatch) -> None:
    data = tmp_path / "in" / "sales.csv"
    data.parent.mkdir()
    data.write_text(SAMPLE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    args = ["import", "orders", str(data), "--mapping", str(MAPPING), "--json",
            "--db", str(tmp_path / "s.db")]
    chosen = tmp_path / "out" / "bad-rows.csv"
    chosen.parent.mkdir()
    out = json.loads(CliRunner().invoke(app, [*args, "--rejects", str(chosen)]).stdout)
    assert out["rejects_file"] == str(chosen) and chosen.is_file()
    out = json.loads(CliRunner().invoke(app, [*args, "--rejects", str(chosen.parent)]).stdout)
    assert out["rejects_file"] == str(chosen.parent / "sales.csv.rejects.csv")
    assert not list(tmp_path.glob("*.rejects.csv")) and not list(data.parent.glob("*.rej*"))
    # a folder that does not exist: refused before anything is imported
    proc = subprocess.run(
        [sys.executable, "-m", "storeops.cli", *args, "--db", str(tmp_path / "new.db"),
         "--rejects", str(tmp_path / "nope" / "r.csv")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "error:" in proc.stderr and "nope" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "new.db").exists()


@pytest.fixture(autouse=True)
def _work_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rejects files go to the working directory: keep them out of the repository."""
    monkeypatch.chdir(tmp_path)
