"""Keys kept beside the data: read once created, created once, race-free, owner-only.

Used for the session secret (``storeops.api.secret``) and the JD connector's encryption key
(``storeops.connectors.jd.secrets``): the file sits next to the SQLite file, else in the
warehouse folder.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from storeops.config import sqlite_path, warehouse_dir


def key_file_beside_data(db_url: str, suffix: str) -> Path:
    """``<db file>.<suffix>`` beside a SQLite file, else ``<warehouse>/<suffix>``."""
    path = sqlite_path(db_url)
    if path is not None:
        return path.with_name(f"{path.name}.{suffix}")
    return warehouse_dir(db_url) / suffix


def load_or_create_key(path: Path, generate: Callable[[], str]) -> str:
    """The key stored in ``path``; the first caller writes ``generate()`` there.

    Written whole into a private temporary file, then linked into place: the link fails if
    another process (``storeops serve --workers N`` starting) got there first, and then its
    key is the one every process uses. Nobody ever reads a half-written key. The file is
    readable by its owner only (mode 0600): the key unlocks what it protects.
    """
    if path.exists():
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = generate()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
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
