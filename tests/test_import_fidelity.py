"""Imports show readers what the old system showed them, and nothing it did not: private
posts stay private, text looks as it did, its editable source renders the same, and one
odd record does not sink a file. The sample files are tests/data/imports/*_edge.xml."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.domain.markdown import render_markdown
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import Comment, Site, Thread
from app.services.importers import disqus, isso, wordpress
from app.services.importing import ImportedComment, ImportedThread, import_threads
from tests.factories import POST_URL, guest_payload, post_json
from tests.helpers import IMPORT_DATA, ISSO_SCHEMA

WXR_EDGE = IMPORT_DATA / "wordpress_edge.xml"
DISQUS_EDGE = IMPORT_DATA / "disqus_edge.xml"
BASE_URL = "https://blog.example"
SOURDOUGH = "https://blog.example/2020/cold-sourdough/"
UNDATED = "https://blog.example/2020/undated/"

# What every sample's tricky lines must look like to a reader: the text as typed.
AS_TYPED = [
    "1. not a list",
    "# not a heading",
    "--- not a rule",
    "&gt; not a quote",
    "~~struck~~",
    "*stars*",
    "a_b_c",
    "&lt;script&gt;",
    "&amp;amp;",
]


def comments_by_key() -> dict[str, Comment]:
    return {c.import_key: c for c in db.session.scalars(select(Comment))}


def isso_edge(tmp_path: Path) -> Path:
    path = tmp_path / "isso.db"
    rows = [
        # Isso keeps author, email and website HTML-escaped, and text as typed.
        (1, 1, None, 1591092000.0, "Zoë &amp; &lt;Bob&gt;", "zoe&amp;bob@mail.example",
         "https://zoe.example/?a=1&amp;b=2",
         "First line\nsecond line\n\nA paragraph of its own\n"
         "~~struck~~ *stars* a_b_c <script> &amp;\n> quoted\n\n# A heading\nafter it"),
        (1, 2, 1, 1591095600.0, "Tomás", "not an email", None,
         "- one\n- two\n\n```\ncode\nkept\n```\nafter the code\nand on"),
    ]  # fmt: skip
    with sqlite3.connect(path) as conn:
        conn.executescript(ISSO_SCHEMA)
        conn.execute("INSERT INTO threads VALUES (1, '/2020/cold-sourdough/', 'Sourdough')")
        conn.executemany(
            "INSERT INTO comments (tid, id, parent, created, mode, author, email, website, text,"
            " voters) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, x'')",
            rows,
        )
    conn.close()
    return path


# --- 1. WXR in the https namespaces, after a byte order mark and blank lines --------------


def test_wxr_with_https_namespaces_and_a_bom_imports(site: Site) -> None:
    assert WXR_EDGE.read_bytes().startswith(b"\xef\xbb\xbf\n\n<?xml")
    summary = import_threads(site, wordpress.parse(WXR_EDGE))
    assert (summary.threads_created, summary.comments_added) == (2, 6)


def test_leading_blank_lines_keep_line_numbers_right(tmp_path: Path) -> None:
    path = tmp_path / "broken.xml"
    path.write_bytes(b"\n\n" + DISQUS_EDGE.read_bytes().replace(b"</post>", b"</pots>", 1))
    with pytest.raises(disqus.ImportFormatError, match="mismatched tag") as caught:
        list(disqus.parse(path))
    assert caught.value.line == 30 + 2  # the line in the file, as an editor shows it


def test_a_file_without_the_wxr_namespace_is_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "rss.xml"
    path.write_text('<?xml version="1.0"?><rss version="2.0"><channel/></rss>')
    with pytest.raises(wordpress.ImportFormatError, match=r"no xmlns:wp=.*\(http or https\)"):
        list(wordpress.parse(path))


# --- 2. Nothing private becomes public -------------------------------------------------


def test_comments_on_protected_or_unpublished_posts_are_left_out(site: Site) -> None:
    skipped: Counter[str] = Counter()
    import_threads(site, wordpress.parse(WXR_EDGE, skipped=skipped))
    assert skipped == {
        "pingback": 1,
        "comment on a password-protected post": 1,
        # draft, private, pending, future, trash
        "comment on an unpublished post": 5,
    }
    assert {t.url for t in db.session.scalars(select(Thread))} == {SOURDOUGH, UNDATED}
    assert not any("On a" in c.body or "password" in c.body for c in comments_by_key().values())
    assert wordpress.count(WXR_EDGE) == 6


def test_disqus_deleted_threads_and_posts_keep_nothing_of_what_was_said(site: Site) -> None:
    skipped: Counter[str] = Counter()
    summary = import_threads(site, disqus.parse(DISQUS_EDGE, skipped=skipped))
    assert skipped == {"post on a deleted thread": 1}
    assert summary.comments_added == disqus.count(DISQUS_EDGE) == 5
    comments = comments_by_key()
    assert "disqus:9201" not in comments
    for key in ("disqus:9102", "disqus:9103"):  # without and with a reply
        gone = comments[key]
        assert gone.status is CommentStatus.DELETED
        assert (gone.body, gone.html, gone.guest_email, gone.remote_addr_hash) == (
            "",
            "",
            None,
            None,
        )
        assert gone.guest_name == "Anonymous"
    assert comments["disqus:9104"].parent_id == comments["disqus:9103"].id
    stored = " ".join(
        f"{c.guest_name} {c.guest_email} {c.body} {c.html}" for c in comments.values()
    )
    assert "Secret" not in stored and "secret@" not in stored and "Taken back" not in stored


# --- 3. What readers see is what the old system showed ---------------------------------


def test_isso_fields_are_unescaped_and_single_newlines_stay_breaks(
    site: Site, tmp_path: Path
) -> None:
    import_threads(site, isso.parse(isso_edge(tmp_path), base_url=BASE_URL))
    comments = comments_by_key()
    zoe = comments["isso:1"]
    assert zoe.guest_name == "Zoë & <Bob>"
    assert zoe.guest_email == "zoe&bob@mail.example"
    assert zoe.guest_website == "https://zoe.example/?a=1&b=2"
    # Isso's text is Markdown: there, unlike in HTML from elsewhere, "~~" strikes.
    assert zoe.html == (
        "<p>First line<br>\nsecond line</p>\n<p>A paragraph of its own<br>\n"
        "<s>struck</s> <em>stars</em> a_b_c &lt;script&gt; &amp;</p>\n"
        "<blockquote>\n<p>quoted</p>\n</blockquote>\n<h1>A heading</h1>\n<p>after it</p>"
    )
    tomas = comments["isso:2"]
    assert tomas.guest_email is None  # "not an email"
    assert tomas.html == (
        "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n<pre><code>code\nkept\n</code></pre>\n"
        "<p>after the code<br>\nand on</p>"
    )


def test_wordpress_text_with_pre_param_or_p_words_still_gets_paragraphs(site: Site) -> None:
    import_threads(site, wordpress.parse(WXR_EDGE))
    html = comments_by_key()["wordpress:312"].html
    assert html == (
        "<p>A</p>\n<pre><code>kept   as\n\n  typed\n</code></pre>\n"
        "<p>block, a tag<br>\nand a after it.</p>\n"
        # The line of spaces before it ended the paragraph.
        "<p>A new paragraph after a line of spaces, with <s>old</s> and <s>gone</s> words.</p>"
    )
    tricky = comments_by_key()["wordpress:311"].html
    assert tricky.startswith("<p>1. not a list<br>\n# not a heading<br>\n")


def test_a_real_p_tag_still_means_the_text_has_its_paragraphs(site: Site) -> None:
    body = '<p class="x">One\ntwo</p><p>Three</p>'
    thread = ImportedThread(
        url=POST_URL,
        comments=[
            ImportedComment(
                key="wp:1", parent_key=None, name="A", body=body, body_is_html=True,
                created_at=datetime(2020, 1, 1, tzinfo=UTC),
            )
        ],
    )  # fmt: skip
    import_threads(site, [thread])
    assert db.session.scalars(select(Comment.html)).one() == "<p>One\ntwo</p>\n<p>Three</p>"


def test_strikethrough_survives_a_comment_written_here(client, site: Site) -> None:
    resp = post_json(client, site, guest_payload(body="a ~~struck~~ b"))
    assert resp.status_code == 201
    assert resp.json["comment"]["html"] == "<p>a <s>struck</s> b</p>"


def test_strikethrough_survives_every_importer(site: Site, tmp_path: Path) -> None:
    import_threads(site, wordpress.parse(WXR_EDGE))
    import_threads(site, disqus.parse(DISQUS_EDGE))
    import_threads(site, isso.parse(isso_edge(tmp_path), base_url=BASE_URL))
    comments = comments_by_key()
    assert "<s>old</s>" in comments["wordpress:312"].html
    assert "<s>really struck</s>" in comments["disqus:9101"].html
    assert "<s>struck</s>" in comments["isso:1"].html


# --- 4. An imported comment's editable source reproduces it ----------------------------


def test_every_sample_comment_renders_from_its_source_as_stored(site: Site, tmp_path: Path) -> None:
    for path in ("wordpress.xml", "wordpress_edge.xml"):
        import_threads(site, wordpress.parse(IMPORT_DATA / path))
    for path in ("disqus.xml", "disqus_edge.xml"):
        import_threads(site, disqus.parse(IMPORT_DATA / path))
    import_threads(site, isso.parse(isso_edge(tmp_path), base_url=BASE_URL))
    comments = comments_by_key()
    assert len(comments) > 20
    for key, comment in comments.items():
        assert render_markdown(comment.body) == comment.html, key
    for key in ("wordpress:311", "disqus:9101"):  # the tricky lines, from HTML, as typed
        for shown in AS_TYPED:
            assert shown in comments[key].html, (key, shown)
        assert "<ol" not in comments[key].html and "<h1" not in comments[key].html
        assert "<hr" not in comments[key].html and "<blockquote" not in comments[key].html


# --- 8. One odd record does not sink a file --------------------------------------------


def test_odd_wordpress_records_are_repaired_and_said_so(site: Site) -> None:
    repaired: Counter[str] = Counter()
    summary = import_threads(site, wordpress.parse(WXR_EDGE, repaired=repaired))
    assert repaired == {"comment without a date (given its post's)": 1}
    assert summary.repaired == {"email that is not an email (dropped)": 1}
    comments = comments_by_key()
    threads = {t.url: t for t in db.session.scalars(select(Thread))}
    assert comments["wordpress:315"].created_at == threads[SOURDOUGH].created_at
    # No wp:post_date: the page takes its first comment's time.
    assert threads[UNDATED].created_at == comments["wordpress:381"].created_at
    assert comments["wordpress:312"].guest_email is None
    # The reply to a pingback hangs where the pingback did.
    assert comments["wordpress:314"].parent_id == comments["wordpress:311"].id
    assert comments["wordpress:314"].root_id == comments["wordpress:311"].id


def test_a_disqus_post_without_an_id_gets_a_key_that_finds_it_again(site: Site) -> None:
    repaired: Counter[str] = Counter()
    import_threads(site, disqus.parse(DISQUS_EDGE, repaired=repaired))
    assert repaired == {"post without a dsq:id (keyed by its content)": 1}
    keyless = [k for k in comments_by_key() if not k.removeprefix("disqus:").isdigit()]
    assert len(keyless) == 1 and keyless[0].startswith("disqus:sha256-")
    again = import_threads(site, disqus.parse(DISQUS_EDGE))
    assert (again.comments_added, again.comments_skipped) == (0, 5)


@pytest.mark.parametrize(
    ("module", "path"), [(wordpress, WXR_EDGE), (disqus, DISQUS_EDGE)], ids=["wxr", "disqus"]
)
def test_closed_threads_import_closed_and_take_no_comments(
    module, path: Path, client, site: Site
) -> None:
    import_threads(site, module.parse(path))
    threads = {t.url: t for t in db.session.scalars(select(Thread))}
    assert threads[SOURDOUGH].closed
    before = db.session.scalar(select(func.count(Comment.id)))
    resp = post_json(client, site, guest_payload(url=SOURDOUGH))
    assert resp.status_code == 403
    assert resp.json["error"]["code"] == "thread_closed"
    assert db.session.scalar(select(func.count(Comment.id))) == before
    if UNDATED in threads:
        assert not threads[UNDATED].closed
        assert post_json(client, site, guest_payload(url=UNDATED)).status_code == 201


# --- 10. The command, without a terminal ------------------------------------------------


def test_flask_import_reports_progress_and_repairs_in_a_log(runner, site: Site) -> None:
    result = runner.invoke(args=["import", "wordpress", str(WXR_EDGE), "--site", site.id])
    assert result.exit_code == 0, result.output
    # The first thread holds 4 of the 6 comments.
    assert result.output.startswith("Importing: 60%\nImporting: 100%\n")
    assert "Left out: " in result.output and "5 comment on an unpublished post" in result.output
    assert "Repaired: 1 comment without a date (given its post's), " in result.output
    assert "1 email that is not an email (dropped)" in result.output


def test_flask_import_ends_a_message_with_one_period(runner, site: Site, tmp_path: Path) -> None:
    # The site has only https://blog.example.
    text = DISQUS_EDGE.read_text(encoding="utf-8")
    tmp = tmp_path / "elsewhere.xml"
    tmp.write_text(text.replace("https://blog.example", "https://else.example"), encoding="utf-8")
    result = runner.invoke(args=["import", "disqus", str(tmp), "--site", site.id])
    assert result.exit_code == 1
    assert "(dashboard settings). Nothing was imported." in result.output
    assert ".." not in result.output
