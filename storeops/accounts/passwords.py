"""Password rules and hashing (Argon2id through argon2-cffi)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from storeops.common.errors import StoreopsError

MIN_LENGTH = 8

_hasher = PasswordHasher()
_dummy: dict[str, str] = {}


def _dummy_hash() -> str:
    """Verified when a user name is unknown, so that a miss costs as long as a wrong password
    (made on first use: hashing costs a fifth of a second)."""
    if "hash" not in _dummy:
        _dummy["hash"] = _hasher.hash("storeops-dummy-password")
    return _dummy["hash"]


class WeakPassword(StoreopsError, ValueError):
    pass


def check_password_rules(password: str) -> None:
    """Raise WeakPassword unless the password is at least MIN_LENGTH characters, not blank."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password must have at least {MIN_LENGTH} characters")
    if not password.strip():
        raise WeakPassword("the password cannot be only spaces")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing hash still spends the time of a check."""
    try:
        ok = _hasher.verify(password_hash or _dummy_hash(), password)
        return ok and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
