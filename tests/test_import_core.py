"""What every importer relies on: `importing.import_threads`."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from app.extensions import db
from app.models import Comment
from app.services.importing import ImportedComment, ImportedThread, import_threads
from tests.factories import POST_URL

WHEN = datetime(2020, 5, 1, 12, 0, tzinfo=UTC)


def test_html_comments_keep_links_and_paragraphs_in_their_editable_source(site):
    html = (
        '<p>See <a href="https://x.example/a">this</a> &amp; that.</p><p>Second <em>part</em></p>'
    )
    import_threads(
        site,
        [
            ImportedThread(
                url=POST_URL,
                comments=[
                    ImportedComment(
                        key="wp:1", parent_key=None, name="Zoë", body=html, created_at=WHEN,
                        body_is_html=True, remote_addr="192.0.2.1",
                    )
                ],
            )
        ],
    )  # fmt: skip
    comment = db.session.scalars(select(Comment)).one()
    assert comment.body == "See [this](https://x.example/a) & that.\n\nSecond *part*"
    assert '<a href="https://x.example/a" rel="nofollow ugc noopener">this</a>' in comment.html
    assert comment.remote_addr_hash and "192.0.2.1" not in comment.remote_addr_hash


def test_a_key_twice_in_one_file_is_stored_once_and_counted(site):
    twice = [
        ImportedComment(key="k", parent_key=None, name="A", body="one", created_at=WHEN),
        ImportedComment(key="k", parent_key=None, name="A", body="one", created_at=WHEN),
    ]
    summary = import_threads(site, [ImportedThread(url=POST_URL, comments=twice)])
    assert (summary.comments_added, summary.comments_skipped) == (1, 1)


def test_flask_import_wordpress_twice(runner, site):
    from pathlib import Path

    sample = Path(__file__).parent / "data" / "imports" / "wordpress.xml"
    first = runner.invoke(args=["import", "wordpress", str(sample), "--site", site.id])
    assert first.exit_code == 0, first.output
    assert "Comments added: " in first.output and "Left out: " in first.output
    again = runner.invoke(args=["import", "wordpress", str(sample), "--site", site.id])
    assert "Comments added: 0 (none)" in again.output


def test_flask_import_refuses_hostile_xml_and_imports_nothing(runner, site):
    from pathlib import Path

    hostile = Path(__file__).parent / "data" / "imports" / "billion_laughs.xml"
    result = runner.invoke(args=["import", "wordpress", str(hostile), "--site", site.id])
    assert result.exit_code == 1
    assert "refusing it" in result.output and "Nothing was imported." in result.output
    assert db.session.scalars(select(Comment)).all() == []
