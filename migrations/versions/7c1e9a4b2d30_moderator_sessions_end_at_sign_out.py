"""moderator sessions end at sign-out and at a new password

Revision ID: 7c1e9a4b2d30
Revises: 7c1e5a93d2b4
Create Date: 2026-11-26 10:12:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c1e9a4b2d30'
down_revision = '7c1e5a93d2b4'
branch_labels = None
depends_on = None


def upgrade():

    with op.batch_alter_table('moderator', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='1', nullable=False))


def downgrade():

    with op.batch_alter_table('moderator', schema=None) as batch_op:
        batch_op.drop_column('session_version')
