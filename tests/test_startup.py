"""Start-up: a KPI command on a current snapshot imports nothing it does not use."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta

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


def test_kpi_on_a_current_snapshot_does_not_import_polars_or_alembic(seeded):
    db_url, _ = seeded
    kpi = ["kpi", "--from", "2026-10-01", "--to", "2026-10-31", "--db", db_url, "--json"]
    code = (
        "import sys\n"
        "from storeops.cli import app\n"
        f"app({kpi!r}, standalone_mode=False)\n"
        "print(sorted(m for m in ('polars', 'alembic', 'pyarrow') if m in sys.modules))\n"
    )
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr  # builds the snapshot: Polars is needed then
    again = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().splitlines()[-1] == "[]"
