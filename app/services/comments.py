"""Posting, editing and deleting comments as their author."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import exists, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from app.database import begin_write
from app.domain import names, policy
from app.domain.errors import (
    CommentNotFound,
    DuplicateComment,
    EditWindowClosed,
    Forbidden,
    IdempotencyConflict,
    ParentNotFound,
    PostingRefused,
    ThreadClosed,
    ValidationError,
)
from app.domain.markdown import render_markdown
from app.domain.states import CommentStatus
from app.extensions import db
from app.metrics import COMMENTS_POSTED
from app.models import Comment, Site, Thread
from app.models.types import utcnow
from app.services import cache, moderation, moderators, notifications, spam, subscriptions
from app.services.hashing import address_hash
from app.services.threads import adjust_approved_count
from app.services.viewers import Viewer

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True)
class GuestDetails:
    name: str
    email: str
    website: str | None


def guest_details(name: object, email: object, website: object) -> GuestDetails:
    """Checked guest fields; raises ValidationError naming the first bad field."""
    return GuestDetails(
        name=policy.clean_name(name),
        email=policy.clean_email(email),
        website=policy.clean_website(website),
    )


def post_comment(
    site: Site,
    viewer: Viewer,
    *,
    url: object,
    body: object,
    title: object = "",
    parent_id: object = None,
    guest: GuestDetails | None = None,
    remote_addr: str | None = None,
    idempotency_key: object = None,
    signals: spam.Signals | None = None,
    notify: object = False,
    notify_email: object = None,
) -> tuple[Comment, bool]:
    """Store a comment; returns it and whether it is new (False: a retried submit).

    It starts pending unless the site's moderation mode says otherwise.
    """
    key = policy.thread_key(url, site.origins)
    body = policy.clean_body(body)
    if viewer.user is None and guest is None:
        raise ValidationError("Please give your name and email.", field="name")
    if viewer.user is None and names.is_reserved(
        _given(guest).name, [site.name, *moderators.names_on_site(site.id)]
    ):
        # Replies by moderators carry the site's name: a guest must not seem to be one.
        raise ValidationError("This name is reserved on this site.", field="name")
    if idempotency_key is not None and (
        not isinstance(idempotency_key, str) or not IDEMPOTENCY_KEY.match(idempotency_key)
    ):
        raise ValidationError("The idempotency key is not valid.", field="idempotency_key")
    if parent_id is not None and (not isinstance(parent_id, int) or isinstance(parent_id, bool)):
        raise ValidationError("The parent must be a comment id.", field="parent_id")
    html = render_markdown(body)
    subscriber = _subscriber(viewer, guest, notify, notify_email)
    # Before the write lock: a spam service may take a moment to answer.
    verdict = spam.assess(
        spam.Submission(
            body=body,
            html=html,
            author_name=viewer.user.display_name if viewer.user else _given(guest).name,
            author_email=None if viewer.user else _given(guest).email,
            author_url=None if viewer.user else _given(guest).website,
            page_url=key,
            remote_addr=remote_addr,
        ),
        signals or spam.Signals(),
    )

    begin_write()
    try:
        thread = _get_or_create_thread(site, key, policy.clean_title(title))
        if idempotency_key is not None:
            earlier = _by_idempotency_key(thread, idempotency_key, viewer, guest, body, parent_id)
            if earlier is not None:
                db.session.commit()
                return earlier, False
        if policy.is_closed(thread.created_at, site.close_after_days, utcnow()):
            raise ThreadClosed("Comments are closed on this page.")
        _refuse_duplicate(thread, viewer, guest, body)
        parent = _parent_in_thread(thread, parent_id, viewer) if parent_id is not None else None
        addr_hash = address_hash(remote_addr)
        banned = moderation.is_banned(
            site.id,
            user_id=viewer.user.id if viewer.user else None,
            email=None if viewer.user else _given(guest).email,
            address_hash=addr_hash,
        )
        comment = Comment(
            thread_id=thread.id,
            parent_id=parent.id if parent else None,
            user_id=viewer.user.id if viewer.user else None,
            provider=viewer.provider if viewer.user else None,
            guest_name=None if viewer.user else _given(guest).name,
            guest_email=None if viewer.user else _given(guest).email,
            guest_website=None if viewer.user else _given(guest).website,
            body=body,
            html=html,
            status=CommentStatus.SPAM
            if banned
            else verdict.status
            or policy.initial_status(
                site.moderation,
                author_has_approved=_author_has_approved(site, viewer, guest),
            ),
            remote_addr_hash=addr_hash,
            idempotency_key=idempotency_key,
        )
        db.session.add(comment)
        db.session.flush()
        comment.root_id = parent.root_id if parent else comment.id
        cache.touch_thread(site.id, thread.id)
        if comment.status is CommentStatus.APPROVED:
            adjust_approved_count(thread.id, +1)
            subscriptions.comment_approved(comment, thread, site)
        elif comment.status is CommentStatus.PENDING:
            notifications.comment_waiting(comment, thread, site)
        if subscriber and comment.status is not CommentStatus.SPAM:
            # Never for spam: a bot must not make us mail confirmations to strangers.
            subscriptions.subscribe(
                site, thread, *subscriber, user_id=viewer.user.id if viewer.user else None
            )
        db.session.commit()
        COMMENTS_POSTED.labels(comment.status.value).inc()
        if banned:
            # Kept for the moderators; the author learns only that it did not work.
            raise PostingRefused("Your comment could not be posted.")
    except IntegrityError:
        # Two submits with one key raced past the check (PostgreSQL): the first one won.
        db.session.rollback()
        if idempotency_key is None:
            raise
        thread = db.session.execute(
            select(Thread).where(Thread.site_id == site.id, Thread.url == key)
        ).scalar_one()
        earlier = _by_idempotency_key(thread, idempotency_key, viewer, guest, body, parent_id)
        if earlier is None:
            raise
        return earlier, False
    return comment, True


def edit_comment(site: Site, viewer: Viewer, comment_id: object, body: object) -> Comment:
    """The author's edit, allowed for COMMENT_EDIT_SECONDS after posting."""
    begin_write()
    comment = _own_comment(site, viewer, comment_id)
    if comment.status not in (CommentStatus.PENDING, CommentStatus.APPROVED):
        raise CommentNotFound("There is no such comment.")
    window = timedelta(seconds=current_app.config["COMMENT_EDIT_SECONDS"])
    if not policy.can_edit(comment.created_at, utcnow(), window):
        raise EditWindowClosed("The time to edit this comment is over.")
    body = policy.clean_body(body)
    comment.body = body
    comment.html = render_markdown(body)
    comment.edited_at = utcnow()
    cache.touch_thread(site.id, comment.thread_id)
    db.session.commit()
    return comment


def delete_comment(site: Site, viewer: Viewer, comment_id: object) -> Comment:
    """The author takes their comment back: its text goes; replies keep a placeholder."""
    begin_write()
    comment = _own_comment(site, viewer, comment_id)
    if comment.status is CommentStatus.DELETED:
        return comment
    was_approved = comment.status is CommentStatus.APPROVED
    comment.status = CommentStatus.DELETED
    comment.body = ""
    comment.html = ""
    if was_approved:
        adjust_approved_count(comment.thread_id, -1)
    cache.touch_thread(site.id, comment.thread_id)
    db.session.commit()
    return comment


def _get_or_create_thread(site: Site, key: str, title: str) -> Thread:
    """Race-safe: concurrent first comments on a page all end up in one thread."""
    dialect = db.session.get_bind().dialect.name
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    db.session.execute(
        insert(Thread)
        .values(site_id=site.id, url=key, title=title, approved_count=0, created_at=utcnow())
        # Both dialects' Insert have it; the checker sees only their common base.
        .on_conflict_do_nothing(index_elements=["site_id", "url"])  # type: ignore[attr-defined]
    )
    thread = db.session.scalars(
        select(Thread).where(Thread.site_id == site.id, Thread.url == key)
    ).one()
    if title and not thread.title:
        thread.title = title
    return thread


def _by_idempotency_key(
    thread: Thread | None,
    key: str,
    viewer: Viewer,
    guest: GuestDetails | None,
    body: str,
    parent_id: object,
) -> Comment | None:
    if thread is None:
        return None
    earlier = db.session.scalar(
        select(Comment).where(Comment.thread_id == thread.id, Comment.idempotency_key == key)
    )
    if earlier is None:
        return None
    if earlier.parent_id != parent_id:
        raise IdempotencyConflict("This idempotency key was already used for another comment.")
    same_author = (
        earlier.user_id == viewer.user.id
        if viewer.user
        else guest is not None and earlier.user_id is None and earlier.guest_email == guest.email
    )
    if not same_author or earlier.body != body:
        raise IdempotencyConflict("This idempotency key was already used for another comment.")
    return earlier


def _subscriber(
    viewer: Viewer, guest: GuestDetails | None, notify: object, notify_email: object
) -> tuple[str, str] | None:
    """(email, scope) when the author asked to be told of new comments, else None.

    `notify` is true (every new comment on the page) or "replies" (replies to them only).
    A signed-in reader has no email on file, so they give one with the request.
    """
    if not notify:
        return None
    scope = "replies" if notify == "replies" else "thread"
    if viewer.user is None and guest is not None:
        return guest.email, scope
    if not isinstance(notify_email, str) or not notify_email.strip():
        raise ValidationError(
            "Give an email address to be notified of new comments.", field="notify_email"
        )
    try:
        return policy.clean_email(notify_email), scope
    except ValidationError:
        raise ValidationError(
            "That email address does not look right.", field="notify_email"
        ) from None


def _given(guest: GuestDetails | None) -> GuestDetails:
    """A guest's details, read only for guests: whose details post_comment requires."""
    if guest is None:
        raise ValidationError("Please give your name and email.", field="name")
    return guest


def _refuse_duplicate(
    thread: Thread, viewer: Viewer, guest: GuestDetails | None, body: str
) -> None:
    """The same text twice from one author on one page is a slip or a flood, never news."""
    author = (
        Comment.user_id == viewer.user.id
        if viewer.user
        else (Comment.user_id.is_(None)) & (Comment.guest_email == _given(guest).email)
    )
    if db.session.scalar(
        select(
            exists().where(
                Comment.thread_id == thread.id,
                author,
                Comment.body == body,
                Comment.status != CommentStatus.DELETED,
            )
        )
    ):
        raise DuplicateComment("You already posted this comment.", field="body")


def _parent_in_thread(thread: Thread, parent_id: int, viewer: Viewer) -> Comment:
    parent = db.session.get(Comment, parent_id) if policy.is_id(parent_id) else None
    if parent is None or parent.thread_id != thread.id or not viewer.can_see(parent):
        raise ParentNotFound(
            "The comment you are replying to is not on this page.", field="parent_id"
        )
    return parent


def _author_has_approved(site: Site, viewer: Viewer, guest: GuestDetails | None) -> bool:
    """Whether the author already has an approved comment on the site (for `first-time`).

    Guests are recognised like WordPress does, by the same name and email.
    """
    if viewer.user is not None:
        author = Comment.user_id == viewer.user.id
    elif guest is not None:
        author = (Comment.guest_email == guest.email) & (Comment.guest_name == guest.name)
    else:
        return False
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    author,
                    Comment.status == CommentStatus.APPROVED,
                    Comment.thread_id.in_(select(Thread.id).where(Thread.site_id == site.id)),
                )
            )
        )
    )


def _own_comment(site: Site, viewer: Viewer, comment_id: object) -> Comment:
    if not policy.is_id(comment_id):
        raise CommentNotFound("There is no such comment.")
    comment = db.session.get(Comment, comment_id)
    if comment is None:
        raise CommentNotFound("There is no such comment.")
    thread_site = db.session.scalar(select(Thread.site_id).where(Thread.id == comment.thread_id))
    if thread_site != site.id:
        raise CommentNotFound("There is no such comment.")
    if not viewer.owns(comment):
        raise Forbidden("Only the author can change this comment.")
    return comment
