"""Import files that once ended in a traceback: an Afterword export nested 100,000 deep or
holding lone surrogates, NULs or numbers no column holds; XML with references to lone
surrogates; HTML nested too deep to convert; an Isso database with text that is not text.
Each import fails with a clear message and exit code 1, and stores nothing."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from app.extensions import db
from app.models import Comment, Thread
from tests.factories import POST_URL, make_site
from tests.helpers import DEEP_ARRAYS, IMPORT_DATA, ISSO_SCHEMA, PLACEHOLDER, UNSTORABLE


def export_text(**comment_fields: Any) -> str:
    comment = {
        "id": 1,
        "parent_id": None,
        "status": "approved",
        "created_at": "2021-01-01T00:00:00+00:00",
        "author": {"name": "Ada"},
        "body": "Hello",
        **comment_fields,
    }
    thread = {"url": POST_URL, "title": "First post", "comments": [comment]}
    return json.dumps({"format": "afterword-export", "version": 1, "threads": [thread]})


def import_file(runner: FlaskCliRunner, source: str, path: Path) -> str:
    """Import `path` into a new site, which must stay empty; the command's output."""
    site = make_site()
    result = runner.invoke(args=["import", source, str(path), "--site", site.id])
    # A ClickException: a message and exit code 1, never an exception of the app's own.
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1
    assert "Nothing was imported." in result.output
    assert db.session.scalar(select(func.count(Thread.id)).where(Thread.site_id == site.id)) == 0
    return result.output


def written(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


DEEP_EXPORTS = {
    "arrays": '{"format": "afterword-export", "version": 1, "threads": ' + DEEP_ARRAYS + "}",
    "objects": '{"format": "afterword-export", "version": 1, "threads": ['
    + '{"a":' * 100_000
    + "0"
    + "}" * 100_000
    + "]}",
}


@pytest.mark.parametrize("kind", DEEP_EXPORTS)
def test_an_export_nested_100000_deep_is_refused(
    runner: FlaskCliRunner, tmp_path: Path, kind: str
) -> None:
    output = import_file(runner, "afterword", written(tmp_path, "deep.json", DEEP_EXPORTS[kind]))
    assert "nested more than 32 levels deep" in output


@pytest.mark.parametrize(
    ("replace", "field"),
    [
        ('"Hello"', "threads[0].comments[0].body"),
        ('"Ada"', "threads[0].comments[0].author.name"),
        ('"First post"', "threads[0].title"),
        ('"https://blog.example/2026/first-post"', "threads[0].url"),
        ('"afterword-export"', "format"),
    ],
)
@pytest.mark.parametrize("escape", UNSTORABLE)
def test_an_export_with_unstorable_text_names_the_value(
    runner: FlaskCliRunner, tmp_path: Path, replace: str, field: str, escape: str
) -> None:
    content = export_text().replace(replace, f'"x{escape}"', 1)
    output = import_file(runner, "afterword", written(tmp_path, "bad.json", content))
    assert f"{field}: This text holds a character that cannot be stored" in output


def test_an_export_with_a_huge_id_is_refused(runner: FlaskCliRunner, tmp_path: Path) -> None:
    output = import_file(runner, "afterword", written(tmp_path, "a.json", export_text(id=2**64)))
    assert "threads[0].comments[0].id: This number is out of range" in output
    content = export_text().replace('"id": 1', '"id": ' + "9" * 5000)  # json.dumps refuses it
    output = import_file(runner, "afterword", written(tmp_path, "b.json", content))
    assert "Not valid JSON" in output


@pytest.mark.parametrize(
    ("source", "original", "replacement"),
    [
        ("wordpress", "<wp:comment_author>", "<wp:comment_author>&#xD800;"),
        ("wordpress", "<title>", "<title>&#xDFFF;"),
        ("disqus", "</message>", "&#xD800;</message>"),
        ("disqus", "<name>", "<name>&#0;"),
    ],
)
def test_xml_with_lone_surrogate_references_is_broken_xml(
    runner: FlaskCliRunner, tmp_path: Path, source: str, original: str, replacement: str
) -> None:
    content = (IMPORT_DATA / f"{source}.xml").read_text().replace(original, replacement, 1)
    output = import_file(runner, source, written(tmp_path, f"{source}.xml", content))
    assert "broken XML: reference to invalid character number" in output


@pytest.mark.parametrize("tag", ["em", "blockquote"])
def test_a_wordpress_comment_nested_too_deep_to_convert_is_named(
    runner: FlaskCliRunner, tmp_path: Path, tag: str
) -> None:
    content = re.sub(
        r"<wp:comment_content>.*?</wp:comment_content>",
        f"<wp:comment_content>{f'&lt;{tag}&gt;' * 5_000}x</wp:comment_content>",
        (IMPORT_DATA / "wordpress.xml").read_text(),
        count=1,
        flags=re.DOTALL,
    )
    output = import_file(runner, "wordpress", written(tmp_path, "deep.xml", content))
    assert "its HTML is nested too deeply to convert" in output


def isso_file(tmp_path: Path, text: str | bytes) -> Path:
    """An Isso database with one comment; bytes become TEXT as they are, valid or not."""
    path = tmp_path / "isso.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(ISSO_SCHEMA)
        conn.execute("INSERT INTO threads VALUES (1, '/2026/first-post', 'First post')")
        conn.execute(
            "INSERT INTO comments (tid, id, created, mode, text, author, voters)"
            " VALUES (1, 1, 1554199872.0, 1, CAST(? AS TEXT), 'Ada', x'')",
            (text,),
        )
    conn.close()
    return path


def test_an_isso_database_with_text_that_is_not_utf8_is_refused(
    runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = isso_file(tmp_path, b"h\xed\xa0\x80i")  # a surrogate, encoded as UTF-8 cannot
    output = import_file(runner, "isso", path)
    assert "not a readable Isso database" in output


def test_an_isso_database_with_binary_text_is_refused(
    runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = isso_file(tmp_path, "Hello")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE comments SET author = ?", (b"Ada",))  # a BLOB
    conn.close()
    output = import_file(runner, "isso", path)
    assert "comment 1 holds binary data where text belongs" in output


def test_an_isso_database_with_a_nul_is_refused(runner: FlaskCliRunner, tmp_path: Path) -> None:
    output = import_file(runner, "isso", isso_file(tmp_path, "h\x00i"))
    assert "comment isso:1: the body holds a NUL or a lone surrogate" in output


def test_escapes_that_make_real_characters_still_import(
    runner: FlaskCliRunner, tmp_path: Path
) -> None:
    content = export_text(body=PLACEHOLDER).replace(PLACEHOLDER, "Zo\\u00eb \\ud83c\\udf5e")
    site = make_site()
    result = runner.invoke(
        args=[
            "import",
            "afterword",
            str(written(tmp_path, "fine.json", content)),
            "--site",
            site.id,
        ]
    )
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(Comment.body)) == "Zoë 🍞"
