"""The store's own channel under /api/v1: POST /orders (idempotent), flash-sale orders."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["orders"])
