from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from storeops.catalog.models import Store
from storeops.catalog.stores import StoreError, get_or_create_store, resolve_store
from storeops.db.engine import unit_of_work
from storeops.db.migrate import current_revision, head_revision, upgrade
from storeops.orders.models import Order


def test_init_creates_then_is_idempotent(empty_db_url):
    assert current_revision(empty_db_url) is None
    assert upgrade(empty_db_url) == head_revision()
    assert upgrade(empty_db_url) == head_revision()
    assert current_revision(empty_db_url) == head_revision()


def test_times_come_back_aware_and_equal(db_url):
    placed = datetime(2026, 11, 11, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    with unit_of_work(db_url) as s:
        store, created = get_or_create_store(s, "jd-flagship")
        assert created and store.timezone == "Asia/Shanghai" and store.currency == "CNY"
        s.add(Order(store_id=store.id, platform_order_id="1", status="finished",
                    placed_at=placed, placed_date=placed.date(), content_hash="x"))
    with unit_of_work(db_url) as s:
        order = s.scalar(select(Order))
        assert order.placed_at == placed
        assert order.placed_at.tzinfo is not None
        assert order.placed_at.astimezone(UTC).hour == 16


def test_naive_datetime_is_refused(db_url):
    with pytest.raises(Exception, match="naive datetime"):
        with unit_of_work(db_url) as s:
            store, _ = get_or_create_store(s, "x")
            s.add(Order(store_id=store.id, platform_order_id="1", status="finished",
                        placed_at=datetime(2026, 1, 1), placed_date=datetime(2026, 1, 1).date(),
                        content_hash="x"))


def test_store_resolution_rules(db_url):
    with unit_of_work(db_url) as s:
        with pytest.raises(StoreError, match="no store yet"):
            resolve_store(s, None)
        uk, _ = get_or_create_store(s, None, timezone="Europe/London", currency="gbp")
        assert (uk.name, uk.timezone, uk.currency) == ("default", "Europe/London", "GBP")
        assert resolve_store(s, None).id == uk.id
        # an existing store keeps its settings
        again, created = get_or_create_store(s, "default", timezone="Asia/Shanghai")
        assert not created and again.timezone == "Europe/London"
        get_or_create_store(s, "second")
        with pytest.raises(StoreError, match="several stores"):
            resolve_store(s, None)
        with pytest.raises(StoreError, match="no store named 'nope'"):
            resolve_store(s, "nope")
        assert len(list(s.scalars(select(Store)))) == 2


def test_head_revision_agrees_with_alembic():
    # head_revision reads the migration files without Alembic (start-up time); it must agree.
    from alembic.script import ScriptDirectory

    from storeops.db.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert head_revision() == script.get_current_head()


def test_processes_creating_one_database_at_once_all_succeed(empty_db_url):
    # Imports (or workers) started together on a fresh database all upgrade it.
    import subprocess
    import sys

    url = empty_db_url
    code = f"from storeops.db.migrate import ensure_schema; ensure_schema({url!r})"
    procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    errors = [p.communicate()[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    assert current_revision(url) == head_revision()


def test_the_suites_migrated_copy_is_the_migrated_schema(db_url, empty_db_url):
    """db_url is a copy of a database migrated once (conftest): it must hold exactly what
    running the migrations gives: tables, columns, indexes, foreign keys and the revision."""
    from sqlalchemy import inspect

    from storeops.db.engine import get_engine

    def shape(url: str) -> dict:
        insp = inspect(get_engine(url))
        return {t: (sorted((c["name"], str(c["type"]), c["nullable"])
                           for c in insp.get_columns(t)),
                    sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                           for i in insp.get_indexes(t)),
                    sorted((tuple(f["constrained_columns"]), f["referred_table"])
                           for f in insp.get_foreign_keys(t)))
                for t in insp.get_table_names()}

    upgrade(empty_db_url)
    assert shape(db_url) == shape(empty_db_url)
    assert current_revision(db_url) == current_revision(empty_db_url) == head_revision()
