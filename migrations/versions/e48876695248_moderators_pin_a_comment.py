"""moderators pin a comment first in its thread

Revision ID: e48876695248
Revises: c0c1645b6923
Create Date: 2026-12-02 14:29:05.673199

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e48876695248'
down_revision = 'c0c1645b6923'
branch_labels = None
depends_on = None


def upgrade():
    # Nothing was pinned before: the default fills the column.
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pinned', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index(
            'ix_comment_pinned',
            ['thread_id'],
            unique=False,
            sqlite_where=sa.text('pinned'),
            postgresql_where=sa.text('pinned'),
        )


def downgrade():
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_index('ix_comment_pinned')
        batch_op.drop_column('pinned')
