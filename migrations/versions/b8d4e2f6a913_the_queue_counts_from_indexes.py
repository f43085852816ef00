"""the queue's first page, its counts and authors' records read from indexes

Revision ID: b8d4e2f6a913
Revises: a7d3c5e9b140
Create Date: 2026-12-02 17:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b8d4e2f6a913'
down_revision = 'a7d3c5e9b140'
branch_labels = None
depends_on = None

REPORTED = sa.text("open_reports > 0")
PENDING = sa.text("status = 'pending'")
SETTLED = sa.text("status <> 'pending'")


def upgrade():
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_index('ix_comment_pending')
        batch_op.create_index(
            'ix_comment_pending',
            ['status', 'created_at', 'id', 'thread_id'],
            unique=False,
            sqlite_where=PENDING,
            postgresql_where=PENDING,
        )
        batch_op.drop_index('ix_comment_guest_email')
        batch_op.create_index(
            'ix_comment_guest_email',
            ['guest_email', 'user_id', 'status', 'thread_id'],
            unique=False,
        )
        batch_op.drop_index('ix_comment_user')
        batch_op.create_index('ix_comment_user', ['user_id', 'status', 'thread_id'], unique=False)
        batch_op.create_index(
            'ix_comment_status',
            ['status', 'thread_id'],
            unique=False,
            sqlite_where=SETTLED,
            postgresql_where=SETTLED,
        )
        batch_op.create_index(
            'ix_comment_reported',
            ['status', 'thread_id'],
            unique=False,
            sqlite_where=REPORTED,
            postgresql_where=REPORTED,
        )


def downgrade():
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_index('ix_comment_reported')
        batch_op.drop_index('ix_comment_status')
        batch_op.drop_index('ix_comment_user')
        batch_op.create_index('ix_comment_user', ['user_id'], unique=False)
        batch_op.drop_index('ix_comment_guest_email')
        batch_op.create_index('ix_comment_guest_email', ['guest_email'], unique=False)
        batch_op.drop_index('ix_comment_pending')
        batch_op.create_index(
            'ix_comment_pending',
            ['status', 'thread_id', 'created_at', 'id'],
            unique=False,
            sqlite_where=PENDING,
            postgresql_where=PENDING,
        )
