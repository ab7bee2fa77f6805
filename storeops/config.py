"""Where the database and the analytics warehouse live.

Precedence for the database: ``--db`` on the command line, then ``STOREOPS_DATABASE_URL``,
then a SQLite file ``storeops.db`` in the working directory.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

DEFAULT_DB_FILE = "storeops.db"
ENV_DATABASE_URL = "STOREOPS_DATABASE_URL"
ENV_WAREHOUSE_DIR = "STOREOPS_WAREHOUSE_DIR"
ENV_SECRET_KEY = "STOREOPS_SECRET_KEY"
ENV_MAX_UPLOAD_MB = "STOREOPS_MAX_UPLOAD_MB"
ENV_HTTPS = "STOREOPS_HTTPS"
ENV_TRUSTED_ORIGINS = "STOREOPS_TRUSTED_ORIGINS"
ENV_PUBLIC_URL = "STOREOPS_PUBLIC_URL"
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
DEFAULT_MAX_UPLOAD_MB = 200
# A compressed input may expand to at most this many times its own size (zip/gzip bombs).
MAX_EXPANSION_RATIO = 100


def normalize_db_url(value: str) -> str:
    """Accept a SQLAlchemy URL, a ``postgresql://`` URL, or a plain path to a SQLite file."""
    if "://" not in value:
        return f"sqlite:///{Path(value).expanduser().resolve()}"
    if value.startswith("postgresql://") or value.startswith("postgres://"):
        return "postgresql+psycopg://" + value.split("://", 1)[1]
    return value


def resolve_db_url(cli_value: str | None = None) -> str:
    """The database URL to use; a SQLite file in a folder that does not exist is refused
    here (``StoreopsError``), so that every command says so instead of failing later."""
    value = cli_value or os.environ.get(ENV_DATABASE_URL) or DEFAULT_DB_FILE
    url = normalize_db_url(value)
    path = sqlite_path(url)
    if path is not None and path.name != ":memory:" and not path.parent.is_dir():
        from storeops.common.errors import StoreopsError

        raise StoreopsError(f"cannot use the database {value}: folder {path.parent} does not"
                            " exist", key="db.folder_missing", db=value, folder=path.parent)
    return url


def sqlite_path(db_url: str) -> Path | None:
    if db_url.startswith("sqlite:///"):
        return Path(db_url[len("sqlite:///"):])
    return None


def warehouse_dir(db_url: str) -> Path:
    """Folder of the Parquet snapshots that DuckDB reads: beside the SQLite file, else cached."""
    configured = os.environ.get(ENV_WAREHOUSE_DIR)
    if configured:
        return Path(configured)
    path = sqlite_path(db_url)
    if path is not None:
        return path.with_name(path.name + ".warehouse")
    digest = hashlib.sha256(db_url.encode()).hexdigest()[:16]
    return Path.home() / ".cache" / "storeops" / "warehouse" / digest


def max_upload_bytes() -> int:
    """Largest upload, and largest size a compressed input may expand to (STOREOPS_MAX_UPLOAD_MB).

    Read on each call so that tests and a restarted server see a changed environment. A value
    that is not a positive number falls back to the default rather than lifting the limit.
    """
    raw = os.environ.get(ENV_MAX_UPLOAD_MB, "").strip()
    try:
        megabytes = float(raw) if raw else DEFAULT_MAX_UPLOAD_MB
    except ValueError:
        megabytes = DEFAULT_MAX_UPLOAD_MB
    if not megabytes > 0 or megabytes == float("inf"):
        megabytes = DEFAULT_MAX_UPLOAD_MB
    return int(megabytes * 1024 * 1024)


def served_over_https() -> bool:
    """STOREOPS_HTTPS=1 (or true/yes/on): browsers reach the cockpit over HTTPS (often through
    a proxy that terminates TLS), so cookies are marked Secure."""
    return os.environ.get(ENV_HTTPS, "").strip().lower() in {"1", "true", "yes", "on"}


def trusted_origins() -> frozenset[str]:
    """Extra origins (``https://ops.example.com``) that may post to the server, comma-separated
    in STOREOPS_TRUSTED_ORIGINS: for a proxy that does not pass the browser's Host header on."""
    raw = os.environ.get(ENV_TRUSTED_ORIGINS, "")
    return frozenset(o.strip().rstrip("/").lower() for o in raw.split(",") if o.strip())


def public_url() -> str:
    """The address people open the cockpit at (STOREOPS_PUBLIC_URL, default
    http://127.0.0.1:8000), without a trailing slash: the links in notifications start with
    it."""
    raw = os.environ.get(ENV_PUBLIC_URL, "").strip().rstrip("/")
    return raw or DEFAULT_PUBLIC_URL
