"""learning: per-branch reading completion rollups (day and ISO week)

Revision ID: learning_0002
Revises: learning_0001
Create Date: 2026-11-21 22:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'learning_0002'
down_revision = 'learning_0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reading_day_rollups',
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('completed', sa.Integer(), nullable=False),
    sa.Column('readers', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_reading_day_rollups_branch_id_branches')),
    sa.PrimaryKeyConstraint('branch_id', 'day', name=op.f('pk_reading_day_rollups'))
    )
    # Dashboards read one day or one week of every branch in a subtree.
    op.create_index('ix_reading_day_rollups_day_branch', 'reading_day_rollups', ['day', 'branch_id'], unique=False)
    op.create_table('reading_week_rollups',
    sa.Column('branch_id', sa.Integer(), nullable=False),
    sa.Column('monday', sa.Date(), nullable=False),
    sa.Column('readers', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['branch_id'], ['branches.id'], name=op.f('fk_reading_week_rollups_branch_id_branches')),
    sa.PrimaryKeyConstraint('branch_id', 'monday', name=op.f('pk_reading_week_rollups'))
    )
    op.create_index('ix_reading_week_rollups_monday_branch', 'reading_week_rollups', ['monday', 'branch_id'],
                    unique=False)
    # Existing readings (an upgraded database) are summarised once, with the same statements the app uses.
    from learning import rollups

    rollups.rebuild(op.get_bind())


def downgrade():
    op.drop_index('ix_reading_week_rollups_monday_branch', table_name='reading_week_rollups')
    op.drop_index('ix_reading_day_rollups_day_branch', table_name='reading_day_rollups')
    op.drop_table('reading_week_rollups')
    op.drop_table('reading_day_rollups')
