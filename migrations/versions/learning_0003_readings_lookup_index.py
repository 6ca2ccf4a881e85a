"""learning: the material index on readings becomes partial (completed readings only)

A member's lookup of their reading of today's material must use the (member_id, material_id) key. PostgreSQL's
statistics never know today's material is the hot one (it had no readings at the last ANALYZE), so it took
(material_id, completed_at) and filtered every reading of the day. Only completed-reading queries use that index.

Revision ID: learning_0003
Revises: learning_0002
Create Date: 2026-11-22 06:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'learning_0003'
down_revision = 'learning_0002'
branch_labels = None
depends_on = None

COMPLETED = sa.text("completed_at IS NOT NULL")


def upgrade():
    with op.batch_alter_table('readings', schema=None) as batch_op:
        batch_op.drop_index('ix_readings_material_completed')
        batch_op.create_index('ix_readings_material_completed', ['material_id', 'completed_at'], unique=False,
                              postgresql_where=COMPLETED, sqlite_where=COMPLETED)


def downgrade():
    with op.batch_alter_table('readings', schema=None) as batch_op:
        batch_op.drop_index('ix_readings_material_completed')
        batch_op.create_index('ix_readings_material_completed', ['material_id', 'completed_at'], unique=False)
