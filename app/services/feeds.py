"""Atom feeds (feedgen) of approved comments. Entries carry the comments' sanitized HTML only;
names and titles are text, escaped by the feed library."""

from __future__ import annotations

from feedgen.feed import FeedGenerator
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import selectinload

from app.domain.authors import Author
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import Comment, Site, Thread
from app.models.types import utcnow
from app.services import links

FEED_ENTRIES = 50


def thread_feed(site: Site, thread: Thread | None, page_url: str) -> bytes:
    """The newest approved comments of one page."""
    feed = _feed(
        links.public_url("feeds.thread_feed", site_id=site.id, url=page_url),
        f"Comments on {thread.title if thread and thread.title else page_url}",
        page_url,
    )
    comments = _newest(Comment.thread_id == thread.id) if thread else []
    return _finish(feed, comments)


def site_feed(site: Site) -> bytes:
    """The newest approved comments on every page of a site."""
    feed = _feed(
        links.public_url("feeds.site_feed", site_id=site.id),
        f"Comments on {site.name}",
        site.origins[0],
    )
    threads = select(Thread.id).where(Thread.site_id == site.id)
    return _finish(feed, _newest(Comment.thread_id.in_(threads)))


def _newest(where: ColumnElement[bool]) -> list[Comment]:
    return list(
        db.session.scalars(
            select(Comment)
            .where(where, Comment.status == CommentStatus.APPROVED)
            .options(selectinload(Comment.thread), selectinload(Comment.user))
            .order_by(Comment.created_at.desc(), Comment.id.desc())
            .limit(FEED_ENTRIES)
        )
    )


def _feed(feed_id: str, title: str, link: str) -> FeedGenerator:
    feed = FeedGenerator()
    feed.id(feed_id)
    feed.title(title)
    feed.link(href=link, rel="alternate")
    feed.link(href=feed_id, rel="self")
    feed.generator("Afterword")
    return feed


def _finish(feed: FeedGenerator, comments: list[Comment]) -> bytes:
    feed.updated(comments[0].edited_at or comments[0].created_at if comments else utcnow())
    for comment in reversed(comments):  # feedgen puts the last added first
        author = Author.of_comment(comment, comment.user).label
        entry = feed.add_entry()
        # A stable id in the service's namespace; not an address anyone fetches.
        entry.id(f"{links.public_base()}/comments/{comment.id}")
        entry.title(f"{author} on {comment.thread.title or comment.thread.url}")
        entry.author(name=author)
        entry.link(href=f"{comment.thread.url}#comment-{comment.id}", rel="alternate")
        entry.published(comment.created_at)
        entry.updated(comment.edited_at or comment.created_at)
        entry.content(comment.html, type="html")
    atom: bytes = feed.atom_str(pretty=False)
    return atom
