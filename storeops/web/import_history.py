"""Past imports for the import page, from the ``import_batches`` table."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from storeops.api.uploads import stored_rejects_path
from storeops.catalog.models import Store
from storeops.common.timeutil import zone
from storeops.db.engine import session_factory
from storeops.importers.models import ImportBatch

HISTORY_ROWS = 20


def recent_imports(
    db_url: str, limit: int = HISTORY_ROWS, *, store: str | None = None
) -> list[dict[str, Any]]:
    """The latest imports (newest first), of every store or of the one named ``store``: when
    (store-local), store, kind, file, status, the summary's counts, and whether their rejected
    rows can be downloaded."""
    query = (select(ImportBatch, Store.name, Store.timezone)
             .join(Store, Store.id == ImportBatch.store_id, isouter=True))
    if store is not None:
        query = query.where(Store.name == store)
    with session_factory(db_url)() as session:
        rows = session.execute(query.order_by(ImportBatch.id.desc()).limit(limit)).all()
    history = []
    for batch, store, tz in rows:
        try:
            summary = json.loads(batch.summary_json or "{}")
        except ValueError:
            summary = {}
        history.append({
            "id": batch.id, "store": store, "kind": batch.kind, "source": batch.source_name,
            "status": batch.status,
            "at": batch.started_at.astimezone(zone(tz or "Asia/Shanghai"))
            .strftime("%Y-%m-%d %H:%M"),
            "read": batch.rows_read, "imported": batch.rows_imported,
            "rejected": batch.rows_rejected, "summary": summary,
            "rejects": bool(batch.rows_rejected)
            and stored_rejects_path(db_url, batch).is_file(),
        })
    return history
