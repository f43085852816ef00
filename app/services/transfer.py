"""Afterword's own export format, and reading it back (`flask export`, `flask import afterword`).

The format is documented in the README ("Export format"). It keeps every thread, the reply
tree, statuses and times; an import into another site (or another server) gives the same
threads back, and importing the same file twice adds nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any, overload

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.domain import policy
from app.domain.authors import Author
from app.domain.errors import ImportFormatError, InvalidInput, InvalidJson
from app.domain.json_input import parse_json
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import Comment, Site, Thread
from app.models.types import utcnow
from app.services import importing
from app.services.importing import ImportedComment, ImportedThread

FORMAT = "afterword-export"
VERSION = 1


def export_site(site: Site, out: IO[str]) -> int:
    """Write the site as Afterword JSON, one thread at a time; returns the comment count."""
    header = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": utcnow().isoformat(),
        "site": {"id": site.id, "name": site.name, "origins": site.origins},
    }
    out.write(json.dumps(header, ensure_ascii=False, indent=1)[:-2] + ',\n "threads": [\n')
    total = 0
    thread_ids = db.session.scalars(
        select(Thread.id).where(Thread.site_id == site.id).order_by(Thread.created_at, Thread.id)
    ).all()
    for n, thread_id in enumerate(thread_ids):
        thread = db.session.get_one(Thread, thread_id)
        comments = db.session.scalars(
            select(Comment)
            .where(Comment.thread_id == thread_id)
            .options(selectinload(Comment.user))
            .order_by(Comment.created_at, Comment.id)
        ).all()
        total += len(comments)
        entry = {
            "url": thread.url,
            "title": thread.title,
            "created_at": thread.created_at.isoformat(),
            "closed": thread.closed,
            "comments": [_comment_out(c) for c in comments],
        }
        out.write(("" if n == 0 else ",\n") + json.dumps(entry, ensure_ascii=False))
        # A large site must not pile up in the session; other objects in it stay.
        for loaded in {thread, *comments, *(c.user for c in comments if c.user)}:
            db.session.expunge(loaded)
    out.write("\n ]\n}\n")
    return total


def _comment_out(comment: Comment) -> dict[str, Any]:
    author = Author.of_comment(comment, comment.user)
    return {
        "id": comment.id,
        "parent_id": comment.parent_id,
        "status": comment.status.value,
        "created_at": comment.created_at.isoformat(),
        "edited_at": comment.edited_at.isoformat() if comment.edited_at else None,
        "author": {
            "name": author.name or None,
            "email": author.email,
            "website": author.website,
            "provider": author.provider,
            "moderator": author.is_site,
        },
        "body": comment.body,
        "likes": comment.like_count,  # how many, never who
        # Where an imported comment came from ("wordpress:12"), so that the site restored from
        # this file still knows it when the old system's export is imported again.
        "import_key": comment.import_key,
    }


def parse(path: Path) -> Iterator[ImportedThread]:
    """Read an Afterword export back as threads for `importing.import_threads`."""
    try:
        data = parse_json(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ImportFormatError("not UTF-8 text") from None
    except InvalidJson as err:
        raise ImportFormatError(err.message.rstrip(".")) from None
    except InvalidInput as err:
        raise ImportFormatError(f"{err.field or 'the file'}: {err.message.rstrip('.')}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ImportFormatError(f'not an Afterword export (no "format": "{FORMAT}")')
    if data.get("version") != VERSION:
        raise ImportFormatError(f"unsupported export version {data.get('version')!r}")
    source = str((data.get("site") or {}).get("id", "unknown"))
    for thread in data.get("threads", []):
        try:
            comments = thread.get("comments", [])
            keys = {c["id"]: _key(source, c) for c in comments}
            yield ImportedThread(
                url=thread["url"],
                title=thread.get("title") or "",
                created_at=_time(thread.get("created_at")),
                comments=[_comment_in(source, keys, c) for c in comments],
                closed=thread.get("closed") is True,  # absent in exports made before it existed
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ImportFormatError(f"a thread is incomplete ({err!r})") from None


def _key(source: str, data: dict[str, Any]) -> str:
    """The comment's source key: the one it was imported with, if it was; else its id on the
    exporting site (which `import_threads` knows as that comment when restoring there)."""
    kept = data.get("import_key")
    if isinstance(kept, str) and kept:
        return kept
    return importing.afterword_key(source, data["id"])


def _comment_in(source: str, keys: dict[Any, str], data: dict[str, Any]) -> ImportedComment:
    author = data.get("author") or {}
    parent = data.get("parent_id")
    return ImportedComment(
        key=keys[data["id"]],
        parent_key=(keys.get(parent) or importing.afterword_key(source, parent))
        if parent is not None
        else None,
        name=author.get("name") or "Anonymous",
        email=author.get("email"),
        website=author.get("website"),
        body=data.get("body") or "",
        status=CommentStatus(data["status"]),
        created_at=_time(data["created_at"]),
        edited_at=_time(data.get("edited_at")),
        likes=_likes(data.get("likes")),
        by_site=author.get("moderator") is True,
    )


def _likes(value: object) -> int:
    """A like count, absent from exports made before likes existed."""
    if value is None:
        return 0
    if isinstance(value, int) and (value == 0 or policy.is_id(value)):
        return int(value)
    raise ValueError(f"likes must be a count: {value!r}")


@overload
def _time(value: str) -> datetime: ...
@overload
def _time(value: None) -> None: ...
def _time(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"time without a zone: {value}")
    return moment
