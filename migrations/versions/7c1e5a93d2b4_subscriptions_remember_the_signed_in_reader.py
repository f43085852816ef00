"""subscriptions remember the signed-in reader who asked

Revision ID: 7c1e5a93d2b4
Revises: b7c1d2e3f405
Create Date: 2026-12-02 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c1e5a93d2b4'
down_revision = 'b7c1d2e3f405'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_subscription_user_id'), ['user_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_subscription_user_id_user'), 'user', ['user_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_subscription_user_id_user'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_subscription_user_id'))
        batch_op.drop_column('user_id')
