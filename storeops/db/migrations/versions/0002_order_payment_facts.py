"""order payment facts and row versions

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Cash on delivery and the cancellation time of orders, for the 京东商智 definition of 成交金额;
and on every fact table the store data_version that last wrote a row, so that the analytics
warehouse can refresh only what changed.
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

VERSIONED = ('orders', 'refunds', 'traffic_daily', 'ad_spend_daily', 'products')


def upgrade() -> None:
    with op.batch_alter_table('orders') as batch:
        batch.add_column(sa.Column('cod', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column('cancelled_at', sa.DateTime(), nullable=True))
    for table in VERSIONED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column('row_version', sa.Integer(), nullable=False,
                                       server_default='0'))
        op.create_index(f'ix_{table}_store_row_version', table, ['store_id', 'row_version'])


def downgrade() -> None:
    for table in VERSIONED:
        op.drop_index(f'ix_{table}_store_row_version', table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column('row_version')
    with op.batch_alter_table('orders') as batch:
        batch.drop_column('cancelled_at')
        batch.drop_column('cod')
