"""A site's moderation mode decides whether a new comment waits."""

from __future__ import annotations

from itertools import count

from app.domain.states import CommentStatus, ModerationMode
from tests.factories import guest_payload, make_comment, make_site, post_json

_bodies = count(1)


def status_of_new_comment(client, site, **overrides) -> str:
    overrides.setdefault("body", f"Comment number {next(_bodies)}")
    return post_json(client, site, guest_payload(**overrides)).json["comment"]["status"]


def test_mode_all_holds_every_comment(client, site):
    make_comment(site, name="Grace", email="grace@example.com")
    assert status_of_new_comment(client, site) == "pending"


def test_mode_none_publishes_at_once(client):
    site = make_site(moderation=ModerationMode.NONE)
    assert status_of_new_comment(client, site) == "approved"
    resp = client.get(
        f"/api/v1/sites/{site.id}/thread", query_string={"url": guest_payload()["url"]}
    )
    assert resp.json["thread"]["count"] == 1


def test_mode_first_time_trusts_authors_with_an_approved_comment(client):
    site = make_site(moderation=ModerationMode.FIRST_TIME)
    assert status_of_new_comment(client, site) == "pending"
    make_comment(site, name="Grace", email="grace@example.com")
    assert status_of_new_comment(client, site) == "approved"
    # Same email under another name, or the same name with another email: a stranger.
    assert status_of_new_comment(client, site, name="Mallory") == "pending"
    assert status_of_new_comment(client, site, email="mallory@example.com") == "pending"


def test_first_time_trust_does_not_cross_sites(client):
    trusted_elsewhere = make_site(moderation=ModerationMode.NONE)
    make_comment(trusted_elsewhere, name="Grace", email="grace@example.com")
    site = make_site(moderation=ModerationMode.FIRST_TIME)
    assert status_of_new_comment(client, site) == "pending"


def test_only_an_approved_comment_earns_trust(client):
    site = make_site(moderation=ModerationMode.FIRST_TIME)
    make_comment(site, name="Grace", email="grace@example.com", status=CommentStatus.SPAM)
    assert status_of_new_comment(client, site) == "pending"
