"""A store's notification channels: add, list, enable/disable, remove.

The webhook address (it carries the robot's access token) and the DingTalk signing secret are
encrypted at rest with the JD connector's Fernet key (``storeops.connectors.jd.secrets``:
``STOREOPS_CONNECTOR_KEY``, else a key file beside the data); lists show only a masked
``target_hint`` (``https://oapi.dingtalk.com/robot/send?access_token=ab…9f``,
``a***@example.com``). Nothing here prints or logs a secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storeops.alerts.models import NotifyChannel, NotifyDelivery
from storeops.alerts.senders import Target
from storeops.common.errors import StoreopsError

KINDS = ("dingtalk", "wecom", "email")
LANGS = ("zh-CN", "en")
SEVERITIES = ("info", "warning", "critical")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                    r"[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


class ChannelError(StoreopsError, ValueError):
    pass


class ChannelNotFound(ChannelError):
    http_status = 404


@dataclass(frozen=True)
class ChannelView:
    """A channel as lists show it: never the address or the secret."""

    id: int
    store_id: int
    kind: str
    name: str
    target_hint: str
    has_secret: bool
    lang: str
    min_severity: str | None
    enabled: bool
    last_ok_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    pending: int
    failed: int

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id, "kind": self.kind, "name": self.name, "target": self.target_hint,
            "has_secret": self.has_secret, "lang": self.lang,
            "min_severity": self.min_severity, "enabled": self.enabled,
            "last_ok_at": self.last_ok_at.isoformat() if self.last_ok_at else None,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at.isoformat() if self.last_error_at else None,
            "pending": self.pending, "failed": self.failed,
        }


# --- validation ---------------------------------------------------------------------------

def check_kind(kind: str) -> str:
    k = (kind or "").strip().lower()
    if k not in KINDS:
        raise ChannelError(f"unknown channel kind {kind!r} (dingtalk, wecom or email)",
                           key="notify.bad_kind", kind=kind)
    return k


def check_target(kind: str, target: str) -> str:
    value = (target or "").strip()
    if not value:
        raise ChannelError("the channel's target is empty", key="notify.empty_target")
    if len(value) > 2000:
        raise ChannelError("the channel's target is longer than 2,000 characters",
                           key="notify.target_too_long")
    if kind == "email":
        if not _EMAIL.match(value) or len(value) > 254:
            raise ChannelError(f"not an email address: {value}", key="notify.bad_email",
                               value=value)
        return value
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if (parts is None or parts.scheme not in ("http", "https") or not parts.hostname
            or any(c.isspace() for c in value)):
        raise ChannelError(f"a {kind} robot's target must be an http(s) webhook address",
                           key="notify.bad_webhook", kind=kind)
    return value


def check_lang(lang: str | None) -> str:
    value = (lang or "zh-CN").strip()
    if value.lower() in ("zh", "zh-cn", "cn"):
        return "zh-CN"
    if value.lower() in ("en", "en-us", "en-gb"):
        return "en"
    raise ChannelError(f"unknown language {lang!r} (zh-CN or en)", key="notify.bad_lang",
                       value=lang)


def check_severity(value: str | None) -> str | None:
    v = (value or "").strip().lower()
    if not v or v == "all":
        return None
    if v not in SEVERITIES:
        raise ChannelError(f"unknown severity {value!r} (info, warning or critical)",
                           key="notify.bad_severity", value=value)
    return v


# --- masking ------------------------------------------------------------------------------

def _mask_token(token: str) -> str:
    if len(token) <= 6:
        return "…"
    return f"{token[:2]}…{token[-2:]}"


def mask_target(kind: str, target: str) -> str:
    """What lists show of a target: the host and path of a webhook with its tokens cut to
    their ends; an email's first letter and domain."""
    if kind == "email":
        local, _, domain = target.partition("@")
        return f"{local[:1]}***@{domain}"
    parts = urlsplit(target)
    query = "&".join(f"{k}={_mask_token(v)}" for k, v in parse_qsl(parts.query,
                                                                   keep_blank_values=True))
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    # A user and password in the address (user:pass@host) are never shown.
    hint = f"{parts.scheme}://{host}{parts.path}" + (f"?{query}" if query else "")
    return hint[:200]


# --- operations ---------------------------------------------------------------------------

def _encrypt(db_url: str, text: str) -> str:
    from storeops.connectors.jd.secrets import encrypt

    return encrypt(db_url, text)


def _decrypt(db_url: str, token: str, store_name: str) -> str:
    from storeops.connectors.jd.secrets import ENV_CONNECTOR_KEY, SecretKeyError, decrypt

    try:
        return decrypt(db_url, token, store=store_name)
    except SecretKeyError:
        raise ChannelError(
            f"cannot decrypt a notification channel of store {store_name!r}: the connector"
            f" key ({ENV_CONNECTOR_KEY} or its key file) is not the one it was stored with;"
            " remove the channel and add it again", key="notify.cannot_decrypt",
            store=store_name) from None


def add_channel(session: Session, db_url: str, store_id: int, *, kind: str, target: str,
                secret: str | None = None, name: str | None = None, lang: str | None = None,
                min_severity: str | None = None, actor: str | None = None) -> NotifyChannel:
    kind = check_kind(kind)
    target = check_target(kind, target)
    lang = check_lang(lang)
    min_severity = check_severity(min_severity)
    secret = (secret or "").strip() or None
    if secret is not None and kind != "dingtalk":
        raise ChannelError("only a DingTalk robot takes a signing secret",
                           key="notify.secret_not_dingtalk", kind=kind)
    if secret is not None and len(secret) > 500:
        raise ChannelError("the signing secret is longer than 500 characters",
                           key="notify.secret_too_long")
    name = (name or "").strip()[:120] or None
    same = _same_target(session, db_url, store_id, kind, target)
    if same is not None:
        raise ChannelError(f"this store already sends to that {kind} target: channel {same}",
                           key="notify.duplicate", channel=same)
    channel = NotifyChannel(
        store_id=store_id, kind=kind, name=name, target_enc=_encrypt(db_url, target),
        target_hint=mask_target(kind, target),
        secret_enc=_encrypt(db_url, secret) if secret else None, lang=lang,
        min_severity=min_severity, enabled=True, created_by=actor)
    session.add(channel)
    session.flush()
    return channel


def _same_target(session: Session, db_url: str, store_id: int, kind: str, target: str
                 ) -> int | None:
    """The id of the store's channel of ``kind`` sending to ``target`` already, if any."""
    from storeops.connectors.jd.secrets import SecretKeyError, decrypt

    wanted = target.lower() if kind == "email" else target
    for channel_id, sealed in session.execute(
            select(NotifyChannel.id, NotifyChannel.target_enc)
            .where(NotifyChannel.store_id == store_id, NotifyChannel.kind == kind)):
        try:
            known = decrypt(db_url, sealed)
        except SecretKeyError:
            continue  # sealed under another key: cannot be compared
        if (known.lower() if kind == "email" else known) == wanted:
            return channel_id
    return None


def get_channel(session: Session, store_id: int, channel_id: int) -> NotifyChannel:
    channel = session.get(NotifyChannel, channel_id)
    if channel is None or channel.store_id != store_id:
        raise ChannelNotFound(f"no notification channel {channel_id} in this store",
                           key="notify.no_channel", channel=channel_id)
    return channel


def set_enabled(session: Session, store_id: int, channel_id: int, enabled: bool
                ) -> NotifyChannel:
    channel = get_channel(session, store_id, channel_id)
    channel.enabled = bool(enabled)
    return channel


def remove_channel(session: Session, store_id: int, channel_id: int) -> NotifyChannel:
    """Delete a channel and its outbox rows (what was sent is recorded on the alerts)."""
    channel = get_channel(session, store_id, channel_id)
    for delivery in session.scalars(select(NotifyDelivery)
                                    .where(NotifyDelivery.channel_id == channel.id)):
        session.delete(delivery)
    session.flush()
    session.delete(channel)
    session.flush()
    return channel


def channel_name(channel: NotifyChannel) -> str:
    return channel.name or channel.target_hint or channel.kind


def list_channels(session: Session, store_id: int) -> list[ChannelView]:
    channels = list(session.scalars(select(NotifyChannel)
                                    .where(NotifyChannel.store_id == store_id)
                                    .order_by(NotifyChannel.id)))
    counts: dict[tuple[int, str], int] = {}
    if channels:
        rows = session.execute(
            select(NotifyDelivery.channel_id, NotifyDelivery.status, func.count())
            .where(NotifyDelivery.store_id == store_id,
                   NotifyDelivery.status.in_(("pending", "failed")))
            .group_by(NotifyDelivery.channel_id, NotifyDelivery.status))
        counts = {(cid, status): n for cid, status, n in rows}
    return [ChannelView(
        id=c.id, store_id=c.store_id, kind=c.kind, name=channel_name(c),
        target_hint=c.target_hint or "", has_secret=c.secret_enc is not None, lang=c.lang,
        min_severity=c.min_severity, enabled=bool(c.enabled), last_ok_at=c.last_ok_at,
        last_error=c.last_error, last_error_at=c.last_error_at,
        pending=counts.get((c.id, "pending"), 0), failed=counts.get((c.id, "failed"), 0))
        for c in channels]


def target_of(db_url: str, channel: NotifyChannel, *, store_name: str = "") -> Target:
    """The channel's decrypted address and secret, for sending only."""
    address = _decrypt(db_url, channel.target_enc, store_name)
    secret = _decrypt(db_url, channel.secret_enc, store_name) if channel.secret_enc else None
    return Target(kind=channel.kind, address=address, secret=secret)
