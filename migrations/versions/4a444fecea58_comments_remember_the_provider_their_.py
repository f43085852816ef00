"""comments remember the provider their author signed in with

Revision ID: 4a444fecea58
Revises: 4455d76ebe99
Create Date: 2026-11-25 13:21:04.882221

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4a444fecea58'
down_revision = '4455d76ebe99'
branch_labels = None
depends_on = None


def upgrade():

    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provider', sa.String(length=32), nullable=True))




def downgrade():

    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_column('provider')


