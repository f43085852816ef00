"""threads can be closed for good, as imported pages the old system had closed

Revision ID: 9b3e7c2a1d54
Revises: 4bf29ed661f6
Create Date: 2026-12-02 02:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9b3e7c2a1d54'
down_revision = '4bf29ed661f6'
branch_labels = None
depends_on = None


def upgrade():
    # Existing threads stay open: the default fills the column without rewriting a row's meaning.
    with op.batch_alter_table('thread', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('thread', schema=None) as batch_op:
        batch_op.drop_column('closed')
