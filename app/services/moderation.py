"""Moderators changing what readers see."""

from __future__ import annotations

from app.database import begin_write
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import Comment
from app.services.threads import adjust_approved_count


def set_status(comment: Comment, status: CommentStatus) -> Comment:
    """Move a comment to `status`, keeping the thread's approved count in step."""
    begin_write()
    db.session.refresh(comment)
    before = comment.status
    if before is status:
        return comment
    comment.status = status
    delta = (status is CommentStatus.APPROVED) - (before is CommentStatus.APPROVED)
    if delta:
        adjust_approved_count(comment.thread_id, delta)
    db.session.commit()
    return comment
