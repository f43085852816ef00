"""Importing from WordPress (WXR), Disqus (XML) and Isso (SQLite) through `import_threads`."""

from __future__ import annotations

import hashlib
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import func, select

from app.domain.errors import ValidationError
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import Comment, Site, Thread
from app.services.importers import PARSERS, disqus, isso, wordpress
from app.services.importing import ImportedThread, ImportFormatError, import_threads
from tests.helpers import IMPORT_DATA, ISSO_SCHEMA

DATA = IMPORT_DATA
WORDPRESS = DATA / "wordpress.xml"
DISQUS = DATA / "disqus.xml"
BASE_URL = "https://blog.example"
BRULEE = "https://blog.example/2019/04/creme-brulee/"
RYE = "https://blog.example/2019/03/rye-sourdough/"
LINK_HTML = '<a href="https://torches.example/grill" rel="nofollow ugc noopener">'


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


ISSO_THREADS = [
    (1, "/2019/04/creme-brulee/", "Crème brûlée without a blowtorch"),
    (2, "/2019/03/rye-sourdough/", "Rye sourdough, step by step"),
    (3, "/2019/05/kouign-amann/", "Kouign-amann, slowly"),  # no comments: no thread
]
# tid, id, parent, created, modified, mode, remote_addr, text, author, email, website
ISSO_COMMENTS = [
    (1, 1, None, 1554199872.123456, None, 1, "203.0.113.0",
     "Made this for my sister's birthday — the sugar cracked like thin ice! 🍮",
     "Zoë", "zoe@mail.example", "https://zoe.example"),
    (1, 2, 1, 1554206405.0, 1554210000.5, 1, "198.51.100.0",
     "Thank you, Zoë! No torch? The grill does it: "
     "[three minutes, door open](https://torches.example/grill).\n\n"
     '<script>alert("crème")</script>',
     "Marguerite", "marguerite@blog.example", "https://blog.example"),
    (1, 3, 2, 1554280200.0, None, 1, "192.0.2.0",
     "Does the grill trick work with a *water bath* & deep ramekins? 🤔",
     "Tomás", None, ""),
    (1, 4, None, 1554396300.0, None, 2, "192.0.2.0",
     "Could I use oat cream instead?", "Ama", "ama@mail.example", None),
    # How Isso keeps a deleted comment: text and author emptied, mode 4.
    (1, 5, None, 1554396000.0, None, 4, "192.0.2.0", "", None, None, None),
    (2, 6, None, 1552295730.0, None, 1, "192.0.2.0",
     "Mein Roggensauer ist endlich aktiv — danke! Ça marche 🥖",
     "Jürgen", "juergen@mail.example", None),
    (99, 7, None, 1545674400.0, None, 1, "192.0.2.0", "Lost in the move.", "Nobody", None, None),
]  # fmt: skip


@pytest.fixture
def isso_db(tmp_path: Path) -> Path:
    path = tmp_path / "isso.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(ISSO_SCHEMA)
        conn.executemany("INSERT INTO threads VALUES (?, ?, ?)", ISSO_THREADS)
        conn.executemany(
            "INSERT INTO comments (tid, id, parent, created, modified, mode, remote_addr,"
            " text, author, email, website, voters) VALUES (?,?,?,?,?,?,?,?,?,?,?, x'')",
            ISSO_COMMENTS,
        )
    conn.close()
    return path


Parse = Callable[[Path], Iterator[ImportedThread]]


def source(name: str, isso_db: Path) -> tuple[Parse, Callable[[Path], int], Path]:
    if name == "isso":
        return partial(isso.parse, base_url=BASE_URL), isso.count, isso_db
    module = PARSERS[name]
    return module.parse, module.count, DATA / f"{name}.xml"


def comments_by_key() -> dict[str, Comment]:
    return {c.import_key: c for c in db.session.scalars(select(Comment))}


def threads_by_url() -> dict[str, Thread]:
    return {t.url: t for t in db.session.scalars(select(Thread))}


def row_counts() -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(Thread)),
        db.session.scalar(select(func.count()).select_from(Comment)),
    )


def approved_in(thread: Thread) -> int:
    return db.session.scalar(
        select(func.count()).where(
            Comment.thread_id == thread.id, Comment.status == CommentStatus.APPROVED
        )
    )


def assert_chain(comments: dict[str, Comment], *keys: str) -> None:
    """`keys` are a root, its reply and the reply's reply: parents and roots line up."""
    root, reply, reply_to_reply = (comments[k] for k in keys)
    assert root.parent_id is None
    assert reply.parent_id == root.id
    assert reply_to_reply.parent_id == reply.id
    assert {root.root_id, reply.root_id, reply_to_reply.root_id} == {root.id}


# --- WordPress ---------------------------------------------------------------------------


def test_wordpress_import(site: Site) -> None:
    skipped: Counter[str] = Counter()
    summary = import_threads(site, wordpress.parse(WORDPRESS, skipped=skipped))

    assert (summary.threads_created, summary.comments_added) == (2, 7)
    assert skipped == {"pingback": 2, "trackback": 1, "comment on attachment": 1}
    threads = threads_by_url()
    assert set(threads) == {BRULEE, "https://blog.example/about/"}
    brulee = threads[BRULEE]
    assert brulee.title == "Crème brûlée without a blowtorch"
    assert brulee.created_at == at(2019, 4, 1, 8, 0, 0)

    comments = comments_by_key()
    # Pingbacks, trackbacks and the comment on an attachment never arrive.
    assert set(comments) == {f"wordpress:{n}" for n in (101, 102, 103, 104, 105, 106, 201)}
    assert_chain(comments, "wordpress:101", "wordpress:102", "wordpress:103")
    assert {k: c.status for k, c in comments.items()} == {
        "wordpress:101": CommentStatus.APPROVED,
        "wordpress:102": CommentStatus.APPROVED,
        "wordpress:103": CommentStatus.APPROVED,
        "wordpress:104": CommentStatus.PENDING,
        "wordpress:105": CommentStatus.SPAM,
        "wordpress:106": CommentStatus.DELETED,
        "wordpress:201": CommentStatus.APPROVED,
    }
    assert comments["wordpress:101"].created_at == at(2019, 4, 2, 10, 11, 12)
    # No GMT time ("0000-00-00 00:00:00"): the local one stands in.
    assert comments["wordpress:103"].created_at == at(2019, 4, 3, 8, 30, 0)

    zoe = comments["wordpress:101"]
    assert zoe.guest_name == "Zoë"
    assert zoe.guest_email == "zoe@mail.example"
    assert zoe.guest_website == "https://zoe.example"
    assert zoe.html == (
        "<p>Made this for my sister's birthday — the sugar cracked like thin ice! 🍮</p>"
    )
    reply = comments["wordpress:102"]
    assert "<script" not in reply.html and "alert" not in reply.html
    assert LINK_HTML in reply.html
    assert reply.html.count("<p>") == 2  # bare blank lines became paragraphs
    # Content written as escaped text rather than CDATA reads the same.
    assert comments["wordpress:103"].html == (
        "<p>Does the grill trick work with a water bath &amp; deep ramekins? 🤔</p>"
    )
    assert comments["wordpress:201"].guest_name == "Jürgen"

    assert brulee.approved_count == approved_in(brulee) == 3
    assert threads["https://blog.example/about/"].approved_count == 1


def test_wordpress_older_wxr_versions_are_read(tmp_path: Path, site: Site) -> None:
    path = tmp_path / "wxr11.xml"
    path.write_text(
        WORDPRESS.read_text(encoding="utf-8").replace("export/1.2/", "export/1.1/"),
        encoding="utf-8",
    )
    assert import_threads(site, wordpress.parse(path)).comments_added == 7


# --- Disqus ------------------------------------------------------------------------------


def test_disqus_import(site: Site) -> None:
    skipped: Counter[str] = Counter()
    summary = import_threads(site, disqus.parse(DISQUS, skipped=skipped))

    # The thread without posts is not created; the post naming no known thread is left out.
    assert (summary.threads_created, summary.comments_added) == (2, 6)
    assert skipped == {"post without a thread": 1}
    threads = threads_by_url()
    assert set(threads) == {BRULEE, RYE}  # the rye thread comes after posts in the file
    assert threads[BRULEE].created_at == at(2019, 4, 1, 8, 0, 0)

    comments = comments_by_key()
    assert set(comments) == {f"disqus:{n}" for n in range(9001, 9007)}
    assert_chain(comments, "disqus:9001", "disqus:9002", "disqus:9003")
    assert comments["disqus:9004"].status is CommentStatus.SPAM
    assert comments["disqus:9005"].status is CommentStatus.DELETED
    assert {c.status for k, c in comments.items() if k not in {"disqus:9004", "disqus:9005"}} == {
        CommentStatus.APPROVED
    }
    assert comments["disqus:9001"].created_at == at(2019, 4, 2, 10, 11, 12)
    assert comments["disqus:9006"].created_at == at(2019, 3, 11, 9, 15, 30)

    assert comments["disqus:9001"].guest_name == "Zoë"
    assert "🍮" in comments["disqus:9001"].html
    assert comments["disqus:9003"].guest_email is None  # an anonymous post has no email
    assert comments["disqus:9006"].html == (
        "<p>Mein Roggensauer ist endlich aktiv — danke! Ça marche 🥖</p>"
    )
    reply = comments["disqus:9002"]
    assert "<script" not in reply.html and "alert" not in reply.html
    assert LINK_HTML in reply.html

    assert threads[BRULEE].approved_count == approved_in(threads[BRULEE]) == 3
    assert threads[RYE].approved_count == 1


# --- Isso --------------------------------------------------------------------------------


def test_isso_import(site: Site, isso_db: Path) -> None:
    before = hashlib.sha256(isso_db.read_bytes()).hexdigest()
    skipped: Counter[str] = Counter()
    summary = import_threads(site, isso.parse(isso_db, base_url=BASE_URL, skipped=skipped))

    assert (summary.threads_created, summary.comments_added) == (2, 6)
    assert skipped == {"comment without a thread": 1}
    threads = threads_by_url()
    assert set(threads) == {BRULEE, RYE}  # Isso's paths joined with the base URL
    assert threads[BRULEE].title == "Crème brûlée without a blowtorch"

    comments = comments_by_key()
    assert set(comments) == {f"isso:{n}" for n in range(1, 7)}
    assert_chain(comments, "isso:1", "isso:2", "isso:3")
    assert comments["isso:4"].status is CommentStatus.PENDING
    assert comments["isso:5"].status is CommentStatus.DELETED
    assert {comments[f"isso:{n}"].status for n in (1, 2, 3, 6)} == {CommentStatus.APPROVED}
    # Isso's float timestamps, to the microsecond; `modified` is the edit time.
    assert comments["isso:1"].created_at == at(2019, 4, 2, 10, 11, 12, 123456)
    assert comments["isso:2"].edited_at == at(2019, 4, 2, 13, 0, 0, 500000)
    assert threads[BRULEE].created_at == comments["isso:1"].created_at

    zoe = comments["isso:1"]
    assert (zoe.guest_name, zoe.guest_website) == ("Zoë", "https://zoe.example")
    assert zoe.body == "Made this for my sister's birthday — the sugar cracked like thin ice! 🍮"
    reply = comments["isso:2"]
    assert "<script" not in reply.html  # Markdown keeps raw HTML as text, never as a tag
    assert LINK_HTML in reply.html
    assert comments["isso:3"].html == (
        "<p>Does the grill trick work with a <em>water bath</em> &amp; deep ramekins? 🤔</p>"
    )
    assert comments["isso:5"].guest_name == "Anonymous"

    assert threads[BRULEE].approved_count == approved_in(threads[BRULEE]) == 3
    assert threads[RYE].approved_count == 1
    # Opened read-only: Isso's file is exactly as it was.
    assert hashlib.sha256(isso_db.read_bytes()).hexdigest() == before


def test_isso_refuses_a_base_that_is_not_a_url(isso_db: Path) -> None:
    with pytest.raises(ValidationError):
        next(isso.parse(isso_db, base_url="blog.example"))


def test_isso_refuses_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "comments.db"
    path.write_bytes(b"definitely not SQLite " * 100)
    with pytest.raises(ImportFormatError, match="not a readable Isso database"):
        next(isso.parse(path, base_url=BASE_URL))
    with pytest.raises(ImportFormatError):
        isso.count(path)


def test_isso_does_not_create_a_missing_database(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        next(isso.parse(tmp_path / "nope.db", base_url=BASE_URL))
    assert not (tmp_path / "nope.db").exists()


# --- Every format ------------------------------------------------------------------------

FORMATS = ["wordpress", "disqus", "isso"]


@pytest.mark.parametrize("name", FORMATS)
def test_importing_twice_adds_nothing(name: str, site: Site, isso_db: Path) -> None:
    parse, _, path = source(name, isso_db)
    first = import_threads(site, parse(path))
    counts = row_counts()
    approved = {url: t.approved_count for url, t in threads_by_url().items()}

    again = import_threads(site, parse(path))

    assert (again.threads_created, again.comments_added) == (0, 0)
    assert again.comments_skipped == first.comments_added
    assert row_counts() == counts
    assert {url: t.approved_count for url, t in threads_by_url().items()} == approved


@pytest.mark.parametrize("name", FORMATS)
def test_count_matches_what_parse_yields(name: str, site: Site, isso_db: Path) -> None:
    parse, count, path = source(name, isso_db)
    progress: list[int] = []
    summary = import_threads(site, parse(path), progress=progress.append)
    assert count(path) == sum(progress) == summary.comments_added


# --- Hostile and broken files ------------------------------------------------------------


@pytest.mark.parametrize("module", [wordpress, disqus], ids=["wordpress", "disqus"])
@pytest.mark.parametrize("filename", ["billion_laughs.xml", "external_entity.xml"])
def test_entities_and_dtds_are_refused(module: ModuleType, filename: str, site: Site) -> None:
    path = DATA / filename
    with pytest.raises(ImportFormatError, match="declares entities or a DTD") as caught:
        import_threads(site, module.parse(path))
    assert caught.value.line == 2
    with pytest.raises(ImportFormatError, match="declares entities or a DTD"):
        module.count(path)
    assert row_counts() == (0, 0)


def test_a_malformed_file_leaves_the_database_untouched(site: Site) -> None:
    progress: list[int] = []
    with pytest.raises(ImportFormatError, match="broken XML: mismatched tag") as caught:
        import_threads(
            site, wordpress.parse(DATA / "malformed_wordpress.xml"), progress=progress.append
        )
    assert caught.value.line == 29
    assert progress == [1]  # the first thread had gone in before the error...
    assert row_counts() == (0, 0)  # ...and was rolled back with the rest


def test_the_wrong_kind_of_file_is_named(site: Site) -> None:
    with pytest.raises(ImportFormatError, match="not a WordPress export"):
        import_threads(site, wordpress.parse(DISQUS))
    with pytest.raises(ImportFormatError, match="not a Disqus export"):
        import_threads(site, disqus.parse(WORDPRESS))


def wxr(item: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/"><channel>\n'
        f"{item}\n</channel></rss>\n"
    )


WP_COMMENT = """<wp:comment>
<wp:comment_id>7</wp:comment_id>
<wp:comment_date_gmt>2019-04-02 10:11:12</wp:comment_date_gmt>
<wp:comment_content>Hi</wp:comment_content>
<wp:comment_approved>1</wp:comment_approved>
</wp:comment>"""
NO_ID = WP_COMMENT.replace("7</wp:comment_id>", "</wp:comment_id>")
BAD_DATE = WP_COMMENT.replace("2019-04-02 10:11:12", "April 2nd")


@pytest.mark.parametrize(
    ("item", "message", "line"),
    [
        (f"<item><title>No link</title>\n{WP_COMMENT}</item>", "has no <link>", 3),
        (f"<item><link>{BRULEE}</link>\n{NO_ID}</item>", "has no <wp:comment_id>", 4),
        (f"<item><link>{BRULEE}</link>\n{BAD_DATE}</item>", "unreadable date", 4),
    ],
)
def test_wordpress_missing_fields_name_their_line(
    item: str, message: str, line: int, tmp_path: Path
) -> None:
    path = tmp_path / "broken.xml"
    path.write_text(wxr(item), encoding="utf-8")
    with pytest.raises(ImportFormatError, match=message) as caught:
        list(wordpress.parse(path))
    assert caught.value.line == line


def test_disqus_missing_fields_name_their_line(tmp_path: Path) -> None:
    head = '<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">\n'
    post = '<post dsq:id="1"><createdAt>2019-04-02T10:11:12Z</createdAt>{}</post>\n'
    path = tmp_path / "broken.xml"

    path.write_text(head + post.format("") + "</disqus>", encoding="utf-8")
    with pytest.raises(ImportFormatError, match="has no <thread>") as caught:
        list(disqus.parse(path))
    assert caught.value.line == 2

    thread = '<thread dsq:id="5"><title>No link</title></thread>\n'
    path.write_text(
        head + thread + post.format('<thread dsq:id="5"/>') + "</disqus>", encoding="utf-8"
    )
    with pytest.raises(ImportFormatError, match="thread 5 has no <link>") as caught:
        list(disqus.parse(path))
    assert caught.value.line == 2
