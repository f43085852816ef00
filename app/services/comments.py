"""Posting, editing and deleting comments as their author."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from app.database import writes
from app.domain import names, policy
from app.domain.authors import Author, key_of
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
from app.services import (
    cache,
    likes,
    moderation,
    moderators,
    notifications,
    reply_mail,
    spam,
    subscriptions,
    verified_emails,
)
from app.services.hashing import address_hash
from app.services.threads import adjust_approved_count
from app.services.tokens import comment_id_from_edit_token
from app.services.viewers import Viewer

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


@dataclass(frozen=True)
class CommentDraft:
    """A new comment as the request gave it, before any check."""

    url: object
    body: object
    title: object = ""
    parent_id: object = None
    # A guest answering their own comment while it waits proves it is theirs with its token.
    parent_edit_token: object = None
    idempotency_key: object = None
    # True: mail about every new comment on the page; "replies": only replies to this one.
    notify: object = False
    # True: mail about each approved reply to this comment (README, "Feeds and mail").
    notify_replies: object = False
    notify_email: object = None  # a signed-in reader has no email on file
    remote_addr: str | None = None
    signals: spam.Signals = field(default_factory=spam.Signals)


@dataclass(frozen=True)
class _Checked:
    """A draft past its checks."""

    key: str  # the thread's canonical URL
    title: str
    body: str
    html: str
    parent_id: int | None
    idempotency_key: str | None
    subscriber: tuple[str, str] | None  # (email, scope) when the author asked for mail
    reply_address: str | None  # where replies to this comment are mailed, if asked
    remote_addr: str | None


def preview(body: object) -> str:
    """The HTML a comment with this text would show, by the same checks and renderer as
    posting it; nothing is stored."""
    return render_markdown(policy.clean_body(body))


@writes(commit_on=(PostingRefused,))  # the banned author's comment is kept for moderators
def post_comment(site: Site, author: Author, draft: CommentDraft) -> tuple[Comment, bool]:
    """Store a comment; returns it and whether it is new (False: a retried submit).

    It starts pending unless the site's moderation mode says otherwise.
    """
    checked = _check_draft(site, author, draft)
    # Before the write lock: a spam service may take a moment to answer.
    verdict = spam.assess(_submission(author, checked), draft.signals)

    try:
        thread = _get_or_create_thread(site, checked.key, checked.title)
        earlier = _retried(thread, author, checked)
        if earlier is not None:
            return earlier, False
        _refuse_closed(site, thread)
        _refuse_duplicate(thread, author, checked.body)
        parent = _parent_in_thread(thread, checked.parent_id, author, draft.parent_edit_token)
        addr_hash = address_hash(checked.remote_addr)
        banned = _is_banned(site, author, addr_hash)
        status = CommentStatus.SPAM if banned else _status(site, author, verdict, parent)
        comment = _store(thread, parent, author, checked, status, addr_hash)
        _tell_readers_and_moderators(comment, thread, site, author, checked)
        db.session.flush()  # a raced idempotency key fails here, inside the try
        COMMENTS_POSTED.labels(comment.status.value).inc()
        if banned:
            # Kept for the moderators; the author learns only that it did not work.
            raise PostingRefused("Your comment could not be posted.")
    except IntegrityError:
        # Two submits with one key raced past the check (PostgreSQL): the first one won. The
        # failed INSERT leaves the transaction unusable; the winner is read in a fresh one.
        db.session.rollback()
        earlier = _race_winner(site, author, checked)
        if earlier is None:
            raise
        return earlier, False
    return comment, True


def _check_draft(site: Site, author: Author, draft: CommentDraft) -> _Checked:
    """The draft's fields checked, in the order a form shows their errors."""
    key = policy.thread_key(draft.url, site.origins)
    body = policy.clean_body(draft.body)
    if author.is_guest and names.is_reserved(
        author.name, [site.name, *moderators.names_on_site(site.id)]
    ):
        # Replies by moderators carry the site's name: a guest must not seem to be one.
        raise ValidationError("This name is reserved on this site.", field="name")
    idempotency_key = draft.idempotency_key
    if idempotency_key is not None and (
        not isinstance(idempotency_key, str) or not IDEMPOTENCY_KEY.match(idempotency_key)
    ):
        raise ValidationError("The idempotency key is not valid.", field="idempotency_key")
    parent_id = draft.parent_id
    if parent_id is not None and (not isinstance(parent_id, int) or isinstance(parent_id, bool)):
        raise ValidationError("The parent must be a comment id.", field="parent_id")
    return _Checked(
        key=key,
        title=policy.clean_title(draft.title),
        body=body,
        html=render_markdown(body),
        parent_id=parent_id,
        idempotency_key=idempotency_key,
        subscriber=_subscriber(author, draft.notify, draft.notify_email),
        reply_address=_reply_address(author, draft.notify_replies, draft.notify_email),
        remote_addr=draft.remote_addr,
    )


def _submission(author: Author, checked: _Checked) -> spam.Submission:
    return spam.Submission(
        body=checked.body,
        html=checked.html,
        author_name=author.name,
        author_email=author.email,
        author_url=author.website,
        page_url=checked.key,
        remote_addr=checked.remote_addr,
    )


def _refuse_closed(site: Site, thread: Thread) -> None:
    if thread.closed or policy.is_closed(thread.created_at, site.close_after_days, utcnow()):
        raise ThreadClosed("Comments are closed on this page.")


def _is_banned(site: Site, author: Author, addr_hash: str | None) -> bool:
    return moderation.is_banned(
        site.id, user_id=author.user_id, email=author.email, address_hash=addr_hash
    )


def _status(
    site: Site, author: Author, verdict: spam.Verdict, parent: Comment | None
) -> CommentStatus:
    """The spam checks' word if they have one, else the site's moderation mode; an answer to
    a comment that waits for a moderator waits with it."""
    if verdict.status is not None:
        return verdict.status
    if parent is not None and parent.status is CommentStatus.PENDING:
        return CommentStatus.PENDING
    return policy.initial_status(
        site.moderation, author_has_approved=_author_has_approved(site, author)
    )


def _store(
    thread: Thread,
    parent: Comment | None,
    author: Author,
    checked: _Checked,
    status: CommentStatus,
    addr_hash: str | None,
) -> Comment:
    comment = Comment(
        thread_id=thread.id,
        parent_id=parent.id if parent else None,
        **author.columns(),
        body=checked.body,
        html=checked.html,
        status=status,
        remote_addr_hash=addr_hash,
        idempotency_key=checked.idempotency_key,
    )
    db.session.add(comment)
    db.session.flush()
    comment.root_id = parent.root_id if parent else comment.id
    return comment


def _tell_readers_and_moderators(
    comment: Comment,
    thread: Thread,
    site: Site,
    author: Author,
    checked: _Checked,
) -> None:
    """Cached pages, counts, subscribers' and moderators' mail, and the author's own
    subscriptions: all in the comment's transaction."""
    cache.touch_thread(site.id, thread.id)
    if comment.status is CommentStatus.APPROVED:
        adjust_approved_count(thread.id, +1)
        subscriptions.comment_approved(comment, thread, site)
    elif comment.status is CommentStatus.PENDING:
        notifications.comment_waiting(comment, thread, site)
    if comment.status is CommentStatus.SPAM:
        return  # no subscription: a bot must not make us mail confirmations to strangers
    subscriber, reply_address = checked.subscriber, checked.reply_address
    page = None
    if subscriber:
        both = reply_address == subscriber[0]
        page = subscriptions.subscribe(
            site, thread, *subscriber, user_id=author.user_id, replies=both
        )
    if reply_address:
        # One confirmation mail for both boxes: the page's, when it waits for one.
        covered = page is not None and page.email == reply_address and page.confirmed_at is None
        reply_mail.opt_in(
            site, thread, comment, reply_address, user_id=author.user_id, covered=covered
        )


def _race_winner(site: Site, author: Author, checked: _Checked) -> Comment | None:
    """The comment that won a race of two submits with one idempotency key, if that was it."""
    if checked.idempotency_key is None:
        return None
    thread = db.session.execute(
        select(Thread).where(Thread.site_id == site.id, Thread.url == checked.key)
    ).scalar_one()
    return _retried(thread, author, checked)


@writes
def edit_comment(site: Site, viewer: Viewer, comment_id: object, body: object) -> Comment:
    """The author's edit, allowed for COMMENT_EDIT_SECONDS after posting."""
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
    return comment


@writes
def delete_comment(site: Site, viewer: Viewer, comment_id: object) -> Comment:
    """The author takes their comment back: its text goes; replies keep a placeholder."""
    comment = _own_comment(site, viewer, comment_id)
    if comment.status is CommentStatus.DELETED:
        return comment
    was_approved = comment.status is CommentStatus.APPROVED
    comment.status = CommentStatus.DELETED
    comment.body = ""
    comment.html = ""
    likes.forget_likes_of_comments([comment.id])
    if was_approved:
        adjust_approved_count(comment.thread_id, -1)
    cache.touch_thread(site.id, comment.thread_id)
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


def _retried(thread: Thread, author: Author, checked: _Checked) -> Comment | None:
    """The comment a retried submit already stored, found by its idempotency key."""
    if checked.idempotency_key is None:
        return None
    earlier = db.session.scalar(
        select(Comment).where(
            Comment.thread_id == thread.id, Comment.idempotency_key == checked.idempotency_key
        )
    )
    if earlier is None:
        return None
    same = (
        earlier.parent_id == checked.parent_id
        and key_of(earlier) == author.key
        and earlier.body == checked.body
    )
    if not same:
        raise IdempotencyConflict("This idempotency key was already used for another comment.")
    return earlier


def _subscriber(author: Author, notify: object, notify_email: object) -> tuple[str, str] | None:
    """(email, scope) when the author asked to be told of new comments, else None.

    `notify` is true (every new comment on the page) or "replies" (replies to them only).
    A signed-in reader has no email on file, so they give one with the request.
    """
    if not notify:
        return None
    scope = "replies" if notify == "replies" else "thread"
    if author.email is not None:
        return author.email, scope
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


def _reply_address(author: Author, notify_replies: object, notify_email: object) -> str | None:
    """Where to mail replies to the new comment, when its author asked.

    A guest's own address; a signed-in reader's `notify_email`, or without one the address
    their account already had confirmed.
    """
    if notify_replies is None or notify_replies is False:
        return None
    if notify_replies is not True:
        raise ValidationError("notify_replies must be true or false.", field="notify_replies")
    if author.email is not None:
        return author.email
    if isinstance(notify_email, str) and notify_email.strip() and author.is_signed_in:
        try:
            return policy.clean_email(notify_email)
        except ValidationError:
            raise ValidationError(
                "That email address does not look right.", field="notify_email"
            ) from None
    known = reply_mail.account_address(author.user_id) if author.user_id is not None else None
    if known is None:
        raise ValidationError(
            "Give an email address to be notified of replies.",
            field="notify_email" if author.is_signed_in else "email",
        )
    return known


def _written_by(author: Author) -> ColumnElement[bool]:
    """Comments by this author: by their account, or a guest's by the same email."""
    if author.user_id is not None:
        return Comment.user_id == author.user_id
    return Comment.user_id.is_(None) & (Comment.guest_email == author.email)


def _refuse_duplicate(thread: Thread, author: Author, body: str) -> None:
    """The same text twice from one author on one page is a slip or a flood, never news."""
    if db.session.scalar(
        select(
            exists().where(
                Comment.thread_id == thread.id,
                _written_by(author),
                Comment.body == body,
                Comment.status != CommentStatus.DELETED,
            )
        )
    ):
        raise DuplicateComment("You already posted this comment.", field="body")


def _parent_in_thread(
    thread: Thread, parent_id: int | None, author: Author, parent_token: object
) -> Comment | None:
    """The comment replied to: on this page, and one the author may see (approved, or their
    own while it waits: by account, or for a guest by the comment's edit token)."""
    if parent_id is None:
        return None
    parent = db.session.get(Comment, parent_id) if policy.is_id(parent_id) else None
    visible = parent is not None and (
        parent.status is CommentStatus.APPROVED
        or (
            parent.status is CommentStatus.PENDING
            and (author.owns(parent) or comment_id_from_edit_token(parent_token) == parent.id)
        )
    )
    if parent is None or not visible or parent.thread_id != thread.id:
        raise ParentNotFound(
            "The comment you are replying to is not on this page.", field="parent_id"
        )
    return parent


def _author_has_approved(site: Site, author: Author) -> bool:
    """Whether the author is someone known with an approved comment on the site (for
    `first-time`).

    Only a signed-in reader is known: a provider's account, or an address proven by signing
    in with it, whose verified guest comments count too. A guest is never recognised by the
    name and email they typed, which anyone can type.
    """
    if not author.is_signed_in or author.user_id is None:
        return False
    written = _written_by(author)
    emails = verified_emails.addresses_of(author.user_id) if author.provider == "email" else ()
    if emails:
        written = written | verified_emails.verified_guest_comments(emails)
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    written,
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
