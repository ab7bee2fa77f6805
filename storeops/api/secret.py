"""The key that signs session cookies.

``STOREOPS_SECRET_KEY`` wins; otherwise a random key is generated once and kept beside the data
(next to the SQLite file, else in the warehouse folder) so that logins survive a restart.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from storeops.common.keyfile import key_file_beside_data, load_or_create_key
from storeops.config import ENV_SECRET_KEY


def secret_key_file(db_url: str) -> Path:
    return key_file_beside_data(db_url, "secret_key")


def load_secret_key(db_url: str) -> str:
    configured = os.environ.get(ENV_SECRET_KEY)
    if configured:
        return configured
    # Readable by its owner only: the key lets anyone forge a login.
    return load_or_create_key(secret_key_file(db_url), lambda: secrets.token_urlsafe(48))
