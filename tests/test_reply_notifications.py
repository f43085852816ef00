"""Mail about replies to one's comment: the address confirmed once per site, one mail per
approved reply, one-click out; through the API and a real SMTP server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message

import pytest
from sqlalchemy import func, select

from app.domain.states import CommentStatus, ModerationMode
from app.extensions import db
from app.models import Comment, NotificationAddress, ReplySubscription, User
from app.services import identities, moderation
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
from tests.helpers import csrf_from
from tests.test_notifications import AnyPortController, Inbox, text_of

ZOE = "zoe@example.com"


class Mailbox:
    """What `flask mail send-pending` delivers to a loopback SMTP server, per recipient."""

    def __init__(self, runner, inbox: Inbox) -> None:
        self.runner, self.inbox, self.seen = runner, inbox, 0

    def new(self, to: str = ZOE) -> list[Message]:
        """Messages to `to` delivered since the last look."""
        result = self.runner.invoke(args=["mail", "send-pending"])
        assert result.exit_code == 0, result.output
        fresh = self.inbox.messages[self.seen :]
        self.seen = len(self.inbox.messages)
        return [m for m in fresh if m["To"] == to]


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


def link(message: Message, kind: str) -> str:
    found = re.search(
        rf"http://127\.0\.0\.1:5000(/notifications/{kind}/[^\s\"<>]+)", text_of(message)
    )
    assert found, text_of(message)
    return found.group(1)


def press(client, path: str):
    """The button on a mailed link's page (the confirmation needs its CSRF token)."""
    return client.post(path, data={"csrf_token": csrf_from(client.get(path).text)})


def post(client, site, **fields):
    resp = post_json(client, site, guest_payload(**fields))
    assert resp.status_code == 201, resp.json
    return resp.json["comment"]


def approve(site, *comment_ids: int) -> None:
    moderation.act(make_moderator(site), list(comment_ids), "approve")


def reply(client, site, parent_id: int, **fields):
    fields = {"name": "Bo", "email": "bo@example.com", "body": "An answer", **fields}
    return post(client, site, parent_id=parent_id, **fields)


@pytest.fixture
def open_site(app):
    return make_site(moderation=ModerationMode.NONE)


@pytest.fixture
def confirmed(client, open_site, mailbox):
    """Zoë asked for replies to her comment and confirmed her address; returns the comment."""
    mine = post(client, open_site, email=ZOE, name="Zoë", body="Mine", notify_replies=True)
    [confirmation] = mailbox.new()
    assert confirmation["Subject"] == f"Confirm: replies to your comments on {open_site.name}"
    assert "replies" in press(client, link(confirmation, "confirm-address")).text
    return mine


def test_a_confirmed_author_gets_one_mail_per_reply_published_at_once(
    client, open_site, mailbox, confirmed
):
    answer = reply(client, open_site, confirmed["id"], body="Good *point*")
    [message] = mailbox.new()
    assert message["Subject"] == "New reply to your comment on “First post”"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Unsubscribe"].startswith(
        "<http://127.0.0.1:5000/notifications/replies/unsubscribe/"
    )
    # As sent: the URL itself, not RFC 2047 encoded-words a provider would not read.
    [raw] = [value for name, value in message.raw_items() if name == "List-Unsubscribe"]
    assert raw.strip() == message["List-Unsubscribe"]
    text = text_of(message)
    assert "Bo replied to your comment" in text and "Good *point*" in text
    assert f"{POST_URL}#comment-{answer['id']}" in text
    assert "<em>point</em>" in text_of(message, "html")
    reply(client, open_site, confirmed["id"], body="And another")
    assert len(mailbox.new()) == 1
    post(client, open_site, body="Not a reply")
    assert mailbox.new() == []


def test_only_an_approval_sends_and_only_once(client, site, mailbox):
    mine = post(client, site, email=ZOE, body="Mine", notify_replies=True)
    approve(site, mine["id"])
    press(client, link(mailbox.new()[0], "confirm-address"))
    waiting = reply(client, site, mine["id"])
    assert mailbox.new() == []  # pending
    moderator = make_moderator(site)
    moderation.act(moderator, [waiting["id"]], "approve")
    assert len(mailbox.new()) == 1
    moderation.act(moderator, [waiting["id"]], "reject")
    moderation.act(moderator, [waiting["id"]], "approve")
    assert mailbox.new() == []  # a change of mind sends nothing more
    for action in ("reject", "spam"):
        other = reply(client, site, mine["id"], body=f"To be {action}ed")
        moderation.act(moderator, [other["id"]], action)
    assert mailbox.new() == []


def test_no_mail_about_replies_to_a_comment_moderators_removed(client, site, mailbox):
    mine = post(client, site, email=ZOE, body="Mine", notify_replies=True)
    approve(site, mine["id"])
    press(client, link(mailbox.new()[0], "confirm-address"))
    moderator = make_moderator(site)
    late = reply(client, site, mine["id"])
    moderation.act(moderator, [mine["id"]], "spam")
    moderation.act(moderator, [late["id"]], "approve")
    assert mailbox.new() == []


def test_a_reply_the_spam_check_catches_sends_nothing(client, open_site, mailbox, confirmed):
    reply(client, open_site, confirmed["id"], hp="bot")
    assert mailbox.new() == []


def test_a_moderators_reply_as_the_site_is_mailed(client, open_site, mailbox, confirmed):
    moderation.reply_as_site(make_moderator(open_site), confirmed["id"], "Thanks!")
    [message] = mailbox.new()
    assert f"{open_site.name} replied" in text_of(message) and "Thanks!" in text_of(message)


def test_nothing_is_sent_before_the_address_is_confirmed_nor_released_later(
    client, open_site, mailbox
):
    mine = post(client, open_site, email=ZOE, body="Mine", notify_replies=True)
    [confirmation] = mailbox.new()
    reply(client, open_site, mine["id"], body="Too early")
    assert mailbox.new() == []
    assert client.get(link(confirmation, "confirm-address")).status_code == 200
    assert db.session.scalar(select(NotificationAddress.confirmed_at)) is None  # GET: nothing
    press(client, link(confirmation, "confirm-address"))
    assert mailbox.new() == []  # the early reply stays unsent
    reply(client, open_site, mine["id"], body="In time")
    [message] = mailbox.new()
    assert "In time" in text_of(message)


def test_one_pending_confirmation_per_address_and_site(client, open_site, mailbox, clock):
    for n in range(4):
        post(client, open_site, email=ZOE, body=f"Note {n}", notify_replies=True)
    assert len(mailbox.new()) == 1
    assert db.session.scalar(select(func.count()).select_from(NotificationAddress)) == 1
    clock.advance(8 * 24 * 3600)  # the first link has expired: one more may go
    post(client, open_site, email=ZOE, body="Later", notify_replies=True)
    post(client, open_site, email=ZOE, body="Later still", notify_replies=True)
    assert len(mailbox.new()) == 1


def test_a_confirmed_address_needs_no_new_confirmation(client, open_site, mailbox, confirmed):
    second = post(
        client, open_site, email=ZOE, body="Second", notify_replies=True, url=POST_URL + "2"
    )
    assert mailbox.new() == []
    reply(client, open_site, second["id"], url=POST_URL + "2")
    assert len(mailbox.new()) == 1


def test_another_site_asks_again(client, open_site, mailbox, confirmed):
    elsewhere = make_site(moderation=ModerationMode.NONE)
    post(client, elsewhere, email=ZOE, body="Hi there", notify_replies=True)
    [confirmation] = mailbox.new()
    assert confirmation["Subject"].startswith("Confirm")


def test_one_click_unsubscribe_stops_that_comments_replies_only(
    client, open_site, mailbox, confirmed
):
    other = post(client, open_site, email=ZOE, body="Other", notify_replies=True)
    reply(client, open_site, confirmed["id"])
    [message] = mailbox.new()
    path = message["List-Unsubscribe"].strip("<>").removeprefix("http://127.0.0.1:5000")
    assert client.get(path).status_code == 200  # a scanner's GET changes nothing
    reply(client, open_site, confirmed["id"], body="Still mailed")
    assert len(mailbox.new()) == 1
    # RFC 8058: the mail provider POSTs without cookie or token.
    resp = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert resp.status_code == 200 and "replies to this comment" in resp.text
    reply(client, open_site, confirmed["id"], body="After unsubscribing")
    assert mailbox.new() == []
    reply(client, open_site, other["id"], body="To the other one")
    assert len(mailbox.new()) == 1


def test_the_stop_all_link_stops_every_reply_mail_from_the_site(
    client, open_site, mailbox, confirmed
):
    reply(client, open_site, confirmed["id"])
    [message] = mailbox.new()
    stop_all = re.findall(r"/notifications/replies/unsubscribe/\S+", text_of(message))[1]
    assert "on this site" in client.post(stop_all).text
    reply(client, open_site, confirmed["id"], body="Unheard")
    assert mailbox.new() == []
    # Anyone could type her address again: after "stop", only her own click restarts mail.
    later = post(client, open_site, email=ZOE, body="Again", notify_replies=True)
    [confirmation] = mailbox.new()
    assert confirmation["Subject"].startswith("Confirm")
    reply(client, open_site, later["id"], body="Before the click")
    assert mailbox.new() == []


def test_no_mail_about_ones_own_reply(client, open_site, mailbox, confirmed):
    reply(client, open_site, confirmed["id"], email=ZOE, name="Zoë", body="Me again")
    assert mailbox.new() == []


def signed_in(site, name: str = "Ada") -> dict[str, str]:
    user = identities.sign_in(Profile(provider="dev", provider_user_id=name, name=name))
    return {
        "Origin": HOST_ORIGIN,
        "Authorization": f"Bearer {reader_token(user.id, site.id, 'dev')}",
    }


def post_signed_in(client, site, headers, **fields):
    return client.post(
        f"/api/v1/sites/{site.id}/comments",
        json={"url": POST_URL, "body": "Signed in", **fields},
        headers=headers,
    )


def test_a_signed_in_reader_gives_an_address_once(client, open_site, mailbox):
    ada = signed_in(open_site)
    known = client.get(
        f"/api/v1/sites/{open_site.id}/thread", query_string={"url": POST_URL}, headers=ada
    )
    assert known.json["viewer"]["notify_email_known"] is False
    missing = post_signed_in(client, open_site, ada, notify_replies=True)
    assert missing.status_code == 400 and missing.json["error"]["field"] == "notify_email"
    first = post_signed_in(
        client, open_site, ada, notify_replies=True, notify_email=" Ada@Example.com", body="One"
    )
    assert first.status_code == 201
    [confirmation] = mailbox.new("ada@example.com")
    assert "without asking you again" in text_of(confirmation)
    press(client, link(confirmation, "confirm-address"))
    # Known and confirmed now: neither asked for nor confirmed again.
    known = client.get(
        f"/api/v1/sites/{open_site.id}/thread", query_string={"url": POST_URL}, headers=ada
    )
    assert known.json["viewer"]["notify_email_known"] is True
    second = post_signed_in(client, open_site, ada, notify_replies=True, body="Two")
    assert second.status_code == 201
    assert mailbox.new("ada@example.com") == []
    reply(client, open_site, second.json["comment"]["id"])
    assert len(mailbox.new("ada@example.com")) == 1
    # Her own reply to herself sends nothing.
    post_signed_in(client, open_site, ada, parent_id=second.json["comment"]["id"], body="Me")
    assert mailbox.new("ada@example.com") == []


def test_a_page_subscription_and_reply_mail_share_one_confirmation_and_one_mail(
    client, open_site, mailbox
):
    mine = post(client, open_site, email=ZOE, body="Mine", notify=True, notify_replies=True)
    [confirmation] = mailbox.new()
    assert "replies to your comments" in text_of(confirmation)
    press(client, link(confirmation, "confirm"))
    answer = reply(client, open_site, mine["id"])
    [message] = mailbox.new()  # one mail, the reply's, though she follows the page too
    assert message["Subject"].startswith("New reply")
    assert f"#comment-{answer['id']}" in text_of(message)
    assert "new comments on this page" in text_of(message)
    post(client, open_site, body="Not to her")
    [news] = mailbox.new()
    assert news["Subject"].startswith("New comment")


def test_unsubscribing_from_one_kind_keeps_the_other(client, open_site, mailbox):
    mine = post(client, open_site, email=ZOE, body="Mine", notify=True, notify_replies=True)
    press(client, link(mailbox.new()[0], "confirm"))
    post(client, open_site, body="News")
    [news] = mailbox.new()
    client.post(link(news, "unsubscribe"), data={"List-Unsubscribe": "One-Click"})
    reply(client, open_site, mine["id"], body="Still told")
    [message] = mailbox.new()
    assert "Still told" in text_of(message)
    assert "new comments on this page" not in text_of(message)
    client.post(link(message, "replies/unsubscribe"), data={"List-Unsubscribe": "One-Click"})
    reply(client, open_site, mine["id"], body="Unheard")
    assert mailbox.new() == []


def test_resubscribing_to_the_page_does_not_bring_back_reply_mail(
    client, open_site, mailbox, confirmed
):
    reply(client, open_site, confirmed["id"])
    client.post(link(mailbox.new()[0], "replies/unsubscribe"))
    post(client, open_site, email=ZOE, body="Page please", notify=True)
    press(client, link(mailbox.new()[0], "confirm"))
    reply(client, open_site, confirmed["id"], body="Only as page news")
    [message] = mailbox.new()
    assert message["Subject"].startswith("New comment")


HOSTILE_NAME = "<b>Eve</b>\r\nBcc: all@example.com\r\nSubject: {{ config.SECRET_KEY }}"


def test_hostile_names_and_text_stay_inert(client, open_site, mailbox, confirmed, app):
    body = "<script>alert(1)</script> {{ config.SECRET_KEY }} {% if 1 %}x{% endif %}\r\nBcc: x@y"
    resp = post_json(
        client,
        open_site,
        guest_payload(
            name=HOSTILE_NAME, email="eve@example.com", body=body, parent_id=confirmed["id"]
        ),
    )
    assert resp.status_code == 201
    [message] = mailbox.new()
    assert message["Bcc"] is None and message.get_all("Subject") == [message["Subject"]]
    assert message["Subject"] == "New reply to your comment on “First post”"
    text, html = text_of(message), text_of(message, "html")
    secret = app.config["SECRET_KEY"]
    assert secret not in text and secret not in html
    assert "{{ config.SECRET_KEY }}" in text and "{% if 1 %}" in text
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>Eve</b>" not in html and "&lt;b&gt;Eve&lt;/b&gt;" in html
    assert text.startswith("<b>Eve</b> Bcc: all@example.com Subject: {{ config.SECRET_KEY }}")


def test_a_hostile_page_title_stays_in_the_subject(client, open_site, mailbox):
    title = "=?utf-8?q?=0D=0AReply-To:_x@evil.example=0D=0A?=\r\nBcc: all@example.com"
    mine = post(client, open_site, email=ZOE, title=title, body="Mine", notify_replies=True)
    press(client, link(mailbox.new()[0], "confirm-address"))
    reply(client, open_site, mine["id"])
    [message] = mailbox.new()
    assert message["Reply-To"] is None and message["Bcc"] is None


def test_notify_replies_must_be_a_boolean(client, open_site):
    resp = post_json(client, open_site, guest_payload(notify_replies="yes"))
    assert resp.status_code == 400 and resp.json["error"]["field"] == "notify_replies"


def test_spam_never_asks_for_reply_mail(client, open_site, mailbox):
    post_json(client, open_site, guest_payload(email=ZOE, notify_replies=True, hp="bot"))
    assert mailbox.new() == []
    assert db.session.scalar(select(func.count()).select_from(ReplySubscription)) == 0


def test_export_and_erasure_cover_reply_mail(client, open_site, mailbox, confirmed):
    from app.services import privacy

    data = privacy.export_data(email=ZOE)
    assert [r["comment_id"] for r in data["reply_notifications"]] == [confirmed["id"]]
    assert data["notification_addresses"][0]["confirmed_at"] is not None
    privacy.erase_guest(ZOE)
    assert db.session.scalar(select(func.count()).select_from(ReplySubscription)) == 0
    assert db.session.scalar(select(func.count()).select_from(NotificationAddress)) == 0


def test_erasing_an_account_removes_its_reply_mail(client, open_site, mailbox):
    from app.services import privacy

    ada = signed_in(open_site)
    resp = post_signed_in(
        client, open_site, ada, notify_replies=True, notify_email="ada@example.com"
    )
    user_id = db.session.get(Comment, resp.json["comment"]["id"]).user_id
    data = privacy.export_data(user=db.session.get(User, user_id))
    assert [r["email"] for r in data["reply_notifications"]] == ["ada@example.com"]
    privacy.erase_user(user_id)
    assert db.session.scalar(select(func.count()).select_from(ReplySubscription)) == 0
    assert db.session.scalar(select(func.count()).select_from(NotificationAddress)) == 0


def test_prune_drops_what_can_no_longer_be_sent(client, open_site, mailbox, runner, clock):
    post(client, open_site, email="never@example.com", body="Unconfirmed", notify_replies=True)
    mine = post(client, open_site, email=ZOE, body="Mine", notify_replies=True)
    press(client, link(mailbox.new()[0], "confirm-address"))
    clock.advance(int(timedelta(days=8).total_seconds()))
    result = runner.invoke(args=["prune"])
    assert result.exit_code == 0 and "Dropped 1 request(s) for reply mail" in result.output
    emails = db.session.scalars(select(NotificationAddress.email)).all()
    assert emails == [ZOE]
    comment = db.session.get(Comment, mine["id"])
    moderation.set_status(comment, CommentStatus.DELETED)
    assert "Dropped 1 request(s)" in runner.invoke(args=["prune"]).output
