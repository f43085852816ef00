"""Cusdis: its SQLite database, read directly (Cusdis has no export of its own).

Cusdis keeps its data through Prisma (prisma/sqlite/schema.prisma): `projects` (a website
each), `pages` (`slug`, the widget's page id; `url` and `title`, as the widget last reported
them; `projectId`) and `comments` (`pageId`, `parentId`, `by_nickname`, `by_email`,
`content`, `approved`, `created_at`, `deletedAt`, `moderatorId`). A reply a moderator wrote
from the Cusdis dashboard has `moderatorId`; a comment deleted there keeps its row with
`deletedAt` set. Prisma writes times as milliseconds since 1970, SQLite's defaults as text.

A page is at its `url`, else its slug as a path on the site's base URL. The text is Markdown
as Cusdis shows it (markdown-it with links and images off): the brackets of link syntax,
which Cusdis showed as typed, are escaped so that they still show as typed.
"""

from __future__ import annotations

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
from urllib.parse import quote, urlsplit

from app.domain.errors import ImportFormatError
from app.domain.states import CommentStatus
from app.services.importers import placeholders_for_replies, read_only_sqlite, utc
from app.services.importing import ImportedComment, ImportedThread

# The columns read, by table; a database without them is not (or not yet) Cusdis's.
_COLUMNS = {
    "projects": {"id", "title"},
    "pages": {"id", "slug", "url", "title", "projectId", "created_at"},
    "comments": {
        "id", "pageId", "parentId", "created_at", "deletedAt", "moderatorId",
        "by_email", "by_nickname", "content", "approved",
    },
}  # fmt: skip
# One pass over the project's comments, grouped by page: Cusdis has no index on
# comments.pageId, so a query per page would scan the whole table each time.
_ROWS = """
    SELECT p.id, p.slug, p.url, p.title, p.created_at,
           c.id, c.parentId, c.created_at, c.deletedAt, c.moderatorId,
           c.by_nickname, c.by_email, c.content, c.approved
    FROM comments c JOIN pages p ON p.id = c.pageId
    WHERE p.projectId = ?
    ORDER BY p.id, c.created_at, c.id
"""
_PROJECTS = "SELECT id, title, deleted_at FROM projects ORDER BY id"
_PROJECTS_BEFORE_DELETION = "SELECT id, title, NULL FROM projects ORDER BY id"
_PROJECT_COMMENTS = """
    SELECT count(*) FROM comments c JOIN pages p ON p.id = c.pageId WHERE p.projectId = ?
"""


def parse(
    path: Path,
    *,
    base_url: str,
    project: str | None = None,
    skipped: Counter[str] | None = None,
) -> Iterator[ImportedThread]:
    """The project's pages that have comments. `project` is the Cusdis project's id, needed
    when the database holds more than one (Cusdis's hosted service keeps many in one).

    `skipped` (optional) counts deleted comments without replies (nothing of them is kept).
    """
    skipped = Counter() if skipped is None else skipped
    for page, comments in _pages(path, project, skipped):
        page_id, slug, url, title, created = page
        yield ImportedThread(
            url=_page_url(page_id, url, slug, base_url),
            title=title or "",
            created_at=_time(created, f"page {page_id}"),
            comments=comments,
        )


def count(path: Path, *, project: str | None = None) -> int:
    """How many comments `parse` will yield (one more read of the database)."""
    return sum(len(comments) for _, comments in _pages(path, project, Counter()))


def _pages(
    path: Path, project: str | None, skipped: Counter[str]
) -> Iterator[tuple[tuple[Any, ...], list[ImportedComment]]]:
    with closing(read_only_sqlite(path)) as db:
        try:
            project_id = _project(db, project)
            for _, group in groupby(db.execute(_ROWS, (project_id,)), key=itemgetter(0)):
                rows = list(group)
                comments = placeholders_for_replies([_comment(row) for row in rows], skipped)
                if comments:
                    yield _texts(rows[0][:5], f"page {rows[0][0]}"), comments
        except sqlite3.DatabaseError as err:
            raise ImportFormatError(f"not a readable Cusdis database ({err})") from None


def _project(db: sqlite3.Connection, wanted: str | None) -> str:
    """The id of the project to import: `wanted`, or the only one there is."""
    for table, needed in _COLUMNS.items():
        have = {row[1] for row in db.execute(f'PRAGMA table_info("{table}")')}
        if not have:
            raise ImportFormatError(f"not a Cusdis database (it has no {table} table)")
        if missing := needed - have:
            raise ImportFormatError(
                f"not a Cusdis database its import knows (the {table} table has no "
                f"{', '.join(sorted(missing))})"
            )
    project_columns = {row[1] for row in db.execute('PRAGMA table_info("projects")')}
    # Projects deleted in Cusdis showed no comments; older databases cannot delete them.
    query = _PROJECTS if "deleted_at" in project_columns else _PROJECTS_BEFORE_DELETION
    projects = [
        (str(project_id), str(title or ""), removed is not None)
        for project_id, title, removed in db.execute(query)
    ]
    live = [(project_id, title) for project_id, title, removed in projects if not removed]
    if wanted is not None:
        if any(p == wanted and removed for p, _, removed in projects):
            raise ImportFormatError(f"project {wanted} was deleted in Cusdis")
        if any(p == wanted for p, _ in live):
            return wanted
        if not live:
            raise ImportFormatError(f"no project {wanted}: the database holds none")
        raise ImportFormatError(f"no project {wanted}; the projects are {_listed(db, live)}")
    if len(live) == 1:
        return live[0][0]
    if not live:
        raise ImportFormatError("the database holds no Cusdis project")
    raise ImportFormatError(
        f"the database holds {len(live)} Cusdis projects, choose one with --project ID: "
        + _listed(db, live)
    )


def _listed(db: sqlite3.Connection, projects: list[tuple[str, str]]) -> str:
    described = []
    for project_id, title in projects:
        n = db.execute(_PROJECT_COMMENTS, (project_id,)).fetchone()[0]
        described.append(f"{project_id} ({title!r}, {n} comment{'' if n == 1 else 's'})")
    return ", ".join(described)


def _page_url(page_id: str, url: str | None, slug: str | None, base_url: str) -> str:
    for candidate in (url, slug):
        parts = urlsplit(candidate or "")
        if parts.scheme in {"http", "https"} and parts.netloc:
            return candidate or ""
    if url and url.startswith("/"):
        return base_url.rstrip("/") + url
    if not slug:
        raise ImportFormatError(f"page {page_id} has neither a url nor a slug")
    return base_url.rstrip("/") + "/" + quote(slug.lstrip("/"), safe="/?=&%:@!$'()*+,;~")


def _comment(row: tuple[Any, ...]) -> ImportedComment:
    comment_id, parent, created, deleted_at, moderator = _texts(row[5:10], "a comment")
    owner = f"comment {comment_id}"
    name, email, content = _texts(row[10:13], owner)
    created_at = _time(created, owner)
    if created_at is None:
        raise ImportFormatError(f"{owner} has no created_at")
    deleted = deleted_at is not None
    if deleted:
        status = CommentStatus.DELETED
    elif _true(row[13]):
        status = CommentStatus.APPROVED
    else:
        status = CommentStatus.PENDING
    by_site = moderator is not None and not deleted
    return ImportedComment(
        key=f"cusdis:{comment_id}",
        parent_key=f"cusdis:{parent}" if parent else None,
        # A deleted comment is a placeholder for its replies: nothing of it is kept; a
        # moderator's email is the moderator's account, not shown.
        name="" if deleted else name or "",  # by_nickname: a moderator's account name
        email=None if deleted or by_site else email or None,
        body="" if deleted else literal_brackets(content or ""),
        created_at=created_at,
        status=status,
        by_site=by_site,
    )


def _texts(values: tuple[Any, ...], owner: str) -> tuple[Any, ...]:
    """The values of text columns; SQLite keeps whatever it was given, and a BLOB is no
    text. Numbers (Prisma's times) pass as they are."""
    if any(isinstance(value, bytes) for value in values):
        raise ImportFormatError(f"{owner} holds binary data where text belongs")
    return values


def _true(value: object) -> bool:
    return value in {1, "1"} or (isinstance(value, str) and value.strip().lower() == "true")


_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
# Milliseconds from here on (1973 as milliseconds, the year 5138 as seconds).
_MILLISECONDS = 100_000_000_000


def _time(value: object, owner: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
            number = float(value)
            seconds = number / 1000 if abs(number) >= _MILLISECONDS else number
            return datetime.fromtimestamp(seconds, UTC)
        return utc(datetime.fromisoformat(str(value)))
    except (TypeError, ValueError, OverflowError, OSError):
        raise ImportFormatError(f"{owner} has an unreadable time {value!r}") from None


_FENCE = re.compile(r" {0,3}(```|~~~)")
# A code span: a run of backticks, and the same run again.
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)")
# Without an opening bracket there is no link, image or link reference.
_BRACKET = re.compile(r"(?<!\\)\[")


def literal_brackets(text: str) -> str:
    """Cusdis's Markdown with its opening brackets escaped outside code, so that `[a](b)` and
    `![a](b)`, which Cusdis showed as typed (its links and images are off), still do."""
    out = []
    fenced = False
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and not line.startswith(("    ", "\t")):
            line = _outside_code(line)
        out.append(line)
    return "\n".join(out)


def _outside_code(line: str) -> str:
    pieces, start = [], 0
    for span in _CODE_SPAN.finditer(line):
        pieces += [_BRACKET.sub(r"\\[", line[start : span.start()]), span.group(0)]
        start = span.end()
    pieces.append(_BRACKET.sub(r"\\[", line[start:]))
    return "".join(pieces)
