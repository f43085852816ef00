"""a site's readers earn trust after a number of approved comments

Revision ID: b3e7f2a8c915
Revises: a9d3c6e1f0b2
Create Date: 2026-12-02 17:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b3e7f2a8c915'
down_revision = 'a9d3c6e1f0b2'
branch_labels = None
depends_on = None


def upgrade():
    # One approved comment was what `first-time` asked before: existing sites keep it.
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('trust_after', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_column('trust_after')
