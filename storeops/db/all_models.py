"""Every area's tables on one ``Base.metadata``: for Alembic and for whatever needs the whole
schema at once. Each area keeps its tables in its own ``models`` module; a new area's module is
added here."""

from __future__ import annotations

from importlib import import_module

from storeops.db.base import Base

AREA_MODELS = (
    "storeops.catalog.models",
    "storeops.members.models",
    "storeops.importers.models",
    "storeops.orders.models",
    "storeops.inventory.models",
    "storeops.connectors.jd.models",
    "storeops.aftersales.models",
    "storeops.metrics.models",
    "storeops.ads.models",
    "storeops.accounts.models",
    "storeops.pricing.models",
    "storeops.reports.models",
    "storeops.alerts.models",
)


def load_all() -> Base:
    """Import every area's tables; returns the base whose metadata now holds them all."""
    for module in AREA_MODELS:
        import_module(module)
    return Base
