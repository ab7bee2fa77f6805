"""The declarative base every area's tables join, and the naming convention of constraints.

Money columns end in ``_cents`` (integer minor units); unit prices end in ``_e4`` (integer
1/10000 units). Times are aware and stored as UTC; ``*_date`` columns hold the store-local day,
computed when a row is written, so that day cuts never depend on the database's timezone.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
