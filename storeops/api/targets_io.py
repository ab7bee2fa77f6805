"""Monthly targets as the API and the overview page read and write them."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from storeops.api.context import Scope
from storeops.db.engine import session_factory, unit_of_work
from storeops.metrics.periods import parse_month
from storeops.metrics.targets import get_targets, set_target, target_progress


def month_of_scope(sc: Scope) -> str:
    return f"{sc.last.year:04d}-{sc.last.month:02d}"


def read_targets(db_url: str, sc: Scope, month: str) -> dict[str, Any]:
    first, last = parse_month(month)
    with session_factory(db_url)() as session:
        targets = get_targets(session, sc.store.id, month)
    as_of = min(max(sc.last, first), last)
    progress = target_progress(db_url, sc.store.id, month, as_of, targets) if targets else {}
    return {"store": sc.store.name, "month": month, "targets": targets, "progress": progress}


def write_targets(
    db_url: str, store_id: int, month: str, values: Mapping[str, Decimal | None]
) -> None:
    """Set each given target (None values stay as they are), all in one transaction; the
    targets module checks metric names and values."""
    parse_month(month)
    with unit_of_work(db_url) as session:
        for metric, value in values.items():
            if value is not None:
                set_target(session, store_id, month, metric, value)
