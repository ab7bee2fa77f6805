"""server-side sessions, API tokens, login throttling

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

Accounts: sessions that logout and deactivation end at once; hashed API tokens; failed logins
(throttling shared by every worker process); each user's last login.
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE',
                                   name=f'fk_{table}_user_id_users')


def upgrade() -> None:
    op.create_table(
        'sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=True),
        _user_fk('sessions'),
        sa.PrimaryKeyConstraint('id', name='pk_sessions'),
        sa.UniqueConstraint('token_hash', name='uq_sessions_token_hash'),
    )
    op.create_index('ix_sessions_user_id', 'sessions', ['user_id'])
    op.create_index('ix_sessions_expires_at', 'sessions', ['expires_at'])
    op.create_table(
        'api_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_used_at', sa.DateTime(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        _user_fk('api_tokens'),
        sa.PrimaryKeyConstraint('id', name='pk_api_tokens'),
        sa.UniqueConstraint('token_hash', name='uq_api_tokens_token_hash'),
    )
    op.create_index('ix_api_tokens_user_id', 'api_tokens', ['user_id'])
    op.create_table(
        'login_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('failed_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_login_failures'),
    )
    op.create_index('ix_login_failures_key_failed_at', 'login_failures', ['key', 'failed_at'])
    op.create_index('ix_login_failures_failed_at', 'login_failures', ['failed_at'])
    op.create_table(
        'last_logins',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=True),
        _user_fk('last_logins'),
        sa.PrimaryKeyConstraint('user_id', name='pk_last_logins'),
    )


def downgrade() -> None:
    op.drop_table('last_logins')
    op.drop_index('ix_login_failures_failed_at', table_name='login_failures')
    op.drop_index('ix_login_failures_key_failed_at', table_name='login_failures')
    op.drop_table('login_failures')
    op.drop_index('ix_api_tokens_user_id', table_name='api_tokens')
    op.drop_table('api_tokens')
    op.drop_index('ix_sessions_expires_at', table_name='sessions')
    op.drop_index('ix_sessions_user_id', table_name='sessions')
    op.drop_table('sessions')
