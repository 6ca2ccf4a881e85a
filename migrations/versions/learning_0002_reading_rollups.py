"""learning: per-branch reading completion rollups (day and ISO week)

Revision ID: learning_0002
Revises: learning_0001
Create Date: 2026-11-21 22:30:00

"""
import sqlalchemy as sa
from alembic import op

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
    # Existing readings (an upgraded database) are summarised once. Plain SQL frozen at this revision, never the
    # app's code: a migration must still run after the models have moved on.
    summarise_existing_readings(op.get_bind())


# A completed reading counts when its material is published, its reader is active and in a branch, and the material
# was addressed to that branch (the rule of learning.rollups and learning.stats at this revision).
_COUNTED = """
    FROM readings r JOIN members m ON m.id = r.member_id JOIN materials mat ON mat.id = r.material_id
    WHERE r.completed_at IS NOT NULL AND mat.status = 'published' AND m.active AND m.branch_id IS NOT NULL
      AND EXISTS (SELECT 1 FROM material_audience a WHERE a.material_id = r.material_id AND a.branch_id = m.branch_id)
"""


def summarise_existing_readings(bind):
    """Fill both rollup tables from the readings already stored."""
    monday = ("CAST(date_trunc('week', r.day) AS date)" if bind.dialect.name == "postgresql"
              else "date(r.day, 'weekday 0', '-6 days')")
    bind.execute(sa.text("DELETE FROM reading_day_rollups"))
    bind.execute(sa.text("DELETE FROM reading_week_rollups"))
    bind.execute(sa.text("INSERT INTO reading_day_rollups (branch_id, day, completed, readers) "
                         "SELECT m.branch_id, r.day, count(r.id), count(DISTINCT r.member_id)" + _COUNTED +
                         " GROUP BY m.branch_id, r.day"))
    bind.execute(sa.text(f"INSERT INTO reading_week_rollups (branch_id, monday, readers) "
                         f"SELECT m.branch_id, {monday}, count(DISTINCT r.member_id)" + _COUNTED +
                         f" GROUP BY m.branch_id, {monday}"))


def downgrade():
    op.drop_index('ix_reading_week_rollups_monday_branch', table_name='reading_week_rollups')
    op.drop_index('ix_reading_day_rollups_day_branch', table_name='reading_day_rollups')
    op.drop_table('reading_week_rollups')
    op.drop_table('reading_day_rollups')
