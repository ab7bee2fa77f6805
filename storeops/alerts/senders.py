"""Sending one message to one channel: a DingTalk group robot (with 加签), a WeCom group robot,
or email over SMTP. Each sender raises :class:`SendError` with a short reason (never the
webhook address or the secret) when the channel does not accept the message.

DingTalk 加签 (the robot's "sign" security setting): ``timestamp`` is the time in
milliseconds, ``sign`` the URL-encoded Base64 of HMAC-SHA256 over ``timestamp + "\\n" +
secret`` keyed by the secret; both go in the query string. DingTalk and WeCom answer
``{"errcode": 0, …}`` when they accept a message.

Email settings come from the environment (read on each send):
``STOREOPS_SMTP_HOST`` (required), ``STOREOPS_SMTP_PORT`` (default 587),
``STOREOPS_SMTP_USER`` / ``STOREOPS_SMTP_PASSWORD`` (login when set),
``STOREOPS_SMTP_FROM`` (default the user, else ``storeops@localhost``),
``STOREOPS_SMTP_STARTTLS`` (default 1: upgrade the connection before logging in; 0 for a
local relay), ``STOREOPS_SMTP_SSL`` (1: implicit TLS, usually port 465),
``STOREOPS_SMTP_TIMEOUT`` (seconds, default 20).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlsplit

HTTP_TIMEOUT_S = 10.0
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024


class SendError(Exception):
    """The channel did not take the message; ``str(exc)`` says why (safe to show)."""


@dataclass(frozen=True)
class Target:
    kind: str
    address: str  # webhook URL or email address (decrypted)
    secret: str | None = None


def dingtalk_sign(timestamp_ms: int | str, secret: str) -> str:
    """DingTalk's 加签: URL-encoded Base64 of HMAC-SHA256(secret, f"{timestamp}\\n{secret}")."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), to_sign, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode("ascii"))


def signed_dingtalk_url(url: str, secret: str | None, *, now_ms: int | None = None) -> str:
    if not secret:
        return url
    ts = now_ms if now_ms is not None else int(time.time() * 1000)
    sep = "&" if urlsplit(url).query else "?"
    return f"{url}{sep}timestamp={ts}&sign={dingtalk_sign(ts, secret)}"


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or "?"
    except ValueError:
        return "?"


@lru_cache(maxsize=1)
def _client() -> Any:
    """One HTTP client per process (its TLS context is costly to build; connections are
    reused between messages to the same robot)."""
    import httpx

    return httpx.Client(timeout=httpx.Timeout(HTTP_TIMEOUT_S, connect=5.0),
                        follow_redirects=False, trust_env=True)


def _post_json(url: str, body: dict[str, Any], *, label: str) -> None:
    import httpx

    host = _host(url)
    try:
        resp = _client().post(url, json=body,
                              headers={"Content-Type": "application/json; charset=utf-8"})
    except httpx.TimeoutException:
        raise SendError(f"{label}: no answer from {host} within {HTTP_TIMEOUT_S:g} s") from None
    except httpx.HTTPError as exc:
        raise SendError(f"{label}: cannot reach {host} ({type(exc).__name__})") from None
    if resp.status_code >= 400:
        raise SendError(f"{label}: {host} answered HTTP {resp.status_code}")
    try:
        answer = resp.json()
    except ValueError:
        raise SendError(f"{label}: {host} answered HTTP {resp.status_code} without JSON"
                        ) from None
    code = answer.get("errcode") if isinstance(answer, dict) else None
    if code != 0:
        msg = str(answer.get("errmsg", "")) if isinstance(answer, dict) else ""
        raise SendError(f"{label}: errcode {code}: {msg[:200]}".rstrip(": "))


def send_dingtalk(target: Target, body: dict[str, Any]) -> None:
    _post_json(signed_dingtalk_url(target.address, target.secret), body, label="DingTalk")


def send_wecom(target: Target, body: dict[str, Any]) -> None:
    _post_json(target.address, body, label="WeCom")


def _env_flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    return raw in {"1", "true", "yes", "on"}


def smtp_settings() -> dict[str, Any]:
    port_raw = os.environ.get("STOREOPS_SMTP_PORT", "").strip()
    try:
        port = int(port_raw) if port_raw else 587
    except ValueError:
        raise SendError(f"email: STOREOPS_SMTP_PORT={port_raw!r} is not a number") from None
    try:
        timeout = float(os.environ.get("STOREOPS_SMTP_TIMEOUT", "").strip() or 20)
    except ValueError:
        timeout = 20.0
    user = os.environ.get("STOREOPS_SMTP_USER", "").strip() or None
    return {
        "host": os.environ.get("STOREOPS_SMTP_HOST", "").strip(),
        "port": port,
        "user": user,
        "password": os.environ.get("STOREOPS_SMTP_PASSWORD", ""),
        "sender": os.environ.get("STOREOPS_SMTP_FROM", "").strip() or user
        or "storeops@localhost",
        "starttls": _env_flag("STOREOPS_SMTP_STARTTLS", True),
        "ssl": _env_flag("STOREOPS_SMTP_SSL", False),
        "timeout": timeout,
    }


def build_email(sender: str, to: str, body: dict[str, Any]) -> Any:
    import mimetypes
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid

    msg = EmailMessage()
    msg["Subject"] = body.get("subject") or "storeops"
    msg["From"] = sender
    msg["To"] = to
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="storeops")
    msg.set_content(body.get("text") or "")
    if body.get("html"):
        msg.add_alternative(body["html"], subtype="html")
    for raw in body.get("attachments") or ():
        path = Path(raw)
        if not path.is_file() or path.stat().st_size > MAX_ATTACHMENT_BYTES:
            continue  # the link in the message still reaches the report
        ctype, _ = mimetypes.guess_type(path.name)
        maintype, subtype = (ctype or "application/octet-stream").split("/", 1)
        msg.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype,
                           filename=path.name)
    return msg


def send_email(target: Target, body: dict[str, Any]) -> None:
    import smtplib
    import ssl

    cfg = smtp_settings()
    if not cfg["host"]:
        raise SendError("email: STOREOPS_SMTP_HOST is not set")
    msg = build_email(cfg["sender"], target.address, body)
    where = f"{cfg['host']}:{cfg['port']}"
    try:
        if cfg["ssl"]:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(cfg["host"], cfg["port"],
                                                  timeout=cfg["timeout"],
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(cfg["host"], cfg["port"], timeout=cfg["timeout"])
        with smtp:
            if cfg["starttls"] and not cfg["ssl"]:
                smtp.starttls(context=ssl.create_default_context())
            if cfg["user"]:
                smtp.login(cfg["user"], cfg["password"])
            refused = smtp.send_message(msg)
            if refused:
                raise SendError(f"email: {where} refused {', '.join(refused)}")
    except SendError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise SendError(f"email: {where} refused the login ({exc.smtp_code})") from None
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(
            exc.smtp_error, bytes) else str(exc.smtp_error)
        raise SendError(f"email: {where} answered {exc.smtp_code} {text[:200]}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(f"email: cannot send through {where} ({type(exc).__name__}:"
                        f" {str(exc)[:200]})") from None


SENDERS = {"dingtalk": send_dingtalk, "wecom": send_wecom, "email": send_email}


def send(target: Target, body: dict[str, Any]) -> None:
    """Send ``body`` (the ``body`` of :func:`storeops.alerts.render.payload`) to ``target``."""
    sender = SENDERS.get(target.kind)
    if sender is None:
        raise SendError(f"unknown channel kind {target.kind!r}")
    sender(target, body)
