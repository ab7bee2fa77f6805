"""Pages of orders: the list, an order with its timeline and actions, the review queue."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
