"""Typed models. Import from here: `from app.models import Comment, Site, Thread`."""

from sqlalchemy import Integer

from app.extensions import db
from app.models.comment import Comment, CommentStatus
from app.models.learning import LearnedToken
from app.models.like import CommentLike
from app.models.login import DataDeletion, LoginFlow, UsedSignedRequest
from app.models.mastodon import MastodonApp
from app.models.moderation import AuditEntry, Ban, OutboxMessage, UsedActionToken
from app.models.moderator import Moderator, ModeratorIdentity, ModeratorInvite, moderator_sites
from app.models.reply_subscription import NotificationAddress, ReplySubscription
from app.models.report import CommentReport
from app.models.site import ModerationMode, RefusedOrigin, Site
from app.models.subscription import Subscription
from app.models.thread import Thread
from app.models.user import Identity, User
from app.models.webhook import SiteWebhook, WebhookDelivery

__all__ = [
    "AuditEntry",
    "Ban",
    "Comment",
    "CommentLike",
    "CommentReport",
    "CommentStatus",
    "DataDeletion",
    "Identity",
    "LearnedToken",
    "LoginFlow",
    "MastodonApp",
    "ModerationMode",
    "Moderator",
    "ModeratorIdentity",
    "ModeratorInvite",
    "NotificationAddress",
    "OutboxMessage",
    "RefusedOrigin",
    "ReplySubscription",
    "Site",
    "SiteWebhook",
    "Subscription",
    "Thread",
    "UsedActionToken",
    "UsedSignedRequest",
    "User",
    "WebhookDelivery",
    "moderator_sites",
]


def _never_reuse_ids() -> None:
    """On SQLite, every table numbered by an integer key numbers with AUTOINCREMENT.

    Without it SQLite gives a new row the largest id plus one, so deleting the newest rows (an
    erased account, a deleted site's comments) hands their ids out again, and the tokens and
    links that name a row by its id (a reader's sign-in, an edit token, a mailed link) would
    name the newcomer. PostgreSQL's sequences never give a number twice.
    """
    for table in db.metadata.tables.values():
        key = list(table.primary_key.columns)
        if len(key) == 1 and isinstance(key[0].type, Integer) and not key[0].foreign_keys:
            table.dialect_options["sqlite"]["autoincrement"] = True


_never_reuse_ids()
