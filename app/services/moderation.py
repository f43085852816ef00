"""Moderators changing what readers see. Every action is checked against the moderator's
sites and written to the audit log in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Select, String, and_, case, cast, false, func, literal, or_, select
from sqlalchemy.orm import selectinload

from app.database import begin_write
from app.domain import policy
from app.domain.errors import CommentNotFound, Forbidden, NotFound, ValidationError
from app.domain.markdown import render_markdown
from app.domain.states import CommentStatus, ModerationMode
from app.extensions import db
from app.models import (
    AuditEntry,
    Ban,
    Comment,
    Moderator,
    Site,
    Thread,
    User,
    moderator_sites,
)
from app.models.types import utcnow
from app.services import cache, subscriptions
from app.services.hashing import email_hash
from app.services.threads import adjust_approved_count

ACTIONS: dict[str, CommentStatus] = {
    "approve": CommentStatus.APPROVED,
    "reject": CommentStatus.REJECTED,
    "spam": CommentStatus.SPAM,
    "delete": CommentStatus.DELETED,
}
QUEUE_PAGE_SIZE = 50
# Fifty million comments back; a larger page would only overflow the query's offset.
QUEUE_MAX_PAGE = 1_000_000


def set_status(
    comment: Comment, status: CommentStatus, *, moderator: Moderator | None = None
) -> Comment:
    """Move one comment to `status` (no permission check: for trusted callers)."""
    begin_write()
    db.session.refresh(comment)
    site_id = db.session.execute(
        select(Thread.site_id).where(Thread.id == comment.thread_id)
    ).scalar_one()
    _move(comment, status, site_id, moderator, action=_action_name(status))
    db.session.commit()
    return comment


def act(moderator: Moderator, comment_ids: Iterable[int], action: str) -> list[Comment]:
    """Approve, reject, mark as spam or delete comments, all or none.

    Raises Forbidden if any of them is on a site the moderator does not moderate, so a
    tampered id in a bulk form changes nothing at all.
    """
    begin_write()
    comments = apply_action(moderator, comment_ids, action)
    db.session.commit()
    return comments


def apply_action(moderator: Moderator, comment_ids: Iterable[int], action: str) -> list[Comment]:
    """`act` inside the caller's write transaction (used by one-time mail links)."""
    if action not in ACTIONS:
        raise ValidationError("Unknown action.", field="action")
    ids = sorted({int(i) for i in comment_ids})
    if any(not policy.is_id(i) for i in ids):
        raise CommentNotFound("Some of those comments do not exist.")
    if not ids:
        raise ValidationError("Select at least one comment.", field="ids")
    rows = db.session.execute(
        select(Comment, Thread.site_id).join(Thread).where(Comment.id.in_(ids))
    ).all()
    if len(rows) != len(ids):
        raise CommentNotFound("Some of those comments do not exist.")
    allowed = site_ids_of(moderator)
    if allowed is not None and any(site_id not in allowed for _, site_id in rows):
        raise Forbidden("You do not moderate that site.")
    for comment, site_id in rows:
        _move(comment, ACTIONS[action], site_id, moderator, action=action)
    return [comment for comment, _ in rows]


def edit_text(moderator: Moderator, comment_id: int, body: str) -> Comment:
    """A moderator's edit: no time window, same limits as the author's."""
    comment, site_id = _moderated_comment(moderator, comment_id)
    body = policy.clean_body(body)
    before = comment.body
    comment.body = body
    comment.html = render_markdown(body)
    comment.edited_at = utcnow()
    cache.touch_thread(site_id, comment.thread_id)
    _audit(site_id, comment, moderator, "edit", detail=f"{len(before)} → {len(body)} characters")
    db.session.commit()
    return comment


def reply_as_site(moderator: Moderator, comment_id: int, body: str) -> Comment:
    """A reply shown as the site's (with a moderator badge), published at once."""
    parent, site_id = _moderated_comment(moderator, comment_id)
    body = policy.clean_body(body)
    site = db.session.get_one(Site, site_id)
    reply = Comment(
        thread_id=parent.thread_id,
        parent_id=parent.id,
        root_id=parent.root_id,
        moderator_id=moderator.id,
        guest_name=site.name,
        body=body,
        html=render_markdown(body),
        status=CommentStatus.APPROVED,
    )
    db.session.add(reply)
    db.session.flush()
    adjust_approved_count(parent.thread_id, +1)
    cache.touch_thread(site_id, parent.thread_id)
    _audit(site_id, reply, moderator, "reply", after=CommentStatus.APPROVED)
    db.session.commit()
    return reply


def ban_author(
    moderator: Moderator,
    comment_id: int,
    *,
    by_email: bool = True,
    by_address: bool = False,
    days: int | None = None,
    reason: str = "",
) -> Ban:
    """Keep a comment's author out of its site; their comment goes to spam too."""
    comment, site_id = _moderated_comment(moderator, comment_id)
    if days is not None and not 1 <= days <= 3650:
        raise ValidationError("A ban lasts 1 to 3650 days, or has no end.", field="days")
    ban = Ban(
        site_id=site_id,
        user_id=comment.user_id,
        email_hash=email_hash(comment.guest_email) if by_email and not comment.user_id else None,
        address_hash=comment.remote_addr_hash if by_address else None,
        label=author_label(comment),
        reason=reason.strip()[:300],
        expires_at=utcnow() + timedelta(days=days) if days else None,
        created_by_id=moderator.id,
    )
    if not (ban.user_id or ban.email_hash or ban.address_hash):
        raise ValidationError(
            "Nothing identifies this author: choose email or address.", field="by_email"
        )
    db.session.add(ban)
    _audit(site_id, comment, moderator, "ban", detail=ban.reason)
    _move(comment, CommentStatus.SPAM, site_id, moderator, action="spam")
    db.session.commit()
    return ban


def lift_ban(moderator: Moderator, ban_id: int) -> str:
    """Remove a ban; returns its site's id."""
    begin_write()
    ban = db.session.get(Ban, ban_id) if policy.is_id(ban_id) else None
    if ban is None or not can_moderate(moderator, ban.site_id):
        raise NotFound("There is no such ban.")
    site_id = ban.site_id
    _audit(site_id, None, moderator, "unban", detail=ban.label)
    db.session.delete(ban)
    db.session.commit()
    return site_id


def is_banned(
    site_id: str, *, user_id: int | None, email: str | None, address_hash: str | None
) -> bool:
    """Whether a new comment by this author should go straight to spam."""
    matches = []
    if user_id is not None:
        matches.append(Ban.user_id == user_id)
    if email:
        matches.append(Ban.email_hash == email_hash(email))
    if address_hash:
        matches.append(Ban.address_hash == address_hash)
    if not matches:
        return False
    return bool(
        db.session.scalar(
            select(func.count(Ban.id)).where(
                Ban.site_id == site_id,
                or_(*matches),
                or_(Ban.expires_at.is_(None), Ban.expires_at > utcnow()),
            )
        )
    )


def active_bans(moderator: Moderator, site_id: str) -> list[Ban]:
    if not can_moderate(moderator, site_id):
        raise Forbidden("You do not moderate that site.")
    return list(
        db.session.scalars(
            select(Ban)
            .where(Ban.site_id == site_id, or_(Ban.expires_at.is_(None), Ban.expires_at > utcnow()))
            .order_by(Ban.created_at.desc())
        )
    )


# --- reading the queue -------------------------------------------------------------------


@dataclass
class AuthorHistory:
    approved: int = 0
    rejected: int = 0  # rejected or spam


@dataclass
class QueuePage:
    comments: list[Comment]
    history: dict[tuple[str, str], AuthorHistory]  # by (site id, author key)
    page: int
    has_next: bool
    filters: dict[str, object] = field(default_factory=dict)


def site_ids_of(moderator: Moderator) -> set[str] | None:
    """The sites a moderator may act on; None means every site."""
    if moderator.all_sites:
        return None
    return set(
        db.session.scalars(
            select(moderator_sites.c.site_id).where(moderator_sites.c.moderator_id == moderator.id)
        )
    )


def can_moderate(moderator: Moderator, site_id: str) -> bool:
    allowed = site_ids_of(moderator)
    return allowed is None or site_id in allowed


def sites_of(moderator: Moderator) -> list[Site]:
    stmt = select(Site).order_by(Site.name)
    allowed = site_ids_of(moderator)
    if allowed is not None:
        stmt = stmt.where(Site.id.in_(allowed))
    return list(db.session.scalars(stmt))


def queue(
    moderator: Moderator,
    *,
    status: str = "pending",
    site_id: str | None = None,
    thread_id: int | None = None,
    text: str = "",
    page: int = 1,
) -> QueuePage:
    """Comments newest first, filtered; with each author's record on the comment's site."""
    try:
        wanted = CommentStatus(status)
    except ValueError:
        raise ValidationError("Unknown status.", field="status") from None
    stmt: Select[Comment] = (
        select(Comment)
        .join(Thread)
        .where(Comment.status == wanted)
        .options(
            selectinload(Comment.thread),
            selectinload(Comment.user).selectinload(User.identities),
        )
        .order_by(Comment.created_at.desc(), Comment.id.desc())
    )
    allowed = site_ids_of(moderator)
    if allowed is not None:
        stmt = stmt.where(Thread.site_id.in_(allowed))
    if site_id:
        stmt = stmt.where(Thread.site_id == site_id)
    if thread_id is not None:
        # An id no row can have (negative, beyond the column) names no thread: nothing shows.
        stmt = stmt.where(Comment.thread_id == thread_id if policy.is_id(thread_id) else false())
    if text.strip():
        needle = f"%{_escape_like(text.strip()[:100])}%"
        stmt = stmt.where(
            or_(
                Comment.body.ilike(needle, escape="\\"),
                Comment.guest_name.ilike(needle, escape="\\"),
                Comment.guest_email.ilike(needle, escape="\\"),
            )
        )
    page = min(max(page, 1), QUEUE_MAX_PAGE)
    rows = list(
        db.session.scalars(stmt.limit(QUEUE_PAGE_SIZE + 1).offset((page - 1) * QUEUE_PAGE_SIZE))
    )
    comments = rows[:QUEUE_PAGE_SIZE]
    return QueuePage(
        comments=comments,
        history=_histories(comments),
        page=page,
        has_next=len(rows) > QUEUE_PAGE_SIZE,
        filters={"status": wanted.value, "site": site_id, "thread": thread_id, "q": text},
    )


def pending_count(moderator: Moderator) -> int:
    """The queue's length across the moderator's sites (shown in the navigation)."""
    stmt = (
        select(func.count(Comment.id)).join(Thread).where(Comment.status == CommentStatus.PENDING)
    )
    allowed = site_ids_of(moderator)
    if allowed is not None:
        stmt = stmt.where(Thread.site_id.in_(allowed))
    return db.session.scalar(stmt) or 0


def comment_for_review(moderator: Moderator, comment_id: int) -> Comment:
    """A comment with its thread, author and the author's identities loaded for display."""
    _moderated_comment(moderator, comment_id, lock=False)
    return db.session.scalars(
        select(Comment)
        .where(Comment.id == comment_id)
        .options(
            selectinload(Comment.thread),
            selectinload(Comment.user).selectinload(User.identities),
        )
        .execution_options(populate_existing=True)
    ).one()


def pending_total() -> int:
    """Comments waiting on every site (for metrics)."""
    return (
        db.session.scalar(
            select(func.count(Comment.id)).where(Comment.status == CommentStatus.PENDING)
        )
        or 0
    )


def author_key(comment: Comment) -> str:
    if comment.user_id:
        return f"user:{comment.user_id}"
    return f"guest:{comment.guest_email or ''}"


def author_label(comment: Comment) -> str:
    if comment.user_id and comment.user is not None:
        return comment.user.display_name
    return comment.guest_name or "Anonymous"


def audit_for_comment(moderator: Moderator, comment_id: int) -> list[AuditEntry]:
    _, site_id = _moderated_comment(moderator, comment_id, lock=False)
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.comment_id == comment_id, AuditEntry.site_id == site_id)
            .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        )
    )


def audit_for_site(moderator: Moderator, site_id: str, *, limit: int = 200) -> list[AuditEntry]:
    if not can_moderate(moderator, site_id):
        raise Forbidden("You do not moderate that site.")
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.site_id == site_id)
            .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
    )


def update_settings(
    moderator: Moderator,
    site_id: str,
    *,
    origins: Sequence[str],
    moderation: ModerationMode,
    close_after_days: int | None,
    providers: list[str] | None,
) -> Site:
    if not can_moderate(moderator, site_id):
        raise Forbidden("You do not moderate that site.")
    begin_write()
    site = db.session.get_one(Site, site_id)
    cleaned = policy.clean_origins(origins)
    if close_after_days is not None and not 1 <= close_after_days <= 36500:
        raise ValidationError("Close threads after 1 or more days, or never.", field="close")
    site.origins = cleaned
    site.moderation = moderation
    site.close_after_days = close_after_days
    site.providers = providers
    cache.touch_site(site.id)
    _audit(site.id, None, moderator, "settings", detail=f"moderation={moderation.value}")
    db.session.commit()
    return site


# --- internals ---------------------------------------------------------------------------


def _move(
    comment: Comment,
    status: CommentStatus,
    site_id: str,
    moderator: Moderator | None,
    *,
    action: str,
) -> None:
    before = comment.status
    if before is status:
        return
    comment.status = status
    cache.touch_thread(site_id, comment.thread_id)
    if status is CommentStatus.APPROVED and not comment.subscribers_notified:
        thread = db.session.get_one(Thread, comment.thread_id)
        subscriptions.comment_approved(comment, thread, db.session.get_one(Site, site_id))
    delta = (status is CommentStatus.APPROVED) - (before is CommentStatus.APPROVED)
    if delta:
        adjust_approved_count(comment.thread_id, delta)
    _audit(site_id, comment, moderator, action, before=before, after=status)


def _audit(
    site_id: str,
    comment: Comment | None,
    moderator: Moderator | None,
    action: str,
    *,
    before: CommentStatus | None = None,
    after: CommentStatus | None = None,
    detail: str = "",
) -> None:
    db.session.add(
        AuditEntry(
            site_id=site_id,
            comment_id=comment.id if comment is not None else None,
            moderator_id=moderator.id if moderator else None,
            moderator_email=moderator.email if moderator else "",
            action=action,
            before=before.value if before else None,
            after=after.value if after else None,
            detail=detail[:500],
        )
    )


def _moderated_comment(
    moderator: Moderator, comment_id: int, *, lock: bool = True
) -> tuple[Comment, str]:
    if not policy.is_id(comment_id):
        raise CommentNotFound("There is no such comment.")
    if lock:
        begin_write()
    row = db.session.execute(
        select(Comment, Thread.site_id).join(Thread).where(Comment.id == comment_id)
    ).first()
    if row is None:
        raise CommentNotFound("There is no such comment.")
    comment, site_id = row
    if not can_moderate(moderator, site_id):
        # The same answer as a missing comment: ids on other sites are not confirmed.
        raise CommentNotFound("There is no such comment.")
    return comment, site_id


def _action_name(status: CommentStatus) -> str:
    return next((name for name, s in ACTIONS.items() if s is status), status.value)


def _histories(comments: list[Comment]) -> dict[tuple[str, str], AuthorHistory]:
    """Approved and rejected counts per (site, author) for the authors on a queue page.

    One grouped query for the whole page, however many authors it shows.
    """
    if not comments:
        return {}
    user_ids = {c.user_id for c in comments if c.user_id}
    emails = {c.guest_email for c in comments if not c.user_id and c.guest_email}
    site_ids = {c.thread.site_id for c in comments}
    key = case(
        (Comment.user_id.is_not(None), literal("user:") + cast(Comment.user_id, String)),
        else_=literal("guest:") + func.coalesce(Comment.guest_email, ""),
    )
    approved = func.sum(case((Comment.status == CommentStatus.APPROVED, 1), else_=0))
    rejected = func.sum(
        case((Comment.status.in_([CommentStatus.REJECTED, CommentStatus.SPAM]), 1), else_=0)
    )
    by_user = Comment.user_id.in_(user_ids) if user_ids else false()
    by_email = (
        and_(Comment.user_id.is_(None), Comment.guest_email.in_(emails)) if emails else false()
    )
    rows = db.session.execute(
        select(Thread.site_id, key, approved, rejected)
        .join(Thread)
        .where(Thread.site_id.in_(site_ids), or_(by_user, by_email))
        .group_by(Thread.site_id, key)
    ).all()
    return {(site, k): AuthorHistory(approved=a or 0, rejected=r or 0) for site, k, a, r in rows}


def history_of(page: QueuePage, comment: Comment) -> AuthorHistory:
    return page.history.get((comment.thread.site_id, author_key(comment)), AuthorHistory())


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def audit_entry(
    site_id: str, comment: Comment | None, moderator: Moderator | None, action: str, *, detail: str
) -> None:
    """Log an action another service carries out for a moderator (erasing an author's data),
    in the caller's transaction, like the actions above."""
    _audit(site_id, comment, moderator, action, detail=detail)
