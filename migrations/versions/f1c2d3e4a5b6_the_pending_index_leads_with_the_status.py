"""the pending comments' index leads with the status, so planners prefer it without statistics

Revision ID: f1c2d3e4a5b6
Revises: e2b7c4a91d06
Create Date: 2026-12-02 16:15:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f1c2d3e4a5b6'
down_revision = 'e2b7c4a91d06'
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")


def upgrade():
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_index('ix_comment_pending')
        batch_op.create_index(
            'ix_comment_pending',
            ['status', 'thread_id', 'created_at', 'id'],
            unique=False,
            sqlite_where=PENDING,
            postgresql_where=PENDING,
        )


def downgrade():
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_index('ix_comment_pending')
        batch_op.create_index(
            'ix_comment_pending',
            ['thread_id', 'created_at', 'id'],
            unique=False,
            sqlite_where=PENDING,
            postgresql_where=PENDING,
        )
