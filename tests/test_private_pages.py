"""A signed-in reader's page, and a guest's that carries their own pending comments, is kept
for that reader alone and answered in front of Flask on a repeat, exactly as Flask answers
it; anything that changes what they would see retires it."""

from __future__ import annotations

import pytest

from app.domain.states import ModerationMode
from app.extensions import db
from app.models import ModeratorIdentity
from app.services import identities, privacy
from app.services.identities import Profile
from tests.factories import (
    HOST_ORIGIN,
    POST_URL,
    bearer,
    guest_payload,
    make_comment,
    make_moderator,
    make_reader,
    post_json,
)
from tests.test_api_fast_reads import assert_alike, payload, thread


def thread_reads(calls: list[str]) -> int:
    return calls.count("api.thread")


def post_as(client, site, headers, **fields):
    return client.post(
        f"/api/v1/sites/{site.id}/comments",
        json=guest_payload(**fields),
        headers={"Origin": HOST_ORIGIN, **headers},
    )


def test_a_readers_repeat_read_is_answered_in_front_exactly_as_flask_answers(
    client, flask_only, flask_calls, site
):
    ada = make_reader("Ada")
    make_comment(site, user=ada, body="Mine")
    make_comment(site, body="Someone else's")
    headers = bearer(ada, site)
    first = thread(client, site, headers)
    again = thread(client, site, headers)
    assert thread_reads(flask_calls) == 1
    assert_alike(again, thread(flask_only, site, headers))
    assert again.get_data() == first.get_data()
    assert again.headers["Cache-Control"] == "private, no-store"
    assert "ETag" not in again.headers
    page = payload(again)
    assert page["viewer"]["name"] == "Ada"
    assert [c["mine"] for c in page["comments"]] == [True, False]


def test_one_readers_page_never_reaches_another_reader_or_a_guest(client, site):
    ada, bob = make_reader("Ada"), make_reader("Bob")
    make_comment(site, user=ada, body="Ada's")
    for _ in range(2):
        assert payload(thread(client, site, bearer(ada, site)))["comments"][0]["mine"]
    bobs = payload(thread(client, site, bearer(bob, site)))
    assert bobs["viewer"]["name"] == "Bob"
    assert not bobs["comments"][0]["mine"]
    guests = payload(thread(client, site))
    assert guests["viewer"] is None and not guests["comments"][0]["mine"]


def test_a_new_name_shows_on_the_readers_kept_pages(client, site):
    """A sign-in refreshes the account's name and picture (app/services/identities.py)."""
    ada = make_reader("Ada")
    make_comment(site)
    for _ in range(2):
        assert payload(thread(client, site, bearer(ada, site)))["viewer"]["name"] == "Ada"
    identities.sign_in(Profile(provider="dev", provider_user_id="ada", name="Ada L."))
    assert payload(thread(client, site, bearer(ada, site)))["viewer"]["name"] == "Ada L."


def test_the_readers_own_pending_comment_shows_at_once(client, flask_calls, site):
    site.moderation = ModerationMode.ALL
    db.session.commit()
    ada = make_reader("Ada")
    make_comment(site, body="Published")
    headers = bearer(ada, site)
    thread(client, site, headers)
    thread(client, site, headers)  # kept
    assert post_as(client, site, headers, body="Waiting").status_code == 201

    page = payload(thread(client, site, headers))
    assert [(c["html"], c["status"], c["mine"]) for c in page["comments"]] == [
        ("<p>Published</p>", "approved", False),
        ("<p>Waiting</p>", "pending", True),
    ]
    assert len(payload(thread(client, site))["comments"]) == 1  # nobody else sees it


def test_a_guest_with_edit_tokens_is_kept_apart_and_a_forged_token_proves_nothing(
    client, flask_calls, site
):
    site.moderation = ModerationMode.ALL
    db.session.commit()
    posted = post_json(client, site, guest_payload(body="My waiting comment"))
    token = posted.get_json()["edit_token"]
    for _ in range(2):
        page = payload(thread(client, site, mine=token))
        assert [(c["status"], c["mine"]) for c in page["comments"]] == [("pending", True)]
    assert thread_reads(flask_calls) == 1

    assert payload(thread(client, site, mine=token[:-2] + "xx"))["comments"] == []
    assert payload(thread(client, site))["comments"] == []


def test_a_like_shows_on_the_readers_kept_page(client, site):
    ada = make_reader("Ada")
    comment = make_comment(site)
    headers = bearer(ada, site)
    for _ in range(2):
        assert "liked" not in payload(thread(client, site, headers))["comments"][0]
    resp = client.put(
        f"/api/v1/sites/{site.id}/comments/{comment.id}/like",
        json={},
        headers={"Origin": HOST_ORIGIN, **headers},
    )
    assert resp.status_code == 200, resp.get_json()
    mine = payload(thread(client, site, headers))["comments"][0]
    assert (mine["liked"], mine["likes"]) == (True, 1)


def test_an_erased_reader_is_signed_out_though_their_page_was_kept(client, site):
    ada = make_reader("Ada")
    make_comment(site, body="Someone else's")
    headers = bearer(ada, site)
    for _ in range(2):
        assert payload(thread(client, site, headers))["viewer"]["name"] == "Ada"
    privacy.erase_user(ada.id)
    page = payload(thread(client, site, headers))
    assert page["viewer"] is None and page["session_expired"] is True


def test_a_moderators_page_is_never_kept(client, flask_calls, site):
    moderator = make_moderator(site)
    ada = make_reader("Ada")
    db.session.add(
        ModeratorIdentity(moderator_id=moderator.id, provider="dev", provider_user_id="ada")
    )
    db.session.commit()
    make_comment(site, body="Waiting", status=None)
    for _ in range(3):
        assert len(payload(thread(client, site, bearer(ada, site)))["moderation"]["pending"]) == 1
    assert thread_reads(flask_calls) == 3


def test_becoming_a_moderator_shows_on_a_kept_page(client, site):
    moderator = make_moderator(site)
    ada = make_reader("Ada")
    make_comment(site, body="Waiting", status=None)
    for _ in range(2):
        assert "moderation" not in payload(thread(client, site, bearer(ada, site)))
    db.session.add(
        ModeratorIdentity(moderator_id=moderator.id, provider="dev", provider_user_id="ada")
    )
    db.session.commit()
    assert "moderation" in payload(thread(client, site, bearer(ada, site)))


@pytest.mark.parametrize("path", ["fast", "flask"])
def test_a_readers_own_limit_holds_across_addresses_on_both_paths(
    app, client, flask_only, site, path
):
    app.config["RATELIMIT_READ"] = "3 per minute"
    ada = make_reader("Ada")
    make_comment(site)
    reader = client if path == "fast" else flask_only

    def read(address: str) -> int:
        return reader.get(
            f"/api/v1/sites/{site.id}/thread",
            query_string={"url": POST_URL},
            headers={"Origin": HOST_ORIGIN, "Accept-Encoding": "gzip", **bearer(ada, site)},
            environ_base={"REMOTE_ADDR": address},
        ).status_code

    addresses = ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4"]
    assert [read(a) for a in addresses] == [200, 200, 200, 429]
