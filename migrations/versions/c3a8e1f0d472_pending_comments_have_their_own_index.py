"""pending comments have their own index

Revision ID: c3a8e1f0d472
Revises: 7c1e5a9d3b20
Create Date: 2026-12-01 23:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3a8e1f0d472'
down_revision = '7c1e5a9d3b20'
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")


def upgrade():
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.create_index(
            'ix_comment_pending',
            ['thread_id', 'created_at', 'id'],
            unique=False,
            sqlite_where=PENDING,
            postgresql_where=PENDING,
        )


def downgrade():
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_index('ix_comment_pending')
