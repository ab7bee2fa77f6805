"""``storeops demo --no-serve`` builds the store and prints a login that works, every time."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from storeops.accounts.users import authenticate, create_user
from storeops.alerts.models import Alert, AlertRule
from storeops.catalog.models import Store
from storeops.cli import app
from storeops.db.engine import unit_of_work
from storeops.db.migrate import upgrade
from storeops.metrics.models import TargetPlan
from storeops.metrics.warehouse import store_dir
from storeops.orders.models import Order


def _password(output: str) -> str:
    match = re.search(r"password:\s*(\S+)", output)
    assert match, output
    return match.group(1)


def test_demo_builds_prints_the_login_and_can_run_twice(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    url = f"sqlite:///{db}"
    runner = CliRunner()
    # A fixed last day: a store that reaches today grows with the clock between the two runs.
    first = runner.invoke(app, ["demo", "--db", str(db), "--no-serve", "--days", "14",
                                "--end", "2026-03-31", "--skus", "30", "--port", "8123"])
    assert first.exit_code == 0, first.output
    assert "http://127.0.0.1:8123/" in first.output
    assert "admin" in first.output and "built" in first.output
    # The hint to serve it later names the same database.
    assert f"storeops serve --db {db} --port 8123" in first.output
    password = _password(first.output)
    with unit_of_work(url) as session:
        assert authenticate(session, "admin", password).role == "owner"
        store = session.scalar(select(Store).where(Store.name == "demo"))
        orders = session.scalar(select(func.count()).select_from(Order))
        assert orders > 1000
        alerts = session.scalar(select(func.count()).select_from(Alert))
        plan = session.scalar(select(TargetPlan).where(TargetPlan.store_id == store.id))
        assert plan.year == 2027 and plan.gmv >= 10000 and plan.by_category
        assert session.scalar(select(func.count()).select_from(AlertRule)) >= 15  # defaults
    said = " ".join(first.output.split())  # the console wraps long lines
    assert f"{alerts} alerts raised by the default rules; a 2027 GMV plan of" in said
    # The analytics snapshot is built before serving, not on the first page view.
    assert any(store_dir(url, store.id).iterdir())

    second = runner.invoke(app, ["demo", "--db", str(db), "--no-serve", "--days", "14",
                                 "--end", "2026-03-31", "--skus", "30"])
    assert second.exit_code == 0, second.output
    assert "rebuilt" in second.output
    new_password = _password(second.output)
    assert new_password != password
    with unit_of_work(url) as session:
        assert authenticate(session, "admin", new_password) is not None
        assert authenticate(session, "admin", password) is None
        assert session.scalar(select(func.count()).select_from(Store)) == 1
        assert session.scalar(select(Store.id).where(Store.name == "demo")) == store.id
        assert session.scalar(select(func.count()).select_from(Order)) == orders
        # The first morning's alerts and next year's plan are made again, not added to.
        assert session.scalar(select(func.count()).select_from(Alert)) == alerts
        assert session.scalar(select(func.count()).select_from(TargetPlan)) == 1


def test_demo_takes_over_an_existing_admin_as_owner(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    url = f"sqlite:///{db}"
    upgrade(url)
    with unit_of_work(url) as session:
        create_user(session, "admin", "old-password-1", "analyst")
    result = CliRunner().invoke(app, ["demo", "--db", str(db), "--no-serve", "--days", "2",
                                      "--skus", "10", "--password", "demo-pass-2026"])
    assert result.exit_code == 0, result.output
    assert "demo-pass-2026" in result.output
    with unit_of_work(url) as session:
        assert authenticate(session, "admin", "demo-pass-2026").role == "owner"


def test_demo_refuses_a_weak_password(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = CliRunner().invoke(app, ["demo", "--db", str(db), "--no-serve", "--days", "2",
                                      "--skus", "10", "--password", "short"])
    assert result.exit_code != 0
    assert "at least" in str(result.exception)
    assert not db.exists()  # refused before building anything


def test_demo_refuses_a_bad_end_day(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = CliRunner().invoke(app, ["demo", "--db", str(db), "--no-serve", "--days", "2",
                                      "--skus", "10", "--end", "2026-02-30"])
    assert result.exit_code != 0
    assert "--end" in result.output + str(result.exception)
