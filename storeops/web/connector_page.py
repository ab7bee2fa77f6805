"""The JD connector's page: connection, last syncs, errors."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
