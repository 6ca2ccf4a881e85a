"""console: desk sessions are auth_sessions rows (logout ends them on the server); lockout keyed by account and
address; one-time temporary passwords

Revision ID: console_0002
Revises: learning_0004
Create Date: 2026-11-30 08:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'console_0002'
down_revision = 'learning_0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('console_login_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('failed_count', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['console_accounts.id'],
                            name=op.f('fk_console_login_failures_account_id_console_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_console_login_failures')),
    sa.UniqueConstraint('account_id', 'address', name=op.f('uq_console_login_failures_account_id_address'))
    )
    with op.batch_alter_table('console_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.drop_column('failed_count')
        batch_op.drop_column('locked_until')
        batch_op.drop_column('session_version')
    with op.batch_alter_table('console_accounts', schema=None) as batch_op:
        batch_op.alter_column('must_change_password', server_default=None)


def downgrade():
    with op.batch_alter_table('console_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('failed_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.drop_column('must_change_password')
    op.drop_table('console_login_failures')
