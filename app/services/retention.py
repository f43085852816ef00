"""Forgetting what we no longer need (`flask prune`, safe to run from cron)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, or_, select, update

from app.database import writes
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import (
    Comment,
    CommentLike,
    CommentReport,
    NotificationAddress,
    OutboxMessage,
    ReplySubscription,
    WebhookDelivery,
)
from app.models.types import utcnow
from app.services import links, webhooks
from app.services.identities import prune_used_requests
from app.services.logins import prune_flows
from app.services.mail import MAX_ATTEMPTS
from app.services.site_moderators import prune_invites


@dataclass(frozen=True)
class PruneReport:
    address_hashes: int
    login_flows: int
    mail_messages: int = 0
    signed_requests: int = 0
    reply_requests: int = 0
    webhook_deliveries: int = 0
    invitations: int = 0


@writes
def prune(*, address_days: int, mail_days: int | None = None) -> PruneReport:
    """Drop address hashes (of comments and of guests' likes) older than `address_days`,
    sign-in flows past their lifetime, used signed requests too old to replay, requests for
    reply mail that can no longer be sent, invitations to moderate that were accepted or
    expired and, with `mail_days`, outbox mail and webhook deliveries sent (or given up on)
    longer ago than that."""
    cleared = db.session.execute(  # type: ignore[attr-defined]  # DML answers a CursorResult
        update(Comment)
        .where(
            Comment.remote_addr_hash.is_not(None),
            Comment.created_at < utcnow() - timedelta(days=address_days),
        )
        .values(remote_addr_hash=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    cleared += db.session.execute(  # type: ignore[attr-defined]  # DML answers a CursorResult
        update(CommentLike)
        .where(
            CommentLike.address_hash.is_not(None),
            CommentLike.created_at < utcnow() - timedelta(days=address_days),
        )
        .values(address_hash=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    cleared += db.session.execute(  # type: ignore[attr-defined]  # DML answers a CursorResult
        update(CommentReport)
        .where(
            CommentReport.address_hash.is_not(None),
            CommentReport.created_at < utcnow() - timedelta(days=address_days),
        )
        .values(address_hash=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    mails = hooks = 0
    if mail_days is not None:
        # Mail holds names and comment text: once delivered, the outbox has no use for it.
        cutoff = utcnow() - timedelta(days=mail_days)
        mails = db.session.execute(  # type: ignore[attr-defined]  # DML answers a CursorResult
            delete(OutboxMessage)
            .where(
                OutboxMessage.created_at < cutoff,
                or_(OutboxMessage.sent_at.is_not(None), OutboxMessage.attempts >= MAX_ATTEMPTS),
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        # Webhook bodies hold the same names and text, and approve links while they last.
        hooks = db.session.execute(  # type: ignore[attr-defined]  # DML answers a CursorResult
            delete(WebhookDelivery)
            .where(
                WebhookDelivery.created_at < cutoff,
                or_(
                    WebhookDelivery.sent_at.is_not(None),
                    WebhookDelivery.attempts >= webhooks.MAX_ATTEMPTS,
                ),
            )
            .execution_options(synchronize_session=False)
        ).rowcount
    requests = prune_used_requests()
    return PruneReport(
        address_hashes=cleared,
        login_flows=prune_flows(),
        mail_messages=mails,
        signed_requests=requests,
        reply_requests=_prune_reply_requests(),
        webhook_deliveries=hooks,
        invitations=prune_invites(),
    )


def _prune_reply_requests() -> int:
    """Reply mail nobody can get any more: for deleted comments, and for addresses whose
    owner never confirmed them while the mailed link worked (a new opt-in asks again)."""
    cutoff = utcnow() - timedelta(seconds=links.CONFIRM_ADDRESS.max_age or 0)
    unconfirmed = select(NotificationAddress.id).where(
        NotificationAddress.confirmed_at.is_(None),
        func.coalesce(NotificationAddress.confirmation_sent_at, NotificationAddress.created_at)
        < cutoff,
    )
    deleted = select(Comment.id).where(Comment.status == CommentStatus.DELETED)
    dropped: int = db.session.execute(  # type: ignore[attr-defined]  # a CursorResult
        delete(ReplySubscription)
        .where(
            or_(
                ReplySubscription.address_id.in_(unconfirmed.scalar_subquery()),
                ReplySubscription.comment_id.in_(deleted.scalar_subquery()),
            )
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.execute(
        delete(NotificationAddress)
        .where(NotificationAddress.id.in_(unconfirmed.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )
    return dropped
