"""A site's moderation mode decides whether a new comment waits."""

from __future__ import annotations

from itertools import count

from app.domain.states import CommentStatus, ModerationMode
from app.extensions import db
from app.services import identities
from app.services.identities import Profile
from app.services.tokens import reader_token
from tests.factories import HOST_ORIGIN, guest_payload, make_comment, make_site

_bodies = count(1)


def status_of_new_comment(client, site, headers=None, **overrides) -> str:
    overrides.setdefault("body", f"Comment number {next(_bodies)}")
    resp = client.post(
        f"/api/v1/sites/{site.id}/comments",
        json=guest_payload(**overrides),
        headers={"Origin": HOST_ORIGIN, **(headers or {})},
    )
    assert resp.status_code == 201, resp.json
    return resp.json["comment"]["status"]


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


def test_first_time_holds_a_guest_typing_an_approved_authors_name_and_email(client):
    """The spoofing attack: name and email are whatever the poster types."""
    site = make_site(moderation=ModerationMode.FIRST_TIME)
    make_comment(site, name="Grace", email="grace@example.com")
    assert status_of_new_comment(client, site, name="Grace", email="grace@example.com") == (
        "pending"
    )


def test_mode_first_time_trusts_signed_in_readers_with_an_approved_comment(client):
    site = make_site(moderation=ModerationMode.FIRST_TIME)
    user = identities.sign_in(Profile(provider="github", provider_user_id="7", name="Grace"))
    db.session.commit()
    headers = {"Authorization": f"Bearer {reader_token(user.id, site.id, 'github')}"}
    assert status_of_new_comment(client, site, headers=headers) == "pending"
    make_comment(site, user=user)
    assert status_of_new_comment(client, site, headers=headers) == "approved"
    # A guest giving the reader's name is a stranger.
    assert status_of_new_comment(client, site, name="Grace") == "pending"


def test_first_time_trust_does_not_cross_sites(client):
    trusted_elsewhere = make_site(moderation=ModerationMode.NONE)
    make_comment(trusted_elsewhere, name="Grace", email="grace@example.com")
    site = make_site(moderation=ModerationMode.FIRST_TIME)
    assert status_of_new_comment(client, site) == "pending"


def test_only_an_approved_comment_earns_trust(client):
    site = make_site(moderation=ModerationMode.FIRST_TIME)
    make_comment(site, name="Grace", email="grace@example.com", status=CommentStatus.SPAM)
    assert status_of_new_comment(client, site) == "pending"
