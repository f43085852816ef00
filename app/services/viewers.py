"""Who is asking: a signed-in reader, a guest proving authorship with edit tokens, or nobody."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from app.domain.states import CommentStatus
from app.models import Comment, User


@dataclass(frozen=True)
class Viewer:
    user: User | None = None
    provider: str | None = None  # which provider the signed-in reader used on this site
    # Comments whose guest edit token the caller presented.
    comment_ids: frozenset[int] = field(default_factory=frozenset)
    # The addresses a reader signed in by email proved: their verified guest comments are
    # theirs too (app/services/verified_emails.py).
    emails: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_anonymous(self) -> bool:
        """Sees exactly what every other guest sees."""
        return self.user is None and not self.comment_ids

    def holding(self, comment_id: int) -> Viewer:
        """This viewer with the edit token of a comment just handed to them."""
        return replace(self, comment_ids=self.comment_ids | {comment_id})

    def owns(self, comment: Comment) -> bool:
        if self.user is not None and comment.user_id == self.user.id:
            return True
        if self.owns_as_guest(comment):
            return True
        return comment.id in self.comment_ids

    def owns_as_guest(self, comment: Comment) -> bool:
        """A guest's comment by an address this reader proved, once it was verified."""
        return (
            comment.email_verified
            and comment.user_id is None
            and comment.moderator_id is None
            and comment.guest_email in self.emails
        )

    def can_see(self, comment: Comment) -> bool:
        """Approved comments are public; a pending one only reaches its author, and so does
        one a shadow ban caught (to them it looks published)."""
        if comment.status is CommentStatus.APPROVED:
            return True
        held = comment.status is CommentStatus.PENDING or (
            comment.shadowed and comment.status is CommentStatus.SPAM
        )
        return held and self.owns(comment)
