"""The JD app secret and access token, encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256).

The key is ``STOREOPS_CONNECTOR_KEY`` (a Fernet key: 32 url-safe base64 bytes, e.g. from
``python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"``),
else a key generated once and kept beside the data (``<db file>.connector_key`` next to a
SQLite file, else in the warehouse folder), readable by its owner only. Losing the key means
connecting the store again; nothing here ever prints or logs a secret.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from storeops.common.errors import StoreopsError
from storeops.common.keyfile import key_file_beside_data, load_or_create_key

ENV_CONNECTOR_KEY = "STOREOPS_CONNECTOR_KEY"


class SecretKeyError(StoreopsError):
    """The connector key is missing, malformed or not the one the credentials were sealed
    with."""


def connector_key_file(db_url: str) -> Path:
    return key_file_beside_data(db_url, "connector_key")


def _key(db_url: str) -> bytes:
    configured = os.environ.get(ENV_CONNECTOR_KEY, "").strip()
    if configured:
        return configured.encode("ascii", "replace")
    from cryptography.fernet import Fernet

    return load_or_create_key(connector_key_file(db_url),
                              lambda: Fernet.generate_key().decode("ascii")).encode("ascii")


@lru_cache(maxsize=8)
def _fernet(key: bytes):  # noqa: ANN202 - cryptography is imported lazily
    from cryptography.fernet import Fernet

    try:
        return Fernet(key)
    except (ValueError, TypeError):
        raise SecretKeyError(
            f"{ENV_CONNECTOR_KEY} is not a Fernet key (32 url-safe base64-encoded bytes)",
            key="jd.bad_connector_key", setting=ENV_CONNECTOR_KEY) from None


def encrypt(db_url: str, plaintext: str) -> str:
    """``plaintext`` sealed with the connector key, as ASCII text for a column."""
    return _fernet(_key(db_url)).encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(db_url: str, token: str, *, store: str = "") -> str:
    """The text sealed by :func:`encrypt`; :class:`SecretKeyError` naming the store when the
    key is not the one it was sealed with (or the stored text was changed)."""
    from cryptography.fernet import InvalidToken

    try:
        return _fernet(_key(db_url)).decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        raise SecretKeyError(
            f"cannot decrypt the JD credentials of store {store!r}: the connector key"
            f" ({ENV_CONNECTOR_KEY} or {connector_key_file(db_url).name}) is not the one they"
            " were stored with; run `storeops jd connect` again",
            key="jd.cannot_decrypt", store=store, setting=ENV_CONNECTOR_KEY) from None
