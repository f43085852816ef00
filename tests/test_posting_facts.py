"""What a post is checked against and that seldom changes comes from the cache, and every
change to it reaches the very next post: a ban, a webhook, a moderator's name or a new
moderator of the site."""

from __future__ import annotations

from sqlalchemy import select

from app.database import write_transaction
from app.domain.roles import Role
from app.domain.states import CommentStatus, ModerationMode
from app.extensions import db
from app.models import Comment, WebhookDelivery
from app.services import moderation, moderators, webhooks
from app.services.identities import Profile
from tests.factories import guest_payload, make_moderator, make_site, post_json
from tests.helpers import statements_during

RARELY_CHANGED = ("moderator_identity", "FROM ban", "site_webhook")


def test_a_post_on_a_quiet_site_reads_no_bans_webhook_or_moderator_names(client):
    site = make_site(moderation=ModerationMode.NONE)
    assert post_json(client, site, guest_payload(body="The first")).status_code == 201
    answers = []
    sent = statements_during(
        lambda: answers.append(post_json(client, site, guest_payload(body="The second")))
    )
    assert answers[0].status_code == 201
    assert not [s for s, _ in sent if any(part in s for part in RARELY_CHANGED)], sent


def test_a_ban_reaches_the_next_post(client):
    site = make_site(moderation=ModerationMode.NONE)
    moderator = make_moderator(site)
    first = post_json(client, site, guest_payload(body="Buy my pills")).json["comment"]["id"]
    moderation.ban_author(moderator, first)
    resp = post_json(client, site, guest_payload(body="Buy them again"))
    assert resp.status_code == 403
    assert (
        db.session.scalars(select(Comment.status).where(Comment.body == "Buy them again")).one()
        is CommentStatus.SPAM
    )


def test_a_lifted_ban_lets_the_author_back_in(client):
    site = make_site(moderation=ModerationMode.NONE)
    moderator = make_moderator(site)
    first = post_json(client, site, guest_payload(body="Too hot")).json["comment"]["id"]
    ban = moderation.ban_author(moderator, first)
    assert post_json(client, site, guest_payload(body="Still hot")).status_code == 403
    moderation.lift_ban(moderator, ban.id)
    assert post_json(client, site, guest_payload(body="Calmer now")).status_code == 201


def test_a_webhook_set_after_a_post_gets_the_next_one(client):
    site = make_site(moderation=ModerationMode.ALL)
    owner = make_moderator(site)
    assert post_json(client, site, guest_payload(body="Before the hook")).status_code == 201
    webhooks.save(owner, site.id, "http://127.0.0.1:9/hook", "json")
    assert post_json(client, site, guest_payload(body="After the hook")).status_code == 201
    [delivery] = db.session.scalars(select(WebhookDelivery)).all()
    assert delivery.event == webhooks.PENDING
    assert "After the hook" in delivery.body


def test_a_moderators_new_name_is_reserved_at_once(client):
    site = make_site(moderation=ModerationMode.NONE)
    moderator = make_moderator(site)
    assert post_json(client, site, guest_payload(name="Jane Roe")).status_code == 201
    moderators.link_identity(
        moderator, Profile(provider="dev", provider_user_id="j", name="Jane Roe")
    )
    resp = post_json(client, site, guest_payload(name="Jane Roe", body="Once more"))
    assert resp.status_code == 400 and resp.json["error"]["field"] == "name"


def test_a_moderator_given_the_site_has_their_name_reserved_on_it_at_once(client):
    site, other = make_site(moderation=ModerationMode.NONE), make_site()
    moderator = make_moderator(other)
    moderators.link_identity(
        moderator, Profile(provider="dev", provider_user_id="j", name="Jane Roe")
    )
    assert post_json(client, site, guest_payload(name="Jane Roe")).status_code == 201
    with write_transaction():
        moderators.grant(moderator, site.id, Role.MODERATOR)
    resp = post_json(client, site, guest_payload(name="Jane Roe", body="Once more"))
    assert resp.status_code == 400 and resp.json["error"]["field"] == "name"
