"""A site's moderation mode decides whether a new comment waits."""

from __future__ import annotations

from itertools import count

from sqlalchemy import select

from app.domain.states import CommentStatus, ModerationMode
from app.extensions import db
from app.models import AuditEntry, Comment, Site
from app.services import identities
from app.services.identities import Profile
from app.services.tokens import reader_token
from tests.factories import HOST_ORIGIN, guest_payload, make_comment, make_moderator, make_site
from tests.helpers import Dashboard, csrf_from

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


def test_trust_is_earned_after_the_sites_number_of_approved_comments(client):
    site = make_site(moderation=ModerationMode.FIRST_TIME)
    site.trust_after = 3
    db.session.commit()
    user = identities.sign_in(Profile(provider="github", provider_user_id="8", name="Lin"))
    db.session.commit()
    headers = {"Authorization": f"Bearer {reader_token(user.id, site.id, 'github')}"}
    for _ in range(2):
        make_comment(site, user=user)
    assert status_of_new_comment(client, site, headers=headers) == "pending"
    waiting = db.session.scalars(
        select(Comment).where(Comment.status == CommentStatus.PENDING)
    ).one()
    assert waiting.holds == [{"code": "too-few-approved", "detail": "2 of 3"}]
    make_comment(site, user=user)
    assert status_of_new_comment(client, site, headers=headers) == "approved"


def test_a_guest_never_earns_trust_and_is_told_why_it_waits(client):
    site = make_site(moderation=ModerationMode.FIRST_TIME)
    for _ in range(3):
        make_comment(site, name="Grace", email="grace@example.com")
    assert status_of_new_comment(client, site, name="Grace", email="grace@example.com") == (
        "pending"
    )
    waiting = db.session.scalars(
        select(Comment).where(Comment.status == CommentStatus.PENDING)
    ).one()
    assert waiting.holds == [{"code": "guest"}]


def test_the_dashboard_sets_the_number_and_refuses_nonsense(client, site):
    moderator = make_moderator(site)
    Dashboard(client).sign_in(moderator.email)
    page = client.get(f"/dashboard/sites/{site.id}").text
    assert "Approved comments before a signed-in reader skips the queue" in page
    data = {
        "csrf_token": csrf_from(page),
        "origins": HOST_ORIGIN,
        "moderation": "first-time",
        "trust_after": "5",
    }
    assert client.post(f"/dashboard/sites/{site.id}", data=data).status_code == 302
    db.session.expire_all()
    assert db.session.get_one(Site, site.id).trust_after == 5
    for bad in ("0", "101", "many"):
        resp = client.post(f"/dashboard/sites/{site.id}", data={**data, "trust_after": bad})
        assert resp.status_code == 200  # the form again, with its error
        db.session.expire_all()
        assert db.session.get_one(Site, site.id).trust_after == 5
    assert "trust_after=5" in db.session.scalars(select(AuditEntry.detail)).all()
