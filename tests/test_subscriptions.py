"""Readers' mail about new comments: double opt-in, approved comments only, one-click out."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from sqlalchemy import select

from app.domain.states import CommentStatus, ModerationMode
from app.extensions import db, limiter
from app.models import Comment, OutboxMessage, Subscription, Thread
from app.services import identities, mail, moderation
from app.services.hashing import email_hash
from app.services.identities import Profile
from app.services.tokens import reader_token
from tests.factories import (
    POST_URL,
    guest_payload,
    make_comment,
    make_moderator,
    make_site,
    post_json,
)


def outbox_to(email: str) -> list[OutboxMessage]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.to == email).order_by(OutboxMessage.id)
        )
    )


def link_in(message: OutboxMessage, kind: str) -> str:
    url = re.search(rf"http://127\.0\.0\.1:5000(/notifications/{kind}/\S+)", message.body_text)
    return url.group(1)


def csrf(client, path: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


@pytest.fixture
def reader(client, site):
    """Zoë commented with the box ticked; returns the confirmation link path."""
    resp = post_json(client, site, guest_payload(email="zoe@example.com", body="Hi", notify=True))
    assert resp.status_code == 201
    [confirmation] = outbox_to("zoe@example.com")
    assert confirmation.subject.startswith("Confirm")
    assert "without asking you again" not in confirmation.body_text  # asked as a guest
    return link_in(confirmation, "confirm")


def confirm(client, path: str):
    return client.post(path, data={"csrf_token": csrf(client, path)})


def test_nothing_is_sent_before_the_address_is_confirmed(client, site, reader):
    moderator = make_moderator(site)
    other = make_comment(site, body="A new voice", status=None)
    moderation.act(moderator, [other.id], "approve")
    assert len(outbox_to("zoe@example.com")) == 1  # only the confirmation


def test_opening_the_confirmation_link_changes_nothing(client, site, reader):
    page = client.get(reader)
    assert page.status_code == 200 and ">Confirm</button>" in page.text
    assert db.session.scalars(select(Subscription)).one().confirmed_at is None


def test_the_secret_link_never_leaks_from_its_page(client, reader):
    for page in (client.get(reader), client.get("/notifications/confirm/not-a-token")):
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert page.headers["Cache-Control"] == "no-store"
        assert page.headers["X-Robots-Tag"] == "noindex"
        assert "default-src 'none'" in page.headers["Content-Security-Policy"]


def test_confirmed_reader_gets_one_mail_per_approved_comment(client, site, reader):
    assert "You will get an email" in confirm(client, reader).text
    moderator = make_moderator(site)
    waiting = make_comment(site, body="Worth *reading*", name="Bo", status=None)
    assert len(outbox_to("zoe@example.com")) == 1  # pending: nothing yet
    moderation.act(moderator, [waiting.id], "approve")
    moderation.act(moderator, [waiting.id], "reject")
    moderation.act(moderator, [waiting.id], "approve")  # a change of mind sends nothing more
    spam = make_comment(site, body="buy", status=CommentStatus.SPAM)
    assert spam
    mails = outbox_to("zoe@example.com")
    assert len(mails) == 2
    news = mails[1]
    assert news.subject == "New comment on “First post”"
    assert "Bo commented" in news.body_text and "Worth *reading*" in news.body_text
    assert "<em>reading</em>" in news.body_html
    assert news.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert news.headers["List-Unsubscribe"].startswith("<http://127.0.0.1:5000/notifications/")


def test_no_mail_about_ones_own_comment(client, site, reader):
    confirm(client, reader)
    open_site_comment = post_json(
        client, site, guest_payload(email="zoe@example.com", body="Me again")
    ).json["comment"]
    moderation.act(make_moderator(site), [open_site_comment["id"]], "approve")
    assert len(outbox_to("zoe@example.com")) == 1


def test_one_click_unsubscribe_needs_a_post(client, site, reader):
    confirm(client, reader)
    moderator = make_moderator(site)
    moderation.act(moderator, [make_comment(site, status=None).id], "approve")
    unsubscribe = link_in(outbox_to("zoe@example.com")[-1], "unsubscribe")
    assert client.get(unsubscribe).status_code == 200  # a scanner's GET: still subscribed
    assert db.session.scalars(select(Subscription)).one().unsubscribed_at is None
    # RFC 8058: the mail provider POSTs "List-Unsubscribe=One-Click", with no cookie or token.
    resp = client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
    assert resp.status_code == 200
    db.session.expire_all()
    assert db.session.scalars(select(Subscription)).one().unsubscribed_at is not None
    moderation.act(moderator, [make_comment(site, status=None).id], "approve")
    assert len(outbox_to("zoe@example.com")) == 2  # nothing after unsubscribing


def test_tampered_and_expired_links(client, site, reader, clock):
    token = reader.rsplit("/", 1)[1]
    forged = reader.replace(token, token[:-2] + ("xx" if not token.endswith("xx") else "yy"))
    assert client.get(forged).status_code == 400
    clock.advance(8 * 24 * 3600)
    assert client.get(reader).status_code == 410


def test_replies_scope_hears_only_replies_to_the_reader(client):
    site = make_site(moderation=ModerationMode.NONE)
    mine = post_json(
        client, site, guest_payload(email="zoe@example.com", body="Mine", notify="replies")
    ).json["comment"]
    [confirmation] = outbox_to("zoe@example.com")
    confirm(client, link_in(confirmation, "confirm"))
    make_comment(site, body="unrelated")
    make_comment(site, body="an answer", parent=db.session.get(Comment, mine["id"]))
    mails = outbox_to("zoe@example.com")
    assert len(mails) == 2 and "an answer" in mails[1].body_text


def test_a_confirmed_guest_confirms_again_for_another_page(client, site, reader):
    """Anyone who knows an address could otherwise sign it up for every page of the site."""
    confirm(client, reader)
    other_page = POST_URL + "2"
    post_json(
        client,
        site,
        guest_payload(email="zoe@example.com", body="Elsewhere", notify=True, url=other_page),
    )
    mails = outbox_to("zoe@example.com")
    assert len(mails) == 2 and mails[1].subject.startswith("Confirm")
    moderator = make_moderator(site)
    news = make_comment(site, url=other_page, body="News on page two", status=None)
    moderation.act(moderator, [news.id], "approve")
    assert len(outbox_to("zoe@example.com")) == 2  # nothing about page two before confirming

    confirm(client, link_in(mails[1], "confirm"))
    later = make_comment(site, url=other_page, body="More news", status=None)
    moderation.act(moderator, [later.id], "approve")
    mails = outbox_to("zoe@example.com")
    assert len(mails) == 3 and "More news" in mails[2].body_text


def signed_in(site, name: str) -> dict[str, str]:
    user = identities.sign_in(Profile(provider="dev", provider_user_id=name, name=name))
    return {
        "Origin": "https://blog.example",
        "Authorization": f"Bearer {reader_token(user.id, site.id, 'dev')}",
    }


def notify_me(client, site, headers: dict[str, str], url: str, email: str):
    return client.post(
        f"/api/v1/sites/{site.id}/comments",
        json={"url": url, "body": f"On {url}", "notify": True, "notify_email": email},
        headers=headers,
    )


def test_a_signed_in_reader_confirms_their_address_once(client, site):
    ada = signed_in(site, "Ada")
    assert notify_me(client, site, ada, POST_URL, "ada@example.com").status_code == 201
    [confirmation] = outbox_to("ada@example.com")
    # The owner of the address is told what confirming for an account means.
    assert "without asking you again" in confirmation.body_text
    assert "without asking you again" in confirmation.body_html
    confirm(client, link_in(confirmation, "confirm"))

    assert notify_me(client, site, ada, POST_URL + "2", " Ada@Example.com").status_code == 201
    assert len(outbox_to("ada@example.com")) == 1
    assert all(s.confirmed_at for s in db.session.scalars(select(Subscription)))


def test_another_account_cannot_use_an_address_someone_confirmed(client, site, reader):
    confirm(client, reader)  # Zoë confirmed page one as a guest
    ada = signed_in(site, "Ada")
    notify_me(client, site, ada, POST_URL + "2", "ada@example.com")
    confirm(client, link_in(outbox_to("ada@example.com")[0], "confirm"))
    # Ada confirmed her own address; Zoë's is still Zoë's to confirm, page by page.
    assert notify_me(client, site, ada, POST_URL + "3", "zoe@example.com").status_code == 201
    mails = outbox_to("zoe@example.com")
    assert len(mails) == 2 and mails[1].subject.startswith("Confirm")
    unconfirmed = db.session.scalars(
        select(Subscription).where(Subscription.confirmed_at.is_(None))
    ).all()
    assert [s.email for s in unconfirmed] == ["zoe@example.com"]


def ask_on_pages(client, site, emails: list[str], *, first: int = 0) -> list:
    return [
        post_json(
            client,
            site,
            guest_payload(email=email, body=f"Note {n}", notify=True, url=f"{POST_URL}/{n}"),
        )
        for n, email in enumerate(emails, start=first)
    ]


def answer_shape(resp) -> tuple:
    comment = resp.json["comment"]
    return resp.status_code, tuple(sorted(resp.json)), tuple(sorted(comment)), comment["status"]


def test_a_fourth_confirmation_in_an_hour_is_not_queued_and_nobody_can_tell(client, site):
    answers = ask_on_pages(client, site, ["victim@example.com"] * 4)
    assert len(outbox_to("victim@example.com")) == 3
    assert len({answer_shape(resp) for resp in answers}) == 1
    assert answers[3].status_code == 201
    assert (
        db.session.scalar(
            select(Subscription).join(Thread).where(Thread.url == f"{POST_URL}/3")
        ).confirmed_at
        is None
    )


def test_variants_of_an_address_are_one_recipient_and_others_are_unaffected(client, site):
    ask_on_pages(client, site, ["victim@example.com", "Victim@Example.COM", " victim@example.com "])
    ask_on_pages(client, site, ["VICTIM@example.com", "other@example.com"], first=3)
    assert len(outbox_to("victim@example.com")) == 3
    assert len(outbox_to("other@example.com")) == 1


def test_the_daily_limit_counts_too(client, site):
    client.application.config["RATELIMIT_RECIPIENT"] = "100 per hour;2 per day"
    ask_on_pages(client, site, ["victim@example.com"] * 3)
    assert len(outbox_to("victim@example.com")) == 2


def limiter_keys() -> list[str]:
    storage = limiter.storage.storage  # a Counter in memory, a client for Redis
    if isinstance(storage, Counter):
        return list(storage)
    return [key.decode() for key in storage.keys("*")]


def test_the_limit_keeps_no_address_in_the_limiters_storage(client, site):
    ask_on_pages(client, site, ["victim@example.com"])
    keys = " ".join(limiter_keys())
    assert "victim" not in keys and "example.com" not in keys
    hashed = email_hash("victim@example.com")
    assert any("confirmation" in key and hashed in key for key in limiter_keys())


def test_spam_never_subscribes_anyone(app, client):
    site = make_site(moderation=ModerationMode.NONE)
    post_json(client, site, guest_payload(email="victim@example.com", notify=True, hp="bot"))
    assert outbox_to("victim@example.com") == []


def test_signed_in_reader_gives_an_email_to_be_notified(client, site):
    from tests.helpers import signed_in_token

    client.application.config["DEV_LOGIN"] = True
    token = signed_in_token(client, site)
    headers = {"Origin": "https://blog.example", "Authorization": f"Bearer {token}"}
    missing = client.post(
        f"/api/v1/sites/{site.id}/comments",
        json={"url": POST_URL, "body": "x", "notify": True},
        headers=headers,
    )
    assert missing.status_code == 400 and missing.json["error"]["field"] == "notify_email"
    ok = client.post(
        f"/api/v1/sites/{site.id}/comments",
        json={"url": POST_URL, "body": "x", "notify": True, "notify_email": "ada@example.com"},
        headers=headers,
    )
    assert ok.status_code == 201
    assert len(outbox_to("ada@example.com")) == 1


def test_a_name_cannot_inject_headers_into_reader_mail(client, site, reader):
    confirm(client, reader)
    moderator = make_moderator(site)
    nasty = make_comment(site, name="Eve\r\nBcc: all@example.com", status=None)
    moderation.act(moderator, [nasty.id], "approve")
    [message] = [mail.build_message([m]) for m in outbox_to("zoe@example.com")[1:]]
    assert message["Bcc"] is None
    assert "Bcc" not in str(message["Subject"])


def test_an_encoded_word_in_a_title_stays_text_in_reader_mail(client, site):
    title = "=?utf-8?q?=0D=0AReply-To:_x@evil.example=0D=0A?="
    post_json(client, site, guest_payload(email="zoe@example.com", title=title, notify=True))
    [confirmation] = outbox_to("zoe@example.com")
    assert "=?" not in confirmation.subject
    message = mail.build_message([confirmation])
    assert message["Reply-To"] is None
    assert "Reply-To:_x@evil.example" in message["Subject"]
