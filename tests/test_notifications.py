"""Moderator mail: queued with the comment, sent by `flask mail send-pending`, safe links."""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message
from email.policy import default

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from app.domain.states import CommentStatus, ModerationMode
from app.extensions import db
from app.models import Comment, OutboxMessage
from app.models.types import utcnow
from app.services import identities, mail, mail_actions, moderators
from app.services.identities import Profile
from app.services.tokens import reader_token
from tests.factories import (
    HOST_ORIGIN,
    POST_URL,
    guest_payload,
    make_moderator,
    make_site,
    post_json,
)
from tests.helpers import Dashboard


class Inbox:
    """An SMTP server on loopback that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=default))
        return "250 OK"


class AnyPortController(Controller):
    """aiosmtpd's threaded controller on the port the OS picked for `port=0`: it checks that
    the server is up by connecting to its port, so it reads which one first."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def inbox(app) -> Iterator[Inbox]:
    handler = Inbox()
    controller = AnyPortController(handler, hostname="127.0.0.1", port=0)
    controller.start()
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=controller.port,
        MAIL_USE_TLS=False,
        MAIL_FROM="comments@blog.example",
    )
    yield handler
    controller.stop()


def outbox_rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def text_of(message: Message, subtype: str = "plain") -> str:
    for part in message.walk():
        if part.get_content_type() == f"text/{subtype}":
            return part.get_payload(decode=True).decode()
    raise AssertionError(f"no text/{subtype} part")


def test_a_waiting_comment_queues_mail_for_the_sites_moderators(client, site):
    mine = make_moderator(site, email="mine@example.com")
    make_moderator(make_site(), email="elsewhere@example.com")
    everyone = make_moderator(email="all@example.com")
    quiet = make_moderator(site, email="quiet@example.com")
    moderators.set_notify(quiet, "off")
    resp = post_json(client, site, guest_payload(body="Hello"))
    assert resp.status_code == 201  # queued, not sent: the post never waits on SMTP
    assert sorted(r.to for r in outbox_rows()) == sorted([mine.email, everyone.email])


def test_the_mail_names_a_signed_in_author_as_the_dashboard_does(client, site):
    make_moderator(site, email="mine@example.com")
    user = identities.sign_in(Profile(provider="dev", provider_user_id="ada", name="Ada Lovelace"))
    resp = client.post(
        f"/api/v1/sites/{site.id}/comments",
        json={"url": POST_URL, "body": "Signed in"},
        headers={
            "Origin": HOST_ORIGIN,
            "Authorization": f"Bearer {reader_token(user.id, site.id, 'dev')}",
        },
    )
    assert resp.status_code == 201
    [message] = outbox_rows()
    assert message.body_text.startswith("Ada Lovelace wrote on")
    assert "<strong>Ada Lovelace</strong> wrote on" in message.body_html
    assert "signed-in reader" not in message.body_text + message.body_html


def test_the_mail_says_why_the_comment_waits_with_the_owners_word_escaped(client):
    site = make_site(moderation=ModerationMode.NONE)
    site.held_words = ["<b>refund</b>"]
    db.session.commit()
    make_moderator(site, email="mine@example.com")
    post_json(client, site, guest_payload(body="A <b>refund</b> please"))
    [message] = outbox_rows()
    assert "Why it waits: Held word: <b>refund</b>." in message.body_text
    assert "<strong>Why it waits:</strong> Held word: &lt;b&gt;refund&lt;/b&gt;." in (
        message.body_html
    )


def test_no_mail_for_a_comment_published_at_once(client):
    site = make_site(moderation=ModerationMode.NONE)
    make_moderator(site)
    post_json(client, site, guest_payload())
    assert outbox_rows() == []


def test_send_pending_delivers_over_smtp_with_escaped_content(client, site, runner, inbox):
    make_moderator(site, email="mod@example.com")
    post_json(
        client,
        site,
        guest_payload(name="<b>Eve</b>", body="<script>alert(1)</script> *hi*", title="Rye"),
    )
    result = runner.invoke(args=["mail", "send-pending"])
    assert result.exit_code == 0 and "Sent 1 message." in result.output
    [message] = inbox.messages
    assert message["To"] == "mod@example.com"
    assert message["From"] == "comments@blog.example"
    assert message["Subject"] == f"[{site.name}] A comment waits on “Rye”"
    html = text_of(message, "html")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>Eve</b>" not in html and "&lt;b&gt;Eve&lt;/b&gt;" in html
    assert "<em>hi</em>" in html
    assert "<script>alert(1)</script> *hi*" in text_of(message)
    assert all(r.sent_at is not None for r in outbox_rows())
    assert runner.invoke(args=["mail", "send-pending"]).output.startswith("Sent 0")
    assert len(inbox.messages) == 1


def test_a_thread_title_cannot_inject_headers(client, site, inbox):
    make_moderator(site, email="mod@example.com")
    post_json(client, site, guest_payload(title="Post\r\nBcc: victim@example.com\r\nX-Evil: 1"))
    mail.send_pending()
    [message] = inbox.messages
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert "\n" not in message["Subject"]


# RFC 2047 encoded-words that decode to CR/LF and a header: some Python 3.11 releases decode
# them while refolding a header and write the result out raw (CVE-2024-6923).
ENCODED_INJECTIONS = [
    "=?utf-8?q?=0D=0AReply-To:_x@evil.example=0D=0A?=",
    "=?UTF-8?B?DQpSZXBseS1UbzogeEBldmlsLmV4YW1wbGUNCg==?=",
    "Rye =?utf-8?q?=0A?=\t=?Utf-8?Q?Reply-To:_x@evil.example?=",
]


@pytest.mark.parametrize("title", ENCODED_INJECTIONS)
def test_an_encoded_word_in_a_title_or_site_name_arrives_as_plain_subject_text(
    client, site, inbox, title
):
    site.name = "Blog =?utf-8?q?=0D=0ABcc:_all@evil.example?="
    db.session.commit()
    make_moderator(site, email="mod@example.com")
    post_json(client, site, guest_payload(title=title))
    [row] = outbox_rows()
    assert "=?" not in row.subject
    assert mail.send_pending().sent == 1
    [message] = inbox.messages
    assert message["Reply-To"] is None and message["Bcc"] is None
    assert sorted(message.keys()) == sorted(
        ["From", "To", "Date", "Message-ID", "Subject", "Content-Type", "MIME-Version"]
    )
    subject = message["Subject"]
    assert "\n" not in subject and "\r" not in subject
    assert "Bcc:_all@evil.example" in subject  # what was typed, still readable
    assert "Reply-To" in subject or "DQpSZXBseS1Ub" in subject


def test_header_text_strips_controls_and_breaks_encoded_words():
    assert mail.header_text("a\r\nBcc: x@example.com") == "a Bcc: x@example.com"
    assert mail.header_text("a\rb\nc\x00d\x07e\x1bf\x7fg\x85h\u2028i") == "a b c d e f g h i"
    assert mail.header_text("one \r\n\t two") == "one two"  # folding whitespace
    for word in ("=?utf-8?q?=0D=0A?=", "=?UTF-8?B?DQo=?=", "=?Iso-8859-1?Q?x?="):
        assert "=?" not in mail.header_text(f"Re: {word} end")
    assert mail.header_text("=\r\n ?utf-8?q?x?=") == "= ?utf-8?q?x?="  # folded to form one
    assert mail.header_text("==??=?") == "== ??= ?"
    assert mail.header_text("Café “quoted”: 1+1=2? a=b?") == "Café “quoted”: 1+1=2? a=b?"
    assert len(mail.header_text("=?" * 500)) == 200


def test_without_mail_server_mail_is_logged_not_sent(client, site, caplog):
    make_moderator(site, email="mod@example.com")
    post_json(client, site, guest_payload(body="logged only"))
    with caplog.at_level("INFO", logger="app.services.mail"):
        assert mail.send_pending().sent == 1
    assert "logged only" in caplog.text


def test_failed_delivery_is_retried_later(client, site, app):
    make_moderator(site, email="mod@example.com")
    post_json(client, site, guest_payload())
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=1, MAIL_USE_TLS=False)  # nothing there
    report = mail.send_pending()
    assert (report.sent, report.failed) == (0, 1)
    [row] = outbox_rows()
    assert row.sent_at is None and row.attempts == 1 and row.send_after > utcnow()
    assert mail.send_pending().failed == 0  # not due yet


def test_daily_digest_gathers_waiting_comments_into_one_mail(client, site, inbox):
    moderator = make_moderator(site, email="mod@example.com")
    moderators.set_notify(moderator, "digest")
    for i in range(3):
        post_json(client, site, guest_payload(body=f"comment {i}"))
    assert mail.send_pending().sent == 0  # not before the digest hour
    for row in outbox_rows():
        row.send_after = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert mail.send_pending().sent == 1
    [message] = inbox.messages
    assert message["Subject"] == "3 comments are waiting for you"
    body = text_of(message)
    assert all(f"comment {i}" in body for i in range(3))


# --- the approve/reject links in the mail ------------------------------------------------


def mailed_link(action: str) -> str:
    [row] = outbox_rows()
    url = re.search(rf"{action.capitalize()}:\s+(\S+)", row.body_text).group(1)
    return url.removeprefix("http://127.0.0.1:5000")


@pytest.fixture
def waiting(client, site) -> Comment:
    make_moderator(site, email="mod@example.com")
    post_json(client, site, guest_payload(body="Approve me"))
    return db.session.scalars(select(Comment)).one()


def status_of(comment: Comment) -> CommentStatus:
    db.session.expire_all()
    return db.session.get(Comment, comment.id).status


def test_opening_a_mail_link_changes_nothing(client, waiting):
    page = client.get(mailed_link("approve"))
    assert page.status_code == 200
    assert "Approve me" in page.text and ">Approve</button>" in page.text
    assert status_of(waiting) is CommentStatus.PENDING  # a mail scanner's GET is harmless


def test_confirming_a_mail_link_acts_once(client, waiting):
    link = mailed_link("approve")
    dash = Dashboard(client)
    resp = client.post(link, data={"csrf_token": dash.token(link)})
    assert resp.status_code == 200 and "now approved" in resp.text
    assert status_of(waiting) is CommentStatus.APPROVED
    again = client.post(link, data={"csrf_token": dash.token("/dashboard/login")})
    assert again.status_code == 410 and "already used" in again.text


def test_a_mail_link_post_needs_its_csrf_token(client, waiting):
    assert client.post(mailed_link("reject")).status_code == 400
    assert status_of(waiting) is CommentStatus.PENDING


def test_a_tampered_link_is_refused(client, waiting):
    link = mailed_link("approve")
    token = link.rsplit("/", 1)[1]
    forged = link.replace(token, token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb"))
    assert client.get(forged).status_code == 400
    other_action = mailed_link("reject")
    assert other_action != link  # each action has its own signed link


def test_an_expired_link_is_refused(client, waiting, clock):
    link = mailed_link("approve")
    clock.advance(mail_actions.LINK_SECONDS + 60)
    resp = client.get(link)
    assert resp.status_code == 410 and "expired" in resp.text
    assert status_of(waiting) is CommentStatus.PENDING


def test_a_link_stops_working_when_its_moderator_loses_the_site(client, site, waiting):
    from app.models import moderator_sites

    link = mailed_link("approve")
    db.session.execute(moderator_sites.delete())
    db.session.commit()
    assert client.get(link).status_code == 404
    assert status_of(waiting) is CommentStatus.PENDING
    assert db.session.scalar(select(func.count(Comment.id))) == 1


def test_an_address_beyond_ascii_is_sent_and_holds_up_nothing(app):
    """zoë@… is a valid address (RFC 6531): it goes out with SMTPUTF8, and even a message
    that cannot be built would only be retried, never block the mail queued after it."""
    inbox = Inbox()
    controller = AnyPortController(inbox, hostname="127.0.0.1", port=0, enable_SMTPUTF8=True)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_USE_TLS=False)
    mail.enqueue("zoë@example.com", "Über", "Hallo", None)
    mail.enqueue("bob@example.com", "Plain", "Hello", None)
    db.session.commit()

    try:
        report = mail.send_pending()
    finally:
        controller.stop()

    assert (report.sent, report.failed) == (2, 0)
    assert sorted(m["To"] for m in inbox.messages) == ["bob@example.com", "zoë@example.com"]
    assert {m["Subject"] for m in inbox.messages} == {"Über", "Plain"}
