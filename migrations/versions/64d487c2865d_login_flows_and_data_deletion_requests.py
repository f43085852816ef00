"""login flows and data deletion requests

Revision ID: 64d487c2865d
Revises: 90855c09dc12
Create Date: 2026-11-25 12:56:45.024554

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '64d487c2865d'
down_revision = '90855c09dc12'
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('data_deletion',
    sa.Column('confirmation_code', sa.String(length=64), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('provider_user_hash', sa.String(length=64), nullable=False),
    sa.Column('comments_removed', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('confirmation_code', name=op.f('pk_data_deletion'))
    )
    op.create_table('login_flow',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('site_id', sa.String(length=32), nullable=False),
    sa.Column('origin', sa.String(length=300), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('return_url', sa.String(length=2000), nullable=True),
    sa.Column('link_user_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['link_user_id'], ['user.id'], name=op.f('fk_login_flow_link_user_id_user'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_login_flow_site_id_site'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_login_flow_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_flow'))
    )
    with op.batch_alter_table('login_flow', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_flow_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_flow_site_id'), ['site_id'], unique=False)




def downgrade():

    with op.batch_alter_table('login_flow', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_flow_site_id'))
        batch_op.drop_index(batch_op.f('ix_login_flow_created_at'))

    op.drop_table('login_flow')
    op.drop_table('data_deletion')

