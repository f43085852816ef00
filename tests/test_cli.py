"""The commands of docs/cli.md."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.domain.states import ModerationMode
from app.extensions import db
from app.models import Moderator, Site
from tests.factories import make_site


def test_site_create_prints_the_id_and_snippet(runner):
    result = runner.invoke(
        args=[
            "site",
            "create",
            "--name",
            "Massage blog",
            "--origin",
            "https://Blog.Example/",
            "--origin",
            "http://localhost:8000",
        ]
    )
    assert result.exit_code == 0, result.output
    site = db.session.scalars(select(Site)).one()
    assert site.origins == ["https://blog.example", "http://localhost:8000"]
    assert site.moderation is ModerationMode.ALL
    assert f"Site id: {site.id}" in result.output
    assert '<div id="afterword"></div>' in result.output
    assert (
        f'<script src="http://127.0.0.1:5000/embed.js" data-site="{site.id}" async></script>'
        in result.output
    )


def test_site_create_takes_a_moderation_mode(runner):
    result = runner.invoke(
        args=[
            "site",
            "create",
            "--name",
            "x",
            "--origin",
            "https://a.example",
            "--moderation",
            "first-time",
        ]
    )
    assert result.exit_code == 0
    assert db.session.scalars(select(Site)).one().moderation is ModerationMode.FIRST_TIME


@pytest.mark.parametrize(
    "origin", ["https://a.example/blog", "https://*.a.example", "javascript:alert(1)", "a.example"]
)
def test_site_create_refuses_what_is_not_one_exact_origin(runner, origin):
    result = runner.invoke(args=["site", "create", "--name", "x", "--origin", origin])
    assert result.exit_code != 0
    assert "origin" in result.output
    assert db.session.scalars(select(Site)).all() == []


@pytest.mark.parametrize(
    ("origin", "why", "instead"),
    [
        ("https://blog.example/posts", "it has a path", "https://blog.example"),
        ("https://blog.example/?p=12", "it has a query", "https://blog.example"),
        ("blog.example", "it has no scheme", "https://blog.example"),
        ("localhost:8000/", "it has no scheme", "http://localhost:8000"),
        ("https://*.example.com", "it has a wildcard", "https://www.example.com"),
        ("*.example.com", "it has a wildcard", "https://www.example.com"),
        ("ftp://blog.example", "only http:// and https://", "https://blog.example"),
    ],
)
def test_a_refused_origin_says_why_and_what_to_type_instead(runner, origin, why, instead):
    result = runner.invoke(args=["site", "create", "--name", "x", "--origin", origin])
    assert result.exit_code != 0
    message = " ".join(result.output.split())  # click may wrap a long message
    assert f"{origin} is not an origin: {why}" in message
    assert message.endswith(instead), message
    assert db.session.scalars(select(Site)).all() == []


def test_site_list(runner):
    site = make_site(origins=["https://one.example", "https://two.example"])
    result = runner.invoke(args=["site", "list"])
    assert result.exit_code == 0
    assert site.id in result.output
    assert "https://two.example" in result.output


def test_moderator_create_for_every_site_with_a_prompted_password(runner):
    result = runner.invoke(
        args=["moderator", "create", "Mod@Example.com"], input="correct horse\ncorrect horse\n"
    )
    assert result.exit_code == 0, result.output
    moderator = db.session.scalars(select(Moderator)).one()
    assert moderator.email == "mod@example.com"
    assert moderator.all_sites
    assert moderator.check_password("correct horse")
    assert not moderator.check_password("wrong horse")
    assert "correct horse" not in result.output
    assert moderator.password_hash.startswith("scrypt:")


def test_moderator_create_for_one_site(runner):
    site = make_site()
    result = runner.invoke(
        args=[
            "moderator",
            "create",
            "m@example.com",
            "--site",
            site.id,
            "--password",
            "long enough pw",
        ]
    )
    assert result.exit_code == 0, result.output
    moderator = db.session.scalars(select(Moderator)).one()
    assert not moderator.all_sites
    assert [s.id for s in db.session.scalars(select(Site).join(Moderator.sites))] == [site.id]


def test_moderator_create_refuses_unknown_site_and_short_password(runner):
    bad_site = runner.invoke(
        args=[
            "moderator",
            "create",
            "m@example.com",
            "--site",
            "nope",
            "--password",
            "long enough pw",
        ]
    )
    assert bad_site.exit_code != 0 and "no site" in bad_site.output.lower()
    short = runner.invoke(args=["moderator", "create", "m@example.com", "--password", "short"])
    assert short.exit_code != 0 and "10 characters" in short.output
    assert db.session.scalars(select(Moderator)).all() == []


def test_demo_command_is_idempotent(runner, app):
    for _ in range(2):
        result = runner.invoke(args=["demo"])
        assert result.exit_code == 0
    site = db.session.scalars(select(Site)).one()
    assert site.name == "demo"
    assert site.origins == ["http://127.0.0.1:5000", "http://localhost:5000"]
    assert re.search(site.id, result.output)


def test_prune_drops_old_address_hashes_and_flows(runner, client):
    from datetime import timedelta

    from app.models import Comment, LoginFlow
    from app.services import logins
    from tests.factories import guest_payload, post_json

    site = make_site()
    post_json(client, site, guest_payload(body="old"))
    post_json(client, site, guest_payload(body="new"))
    old, new = db.session.scalars(select(Comment).order_by(Comment.id)).all()
    old.created_at -= timedelta(days=31)
    flow = logins.create_flow(site, origin="https://blog.example", provider="dev", popup=True).flow
    flow.created_at -= timedelta(hours=1)
    db.session.commit()

    result = runner.invoke(args=["prune"])
    assert result.exit_code == 0, result.output
    assert "Dropped 1 address hash(es) and 1 expired sign-in(s)." in result.output
    db.session.expire_all()
    assert db.session.get(Comment, old.id).remote_addr_hash is None
    assert db.session.get(Comment, new.id).remote_addr_hash is not None
    assert db.session.scalars(select(LoginFlow)).all() == []
    assert runner.invoke(args=["prune"]).exit_code == 0  # again: nothing left, no error
