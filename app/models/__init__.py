"""Typed models. Import from here: `from app.models import Comment, Site, Thread`."""

from app.models.comment import Comment, CommentStatus
from app.models.like import CommentLike
from app.models.login import DataDeletion, LoginFlow, UsedSignedRequest
from app.models.mastodon import MastodonApp
from app.models.moderation import AuditEntry, Ban, OutboxMessage, UsedActionToken
from app.models.moderator import Moderator, ModeratorIdentity, moderator_sites
from app.models.reply_subscription import NotificationAddress, ReplySubscription
from app.models.report import CommentReport
from app.models.site import ModerationMode, RefusedOrigin, Site
from app.models.subscription import Subscription
from app.models.thread import Thread
from app.models.user import Identity, User

__all__ = [
    "AuditEntry",
    "Ban",
    "Comment",
    "CommentLike",
    "CommentReport",
    "CommentStatus",
    "DataDeletion",
    "Identity",
    "LoginFlow",
    "MastodonApp",
    "ModerationMode",
    "Moderator",
    "ModeratorIdentity",
    "NotificationAddress",
    "OutboxMessage",
    "RefusedOrigin",
    "ReplySubscription",
    "Site",
    "Subscription",
    "Thread",
    "UsedActionToken",
    "UsedSignedRequest",
    "User",
    "moderator_sites",
]
