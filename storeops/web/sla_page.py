"""The SLA board: orders due soon, overdue ones, the on-time shipping rate by day."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
