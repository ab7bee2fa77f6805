"""The key that signs session cookies.

``STOREOPS_SECRET_KEY`` wins; otherwise a random key is generated once and kept beside the data
(next to the SQLite file, else in the warehouse folder) so that logins survive a restart.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from storeops.config import ENV_SECRET_KEY, sqlite_path, warehouse_dir


def secret_key_file(db_url: str) -> Path:
    path = sqlite_path(db_url)
    if path is not None:
        return path.with_name(path.name + ".secret_key")
    return warehouse_dir(db_url) / "secret_key"


def load_secret_key(db_url: str) -> str:
    configured = os.environ.get(ENV_SECRET_KEY)
    if configured:
        return configured
    path = secret_key_file(db_url)
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Written whole into a private temporary file, then linked into place: the link fails if
    # another process (``storeops serve --workers N`` starting) got there first, and then its
    # key is the one every process uses. Nobody ever reads a half-written key.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    # Created readable by its owner only: the key lets anyone forge a login.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(key)
        try:
            os.link(tmp, path)
        except FileExistsError:
            existing = path.read_text(encoding="utf-8").strip()
            if existing:
                return existing
            os.replace(tmp, path)  # an empty file left by an old crash
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text(encoding="utf-8").strip()
