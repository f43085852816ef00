"""readers like comments, once each; comments keep their count

Revision ID: d5f2a7c19e63
Revises: 9b3e7c2a1d54
Create Date: 2026-12-02 04:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd5f2a7c19e63'
down_revision = '9b3e7c2a1d54'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('comment_like',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('comment_id', sa.Integer(), nullable=False),
    sa.Column('voter', sa.String(length=80), nullable=False),
    sa.Column('address_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['comment.id'], name=op.f('fk_comment_like_comment_id_comment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comment_like')),
    sa.UniqueConstraint('comment_id', 'voter', name=op.f('uq_comment_like_comment_id_voter'))
    )
    with op.batch_alter_table('comment_like', schema=None) as batch_op:
        batch_op.create_index('ix_comment_like_address', ['comment_id', 'address_hash'], unique=False)
        batch_op.create_index('ix_comment_like_voter', ['voter'], unique=False)

    # Every existing comment starts with no likes: the default fills the column.
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('like_count', sa.Integer(), server_default=sa.text('0'), nullable=False))


def downgrade():
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_column('like_count')

    with op.batch_alter_table('comment_like', schema=None) as batch_op:
        batch_op.drop_index('ix_comment_like_voter')
        batch_op.drop_index('ix_comment_like_address')

    op.drop_table('comment_like')
