"""Bringing comments in from elsewhere: every format's parser yields `ImportedThread`s, and
`import_threads` stores them in one transaction (all or nothing), skipping what an earlier
run already brought in, so running an import twice adds nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from markdownify import markdownify
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.database import writes
from app.domain import policy
from app.domain.errors import ImportFormatError, UrlNotAllowed, ValidationError
from app.domain.json_input import is_storable_text
from app.domain.markdown import render_markdown, sanitize_html
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import Comment, Site, Thread
from app.services import cache
from app.services.hashing import address_hash
from app.services.threads import adjust_approved_count


@dataclass
class ImportedComment:
    key: str  # unique within the source, e.g. "wordpress:1234"
    parent_key: str | None
    name: str
    body: str
    created_at: datetime  # aware, UTC
    status: CommentStatus = CommentStatus.APPROVED
    email: str | None = None
    website: str | None = None
    body_is_html: bool = False  # WordPress and Disqus keep HTML, Afterword and Isso Markdown
    edited_at: datetime | None = None
    remote_addr: str | None = None  # never stored as is; see services.hashing


@dataclass
class ImportedThread:
    url: str
    title: str = ""
    created_at: datetime | None = None
    comments: list[ImportedComment] = field(default_factory=list)


@dataclass
class ImportSummary:
    threads_created: int = 0
    comments_added: int = 0
    comments_skipped: int = 0  # already there from an earlier run
    by_status: dict[str, int] = field(default_factory=dict)


@writes
def import_threads(
    site: Site,
    threads: Iterable[ImportedThread],
    *,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Store the threads' comments on `site`; raises before committing anything if one fails.

    Replies may arrive before their parents (some exports are not in order); a reply whose
    parent is missing from the file becomes a top-level comment rather than being dropped.
    """
    summary = ImportSummary()
    for imported in threads:
        _import_thread(site, imported, summary)
        if progress:
            progress(len(imported.comments))
    return summary


def _new_thread(site: Site, key: str, imported: ImportedThread) -> tuple[Thread, bool]:
    """The page's thread, created now; or, when a reader's first comment (or another import)
    created it meanwhile, that one (only PostgreSQL lets two writers get this far)."""
    thread = Thread(
        site_id=site.id,
        url=key,
        title=policy.clean_title(imported.title),
        approved_count=0,
        **({"created_at": imported.created_at} if imported.created_at else {}),
    )
    try:
        with db.session.begin_nested():
            db.session.add(thread)
    except IntegrityError:
        found = db.session.scalars(
            select(Thread).where(Thread.site_id == site.id, Thread.url == key)
        ).one()
        return found, False
    return thread, True


def _import_thread(site: Site, imported: ImportedThread, summary: ImportSummary) -> None:
    _check_storable(f"the thread {imported.url!r}", url=imported.url, title=imported.title)
    try:
        key = policy.thread_key(imported.url, site.origins)
    except (ValidationError, UrlNotAllowed):
        raise ImportFormatError(
            f"{imported.url!r} is not on one of the site's origins ({', '.join(site.origins)}); "
            "add its origin first (dashboard settings)."
        ) from None
    thread = db.session.scalar(select(Thread).where(Thread.site_id == site.id, Thread.url == key))
    if thread is None:
        thread, created = _new_thread(site, key, imported)
        summary.threads_created += created
    existing = dict(
        db.session.execute(
            select(Comment.import_key, Comment).where(
                Comment.thread_id == thread.id, Comment.import_key.is_not(None)
            )
        ).all()
    )
    pending = {c.key: c for c in imported.comments}
    # A key twice in one file: the first one counts, the others are skipped (and said so).
    summary.comments_skipped += len(imported.comments) - len(pending)
    added = approved = 0

    def store(item: ImportedComment, trail: tuple[str, ...] = ()) -> Comment | None:
        nonlocal added, approved
        if item.key in existing:
            return existing[item.key]
        if item.key in trail:  # a parent loop in a broken file: cut it here
            return None
        parent = None
        if item.parent_key and item.parent_key in pending:
            parent = store(pending[item.parent_key], (*trail, item.key))
        elif item.parent_key and item.parent_key in existing:
            parent = existing[item.parent_key]
        comment = _new_comment(thread, item, parent)
        existing[item.key] = comment
        added += 1
        approved += comment.status is CommentStatus.APPROVED
        summary.by_status[comment.status.value] = summary.by_status.get(comment.status.value, 0) + 1
        return comment

    for item in sorted(pending.values(), key=lambda c: c.created_at):
        store(item)
    summary.comments_added += added
    summary.comments_skipped += len(pending) - added
    if approved:
        adjust_approved_count(thread.id, approved)
    cache.touch_thread(site.id, thread.id)


def _new_comment(thread: Thread, item: ImportedComment, parent: Comment | None) -> Comment:
    # A deleted comment may come without text (its author took it back); others always have.
    _check_storable(
        f"comment {item.key}",
        key=item.key,
        name=item.name,
        body=item.body,
        email=item.email,
        website=item.website,
        address=item.remote_addr,
    )
    empty = "" if item.status is CommentStatus.DELETED else "(empty)"
    if item.body_is_html:
        html = _clean_html(item.body)
        # The editable source is Markdown, as for comments written here: links, emphasis
        # and paragraphs survive a moderator's edit or a later export.
        try:
            body = markdownify(html, heading_style="ATX").strip() or empty
        except RecursionError:  # markdownify walks the tree recursively
            raise ImportFormatError(
                f"comment {item.key}: its HTML is nested too deeply to convert"
            ) from None
    else:
        body = item.body.strip() or empty
        html = render_markdown(body) if body else ""
    comment = Comment(
        thread_id=thread.id,
        parent_id=parent.id if parent else None,
        guest_name=" ".join(item.name.split())[: policy.NAME_MAX] or "Anonymous",
        guest_email=(item.email or "").strip().lower()[: policy.EMAIL_MAX] or None,
        guest_website=_website(item.website),
        body=body[: policy.BODY_MAX * 2],  # imported text is kept whole unless absurd
        html=html,
        status=item.status,
        created_at=item.created_at,
        edited_at=item.edited_at,
        import_key=item.key[:200],
        remote_addr_hash=address_hash(item.remote_addr),
    )
    db.session.add(comment)
    db.session.flush()
    comment.root_id = parent.root_id if parent else comment.id
    return comment


def _check_storable(what: str, **texts: str | None) -> None:
    """Formats that are not XML (an Isso database, an export from a SQLite server) may hold
    text PostgreSQL cannot: say which, rather than fail in the middle of the transaction."""
    for name, text in texts.items():
        if text is not None and not is_storable_text(text):
            raise ImportFormatError(
                f"{what}: the {name} holds a NUL or a lone surrogate, which cannot be stored"
            )


def _clean_html(html: str) -> str:
    # Old exports keep bare newlines for paragraphs; make them visible before cleaning.
    if "<p" not in html.lower():
        paragraphs = [p.strip() for p in html.replace("\r\n", "\n").split("\n\n") if p.strip()]
        html = "".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return sanitize_html(html)


def _website(url: str | None) -> str | None:
    try:
        return policy.clean_website(url)
    except ValidationError:
        return None  # an old, odd website field is dropped, not a reason to fail the import
