"""The 365-day demo store (seed 7, ending 2026-10-31) some benchmarks read, built once with
`storeops demo` into the given SQLite file and kept (bench/.data is not committed)."""

from __future__ import annotations

import subprocess
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
END = date(2026, 10, 31)


def ensure_demo(db: Path) -> None:
    if db.exists():
        return
    db.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "storeops"), "demo", "--days", "365", "--end",
         END.isoformat(), "--seed", "7", "--no-serve", "--db", str(db)],
        check=True,
    )
