"""Guests cannot pass for the site or its moderators, and names carry no invisible tricks."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.domain import names
from app.extensions import db
from app.models import Comment, Site
from app.services import identities, moderators, sites
from app.services.identities import Profile
from tests.factories import HOST_ORIGIN, guest_payload, make_moderator, make_site, post_json

RESERVED = {
    "error": {
        "code": "validation_error",
        "message": "This name is reserved on this site.",
        "field": "name",
    }
}


# "Massage Blog" in full-width letters.
FULL_WIDTH = "\uff2d\uff41\uff53\uff53\uff41\uff47\uff45 \uff22\uff4c\uff4f\uff47"


@pytest.fixture
def blog(app) -> Site:
    return sites.create_site(name="Massage Blog", origins=[HOST_ORIGIN])


def comments_stored() -> int:
    return db.session.scalar(select(func.count()).select_from(Comment))


# --- the rule -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "Massage Blog",
        "massage  blog",
        FULL_WIDTH,
        "M\u0430ss\u0430ge Blog",  # Cyrillic small a for Latin a
        "Mass\u200dage Blog",  # a zero-width joiner inside
        "MASSAGE BL0G",  # a digit zero for the letter
        "Massage\u202e Blog",
    ],
)
def test_look_alikes_of_a_protected_name_are_reserved(name):
    assert names.is_reserved(name, ["Massage Blog"])


@pytest.mark.parametrize(
    "name", ["admin", "Administrator", "MODERATOR", "\u0430dmin", "\uff21\uff44\uff4d\uff49\uff4e"]
)
def test_the_reserved_words_are_reserved_everywhere(name):
    assert names.is_reserved(name, [])


@pytest.mark.parametrize("name", ["Grace", "Massage Blog fan", "Admina", "Zoë"])
def test_other_names_are_not(name):
    assert not names.is_reserved(name, ["Massage Blog"])


def test_invisible_characters_are_stripped():
    assert names.strip_invisible("\u202eevil") == "evil"
    assert names.strip_invisible("Z\u200bo\u2066ë\ufeff\u061c\u200e") == "Zoë"


# --- posting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        FULL_WIDTH,
        "M\u0430ssage Blog",
        "Massage\u200d Blog",
        "Mass\u200dage Blog",
        "Admin",
    ],
)
def test_a_guest_cannot_post_as_the_site(client, blog, name):
    resp = post_json(client, blog, guest_payload(name=name))
    assert resp.status_code == 400
    assert resp.json == RESERVED
    assert comments_stored() == 0


def test_a_guest_cannot_post_as_a_moderator_of_the_site(client, blog):
    moderator = make_moderator(blog, email="jane@example.com")
    moderators.link_identity(
        moderator, Profile(provider="dev", provider_user_id="j", name="Jane Roe")
    )
    resp = post_json(client, blog, guest_payload(name="J\u0430ne Roe"))
    assert resp.status_code == 400 and resp.json == RESERVED


def test_names_of_other_sites_and_their_moderators_are_free(client, blog):
    other = make_site()
    moderator = make_moderator(other)
    moderators.link_identity(
        moderator, Profile(provider="dev", provider_user_id="j", name="Jane Roe")
    )
    assert post_json(client, blog, guest_payload(name="Jane Roe")).status_code == 201
    assert post_json(client, blog, guest_payload(name=other.name, body="2")).status_code == 201


def test_a_moderator_of_every_site_is_protected_on_each(client, blog):
    moderator = make_moderator()  # no sites given: every site
    moderators.link_identity(
        moderator, Profile(provider="dev", provider_user_id="j", name="Jane Roe")
    )
    assert post_json(client, blog, guest_payload(name="jane roe")).json == RESERVED


def test_the_local_part_of_a_moderators_email_is_no_name(client, blog):
    make_moderator(blog, email="grace@example.com")
    assert post_json(client, blog, guest_payload(name="Grace")).status_code == 201


def test_bidi_overrides_are_stripped_before_storing(client, blog):
    resp = post_json(client, blog, guest_payload(name="\u202eevil"))
    assert resp.status_code == 201
    assert resp.json["comment"]["author"]["name"] == "evil"
    assert db.session.get(Comment, resp.json["comment"]["id"]).guest_name == "evil"


def test_a_name_of_invisible_characters_only_is_no_name(client, blog):
    resp = post_json(client, blog, guest_payload(name="\u200b\u202e"))
    assert resp.status_code == 400 and resp.json["error"]["field"] == "name"
    assert resp.json["error"]["message"] == "Please give your name."


def test_a_normal_name_is_accepted(client, blog):
    resp = post_json(client, blog, guest_payload(name="Grace Hopper"))
    assert resp.status_code == 201
    assert resp.json["comment"]["author"]["name"] == "Grace Hopper"


def test_provider_names_lose_invisible_characters_at_sign_in(app):
    user = identities.sign_in(
        Profile(provider="dev", provider_user_id="eve", name="\u202eEve\u200b", handle="\u2066eve")
    )
    assert user.display_name == "Eve"
    assert user.handle == "eve"
