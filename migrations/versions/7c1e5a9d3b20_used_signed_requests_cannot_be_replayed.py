"""used signed requests cannot be replayed

Revision ID: 7c1e5a9d3b20
Revises: 7c1e9a4b2d30
Create Date: 2026-12-01 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c1e5a9d3b20'
down_revision = '7c1e9a4b2d30'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('used_signed_request',
    sa.Column('signature_hash', sa.String(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('signature_hash', name=op.f('pk_used_signed_request'))
    )
    with op.batch_alter_table('used_signed_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_used_signed_request_issued_at'), ['issued_at'], unique=False)


def downgrade():
    with op.batch_alter_table('used_signed_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_used_signed_request_issued_at'))

    op.drop_table('used_signed_request')
