"""moderators sign in with linked provider accounts

Revision ID: 4455d76ebe99
Revises: 411e7ce89d86
Create Date: 2026-11-25 13:18:07.018884

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4455d76ebe99'
down_revision = '411e7ce89d86'
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('moderator_identity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('moderator_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('provider_user_id', sa.String(length=255), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['moderator_id'], ['moderator.id'], name=op.f('fk_moderator_identity_moderator_id_moderator'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderator_identity')),
    sa.UniqueConstraint('provider', 'provider_user_id', name=op.f('uq_moderator_identity_provider_provider_user_id'))
    )
    with op.batch_alter_table('moderator_identity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_moderator_identity_moderator_id'), ['moderator_id'], unique=False)




def downgrade():

    with op.batch_alter_table('moderator_identity', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_moderator_identity_moderator_id'))

    op.drop_table('moderator_identity')

