"""quizzes: no index that scans the whole quiz can serve a member's lookup

A member's attempts and result in this week's quiz are looked up by (quiz_id, member_id). PostgreSQL's statistics
hold the new quiz as empty until the next ANALYZE, and it took (quiz_id, branch_id) on quiz_results and filtered every
result of the quiz. The results' branch index now leads with the branch; the attempts' (quiz_id, status) index becomes
(quiz_id, member_id) over open attempts only, which is all its queries (closing, expiry) read.

Revision ID: quizzes_0002
Revises: quizzes_0001
Create Date: 2026-11-22 06:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'quizzes_0002'
down_revision = 'quizzes_0001'
branch_labels = None
depends_on = None

IN_PROGRESS = sa.text("status = 'in_progress'")


def upgrade():
    with op.batch_alter_table('quiz_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_quiz_attempts_quiz_status')
        batch_op.create_index('ix_quiz_attempts_in_progress', ['quiz_id', 'member_id'], unique=False,
                              postgresql_where=IN_PROGRESS, sqlite_where=IN_PROGRESS)
    with op.batch_alter_table('quiz_results', schema=None) as batch_op:
        batch_op.drop_index('ix_quiz_results_quiz_branch')
        batch_op.create_index('ix_quiz_results_branch_quiz', ['branch_id', 'quiz_id'], unique=False)


def downgrade():
    with op.batch_alter_table('quiz_results', schema=None) as batch_op:
        batch_op.drop_index('ix_quiz_results_branch_quiz')
        batch_op.create_index('ix_quiz_results_quiz_branch', ['quiz_id', 'branch_id'], unique=False)
    with op.batch_alter_table('quiz_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_quiz_attempts_in_progress')
        batch_op.create_index('ix_quiz_attempts_quiz_status', ['quiz_id', 'status'], unique=False)
