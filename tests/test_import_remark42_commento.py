"""Importing from Remark42 (backup, JSON lines) and Commento (JSON export), gzipped or not."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.domain.states import CommentStatus
from app.extensions import db
from app.models import Comment, Thread
from tests.helpers import IMPORT_DATA

REMARK42 = IMPORT_DATA / "remark42.json"
COMMENTO = IMPORT_DATA / "commento.json"
BRULEE = "https://blog.example/2019/04/creme-brulee/"
RYE = "https://blog.example/2019/03/rye-sourdough/"


def run(runner, source: str, path: Path, site_id: str):
    return runner.invoke(args=["import", source, str(path), "--site", site_id])


def comments(url: str) -> list[Comment]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Comment).join(Thread).where(Thread.url == url).order_by(Comment.created_at)
        )
    )


def gzipped(path: Path, tmp_path: Path) -> Path:
    out = tmp_path / (path.name + ".gz")
    out.write_bytes(gzip.compress(path.read_bytes()))
    return out


def test_remark42_backup_keeps_threads_tree_and_text(runner, site):
    result = run(runner, "remark42", REMARK42, site.id)
    assert result.exit_code == 0, result.output
    assert "Threads created: 2. Comments added: 5 (4 approved, 1 deleted)" in result.output
    zoe, marguerite, gone, ama = comments(BRULEE)
    assert zoe.guest_name == "Zoë" and zoe.guest_email == "zoe@mail.example"
    assert zoe.body.startswith("Made this") and "<strong>cracked</strong>" in zoe.html
    assert zoe.created_at == datetime(2019, 4, 2, 10, 11, 12, 123456, tzinfo=UTC)
    assert marguerite.parent_id == zoe.id and marguerite.guest_email is None
    assert marguerite.edited_at == datetime(2019, 4, 2, 12, 30, tzinfo=UTC)
    assert "[three minutes, door open](https://torches.example/grill)" in marguerite.body
    # Deleted in Remark42: a placeholder, nothing of it kept, its reply still under it.
    assert gone.status is CommentStatus.DELETED and gone.body == "" and gone.guest_name != "Tomás"
    assert ama.parent_id == gone.id and ama.root_id == zoe.id
    assert ama.body == "Does it work with a *water bath* & deep ramekins? 🤔"
    # A comment Remark42 had imported itself has only HTML: its source is Markdown.
    (bo,) = comments(RYE)
    assert bo.body == "Mine rose *twice* as high with a warmer kitchen."
    threads = {t.url: t for t in db.session.scalars(select(Thread))}
    assert threads[RYE].closed and not threads[BRULEE].closed
    assert threads[BRULEE].title == "Crème brûlée without a blowtorch"
    assert all(c.remote_addr_hash is None for c in comments(BRULEE))  # Remark42's are hashes


def test_remark42_gzipped_backup_twice_adds_nothing(runner, site, tmp_path):
    backup = gzipped(REMARK42, tmp_path)
    assert "Comments added: 5" in run(runner, "remark42", backup, site.id).output
    again = run(runner, "remark42", backup, site.id)
    assert again.exit_code == 0 and "Comments added: 0" in again.output
    assert "already there: 5" in again.output
    assert db.session.scalar(select(func.count(Comment.id))) == 5


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda lines: ['{"hello": "world"}', *lines[1:]], "not a Remark42 backup"),
        (lambda lines: [*lines[:3], '{"id": "x", "pid": ""', *lines[3:]], "line 4: broken JSON"),
        (lambda lines: [*lines, '{"id": "y", "locator": {"url": "https://blog.example/"}}'],
         "line 7: a comment without its time"),
    ],
)  # fmt: skip
def test_a_broken_remark42_backup_imports_nothing(runner, site, tmp_path, change, message):
    bad = tmp_path / "bad.json"
    bad.write_text("\n".join(change(REMARK42.read_text("utf-8").splitlines())), "utf-8")
    result = run(runner, "remark42", bad, site.id)
    assert result.exit_code == 1
    assert message in result.output and "Nothing was imported." in result.output
    assert db.session.scalar(select(func.count(Comment.id))) == 0


def test_remark42_pages_elsewhere_are_all_named(runner, site, tmp_path):
    moved = tmp_path / "moved.json"
    text = REMARK42.read_text("utf-8").replace("https://blog.example/2019/03", "http://old.example")
    moved.write_text(text, "utf-8")
    result = run(runner, "remark42", moved, site.id)
    assert result.exit_code == 1 and "http://old.example (1 page)" in result.output
    mapped = runner.invoke(
        args=[
            "import", "remark42", str(moved), "--site", site.id,
            "--map-url", "http://old.example=https://blog.example/2019/03",
        ]
    )  # fmt: skip
    assert mapped.exit_code == 0, mapped.output
    assert len(comments(RYE)) == 1


def test_commento_export_keeps_threads_statuses_and_authors(runner, site):
    result = run(runner, "commento", COMMENTO, site.id)
    assert result.exit_code == 0, result.output
    assert "Threads created: 2. Comments added: 5" in result.output
    assert "(2 approved, 1 deleted, 1 pending, 1 spam)" in result.output
    zoe, gone, guest, spam = comments(BRULEE)
    assert zoe.guest_name == "Zoë" and zoe.guest_email == "zoe@mail.example"
    assert zoe.guest_website == "https://zoe.example"
    assert zoe.body == "The sugar **cracked** like thin ice!\n\nTwo minutes under the grill."
    assert zoe.created_at == datetime(2020, 2, 1, 10, 11, 12, 722181, tzinfo=UTC)
    # A reply listed before its parent still hangs under it.
    assert gone.status is CommentStatus.DELETED and gone.parent_id == zoe.id
    assert gone.guest_email is None and "deleted" not in gone.body
    assert guest.parent_id == gone.id and guest.status is CommentStatus.PENDING
    assert guest.guest_name == "Anonymous"
    assert spam.status is CommentStatus.SPAM and spam.parent_id is None
    (marguerite,) = comments(RYE)
    assert marguerite.guest_website is None  # Commento's "undefined"


def test_commento_gzipped_export_twice_adds_nothing(runner, site, tmp_path):
    export = gzipped(COMMENTO, tmp_path)
    assert "Comments added: 5" in run(runner, "commento", export, site.id).output
    again = run(runner, "commento", export, site.id)
    assert again.exit_code == 0 and "Comments added: 0 (none)" in again.output
    assert "already there: 5" in again.output
    assert db.session.scalar(select(func.count(Comment.id))) == 5


def test_commento_paths_without_a_domain_are_on_the_sites_first_origin(runner, site, tmp_path):
    text = COMMENTO.read_text("utf-8").replace('"domain": "blog.example",', "")
    assert "domain" not in text
    bare = tmp_path / "bare.json"
    bare.write_text(text, "utf-8")
    assert run(runner, "commento", bare, site.id).exit_code == 0
    assert len(comments(BRULEE)) == 4


def test_a_file_that_is_not_a_commento_export_imports_nothing(runner, site):
    result = run(runner, "commento", REMARK42, site.id)
    assert result.exit_code == 1 and "Nothing was imported." in result.output
    result = run(runner, "commento", IMPORT_DATA / "wordpress.xml", site.id)
    assert result.exit_code == 1 and "Nothing was imported." in result.output
    assert db.session.scalar(select(func.count(Comment.id))) == 0
