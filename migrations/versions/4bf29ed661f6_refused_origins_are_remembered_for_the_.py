"""refused origins are remembered for the dashboard

Revision ID: 4bf29ed661f6
Revises: c3a8e1f0d472
Create Date: 2026-12-02 01:54:16.581231

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4bf29ed661f6'
down_revision = 'c3a8e1f0d472'
branch_labels = None
depends_on = None


def upgrade():
    # A few rows per site at most: the service keeps only the most recent ones.
    op.create_table('refused_origin',
    sa.Column('site_id', sa.String(length=32), nullable=False),
    sa.Column('origin', sa.String(length=200), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('requests', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_refused_origin_site_id_site'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('site_id', 'origin', name=op.f('pk_refused_origin'))
    )


def downgrade():
    op.drop_table('refused_origin')
