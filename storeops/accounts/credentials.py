"""Random credentials (session ids, API tokens) and the one way they are stored: SHA-256.

A credential has 256 random bits, so guessing is hopeless and a fast hash is enough: a check
costs microseconds (an Argon2 check, needed for passwords people choose, costs ~0.1 s).
"""

from __future__ import annotations

import hashlib
import secrets

ENTROPY_BYTES = 32


def new_secret(prefix: str = "") -> str:
    return prefix + secrets.token_urlsafe(ENTROPY_BYTES)


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()
