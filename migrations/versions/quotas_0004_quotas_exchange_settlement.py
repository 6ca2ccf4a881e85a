"""quotas: an exchange's talks and attendance are paid once it has been held (settled_at, and the settle job's index)

Exchanges approved before this revision were paid at approval; the first settle run passes over those already held,
finds every ledger key taken and only stamps settled_at.

Revision ID: quotas_0004
Revises: deploy_0001
Create Date: 2026-11-30 08:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'quotas_0004'
down_revision = 'deploy_0001'
branch_labels = None
depends_on = None

UNSETTLED = sa.text("status = 'approved' AND settled_at IS NULL")


def upgrade():
    with op.batch_alter_table('quota_exchanges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_quota_exchanges_unsettled', ['ends_at'], unique=False,
                              postgresql_where=UNSETTLED, sqlite_where=UNSETTLED)


def downgrade():
    with op.batch_alter_table('quota_exchanges', schema=None) as batch_op:
        batch_op.drop_index('ix_quota_exchanges_unsettled')
        batch_op.drop_column('settled_at')
