"""readers report comments, with a reason; sites choose a threshold

Revision ID: c0c1645b6923
Revises: d4f1a6c3b8e2
Create Date: 2026-12-02 14:05:41.254991

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c0c1645b6923'
down_revision = 'd4f1a6c3b8e2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('comment_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('comment_id', sa.Integer(), nullable=False),
    sa.Column('reporter', sa.String(length=80), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('address_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['comment.id'], name=op.f('fk_comment_report_comment_id_comment'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comment_report')),
    sa.UniqueConstraint('comment_id', 'reporter', name=op.f('uq_comment_report_comment_id_reporter'))
    )
    with op.batch_alter_table('comment_report', schema=None) as batch_op:
        batch_op.create_index('ix_comment_report_reporter', ['reporter'], unique=False)

    # Nothing was reported before: the default fills the column.
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('report_count', sa.Integer(), server_default=sa.text('0'), nullable=False))
        batch_op.add_column(sa.Column('open_reports', sa.Integer(), server_default=sa.text('0'), nullable=False))

    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('report_threshold', sa.Integer(), nullable=True))
    # Existing sites get the threshold new ones start with (app/models/site.py).
    op.execute("UPDATE site SET report_threshold = 3")



def downgrade():
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_column('report_threshold')

    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_column('open_reports')
        batch_op.drop_column('report_count')

    with op.batch_alter_table('comment_report', schema=None) as batch_op:
        batch_op.drop_index('ix_comment_report_reporter')

    op.drop_table('comment_report')
