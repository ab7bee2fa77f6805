"""Shared by the eligibility and price-protection page tests: a client of the app over a
database the test seeded, with the users it names (name → role, password web_seed.PASSWORD)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from web_seed import PASSWORD, PageClient

from storeops.accounts.users import create_user
from storeops.api.app import create_app
from storeops.db.engine import unit_of_work


@contextmanager
def app_client(db_url: str, users: Mapping[str, str]) -> Iterator[Any]:
    with unit_of_work(db_url) as s:
        for name, role in users.items():
            create_user(s, name, PASSWORD, role)
    with PageClient(create_app(db_url, secret_key="test-secret")) as client:
        yield client
