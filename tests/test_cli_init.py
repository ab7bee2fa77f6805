import subprocess
import sys

from typer.testing import CliRunner

from storeops.cli import app
from storeops.db.migrate import current_revision, head_revision


def test_init_creates_then_reports_up_to_date(empty_db_url):
    runner = CliRunner()
    first = runner.invoke(app, ["init", "--db", empty_db_url])
    assert first.exit_code == 0, first.output
    assert "created" in first.output
    assert current_revision(empty_db_url) == head_revision()
    second = runner.invoke(app, ["init", "--db", empty_db_url])
    assert second.exit_code == 0 and "up to date" in second.output


def test_init_defaults_to_a_sqlite_file_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("STOREOPS_DATABASE_URL", raising=False)
    done = subprocess.run(
        [sys.executable, "-m", "storeops.cli", "init"], cwd=tmp_path,
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "storeops.db").exists()


def test_init_reads_the_environment_variable(tmp_path, monkeypatch):
    target = tmp_path / "from_env.db"
    monkeypatch.setenv("STOREOPS_DATABASE_URL", str(target))
    result = CliRunner().invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert target.exists()


def test_init_names_a_database_it_cannot_open(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "storeops.cli", "init", "--db",
         "postgresql+psycopg://nobody@127.0.0.1:1/none"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2
    assert "无法打开数据库" in done.stderr  # zh-CN by default
