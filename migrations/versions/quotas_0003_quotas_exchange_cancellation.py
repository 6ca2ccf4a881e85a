"""quotas: exchanges can be cancelled (status 'cancelled', who, when, why, and what they were before)

Revision ID: quotas_0003
Revises: quotas_0002
Create Date: 2026-11-24 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'quotas_0003'
down_revision = 'quotas_0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('quota_exchanges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancelled_from', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('cancelled_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cancel_reason', sa.String(length=200), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_quota_exchanges_cancelled_by_id_members'), 'members',
                                    ['cancelled_by_id'], ['id'])
        batch_op.drop_constraint(batch_op.f('ck_quota_exchanges_status_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_quota_exchanges_status_known'),
                                         "status IN ('pending', 'approved', 'rejected', 'cancelled')")
        batch_op.create_check_constraint(batch_op.f('ck_quota_exchanges_cancel_recorded'),
                                         "(status = 'cancelled') = (cancelled_at IS NOT NULL)")


def downgrade():
    # The older schema has no 'cancelled': such an exchange becomes 'rejected' (it counts for nobody either way),
    # its reason kept, rather than being deleted.
    op.execute("UPDATE quota_exchanges SET status = 'rejected', "
               "reject_reason = '已取消：' || COALESCE(cancel_reason, '') WHERE status = 'cancelled'")
    with op.batch_alter_table('quota_exchanges', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_quota_exchanges_cancel_recorded'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_quota_exchanges_status_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_quota_exchanges_status_known'),
                                         "status IN ('pending', 'approved', 'rejected')")
        batch_op.drop_constraint(batch_op.f('fk_quota_exchanges_cancelled_by_id_members'), type_='foreignkey')
        batch_op.drop_column('cancel_reason')
        batch_op.drop_column('cancelled_by_id')
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('cancelled_from')
