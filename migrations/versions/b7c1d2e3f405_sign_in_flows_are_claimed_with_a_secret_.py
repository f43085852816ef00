"""sign-in flows are claimed with a secret and a code, and sign in only when claimed

Revision ID: b7c1d2e3f405
Revises: 4dd93ec06267
Create Date: 2026-12-01 22:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7c1d2e3f405'
down_revision = '4dd93ec06267'
branch_labels = None
depends_on = None


def upgrade():
    # Flows live ten minutes and the ones open now have no secret: they could only fail.
    op.execute(sa.text("DELETE FROM login_flow"))
    with op.batch_alter_table('login_flow', schema=None) as batch_op:
        batch_op.add_column(sa.Column('popup', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('secret_hash', sa.String(length=64), nullable=False))
        batch_op.add_column(sa.Column('code_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('profile', sa.JSON(), nullable=True))
        batch_op.drop_constraint(batch_op.f('fk_login_flow_user_id_user'), type_='foreignkey')
        batch_op.drop_column('user_id')


def downgrade():
    op.execute(sa.text("DELETE FROM login_flow"))
    with op.batch_alter_table('login_flow', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_login_flow_user_id_user'), 'user', ['user_id'], ['id'], ondelete='CASCADE')
        batch_op.drop_column('profile')
        batch_op.drop_column('code_hash')
        batch_op.drop_column('secret_hash')
        batch_op.drop_column('popup')
