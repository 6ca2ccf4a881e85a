"""console accounts

Revision ID: console_0001
Revises: 0001_members
Create Date: 2026-11-21 21:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'console_0001'
down_revision = '0001_members'
branch_labels = ('console',)
depends_on = None


def upgrade():
    op.create_table('console_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('failed_count', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('session_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_console_accounts_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_accounts')),
    sa.UniqueConstraint('member_id', name=op.f('uq_console_accounts_member_id')),
    sa.UniqueConstraint('username', name=op.f('uq_console_accounts_username'))
    )


def downgrade():
    op.drop_table('console_accounts')
