"""a moderator's linked account keeps its handle, to show a Mastodon account as @user@server

Revision ID: e2b7c4a91d06
Revises: e8a4c1b7d209
Create Date: 2026-12-02 14:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e2b7c4a91d06'
down_revision = 'e8a4c1b7d209'
branch_labels = None
depends_on = None


def upgrade():
    # Nullable: accounts linked before this have none, and show their name as before.
    with op.batch_alter_table('moderator_identity', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handle', sa.String(length=255), nullable=True))


def downgrade():
    with op.batch_alter_table('moderator_identity', schema=None) as batch_op:
        batch_op.drop_column('handle')
