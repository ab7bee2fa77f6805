"""order payment facts

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Payment method and cancellation time of orders, for the 京东商智 definition of 成交金额.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
