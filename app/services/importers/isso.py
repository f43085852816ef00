"""Isso: its SQLite database, read directly (Isso has no export format of its own).

Isso keys threads by the page's path (`/2019/rye/`), not its URL, so `parse` takes the
site's base URL to join them with. Comment text is Markdown, as in Afterword, except that
Isso shows every single newline as a line break (misaka's hard-wrap): the source is given
the explicit hard breaks (a backslash at the line's end) that Afterword's Markdown needs to
show the same. Isso keeps author, email and website HTML-escaped; they are stored as text.
"""

from __future__ import annotations

import html
import re
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from app.domain.errors import ImportFormatError, ValidationError
from app.domain.states import CommentStatus
from app.services.importers import read_only_sqlite
from app.services.importing import ImportedComment, ImportedThread

MODES = {1: CommentStatus.APPROVED, 2: CommentStatus.PENDING, 4: CommentStatus.DELETED}

# One pass over every comment, grouped by thread: Isso has no index on comments.tid, so a
# query per thread would scan the whole table each time.
_ROWS = """
    SELECT t.id, t.uri, t.title,
           c.id, c.parent, c.created, c.modified, c.mode, c.remote_addr,
           c.text, c.author, c.email, c.website
    FROM comments c JOIN threads t ON t.id = c.tid
    ORDER BY t.id, c.id
"""
_COUNT = "SELECT count(*) FROM comments c JOIN threads t ON t.id = c.tid"
_ORPHANS = "SELECT count(*) FROM comments WHERE tid IS NULL OR tid NOT IN (SELECT id FROM threads)"


def parse(
    path: Path, *, base_url: str, skipped: Counter[str] | None = None
) -> Iterator[ImportedThread]:
    """The database's threads that have comments, each URL being `base_url` joined with
    Isso's path (`https://blog.example` + `/2019/rye/`).

    `skipped` (optional) counts "comment without a thread".
    """
    parts = urlsplit(base_url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationError(
            f"{base_url!r} is not a base URL like https://blog.example", field="base_url"
        )
    skipped = Counter() if skipped is None else skipped
    with closing(read_only_sqlite(path)) as db:
        try:
            rows = db.execute(_ROWS)
            for thread_id, group in groupby(rows, key=itemgetter(0)):
                yield _thread(thread_id, list(group), base_url)
            orphans = db.execute(_ORPHANS).fetchone()[0]
        except sqlite3.DatabaseError as err:
            raise ImportFormatError(f"not a readable Isso database ({err})") from None
    if orphans:
        skipped["comment without a thread"] += orphans


def count(path: Path) -> int:
    """How many comments `parse` will yield: one COUNT query."""
    with closing(read_only_sqlite(path)) as db:
        try:
            return int(db.execute(_COUNT).fetchone()[0])
        except sqlite3.DatabaseError as err:
            raise ImportFormatError(f"not a readable Isso database ({err})") from None


def _thread(thread_id: int, rows: list[tuple[Any, ...]], base_url: str) -> ImportedThread:
    uri, title = (_text(value, f"thread {thread_id}") for value in rows[0][1:3])
    if not uri:
        raise ImportFormatError(f"thread {thread_id} has no uri")
    comments = [_comment(row) for row in rows]
    return ImportedThread(
        url=urljoin(base_url, uri),
        title=title or "",
        # Isso does not record when a page appeared; its first comment is the closest
        # thing, and better than the import's date for sites that close old threads.
        created_at=min(c.created_at for c in comments),
        comments=comments,
    )


def _comment(row: tuple[Any, ...]) -> ImportedComment:
    (_, _, _, comment_id, parent, created, modified, mode) = row[:8]
    remote_addr, text, author, email, website = (
        _text(value, f"comment {comment_id}") for value in row[8:]
    )
    created_at = _time(created, comment_id)
    if created_at is None:
        raise ImportFormatError(f"comment {comment_id} has no created time")
    return ImportedComment(
        key=f"isso:{comment_id}",
        parent_key=f"isso:{parent}" if parent is not None else None,
        name=html.unescape(author or ""),
        email=html.unescape(email or "") or None,
        website=html.unescape(website or "") or None,
        body=hard_breaks(text or ""),  # Isso empties the text of a deleted comment that has replies
        created_at=created_at,
        edited_at=_time(modified, comment_id),
        # An unknown mode is held for a moderator rather than published.
        status=MODES.get(mode, CommentStatus.PENDING),
        remote_addr=remote_addr or None,
    )


_FENCE = re.compile(r" {0,3}(```|~~~)")
# A line that starts a block of its own, after which a break would show as a backslash.
_BLOCK_START = re.compile(r" {0,3}(#{1,6}(\s|$)|>|[-+*](\s|$)|[0-9]{1,9}[.)](\s|$)|[-=_*]{3,}\s*$)")


def hard_breaks(text: str) -> str:
    """Isso's Markdown with its single newlines made hard line breaks, as Isso shows them.

    Only inside paragraphs: a line followed by another line of the same paragraph ends with
    a backslash; code (fenced or indented), headings and the line before a new block are left
    as they are.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out = []
    fenced = False
    for n, line in enumerate(lines):
        if _FENCE.match(line):
            fenced = not fenced
        following = lines[n + 1] if n + 1 < len(lines) else ""
        plain = not (
            fenced
            or _FENCE.match(line)
            or line.startswith(("    ", "\t"))
            or re.match(r" {0,3}#{1,6}(\s|$)", line)
            or line.rstrip().endswith("\\")
            or line.endswith("  ")
        )
        if (
            plain
            and line.strip()
            and following.strip()
            and not (_BLOCK_START.match(following) or _FENCE.match(following))
        ):
            line = line.rstrip() + "\\"
        out.append(line)
    return "\n".join(out)


def _text(value: object, owner: str) -> str | None:
    """A text column's value; SQLite keeps whatever it was given, and a BLOB is no text."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    raise ImportFormatError(f"{owner} holds binary data where text belongs")


def _time(value: float | str | None, comment_id: int) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise ImportFormatError(f"comment {comment_id} has an unreadable time {value!r}") from None
