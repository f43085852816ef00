"""`flask export`, then `flask import afterword`: the threads, tree, statuses and times survive."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from app.domain.states import CommentStatus
from app.extensions import db
from app.models import Comment, Thread
from tests.factories import HOST_ORIGIN, POST_URL, make_comment, make_moderator, make_site


def shape(site_id: str) -> list:
    """Threads with their comments as (text, author, status, time, parent text), comparable."""
    db.session.expire_all()
    result = []
    for thread in db.session.scalars(
        select(Thread).where(Thread.site_id == site_id).order_by(Thread.url)
    ):
        comments = db.session.scalars(
            select(Comment).where(Comment.thread_id == thread.id).order_by(Comment.created_at)
        ).all()
        by_id = {c.id: c for c in comments}
        result.append(
            (
                thread.url,
                thread.title,
                thread.approved_count,
                [
                    (
                        c.body,
                        c.guest_name,
                        c.status.value,
                        c.created_at,
                        by_id[c.parent_id].body if c.parent_id else None,
                        by_id[c.root_id].body,
                    )
                    for c in comments
                ],
            )
        )
    return result


def build_blog():
    site = make_site()
    moderator = make_moderator(site)
    root = make_comment(site, body="Root, *Zoë* 🍞", name="Zoë")
    reply = make_comment(site, body="A reply", parent=root, name="Bo")
    make_comment(site, body="Deeper", parent=reply, name="Cy")
    make_comment(site, body="Still pending", status=None)
    make_comment(site, body="Pure spam", status=CommentStatus.SPAM)
    gone = make_comment(site, body="to be deleted")
    make_comment(site, body="reply under deleted", parent=gone)
    from app.services import moderation

    moderation.act(moderator, [gone.id], "delete")
    make_comment(site, url=f"{HOST_ORIGIN}/other", body="Other page")
    for i, comment in enumerate(db.session.scalars(select(Comment)).all()):
        comment.created_at = comment.created_at.replace(year=2021, microsecond=0) + timedelta(
            hours=i
        )
    db.session.commit()
    return site


def test_round_trip_into_a_new_site(runner, tmp_path):
    source = build_blog()
    out = tmp_path / "export.json"
    result = runner.invoke(args=["export", "--site", source.id, "--output", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["format"] == "afterword-export" and data["version"] == 1
    assert {t["url"] for t in data["threads"]} == {POST_URL, f"{HOST_ORIGIN}/other"}

    target = make_site()
    imported = runner.invoke(args=["import", "afterword", str(out), "--site", target.id])
    assert imported.exit_code == 0, imported.output
    assert "Threads created: 2. Comments added: 8" in imported.output
    for got, want in zip(shape(target.id), shape(source.id), strict=True):
        assert got[:3] == want[:3]
        for a, b in zip(got[3], want[3], strict=True):
            assert a == b


def test_importing_twice_adds_nothing(runner, tmp_path):
    source = build_blog()
    out = tmp_path / "export.json"
    runner.invoke(args=["export", "--site", source.id, "--output", str(out)])
    target = make_site()
    runner.invoke(args=["import", "afterword", str(out), "--site", target.id])
    again = runner.invoke(args=["import", "afterword", str(out), "--site", target.id])
    assert again.exit_code == 0
    assert "Comments added: 0" in again.output and "already there: 8" in again.output
    assert db.session.scalar(select(func.count(Comment.id))) == 16


def test_export_to_stdout(runner):
    site = build_blog()
    result = runner.invoke(args=["export", "--site", site.id])
    assert result.exit_code == 0
    assert '"format": "afterword-export"' in result.stdout


def test_a_broken_file_imports_nothing_and_says_where(runner, tmp_path):
    target = make_site()
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "afterword-export",\n "version": 1,\n "threads": [ {oops} ]}')
    result = runner.invoke(args=["import", "afterword", str(bad), "--site", target.id])
    assert result.exit_code != 0
    assert "line 3" in result.output and "Nothing was imported." in result.output
    assert db.session.scalar(select(func.count(Comment.id))) == 0


def test_threads_on_a_foreign_origin_are_refused_whole(runner, tmp_path):
    source = build_blog()
    out = tmp_path / "export.json"
    runner.invoke(args=["export", "--site", source.id, "--output", str(out)])
    elsewhere = make_site(origins=["https://elsewhere.example"])
    result = runner.invoke(args=["import", "afterword", str(out), "--site", elsewhere.id])
    assert result.exit_code != 0
    assert "not on one of the site's origins" in result.output
    assert (
        db.session.scalar(select(func.count(Thread.id)).where(Thread.site_id == elsewhere.id)) == 0
    )


def test_unknown_site_is_a_usage_error(runner, tmp_path):
    result = runner.invoke(args=["export", "--site", "nope"])
    assert result.exit_code == 2 and "flask site list" in result.output


def test_the_dashboard_offers_the_same_export(client):
    from tests.factories import MODERATOR_PASSWORD
    from tests.helpers import Dashboard

    site = build_blog()
    other = make_site()
    make_moderator(site, email="owner@example.com", password=MODERATOR_PASSWORD)
    dash = Dashboard(client)
    dash.sign_in("owner@example.com")
    assert "Download all comments (JSON)" in client.get(f"/dashboard/sites/{site.id}").text
    resp = client.get(f"/dashboard/sites/{site.id}/export")
    assert resp.status_code == 200
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert len([c for t in resp.json["threads"] for c in t["comments"]]) == 8
    assert client.get(f"/dashboard/sites/{other.id}/export").status_code == 404


def _export(runner, site_id: str, out) -> None:
    result = runner.invoke(args=["export", "--site", site_id, "--output", str(out)])
    assert result.exit_code == 0, result.output


def _restore(runner, out, site_id: str) -> str:
    result = runner.invoke(args=["import", "afterword", str(out), "--site", site_id])
    assert result.exit_code == 0, result.output
    return result.output


def test_restoring_into_its_own_site_adds_nothing(runner, tmp_path):
    site = build_blog()
    out = tmp_path / "export.json"
    _export(runner, site.id, out)
    before = shape(site.id)
    output = _restore(runner, out, site.id)
    assert "Threads created: 0. Comments added: 0" in output and "already there: 8" in output
    assert _restore(runner, out, site.id) == output
    assert shape(site.id) == before


def test_restores_back_and_forth_never_double(runner, tmp_path):
    source = build_blog()
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    _export(runner, source.id, first)
    target = make_site()
    assert "Comments added: 8" in _restore(runner, first, target.id)
    # The restored site's export, restored into either site, finds everything there.
    _export(runner, target.id, second)
    assert "Comments added: 0" in _restore(runner, second, source.id)
    assert "Comments added: 0" in _restore(runner, second, target.id)
    assert "Comments added: 0" in _restore(runner, first, target.id)
    assert db.session.scalar(select(func.count(Comment.id))) == 16


def test_a_restored_site_still_knows_what_a_wordpress_import_brought(runner, tmp_path):
    from tests.helpers import IMPORT_DATA

    wxr = IMPORT_DATA / "wordpress.xml"
    source = make_site(origins=["https://blog.example"])
    first = runner.invoke(args=["import", "wordpress", str(wxr), "--site", source.id])
    assert first.exit_code == 0, first.output
    out = tmp_path / "export.json"
    _export(runner, source.id, out)
    assert all(
        c["import_key"].startswith("wordpress:")
        for t in json.loads(out.read_text())["threads"]
        for c in t["comments"]
    )
    target = make_site(origins=["https://blog.example"])
    _restore(runner, out, target.id)
    again = runner.invoke(args=["import", "wordpress", str(wxr), "--site", target.id])
    assert again.exit_code == 0, again.output
    assert "Comments added: 0" in again.output
    count = select(func.count(Comment.id)).join(Thread).where(Thread.site_id == target.id)
    assert db.session.scalar(count) == db.session.scalar(
        select(func.count(Comment.id)).join(Thread).where(Thread.site_id == source.id)
    )


def test_a_closed_page_stays_closed_through_export_and_restore(runner, tmp_path):
    source = build_blog()
    thread = db.session.scalars(
        select(Thread).where(Thread.site_id == source.id, Thread.url == POST_URL)
    ).one()
    thread.closed = True
    db.session.commit()
    out = tmp_path / "export.json"
    runner.invoke(args=["export", "--site", source.id, "--output", str(out)])
    data = json.loads(out.read_text())
    assert {t["url"]: t["closed"] for t in data["threads"]} == {
        POST_URL: True,
        f"{HOST_ORIGIN}/other": False,
    }

    target = make_site()
    runner.invoke(args=["import", "afterword", str(out), "--site", target.id])

    db.session.expire_all()
    restored = dict(
        db.session.execute(
            select(Thread.url, Thread.closed).where(Thread.site_id == target.id)
        ).all()
    )
    assert restored == {POST_URL: True, f"{HOST_ORIGIN}/other": False}


def test_a_reply_written_as_the_site_comes_back_as_the_sites(runner, tmp_path):
    from app.services import moderation

    source = build_blog()
    moderator = make_moderator(source, email="baker@example.com")
    root = db.session.scalars(select(Comment).where(Comment.body == "A reply")).one()
    moderation.reply_as_site(moderator, root.id, "Thanks from the bakery.")
    out = tmp_path / "export.json"
    runner.invoke(args=["export", "--site", source.id, "--output", str(out)])

    target = make_site()
    target_moderator = make_moderator(target, email="owner@example.com")
    result = runner.invoke(args=["import", "afterword", str(out), "--site", target.id])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    [restored] = db.session.scalars(
        select(Comment)
        .join(Thread)
        .where(Thread.site_id == target.id, Comment.body == "Thanks from the bakery.")
    )
    assert restored.moderator_id == target_moderator.id  # shown as the site's, with its badge
