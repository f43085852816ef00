"""Importing from Comentario (its version 3 export, under `commento` or `comentario`) and
from Cusdis (its SQLite database, read directly)."""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from app.domain.markdown import render_markdown
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import Comment, Site, Thread
from app.services.importers import PARSERS, comentario, cusdis
from app.services.importing import import_threads
from tests.factories import make_moderator
from tests.helpers import CUSDIS_SCHEMA, IMPORT_DATA

COMENTARIO = IMPORT_DATA / "comentario.json"
BRULEE = "https://blog.example/2019/04/creme-brulee/"
RYE = "https://blog.example/2019/03/rye-sourdough/"
BASE_URL = "https://blog.example"

PROJECT = "3f1c2d4e-0000-4000-8000-00000000b10g"
# id, slug, url, title
CUSDIS_PAGES = [
    ("pg-1", "creme-brulee", BRULEE, "Crème brûlée without a blowtorch"),
    ("pg-2", "/2019/03/rye-sourdough/", None, "Rye sourdough"),  # no url: the slug, as a path
    ("pg-3", "kouign-amann", None, "Kouign-amann"),  # no comments: no thread
]
# id, pageId, created_at, deletedAt, moderatorId, by_email, by_nickname, content, approved,
# parentId. Prisma writes times as milliseconds; SQLite's default, and a hand, as text.
CUSDIS_COMMENTS = [
    ("k1", "pg-1", 1699992912345, None, None, "zoe@mail.example", "Zoë",
     "The sugar **cracked**\nlike thin ice! [my photo](https://zoe.example/p.jpg) `[a](b)`",
     1, None),
    ("k2", "pg-1", "2023-11-15 08:00:00", None, "user-1", "marguerite@blog.example",
     "Marguerite", "The grill does it: three minutes, door open.", 1, "k1"),
    ("k3", "pg-1", 1700121600000, None, None, "", "Tomás", "Could I use oat cream?", 0, "k2"),
    # Deleted, with a reply: a placeholder; deleted without one: left out.
    ("k4", "pg-1", 1700200000000, 1700300000000, None, "secret@mail.example", "Secret",
     "Taken back", 1, None),
    ("k5", "pg-1", 1700210000000, None, None, None, "Ama", "Still here.", 1, "k4"),
    ("k6", "pg-1", 1700220000000, 1700300000000, None, "gone@mail.example", "Gone",
     "Secret recipe", 0, None),
    ("k7", "pg-2", "2023-11-10T07:30:00.000+01:00", None, None, "juergen@mail.example",
     "Jürgen", "Mein Roggensauer ist endlich aktiv 🥖", 1, None),
]  # fmt: skip


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def run(runner, source: str, path: Path, site_id: str, *extra: str):
    return runner.invoke(args=["import", source, str(path), "--site", site_id, *extra])


def comments(url: str) -> list[Comment]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Comment).join(Thread).where(Thread.url == url).order_by(Comment.created_at)
        )
    )


def stored() -> int:
    return db.session.scalar(select(func.count(Comment.id))) or 0


def by_key() -> dict[str, Comment]:
    db.session.expire_all()
    return {c.import_key: c for c in db.session.scalars(select(Comment)) if c.import_key}


def cusdis_db(tmp_path: Path, *, projects: int = 1, comments: list[Any] | None = None) -> Path:
    path = tmp_path / "cusdis.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(CUSDIS_SCHEMA)
        conn.execute("INSERT INTO users (id, name, email) VALUES ('user-1', 'Marguerite', NULL)")
        for n in range(projects):
            conn.execute(
                "INSERT INTO projects (id, title, ownerId) VALUES (?, ?, 'user-1')",
                (PROJECT if n == 0 else f"other-{n}", "Blog" if n == 0 else f"Other {n}"),
            )
        conn.executemany(
            "INSERT INTO pages (id, slug, url, title, projectId) VALUES (?, ?, ?, ?, ?)",
            [(*page, PROJECT) for page in CUSDIS_PAGES],
        )
        conn.executemany(
            "INSERT INTO comments (id, pageId, created_at, deletedAt, moderatorId, by_email,"
            " by_nickname, content, approved, parentId) VALUES (?,?,?,?,?,?,?,?,?,?)",
            CUSDIS_COMMENTS if comments is None else comments,
        )
    conn.close()
    return path


# --- Comentario ----------------------------------------------------------------------------


def test_comentario_export_keeps_pages_tree_statuses_and_authors(runner, site: Site) -> None:
    result = run(runner, "commento", COMENTARIO, site.id)
    assert result.exit_code == 0, result.output
    assert "Threads created: 2. Comments added: 5" in result.output
    assert "(2 approved, 1 deleted, 1 pending, 1 rejected); already there: 0." in result.output
    assert (
        "Left out: 1 comment on a page the file does not list, "
        "2 deleted comment without replies" in result.output
    )
    zoe, gone, tomas, spam = comments(BRULEE)
    assert (zoe.guest_name, zoe.guest_email) == ("Zoë", "zoe@mail.example")
    assert zoe.guest_website == "https://zoe.example"
    assert zoe.created_at == datetime(2023, 11, 14, 20, 15, 12, 345000, tzinfo=UTC)
    assert zoe.edited_at == at(2023, 11, 14, 21) and zoe.remote_addr_hash is not None
    # Comentario shows a single newline as a line break: so does the import.
    assert zoe.html == (
        "<p>The sugar <strong>cracked</strong><br>\nlike thin ice!</p>\n"
        "<p>Two minutes under the grill.</p>"
    )
    # Deleted: a placeholder that holds its reply (listed before it in the file) in place.
    assert gone.status is CommentStatus.DELETED and gone.parent_id == zoe.id
    assert (gone.body, gone.html, gone.guest_email) == ("", "", None)
    assert gone.guest_name == "Anonymous"
    assert tomas.parent_id == gone.id and tomas.root_id == zoe.id
    assert tomas.status is CommentStatus.PENDING and tomas.guest_name == "Tomás"
    assert spam.status is CommentStatus.REJECTED and spam.guest_name == "Anonymous"
    (marguerite,) = comments(RYE)
    assert marguerite.body == "Feed the starter *twice* the night before."  # from its HTML
    assert marguerite.created_at == at(2023, 11, 10, 6, 30)  # UTC
    text = " ".join(f"{c.guest_name} {c.guest_email} {c.body}" for c in by_key().values())
    assert "Secret" not in text and "secret" not in text and "Taken back" not in text
    threads = {t.url: t for t in db.session.scalars(select(Thread))}
    assert set(threads) == {BRULEE, RYE}
    assert threads[RYE].closed and not threads[BRULEE].closed
    assert threads[BRULEE].title == "Crème brûlée without a blowtorch"
    assert threads[BRULEE].created_at == datetime(2023, 10, 25, 14, 51, 49, 371000, tzinfo=UTC)


def test_comentario_is_also_a_format_name_and_twice_adds_nothing(runner, site, tmp_path):
    export = tmp_path / "comentario-blog.json.gz"  # as Comentario's dashboard downloads it
    export.write_bytes(gzip.compress(COMENTARIO.read_bytes()))
    assert "Comments added: 5" in run(runner, "comentario", export, site.id).output
    again = run(runner, "comentario", export, site.id)
    assert again.exit_code == 0 and "Comments added: 0 (none); already there: 5." in again.output
    assert stored() == 5
    # The same file under the other name is the same comments.
    assert "already there: 5" in run(runner, "commento", COMENTARIO, site.id).output
    assert stored() == 5


def test_comentario_comments_render_from_their_source_as_stored(site: Site) -> None:
    import_threads(site, PARSERS["comentario"].parse(COMENTARIO, base_url=BASE_URL))
    comments = by_key()
    assert len(comments) == 5
    for key, comment in comments.items():
        assert render_markdown(comment.body) == comment.html, key


def test_comentario_count_is_what_parse_yields() -> None:
    data = json.loads(COMENTARIO.read_text("utf-8"))
    threads = list(comentario.parse(data, base_url=BASE_URL))
    assert comentario.count(data) == sum(len(t.comments) for t in threads) == 5
    assert PARSERS["comentario"].count(COMENTARIO) == 5


def test_comentario_pages_keep_the_host_of_their_permalinks(runner, site, tmp_path) -> None:
    moved = tmp_path / "moved.json"
    moved.write_text(
        COMENTARIO.read_text("utf-8").replace("https://blog.example", "http://old.example"),
        "utf-8",
    )
    result = run(runner, "comentario", moved, site.id)
    assert result.exit_code == 1 and "http://old.example (2 pages)" in result.output
    assert stored() == 0
    mapped = run(
        runner, "comentario", moved, site.id, "--map-url", "http://old.example=https://blog.example"
    )
    assert mapped.exit_code == 0, mapped.output
    assert len(comments(BRULEE)) == 4
    # Without permalinks, pages are paths on the site's first origin.
    data = json.loads(COMENTARIO.read_text("utf-8"))
    for record in data["comments"]:
        del record["url"]
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps(data), "utf-8")
    again = run(runner, "comentario", bare, site.id)
    assert again.exit_code == 0 and "already there: 5" in again.output


def test_comentario_match_path_places_pages_on_the_site(runner, site, tmp_path) -> None:
    moved = tmp_path / "moved.json"
    moved.write_text(
        COMENTARIO.read_text("utf-8").replace("https://blog.example", "https://old.example"),
        "utf-8",
    )
    result = run(runner, "comentario", moved, site.id, "--match-path")
    assert result.exit_code == 0, result.output
    assert len(comments(BRULEE)) == 4 and len(comments(RYE)) == 1


def test_commento_version_1_from_comentario_2_reads_host_and_path(runner, site, tmp_path) -> None:
    export = {
        "version": 1,
        "comments": [
            {"commentHex": "0a34", "commenterHex": "549d", "creationDate": "2021-11-02T19:03:37Z",
             "deleted": False, "host": "blog.example", "markdown": "Yay, imported",
             "parentHex": "root", "path": "/2019/04/creme-brulee/", "state": "approved"},
        ],
        "commenters": [
            {"commenterHex": "549d", "email": "bugs@mail.example", "name": "Bugs Bunny",
             "websiteUrl": "https://bugs.example"},
        ],
    }  # fmt: skip
    path = tmp_path / "comentario-v1.json"
    path.write_text(json.dumps(export), "utf-8")
    result = run(runner, "comentario", path, site.id)
    assert result.exit_code == 0, result.output
    (bugs,) = comments(BRULEE)
    assert (bugs.guest_name, bugs.guest_website) == ("Bugs Bunny", "https://bugs.example")


def broken(change: Callable[[dict[str, Any]], object]) -> str:
    data = json.loads(COMENTARIO.read_text("utf-8"))
    change(data)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (broken(lambda d: d.update(version=2)), "unsupported export version 2"),
        (broken(lambda d: d.pop("pages")), 'no "pages" and "comments" lists'),
        (broken(lambda d: d["comments"][3].pop("id")), 'comments[3] has no "id"'),
        (broken(lambda d: d["comments"][6].update(createdTime="yesterday")),
         "comments[6]: unreadable createdTime 'yesterday'"),
        (broken(lambda d: d["pages"][1].pop("path")), 'pages[1] has no "path"'),
        (COMENTARIO.read_text("utf-8")[:-40], "line "),
        ("[1, 2]", "not a Commento or Comentario export"),
    ],
)  # fmt: skip
def test_a_broken_comentario_export_imports_nothing(runner, site, tmp_path, text, message):
    bad = tmp_path / "bad.json"
    bad.write_text(text, "utf-8")
    result = run(runner, "comentario", bad, site.id)
    assert result.exit_code == 1, result.output
    assert message in result.output and "Nothing was imported." in result.output
    assert "Traceback" not in result.output
    assert stored() == 0


# --- Cusdis --------------------------------------------------------------------------------


def test_cusdis_database_keeps_pages_tree_statuses_and_times(runner, site, tmp_path) -> None:
    make_moderator(site)
    result = run(runner, "cusdis", cusdis_db(tmp_path), site.id)
    assert result.exit_code == 0, result.output
    assert "Threads created: 2. Comments added: 6" in result.output
    assert "(4 approved, 1 deleted, 1 pending); already there: 0." in result.output
    assert "Left out: 1 deleted comment without replies" in result.output
    assert "Repaired" not in result.output
    zoe, reply, tomas, gone, ama = comments(BRULEE)
    assert (zoe.guest_name, zoe.guest_email) == ("Zoë", "zoe@mail.example")
    assert zoe.created_at == datetime(2023, 11, 14, 20, 15, 12, 345000, tzinfo=UTC)
    # A moderator's reply in Cusdis is the site's reply here.
    assert reply.parent_id == zoe.id and reply.moderator_id is not None
    assert (reply.guest_name, reply.guest_email) == (site.name, None)
    assert reply.created_at == at(2023, 11, 15, 8) and reply.status is CommentStatus.APPROVED
    assert tomas.parent_id == reply.id and tomas.status is CommentStatus.PENDING
    assert tomas.guest_email is None and tomas.created_at == at(2023, 11, 16, 8)
    assert gone.status is CommentStatus.DELETED and (gone.body, gone.guest_email) == ("", None)
    assert gone.guest_name == "Anonymous" and ama.parent_id == gone.id
    text = " ".join(f"{c.guest_name} {c.guest_email} {c.body}" for c in by_key().values())
    assert "Secret" not in text and "secret@" not in text and "Taken back" not in text
    (juergen,) = comments(RYE)  # a page without a url: its slug, on the site's origin
    assert juergen.created_at == at(2023, 11, 10, 6, 30)
    threads = {t.url: t for t in db.session.scalars(select(Thread))}
    assert set(threads) == {BRULEE, RYE}
    assert threads[BRULEE].title == "Crème brûlée without a blowtorch"


def test_cusdis_text_shows_as_cusdis_showed_it(site, tmp_path) -> None:
    import_threads(site, cusdis.parse(cusdis_db(tmp_path), base_url=BASE_URL))
    zoe = by_key()["cusdis:k1"]
    # Cusdis renders Markdown with links and images off: the link syntax shows as typed.
    assert zoe.html == (
        "<p>The sugar <strong>cracked</strong>\nlike thin ice! [my photo](https://zoe.example/"
        "p.jpg) <code>[a](b)</code></p>"
    )
    for key, comment in by_key().items():
        assert render_markdown(comment.body) == comment.html, key


def test_cusdis_twice_adds_nothing(runner, site, tmp_path) -> None:
    path = cusdis_db(tmp_path)
    assert "Comments added: 6" in run(runner, "cusdis", path, site.id).output
    again = run(runner, "cusdis", path, site.id)
    assert again.exit_code == 0 and "Comments added: 0 (none); already there: 6." in again.output
    assert stored() == 6
    assert cusdis.count(path) == 6


def test_cusdis_moderator_reply_without_a_moderator_here_is_a_named_guests(
    runner, site, tmp_path
) -> None:
    result = run(runner, "cusdis", cusdis_db(tmp_path), site.id)
    assert result.exit_code == 0, result.output
    assert "Repaired: 1 moderator's reply kept as a guest's (the site has no moderator yet)" in (
        result.output
    )
    reply = by_key()["cusdis:k2"]
    assert reply.moderator_id is None
    assert (reply.guest_name, reply.guest_email) == ("Marguerite", None)


def test_cusdis_with_several_projects_needs_one_named(runner, site, tmp_path) -> None:
    path = cusdis_db(tmp_path, projects=2)
    result = run(runner, "cusdis", path, site.id)
    assert result.exit_code == 1
    assert "the database holds 2 Cusdis projects, choose one with --project ID: " in result.output
    assert f"{PROJECT} ('Blog', 7 comments), other-1 ('Other 1', 0 comments)" in result.output
    assert "Nothing was imported." in result.output and stored() == 0
    unknown = run(runner, "cusdis", path, site.id, "--project", "nope")
    assert unknown.exit_code == 1 and "no project nope; the projects are " in unknown.output
    chosen = run(runner, "cusdis", path, site.id, "--project", PROJECT)
    assert chosen.exit_code == 0 and "Comments added: 6" in chosen.output
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE projects SET deleted_at = 1700000000000 WHERE id = 'other-1'")
    conn.close()
    # One project left that Cusdis still showed: no need to name it.
    assert "already there: 6" in run(runner, "cusdis", path, site.id).output
    deleted = run(runner, "cusdis", path, site.id, "--project", "other-1")
    assert deleted.exit_code == 1 and "project other-1 was deleted in Cusdis" in deleted.output


def test_project_is_for_cusdis_only(runner, site) -> None:
    result = run(runner, "comentario", COMENTARIO, site.id, "--project", PROJECT)
    assert result.exit_code == 2 and "--project is for cusdis only." in result.output


def test_cusdis_pages_elsewhere_can_be_mapped(runner, site, tmp_path) -> None:
    pages = [("pg-1", "creme-brulee", "http://localhost:3000/2019/04/creme-brulee/", "Brulee")]
    rows = [row for row in CUSDIS_COMMENTS if row[1] == "pg-1"]
    path = cusdis_db(tmp_path, comments=rows)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE pages SET url = ? WHERE id = 'pg-1'", (pages[0][2],))
    conn.close()
    result = run(runner, "cusdis", path, site.id)
    assert result.exit_code == 1 and "http://localhost:3000 (1 page)" in result.output
    mapped = run(
        runner, "cusdis", path, site.id, "--map-url", "http://localhost:3000=https://blog.example"
    )
    assert mapped.exit_code == 0, mapped.output
    assert len(comments(BRULEE)) == 5


def test_a_cusdis_slug_becomes_a_path_on_the_base_url() -> None:
    assert cusdis._page_url("p", None, "hello world", BASE_URL) == f"{BASE_URL}/hello%20world"
    assert cusdis._page_url("p", None, "/a/b/?x=1", BASE_URL) == f"{BASE_URL}/a/b/?x=1"
    assert cusdis._page_url("p", "/a/", "ignored", BASE_URL) == f"{BASE_URL}/a/"
    assert cusdis._page_url("p", None, "https://blog.example/c/", BASE_URL) == (
        "https://blog.example/c/"
    )


def test_a_cusdis_reply_whose_deleted_parent_has_replies_that_are_all_deleted_is_gone(
    site, tmp_path
) -> None:
    rows = [
        ("a", "pg-1", 1700000000000, 1700000001000, None, None, "A", "x", 1, None),
        ("b", "pg-1", 1700000002000, 1700000003000, None, None, "B", "y", 1, "a"),
    ]
    skipped: Counter[str] = Counter()
    summary = import_threads(
        site, cusdis.parse(cusdis_db(tmp_path, comments=rows), base_url=BASE_URL, skipped=skipped)
    )
    assert summary.comments_added == 0 and skipped == {"deleted comment without replies": 2}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_text("not a database at all, just text\n" * 40),
         "not a readable Cusdis database (file is not a database)"),
        (lambda p: sqlite3.connect(p).executescript("CREATE TABLE threads (id INTEGER);"),
         "not a Cusdis database (it has no projects table)"),
        (lambda p: sqlite3.connect(p).executescript(
            CUSDIS_SCHEMA.replace('"deletedAt" DATETIME,', "")),
         "the comments table has no deletedAt"),
    ],
)  # fmt: skip
def test_a_file_that_is_not_a_cusdis_database_imports_nothing(
    runner, site, tmp_path, make, message
) -> None:
    path = tmp_path / "bad.db"
    make(path)
    result = run(runner, "cusdis", path, site.id)
    assert result.exit_code == 1, result.output
    assert message in result.output and "Nothing was imported." in result.output
    assert "Traceback" not in result.output and stored() == 0


def test_an_unreadable_cusdis_time_imports_nothing(runner, site, tmp_path) -> None:
    rows = [*CUSDIS_COMMENTS, ("k9", "pg-2", "last tuesday", None, None, None, "X", "y", 1, None)]
    result = run(runner, "cusdis", cusdis_db(tmp_path, comments=rows), site.id)
    assert result.exit_code == 1
    assert "comment k9 has an unreadable time 'last tuesday'" in result.output
    assert "Nothing was imported." in result.output and stored() == 0


def test_cusdis_text_no_database_could_store_imports_nothing(runner, site, tmp_path) -> None:
    rows = [
        *CUSDIS_COMMENTS,
        ("k9", "pg-2", 1700000000000, None, None, None, "X", "a\x00b", 1, None),
    ]
    result = run(runner, "cusdis", cusdis_db(tmp_path, comments=rows), site.id)
    assert result.exit_code == 1
    assert "comment cusdis:k9: the body holds a NUL" in result.output
    assert "Nothing was imported." in result.output and stored() == 0


def test_importing_leaves_the_cusdis_database_as_it_was(runner, site, tmp_path) -> None:
    folder = tmp_path / "cusdis"
    folder.mkdir()
    path = cusdis_db(folder)
    before = path.read_bytes()
    assert run(runner, "cusdis", path, site.id).exit_code == 0
    assert path.read_bytes() == before
    assert [p.name for p in folder.iterdir()] == ["cusdis.db"]  # no journal left behind
