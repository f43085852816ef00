"""Spam signals: honeypot, fill time, duplicates, links, Akismet; nothing is ever lost."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from flask import Flask, request
from sqlalchemy import select
from werkzeug.serving import make_server

from app.domain.states import CommentStatus, ModerationMode
from app.extensions import db
from app.models import Comment
from tests.factories import guest_payload, make_site, post_json


def stored(body: str) -> Comment:
    db.session.expire_all()
    return db.session.scalars(select(Comment).where(Comment.body == body)).one()


@pytest.fixture
def open_site():
    return make_site(moderation=ModerationMode.NONE)


def test_a_filled_honeypot_stores_the_comment_as_spam_quietly(client, open_site):
    resp = post_json(client, open_site, guest_payload(body="bot text", hp="http://spam.example"))
    assert resp.status_code == 201  # nothing tells the bot what gave it away
    assert resp.json["comment"]["status"] == "pending"
    assert stored("bot text").status is CommentStatus.SPAM
    assert stored("bot text").holds == [{"code": "honeypot"}]


def test_a_form_sent_in_an_instant_is_spam(app, client, open_site):
    app.config["COMMENT_MIN_FILL_MS"] = 2000
    post_json(client, open_site, guest_payload(body="instant", fill_ms=150))
    assert stored("instant").status is CommentStatus.SPAM
    assert stored("instant").holds == [{"code": "too-fast", "detail": "0.1"}]
    post_json(client, open_site, guest_payload(body="typed", fill_ms=25_000))
    assert stored("typed").status is CommentStatus.APPROVED


def test_the_same_text_twice_from_one_author_is_refused(client, site):
    assert post_json(client, site, guest_payload(body="Great post!")).status_code == 201
    again = post_json(client, site, guest_payload(body="Great post!"))
    assert again.status_code == 409
    assert again.json["error"] == {
        "code": "duplicate_comment",
        "message": "You already posted this comment.",
        "field": "body",
    }
    other = post_json(client, site, guest_payload(body="Great post!", email="b@example.com"))
    assert other.status_code == 201  # someone else may say the same


def test_many_links_wait_for_a_moderator_even_on_an_open_site(client, open_site):
    links = " ".join(f"[x{i}](https://l{i}.example)" for i in range(4))
    post_json(client, open_site, guest_payload(body=links))
    assert stored(links).status is CommentStatus.PENDING
    assert stored(links).holds == [{"code": "links", "detail": "4 (the site allows 3)"}]
    three = " ".join(f"[y{i}](https://l{i}.example)" for i in range(3))
    post_json(client, open_site, guest_payload(body=three))
    assert stored(three).status is CommentStatus.APPROVED


class FakeAkismet:
    """Akismet's comment-check on loopback: answers 'true' for texts containing 'viagra'."""

    def __init__(self) -> None:
        self.app = Flask("fake_akismet")
        self.requests: list[dict] = []
        self.broken = False

        @self.app.post("/1.1/comment-check")
        def check() -> tuple[str, int]:
            self.requests.append(request.form.to_dict())
            if self.broken:
                return "Internal error", 500
            if request.form.get("api_key") != "ak-key":
                return "invalid", 200
            return ("true" if "viagra" in request.form["comment_content"] else "false"), 200

        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/1.1/comment-check"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def akismet(app) -> Iterator[FakeAkismet]:
    fake = FakeAkismet()
    app.config.update(AKISMET_KEY="ak-key", AKISMET_URL=fake.url)
    yield fake
    fake.server.shutdown()


def test_akismet_spam_verdict(client, open_site, akismet):
    post_json(client, open_site, guest_payload(body="cheap viagra"))
    post_json(client, open_site, guest_payload(body="a fine loaf", email="b@example.com"))
    assert stored("cheap viagra").status is CommentStatus.SPAM
    assert stored("cheap viagra").holds == [{"code": "akismet"}]
    assert stored("a fine loaf").status is CommentStatus.APPROVED
    sent = akismet.requests[0]
    assert sent["comment_author_email"] == "grace@example.com"
    assert sent["permalink"] == guest_payload()["url"]
    assert sent["user_ip"] == "127.0.0.1"


@pytest.mark.parametrize("failure", ["broken", "unreachable", "bad key"])
def test_when_akismet_cannot_answer_the_comment_waits(client, open_site, akismet, app, failure):
    if failure == "broken":
        akismet.broken = True
    elif failure == "unreachable":
        app.config["AKISMET_URL"] = "http://127.0.0.1:1/1.1/comment-check"
    else:
        app.config["AKISMET_KEY"] = "wrong"
    resp = post_json(client, open_site, guest_payload(body="hello"))
    assert resp.status_code == 201
    assert stored("hello").status is CommentStatus.PENDING
    assert stored("hello").holds == [{"code": "akismet-unavailable"}]
