"""The audit log: every moderator action, written in the action's own transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select

from app.domain.roles import SiteAction
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import (
    AuditEntry,
    Comment,
    Moderator,
)
from app.services.moderation.permissions import moderated_comment, require_owner


def record_action(
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
            **audit_row(
                site_id, comment, moderator, action, before=before, after=after, detail=detail
            )
        )
    )


def audit_row(
    site_id: str,
    comment: Comment | None,
    moderator: Moderator | None,
    action: str,
    *,
    before: CommentStatus | None = None,
    after: CommentStatus | None = None,
    detail: str = "",
) -> dict[str, Any]:
    """One entry's columns, for `record_action` or, many of them, `record_actions`."""
    return {
        "site_id": site_id,
        "comment_id": comment.id if comment is not None else None,
        "moderator_id": moderator.id if moderator else None,
        "moderator_email": moderator.email if moderator else "",
        "action": action,
        "before": before.value if before else None,
        "after": after.value if after else None,
        "detail": detail[:500],
    }


def record_actions(rows: list[dict[str, Any]]) -> None:
    """Many entries (`audit_row`) in one INSERT: a bulk action's, in its transaction."""
    if rows:
        db.session.execute(insert(AuditEntry), rows)


def audit_entry(
    site_id: str, comment: Comment | None, moderator: Moderator | None, action: str, *, detail: str
) -> None:
    """Log an action another service carries out for a moderator (erasing an author's data),
    in the caller's transaction, like the actions above."""
    record_action(site_id, comment, moderator, action, detail=detail)


def audit_for_comment(moderator: Moderator, comment_id: int) -> list[AuditEntry]:
    _, site_id = moderated_comment(moderator, comment_id)
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.comment_id == comment_id, AuditEntry.site_id == site_id)
            .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        )
    )


def audit_for_site(moderator: Moderator, site_id: str, *, limit: int = 200) -> list[AuditEntry]:
    """The site's log, for its owners: it names every moderator and what each did."""
    require_owner(moderator, site_id, SiteAction.AUDIT)
    return list(
        db.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.site_id == site_id)
            .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
    )
