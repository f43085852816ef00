"""replies to a comment are mailed to its author, once their address is confirmed

Revision ID: 973bb47fae5f
Revises: d5f2a7c19e63
Create Date: 2026-12-02 04:25:30.940846

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '973bb47fae5f'
down_revision = 'd5f2a7c19e63'
branch_labels = None
depends_on = None


def upgrade():
    # New tables only: existing subscriptions and comments are untouched.
    op.create_table('notification_address',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.String(length=32), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmation_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('replies_stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_notification_address_site_id_site'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_notification_address_user_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_address')),
    sa.UniqueConstraint('site_id', 'email', name=op.f('uq_notification_address_site_id_email'))
    )
    with op.batch_alter_table('notification_address', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_address_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_address_user_id'), ['user_id'], unique=False)

    op.create_table('reply_subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('comment_id', sa.Integer(), nullable=False),
    sa.Column('address_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('unsubscribed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['address_id'], ['notification_address.id'], name=op.f('fk_reply_subscription_address_id_notification_address'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['comment_id'], ['comment.id'], name=op.f('fk_reply_subscription_comment_id_comment'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_reply_subscription_user_id_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reply_subscription')),
    sa.UniqueConstraint('comment_id', name=op.f('uq_reply_subscription_comment_id'))
    )
    with op.batch_alter_table('reply_subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reply_subscription_address_id'), ['address_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reply_subscription_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('reply_subscription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reply_subscription_user_id'))
        batch_op.drop_index(batch_op.f('ix_reply_subscription_address_id'))
    op.drop_table('reply_subscription')
    with op.batch_alter_table('notification_address', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_address_user_id'))
        batch_op.drop_index(batch_op.f('ix_notification_address_email'))
    op.drop_table('notification_address')
