"""product stock

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04

Units in stock of each SKU (库存), from the products import and the demo simulator; NULL when
no source has said. The SKU table and the SKU page show a stock status from it.
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('products') as batch:
        batch.add_column(sa.Column('stock', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('products') as batch:
        batch.drop_column('stock')
