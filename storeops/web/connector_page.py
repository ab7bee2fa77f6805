"""The JD connector's page: connection, last syncs, errors, and "sync now".

Shows what :mod:`storeops.connectors.jd.models` keeps for the store: whether it is connected,
its app key and gateway (never the secret or the token), the last sync and how far it got, the
last error and the last ``RECENT_RUNS`` sync runs. "Sync now" queues the background job
(:mod:`storeops.jobs`); the page shows its run once a worker has done it. ``CONNECTOR_MANAGE`` only.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from storeops.accounts.permissions import Permission
from storeops.api.auth import CurrentUser, db_url_of, require
from storeops.api.limits import STORE_NAME_CHARS
from storeops.common.errors import StoreopsError, localise
from storeops.connectors.jd.models import JdConnection, SyncRun
from storeops.db.engine import session_factory
from storeops.web.i18n import translate
from storeops.web.orders_pages import label, local_time, store_scope
from storeops.web.pages import page_lang, render

router = APIRouter(include_in_schema=False)

RECENT_RUNS = 20


def mask_key(app_key: str) -> str:
    """An app key is not a secret, but a screen need not show it whole."""
    return app_key if len(app_key) <= 8 else f"{app_key[:4]}…{app_key[-4:]}"


def skipped_detail(text: str | None) -> str:
    if not text:
        return ""
    try:
        data = json.loads(text)
    except ValueError:
        return text[:300]
    if isinstance(data, list):
        return "; ".join(str(x) for x in data[:5])[:300]
    return str(data)[:300]


def render_connector(request: Request, user: CurrentUser, store: str | None, *,
                     status: int = 200, message: str = "", queued: str = "") -> Response:
    sc = store_scope(request, store)
    lang = page_lang(request)
    tz = sc.store.timezone
    with session_factory(db_url_of(request))() as session:
        conn = session.get(JdConnection, sc.store.id)
        runs = session.scalars(select(SyncRun).where(SyncRun.store_id == sc.store.id)
                               .order_by(SyncRun.id.desc()).limit(RECENT_RUNS)).all()
        connection = None if conn is None else {
            "app_key": mask_key(conn.app_key), "gateway": conn.gateway,
            "last_sync": local_time(conn.last_sync_at, tz),
            "synced_until": local_time(conn.synced_until, tz),
            "last_error": conn.last_error or "",
            "since": local_time(conn.created_at, tz),
        }
        run_rows = [{
            "id": r.id, "started": local_time(r.started_at, tz),
            "finished": local_time(r.finished_at, tz), "status": r.status,
            "status_label": label(lang, "pages.connector.run", r.status),
            "fetched": r.fetched, "created": r.created, "updated": r.updated,
            "unchanged": r.unchanged, "skipped": r.skipped, "error": r.error or "",
            "detail": skipped_detail(r.details_json),
        } for r in runs]
    done = request.query_params.get("done")
    context = {"connection": connection, "runs": run_rows, "message": message,
               "done": done if done in ("queued", "synced") else queued}
    return render(request, "connector.html", context, status=status, user=user, sc=sc)


@router.get("/connector")
def connector_page(
    request: Request,
    user: CurrentUser = require(Permission.CONNECTOR_MANAGE),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
) -> Response:
    return render_connector(request, user, store)


def start_sync(db_url: str, store_id: int) -> str:
    """Queue the store's sync on the background jobs (:func:`storeops.jobs.queue.enqueue_sync`:
    the worker skips it while another sync of the store runs) and say "queued"."""
    from storeops.jobs.queue import enqueue_sync

    enqueue_sync(db_url, store_id)
    return "queued"


@router.post("/connector/sync")
def connector_sync(
    request: Request,
    user: CurrentUser = require(Permission.CONNECTOR_MANAGE),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
) -> Response:
    sc = store_scope(request, store)
    lang = page_lang(request)
    with session_factory(db_url_of(request))() as session:
        connected = session.get(JdConnection, sc.store.id) is not None
    if not connected:
        return render_connector(request, user, sc.store.name, status=409,
                                message=translate(lang, "pages.connector.not_connected_sync"))
    try:
        how = start_sync(db_url_of(request), sc.store.id)
    except StoreopsError as exc:
        return render_connector(request, user, sc.store.name, status=502,
                                message=localise(exc, lang))
    return RedirectResponse(f"/connector?store={quote(sc.store.name, safe='')}&done={how}",
                            status_code=303)
