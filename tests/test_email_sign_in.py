"""Signing in with a link mailed to one's address, through the API, the link's page and a real
SMTP server; and guests who prove their address owning the comments they wrote with it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import Message

import pytest
from sqlalchemy import select

from app.domain.states import CommentStatus, ModerationMode
from app.extensions import db
from app.models import Comment, Identity, LoginFlow, User
from app.services import moderation
from tests.factories import (
    HOST_ORIGIN,
    POST_URL,
    guest_payload,
    make_moderator,
    make_site,
    post_json,
)
from tests.helpers import claim, csrf_from
from tests.test_notifications import AnyPortController, Inbox, text_of
from tests.test_reply_notifications import Mailbox, link

ZOE = "zoe@example.com"
LINK = re.compile(r"http://127\.0\.0\.1:5000(/auth/email/sign-in/[^\s\"<>]+)")


@pytest.fixture
def app(app):
    app.config.update(EMAIL_LOGIN=True)
    return app


@pytest.fixture
def mailbox(app, runner) -> Iterator[Mailbox]:
    inbox = Inbox()
    controller = AnyPortController(inbox, hostname="127.0.0.1", port=0)
    controller.start()
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=controller.port,
        MAIL_USE_TLS=False,
        MAIL_FROM="comments@blog.example",
    )
    yield Mailbox(runner, inbox)
    controller.stop()


def ask(client, site, address: object = ZOE, **extra):
    payload = {"provider": "email", "address": address, "return_url": POST_URL, **extra}
    return post_json(client, site, payload, path="logins")


def sign_in_link(message: Message) -> str:
    found = LINK.search(text_of(message))
    assert found, text_of(message)
    return found.group(1)


def press(client, path: str):
    """The button of the link's page; answers the page that hands the code on."""
    return client.post(path, data={"csrf_token": csrf_from(client.get(path).text)})


def handed(done) -> tuple[str, str]:
    """The flow and code the page hands to the page the sign-in started from."""
    found = re.search(r"#afterword-login=([\w-]+)\.([\w-]+)", done.text)
    assert found, done.text
    return found.group(1), found.group(2)


def sign_in(client, site, mailbox: Mailbox, address: str = ZOE) -> dict:
    """The whole way, in one browser: ask, open the mailed link, press, claim."""
    started = ask(client, site, address)
    assert started.status_code == 201, started.json
    [mail] = mailbox.new(address.strip().lower())
    flow, code = handed(press(client, sign_in_link(mail)))
    claimed = claim(client, site, flow, secret=started.json["secret"], code=code)
    assert claimed.status_code == 200, claimed.json
    return claimed.json


def bearer(token: str) -> dict[str, str]:
    return {"Origin": HOST_ORIGIN, "Authorization": f"Bearer {token}"}


def thread(client, site, token: str | None = None) -> list[dict]:
    headers = bearer(token) if token else {"Origin": HOST_ORIGIN}
    resp = client.get(
        f"/api/v1/sites/{site.id}/thread", query_string={"url": POST_URL}, headers=headers
    )
    assert resp.status_code == 200, resp.json
    return resp.json["comments"]


# --- the flow ------------------------------------------------------------------------------


def test_a_reader_signs_in_with_the_link_mailed_to_them(client, site, mailbox):
    started = ask(client, site, "  Zoe@Example.COM ")
    assert started.status_code == 201
    assert started.json["mailed"] is True and started.json["start_url"] is None
    [mail] = mailbox.new(ZOE)
    assert mail["Subject"] == f"Your link to sign in on {site.name}"
    path = sign_in_link(mail)
    assert f'href="http://127.0.0.1:5000{path}"' in text_of(mail, "html")

    page = client.get(path)  # what a mail scanner does: nothing happens
    assert page.status_code == 200 and "<button" in page.text
    db.session.expire_all()
    assert db.session.get(LoginFlow, started.json["flow"]).completed_at is None

    done = client.post(path, data={"csrf_token": csrf_from(page.text)})
    assert done.status_code == 200
    assert f"{POST_URL}#afterword-login={started.json['flow']}." in done.text
    flow, code = handed(done)
    claimed = claim(client, site, flow, secret=started.json["secret"], code=code)
    assert claimed.status_code == 200
    viewer = claimed.json["viewer"]
    assert (viewer["name"], viewer["provider"], viewer["provider_label"]) == ("zoe", *["email"] * 2)
    identity = db.session.scalars(select(Identity)).one()
    assert (identity.provider, identity.provider_user_id) == ("email", ZOE)


def test_the_link_works_once(client, site, mailbox):
    started = ask(client, site).json
    [mail] = mailbox.new()
    path = sign_in_link(mail)
    csrf = csrf_from(client.get(path).text)
    flow, code = handed(client.post(path, data={"csrf_token": csrf}))
    assert client.post(path, data={"csrf_token": csrf}).status_code == 410
    assert client.get(path).status_code == 410  # its page says it is used up
    assert claim(client, site, flow, secret=started["secret"], code=code).status_code == 200
    assert claim(client, site, flow, secret=started["secret"], code=code).status_code == 410


def test_the_link_expires(client, site, mailbox, clock):
    started = ask(client, site).json
    [mail] = mailbox.new()
    clock.advance(30 * 60 + 1)
    assert client.get(sign_in_link(mail)).status_code == 410
    assert claim(client, site, started["flow"], secret=started["secret"], code="x").status_code in (
        404,
        410,
    )


def test_a_forwarded_link_signs_nobody_in_elsewhere(app, client, site, mailbox):
    """Another browser may press the button, but it lacks the secret the page kept."""
    started = ask(client, site).json
    [mail] = mailbox.new()
    elsewhere = app.test_client()
    flow, code = handed(press(elsewhere, sign_in_link(mail)))
    for secret in ("", "guessed-secret", started["flow"]):
        assert claim(elsewhere, site, flow, secret=secret, code=code).status_code in (400, 404)
    assert db.session.scalar(select(User)) is None
    # The link is used up: the one who asked asks again.
    assert client.get(sign_in_link(mail)).status_code == 410


def test_the_claim_needs_the_code_of_the_link(client, site, mailbox):
    """Whoever asked holds the secret, but only the mailbox holds the link."""
    started = ask(client, site).json
    for code in ("", "made-up-code"):
        resp = claim(client, site, started["flow"], secret=started["secret"], code=code)
        assert resp.status_code in (400, 404)
    assert db.session.scalar(select(User)) is None


def test_signing_in_again_keeps_the_readers_name(client, site, mailbox):
    sign_in(client, site, mailbox)
    user = db.session.scalars(select(User)).one()
    user.display_name = "Zoë Winter"
    db.session.commit()
    assert sign_in(client, site, mailbox)["viewer"]["name"] == "Zoë Winter"


def test_sending_is_limited_per_address_however_it_is_spelled(app, client, site, mailbox):
    app.config.update(RATELIMIT_EMAIL_LOGIN="2 per hour")
    assert ask(client, site, ZOE).status_code == 201
    assert ask(client, site, " ZOE@example.com").status_code == 201
    refused = ask(client, site, "Zoe@Example.com")
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert refused.json["error"]["code"] == "too_many_requests"
    assert ask(client, site, "bo@example.com").status_code == 201
    assert len(mailbox.new(ZOE)) == 2


def test_sending_is_limited_per_requester(app, client, site, mailbox):
    app.config.update(RATELIMIT_EMAIL_LOGIN_IP="3 per hour")
    for i in range(3):
        assert ask(client, site, f"r{i}@example.com").status_code == 201
    assert ask(client, site, "r9@example.com").status_code == 429
    # Other sign-ins are not counted in it.
    app.config.update(DEV_LOGIN=True)
    assert post_json(client, site, {"provider": "dev"}, path="logins").status_code == 201


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"address": None}, "address"),
        ({"address": 42}, "address"),
        ({"address": ["zoe@example.com"]}, "address"),
        ({"address": "not an address"}, "address"),
        ({"address": "zoe@example.com\r\nBcc: all@example.com"}, "address"),
        ({"address": "a" * 300 + "@example.com"}, "address"),
        ({"return_url": None}, "return_url"),
        ({"return_url": "https://elsewhere.example/"}, "url"),  # as for every provider
    ],
)
def test_bad_input_is_refused_with_its_field(client, site, mailbox, extra, field):
    resp = ask(client, site, **extra)
    assert resp.status_code == 400, resp.json
    assert set(resp.json["error"]) >= {"code", "message", "field"}
    assert resp.json["error"]["field"] == field
    assert mailbox.new("all@example.com") == [] and db.session.scalar(select(LoginFlow)) is None


def test_a_made_up_link_is_refused(client):
    assert client.get("/auth/email/sign-in/not-a-token").status_code == 400


def test_off_when_the_operator_turns_it_off(app, client, site, mailbox):
    started = ask(client, site)
    [mail] = mailbox.new()
    app.config.update(EMAIL_LOGIN=False)
    assert "email" not in [p["name"] for p in thread_config(client, site)]
    assert ask(client, site).json["error"]["field"] == "provider"
    assert client.get(sign_in_link(mail)).status_code == 404
    assert started.status_code == 201


def thread_config(client, site) -> list[dict]:
    return client.get(f"/api/v1/sites/{site.id}/config").json["providers"]


def test_the_button_has_an_envelope_mark(client, site):
    [email] = thread_config(client, site)
    assert (email["name"], email["label"]) == ("email", "email")
    assert email["mark"]["path"].startswith("M2 5h20v14H2z")


# --- guests who prove their address own their comments --------------------------------------


def test_signing_in_with_email_verifies_and_owns_ones_earlier_guest_comments(
    app, client, site, mailbox
):
    mine = post_json(client, site, guest_payload(email=ZOE, name="Zoë")).json["comment"]
    other = post_json(client, site, guest_payload(email="bo@example.com", body="Bo")).json
    moderation.act(make_moderator(site), [mine["id"], other["comment"]["id"]], "approve")
    assert [c["author"]["verified"] for c in thread(client, site)] == [False, False]

    token = sign_in(client, site, mailbox)["token"]
    # Everyone sees the mark, on the cached page too.
    assert [c["author"]["verified"] for c in thread(client, site)] == [True, False]
    # The reader owns it from any device: no edit token, only their sign-in.
    mine_now, others = thread(app.test_client(), site, token)
    assert mine_now["mine"] is True and others["mine"] is False
    edited = client.patch(
        f"/api/v1/sites/{site.id}/comments/{mine['id']}",
        json={"body": "Edited"},
        headers=bearer(token),
    )
    assert edited.status_code == 200, edited.json
    refused = client.delete(
        f"/api/v1/sites/{site.id}/comments/{other['comment']['id']}", json={}, headers=bearer(token)
    )
    assert refused.status_code == 403
    deleted = client.delete(
        f"/api/v1/sites/{site.id}/comments/{mine['id']}", json={}, headers=bearer(token)
    )
    assert deleted.status_code == 200


def test_a_held_comment_shows_to_the_reader_who_proved_its_address(client, site, mailbox):
    mine = post_json(client, site, guest_payload(email=ZOE)).json["comment"]
    assert mine["status"] == "pending"
    token = sign_in(client, site, mailbox)["token"]
    [shown] = thread(client, site, token)
    assert (shown["id"], shown["mine"], shown["status"]) == (mine["id"], True, "pending")
    assert thread(client, site) == []


def test_comments_typed_with_the_address_after_it_was_proven_are_not_verified(
    client, site, mailbox
):
    open_site = make_site(moderation=ModerationMode.NONE)
    sign_in(client, open_site, mailbox)
    later = post_json(client, open_site, guest_payload(email=ZOE, name="Mallory")).json
    assert later["comment"]["author"]["verified"] is False


def test_proof_on_one_site_verifies_nothing_on_another(client, site, mailbox):
    elsewhere = make_site(moderation=ModerationMode.NONE)
    post_json(client, elsewhere, guest_payload(email=ZOE))
    sign_in(client, site, mailbox)
    assert [c["author"]["verified"] for c in thread(client, elsewhere)] == [False]


def test_comments_of_a_reader_signed_in_by_email_show_verified(client, mailbox):
    open_site = make_site(moderation=ModerationMode.NONE)
    token = sign_in(client, open_site, mailbox)["token"]
    resp = client.post(
        f"/api/v1/sites/{open_site.id}/comments",
        json={"url": POST_URL, "body": "Signed in"},
        headers=bearer(token),
    )
    assert resp.json["comment"]["author"] | {"avatar_seed": ""} == {
        "name": "zoe",
        "website": None,
        "avatar_url": None,
        "avatar_seed": "",
        "provider": "email",
        "moderator": False,
        "verified": True,
    }


def test_the_reply_mail_confirmation_verifies_the_guests_earlier_comments(client, mailbox):
    open_site = make_site(moderation=ModerationMode.NONE)
    mine = post_json(client, open_site, guest_payload(email=ZOE, notify_replies=True)).json
    assert mine["comment"]["author"]["verified"] is False
    [confirmation] = mailbox.new()
    path = link(confirmation, "confirm-address")
    client.get(path)
    db.session.expire_all()
    assert db.session.get(Comment, mine["comment"]["id"]).email_verified is False  # a GET
    client.post(path, data={"csrf_token": csrf_from(client.get(path).text)})
    assert [c["author"]["verified"] for c in thread(client, open_site)] == [True]


# --- first-time moderation ------------------------------------------------------------------


def test_first_time_trusts_a_reader_whose_proven_guest_comment_was_approved(client, mailbox):
    site = make_site(moderation=ModerationMode.FIRST_TIME)
    earlier = post_json(client, site, guest_payload(email=ZOE)).json["comment"]
    token = sign_in(client, site, mailbox)["token"]

    def status(body: str) -> str:
        resp = client.post(
            f"/api/v1/sites/{site.id}/comments",
            json={"url": POST_URL, "body": body},
            headers=bearer(token),
        )
        return resp.json["comment"]["status"]

    assert status("Before any approval") == "pending"
    moderation.set_status(db.session.get_one(Comment, earlier["id"]), CommentStatus.APPROVED)
    db.session.commit()
    assert status("Now trusted") == "approved"
    # A guest typing the same address is still a stranger.
    guest = post_json(client, site, guest_payload(email=ZOE, body="A guest again")).json
    assert guest["comment"]["status"] == "pending"
