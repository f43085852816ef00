"""Comentario (the maintained fork of Commento): the export of a domain, version 3.

`{"version": 3, "pages": [...], "comments": [...], "commenters": [...]}`, gzipped as
Comentario's dashboard downloads it (Domain > Operations > Export). `commento.parse` reads
the file and hands version 3 here; version 1 (Commento's, and Comentario 2's) stays there.

A page has an `id`, its `path`, `title` and `isReadonly`; a comment names its page by
`pageId`, its parent by `parentId` (absent at the top) and its author by `userCreated`, a
commenter's `id` (with `name`, `email`, `websiteUrl`), or the all-zero id of an anonymous
author, whose name is then `authorName`. A comment is approved (`isApproved`), pending
(`isPending`), rejected (neither) or deleted (`isDeleted`). Its text is Markdown that
Comentario shows with every single newline as a line break, as Isso does. The export does
not name the domain's host, but each comment's permalink (`url`) starts with it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from app.domain.errors import ImportFormatError
from app.domain.states import CommentStatus
from app.services.importers import placeholders_for_replies, utc
from app.services.importers.isso import hard_breaks
from app.services.importing import ImportedComment, ImportedThread

ANONYMOUS = "00000000-0000-0000-0000-000000000000"
NO_PAGE = "comment on a page the file does not list"
# How Go writes an unset time.
_ZERO_YEAR = 1


@dataclass
class _Page:
    path: str
    title: str
    created_at: datetime | None
    closed: bool
    origin: str | None = None  # from the first of its comments' permalinks
    comments: list[ImportedComment] = field(default_factory=list)


def parse(
    data: dict[str, Any], *, base_url: str, skipped: Counter[str] | None = None
) -> Iterator[ImportedThread]:
    """The export's pages that have comments, in the file's order; a page whose comments
    carry no permalink is on `base_url`.

    `skipped` (optional) counts deleted comments without replies (nothing of them is kept)
    and comments on pages the file does not list.
    """
    skipped = Counter() if skipped is None else skipped
    for page in _pages(data, skipped):
        origin = page.origin or base_url
        yield ImportedThread(
            url=origin.rstrip("/") + "/" + page.path.lstrip("/"),
            title=page.title,
            created_at=page.created_at,
            closed=page.closed,
            comments=page.comments,
        )


def count(data: dict[str, Any]) -> int:
    return sum(len(page.comments) for page in _pages(data, Counter()))


def _pages(data: dict[str, Any], skipped: Counter[str]) -> list[_Page]:
    pages_data, comments_data = data.get("pages"), data.get("comments")
    if not isinstance(pages_data, list) or not isinstance(comments_data, list):
        raise ImportFormatError('not a Comentario export (no "pages" and "comments" lists)')
    pages: dict[object, _Page] = {}
    for n, record in enumerate(pages_data):
        page_id, page = _page(n, record)
        pages[page_id] = page
    commenters = {c.get("id"): c for c in data.get("commenters") or [] if isinstance(c, dict)}
    for n, record in enumerate(comments_data):
        if not isinstance(record, dict):
            raise ImportFormatError(f"comments[{n}] is not an object")
        found = pages.get(record.get("pageId"))
        if found is None:
            skipped[NO_PAGE] += 1
            continue
        found.origin = found.origin or _origin(record.get("url"))
        found.comments.append(_comment(n, record, commenters))
    with_comments = [page for page in pages.values() if page.comments]
    for page in with_comments:
        page.comments = placeholders_for_replies(page.comments, skipped)
    return [page for page in with_comments if page.comments]


def _page(n: int, record: object) -> tuple[str, _Page]:
    where = f"pages[{n}]"
    if not isinstance(record, dict):
        raise ImportFormatError(f"{where} is not an object")
    page_id, path = record.get("id"), record.get("path")
    if not isinstance(page_id, str) or not page_id:
        raise ImportFormatError(f'{where} has no "id"')
    if not isinstance(path, str) or not path:
        raise ImportFormatError(f'{where} has no "path"')
    return page_id, _Page(
        path=path,
        title=_text(record.get("title")),
        created_at=_time(where, record.get("createdTime"), "createdTime"),
        closed=record.get("isReadonly") is True,
    )


def _origin(url: object) -> str | None:
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def _comment(n: int, record: dict[str, Any], commenters: dict[Any, Any]) -> ImportedComment:
    where = f"comments[{n}]"
    comment_id = record.get("id")
    if not isinstance(comment_id, str) or not comment_id:
        raise ImportFormatError(f'{where} has no "id"')
    created = _time(where, record.get("createdTime"), "createdTime")
    if created is None:
        raise ImportFormatError(f'{where} has no "createdTime"')
    parent = record.get("parentId")
    user = record.get("userCreated")
    author = commenters.get(user) if user != ANONYMOUS else None
    author = author if isinstance(author, dict) else {}
    deleted = record.get("isDeleted") is True
    if deleted:
        status = CommentStatus.DELETED
    elif record.get("isPending") is True:
        status = CommentStatus.PENDING
    elif record.get("isApproved") is True:
        status = CommentStatus.APPROVED
    else:  # a moderator turned it down
        status = CommentStatus.REJECTED
    markdown, html = _text(record.get("markdown")), _text(record.get("html"))
    # A deleted comment is a placeholder for its replies: nothing of it is kept.
    return ImportedComment(
        key=f"comentario:{comment_id}",
        parent_key=f"comentario:{parent}" if isinstance(parent, str) and parent else None,
        name="" if deleted else _text(author.get("name")) or _text(record.get("authorName")),
        email=None if deleted else _text(author.get("email")) or None,
        website=None if deleted else _text(author.get("websiteUrl")) or None,
        body="" if deleted else hard_breaks(markdown) if markdown.strip() else html,
        body_is_html=not deleted and not markdown.strip() and bool(html.strip()),
        created_at=created,
        edited_at=_time(where, record.get("editedTime"), "editedTime"),
        status=status,
        remote_addr=None if deleted else _text(record.get("authorIP")) or None,
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _time(where: str, value: object, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        moment = utc(datetime.fromisoformat(str(value)))
    except ValueError:
        raise ImportFormatError(
            f"{where}: unreadable {name} {value!r} (expected 2023-11-14T20:15:12.000Z)"
        ) from None
    return None if moment.year == _ZERO_YEAR else moment
