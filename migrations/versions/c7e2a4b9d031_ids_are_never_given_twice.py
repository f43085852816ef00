"""ids are never given twice: SQLite tables number with AUTOINCREMENT

Revision ID: c7e2a4b9d031
Revises: b8d4e2f6a913
Create Date: 2026-12-04 13:10:00.000000

Tokens and links name rows by id. Without AUTOINCREMENT SQLite gives a new row the largest
id plus one, so the ids of the newest rows, once deleted, were handed out again. Each table
is rebuilt (SQLite cannot add AUTOINCREMENT in place) with its rows, ids, indexes and foreign
keys as they were; migrations/env.py turns foreign key enforcement off around it, so that
dropping the old table deletes nothing that refers to it. PostgreSQL is left as it is: its
sequences never give a number twice.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c7e2a4b9d031'
down_revision = 'b8d4e2f6a913'
branch_labels = None
depends_on = None

TABLES = (
    'audit_entry',
    'ban',
    'comment',
    'comment_like',
    'comment_report',
    'identity',
    'mastodon_app',
    'moderator',
    'moderator_identity',
    'moderator_invite',
    'notification_address',
    'outbox_message',
    'reply_subscription',
    'subscription',
    'thread',
    'user',
    'webhook_delivery',
)


def _rebuild(autoincrement):
    if op.get_bind().dialect.name != 'sqlite':
        return
    for name in TABLES:
        with op.batch_alter_table(
            name, recreate='always', table_kwargs={'sqlite_autoincrement': autoincrement}
        ):
            pass


def upgrade():
    _rebuild(True)


def downgrade():
    _rebuild(False)
