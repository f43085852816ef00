"""readers sign in with any Mastodon server: the app registered on each, the flow's server

Revision ID: d4f1a6c3b8e2
Revises: 973bb47fae5f
Create Date: 2026-12-02 05:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd4f1a6c3b8e2'
down_revision = '973bb47fae5f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('mastodon_app',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('server', sa.String(length=300), nullable=False),
    sa.Column('client_id', sa.String(length=255), nullable=True),
    sa.Column('client_secret', sa.String(length=255), nullable=True),
    sa.Column('redirect_uri', sa.String(length=2000), nullable=True),
    sa.Column('registering_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mastodon_app')),
    sa.UniqueConstraint('server', name=op.f('uq_mastodon_app_server'))
    )
    with op.batch_alter_table('login_flow', schema=None) as batch_op:
        batch_op.add_column(sa.Column('server', sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table('login_flow', schema=None) as batch_op:
        batch_op.drop_column('server')
    op.drop_table('mastodon_app')
