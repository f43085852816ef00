"""Commento (and Commento++): the export its dashboard mails, `{"version": 1, "comments": [...],
"commenters": [...]}`, gzipped as sent or not; Comentario 2 writes the same version 1 (with
`host` and `path` for `domain` and `url`). Comentario 3's export, `"version": 3`, is handed
to `comentario`.

One JSON document, so it is read whole (exports of comment sites are small next to a WXR).
A comment names its page by path and domain (`"url": "/blog/post/"`, `"domain":
"blog.example"`), its author by `commenterHex` ("anonymous" for a guest) and its parent by
`parentHex` ("root" at the top); its text is Markdown. `state` is "approved", "unapproved"
(waiting for a moderator) or "flagged" (held as spam).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from app.domain.errors import ImportFormatError, InvalidInput, InvalidJson
from app.domain.json_input import parse_json
from app.domain.states import CommentStatus
from app.services.importers import comentario, lines_of, utc
from app.services.importing import ImportedComment, ImportedThread

STATES = {
    "approved": CommentStatus.APPROVED,
    "unapproved": CommentStatus.PENDING,
    "flagged": CommentStatus.SPAM,
}
NOT_AN_EXPORT = 'not a Commento or Comentario export (no "version" and "comments")'
VERSIONS = {1, 3}


def parse(
    path: Path, *, base_url: str, skipped: Counter[str] | None = None
) -> Iterator[ImportedThread]:
    """The export's pages with their comments; a comment without a domain is on `base_url`."""
    data = _read(path)
    if data["version"] == 3:
        yield from comentario.parse(data, base_url=base_url, skipped=skipped)
        return
    commenters = {
        c.get("commenterHex"): c for c in data.get("commenters") or [] if isinstance(c, dict)
    }
    threads: dict[str, ImportedThread] = {}
    for n, record in enumerate(data["comments"]):
        if not isinstance(record, dict):
            raise ImportFormatError(f"comments[{n}] is not an object")
        url = _url(n, record, base_url)
        thread = threads.setdefault(url, ImportedThread(url=url))
        thread.comments.append(_comment(n, record, commenters))
    yield from threads.values()


def count(path: Path) -> int:
    data = _read(path)
    return comentario.count(data) if data["version"] == 3 else len(data["comments"])


def _read(path: Path) -> dict[str, Any]:
    text = "".join(line for _, line in lines_of(path))
    try:
        data = parse_json(text)
    except InvalidJson as err:
        raise ImportFormatError(err.message.rstrip(".")) from None
    except InvalidInput as err:
        raise ImportFormatError(f"{err.field or 'the file'}: {err.message.rstrip('.')}") from None
    if not isinstance(data, dict) or not isinstance(data.get("comments"), list):
        raise ImportFormatError(NOT_AN_EXPORT)
    if data.get("version") not in VERSIONS:
        raise ImportFormatError(
            f"unsupported export version {data.get('version')!r} "
            "(Commento writes version 1, Comentario 3 version 3)"
        )
    return data


def _url(n: int, record: dict[str, Any], base_url: str) -> str:
    path = record.get("url") or record.get("path")  # Commento's, Comentario 2's
    if not isinstance(path, str) or not path:
        raise ImportFormatError(f'comments[{n}] has no "url"')
    if "://" in path:
        return path
    domain = record.get("domain") or record.get("host")
    # Commento keeps the host only; the site's origin for that host (http or https) is
    # chosen when the import matches the page to the site.
    base = f"https://{domain.strip('/')}" if isinstance(domain, str) and domain else base_url
    return base.rstrip("/") + "/" + path.lstrip("/")


def _comment(n: int, record: dict[str, Any], commenters: dict[Any, Any]) -> ImportedComment:
    where = f"comments[{n}]"
    comment_id = record.get("commentHex")
    if not isinstance(comment_id, str) or not comment_id:
        raise ImportFormatError(f'{where} has no "commentHex"')
    state = record.get("state") or "approved"
    if state not in STATES:
        raise ImportFormatError(f"{where}: unknown state {state!r}")
    parent = record.get("parentHex")
    author = commenters.get(record.get("commenterHex"))
    author = author if isinstance(author, dict) else {}
    deleted = record.get("deleted") is True
    return ImportedComment(
        key=f"commento:{comment_id}",
        parent_key=f"commento:{parent}" if isinstance(parent, str) and parent != "root" else None,
        # A deleted comment is a placeholder for its replies: nothing of it is kept.
        name="" if deleted else _text(author.get("name")),
        email=None if deleted else _text(author.get("email")) or None,
        website=None if deleted else _website(author),
        body="" if deleted else _text(record.get("markdown")),
        created_at=_time(where, record.get("creationDate")),
        status=CommentStatus.DELETED if deleted else STATES[state],
    )


def _website(author: dict[Any, Any]) -> str | None:
    link = _text(author.get("link")) or _text(author.get("websiteUrl"))  # Comentario 2's name
    # Commento writes "undefined" for a commenter who gave no link.
    return link.replace("undefined", "") or None


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _time(where: str, value: object) -> datetime:
    try:
        return utc(datetime.fromisoformat(str(value)))
    except ValueError:
        raise ImportFormatError(
            f"{where}: unreadable creationDate {value!r} (expected 2019-04-02T10:11:12Z)"
        ) from None
