"""members: auth_version and auth_changed_at, advanced with every change that can make a token's claims untrue
(members.authlog)

Revision ID: members_0002
Revises: console_0002
Create Date: 2026-11-30 16:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'members_0002'
down_revision = 'console_0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auth_version', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('auth_changed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_members_auth_changed_at'), ['auth_changed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_members_auth_changed_at'))
        batch_op.drop_column('auth_changed_at')
        batch_op.drop_column('auth_version')
