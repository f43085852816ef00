"""moderation: bans, audit log, outbox, site settings, replies as the site

Revision ID: 411e7ce89d86
Revises: 64d487c2865d
Create Date: 2026-11-25 13:06:17.164798

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '411e7ce89d86'
down_revision = '64d487c2865d'
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('outbox_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('to', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=True),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('digest_key', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('send_after', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_message'))
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_pending', ['sent_at', 'send_after'], unique=False)

    op.create_table('used_action_token',
    sa.Column('jti', sa.String(length=64), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('jti', name=op.f('pk_used_action_token'))
    )
    op.create_table('ban',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('email_hash', sa.String(length=64), nullable=True),
    sa.Column('address_hash', sa.String(length=64), nullable=True),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['moderator.id'], name=op.f('fk_ban_created_by_id_moderator'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_ban_site_id_site'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_ban_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ban'))
    )
    with op.batch_alter_table('ban', schema=None) as batch_op:
        batch_op.create_index('ix_ban_site', ['site_id', 'expires_at'], unique=False)

    op.create_table('audit_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.String(length=32), nullable=False),
    sa.Column('comment_id', sa.Integer(), nullable=True),
    sa.Column('moderator_id', sa.Integer(), nullable=True),
    sa.Column('moderator_email', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('before', sa.String(length=16), nullable=True),
    sa.Column('after', sa.String(length=16), nullable=True),
    sa.Column('detail', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['comment_id'], ['comment.id'], name=op.f('fk_audit_entry_comment_id_comment'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['moderator_id'], ['moderator.id'], name=op.f('fk_audit_entry_moderator_id_moderator'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['site.id'], name=op.f('fk_audit_entry_site_id_site'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entry'))
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.create_index('ix_audit_comment', ['comment_id'], unique=False)
        batch_op.create_index('ix_audit_site_time', ['site_id', 'created_at'], unique=False)

    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('moderator_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_comment_moderator_id_moderator'), 'moderator', ['moderator_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('moderator', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notify', sa.String(length=16), server_default='each', nullable=False))

    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('close_after_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('providers', sa.JSON(), nullable=True))




def downgrade():

    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_column('providers')
        batch_op.drop_column('close_after_days')

    with op.batch_alter_table('moderator', schema=None) as batch_op:
        batch_op.drop_column('notify')

    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_comment_moderator_id_moderator'), type_='foreignkey')
        batch_op.drop_column('moderator_id')

    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_site_time')
        batch_op.drop_index('ix_audit_comment')

    op.drop_table('audit_entry')
    with op.batch_alter_table('ban', schema=None) as batch_op:
        batch_op.drop_index('ix_ban_site')

    op.drop_table('ban')
    op.drop_table('used_action_token')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_pending')

    op.drop_table('outbox_message')

