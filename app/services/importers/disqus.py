"""Disqus: the XML export from the Disqus admin (Moderation > Export).

The file lists `<thread>`s and `<post>`s side by side under `<disqus>`; a post names its
thread by `dsq:id`, and usually all threads come first, but not necessarily. Posts are
therefore collected per thread while streaming (only they, not a tree of the whole file)
and the threads are yielded once the file has been read.
"""

from __future__ import annotations

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


@dataclass
class _Thread:
    url: str
    title: str
    created_at: datetime | None
    line: int | None


def parse(path: Path, *, skipped: Counter[str] | None = None) -> Iterator[ImportedThread]:
    """The export's threads that have posts, in file order.

    `skipped` (optional) counts "post without a thread": posts naming a thread the file
    does not have.
    """
    skipped = Counter() if skipped is None else skipped
    threads: dict[str, _Thread] = {}
    posts: defaultdict[str, list[ImportedComment]] = defaultdict(list)
    for element in _elements(path):
        if element.tag == f"{NS}thread":
            threads[_id(element, "a <thread>")] = _Thread(
                url=text_of(element.find(f"{NS}link")).strip(),
                title=text_of(element.find(f"{NS}title")),
                created_at=_time(element),
                line=line_of(element),
            )
        elif element.tag == f"{NS}post":
            posts[_thread_of(element)].append(_comment(element))
    for thread_id, thread in threads.items():
        comments = posts.pop(thread_id, None)
        if not comments:
            continue  # a thread is only made by its first comment
        if not thread.url:
            raise ImportFormatError(f"thread {thread_id} has no <link>", line=thread.line)
        yield ImportedThread(
            url=thread.url, title=thread.title, created_at=thread.created_at, comments=comments
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


def _comment(post: Element) -> ImportedComment:
    post_id = _id(post, "a <post>")
    parent = post.find(f"{NS}parent")
    parent_key = f"disqus:{_id(parent, 'the <parent> of a <post>')}" if parent is not None else None
    if parse_bool(text_of(post.find(f"{NS}isSpam"))):
        status = CommentStatus.SPAM
    elif parse_bool(text_of(post.find(f"{NS}isDeleted"))):
        status = CommentStatus.DELETED
    else:
        status = CommentStatus.APPROVED
    created = _time(post)
    if created is None:
        raise ImportFormatError(f"post {post_id} has no <createdAt>", line=line_of(post))
    return ImportedComment(
        key=f"disqus:{post_id}",
        parent_key=parent_key,
        name=text_of(post.find(f"{NS}author/{NS}name")),
        email=text_of(post.find(f"{NS}author/{NS}email")).strip() or None,
        body=text_of(post.find(f"{NS}message")),
        body_is_html=True,
        created_at=created,
        status=status,
        remote_addr=text_of(post.find(f"{NS}ipAddress")).strip() or None,
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
