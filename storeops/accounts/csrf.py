"""CSRF tokens: an HMAC of the browser's session id (or, before login, of a random cookie)
under the server's secret key.

Another site can make a browser send its cookies, but cannot read a page of ours to learn the
token, so a form or HTMX request that carries it came from one of our pages. Nothing is stored:
the token changes with every login and dies with the session.
"""

from __future__ import annotations

import hashlib
import hmac

FIELD = "csrf_token"  # form field
HEADER = "X-CSRF-Token"  # header, for HTMX and scripts that use the session cookie
ANON_COOKIE = "storeops_csrf"  # random value that ties the login form to its browser


def csrf_token(secret_key: str, kind: str, value: str) -> str:
    """The token for a session id (kind "session") or the pre-login cookie (kind "anon")."""
    message = f"{kind}:{value}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def is_valid(secret_key: str, kind: str, value: str | None, sent: str | None) -> bool:
    if not value or not sent:
        return False
    return hmac.compare_digest(csrf_token(secret_key, kind, value), sent)
