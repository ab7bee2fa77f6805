"""Password rules and hashing (Argon2id through argon2-cffi).

The rules (length, not a common password, not the user name) are checked here only, by every
path that sets a password: ``storeops user add|passwd``, the demo, the API of the accounts.
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from importlib.resources import files

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from storeops.common.errors import StoreopsError

MIN_LENGTH = 10
# The 20,000 passwords seen most often in breaches (Royce Williams' list from Have I Been
# Pwned, as Django ships it in django/contrib/auth/common-passwords.txt.gz), lower case.
COMMON_PASSWORDS_FILE = "common_passwords.txt.gz"

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


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    data = files("storeops.accounts").joinpath(COMMON_PASSWORDS_FILE).read_bytes()
    return frozenset(gzip.decompress(data).decode("utf-8").split())


def check_password_rules(password: str, username: str | None = None) -> None:
    """Raise WeakPassword unless the password has at least MIN_LENGTH characters, is not
    blank, not one of the common passwords (any case) and not the user name."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password must have at least {MIN_LENGTH} characters",
                           key="password.too_short", length=MIN_LENGTH)
    if not password.strip():
        raise WeakPassword("the password cannot be only spaces", key="password.spaces")
    folded = password.strip().lower()
    if folded in common_passwords():
        raise WeakPassword("this password is one of the most common ones: choose another",
                           key="password.common")
    if username and folded == username.strip().lower():
        raise WeakPassword("the password cannot be the user name", key="password.is_name")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing hash still spends the time of a check."""
    try:
        ok = _hasher.verify(password_hash or _dummy_hash(), password)
        return ok and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
