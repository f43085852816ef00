"""Typed models. Import from here: `from app.models import Comment, Site, Thread`."""

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
