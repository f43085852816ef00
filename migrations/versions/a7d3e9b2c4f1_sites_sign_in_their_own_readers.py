"""sites sign in their own readers (single sign-on)

Revision ID: a7d3e9b2c4f1
Revises: d8b2e6f4a1c7
Create Date: 2026-12-02 17:30:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "a7d3e9b2c4f1"
down_revision = "d8b2e6f4a1c7"
branch_labels = None
depends_on = None


def upgrade():
    # Off on every existing site until its owner turns it on.
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sso_secret", sa.String(length=64), nullable=True))
    # A site's reader is "SITE_ID:ID", longer than any provider's id.
    with op.batch_alter_table("identity", schema=None) as batch_op:
        batch_op.alter_column(
            "provider_user_id",
            existing_type=sa.String(length=255),
            type_=sa.String(length=300),
            existing_nullable=False,
        )


def downgrade():
    # Identities of single sign-on go first: their ids may not fit the narrower column.
    op.execute("DELETE FROM identity WHERE provider = 'sso'")
    with op.batch_alter_table("identity", schema=None) as batch_op:
        batch_op.alter_column(
            "provider_user_id",
            existing_type=sa.String(length=300),
            type_=sa.String(length=255),
            existing_nullable=False,
        )
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.drop_column("sso_secret")
