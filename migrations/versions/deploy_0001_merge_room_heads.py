"""deploy: merge the rooms' branches into one head, so a plain `flask db upgrade` migrates any database

Revision ID: deploy_0001
Revises: console_0001, learning_0003, notifications_0001, quizzes_0002, quotas_0003
Create Date: 2026-11-30 08:00:00

"""

revision = 'deploy_0001'
down_revision = ('console_0001', 'learning_0003', 'notifications_0001', 'quizzes_0002', 'quotas_0003')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
