"""What a post is checked against and that seldom changes comes from the cache, and every
change to it reaches the very next post: a ban, a webhook, a moderator's name or a new
moderator of the site."""

from __future__ import annotations

import re

from sqlalchemy import select, text

from app.database import write_transaction
from app.domain.roles import Role
from app.domain.states import CommentStatus, ModerationMode
from app.extensions import db
from app.models import Comment, WebhookDelivery
from app.services import moderation, moderators, sites, webhooks
from app.services.identities import Profile
from tests.factories import (
    HOST_ORIGIN,
    guest_payload,
    make_moderator,
    make_site,
    post_json,
)
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


# The site's own row comes from the cache too (app/services/sites.py, `cached_site_row`):
# each change of its settings must reach the next post however it was made.
SITE_ROW = re.compile(r"\bFROM site\b(?!_)")


def test_a_post_reads_no_site_row(client):
    site = make_site(moderation=ModerationMode.NONE)
    assert post_json(client, site, guest_payload(body="The first")).status_code == 201
    path, headers = f"/api/v1/sites/{site.id}/comments", {"Origin": HOST_ORIGIN}
    answers = []
    sent = statements_during(
        lambda: answers.append(
            client.post(path, json=guest_payload(body="The second"), headers=headers)
        )
    )
    assert answers[0].status_code == 201
    assert not [s for s, _ in sent if SITE_ROW.search(s)], sent


def test_a_new_banned_word_reaches_the_next_post(client):
    site = make_site(moderation=ModerationMode.NONE)
    owner = make_moderator(site)
    assert post_json(client, site, guest_payload(body="Cheap rolex here")).status_code == 201
    sites.update_word_lists(owner, site.id, banned="rolex", held="")
    resp = post_json(client, site, guest_payload(body="Another rolex"))
    assert resp.status_code == 403
    stored = db.session.scalars(select(Comment.status).where(Comment.body == "Another rolex"))
    assert stored.one() is CommentStatus.SPAM


def test_a_new_held_word_holds_the_next_post(client):
    site = make_site(moderation=ModerationMode.NONE)
    owner = make_moderator(site)
    assert post_json(client, site, guest_payload(body="Deep tissue")).status_code == 201
    sites.update_word_lists(owner, site.id, banned="", held="tissue")
    resp = post_json(client, site, guest_payload(body="More deep tissue"))
    assert resp.status_code == 201 and resp.json["comment"]["status"] == "pending"


def test_a_stricter_moderation_mode_holds_the_next_post(client):
    site = make_site(moderation=ModerationMode.NONE)
    assert post_json(client, site, guest_payload(body="Published at once")).status_code == 201
    sites.change_site(site.id, moderation=ModerationMode.ALL)
    resp = post_json(client, site, guest_payload(body="Waits now"))
    assert resp.status_code == 201 and resp.json["comment"]["status"] == "pending"


def test_a_removed_origin_may_not_post_any_more(client):
    site = make_site(origins=[HOST_ORIGIN, "https://old.example"])
    assert post_json(client, site, guest_payload(), origin="https://old.example").status_code == 201
    sites.change_site(site.id, remove_origins=["https://old.example"])
    resp = post_json(client, site, guest_payload(body="Again"), origin="https://old.example")
    assert resp.status_code == 403


def test_a_site_deleted_by_another_process_answers_not_found(client):
    """Without Redis another worker keeps its copy of the site's row for a few seconds: a post
    in that moment finds no site, and says so, rather than failing."""
    site = make_site(moderation=ModerationMode.NONE)
    assert post_json(client, site, guest_payload(body="Kept in the cache")).status_code == 201
    path = f"/api/v1/sites/{site.id}/comments"
    # As another process deletes it: no generation of this process's cache moves.
    db.session.execute(text("DELETE FROM site WHERE id = :id"), {"id": site.id})
    db.session.commit()
    for payload in (
        guest_payload(body="Too late"),
        guest_payload(body="Late", url=f"{HOST_ORIGIN}/a-new-page"),
    ):
        resp = client.post(path, json=payload, headers={"Origin": HOST_ORIGIN})
        assert resp.status_code == 404, resp.json
        assert resp.json["error"]["code"] == "site_not_found"
