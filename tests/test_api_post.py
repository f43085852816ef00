"""Posting a guest comment through the API."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.domain.states import CommentStatus, ModerationMode
from app.extensions import db
from app.models import Comment, Thread
from app.services.tokens import edit_token
from tests.factories import HOST_ORIGIN, POST_URL, guest_payload, make_comment, make_site, post_json


def test_guest_comment_is_stored_pending_and_rendered(client, site):
    resp = post_json(client, site, guest_payload(body="Hello *world* <script>x</script>"))
    assert resp.status_code == 201
    comment = resp.json["comment"]
    assert comment["status"] == "pending"
    assert comment["mine"] is True
    assert comment["html"] == "<p>Hello <em>world</em> &lt;script&gt;x&lt;/script&gt;</p>"
    assert comment["author"]["name"] == "Grace"
    assert comment["author"]["website"] == "https://grace.example"
    assert "grace@example.com" not in resp.get_data(as_text=True)
    assert resp.json["edit_token"]
    assert resp.headers["Access-Control-Allow-Origin"] == HOST_ORIGIN


def test_first_comment_creates_the_thread_and_a_view_does_not(client, site):
    client.get(f"/api/v1/sites/{site.id}/thread", query_string={"url": POST_URL})
    assert db.session.scalar(select(func.count(Thread.id))) == 0
    post_json(client, site, guest_payload(title="  A   title "))
    thread = db.session.scalars(select(Thread)).one()
    assert (thread.url, thread.title) == (POST_URL, "A title")


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("name", "", "validation_error"),
        ("name", "x" * 101, "validation_error"),
        ("email", "", "validation_error"),
        ("email", "not-an-email", "validation_error"),
        ("website", "javascript:alert(1)", "validation_error"),
        ("website", "ftp://files.example", "validation_error"),
        ("website", 'https://x.example/" onmouseover="alert(1)', "validation_error"),
        ("body", "", "validation_error"),
        ("body", "   \n ", "validation_error"),
        ("body", 42, "validation_error"),
        ("body", "x" * 10_001, "body_too_long"),
    ],
)
def test_bad_fields_are_refused_with_the_field_named(client, site, field, value, code):
    resp = post_json(client, site, guest_payload(**{field: value}))
    assert resp.status_code == 400
    assert resp.json["error"]["code"] == code
    assert resp.json["error"]["field"] == field
    assert db.session.scalar(select(func.count(Comment.id))) == 0


def test_a_comment_of_exactly_the_limit_is_kept_whole(client, site):
    body = "y" * 10_000
    resp = post_json(client, site, guest_payload(body=body))
    assert resp.status_code == 201
    assert db.session.scalars(select(Comment.body)).one() == body


def test_too_long_comment_says_so_and_is_not_cut(client, site):
    resp = post_json(client, site, guest_payload(body="z" * 12_345))
    assert resp.status_code == 400
    assert "10,000" in resp.json["error"]["message"]
    assert "12,345" in resp.json["error"]["message"]


def test_website_without_scheme_becomes_https(client, site):
    resp = post_json(client, site, guest_payload(website="grace.example/about"))
    assert resp.json["comment"]["author"]["website"] == "https://grace.example/about"


def test_url_on_a_foreign_origin_is_refused(client, site):
    resp = post_json(client, site, guest_payload(url="https://evil.example/post"))
    assert resp.status_code == 400
    assert resp.json["error"]["code"] == "url_not_allowed"


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "https://sub.blog.example", "http://blog.example", "null"]
)
def test_post_from_an_unregistered_origin_is_refused(client, site, origin):
    resp = post_json(client, site, guest_payload(), origin=origin)
    assert resp.status_code == 403
    assert resp.json["error"]["code"] == "origin_not_allowed"
    assert db.session.scalar(select(func.count(Comment.id))) == 0


def test_post_without_origin_is_refused(client, site):
    resp = post_json(client, site, guest_payload(), origin=None)
    assert resp.status_code == 403


def test_form_encoded_post_is_refused(client, site):
    resp = client.post(
        f"/api/v1/sites/{site.id}/comments",
        data={"body": "hi", "name": "a", "email": "a@example.com", "url": POST_URL},
        headers={"Origin": HOST_ORIGIN},
    )
    assert resp.status_code == 415
    assert resp.json["error"]["code"] == "unsupported_media_type"


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_invalid_json_is_a_clear_400(client, site, raw):
    resp = client.post(
        f"/api/v1/sites/{site.id}/comments",
        data=raw,
        content_type="application/json",
        headers={"Origin": HOST_ORIGIN},
    )
    assert resp.status_code == 400
    assert resp.json["error"]["code"] == "invalid_json"


def test_unknown_site_is_404(client, site):
    resp = client.post(
        "/api/v1/sites/nosuchsite/comments", json=guest_payload(), headers={"Origin": HOST_ORIGIN}
    )
    assert resp.status_code == 404
    assert resp.json["error"]["code"] == "site_not_found"


def test_reply_to_a_comment_of_the_same_thread(client, site):
    parent = make_comment(site)
    resp = post_json(client, site, guest_payload(parent_id=parent.id))
    assert resp.status_code == 201
    assert resp.json["comment"]["parent_id"] == parent.id


def test_reply_across_threads_is_refused(client, site):
    elsewhere = make_comment(site, url=f"{HOST_ORIGIN}/another-post")
    resp = post_json(client, site, guest_payload(parent_id=elsewhere.id))
    assert resp.status_code == 422
    assert resp.json["error"]["code"] == "parent_not_found"


def test_reply_across_sites_is_refused(client, site):
    other_site = make_site(origins=[HOST_ORIGIN])
    foreign = make_comment(other_site)
    resp = post_json(client, site, guest_payload(parent_id=foreign.id))
    assert resp.json["error"]["code"] == "parent_not_found"


def test_reply_to_someone_elses_pending_comment_is_refused(client, site):
    hidden = make_comment(site, status=None)
    resp = post_json(client, site, guest_payload(parent_id=hidden.id))
    assert resp.json["error"]["code"] == "parent_not_found"


def test_a_guest_answers_their_own_waiting_comment_and_the_answer_waits_with_it(client, site):
    first = post_json(client, site, guest_payload(body="My question"))
    mine, token = first.json["comment"], first.json["edit_token"]
    assert mine["status"] == "pending"

    reply = post_json(
        client,
        site,
        guest_payload(body="One more thing", parent_id=mine["id"], parent_edit_token=token),
    )

    assert reply.status_code == 201, reply.json
    assert reply.json["comment"]["status"] == "pending"
    assert reply.json["comment"]["parent_id"] == mine["id"]
    # The author sees both, the answer under the question; nobody else sees either.
    tokens = ",".join([token, reply.json["edit_token"]])
    own = client.get(
        f"/api/v1/sites/{site.id}/thread",
        query_string={"url": POST_URL, "mine": tokens},
        headers={"Origin": HOST_ORIGIN},
    ).json
    [question] = own["comments"]
    assert question["id"] == mine["id"]
    assert [r["body"] for r in question["replies"]] == ["One more thing"]
    public = client.get(
        f"/api/v1/sites/{site.id}/thread",
        query_string={"url": POST_URL},
        headers={"Origin": HOST_ORIGIN},
    ).json
    assert public["comments"] == []


def test_a_waiting_comment_cannot_be_answered_with_another_comments_token(client, site):
    hidden = make_comment(site, status=None)
    other = post_json(client, site, guest_payload(body="Elsewhere"))
    stolen = {"parent_id": hidden.id, "parent_edit_token": other.json["edit_token"]}
    for token in (other.json["edit_token"], "forged", 7, None):
        stolen["parent_edit_token"] = token
        resp = post_json(client, site, guest_payload(body=f"Try {token}", **stolen))
        assert resp.status_code == 422 and resp.json["error"]["code"] == "parent_not_found"


def test_on_a_site_without_moderation_an_answer_to_a_waiting_comment_still_waits(client):
    site = make_site(moderation=ModerationMode.NONE)
    parent = make_comment(site, status=CommentStatus.PENDING)  # held by the spam check, say
    token = edit_token(parent.id)
    resp = post_json(client, site, guest_payload(parent_id=parent.id, parent_edit_token=token))
    assert resp.status_code == 201 and resp.json["comment"]["status"] == "pending"


@pytest.mark.parametrize("parent_id", ["1", True, 1.5, [1]])
def test_parent_id_must_be_an_integer(client, site, parent_id):
    resp = post_json(client, site, guest_payload(parent_id=parent_id))
    assert resp.status_code == 400
    assert resp.json["error"]["field"] == "parent_id"


def test_double_submit_with_one_key_stores_one_comment(client, site):
    payload = guest_payload(idempotency_key="6f1d8a52-5b0e-4d7c-9f5a-0d3c2f1e9b7a")
    first = post_json(client, site, payload)
    second = post_json(client, site, payload)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json["comment"]["id"] == second.json["comment"]["id"]
    assert db.session.scalar(select(func.count(Comment.id))) == 1


def test_reusing_a_key_for_other_text_is_a_conflict(client, site):
    key = "6f1d8a52-5b0e-4d7c-9f5a-0d3c2f1e9b7a"
    post_json(client, site, guest_payload(idempotency_key=key))
    resp = post_json(client, site, guest_payload(idempotency_key=key, body="Different"))
    assert resp.status_code == 409
    assert resp.json["error"]["code"] == "idempotency_conflict"


def test_someone_elses_key_does_not_hand_out_their_comment(client, site):
    key = "6f1d8a52-5b0e-4d7c-9f5a-0d3c2f1e9b7a"
    post_json(client, site, guest_payload(idempotency_key=key))
    resp = post_json(client, site, guest_payload(idempotency_key=key, email="eve@example.com"))
    assert resp.status_code == 409
    assert "edit_token" not in resp.json


def test_remote_address_is_stored_only_as_a_keyed_hash(client, site):
    post_json(client, site, guest_payload())
    stored = db.session.scalars(select(Comment.remote_addr_hash)).one()
    assert stored and len(stored) == 64 and "127.0.0.1" not in stored


def test_oversized_request_is_refused_before_parsing(client, site):
    resp = post_json(client, site, guest_payload(body="x" * 300_000))
    assert resp.status_code == 413
    assert resp.json["error"]["code"] == "request_entity_too_large"
