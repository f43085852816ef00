"""shadow bans: the author sees their comments, nobody else does

Revision ID: c5a1d9e4b7f3
Revises: b3e7f2a8c915
Create Date: 2026-12-02 18:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c5a1d9e4b7f3'
down_revision = 'b3e7f2a8c915'
branch_labels = None
depends_on = None


def upgrade():
    # Every ban before this revision was a plain one, and no comment was shadowed.
    with op.batch_alter_table('ban', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shadow', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shadowed', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_column('shadowed')
    with op.batch_alter_table('ban', schema=None) as batch_op:
        batch_op.drop_column('shadow')
