"""People's own data: export and erasure for signed-in readers (widget API), for guests
(a mailed link to a page on the service) and by moderators (dashboard), with CSRF on."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.api import privacy as privacy_api
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import (
    AuditEntry,
    Ban,
    Comment,
    Identity,
    OutboxMessage,
    Site,
    Subscription,
    Thread,
    User,
)
from app.models.types import utcnow
from app.services import identities, links, mail, privacy, retention
from app.services.identities import Profile
from app.services.tokens import reader_token
from tests.factories import (
    HOST_ORIGIN,
    POST_URL,
    guest_payload,
    make_comment,
    make_moderator,
    make_site,
    post_json,
)
from tests.helpers import Dashboard, csrf_from

OTHER_URL = f"{HOST_ORIGIN}/2026/second-post"


def reader(name: str = "Ada", provider_user_id: str | None = None) -> User:
    profile = Profile(
        provider="dev",
        provider_user_id=provider_user_id or name.lower(),
        name=name,
        handle=f"@{name.lower()}",
        avatar_url="https://avatars.example/a.png",
    )
    return identities.sign_in(profile)


def bearer(user: User, site: Site) -> dict[str, str]:
    return {
        "Origin": HOST_ORIGIN,
        "Authorization": f"Bearer {reader_token(user.id, site.id, 'dev')}",
    }


def fresh(model: type, ident: object) -> object:
    db.session.expire_all()
    return db.session.get(model, ident)


def thread_of(client, site: Site, url: str = POST_URL) -> dict:
    resp = client.get(
        f"/api/v1/sites/{site.id}/thread",
        query_string={"url": url},
        headers={"Origin": HOST_ORIGIN},
    )
    assert resp.status_code == 200
    return resp.json


def outbox() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def request_link(client, site: Site, email: object, *, addr: str = "127.0.0.1"):
    return client.post(
        f"/api/v1/sites/{site.id}/privacy/requests",
        json={"email": email},
        headers={"Origin": HOST_ORIGIN},
        environ_base={"REMOTE_ADDR": addr},
    )


def link_in(message: OutboxMessage) -> str:
    return re.search(r"http://127\.0\.0\.1:5000(/privacy/\S+)", message.body_text).group(1)


# --- the service --------------------------------------------------------------------------


def test_export_of_a_user_has_their_profile_providers_and_comments_on_every_site(site):
    ada, grace = reader("Ada"), reader("Grace")
    other = make_site()
    make_comment(site, user=ada, body="Ada on the first site")
    make_comment(other, user=ada, body="Ada elsewhere", status=CommentStatus.PENDING)
    make_comment(site, user=grace, body="Not Ada's")

    data = privacy.export_data(user=ada)

    assert data["format"] == "afterword-personal-data" and data["version"] == 1
    assert data["account"]["name"] == "Ada" and data["account"]["handle"] == "@ada"
    [identity] = data["account"]["providers"]
    assert identity["provider"] == "dev" and identity["id"] == "ada"
    comments = data["comments"]
    assert [c["body"] for c in comments] == ["Ada on the first site", "Ada elsewhere"]
    assert comments[0]["site"] == {"id": site.id, "name": site.name}
    assert comments[0]["page"]["url"] == POST_URL
    assert [c["status"] for c in comments] == ["approved", "pending"]
    assert comments[0]["created_at"].endswith("+00:00")
    json.dumps(data)  # JSON-able as it is


def test_export_of_a_guest_is_by_address_on_every_site(site):
    other = make_site()
    make_comment(site, email="zoe@example.com", name="Zoë", body="On one site")
    make_comment(other, email="ZOE@example.com", name="Zoë", body="On another")
    make_comment(site, email="someone@example.com", body="Someone else")

    data = privacy.export_data(email="Zoe@Example.com ")

    assert [c["body"] for c in data["comments"]] == ["On one site", "On another"]
    assert {c["site"]["name"] for c in data["comments"]} == {site.name, other.name}
    assert all(c["email"] == "zoe@example.com" and c["name"] == "Zoë" for c in data["comments"])
    assert len(privacy.comments_of_email("zoe@EXAMPLE.com")) == 2


def test_erasing_a_user_keeps_replies_adjusts_counts_and_refreshes_cached_pages(client, site):
    ada = reader("Ada")
    root = make_comment(site, user=ada, body="Ada's opinion")
    reply = make_comment(site, parent=root, body="A reply by someone else", name="Bob")
    make_comment(site, user=ada, body="Ada again", url=OTHER_URL)
    assert thread_of(client, site)["thread"]["count"] == 2  # now cached

    assert privacy.erase_user(ada.id) == 2

    page = thread_of(client, site)
    assert page["thread"]["count"] == 1
    [placeholder] = page["comments"]
    assert placeholder["status"] == "deleted" and placeholder["author"] is None
    assert placeholder["replies"][0]["id"] == reply.id
    assert "Ada" not in json.dumps(page)
    stored = fresh(Comment, root.id)
    assert (stored.body, stored.html, stored.user_id, stored.provider) == ("", "", None, None)
    assert stored.status is CommentStatus.DELETED
    assert fresh(User, ada.id) is None
    assert db.session.scalar(select(func.count()).select_from(Identity)) == 0
    assert fresh(Thread, stored.thread_id).approved_count == 1


def test_a_provider_deletion_request_uses_the_same_erasure(site):
    ada = reader("Ada")
    make_comment(site, user=ada)
    assert identities.erase_provider_user("dev", "ada") == 1
    assert fresh(User, ada.id) is None
    assert identities.erase_provider_user("dev", "ada") == 0


def test_erasing_a_guest_removes_name_email_website_address_hash_and_subscriptions(client, site):
    post_json(client, site, guest_payload(email="zoe@example.com", body="Mine"))
    post_json(client, site, guest_payload(email="other@example.com", body="Not mine"))
    mine, theirs = db.session.scalars(select(Comment).order_by(Comment.id)).all()
    assert mine.remote_addr_hash and mine.guest_website
    db.session.add(Subscription(thread_id=mine.thread_id, email="zoe@example.com"))
    db.session.add(Ban(site_id=site.id, email_hash="x", label="Zoë"))
    db.session.commit()

    assert privacy.erase_guest("ZOE@example.com") == 1

    mine, theirs = fresh(Comment, mine.id), fresh(Comment, theirs.id)
    assert mine.status is CommentStatus.DELETED
    assert (mine.body, mine.guest_name, mine.guest_email, mine.guest_website) == (
        "",
        None,
        None,
        None,
    )
    assert mine.remote_addr_hash is None
    assert theirs.body == "Not mine" and theirs.guest_email == "other@example.com"
    assert db.session.scalars(select(Subscription)).all() == []


def test_prune_drops_old_sent_mail_but_keeps_mail_still_to_send(site):
    for n in range(3):
        mail.enqueue("a@example.com", f"m{n}", "text")
    db.session.commit()
    old_sent, old_waiting, new_sent = outbox()
    old_sent.created_at = old_waiting.created_at = utcnow() - timedelta(days=30)
    old_sent.sent_at = new_sent.sent_at = utcnow()
    db.session.commit()
    report = retention.prune(address_days=30, mail_days=14)
    assert report.mail_messages == 1
    assert [m.subject for m in outbox()] == ["m1", "m2"]


# --- the widget API: signed-in readers ----------------------------------------------------


def test_export_needs_a_valid_bearer_token(client, site):
    path = f"/api/v1/sites/{site.id}/me/export"
    for headers in (
        {"Origin": HOST_ORIGIN},
        {"Origin": HOST_ORIGIN, "Authorization": "Bearer forged"},
    ):
        resp = client.get(path, headers=headers)
        assert resp.status_code == 401
        assert resp.json["error"]["code"] == "session_expired"


def test_export_is_a_json_attachment_of_the_callers_data_only(client, site):
    ada, grace = reader("Ada"), reader("Grace")
    make_comment(site, user=ada, body="Ada's words")
    make_comment(site, user=grace, body="Grace's words")

    resp = client.get(f"/api/v1/sites/{site.id}/me/export", headers=bearer(grace, site))

    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert resp.headers["Content-Disposition"].startswith("attachment; filename=")
    assert "no-store" in resp.headers["Cache-Control"]
    assert resp.headers["Access-Control-Allow-Origin"] == HOST_ORIGIN
    data = json.loads(resp.data)
    assert data["account"]["name"] == "Grace"
    assert [c["body"] for c in data["comments"]] == ["Grace's words"]


def test_a_token_for_another_site_cannot_export(client, site):
    ada = reader("Ada")
    resp = client.get(f"/api/v1/sites/{site.id}/me/export", headers=bearer(ada, make_site()))
    assert resp.status_code == 401


def test_deleting_the_account_needs_confirm_and_erases_only_the_caller(client, site):
    ada, grace = reader("Ada"), reader("Grace")
    make_comment(site, user=ada, body="Ada's words")
    kept = make_comment(site, user=grace, body="Grace's words")
    path = f"/api/v1/sites/{site.id}/me"

    refused = client.delete(path, json={}, headers=bearer(ada, site))
    assert refused.status_code == 400 and refused.json["error"]["field"] == "confirm"
    assert (
        client.delete(path, json={"confirm": "yes"}, headers=bearer(ada, site)).status_code == 400
    )
    assert fresh(User, ada.id) is not None
    anonymous = client.delete(path, json={"confirm": True}, headers={"Origin": HOST_ORIGIN})
    assert anonymous.status_code == 401 and fresh(User, ada.id) is not None

    ada_id, ada_bearer = ada.id, bearer(ada, site)  # `ada` is gone after the request
    resp = client.delete(path, json={"confirm": True}, headers=ada_bearer)

    assert resp.status_code == 200
    assert resp.json == {"deleted": True, "comments_removed": 1}
    assert fresh(User, ada_id) is None
    assert fresh(User, grace.id) is not None and fresh(Comment, kept.id).body == "Grace's words"
    again = client.delete(path, json={"confirm": True}, headers=ada_bearer)
    assert again.status_code == 401  # the token names an account that is gone


def test_privacy_endpoints_keep_the_origin_guard(client, site):
    ada = reader("Ada")
    headers = bearer(ada, site) | {"Origin": "https://elsewhere.example"}
    resp = client.get(f"/api/v1/sites/{site.id}/me/export", headers=headers)
    assert resp.status_code == 403 and resp.json["error"]["code"] == "origin_not_allowed"
    resp = client.post(f"/api/v1/sites/{site.id}/privacy/requests", json={"email": "a@b.example"})
    assert resp.status_code == 403  # a write without Origin


# --- guests: the mailed link --------------------------------------------------------------


def test_a_request_answers_the_same_whether_or_not_the_address_wrote(client, site):
    make_comment(site, email="zoe@example.com")
    known = request_link(client, site, "Zoe@example.com", addr="10.0.0.1")
    unknown = request_link(client, site, "nobody@example.com", addr="10.0.0.2")

    assert known.status_code == unknown.status_code == 202
    assert known.json == unknown.json
    assert known.json["message"] == "If that address wrote here, a link is on its way."
    [message] = outbox()  # only the address with comments gets mail
    assert message.to == "zoe@example.com"


@pytest.mark.parametrize("email", ["not an address", "", None, 42, "a@b@c"])
def test_a_malformed_address_is_a_validation_error(client, site, email):
    resp = request_link(client, site, email)
    assert resp.status_code == 400
    assert resp.json["error"]["code"] == "validation_error"
    assert resp.json["error"]["field"] == "email"
    assert outbox() == []


def test_requests_are_limited_per_address_and_per_email(client, site):
    make_comment(site, email="zoe@example.com")
    for n in range(3):
        assert request_link(client, site, "zoe@example.com", addr=f"10.0.1.{n}").status_code == 202
    # The same email from a fourth address, and a fourth email from one address: refused.
    assert request_link(client, site, "zoe@example.com", addr="10.0.1.9").status_code == 429
    for n in range(3):
        assert request_link(client, site, f"x{n}@example.com", addr="10.0.2.1").status_code == 202
    assert request_link(client, site, "x9@example.com", addr="10.0.2.1").status_code == 429
    assert len(outbox()) == 3


def test_links_to_one_mailbox_stop_after_three_an_hour_and_nobody_can_tell(client, site):
    # Requests from many addresses, each under the request limits: the mailbox still gets
    # no more than three links.
    client.application.config["RATELIMIT_PRIVACY"] = "100 per hour"
    make_comment(site, email="zoe@example.com")
    make_comment(site, email="bo@example.com")
    variants = ["zoe@example.com", "Zoe@Example.com", " zoe@example.com ", "ZOE@example.com"]
    answers = [
        request_link(client, site, email, addr=f"10.0.3.{n}") for n, email in enumerate(variants)
    ]
    assert {(resp.status_code, resp.get_data()) for resp in answers} == {
        (answers[0].status_code, answers[0].get_data())
    }
    assert answers[3].json == {"status": "accepted", "message": privacy_api.REQUEST_ACCEPTED}
    assert [m.to for m in outbox()] == ["zoe@example.com"] * 3
    assert request_link(client, site, "bo@example.com", addr="10.0.3.9").status_code == 202
    assert [m.to for m in outbox()][-1] == "bo@example.com"


def test_links_to_one_mailbox_are_limited_per_day_too(client, site):
    client.application.config["RATELIMIT_PRIVACY"] = "100 per hour"
    client.application.config["RATELIMIT_RECIPIENT"] = "100 per hour;2 per day"
    make_comment(site, email="zoe@example.com")
    for n in range(3):
        assert request_link(client, site, "zoe@example.com", addr=f"10.0.4.{n}").status_code == 202
    assert len(outbox()) == 2


def test_the_mail_has_the_link_escaped_content_and_no_injected_headers(client):
    site = make_site()
    site.name = "<b>Blog</b>\r\nBcc: victim@example.com"
    db.session.commit()
    make_comment(site, email="zoe@example.com", name="Zoë\r\nBcc: x@example.com")
    request_link(client, site, "zoe@example.com")

    [row] = outbox()
    message = mail.build_message([row])
    assert message["Bcc"] is None and "\n" not in message["Subject"]
    assert message["To"] == "zoe@example.com"
    path = link_in(row)
    assert f"http://127.0.0.1:5000{path}" in row.body_html
    assert "<b>Blog</b>" not in row.body_html and "&lt;b&gt;Blog&lt;/b&gt;" in row.body_html
    assert "zoe@example.com" not in path  # the link does not carry the address readably
    assert client.get(path).status_code == 200


def guest_link(client, site: Site, email: str = "zoe@example.com") -> str:
    request_link(client, site, email)
    return link_in(outbox()[-1])


def test_the_page_shows_counts_per_site_and_opening_it_changes_nothing(client, site):
    other = make_site()
    first = make_comment(site, email="zoe@example.com", body="one")
    make_comment(site, email="zoe@example.com", body="two", url=OTHER_URL)
    make_comment(other, email="zoe@example.com", body="three")
    path = guest_link(client, site)

    for _ in range(2):
        page = client.get(path)
        assert page.status_code == 200
        assert f"{site.name}: 2 comments" in page.text and f"{other.name}: 1 comment<" in page.text
        assert "Download my comments" in page.text and "Delete my comments" in page.text
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert "no-store" in page.headers["Cache-Control"]
    assert fresh(Comment, first.id).body == "one"


def test_the_download_is_a_json_attachment_and_needs_csrf(client, site):
    make_comment(site, email="zoe@example.com", body="mine")
    path = guest_link(client, site)
    token = csrf_from(client.get(path).text)

    assert client.post(f"{path}/export").status_code == 400  # no CSRF token
    resp = client.post(f"{path}/export", data={"csrf_token": token})
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    data = json.loads(resp.data)
    assert data["email"] == "zoe@example.com"
    assert [c["body"] for c in data["comments"]] == ["mine"]


def test_deleting_needs_csrf_and_the_box_then_works_once(client, site):
    mine = make_comment(site, email="zoe@example.com", body="mine")
    kept = make_comment(site, email="other@example.com", body="theirs")
    path = guest_link(client, site)
    token = csrf_from(client.get(path).text)

    assert client.post(f"{path}/delete", data={"confirm": "yes"}).status_code == 400
    assert client.post(f"{path}/delete", data={"csrf_token": token}).status_code == 400
    assert fresh(Comment, mine.id).body == "mine"

    done = client.post(f"{path}/delete", data={"csrf_token": token, "confirm": "yes"})
    assert done.status_code == 200 and "of 1 comment were removed" in done.text
    assert fresh(Comment, mine.id).guest_email is None
    assert fresh(Comment, kept.id).body == "theirs"
    assert outbox() == []  # mail to the address went with it

    page = client.get(path)
    assert "already used to delete" in page.text and "Delete my comments" not in page.text
    again = client.post(f"{path}/delete", data={"csrf_token": token, "confirm": "yes"})
    assert again.status_code == 410 and "already used" in again.text


def test_tampered_and_expired_links_change_nothing(client, site):
    mine = make_comment(site, email="zoe@example.com", body="mine")
    path = guest_link(client, site)
    token = csrf_from(client.get(path).text)
    tampered = path[:-6] + ("AAAAAA" if not path.endswith("AAAAAA") else "BBBBBB")
    expired = (
        "/privacy/"
        + links.fernet(links.PRIVACY)
        .encrypt_at_time(
            json.dumps({"e": "zoe@example.com", "j": "x"}).encode(), int(time.time()) - 25 * 3600
        )
        .decode()
    )

    for bad, status, words in [
        (tampered, 400, "not valid"),
        ("/privacy/garbage", 400, "not valid"),
        (expired, 410, "expired"),
    ]:
        page = client.get(bad)
        assert page.status_code == status and words in page.text
        resp = client.post(f"{bad}/delete", data={"csrf_token": token, "confirm": "yes"})
        assert resp.status_code == status
        assert client.post(f"{bad}/export", data={"csrf_token": token}).status_code == status
    assert fresh(Comment, mine.id).body == "mine"


# --- moderators ---------------------------------------------------------------------------


@pytest.fixture
def dash(client) -> Dashboard:
    return Dashboard(client)


def erase(dash: Dashboard, comment: Comment, *, confirm: bool = True):
    page = f"/dashboard/comments/{comment.id}"
    data = {"csrf_token": dash.token(page)} | ({"confirm": "y"} if confirm else {})
    return dash.client.post(f"{page}/erase-author", data=data)


def test_a_moderator_erases_a_guests_data_on_their_sites_only(dash, site):
    other = make_site()
    moderator = make_moderator(site, email="mod@example.com")
    first = make_comment(site, email="zoe@example.com", name="Zoë", body="one")
    second = make_comment(site, email="zoe@example.com", name="Zoë", body="two", url=OTHER_URL)
    elsewhere = make_comment(other, email="zoe@example.com", name="Zoë", body="three")
    stranger = make_comment(site, email="ann@example.com", body="four")
    dash.sign_in(moderator.email)

    page = dash.client.get(f"/dashboard/comments/{first.id}")
    assert "Erase this author&#39;s data" in page.text or "Erase this author's data" in page.text
    resp = erase(dash, first)

    assert resp.status_code == 302
    for erased in (first, second):
        comment = fresh(Comment, erased.id)
        assert (comment.body, comment.guest_name, comment.guest_email) == ("", None, None)
    assert fresh(Comment, elsewhere.id).body == "three"
    assert fresh(Comment, stranger.id).body == "four"
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "erase")).all()
    assert entry.site_id == site.id and entry.moderator_email == "mod@example.com"
    assert entry.comment_id == first.id and "2 comment" in entry.detail
    assert "Zo" not in entry.detail and "zoe" not in entry.detail


def test_erasing_needs_the_box_and_a_csrf_token(dash, site):
    moderator = make_moderator(site)
    comment = make_comment(site, email="zoe@example.com", body="kept")
    dash.sign_in(moderator.email)
    erase(dash, comment, confirm=False)
    dash.client.post(f"/dashboard/comments/{comment.id}/erase-author", data={"confirm": "y"})
    assert fresh(Comment, comment.id).body == "kept"


def test_a_moderator_of_site_a_cannot_erase_on_site_b(dash, site):
    other = make_site()
    moderator = make_moderator(site)
    theirs = make_comment(other, email="zoe@example.com", body="not yours")
    make_comment(site, email="zoe@example.com", body="yours")
    dash.sign_in(moderator.email)
    token = dash.token()
    resp = dash.client.post(
        f"/dashboard/comments/{theirs.id}/erase-author", data={"csrf_token": token, "confirm": "y"}
    )
    assert resp.status_code == 302
    assert fresh(Comment, theirs.id).body == "not yours"
    assert db.session.scalars(select(AuditEntry).where(AuditEntry.action == "erase")).all() == []


def test_a_users_account_stays_while_they_wrote_on_other_sites(dash, site):
    other = make_site()
    moderator = make_moderator(site)
    ada = reader("Ada")
    here = make_comment(site, user=ada, body="here")
    there = make_comment(other, user=ada, body="there")
    dash.sign_in(moderator.email)

    erase(dash, here)

    assert fresh(Comment, here.id).body == "" and fresh(Comment, here.id).user_id is None
    assert fresh(Comment, there.id).body == "there"
    assert fresh(User, ada.id) is not None


def test_a_users_account_goes_when_all_they_wrote_was_on_the_moderators_sites(dash, site):
    moderator = make_moderator(site)
    ada = reader("Ada")
    comment = make_comment(site, user=ada, body="here")
    ada_id = ada.id  # `ada` is gone after the request
    dash.sign_in(moderator.email)
    erase(dash, comment)
    assert fresh(User, ada_id) is None
    assert db.session.scalar(select(func.count()).select_from(Identity)) == 0
