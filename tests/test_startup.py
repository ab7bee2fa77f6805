"""Start-up: a KPI command on a current snapshot imports nothing it does not use."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from importlib import import_module
from typing import Any

import typer
from typer.testing import CliRunner

from storeops import cli
from storeops.metrics import warehouse
from storeops.metrics.periods import period_label


def test_calendar_labels_match_the_period_labels():
    # ISO weeks across year ends (2020-12-31 is in 2020-W53, 2021-01-03 too, 2024-12-30 is
    # 2025-W01) are where a hand-written label goes wrong.
    first, last = date(2020, 12, 25), date(2025, 1, 6)
    warehouse.ensure_calendar(first, last)
    rows = warehouse._cursor().execute(
        f"SELECT day, day_label, week_label, month_label FROM {warehouse.CALENDAR}"
        " WHERE day BETWEEN ? AND ? ORDER BY day", [first, last]).fetchall()
    assert len(rows) == (last - first).days + 1
    for i, (day, d, w, m) in enumerate(rows):
        assert day == first + timedelta(days=i)
        assert (d, w, m) == tuple(period_label(day, by) for by in ("day", "week", "month"))


# What `storeops kpi` on a current snapshot must not import (each is tens of ms of start-up):
# the snapshot builders, the ORM (the store is read with Core), pydantic (Typer's coercion of
# numbers; text options skip it), Rich (a --json answer prints without it) and the commands of
# the other areas (registered lazily).
NOT_ON_THE_KPI_PATH = (
    "polars", "alembic", "pyarrow", "sqlalchemy.orm", "storeops.db.base", "pydantic", "rich",
    "storeops.importers.cli", "storeops.accounts.cli", "storeops.api.cli", "storeops.sim.cli",
)


def test_kpi_on_a_current_snapshot_imports_only_what_it_uses(seeded):
    db_url, _ = seeded
    kpi = ["kpi", "--from", "2026-10-01", "--to", "2026-10-31", "--db", db_url, "--json"]
    code = (
        "import sys\n"
        "from storeops.cli import app\n"
        f"app({kpi!r}, standalone_mode=False)\n"
        f"print(sorted(m for m in {NOT_ON_THE_KPI_PATH!r} if m in sys.modules))\n"
    )
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr  # builds the snapshot: Polars is needed then
    assert '"gmv"' in first.stdout
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[0] == first.stdout.splitlines()[0]  # the same answer
    assert again.stdout.strip().splitlines()[-1] == "[]"


def _eager_commands() -> dict[str, Any]:
    """The root's commands as registering every area on one Typer makes them."""
    eager = typer.Typer()
    eager.command()(cli.init)
    for area in cli.AREAS:
        import_module(area).register(eager)
    return typer.main.get_group(eager).commands


def test_help_lists_every_command_of_every_area_in_order():
    runner = CliRunner()
    shown = runner.invoke(cli.app, ["--help"], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    expected = _eager_commands()
    listed = [line.split()[1] for line in shown.output.splitlines()
              if line.startswith("│ ") and len(line.split()) > 2 and line.split()[1].isalpha()
              and line.split()[1] in expected]
    assert listed == list(expected)
    for name, command in expected.items():
        assert command.get_short_help_str(200)[:40] in shown.output, name


def test_each_command_imports_only_its_own_area():
    for area in cli.AREAS:
        own = typer.Typer()
        import_module(area).register(own)
        for name in typer.main.get_group(own).commands:
            assert cli.COMMAND_AREAS[name] == area, name
    unknown = CliRunner().invoke(cli.app, ["tokenn"])
    assert unknown.exit_code == 2 and "Did you mean 'token'?" in unknown.output


def test_numbers_are_still_checked_by_typer(seeded):
    db_url, _ = seeded
    args = ["kpi", "--from", "2026-10-01", "--to", "2026-10-31", "--db", db_url, "--by", "sku"]
    for top, message in (("0", "greater than or equal to 1"), ("x", "valid integer")):
        refused = CliRunner().invoke(cli.app, [*args, "--top", top], terminal_width=200)
        assert refused.exit_code == 2 and message in refused.output, refused.output
    fine = CliRunner().invoke(cli.app, [*args, "--top", "1", "--json"])
    assert fine.exit_code == 0, fine.output
    assert len(json.loads(fine.output)["rows"]) == 1


def test_registering_an_area_twice_lists_each_subcommand_once():
    """Help and the tests build the root more than once: the promo group's commands from
    other modules must not pile up."""
    from storeops.pricing import promo_cli

    for _ in range(2):
        promo_cli.register(typer.Typer())
    names = [c.name for c in promo_cli.promo.registered_commands]
    assert len(names) == len(set(names)) and "audit" in names and "results" in names
