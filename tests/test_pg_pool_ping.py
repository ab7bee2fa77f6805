"""PostgreSQL pooled connections are pinged only after sitting idle (storeops.db.engine): a
connection the server ended meanwhile is replaced, the request never sees it."""

from __future__ import annotations

import time

import psycopg
import pytest
from sqlalchemy import text

from storeops.db import engine as engine_mod
from storeops.db.engine import unit_of_work

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)


def _pid(url: str) -> int:
    with unit_of_work(url) as session:
        return int(session.scalar(text("SELECT pg_backend_pid()")))


def test_an_idle_connection_the_server_ended_is_replaced(db_url: str,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setattr(engine_mod, "PING_AFTER_IDLE_S", 0.2)
    pid = _pid(db_url)
    assert _pid(db_url) == pid  # the pool's connection, kept
    plain = db_url.replace("postgresql+psycopg", "postgresql").split("?")[0]
    with psycopg.connect(plain, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.3)
    assert _pid(db_url) != pid  # a new connection, and no error
