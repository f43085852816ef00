"""What makes a reader's own cached pages stale, besides their threads and their site.

A signed-in reader's page (`cache.private_slot`) also shows things about their account that
change elsewhere: the name and address the form offers, the addresses an email sign-in
proved (whose guest comments are theirs), whether they may moderate. Every write through
the ORM that touches those rows marks the account's generation (or, for moderators, the one
generation all readers' pages share) as it is flushed, so the pages change with the commit,
as thread pages do. Writes that bypass the ORM (the erasure's bulk deletes) mark it
themselves.

Moderators' own pages are never kept (`app/api/routes.py`): a reader who stops being a
moderator loses the queue on their next read whatever this misses.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.models import Identity, Moderator, ModeratorIdentity, User
from app.models.reply_subscription import NotificationAddress
from app.models.subscription import Subscription
from app.services import cache

# Rows whose `user_id` names the reader whose pages they show on.
_OF_A_READER = (Identity, NotificationAddress, Subscription)
_OF_MODERATORS = (Moderator, ModeratorIdentity)


def init_app(_app: Flask) -> None:
    """Watch every session's flushes: once per process, however many apps it makes."""
    if not event.contains(Session, "before_flush", _mark_readers):
        event.listen(Session, "before_flush", _mark_readers)


def _mark_readers(session: Session, _context: Any, _instances: Any) -> None:
    for row in (*session.new, *session.dirty, *session.deleted):
        if isinstance(row, User) and row.id is not None:
            cache.touch_reader(row.id)
        elif isinstance(row, _OF_A_READER) and row.user_id is not None:
            cache.touch_reader(row.user_id)
        elif isinstance(row, _OF_MODERATORS):
            cache.touch_moderators()
