"""Pages of notifications: the store's channels (/alerts/channels) and the in-app inbox
(/alerts/inbox).

The channels page lists each channel (kind, masked address, language, severity floor, last
success, last error), the messages waiting for a channel or given up on ("send again"), and,
for ``ALERT_MANAGE``, forms to add, test, enable/disable and remove channels. A test and
"send again" send at once and come back with the answer; everything else is sent by the
once-a-minute job (:func:`storeops.alerts.delivery.send_due`).

The inbox lists the store's messages (alerts, resolutions, reports) newest first with the
reader's unread count; "mark as read" is per user (``inbox_reads``). ``ALERT_VIEW`` sees both
pages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import and_, case, func, select

from storeops.accounts.permissions import Permission
from storeops.alerts import channels as channel_ops
from storeops.alerts import delivery
from storeops.alerts.channels import ChannelNotFound
from storeops.alerts.models import InboxMessage, InboxRead, NotifyDelivery
from storeops.api.auth import CurrentUser, db_url_of, require
from storeops.api.limits import STORE_NAME_CHARS
from storeops.common.errors import StoreopsError, localise
from storeops.common.timeutil import utcnow
from storeops.db.engine import session_factory, unit_of_work
from storeops.web.i18n import translate
from storeops.web.orders_pages import (
    actor_of,
    form_text,
    local_time,
    page_links,
    paged,
    store_scope,
)
from storeops.web.pages import page_lang, render

router = APIRouter(include_in_schema=False)

OUTBOX_ROWS = 100  # pending and failed deliveries shown (oldest first)
INBOX_PAGE = 50
MAX_PAGE = 200
ID_MAX = 2**62
DONE = ("added", "enabled", "disabled", "removed", "test_ok", "test_failed", "resent",
        "resend_failed")


def _q(text: str) -> str:
    return quote(text, safe="")


def _back(store_name: str, done: str, **extra: Any) -> RedirectResponse:
    url = f"/alerts/channels?store={_q(store_name)}&done={done}"
    for key, value in extra.items():
        url += f"&{key}={_q(str(value))}"
    return RedirectResponse(url, status_code=303)


# --- the channels page ------------------------------------------------------------------------

def _outbox(session: Any, store_id: int, tz: str, lang: str,
            names: Mapping[int, str]) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(NotifyDelivery)
        .where(NotifyDelivery.store_id == store_id,
               NotifyDelivery.status.in_((delivery.PENDING, delivery.FAILED)))
        .order_by(case((NotifyDelivery.status == delivery.FAILED, 0), else_=1),
                  NotifyDelivery.id).limit(OUTBOX_ROWS))
    out = []
    for d in rows:
        try:
            title = json.loads(d.payload_json).get("title") or ""
        except (TypeError, ValueError):
            title = ""
        if d.alert_id:
            link = f"/alerts/{d.alert_id}"
        elif d.report_id:
            link = f"/reports/{d.report_id}"
        else:
            link = ""
        out.append({
            "id": d.id, "status": d.status,
            "status_text": translate(lang, "notify.page.status_queued"
                                     if d.status == delivery.PENDING and not d.attempts
                                     else f"notify.page.status_{d.status}"),
            "kind": translate(lang, f"notify.page.msg_{d.kind}"), "title": title,
            "link": link, "channel": names.get(d.channel_id, str(d.channel_id)),
            "created": local_time(d.created_at, tz), "attempts": d.attempts or 0,
            "next": local_time(d.next_attempt_at, tz) if d.next_attempt_at else "",
            "error": d.last_error or ""})
    return out


def render_channels(request: Request, user: CurrentUser, store: str | None, *,
                    status: int = 200, errors: Mapping[str, str] | None = None,
                    form: Mapping[str, Any] | None = None) -> Response:
    lang = page_lang(request)
    sc = store_scope(request, store)
    tz = sc.store.timezone
    with session_factory(db_url_of(request))() as session:
        views = channel_ops.list_channels(session, sc.store.id)
        names = {v.id: v.name for v in views}
        outbox = _outbox(session, sc.store.id, tz, lang, names)
    rows = [{
        "id": v.id, "kind": v.kind, "kind_text": translate(lang, f"notify.page.kind_{v.kind}"),
        "name": v.name, "target": v.target_hint, "signed": v.has_secret,
        "lang": v.lang, "severity": translate(lang, f"notify.page.severity_{v.min_severity}")
        if v.min_severity else translate(lang, "notify.page.severity_all"),
        "enabled": v.enabled, "last_ok": local_time(v.last_ok_at, tz) if v.last_ok_at else "",
        "last_error": v.last_error or "",
        "last_error_at": local_time(v.last_error_at, tz) if v.last_error_at else "",
        "failing": bool(v.last_error_at and (not v.last_ok_at
                                             or v.last_error_at > v.last_ok_at)),
        "pending": v.pending, "failed": v.failed} for v in views]
    done = request.query_params.get("done")
    context = {
        "rows": rows, "outbox": outbox, "outbox_limit": OUTBOX_ROWS,
        "errors": dict(errors or {}), "form": dict(form or {}),
        "done": done if done in DONE else "",
        "done_name": (request.query_params.get("name") or "")[:120],
        "done_error": (request.query_params.get("error") or "")[:300],
        "smtp_missing": any(v.kind == "email" for v in views) and not _smtp_host(),
        "kinds": channel_ops.KINDS, "severities": channel_ops.SEVERITIES,
        "langs": channel_ops.LANGS,
    }
    return render(request, "notify_channels.html", context, status=status, user=user, sc=sc)


def _smtp_host() -> str:
    import os

    return os.environ.get("STOREOPS_SMTP_HOST", "").strip()


@router.get("/alerts/channels")
def channels_page(
    request: Request,
    user: CurrentUser = require(Permission.ALERT_VIEW),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
) -> Response:
    return render_channels(request, user, store)


async def _form(request: Request) -> dict[str, str]:
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}


_FIELD_OF_KEY = {
    "notify.bad_kind": "kind", "notify.empty_target": "target",
    "notify.target_too_long": "target", "notify.bad_email": "target",
    "notify.bad_webhook": "target", "notify.bad_lang": "lang",
    "notify.bad_severity": "min_severity", "notify.secret_not_dingtalk": "secret",
    "notify.secret_too_long": "secret", "notify.duplicate": "target",
}


@router.post("/alerts/channels")
async def channel_add(request: Request, user: CurrentUser = require(Permission.ALERT_MANAGE),
                      store: str | None = Query(None, max_length=STORE_NAME_CHARS)
                      ) -> Response:
    form = await _form(request)
    lang = page_lang(request)
    sc = store_scope(request, store)
    db_url = db_url_of(request)
    kept = {k: v for k, v in form.items() if k != "secret"}  # a secret is never sent back
    try:
        with unit_of_work(db_url) as session:
            channel_ops.add_channel(
                session, db_url, sc.store.id, kind=form_text(form, "kind", 20),
                target=form_text(form, "target", 2000), secret=form_text(form, "secret", 500),
                name=form_text(form, "name", 120), lang=form_text(form, "lang", 10) or None,
                min_severity=form_text(form, "min_severity", 10) or None,
                actor=actor_of(user))
    except StoreopsError as exc:
        field = _FIELD_OF_KEY.get(exc.key or "", "form")
        return render_channels(request, user, sc.store.name, status=422,
                               errors={field: localise(exc, lang)}, form=kept)
    return _back(sc.store.name, "added")


def _channel_action(request: Request, store: str | None, channel_id: int, action: str
                    ) -> Response:
    sc = store_scope(request, store)
    db_url = db_url_of(request)
    with unit_of_work(db_url) as session:
        if action == "remove":
            ch = channel_ops.remove_channel(session, sc.store.id, channel_id)
        else:
            ch = channel_ops.set_enabled(session, sc.store.id, channel_id, action == "enable")
        name = channel_ops.channel_name(ch)
    return _back(sc.store.name, {"enable": "enabled", "disable": "disabled",
                                 "remove": "removed"}[action], name=name)


@router.post("/alerts/channels/{channel_id}/enable")
def channel_enable(request: Request, channel_id: int = Path(ge=1, le=ID_MAX),
                   user: CurrentUser = require(Permission.ALERT_MANAGE),
                   store: str | None = Query(None, max_length=STORE_NAME_CHARS)) -> Response:
    return _channel_action(request, store, channel_id, "enable")


@router.post("/alerts/channels/{channel_id}/disable")
def channel_disable(request: Request, channel_id: int = Path(ge=1, le=ID_MAX),
                    user: CurrentUser = require(Permission.ALERT_MANAGE),
                    store: str | None = Query(None, max_length=STORE_NAME_CHARS)) -> Response:
    return _channel_action(request, store, channel_id, "disable")


@router.post("/alerts/channels/{channel_id}/remove")
def channel_remove(request: Request, channel_id: int = Path(ge=1, le=ID_MAX),
                   user: CurrentUser = require(Permission.ALERT_MANAGE),
                   store: str | None = Query(None, max_length=STORE_NAME_CHARS)) -> Response:
    return _channel_action(request, store, channel_id, "remove")


@router.post("/alerts/channels/{channel_id}/test")
def channel_test(request: Request, channel_id: int = Path(ge=1, le=ID_MAX),
                 user: CurrentUser = require(Permission.ALERT_MANAGE),
                 store: str | None = Query(None, max_length=STORE_NAME_CHARS)) -> Response:
    """Send a test message now; the answer comes back on the page."""
    sc = store_scope(request, store)
    db_url = db_url_of(request)
    with unit_of_work(db_url) as session:
        ch = channel_ops.get_channel(session, sc.store.id, channel_id)
        name = channel_ops.channel_name(ch)
        delivery_id = delivery.enqueue_test(session, ch, sc.store.name).id
    status = delivery.send_one(db_url, delivery_id, utcnow())
    if status == delivery.SENT:
        return _back(sc.store.name, "test_ok", name=name)
    with session_factory(db_url)() as session:
        d = session.get(NotifyDelivery, delivery_id)
        error = (d.last_error if d is not None else "") or ""
    return _back(sc.store.name, "test_failed", name=name, error=error[:300])


@router.post("/alerts/channels/deliveries/{delivery_id}/resend")
def delivery_resend(request: Request, delivery_id: int = Path(ge=1, le=ID_MAX),
                    user: CurrentUser = require(Permission.ALERT_MANAGE),
                    store: str | None = Query(None, max_length=STORE_NAME_CHARS)) -> Response:
    """Put a waiting or failed message back in line and try it at once."""
    sc = store_scope(request, store)
    db_url = db_url_of(request)
    with unit_of_work(db_url) as session:
        d = session.get(NotifyDelivery, delivery_id)
        if d is None or d.store_id != sc.store.id:
            raise ChannelNotFound(f"no message {delivery_id} waiting in this store",
                                key="notify.no_delivery", delivery=delivery_id)
        delivery.resend(session, delivery_id)
    status = delivery.send_one(db_url, delivery_id, utcnow())
    return _back(sc.store.name, "resent" if status in (delivery.SENT, None)
                 else "resend_failed")


# --- the inbox --------------------------------------------------------------------------------

def _inbox_text(session: Any, msg: InboxMessage, lang: str) -> tuple[str, str]:
    """The message's title and body in the page's language (worded again from its alert or
    report where it still exists; else as stored, in Chinese)."""
    if lang == "zh-CN":
        return msg.title, msg.body or ""
    from storeops.alerts import render as words
    from storeops.alerts.models import Alert

    try:
        if msg.alert_id is not None:
            alert = session.get(Alert, msg.alert_id)
            if alert is not None:
                m = words.alert_message(alert, lang, event=msg.kind if msg.kind == "resolved"
                                        else "alert")
                return m.title, "\n".join(m.lines)
        if msg.report_id is not None:
            from storeops.catalog.models import Store
            from storeops.reports.models import Report

            report = session.get(Report, msg.report_id)
            if report is not None:
                shop = session.get(Store, report.store_id)
                m = words.report_message(report, lang, store_name=shop.name if shop else None)
                return m.title, m.lines[0] if m.lines else ""
    except Exception:  # noqa: BLE001 - the stored words are always there to fall back on
        pass
    return msg.title, msg.body or ""


def unread_count(session: Any, store_id: int, user_id: int) -> int:
    return int(session.scalar(
        select(func.count()).select_from(InboxMessage)
        .outerjoin(InboxRead, and_(InboxRead.message_id == InboxMessage.id,
                                   InboxRead.user_id == user_id))
        .where(InboxMessage.store_id == store_id, InboxRead.message_id.is_(None))) or 0)


@router.get("/alerts/inbox")
def inbox_page(
    request: Request,
    user: CurrentUser = require(Permission.ALERT_VIEW),
    store: str | None = Query(None, max_length=STORE_NAME_CHARS),
    unread: bool = Query(False),
    page: int = Query(1, ge=1, le=MAX_PAGE),
) -> Response:
    lang = page_lang(request)
    sc = store_scope(request, store)
    tz = sc.store.timezone
    with session_factory(db_url_of(request))() as session:
        q = (select(InboxMessage, InboxRead.read_at)
             .outerjoin(InboxRead, and_(InboxRead.message_id == InboxMessage.id,
                                        InboxRead.user_id == user.id))
             .where(InboxMessage.store_id == sc.store.id))
        if unread:
            q = q.where(InboxRead.message_id.is_(None))
        paging, found = paged(session, q.order_by(InboxMessage.id.desc()), page,
                              size=INBOX_PAGE)
        rows = []
        for msg, read_at in found:
            title, body = _inbox_text(session, msg, lang)
            rows.append({"id": msg.id, "kind": msg.kind,
                         "kind_text": translate(lang, f"notify.page.msg_{msg.kind}"),
                         "severity": msg.severity or "", "title": title,
                         "body": body.splitlines(), "link": msg.link or "",
                         "at": local_time(msg.created_at, tz), "unread": read_at is None})
        count = unread_count(session, sc.store.id, user.id)
    params = {"store": sc.store.name, "unread": "1" if unread else ""}
    context = {"rows": rows, "paging": paging,
               "links": page_links("/alerts/inbox", params, paging),
               "unread": unread, "unread_count": count}
    return render(request, "notify_inbox.html", context, user=user, sc=sc)


def _inbox_back(store_name: str, form: Mapping[str, str]) -> RedirectResponse:
    url = f"/alerts/inbox?store={_q(store_name)}"
    if form.get("unread") == "1":
        url += "&unread=1"
    page = form.get("page", "")
    if page.isdigit() and 1 < int(page) <= MAX_PAGE:
        url += f"&page={page}"
    return RedirectResponse(url, status_code=303)


def _mark_read(session: Any, user_id: int, ids: list[int]) -> int:
    if not ids:
        return 0
    done = set(session.scalars(select(InboxRead.message_id).where(
        InboxRead.user_id == user_id, InboxRead.message_id.in_(ids))))
    now = utcnow()
    for mid in ids:
        if mid not in done:
            session.add(InboxRead(message_id=mid, user_id=user_id, read_at=now))
    return len(ids) - len(done)


@router.post("/alerts/inbox/{message_id}/read")
async def inbox_read(request: Request, message_id: int = Path(ge=1, le=ID_MAX),
                     user: CurrentUser = require(Permission.ALERT_VIEW),
                     store: str | None = Query(None, max_length=STORE_NAME_CHARS)) -> Response:
    form = await _form(request)
    sc = store_scope(request, store)
    with unit_of_work(db_url_of(request)) as session:
        msg = session.get(InboxMessage, message_id)
        if msg is not None and msg.store_id == sc.store.id:
            _mark_read(session, user.id, [msg.id])
    return _inbox_back(sc.store.name, form)


@router.post("/alerts/inbox/read-all")
async def inbox_read_all(request: Request, user: CurrentUser = require(Permission.ALERT_VIEW),
                         store: str | None = Query(None, max_length=STORE_NAME_CHARS)
                         ) -> Response:
    form = await _form(request)
    sc = store_scope(request, store)
    with unit_of_work(db_url_of(request)) as session:
        ids = list(session.scalars(
            select(InboxMessage.id)
            .outerjoin(InboxRead, and_(InboxRead.message_id == InboxMessage.id,
                                       InboxRead.user_id == user.id))
            .where(InboxMessage.store_id == sc.store.id, InboxRead.message_id.is_(None))
            .limit(10_000)))
        _mark_read(session, user.id, ids)
    return _inbox_back(sc.store.name, form)

