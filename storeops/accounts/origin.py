"""Refuse unsafe requests (POST, PUT, PATCH, DELETE) that another site's page made a browser
send: their ``Origin`` (or, without it, ``Referer``) must be this server.

Browsers send ``Origin`` on every cross-site POST; a request with neither header is not a
browser's cross-site request (curl, scripts) and passes, as does one carrying a Bearer token,
which a browser never adds by itself. A pure ASGI middleware: no cost on safe methods.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
                   Awaitable[None]]
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_PORTS = {"http": "80", "https": "443"}


def _origin_of(url: str) -> tuple[str, str] | None:
    """(scheme, host[:port] without a default port) of a URL, else None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.netloc:
        return None
    host = parts.netloc.rsplit("@", 1)[-1].lower()
    port = DEFAULT_PORTS[parts.scheme]
    return parts.scheme, host.removesuffix(":" + port)


def same_origin(source: str, host_header: str, trusted: frozenset[str]) -> bool:
    """Whether ``source`` (an Origin or Referer value) is this server as the browser saw it."""
    parsed = _origin_of(source)
    if parsed is None:
        return False  # "null" (sandboxed frames, file://) or garbage
    scheme, host = parsed
    if f"{scheme}://{host}" in trusted:
        return True
    own = host_header.lower()
    # Behind a TLS proxy the Host may carry the other scheme's default port; compare the host.
    return host == own or host == own.removesuffix(":" + DEFAULT_PORTS[scheme])


class OriginCheckMiddleware:
    def __init__(self, app: ASGIApp, trusted_origins: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.trusted = trusted_origins

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        source = headers.get("origin") or headers.get("referer")
        bearer = headers.get("authorization", "").lower().startswith("bearer ")
        if source is None or bearer or same_origin(source, headers.get("host", ""),
                                                    self.trusted):
            await self.app(scope, receive, send)
            return
        await _refuse(scope, send, source)


async def _refuse(scope: Scope, send: Any, source: str) -> None:
    detail = (f"cross-site request refused: {source[:200]!r} is not this server "
              "(behind a proxy, name the public origin in STOREOPS_TRUSTED_ORIGINS)")
    if scope["path"].startswith("/api/"):
        body, media = json.dumps({"detail": detail}).encode(), b"application/json"
    else:
        body = ("跨站请求已拒绝 / " + detail).encode()
        media = b"text/plain; charset=utf-8"
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", media),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
