"""Size limits of what a request may carry: query values, form fields, bodies, uploads.

One place for them, so that no single request can make the server read, hold or loop over an
unbounded amount of data. Uploads stream through :class:`BodyLimit`, which counts the bytes as
they arrive and stops at the limit (413) instead of spooling the whole body first.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import Request
from starlette.exceptions import HTTPException

from storeops.common.errors import FieldName, StoreopsError, Term
from storeops.config import ENV_MAX_UPLOAD_MB, max_upload_bytes

# Longest value per query parameter; others get DEFAULT_VALUE_CHARS. Store names follow the
# database column (stores.name is 120 characters).
STORE_NAME_CHARS = 120
SEARCH_CHARS = 100
DEFAULT_VALUE_CHARS = 200
QUERY_VALUE_CHARS = {
    "store": STORE_NAME_CHARS, "q": SEARCH_CHARS, "category": 120, "status": 20,
    "from": 10, "to": 10, "month": 7, "by": 10, "sort": 40, "order": 4, "order_by": 40,
    "page": 9, "limit": 9, "lang": 10, "saved": 1,
    "next": 2000,  # the page to return to after login: a path with its own query
}
MAX_QUERY_STRING = 8192  # bytes of the whole query string
MAX_QUERY_PARAMS = 50
# Form fields of the pages and the API (kind, format, store, target values).
FORM_WORD_CHARS = 20  # kind, format, month
FILE_NAME_CHARS = 200  # import_batches.source_name is 255; file systems allow 255 bytes
TARGET_VALUE_CHARS = 40
SHEET_NAME_CHARS = 100  # a workbook's sheet, by name (Excel allows 31) or number
# Bodies: a form or JSON body is small; a multipart upload may carry the file, its mapping and
# a few fields on top of the upload limit.
MAX_BODY_BYTES = 1 << 20
MULTIPART_OVERHEAD_BYTES = 2 << 20
# Control characters other than tab and newlines: never part of a name or a search, and NUL
# is refused outright by PostgreSQL (a 500 if it reached a query).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class TextTooLong(StoreopsError, ValueError):
    pass


def check_text(value: str, what: str, max_chars: int) -> str:
    """``value`` if it is at most ``max_chars`` characters without control characters."""
    if len(value) > max_chars:
        raise TextTooLong(f"{what} is {len(value)} characters long: at most {max_chars}",
                          key="text.too_long", what=_term(what), length=len(value),
                          limit=max_chars)
    if _CONTROL.search(value):
        raise TextTooLong(f"{what} contains control characters", key="text.control",
                          what=_term(what))
    return value


def _term(what: str) -> Term:
    return what if isinstance(what, Term) else Term(what)


async def check_query(request: Request) -> None:
    """App-wide dependency: every query value of every page and API route within its limit
    (pages also read parameters straight from ``request.query_params``). Async: it only
    computes, so it runs on the event loop instead of costing each request a thread hop."""
    raw = request.scope.get("query_string", b"")
    if len(raw) > MAX_QUERY_STRING:
        raise TextTooLong(f"the query string is {len(raw)} bytes long: at most "
                          f"{MAX_QUERY_STRING}", key="text.query_too_long", length=len(raw),
                          limit=MAX_QUERY_STRING)
    items = request.query_params.multi_items()
    if len(items) > MAX_QUERY_PARAMS:
        raise TextTooLong(f"{len(items)} query parameters: at most {MAX_QUERY_PARAMS}",
                          key="text.too_many_params", count=len(items), limit=MAX_QUERY_PARAMS)
    for name, value in items:
        limit = QUERY_VALUE_CHARS.get(name, DEFAULT_VALUE_CHARS)
        check_text(value, FieldName(f"query parameter {name!r}", name), limit)


def upload_limit_params() -> dict[str, str]:
    """The upload limit for a message: ``mb`` ("10") and the ``setting`` that changes it."""
    return {"mb": f"{round(max_upload_bytes() / (1 << 20), 2):g}", "setting": ENV_MAX_UPLOAD_MB}


def upload_limit_text() -> str:
    return "{mb} MB (setting {setting})".format(**upload_limit_params())


def too_large(what: str) -> HTTPException:
    return HTTPException(413, f"{what} is larger than the upload limit of {upload_limit_text()}")


Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class BodyLimit:
    """ASGI middleware: a request body may not pass its limit (uploads: the upload setting).

    A declared Content-Length over the limit is refused before a byte is read; otherwise the
    bytes are counted as they stream in and the request stops with 413 at the limit. The
    HTTPException is raised from ``receive``, inside the route's body parsing, so that the
    app's own handlers answer it (JSON for the API, a page for the cockpit)."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive,
                       send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        multipart = content_type.startswith("multipart/")
        limit = (max_upload_bytes() + MULTIPART_OVERHEAD_BYTES) if multipart else MAX_BODY_BYTES
        what = "the upload" if multipart else "the request body"
        declared = headers.get(b"content-length")
        over = False
        if declared is not None:
            try:
                over = int(declared) > limit
            except ValueError:
                over = False
        received = 0

        async def limited_receive() -> MutableMapping[str, Any]:
            nonlocal received
            if over:
                raise too_large(what)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large(what)
            return message

        await self.app(scope, limited_receive, send)
