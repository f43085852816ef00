"""Disqus: the XML export from the Disqus admin (Moderation > Export).

The file lists `<thread>`s and `<post>`s side by side under `<disqus>`; a post names its
thread by `dsq:id`, and usually all threads come first, but not necessarily. Posts are
therefore collected per thread while streaming (only they, not a tree of the whole file)
and the threads are yielded once the file has been read.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from xml.etree.ElementTree import Element

from app.domain.errors import ImportFormatError
from app.domain.states import CommentStatus
from app.services.importers import line_of, local_name, parse_bool, stream_xml, text_of, utc
from app.services.importing import ImportedComment, ImportedThread

NS = "{http://disqus.com}"
DSQ_ID = "{http://disqus.com/disqus-internals}id"
DELETED_THREAD = "post on a deleted thread"
NO_ID = "post without a dsq:id (keyed by its content)"


@dataclass
class _Thread:
    url: str
    title: str
    created_at: datetime | None
    line: int | None
    deleted: bool
    closed: bool


def parse(
    path: Path, *, skipped: Counter[str] | None = None, repaired: Counter[str] | None = None
) -> Iterator[ImportedThread]:
    """The export's threads that have posts, in file order.

    `skipped` (optional) counts "post without a thread" (posts naming a thread the file does
    not have) and posts on deleted threads, which Disqus no longer showed; `repaired`
    (optional) counts posts without a dsq:id, keyed by their content instead.
    """
    skipped = Counter() if skipped is None else skipped
    repaired = Counter() if repaired is None else repaired
    threads: dict[str, _Thread] = {}
    posts: defaultdict[str, list[ImportedComment]] = defaultdict(list)
    for element in _elements(path):
        if element.tag == f"{NS}thread":
            threads[_id(element, "a <thread>")] = _Thread(
                url=text_of(element.find(f"{NS}link")).strip(),
                title=text_of(element.find(f"{NS}title")),
                created_at=_time(element),
                line=line_of(element),
                deleted=parse_bool(text_of(element.find(f"{NS}isDeleted"))),
                closed=parse_bool(text_of(element.find(f"{NS}isClosed"))),
            )
        elif element.tag == f"{NS}post":
            thread_id = _thread_of(element)
            posts[thread_id].append(_comment(element, thread_id, repaired))
    for thread_id, thread in threads.items():
        comments = posts.pop(thread_id, None)
        if comments and thread.deleted:
            skipped[DELETED_THREAD] += len(comments)
            continue
        if not comments:
            continue  # a thread is only made by its first comment
        if not thread.url:
            raise ImportFormatError(f"thread {thread_id} has no <link>", line=thread.line)
        yield ImportedThread(
            url=thread.url,
            title=thread.title,
            created_at=thread.created_at,
            comments=comments,
            closed=thread.closed,
        )
    orphans = sum(len(comments) for comments in posts.values())
    if orphans:
        skipped["post without a thread"] += orphans


def count(path: Path) -> int:
    """How many posts `parse` will yield; reads the file once, streaming, keeping only ids."""
    thread_ids: set[str] = set()
    per_thread: Counter[str] = Counter()
    for element in _elements(path):
        if element.tag == f"{NS}thread":
            if not parse_bool(text_of(element.find(f"{NS}isDeleted"))):
                thread_ids.add(element.get(DSQ_ID, ""))
        elif element.tag == f"{NS}post":
            ref = element.find(f"{NS}thread")
            per_thread[ref.get(DSQ_ID, "") if ref is not None else ""] += 1
    return sum(n for thread_id, n in per_thread.items() if thread_id in thread_ids)


def _elements(path: Path) -> Iterator[Element]:
    return stream_xml(path, depth=2, root=_wrong_root, stamped=frozenset({"thread", "post"}))


def _wrong_root(tag: str, _declared: set[str]) -> str | None:
    if tag != f"{NS}disqus":
        return (
            f"not a Disqus export: the root element is <{local_name(tag)}>, "
            'not <disqus xmlns="http://disqus.com">'
        )
    return None


def _id(element: Element, what: str) -> str:
    value = element.get(DSQ_ID, "").strip()
    if not value:
        raise ImportFormatError(f"{what} has no dsq:id", line=line_of(element))
    return value


def _thread_of(post: Element) -> str:
    ref = post.find(f"{NS}thread")
    if ref is None:
        raise ImportFormatError("a <post> has no <thread>", line=line_of(post))
    return _id(ref, "the <thread> of a <post>")


def _comment(post: Element, thread_id: str, repaired: Counter[str]) -> ImportedComment:
    parent = post.find(f"{NS}parent")
    parent_key = f"disqus:{_id(parent, 'the <parent> of a <post>')}" if parent is not None else None
    deleted = parse_bool(text_of(post.find(f"{NS}isDeleted")))
    if parse_bool(text_of(post.find(f"{NS}isSpam"))):
        status = CommentStatus.SPAM
    elif deleted:
        status = CommentStatus.DELETED
    else:
        status = CommentStatus.APPROVED
    name = text_of(post.find(f"{NS}author/{NS}name"))
    email = text_of(post.find(f"{NS}author/{NS}email")).strip()
    body = text_of(post.find(f"{NS}message"))
    created = _time(post)
    post_id = post.get(DSQ_ID, "").strip()
    if not post_id:
        # Nothing can reply to it (a reply names its parent by dsq:id), but a re-import must
        # find it again: a key made of what the post is.
        stamp = created.isoformat() if created else ""
        made_of = "\x1f".join((thread_id, name, email, stamp, body))
        post_id = "sha256-" + hashlib.sha256(made_of.encode("utf-8", "surrogatepass")).hexdigest()
        repaired[NO_ID] += 1
    if created is None:
        raise ImportFormatError(f"post {post_id} has no <createdAt>", line=line_of(post))
    if deleted:
        # Its author or a moderator took it back: a placeholder keeps the replies in place,
        # and nothing of what it said or who said it is stored.
        name = email = body = ""
    return ImportedComment(
        key=f"disqus:{post_id}",
        parent_key=parent_key,
        name=name,
        email=email or None,
        body=body,
        body_is_html=True,
        created_at=created,
        status=status,
        remote_addr=None if deleted else text_of(post.find(f"{NS}ipAddress")).strip() or None,
    )


def _time(element: Element) -> datetime | None:
    value = text_of(element.find(f"{NS}createdAt")).strip()
    if not value:
        return None
    try:
        return utc(datetime.fromisoformat(value))
    except ValueError:
        raise ImportFormatError(
            f"unreadable <createdAt> {value!r} (expected 2019-04-02T10:11:12Z)",
            line=line_of(element),
        ) from None
