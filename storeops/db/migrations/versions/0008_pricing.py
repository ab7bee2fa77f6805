"""pricing: promotions, their history, price changes, floors and commissions

Promotions and coupons with their lifecycle and approval; who changed which promotion or price
and when; a SKU's floor price (破价 audit); the store's minimum margin and price-protection
window; JD's commission by category.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 19:00:00
"""
from alembic import op
import sqlalchemy as sa

from storeops.db.types import DecimalText, UTCDateTime

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table('products') as batch:
        batch.add_column(sa.Column('floor_price_cents', sa.BigInteger(), nullable=True))
    op.create_table(
        'promotions',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('store_id', sa.Integer(), sa.ForeignKey('stores.id', name='fk_promotions_store_id_stores'), nullable=False),
        sa.Column('code', sa.String(64), nullable=False),
        sa.Column('kind', sa.String(20), nullable=False),
        sa.Column('name', sa.String(200), nullable=True),
        sa.Column('status', sa.String(20), nullable=False),
        sa.Column('spec_json', sa.Text(), nullable=False),
        sa.Column('start_at', UTCDateTime(), nullable=True),
        sa.Column('end_at', UTCDateTime(), nullable=True),
        sa.Column('created_by', sa.String(120), nullable=True),
        sa.Column('breaches_floor', sa.Boolean(), nullable=False),
        sa.Column('approved_by', sa.String(120), nullable=True),
        sa.Column('approved_at', UTCDateTime(), nullable=True),
        sa.Column('approval_reason', sa.Text(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.UniqueConstraint('store_id', 'code', name='uq_promotions_store_id'),
    )
    op.create_index('ix_promotions_store_status', 'promotions', ['store_id', 'status'])
    op.create_table(
        'pricing_changes',
        sa.Column('id', _BIGID, primary_key=True),
        sa.Column('store_id', sa.Integer(), sa.ForeignKey('stores.id', name='fk_pricing_changes_store_id_stores'), nullable=False),
        sa.Column('promotion_id', sa.Integer(), sa.ForeignKey('promotions.id', name='fk_pricing_changes_promotion_id_promotions'), nullable=True),
        sa.Column('product_id', sa.Integer(), sa.ForeignKey('products.id', name='fk_pricing_changes_product_id_products'), nullable=True),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.Column('actor', sa.String(120), nullable=True),
        sa.Column('action', sa.String(30), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('before_json', sa.Text(), nullable=True),
        sa.Column('after_json', sa.Text(), nullable=True),
    )
    op.create_index('ix_pricing_changes_store_id', 'pricing_changes', ['store_id'])
    op.create_index('ix_pricing_changes_promotion_id', 'pricing_changes', ['promotion_id'])
    op.create_index('ix_pricing_changes_product_id', 'pricing_changes', ['product_id'])
    op.create_table(
        'price_changes',
        sa.Column('id', _BIGID, primary_key=True),
        sa.Column('store_id', sa.Integer(), sa.ForeignKey('stores.id', name='fk_price_changes_store_id_stores'), nullable=False),
        sa.Column('product_id', sa.Integer(), sa.ForeignKey('products.id', name='fk_price_changes_product_id_products'), nullable=False),
        sa.Column('effective_at', UTCDateTime(), nullable=False),
        sa.Column('old_price_cents', sa.BigInteger(), nullable=True),
        sa.Column('new_price_cents', sa.BigInteger(), nullable=False),
        sa.Column('actor', sa.String(120), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
    )
    op.create_index('ix_price_changes_product_at', 'price_changes', ['product_id', 'effective_at'])
    op.create_table(
        'pricing_settings',
        sa.Column('store_id', sa.Integer(), sa.ForeignKey('stores.id', name='fk_pricing_settings_store_id_stores'), primary_key=True),
        sa.Column('min_margin', DecimalText(), nullable=False),
        sa.Column('price_protection_days', sa.Integer(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
    )
    op.create_table(
        'category_commissions',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('store_id', sa.Integer(), sa.ForeignKey('stores.id', name='fk_category_commissions_store_id_stores'), nullable=False),
        sa.Column('category', sa.String(120), nullable=False),
        sa.Column('rate', DecimalText(), nullable=False),
        sa.UniqueConstraint('store_id', 'category', name='uq_category_commissions_store_id'),
    )


def downgrade() -> None:
    op.drop_table('category_commissions')
    op.drop_table('pricing_settings')
    op.drop_index('ix_price_changes_product_at', table_name='price_changes')
    op.drop_table('price_changes')
    op.drop_table('pricing_changes')
    op.drop_index('ix_promotions_store_status', table_name='promotions')
    op.drop_table('promotions')
    if op.get_bind().dialect.name == "sqlite":
        # In place: a batch copy would drop and re-create products, which the order lines'
        # foreign keys refuse on a filled database.
        op.execute("ALTER TABLE products DROP COLUMN floor_price_cents")
    else:
        op.drop_column('products', 'floor_price_cents')
