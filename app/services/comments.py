"""Posting, editing and deleting comments as their author."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import cast

from flask import current_app
from sqlalchemy import ColumnElement, Select, Table, bindparam, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from app.database import attach_as_loaded, writes
from app.domain import holds, names, policy, words
from app.domain.authors import Author, key_of
from app.domain.errors import (
    CommentNotFound,
    DuplicateComment,
    EditWindowClosed,
    Forbidden,
    IdempotencyConflict,
    ParentNotFound,
    PostingRefused,
    SiteNotFound,
    ThreadClosed,
    ValidationError,
)
from app.domain.holds import Hold
from app.domain.learning import CATCH_AT, HOLD_AT, Assessment
from app.domain.markdown import render_markdown
from app.domain.states import CommentStatus, ModerationMode
from app.extensions import db
from app.metrics import COMMENTS_POSTED
from app.models import Comment, Site, SiteWebhook, Subscription, Thread
from app.models.types import utcnow
from app.services import (
    cache,
    comment_rows,
    learning,
    likes,
    moderation,
    notifications,
    posting_facts,
    reply_mail,
    spam,
    subscriptions,
    verified_emails,
    webhooks,
)
from app.services.hashing import address_hash
from app.services.moderation.commands import move_comment
from app.services.threads import adjust_approved_count
from app.services.tokens import comment_id_from_edit_token
from app.services.viewers import Viewer

HELD_AFTER_EDIT = "held-after-edit"  # the audit log's action: an edit brought in a held word
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


def post_comment(site: Site, author: Author, draft: CommentDraft) -> tuple[Comment, bool]:
    """Store a comment; returns it and whether it is new (False: a retried submit).

    It starts pending unless the site's moderation mode says otherwise. All that can be
    settled without the write lock is settled first: the fields, the Markdown, the spam
    checks (a spam service may take a moment to answer), the learning filter, bans and word
    lists. Every writer waits while one holds the lock, so it is held only to store.
    """
    facts = posting_facts.of_site(site.id)
    checked = _check_draft(site, author, draft, facts.moderator_names)
    verdict = spam.assess(_submission(author, checked), draft.signals)
    learned = (
        learning.assess(
            site,
            body=checked.body,
            html=checked.html,
            website=author.website,
            signed_in=author.is_signed_in,
        )
        if facts.filter_ready
        else None
    )
    addr_hash = address_hash(checked.remote_addr)
    ban = _ban_on(site, author, addr_hash) if facts.has_bans else None
    early = _decide_early(site, author, checked, verdict, learned, addr_hash, ban)
    page = _page(site, checked)
    known = page.thread
    # Read now, not under the lock; a webhook set this very moment misses this comment, as
    # it would have had the comment come a moment earlier.
    hook = db.session.get(SiteWebhook, site.id) if facts.has_webhook else None
    if page.retried_id is not None and known is not None:
        # A retried submit is answered without the lock. Two racing ones both pass here: the
        # second's INSERT then fails on the key's unique index, and _post_checked answers
        # it with the first one's comment.
        earlier = _retried(known, author, checked)
        if earlier is not None:
            return earlier, False
    # So are the page's subscribers, for the same reason as the webhook; a new page has none.
    subscribers = (
        subscriptions.confirmed_subscribers(known.id)
        if known is not None and page.has_subscribers
        else ()
    )
    early = replace(early, hook=hook, subscribers=subscribers)
    return _post_checked(site, author, checked, draft, early, known)


@dataclass(frozen=True)
class _Page:
    """The page's thread as a post finds it before the lock (None: no comment yet), with
    whether this submit's idempotency key is already stored there and whether anyone
    subscribed: one query, where each would otherwise cost one of its own."""

    thread: Thread | None
    retried_id: int | None
    has_subscribers: bool


_THREAD_COLUMNS = tuple(column.key for column in cast(Table, Thread.__table__).columns)
# Built once: making a statement costs more in Python than SQLite takes to run it. A submit
# without a key matches no row (`= NULL` is never true).
_PAGE = select(
    *(getattr(Thread, key) for key in _THREAD_COLUMNS),
    select(Comment.id)
    .where(Comment.thread_id == Thread.id, Comment.idempotency_key == bindparam("key"))
    .scalar_subquery(),
    subscriptions.has_confirmed_subscribers(Thread.id),
).where(Thread.site_id == bindparam("site_id"), Thread.url == bindparam("url"))


def _page(site: Site, checked: _Checked) -> _Page:
    # On the connection, the thread attached as the ORM would load it: cheaper, the same row.
    row = (
        db.session.connection()
        .execute(_PAGE, {"site_id": site.id, "url": checked.key, "key": checked.idempotency_key})
        .first()
    )
    if row is None:
        return _Page(None, None, False)
    *columns, retried_id, subscribed = row
    thread = attach_as_loaded(Thread, dict(zip(_THREAD_COLUMNS, columns, strict=True)))
    return _Page(thread, retried_id, bool(subscribed))


@dataclass(frozen=True)
class _Early:
    """What decides a new comment's fate before the write lock: a verdict that sends it to
    spam whatever else holds, or the holds found so far, and the learning filter's score."""

    spam: Hold | None
    why: list[Hold]
    learned: Assessment | None
    addr_hash: str | None
    hook: SiteWebhook | None = None
    subscribers: Sequence[Subscription] = ()


@writes(commit_on=(PostingRefused,), keep_loaded=True)  # a banned author's comment is kept
def _post_checked(
    site: Site,
    author: Author,
    checked: _Checked,
    draft: CommentDraft,
    early: _Early,
    known: Thread | None,
) -> tuple[Comment, bool]:
    """The checked draft stored, under the write lock; `known`: the page's thread as read
    before it, if it had one (a thread is never deleted on its own)."""
    site_id = site.id  # for after a rollback, which expires the site's row
    try:
        thread = known or _get_or_create_thread(site, checked.key, checked.title)
        if checked.title and not thread.title:
            thread.title = checked.title
        _refuse_closed(site, thread)
        earlier = _refuse_duplicate(thread, author, checked)
        if earlier is not None:
            return earlier, False
        parent = _parent_in_thread(thread, checked.parent_id, author, draft.parent_edit_token)
        status, why = _decide(site, author, early, parent)
        comment = _store(thread, parent, author, checked, status, early, why)
        _tell_readers_and_moderators(comment, thread, site, author, checked, early)
        db.session.flush()  # whatever else it wrote, inside the try too
        COMMENTS_POSTED.labels(comment.status.value).inc()
        if _refused(why):
            # Kept for the moderators; the author learns only that it did not work.
            raise PostingRefused(_REFUSED_ANSWER)
    except IntegrityError:
        # Two submits with one key raced past the check (PostgreSQL): the first one won. The
        # failed INSERT leaves the transaction unusable; the winner is read in a fresh one.
        db.session.rollback()
        if not db.session.scalar(select(exists().where(Site.id == site_id))):
            # Deleted a moment ago by another worker, whose news of it had not come yet.
            raise SiteNotFound("There is no site with that id.") from None
        earlier = _race_winner(site, author, checked)
        if earlier is None:
            raise
        return earlier, False
    return comment, True


def _check_draft(
    site: Site, author: Author, draft: CommentDraft, moderator_names: Sequence[str]
) -> _Checked:
    """The draft's fields checked, in the order a form shows their errors."""
    key = policy.thread_key(draft.url, site.origins)
    body = policy.clean_body(draft.body)
    if author.is_guest and names.is_reserved(author.name, [site.name, *moderator_names]):
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


def _ban_on(site: Site, author: Author, addr_hash: str | None) -> moderation.BanKind | None:
    return moderation.ban_on(
        site.id, user_id=author.user_id, email=author.email, address_hash=addr_hash
    )


# What the author is told was refused, though it is kept (as spam) for the moderators.
_REFUSED = (holds.BANNED_AUTHOR, holds.BANNED_WORD)
_REFUSED_ANSWER = "Your comment could not be posted."


def _refused(why: list[Hold]) -> bool:
    return bool(why) and why[0].code in _REFUSED


def _decide_early(
    site: Site,
    author: Author,
    checked: _Checked,
    verdict: spam.Verdict,
    learned: Assessment | None,
    addr_hash: str | None,
    ban: moderation.BanKind | None,
) -> _Early:
    """Where a new comment starts, as far as it is known before the write lock: a ban, the
    spam checks, the site's banned words catch it; its held words and the links hold it."""

    def caught(hold: Hold) -> _Early:
        return _Early(hold, [], learned, addr_hash)

    if ban is moderation.BanKind.BANNED:
        return caught(Hold(holds.BANNED_AUTHOR))
    if ban is moderation.BanKind.SHADOW:
        return caught(Hold(holds.SHADOW_BANNED))
    if verdict.status is CommentStatus.SPAM and verdict.hold is not None:
        return caught(verdict.hold)
    written = _words_of(author, checked.body)
    banned_word = words.find(site.banned_words, written)
    if banned_word is not None:
        return caught(Hold(holds.BANNED_WORD, banned_word))
    filtered = _filter_hold(site, learned)
    sure = learned is not None and learned.score >= CATCH_AT
    if filtered is not None and sure and site.filter_mode == "catch":
        return caught(filtered)
    why = [verdict.hold] if verdict.hold is not None else []
    if filtered is not None:
        why.append(filtered)
    held_word = words.find(site.held_words, written)
    if held_word is not None:
        why.append(Hold(holds.HELD_WORD, held_word))
    return _Early(None, why, learned, addr_hash)


def _decide(
    site: Site, author: Author, early: _Early, parent: Comment | None
) -> tuple[CommentStatus, list[Hold]]:
    """The early decision completed under the write lock: a waiting parent or the moderation
    mode hold it too. An answer to a comment that waits for a moderator waits with it."""
    if early.spam is not None:
        return CommentStatus.SPAM, [early.spam]
    why = list(early.why)
    if parent is not None and parent.status is CommentStatus.PENDING:
        why.append(Hold(holds.PARENT_PENDING))
    # Counting an author's approved comments costs a query: not when something holds it anyway.
    signed_in = author.is_signed_in and author.user_id is not None
    counting = not why and signed_in and site.moderation is ModerationMode.FIRST_TIME
    mode_hold = holds.moderation_hold(
        site.moderation,
        signed_in=signed_in,
        approved=_approved_count(site, author, site.trust_after) if counting else 0,
        trust_after=site.trust_after,
    )
    if mode_hold is not None and (not why or mode_hold.code == holds.MODERATE_ALL):
        why.append(mode_hold)
    return (CommentStatus.PENDING if why else CommentStatus.APPROVED), why


def _filter_hold(site: Site, learned: Assessment | None) -> Hold | None:
    """The learning filter's hold, when its score reaches the threshold and the site lets it
    hold (or catch) comments."""
    if learned is None or learned.score < HOLD_AT or site.filter_mode not in ("hold", "catch"):
        return None
    because = f" ({', '.join(learned.reasons)})" if learned.reasons else ""
    return Hold(holds.FILTER, f"{learned.score:.2f}{because}")


def _words_of(author: Author, body: str) -> str:
    """What the word lists are checked against: a spammer's casino is often in the name."""
    return "\n".join((body, author.name, author.website or ""))


def _store(
    thread: Thread,
    parent: Comment | None,
    author: Author,
    checked: _Checked,
    status: CommentStatus,
    early: _Early,
    why: list[Hold],
) -> Comment:
    learned = early.learned
    comment_id = comment_rows.next_comment_id()
    return comment_rows.insert_comment(
        id=comment_id,
        thread_id=thread.id,
        parent_id=parent.id if parent else None,
        root_id=parent.root_id if parent else comment_id,
        **author.columns(),
        body=checked.body,
        html=checked.html,
        status=status,
        remote_addr_hash=early.addr_hash,
        idempotency_key=checked.idempotency_key,
        holds=holds.to_json(why),
        shadowed=bool(why) and why[0].code == holds.SHADOW_BANNED,
        filter_score=learned.score if learned else None,
        filter_reasons=learned.reasons if learned else None,
        # Published at once, its subscribers hear of it now (_tell_readers_and_moderators).
        subscribers_notified=status is CommentStatus.APPROVED,
    )


def _tell_readers_and_moderators(
    comment: Comment,
    thread: Thread,
    site: Site,
    author: Author,
    checked: _Checked,
    early: _Early,
) -> None:
    """Cached pages, counts, subscribers' and moderators' mail, and the author's own
    subscriptions: all in the comment's transaction."""
    cache.touch_thread(site.id, thread.id)
    if comment.status is CommentStatus.APPROVED:
        subscriptions.published(comment, thread, site, subscribers=early.subscribers)
        adjust_approved_count(thread.id, +1)
        webhooks.comment_event(comment, thread, site, webhooks.APPROVED, early.hook)
    elif comment.status is CommentStatus.PENDING:
        notifications.comment_waiting(comment, thread, site)
        webhooks.comment_event(comment, thread, site, webhooks.PENDING, early.hook)
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
    shadowed = comment.shadowed and comment.status is CommentStatus.SPAM
    if comment.status not in (CommentStatus.PENDING, CommentStatus.APPROVED) and not shadowed:
        raise CommentNotFound("There is no such comment.")
    window = timedelta(seconds=current_app.config["COMMENT_EDIT_SECONDS"])
    if not policy.can_edit(comment.created_at, utcnow(), window):
        raise EditWindowClosed("The time to edit this comment is over.")
    body = policy.clean_body(body)
    written = "\n".join((body, comment.guest_name or "", comment.guest_website or ""))
    if words.find(site.banned_words, written) is not None:
        # As a new comment with the word would be; the published text stays as it was.
        raise PostingRefused("Your change could not be saved.")
    comment.body = body
    comment.html = render_markdown(body)
    comment.edited_at = utcnow()
    cache.touch_thread(site.id, comment.thread_id)
    held_word = words.find(site.held_words, written)
    if held_word is not None:
        # Published or not, it waits for a moderator again, with the word as its reason.
        comment.holds = holds.added(comment.holds, Hold(holds.EDITED, held_word))
        if comment.status is CommentStatus.APPROVED:
            move_comment(comment, CommentStatus.PENDING, site.id, None, action=HELD_AFTER_EDIT)
            thread = db.session.get_one(Thread, comment.thread_id)
            notifications.comment_waiting(comment, thread, site)
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
    return db.session.scalars(
        select(Thread).where(Thread.site_id == site.id, Thread.url == key)
    ).one()


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
    if _refused(holds.from_json(earlier.holds)):
        # A retry learns what the first try did: refused, never "stored, here is its token".
        raise PostingRefused(_REFUSED_ANSWER)
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


# How far back the duplicate check looks: the author's latest comments on the page. A slip
# (the form sent twice) or a flood repeats one of these; reading further would cost every
# post more, the more its author had written there.
DUPLICATE_LOOKBACK = 20
_NOT_DELETED = tuple(status for status in CommentStatus if status is not CommentStatus.DELETED)


def _latest_of(
    written_by: ColumnElement[bool],
) -> Select[str, list[dict[str, str]] | None, str | None]:
    return (
        select(Comment.body, Comment.holds, Comment.idempotency_key)
        .where(
            Comment.thread_id == bindparam("thread_id"),
            written_by,
            # Named, not `!= deleted`: SQLite (without statistics) then reads the author's
            # index on all its columns instead of every comment of the page.
            Comment.status.in_(_NOT_DELETED),
        )
        .order_by(Comment.id.desc())
        .limit(DUPLICATE_LOOKBACK)
    )


# The author's latest comments on a page, by account or as a guest (`_written_by`); built
# once, like _PAGE.
_LATEST_BY_ACCOUNT = _latest_of(Comment.user_id == bindparam("user_id"))
_LATEST_BY_GUEST = _latest_of(
    Comment.user_id.is_(None) & (Comment.guest_email == bindparam("email"))
)


def _refuse_duplicate(thread: Thread, author: Author, checked: _Checked) -> Comment | None:
    """The same text twice from one author on one page is a slip or a flood, never news.
    Unless it is this very submit, retried, that came in while the first was being stored
    (the retry check runs before the lock): then the first one's comment is returned."""
    # On the connection: the ORM's own handling of a select of columns costs more than
    # SQLite running it, and nothing is pending that it would flush first. The bodies are
    # compared here: the latest few rows are read whole either way.
    if author.user_id is not None:
        latest = db.session.connection().execute(
            _LATEST_BY_ACCOUNT, {"thread_id": thread.id, "user_id": author.user_id}
        )
    else:
        latest = db.session.connection().execute(
            _LATEST_BY_GUEST, {"thread_id": thread.id, "email": author.email}
        )
    earlier = next((row for row in latest if row.body == checked.body), None)
    if earlier is None:
        return None
    if checked.idempotency_key is not None and earlier.idempotency_key == checked.idempotency_key:
        return _retried(thread, author, checked)
    if _refused(holds.from_json(earlier.holds)):
        # "Already posted" would tell its author that a refused comment was kept.
        raise PostingRefused(_REFUSED_ANSWER)
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


def _approved_count(site: Site, author: Author, up_to: int) -> int:
    """How many approved comments a signed-in author has on the site, counted up to `up_to`
    (for `first-time`: trust is earned after that many).

    Only a signed-in reader is known: a provider's account, or an address proven by signing
    in with it, whose verified guest comments count too. A guest is never recognised by the
    name and email they typed, which anyone can type.
    """
    if not author.is_signed_in or author.user_id is None:
        return 0
    written = _written_by(author)
    emails = verified_emails.addresses_of(author.user_id) if author.provider == "email" else ()
    if emails:
        written = written | verified_emails.verified_guest_comments(emails)
    approved = (
        select(Comment.id)
        .where(
            written,
            Comment.status == CommentStatus.APPROVED,
            Comment.thread_id.in_(select(Thread.id).where(Thread.site_id == site.id)),
        )
        .limit(up_to)
        .subquery()
    )
    return db.session.scalar(select(func.count()).select_from(approved)) or 0


def _own_comment(site: Site, viewer: Viewer, comment_id: object) -> Comment:
    """The author's comment, read afresh and locked for their write: a moderator moving it
    at the same moment waits, or is waited for (moderated_comment's `lock`)."""
    if not policy.is_id(comment_id):
        raise CommentNotFound("There is no such comment.")
    comment = db.session.get(Comment, comment_id, with_for_update=True, populate_existing=True)
    if comment is None:
        raise CommentNotFound("There is no such comment.")
    thread_site = db.session.scalar(select(Thread.site_id).where(Thread.id == comment.thread_id))
    if thread_site != site.id:
        raise CommentNotFound("There is no such comment.")
    if not viewer.owns(comment):
        raise Forbidden("Only the author can change this comment.")
    return comment
