"""WordPress: the WXR file from Tools > Export (RSS 2.0 plus WordPress's own namespace).

Each `<item>` is a post, a page or something else (an attachment, a menu entry, ...); posts
and pages become threads. Pingbacks and trackbacks are left out: they are notices that
another site linked here, not something a reader wrote.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from xml.etree.ElementTree import Element

from app.domain.errors import ImportFormatError
from app.domain.states import CommentStatus
from app.services.importers import line_of, local_name, namespace, stream_xml, text_of
from app.services.importing import ImportedComment, ImportedThread

# WXR 1.0, 1.1 and 1.2 differ only in fields this import does not read; WordPress's own
# importer takes every WXR namespace with http or https.
WXR_PREFIXES = ("http://wordpress.org/export/", "https://wordpress.org/export/")
THREAD_TYPES = frozenset({"post", "page"})
STATUSES = {
    "1": CommentStatus.APPROVED,
    "0": CommentStatus.PENDING,
    "spam": CommentStatus.SPAM,
    "trash": CommentStatus.DELETED,
    "post-trashed": CommentStatus.DELETED,  # trashed along with its post
}
NO_DATE = "0000-00-00 00:00:00"  # what WordPress writes for a GMT time it never set
# Comments on anything but a published post would be shown to readers WordPress did not
# show them to: they are left out, and the summary says how many.
PUBLISHED = "publish"
PROTECTED = "comment on a password-protected post"
UNPUBLISHED = "comment on an unpublished post"
UNDATED = "comment without a date (given its post's)"


def parse(
    path: Path, *, skipped: Counter[str] | None = None, repaired: Counter[str] | None = None
) -> Iterator[ImportedThread]:
    """The WXR file's posts and pages that have comments, one thread at a time.

    `skipped` (optional) is filled with what was left out: "pingback", "trackback", any
    other comment type by its name, "comment on <post type>" for comments on items that
    are not posts or pages, and comments on password-protected or unpublished posts.
    `repaired` (optional) counts comments without a date, which take their post's.
    """
    skipped = Counter() if skipped is None else skipped
    repaired = Counter() if repaired is None else repaired
    for item in _items(path):
        fields = _wp_fields(item)
        wanted, parents = _wanted_comments(item, fields, skipped)
        post_time = _time(fields.get("post_date_gmt"), fields.get("post_date"), item)
        made = (_comment(c, parents, post_time, repaired, skipped) for c in wanted)
        comments = [c for c in made if c is not None]
        if not comments:
            continue  # a thread is only made by its first comment
        link = text_of(item.find("link")).strip()
        if not link:
            title = text_of(item.find("title"))
            raise ImportFormatError(f"the item {title!r} has no <link>", line=line_of(item))
        yield ImportedThread(
            url=link,
            title=text_of(item.find("title")),
            # A hand-made item may have no date; its first comment is the closest thing.
            created_at=post_time or min(c.created_at for c in comments),
            comments=comments,
            closed=fields.get("comment_status", "").strip() == "closed",
        )


def count(path: Path) -> int:
    """How many comments `parse` will yield; reads the file once, streaming."""
    ignored: Counter[str] = Counter()
    total = 0
    for item in _items(path):
        fields = _wp_fields(item)
        has_date = _time(fields.get("post_date_gmt"), fields.get("post_date"), item) is not None
        for element in _wanted_comments(item, fields, ignored)[0]:
            comment = _wp_fields(element)
            total += has_date or bool(
                _time(comment.get("comment_date_gmt"), comment.get("comment_date"), element)
            )
    return total


def _items(path: Path) -> Iterator[Element]:
    for element in stream_xml(
        path, depth=3, root=_wrong_root, stamped=frozenset({"item", "comment"})
    ):
        if element.tag == "item":
            yield element


def _wrong_root(tag: str, declared: set[str]) -> str | None:
    if tag != "rss":
        return f"not a WordPress export: the root element is <{local_name(tag)}>, not <rss>"
    if not any(uri.startswith(WXR_PREFIXES) for uri in declared):
        return (
            f'not a WordPress export: no xmlns:wp="{WXR_PREFIXES[0]}1.2/" namespace (http or https)'
        )
    return None


def _is_wxr(element: Element) -> bool:
    return namespace(element.tag).startswith(WXR_PREFIXES)


def _wp_fields(element: Element) -> dict[str, str]:
    """The element's wp: children by name (post_type, comment_id, ...), as text."""
    return {local_name(child.tag): text_of(child) for child in element if _is_wxr(child)}


def _wanted_comments(
    item: Element, fields: dict[str, str], skipped: Counter[str]
) -> tuple[list[Element], dict[str, str]]:
    """The item's comments to import, and the parent of each comment left out (by id), so
    that a reply to a pingback can hang where the pingback did."""
    post_type = fields.get("post_type", "post").strip() or "post"
    # An old or hand-made export may have no status: its posts were published.
    status = fields.get("status", "").strip() or PUBLISHED
    protected = bool(fields.get("post_password", "").strip())
    wanted = []
    parents: dict[str, str] = {}
    for element in item:
        if not (_is_wxr(element) and local_name(element.tag) == "comment"):
            continue
        comment = _wp_fields(element)
        kind = comment.get("comment_type", "").strip() or "comment"
        if kind != "comment":
            skipped[kind] += 1
            parents[comment.get("comment_id", "").strip()] = comment.get(
                "comment_parent", ""
            ).strip()
        elif post_type not in THREAD_TYPES:
            skipped[f"comment on {post_type}"] += 1
        elif protected:
            skipped[PROTECTED] += 1
        elif status != PUBLISHED:  # draft, pending, private, future, trash, inherit
            skipped[UNPUBLISHED] += 1
        else:
            wanted.append(element)
    return wanted, parents


def _comment(
    element: Element,
    left_out: dict[str, str],
    post_time: datetime | None,
    repaired: Counter[str],
    skipped: Counter[str],
) -> ImportedComment | None:
    fields = _wp_fields(element)
    comment_id = fields.get("comment_id", "").strip()
    if not comment_id:
        raise ImportFormatError("a comment has no <wp:comment_id>", line=line_of(element))
    parent = fields.get("comment_parent", "").strip()
    seen = set()
    while parent in left_out and parent not in seen:  # a pingback's reply: up a level
        seen.add(parent)
        parent = left_out[parent]
    created = _time(fields.get("comment_date_gmt"), fields.get("comment_date"), element)
    if created is None:
        if post_time is None:
            skipped["comment without a date, on a post without one"] += 1
            return None
        repaired[UNDATED] += 1
        created = post_time
    return ImportedComment(
        key=f"wordpress:{comment_id}",
        parent_key=f"wordpress:{parent}" if parent not in {"", "0"} else None,
        name=fields.get("comment_author", ""),
        email=fields.get("comment_author_email") or None,
        website=fields.get("comment_author_url") or None,
        body=fields.get("comment_content", ""),
        body_is_html=True,
        created_at=created,
        # Anything else is a status this import does not know: held for a moderator rather
        # than published.
        status=STATUSES.get(fields.get("comment_approved", "").strip(), CommentStatus.PENDING),
        remote_addr=fields.get("comment_author_IP", "").strip() or None,
    )


def _time(gmt: str | None, local: str | None, element: Element) -> datetime | None:
    """The GMT time, else the local one, else None.

    The local time is read as UTC, off by the blog's offset: WXR does not say what the
    offset was, and WordPress only leaves the GMT time unset on very old or hand-made posts.
    """
    for value in ((gmt or "").strip(), (local or "").strip()):
        if value and value != NO_DATE:
            try:
                return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            except ValueError:
                raise ImportFormatError(
                    f"unreadable date {value!r} (expected 2019-04-02 10:11:12)",
                    line=line_of(element),
                ) from None
    return None
