"""learning: leaderboard_misses, the boards whose Redis update failed and must be rebuilt from the ledger

Revision ID: learning_0004
Revises: quotas_0004
Create Date: 2026-11-30 08:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'learning_0004'
down_revision = 'quotas_0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('leaderboard_misses',
                    sa.Column('board_key', sa.String(length=120), nullable=False),
                    sa.Column('misses', sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint('board_key', name=op.f('pk_leaderboard_misses')))


def downgrade():
    op.drop_table('leaderboard_misses')
