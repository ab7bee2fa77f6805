"""Picking or creating the store a command works on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol, TypeVar

from sqlalchemy import bindparam, column, select, table, update
from sqlalchemy.exc import IntegrityError

from storeops.common.errors import StoreopsError, Term
from storeops.common.timeutil import DEFAULT_TIMEZONE, zone

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

    # Imported where used: a command that only reads a store (storeops kpi) does it with
    # Core (find_store), and the ORM's models cost ~80 ms of its start-up.
    from storeops.catalog.models import Store


class StoreError(StoreopsError, LookupError):
    """No store, or no way to tell which one was meant."""


class _Named(Protocol):
    name: str


S = TypeVar("S", bound=_Named)


def no_store_yet() -> StoreError:
    return StoreError("the database has no store yet: import data or run `storeops demo`",
                      key="store.none_yet")


def several_stores(stores: Sequence[_Named]) -> StoreError:
    names = ", ".join(s.name for s in stores)
    return StoreError(f"the database has several stores; pick one with --store ({names})",
                      key="store.several", names=names)


def list_stores(session: Session) -> list[Store]:
    from storeops.catalog.models import Store

    return list(session.scalars(select(Store).order_by(Store.id)))


def resolve_store(session: Session, name: str | None) -> Store:
    """The named store, or the only store; never creates one."""
    return pick_store(list_stores(session), name)


# The columns of ``stores`` a reading command needs, for Core statements without the ORM.
STORES = table("stores", column("id"), column("name"), column("timezone"), column("currency"),
               column("data_version"))


class StoreInfo(NamedTuple):
    """A store's own settings, as a command that only reads needs them."""

    id: int
    name: str
    timezone: str
    currency: str


def find_store(conn: Connection, name: str | None) -> StoreInfo:
    """:func:`resolve_store` on a Core connection: no ORM imported, no session."""
    rows = conn.execute(
        select(STORES.c.id, STORES.c.name, STORES.c.timezone, STORES.c.currency)
        .order_by(STORES.c.id)
    ).all()
    return pick_store([StoreInfo(*row) for row in rows], name)


def pick_store(stores: Sequence[S], name: str | None) -> S:
    """The store named ``name`` among ``stores`` (all of them, by id), or the only one."""
    if name:
        store = next((s for s in stores if s.name == name), None)
        if store is None:
            known = ", ".join(s.name for s in stores) or Term("none")
            raise StoreError(f"no store named {name!r} (stores: {known})", key="store.unknown",
                             name=name, known=known)
        return store
    if not stores:
        raise no_store_yet()
    if len(stores) > 1:
        raise several_stores(stores)
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
    from storeops.catalog.models import Store

    if name:
        store = session.scalar(select(Store).where(Store.name == name))
    else:
        stores = list_stores(session)
        if len(stores) > 1:
            raise several_stores(stores)
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
    from storeops.inventory.service import ensure_default_warehouse

    ensure_default_warehouse(session, store.id)  # every store has its default warehouse
    return store, True


def next_data_version(session: Session, store_id: int) -> int:
    """The version ``bump_data_version`` will return later in this transaction, for the rows
    written before it. Locks the store's row (PostgreSQL) so that no other writer moves the
    version meanwhile; on SQLite the writer already holds the database's write lock."""
    from storeops.catalog.models import Store

    current = session.scalar(
        select(Store.data_version).where(Store.id == store_id).with_for_update()
    )
    return int(current or 0) + 1


_BUMP = (update(STORES).where(STORES.c.id == bindparam("store_id"))
         .values(data_version=STORES.c.data_version + 1).returning(STORES.c.data_version))


def bump_data_version(session: Session, store_id: int) -> int:
    """Mark the store's facts as changed so that analytics snapshots are refreshed.

    Returns the new version: rows the caller writes in the same transaction carry it as their
    ``row_version``, which is how the warehouse finds what changed since its last refresh.
    """
    from sqlalchemy.orm import attributes
    from sqlalchemy.orm.util import identity_key

    from storeops.catalog.models import Store

    # one Core statement, built once, run on the session's connection (an ORM bulk update
    # and a second read cost several times as much: every batch of API orders bumps the
    # version; it reads nothing the session holds, so nothing is flushed first); the
    # store's object in this session, if any, is told the new figure as the ORM's update
    # would
    version = int(session.connection().execute(_BUMP, {"store_id": store_id}).scalar() or 0)
    loaded = session.identity_map.get(identity_key(Store, store_id))
    if loaded is not None:
        attributes.set_committed_value(loaded, "data_version", version)
    return version
