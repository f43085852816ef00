"""Readers reporting comments to the site's moderators.

A reader reports a comment once (signed in: per account; a guest: per browser, with the keyed
address as a second guard, as for likes). Each report counts on the comment; at the site's
threshold a published comment waits for a moderator again, recorded in the audit log as
`reported`, and a moderator's decision stands from then on: approving it again keeps it up
whatever further reports say, since they are still counted and shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete, func, select, update

from app.database import writes
from app.domain import holds
from app.domain.errors import CommentNotFound, Forbidden, OwnComment
from app.domain.holds import Hold
from app.domain.reports import checked_note, checked_reason
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import AuditEntry, Comment, CommentReport, Site, Thread
from app.models.types import utcnow
from app.services import notifications, webhooks
from app.services.hashing import address_hash
from app.services.likes import locked_comment, user_voter, voter_of
from app.services.moderation.commands import move_comment
from app.services.moderation.queue import report_reasons
from app.services.viewers import Viewer

TAKEN_DOWN = "reported"  # the audit log's action when reports take a comment down


class ReportLimit(Forbidden):
    """More guests' reports of one comment from one address than the site counts."""

    code = "report_limit"


@dataclass(frozen=True)
class ReportState:
    reported: bool
    # The comment went back to the moderators with this report.
    taken_down: bool = False


@writes
def report(
    site: Site,
    viewer: Viewer,
    comment_id: object,
    *,
    reason: object,
    note: object = None,
    browser: object,
    remote_addr: str | None,
) -> ReportState:
    """Report a comment; reporting it again changes nothing."""
    reason_value = checked_reason(reason)
    note_value = checked_note(note)
    reporter = voter_of(viewer, browser)
    comment = _reportable(site, viewer, comment_id)
    already = db.session.scalar(
        select(CommentReport.id).where(
            CommentReport.comment_id == comment.id, CommentReport.reporter == reporter
        )
    )
    if already is not None:
        return ReportState(reported=True)
    addr = None if viewer.user is not None else address_hash(remote_addr)
    if addr is not None and _reports_from(comment.id, addr) >= _cap():
        raise ReportLimit("This comment was already reported from your network.")
    db.session.add(
        CommentReport(
            comment_id=comment.id,
            reporter=reporter,
            reason=reason_value,
            note=note_value,
            address_hash=addr,
            created_at=utcnow(),
        )
    )
    count = db.session.scalar(
        update(Comment)
        .where(Comment.id == comment.id)
        .values(report_count=Comment.report_count + 1, open_reports=Comment.open_reports + 1)
        .returning(Comment.report_count)
        .execution_options(synchronize_session=False)
    )
    threshold = site.report_threshold
    if (
        threshold
        and (count or 0) >= threshold
        and comment.status is CommentStatus.APPROVED
        and not _taken_down_before(site.id, comment.id)
    ):
        comment.holds = holds.added(comment.holds, Hold(holds.REPORTED, str(count)))
        move_comment(comment, CommentStatus.PENDING, site.id, None, action=TAKEN_DOWN)
        thread = db.session.get_one(Thread, comment.thread_id)
        notifications.comment_waiting(
            comment, thread, site, reports=report_reasons([comment.id]).get(comment.id, {})
        )
        webhooks.comment_event(comment, thread, site, webhooks.PENDING)
        return ReportState(reported=True, taken_down=True)
    return ReportState(reported=True)


def forget_reports_of_user(user_id: int) -> None:
    """A deleted account's reports go with it, notes included, inside the caller's write
    transaction; the comments keep their counts, since the reports were made."""
    db.session.execute(
        delete(CommentReport)
        .where(CommentReport.reporter == user_voter(user_id))
        .execution_options(synchronize_session=False)
    )


def _reportable(site: Site, viewer: Viewer, comment_id: object) -> Comment:
    """The comment, if readers can see it on this site, locked as for likes."""
    comment = locked_comment(site, comment_id)
    if comment is None or comment.status is not CommentStatus.APPROVED:
        # What readers cannot see, they cannot report: not found.
        raise CommentNotFound("There is no such comment.")
    if viewer.owns(comment):
        raise OwnComment("You cannot report your own comment.")
    return comment


def _taken_down_before(site_id: str, comment_id: int) -> bool:
    """Whether reports took it down once already: published now, a moderator approved it
    again since, and their decision stands."""
    return (
        db.session.scalar(
            select(AuditEntry.id).where(
                AuditEntry.site_id == site_id,
                AuditEntry.comment_id == comment_id,
                AuditEntry.action == TAKEN_DOWN,
            )
        )
        is not None
    )


def _reports_from(comment_id: int, addr: str) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(CommentReport)
            .where(CommentReport.comment_id == comment_id, CommentReport.address_hash == addr)
        )
        or 0
    )


def _cap() -> int:
    return int(current_app.config["REPORT_GUESTS_PER_ADDRESS"])
