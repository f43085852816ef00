"""imported comments remember their source

Revision ID: 55b0c759ffe6
Revises: 4a444fecea58
Create Date: 2026-11-25 13:41:18.659470

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '55b0c759ffe6'
down_revision = '4a444fecea58'
branch_labels = None
depends_on = None


def upgrade():

    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('import_key', sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_comment_thread_id_import_key'), ['thread_id', 'import_key'])




def downgrade():

    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_comment_thread_id_import_key'), type_='unique')
        batch_op.drop_column('import_key')


