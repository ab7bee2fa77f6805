"""Picking or creating the store a command works on."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storeops.common.errors import StoreopsError
from storeops.common.timeutil import DEFAULT_TIMEZONE, zone
from storeops.db.models import Store


class StoreError(StoreopsError, LookupError):
    """No store, or no way to tell which one was meant."""


def list_stores(session: Session) -> list[Store]:
    return list(session.scalars(select(Store).order_by(Store.id)))


def resolve_store(session: Session, name: str | None) -> Store:
    """The named store, or the only store; never creates one."""
    if name:
        store = session.scalar(select(Store).where(Store.name == name))
        if store is None:
            known = ", ".join(s.name for s in list_stores(session)) or "none"
            raise StoreError(f"no store named {name!r} (stores: {known})")
        return store
    stores = list_stores(session)
    if not stores:
        raise StoreError("the database has no store yet: import data or run `storeops demo`")
    if len(stores) > 1:
        names = ", ".join(s.name for s in stores)
        raise StoreError(f"the database has several stores; pick one with --store ({names})")
    return stores[0]


def get_or_create_store(
    session: Session,
    name: str | None,
    *,
    timezone: str | None = None,
    currency: str | None = None,
    platform: str = "jd",
    default_name: str = "default",
) -> tuple[Store, bool]:
    """The store an import writes to; a store it creates takes ``timezone`` and ``currency``.

    Left without a name, the import uses the only store, or creates one on an empty database.
    An existing store keeps its own settings.
    """
    if name:
        store = session.scalar(select(Store).where(Store.name == name))
    else:
        stores = list_stores(session)
        if len(stores) > 1:
            names = ", ".join(s.name for s in stores)
            raise StoreError(f"the database has several stores; pick one with --store ({names})")
        store = stores[0] if stores else None
    if store is not None:
        return store, False
    tz = timezone or DEFAULT_TIMEZONE
    zone(tz)  # fail early on a misspelt zone
    store = Store(
        name=name or default_name, platform=platform, timezone=tz,
        currency=(currency or "CNY").upper(), data_version=0,
    )
    try:
        # a savepoint: another command creating the same store at the same moment wins, and
        # this one carries on with that store instead of failing its whole transaction
        with session.begin_nested():
            session.add(store)
            session.flush()
    except IntegrityError:
        existing = session.scalar(select(Store).where(Store.name == store.name))
        if existing is None:
            raise
        return existing, False
    return store, True


def next_data_version(session: Session, store_id: int) -> int:
    """The version ``bump_data_version`` will return later in this transaction, for the rows
    written before it. Locks the store's row (PostgreSQL) so that no other writer moves the
    version meanwhile; on SQLite the writer already holds the database's write lock."""
    current = session.scalar(
        select(Store.data_version).where(Store.id == store_id).with_for_update()
    )
    return int(current or 0) + 1


def bump_data_version(session: Session, store_id: int) -> int:
    """Mark the store's facts as changed so that analytics snapshots are refreshed.

    Returns the new version: rows the caller writes in the same transaction carry it as their
    ``row_version``, which is how the warehouse finds what changed since its last refresh.
    """
    session.execute(
        update(Store).where(Store.id == store_id).values(data_version=Store.data_version + 1)
    )
    return int(session.scalar(select(Store.data_version).where(Store.id == store_id)) or 0)
