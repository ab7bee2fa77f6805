"""orders fulfilment and stock

The ERP side of issue 7: each order's own stage beside JD's state, its events, review
settings, the blacklist, shipments, idempotency keys of the API channel; warehouses, stock
levels, the movement ledger, reservations, flash sales, channel listings; the JD connection.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 16:09:41.674086
"""
from alembic import op
import sqlalchemy as sa
import storeops.db.types


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('buyer_blacklist',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('platform_account', sa.String(length=120), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_buyer_blacklist_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_buyer_blacklist')),
    sa.UniqueConstraint('store_id', 'platform_account', name=op.f('uq_buyer_blacklist_store_id'))
    )
    op.create_table('channel_shares',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('share_percent', sa.Integer(), nullable=False),
    sa.Column('buffer', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_channel_shares_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_shares')),
    sa.UniqueConstraint('store_id', 'channel', name=op.f('uq_channel_shares_store_id'))
    )
    op.create_table('jd_connections',
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('app_key', sa.String(length=120), nullable=False),
    sa.Column('app_secret_enc', sa.Text(), nullable=False),
    sa.Column('access_token_enc', sa.Text(), nullable=False),
    sa.Column('gateway', sa.String(length=500), nullable=False),
    sa.Column('synced_until', storeops.db.types.UTCDateTime(), nullable=True),
    sa.Column('last_sync_at', storeops.db.types.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_jd_connections_store_id_stores')),
    sa.PrimaryKeyConstraint('store_id', name=op.f('pk_jd_connections'))
    )
    op.create_table('jd_sync_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('started_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.Column('finished_at', storeops.db.types.UTCDateTime(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('fetched', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('details_json', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_jd_sync_runs_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jd_sync_runs'))
    )
    with op.batch_alter_table('jd_sync_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jd_sync_runs_store_id'), ['store_id'], unique=False)

    op.create_table('review_settings',
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('auto_approve', sa.Boolean(), nullable=False),
    sa.Column('hold_on_remark', sa.Boolean(), nullable=False),
    sa.Column('hold_on_incomplete_address', sa.Boolean(), nullable=False),
    sa.Column('max_amount_cents', sa.BigInteger(), nullable=True),
    sa.Column('max_quantity', sa.Integer(), nullable=True),
    sa.Column('brushing_orders', sa.Integer(), nullable=True),
    sa.Column('brushing_hours', sa.Integer(), nullable=True),
    sa.Column('ship_sla_hours', sa.Integer(), nullable=False),
    sa.Column('unpaid_hold_minutes', sa.Integer(), nullable=False),
    sa.Column('updated_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_review_settings_store_id_stores')),
    sa.PrimaryKeyConstraint('store_id', name=op.f('pk_review_settings'))
    )
    op.create_table('warehouses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('created_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_warehouses_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_warehouses')),
    sa.UniqueConstraint('store_id', 'code', name=op.f('uq_warehouses_store_id'))
    )
    op.create_table('channel_listings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('published_qty', sa.Integer(), nullable=True),
    sa.Column('wanted_qty', sa.Integer(), nullable=False),
    sa.Column('listed', sa.Boolean(), nullable=False),
    sa.Column('pushed_at', storeops.db.types.UTCDateTime(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_channel_listings_product_id_products')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_channel_listings_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_listings')),
    sa.UniqueConstraint('store_id', 'channel', 'product_id', name=op.f('uq_channel_listings_store_id'))
    )
    op.create_table('flash_sales',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('price_cents', sa.BigInteger(), nullable=False),
    sa.Column('quota', sa.Integer(), nullable=False),
    sa.Column('sold', sa.Integer(), nullable=False),
    sa.Column('per_buyer', sa.Integer(), nullable=True),
    sa.Column('starts_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.Column('ends_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.Column('created_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_flash_sales_product_id_products')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_flash_sales_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flash_sales'))
    )
    with op.batch_alter_table('flash_sales', schema=None) as batch_op:
        batch_op.create_index('ix_flash_sales_store_product', ['store_id', 'product_id'], unique=False)

    op.create_table('shipments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('carrier_id', sa.String(length=20), nullable=True),
    sa.Column('waybill', sa.String(length=64), nullable=True),
    sa.Column('shipped_at', storeops.db.types.UTCDateTime(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_shipments_store_id_stores')),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], name=op.f('fk_shipments_warehouse_id_warehouses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipments'))
    )
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.create_index('ix_shipments_store_state', ['store_id', 'state'], unique=False)

    op.create_table('stock_levels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('on_hand', sa.Integer(), nullable=False),
    sa.Column('reserved', sa.Integer(), nullable=False),
    sa.Column('safety_buffer', sa.Integer(), nullable=False),
    sa.Column('updated_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_stock_levels_product_id_products')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_stock_levels_store_id_stores')),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], name=op.f('fk_stock_levels_warehouse_id_warehouses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_levels')),
    sa.UniqueConstraint('warehouse_id', 'product_id', name=op.f('uq_stock_levels_warehouse_id'))
    )
    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stock_levels_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stock_levels_store_id'), ['store_id'], unique=False)

    op.create_table('stock_movements',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('on_hand_delta', sa.Integer(), nullable=False),
    sa.Column('reserved_delta', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=True),
    sa.Column('reference', sa.String(length=120), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_stock_movements_product_id_products')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_stock_movements_store_id_stores')),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], name=op.f('fk_stock_movements_warehouse_id_warehouses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_movements'))
    )
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.create_index('ix_stock_movements_level', ['warehouse_id', 'product_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stock_movements_store_id'), ['store_id'], unique=False)

    op.create_table('channel_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=255), nullable=False),
    sa.Column('body_sha256', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=False),
    sa.Column('response_json', sa.Text(), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_channel_requests_order_id_orders'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_channel_requests_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_requests')),
    sa.UniqueConstraint('user_id', 'idempotency_key', name=op.f('uq_channel_requests_user_id'))
    )
    op.create_table('flash_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('flash_sale_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('buyer', sa.String(length=120), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('created_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['flash_sale_id'], ['flash_sales.id'], name=op.f('fk_flash_claims_flash_sale_id_flash_sales'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_flash_claims_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flash_claims')),
    sa.UniqueConstraint('flash_sale_id', 'order_id', name=op.f('uq_flash_claims_flash_sale_id'))
    )
    op.create_table('order_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('from_stage', sa.String(length=20), nullable=True),
    sa.Column('to_stage', sa.String(length=20), nullable=True),
    sa.Column('actor_kind', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('data_json', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_events_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_order_events_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_events'))
    )
    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.create_index('ix_order_events_order_at', ['order_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_events_store_id'), ['store_id'], unique=False)

    op.create_table('shipment_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shipment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_shipment_lines_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'], name=op.f('fk_shipment_lines_order_line_id_order_lines'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_shipment_lines_shipment_id_shipments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipment_lines'))
    )
    with op.batch_alter_table('shipment_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shipment_lines_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shipment_lines_shipment_id'), ['shipment_id'], unique=False)

    op.create_table('stock_reservations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('warehouse_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('expires_at', storeops.db.types.UTCDateTime(), nullable=True),
    sa.Column('created_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_stock_reservations_order_id_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'], name=op.f('fk_stock_reservations_order_line_id_order_lines'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_stock_reservations_product_id_products')),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_stock_reservations_store_id_stores')),
    sa.ForeignKeyConstraint(['warehouse_id'], ['warehouses.id'], name=op.f('fk_stock_reservations_warehouse_id_warehouses')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_reservations'))
    )
    with op.batch_alter_table('stock_reservations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stock_reservations_order_id'), ['order_id'], unique=False)

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stage', sa.String(length=20), server_default='received', nullable=False))
        batch_op.add_column(sa.Column('channel', sa.String(length=20), server_default='jd', nullable=False))
        batch_op.add_column(sa.Column('hold_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('buyer_remark', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('seller_remark', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('receiver_name', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('receiver_phone', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('ship_address', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('address_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('due_at', storeops.db.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('pay_deadline', storeops.db.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('modified_at', storeops.db.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('ship_error', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_orders_address_key'), ['address_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_orders_due_at'), ['due_at'], unique=False)

    # Existing orders take the stage their JD state implies.
    op.execute("""UPDATE orders SET stage = CASE status
        WHEN 'shipped' THEN 'shipped' WHEN 'finished' THEN 'finished'
        WHEN 'cancelled' THEN 'cancelled' WHEN 'locked' THEN 'locked'
        WHEN 'paused' THEN 'paused' ELSE 'received' END""")



def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_orders_due_at'))
        batch_op.drop_index(batch_op.f('ix_orders_address_key'))
        batch_op.drop_column('ship_error')
        batch_op.drop_column('modified_at')
        batch_op.drop_column('pay_deadline')
        batch_op.drop_column('due_at')
        batch_op.drop_column('address_key')
        batch_op.drop_column('ship_address')
        batch_op.drop_column('receiver_phone')
        batch_op.drop_column('receiver_name')
        batch_op.drop_column('seller_remark')
        batch_op.drop_column('buyer_remark')
        batch_op.drop_column('hold_reason')
        batch_op.drop_column('channel')
        batch_op.drop_column('stage')

    with op.batch_alter_table('stock_reservations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stock_reservations_order_id'))

    op.drop_table('stock_reservations')
    with op.batch_alter_table('shipment_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shipment_lines_shipment_id'))
        batch_op.drop_index(batch_op.f('ix_shipment_lines_order_id'))

    op.drop_table('shipment_lines')
    with op.batch_alter_table('order_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_events_store_id'))
        batch_op.drop_index('ix_order_events_order_at')

    op.drop_table('order_events')
    op.drop_table('flash_claims')
    op.drop_table('channel_requests')
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stock_movements_store_id'))
        batch_op.drop_index('ix_stock_movements_level')

    op.drop_table('stock_movements')
    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stock_levels_store_id'))
        batch_op.drop_index(batch_op.f('ix_stock_levels_product_id'))

    op.drop_table('stock_levels')
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_index('ix_shipments_store_state')

    op.drop_table('shipments')
    with op.batch_alter_table('flash_sales', schema=None) as batch_op:
        batch_op.drop_index('ix_flash_sales_store_product')

    op.drop_table('flash_sales')
    op.drop_table('channel_listings')
    op.drop_table('warehouses')
    op.drop_table('review_settings')
    with op.batch_alter_table('jd_sync_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jd_sync_runs_store_id'))

    op.drop_table('jd_sync_runs')
    op.drop_table('jd_connections')
    op.drop_table('channel_shares')
    op.drop_table('buyer_blacklist')
