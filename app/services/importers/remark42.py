"""Remark42: its backup (`remark42 backup`, or the daily `backup-SITE-DATE.gz`).

A backup is JSON lines, gzipped or not: the first line is the site's metadata
(`{"version": 1, "users": [...], "posts": [{"url": ..., "read_only": true}]}`), then one
comment a line, a post's comments together, oldest first. A comment keeps its Markdown as
typed (`orig`) next to the HTML Remark42 rendered from it (`text`); comments Remark42 itself
imported have only the HTML. Each user's email, if they gave one for notifications, is in
the metadata. The addresses Remark42 keeps are hashes of them, so none is imported.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from app.domain.errors import ImportFormatError
from app.domain.states import CommentStatus
from app.services.importers import lines_of, utc
from app.services.importing import ImportedComment, ImportedThread

NOT_A_BACKUP = 'not a Remark42 backup (its first line has no "version", "users" and "posts")'
# How Remark42 writes an unset time: Go's zero time.
_ZERO_TIME = "0001-01-01T00:00:00Z"


def parse(
    path: Path,
    *,
    skipped: Counter[str] | None = None,
) -> Iterator[ImportedThread]:
    """The backup's posts with their comments, one post at a time (Remark42 leaves nothing
    out of a backup that readers could not see, so nothing is skipped)."""
    closed: set[str] = set()
    emails: dict[str, str] = {}
    thread: ImportedThread | None = None
    records = _records(path)
    for n, record in records:
        if n == 1:
            closed, emails = _meta(record)
            continue
        comment, url, title = _comment(n, record, emails)
        if thread is not None and thread.url != url:
            yield thread
            thread = None
        if thread is None:
            thread = ImportedThread(url=url, title=title, closed=url in closed)
        thread.title = thread.title or title
        thread.comments.append(comment)
    if thread is not None:
        yield thread


def count(path: Path) -> int:
    return sum(1 for n, _ in _records(path) if n > 1)


def _records(path: Path) -> Iterator[tuple[int, Any]]:
    first = True
    for n, line in lines_of(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            if first:
                raise ImportFormatError(NOT_A_BACKUP, line=n) from None
            raise ImportFormatError(
                f"broken JSON: {err.msg} (column {err.colno})", line=n
            ) from None
        if not isinstance(record, dict):
            raise ImportFormatError(
                NOT_A_BACKUP if first else "a comment is not a JSON object", line=n
            )
        # The first record is numbered 1 whatever blank lines came before it.
        yield (1 if first else n), record
        first = False


def _meta(record: dict[str, Any]) -> tuple[set[str], dict[str, str]]:
    if "version" not in record or not {"users", "posts"} & record.keys():
        raise ImportFormatError(NOT_A_BACKUP, line=1)
    if record["version"] not in {0, 1}:
        raise ImportFormatError(f"unsupported Remark42 backup version {record['version']!r}")
    closed = {
        post["url"]
        for post in record.get("posts") or []
        if isinstance(post, dict) and post.get("read_only") and isinstance(post.get("url"), str)
    }
    emails = {}
    for user in record.get("users") or []:
        details = user.get("details") if isinstance(user, dict) else None
        if isinstance(details, dict) and isinstance(details.get("email"), str):
            emails[str(user.get("id"))] = details["email"]
    return closed, emails


def _comment(
    n: int, record: dict[str, Any], emails: dict[str, str]
) -> tuple[ImportedComment, str, str]:
    comment_id = record.get("id")
    url = (
        (record.get("locator") or {}).get("url")
        if isinstance(record.get("locator"), dict)
        else None
    )
    if not isinstance(comment_id, str) or not comment_id:
        raise ImportFormatError('a comment without an "id"', line=n)
    if not isinstance(url, str) or not url:
        raise ImportFormatError(f'comment {comment_id} has no "locator" URL', line=n)
    user = _object(record.get("user"))
    edit = _object(record.get("edit"))
    deleted = record.get("delete") is True
    markdown = record.get("orig")
    parent = record.get("pid")
    name = "" if deleted else _text(user.get("name"))
    return (
        ImportedComment(
            key=f"remark42:{comment_id}",
            parent_key=f"remark42:{parent}" if isinstance(parent, str) and parent else None,
            name=name,
            email=None if deleted else emails.get(str(user.get("id"))),
            # Deleted comments keep no text in Remark42 either.
            body="" if deleted else _text(markdown) or _text(record.get("text")),
            body_is_html=not deleted and not (isinstance(markdown, str) and markdown.strip()),
            created_at=_created(n, record.get("time")),
            edited_at=_time(n, edit.get("time"), "edit time"),
            status=CommentStatus.DELETED if deleted else CommentStatus.APPROVED,
        ),
        url,
        _text(record.get("title")),
    )


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _created(n: int, value: object) -> datetime:
    moment = _time(n, value, "time")
    if moment is None:
        raise ImportFormatError("a comment without its time", line=n)
    return moment


def _time(n: int, value: object, what: str) -> datetime | None:
    if value is None or value in {"", _ZERO_TIME}:
        return None
    try:
        return utc(datetime.fromisoformat(str(value)))
    except ValueError:
        raise ImportFormatError(
            f"unreadable {what} {value!r} (expected 2019-04-02T10:11:12Z)", line=n
        ) from None
