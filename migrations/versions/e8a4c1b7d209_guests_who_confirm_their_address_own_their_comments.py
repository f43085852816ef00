"""guests who confirm their address own their comments: the comment's verified mark

Revision ID: e8a4c1b7d209
Revises: e48876695248
Create Date: 2026-12-02 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e8a4c1b7d209'
down_revision = 'e48876695248'
branch_labels = None
depends_on = None


def upgrade():
    # Nothing was verified before: the default fills the column for every existing comment.
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_verified', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_column('email_verified')
