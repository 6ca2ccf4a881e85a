"""quizzes: a submit's graded answers and result check only their attempt's key; a graded answer's key is its own

The graded answers' quiz and question, and the result's quiz, member and branch, are their attempt's, whose own keys
check them; a started quiz cannot be deleted, nor can a question. Their five other foreign keys cost every submit
twenty-three more lookups, each locking a row of the quiz, its questions, the member or the branch. A graded answer
is keyed by (attempt, question), which was already unique: its surrogate id was an index and a sequence more to write
ten times a submit, and nothing read it (docs/bench.md, the fourteenth round).

Revision ID: quizzes_0003
Revises: members_0002
Create Date: 2026-12-02 01:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'quizzes_0003'
down_revision = 'members_0002'
branch_labels = None
depends_on = None

DROPPED = {
    'quiz_attempt_answers': [('quiz_id', 'quizzes'), ('question_id', 'quiz_questions')],
    'quiz_results': [('quiz_id', 'quizzes'), ('member_id', 'members'), ('branch_id', 'branches')],
}
ANSWERS = 'quiz_attempt_answers'


def _name(table, column, referred):
    return f'fk_{table}_{column}_{referred}'


def upgrade():
    for table, keys in DROPPED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, referred in keys:
                batch_op.drop_constraint(_name(table, column, referred), type_='foreignkey')
    with op.batch_alter_table(ANSWERS, schema=None) as batch_op:
        batch_op.drop_constraint('uq_quiz_attempt_answers_attempt_id_question_id', type_='unique')
        batch_op.drop_constraint('pk_quiz_attempt_answers', type_='primary')
        batch_op.drop_column('id')
        batch_op.create_primary_key('pk_quiz_attempt_answers', ['attempt_id', 'question_id'])


def downgrade():
    with op.batch_alter_table(ANSWERS, schema=None) as batch_op:
        batch_op.drop_constraint('pk_quiz_attempt_answers', type_='primary')
    if op.get_bind().dialect.name == 'postgresql':  # numbers the rows there already
        op.execute('ALTER TABLE quiz_attempt_answers ADD COLUMN id BIGSERIAL NOT NULL')
        op.create_primary_key('pk_quiz_attempt_answers', ANSWERS, ['id'])
    else:  # SQLite numbers them as the table is copied (an INTEGER PRIMARY KEY is the rowid)
        with op.batch_alter_table(ANSWERS, schema=None, recreate='always') as batch_op:
            batch_op.add_column(sa.Column('id', sa.Integer(), nullable=True))
            batch_op.create_primary_key('pk_quiz_attempt_answers', ['id'])
    with op.batch_alter_table(ANSWERS, schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_quiz_attempt_answers_attempt_id_question_id',
                                          ['attempt_id', 'question_id'])
    for table, keys in DROPPED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, referred in keys:
                batch_op.create_foreign_key(_name(table, column, referred), referred, [column], ['id'])
