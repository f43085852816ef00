"""why each comment was held, and each site's banned and held words

Revision ID: a9d3c6e1f0b2
Revises: f1c2d3e4a5b6
Create Date: 2026-12-02 17:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a9d3c6e1f0b2'
down_revision = 'f1c2d3e4a5b6'
branch_labels = None
depends_on = None


def upgrade():
    # Comments held before this revision have no stored reason: the queue says nothing for
    # them rather than guess one from today's settings.
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holds', sa.JSON(), nullable=True))
    # Every existing site starts with empty lists: nothing changes for it until its owner writes one.
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('banned_words', sa.JSON(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('held_words', sa.JSON(), server_default='[]', nullable=False))


def downgrade():
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_column('held_words')
        batch_op.drop_column('banned_words')
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_column('holds')
