"""alerts, reports and target plans

Alert rules, the alerts they raise with their history and the check runs; the store's
notification channels, the delivery outbox and the in-app inbox; the built reports and their
schedule; a year's GMV target plan and its cells.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 21:29:03.879201
"""
from alembic import op
import sqlalchemy as sa
import storeops.db.types


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alert_check_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('grain', sa.String(length=10), nullable=False),
    sa.Column('as_of', storeops.db.types.UTCDateTime(), nullable=False),
    sa.Column('ran_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.Column('raised', sa.Integer(), nullable=False),
    sa.Column('resolved', sa.Integer(), nullable=False),
    sa.Column('seconds', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_alert_check_runs_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_check_runs')),
    sa.UniqueConstraint('store_id', 'grain', 'as_of', name=op.f('uq_alert_check_runs_store_id'))
    )
    op.create_table('alert_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('metric', sa.String(length=60), nullable=False),
    sa.Column('grain', sa.String(length=10), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('builtin', sa.Boolean(), nullable=False),
    sa.Column('spec_json', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_alert_rules_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_rules')),
    sa.UniqueConstraint('store_id', 'code', name=op.f('uq_alert_rules_store_id'))
    )
    op.create_table('notify_channels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=True),
    sa.Column('target_enc', sa.Text(), nullable=False),
    sa.Column('target_hint', sa.String(length=200), nullable=True),
    sa.Column('secret_enc', sa.Text(), nullable=True),
    sa.Column('lang', sa.String(length=10), nullable=False),
    sa.Column('min_severity', sa.String(length=10), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('last_ok_at', storeops.db.types.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_at', storeops.db.types.UTCDateTime(), nullable=True),
    sa.Column('created_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_notify_channels_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_channels'))
    )
    with op.batch_alter_table('notify_channels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notify_channels_store_id'), ['store_id'], unique=False)

    op.create_table('report_schedules',
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('weekly', sa.Boolean(), nullable=False),
    sa.Column('monthly', sa.Boolean(), nullable=False),
    sa.Column('hour', sa.Integer(), nullable=False),
    sa.Column('minute', sa.Integer(), nullable=False),
    sa.Column('lang', sa.String(length=10), nullable=False),
    sa.Column('pdf', sa.Boolean(), nullable=False),
    sa.Column('updated_by', sa.String(length=120), nullable=True),
    sa.Column('updated_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_report_schedules_store_id_stores')),
    sa.PrimaryKeyConstraint('store_id', name=op.f('pk_report_schedules'))
    )
    op.create_table('reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('lang', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=15), nullable=False),
    sa.Column('xlsx_path', sa.Text(), nullable=True),
    sa.Column('pdf_path', sa.Text(), nullable=True),
    sa.Column('figures_json', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('built_by', sa.String(length=120), nullable=True),
    sa.Column('built_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.Column('sent_at', storeops.db.types.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_reports_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
    sa.UniqueConstraint('store_id', 'kind', 'period', 'lang', name=op.f('uq_reports_store_id'))
    )
    op.create_table('target_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('gmv', storeops.db.types.DecimalText(length=40), nullable=False),
    sa.Column('basis', sa.String(length=20), nullable=False),
    sa.Column('by_category', sa.Boolean(), nullable=False),
    sa.Column('updated_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_target_plans_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_target_plans')),
    sa.UniqueConstraint('store_id', 'year', name=op.f('uq_target_plans_store_id'))
    )
    op.create_table('alerts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('rule_code', sa.String(length=64), nullable=False),
    sa.Column('metric', sa.String(length=60), nullable=False),
    sa.Column('scope_key', sa.String(length=200), nullable=False),
    sa.Column('scope_label', sa.String(length=200), nullable=True),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=15), nullable=False),
    sa.Column('value', sa.String(length=40), nullable=True),
    sa.Column('baseline', sa.String(length=40), nullable=True),
    sa.Column('period_key', sa.String(length=40), nullable=False),
    sa.Column('detail_json', sa.Text(), nullable=True),
    sa.Column('since', storeops.db.types.UTCDateTime(), nullable=True),
    sa.Column('raised_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.Column('assignee', sa.String(length=120), nullable=True),
    sa.Column('acknowledged_at', storeops.db.types.UTCDateTime(), nullable=True),
    sa.Column('acknowledged_by', sa.String(length=120), nullable=True),
    sa.Column('resolved_at', storeops.db.types.UTCDateTime(), nullable=True),
    sa.Column('resolved_by', sa.String(length=120), nullable=True),
    sa.Column('created_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['rule_id'], ['alert_rules.id'], name=op.f('fk_alerts_rule_id_alert_rules'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_alerts_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_store_rule_scope', ['store_id', 'rule_code', 'scope_key'], unique=False)
        batch_op.create_index('ix_alerts_store_status', ['store_id', 'status'], unique=False)

    op.create_table('target_plan_cells',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('category', sa.String(length=120), nullable=False),
    sa.Column('gmv', storeops.db.types.DecimalText(length=40), nullable=False),
    sa.Column('share', storeops.db.types.DecimalText(length=40), nullable=True),
    sa.Column('uv', storeops.db.types.DecimalText(length=40), nullable=True),
    sa.Column('conversion_rate', storeops.db.types.DecimalText(length=40), nullable=True),
    sa.Column('aov', storeops.db.types.DecimalText(length=40), nullable=True),
    sa.Column('pinned', sa.Boolean(), nullable=False),
    sa.Column('updated_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['target_plans.id'], name=op.f('fk_target_plan_cells_plan_id_target_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_target_plan_cells')),
    sa.UniqueConstraint('plan_id', 'level', 'period', 'category', name=op.f('uq_target_plan_cells_plan_id'))
    )
    op.create_table('alert_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('alert_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=True),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('data_json', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_events_alert_id_alerts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_events'))
    )
    with op.batch_alter_table('alert_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_events_alert_id'), ['alert_id'], unique=False)

    op.create_table('inbox_messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('report_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=True),
    sa.Column('link', sa.String(length=500), nullable=True),
    sa.Column('created_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_inbox_messages_alert_id_alerts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_inbox_messages_report_id_reports'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_inbox_messages_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_messages'))
    )
    with op.batch_alter_table('inbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_inbox_messages_store_created', ['store_id', 'created_at'], unique=False)

    op.create_table('notify_deliveries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('store_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('report_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('payload_json', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=15), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', storeops.db.types.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('sent_at', storeops.db.types.UTCDateTime(), nullable=True),
    sa.Column('created_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_notify_deliveries_alert_id_alerts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['channel_id'], ['notify_channels.id'], name=op.f('fk_notify_deliveries_channel_id_notify_channels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_notify_deliveries_report_id_reports'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['store_id'], ['stores.id'], name=op.f('fk_notify_deliveries_store_id_stores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notify_deliveries'))
    )
    with op.batch_alter_table('notify_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notify_deliveries_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notify_deliveries_channel_id'), ['channel_id'], unique=False)
        batch_op.create_index('ix_notify_deliveries_due', ['status', 'next_attempt_at'], unique=False)

    op.create_table('inbox_reads',
    sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('read_at', storeops.db.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['inbox_messages.id'], name=op.f('fk_inbox_reads_message_id_inbox_messages'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_inbox_reads_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id', 'user_id', name=op.f('pk_inbox_reads'))
    )


def downgrade() -> None:
    op.drop_table('inbox_reads')
    with op.batch_alter_table('notify_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_notify_deliveries_due')
        batch_op.drop_index(batch_op.f('ix_notify_deliveries_channel_id'))
        batch_op.drop_index(batch_op.f('ix_notify_deliveries_alert_id'))

    op.drop_table('notify_deliveries')
    with op.batch_alter_table('inbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_inbox_messages_store_created')

    op.drop_table('inbox_messages')
    with op.batch_alter_table('alert_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_events_alert_id'))

    op.drop_table('alert_events')
    op.drop_table('target_plan_cells')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_store_status')
        batch_op.drop_index('ix_alerts_store_rule_scope')

    op.drop_table('alerts')
    op.drop_table('target_plans')
    op.drop_table('reports')
    op.drop_table('report_schedules')
    with op.batch_alter_table('notify_channels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notify_channels_store_id'))

    op.drop_table('notify_channels')
    op.drop_table('alert_rules')
    op.drop_table('alert_check_runs')
