"""the learning spam filter: each site's token counts, each comment's score and lesson

Revision ID: d8b2e6f4a1c7
Revises: c5a1d9e4b7f3
Create Date: 2026-12-02 18:15:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd8b2e6f4a1c7'
down_revision = 'c5a1d9e4b7f3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'learned_token',
        sa.Column('site_id', sa.String(length=32), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('spam', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.Column('ham', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.ForeignKeyConstraint(['site_id'], ['site.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('site_id', 'token'),
    )
    # Existing comments were never scored nor taught: the filter starts from nothing, and
    # holds nothing until the moderators' next decisions teach it enough.
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('filter_score', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('filter_reasons', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('trained_as', sa.String(length=8), nullable=True))
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('filter_mode', sa.String(length=8), server_default='hold', nullable=False))


def downgrade():
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_column('filter_mode')
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_column('trained_as')
        batch_op.drop_column('filter_reasons')
        batch_op.drop_column('filter_score')
    op.drop_table('learned_token')
