"""moderators are owners or moderators of a site, and owners invite moderators by mail

Revision ID: a7d3c5e9b140
Revises: 7bc13c238c99
Create Date: 2026-12-02 17:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7d3c5e9b140'
down_revision = '7bc13c238c99'
branch_labels = None
depends_on = None


def upgrade():
    # Every grant so far was made by an operator (`flask moderator create/add-site`): an owner.
    with op.batch_alter_table('moderator_site', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('role', sa.String(length=16), server_default='owner', nullable=False)
        )

    op.create_table(
        'moderator_invite',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.String(length=32), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('invited_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['invited_by_id'], ['moderator.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['site_id'], ['site.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    with op.batch_alter_table('moderator_invite', schema=None) as batch_op:
        batch_op.create_index('ix_moderator_invite_site', ['site_id', 'email'], unique=False)


def downgrade():
    with op.batch_alter_table('moderator_invite', schema=None) as batch_op:
        batch_op.drop_index('ix_moderator_invite_site')
    op.drop_table('moderator_invite')

    with op.batch_alter_table('moderator_site', schema=None) as batch_op:
        batch_op.drop_column('role')
