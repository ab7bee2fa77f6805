"""Pages of stock: by warehouse, the movement ledger, flash sales."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
