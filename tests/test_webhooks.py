"""Webhooks: a site's new and approved comments POSTed, signed, to a receiver on loopback."""

from __future__ import annotations

import json
import re
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from app.database import write_transaction
from app.domain import webhooks as rules
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import AuditEntry, Comment, Site, SiteWebhook, WebhookDelivery
from app.models.types import utcnow
from app.services import comments, webhooks
from app.services.authors import guest
from tests.factories import (
    POST_URL,
    guest_payload,
    make_moderator,
    make_site,
    post_json,
)
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.helpers import Dashboard

MOD = "mod@example.com"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
def dash(client, site) -> Dashboard:
    make_moderator(site, email=MOD)
    dashboard = Dashboard(client)
    dashboard.sign_in(MOD)
    return dashboard


def save_form(dash: Dashboard, site: Site, url: str, body_format: str = "json", **extra):
    page = f"/dashboard/sites/{site.id}"
    data = {
        "webhook_url": url,
        "webhook_format": body_format,
        "csrf_token": dash.token(page),
        **extra,
    }
    return dash.client.post(f"{page}/webhook", data=data)


def hook_of(site: Site) -> SiteWebhook | None:
    db.session.expire_all()
    return db.session.get(SiteWebhook, site.id)


@pytest.fixture
def hooked(dash, site, receiver) -> SiteWebhook:
    assert save_form(dash, site, receiver.url + "/hook").status_code == 302
    hook = hook_of(site)
    assert hook is not None
    return hook


def post_pending(client, site, body: str = "Hello *world*") -> Comment:
    assert post_json(client, site, guest_payload(body=body)).status_code == 201
    return db.session.scalars(select(Comment).order_by(Comment.id.desc())).first()


def sent_json(receiver: WebhookReceiver, index: int = -1) -> dict:
    return json.loads(receiver.received[index].body)


def deliveries() -> list[WebhookDelivery]:
    db.session.expire_all()
    return list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


# --- settings ------------------------------------------------------------------------------


def test_saving_a_url_makes_a_secret_shows_it_and_audits(dash, site, receiver):
    resp = save_form(dash, site, receiver.url + "/hook")
    assert resp.status_code == 302
    hook = hook_of(site)
    assert hook.url == receiver.url + "/hook" and hook.format == "json"
    assert hook.secret.startswith("whsec_") and len(hook.secret) > 40
    page = dash.client.get(f"/dashboard/sites/{site.id}").text
    assert hook.secret in page and "Send test" in page and "Regenerate" in page
    assert 'value="' + receiver.url + '/hook"' in page
    audit = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "webhook")).one()
    assert audit.detail == f"webhook to 127.0.0.1:{receiver.url.rsplit(':', 1)[1]}, Afterword JSON"


def test_saving_again_keeps_the_secret_and_regenerate_changes_it(dash, site, hooked):
    first = hooked.secret
    assert save_form(dash, site, hooked.url, "text").status_code == 302
    assert hook_of(site).secret == first and hook_of(site).format == "text"
    token = dash.token(f"/dashboard/sites/{site.id}")
    resp = dash.client.post(
        f"/dashboard/sites/{site.id}/webhook/secret", data={"csrf_token": token}
    )
    assert resp.status_code == 302
    assert hook_of(site).secret != first


def test_an_empty_url_removes_the_webhook(dash, site, hooked, client):
    assert save_form(dash, site, "").status_code == 302
    assert hook_of(site) is None
    post_pending(client, site)
    assert deliveries() == []


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.example/x", "Enter an https:// address."),
        ("ftp://hooks.example/x", "Enter an https:// address."),
        ("https://user:pw@hooks.example/x", "user:password@"),
        ("https://hooks.example/x#frag", "#fragment"),
        ("https://10.1.2.3/hook", "That address is refused"),
        ("https://[::ffff:192.168.0.1]/hook", "That address is refused"),
        ("https://169.254.169.254/latest", "That address is refused"),
        ("https://" + "a" * 500 + ".example/", "within 500 characters"),
    ],
)
def test_a_url_it_will_not_send_to_is_refused_next_to_the_field(dash, site, url, message):
    resp = save_form(dash, site, url)
    assert resp.status_code == 422
    assert "field-error" in resp.text and message in resp.text.replace("&#39;", "'")
    assert url.replace("&", "&amp;") in resp.text or len(url) > 500  # what was typed stays
    assert hook_of(site) is None


def test_loopback_is_refused_in_production(app, dash, site, receiver):
    app.config["WEBHOOK_ALLOW_LOOPBACK"] = False
    resp = save_form(dash, site, receiver.url + "/hook")
    assert resp.status_code == 422 and "That address is refused" in resp.text
    assert hook_of(site) is None


def test_production_refuses_to_start_with_loopback_allowed(monkeypatch):
    from app import create_app
    from config import ProductionConfig

    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", secrets.token_hex(32))
    monkeypatch.setattr(ProductionConfig, "WEBHOOK_ALLOW_LOOPBACK", True)
    with pytest.raises(RuntimeError, match="WEBHOOK_ALLOW_LOOPBACK"):
        create_app(ProductionConfig)


def test_another_sites_moderator_gets_404_and_changes_nothing(client, site, receiver):
    other = make_site()
    make_moderator(other, email="other@example.com")
    webhooks.save(make_moderator(site), site.id, receiver.url + "/hook", "json")
    secret = hook_of(site).secret
    dash = Dashboard(client)
    dash.sign_in("other@example.com")
    token = dash.token(f"/dashboard/sites/{other.id}")
    base = f"/dashboard/sites/{site.id}"
    assert dash.client.get(base).status_code == 404
    form = {"webhook_url": "https://hooks.example/x", "webhook_format": "json"}
    assert (
        dash.client.post(f"{base}/webhook", data={**form, "csrf_token": token}).status_code == 404
    )
    for path in ("webhook/test", "webhook/secret"):
        assert dash.client.post(f"{base}/{path}", data={"csrf_token": token}).status_code == 404
    assert hook_of(site).url == receiver.url + "/hook" and hook_of(site).secret == secret
    assert receiver.received == []


def test_every_webhook_form_needs_its_csrf_token(dash, site, hooked, receiver):
    base = f"/dashboard/sites/{site.id}"
    form = {"webhook_url": "https://hooks.example/x", "webhook_format": "json"}
    assert dash.client.post(f"{base}/webhook", data=form).status_code == 400
    assert dash.client.post(f"{base}/webhook/test").status_code == 400
    assert dash.client.post(f"{base}/webhook/secret").status_code == 400
    assert hook_of(site).url == hooked.url and hook_of(site).secret == hooked.secret
    assert receiver.received == []


# --- events, bodies and signatures -----------------------------------------------------------


def test_a_pending_comment_is_posted_signed_without_the_authors_address(
    client, site, hooked, receiver
):
    comment = post_pending(client, site)
    assert webhooks.send_pending().sent == 1
    [request] = receiver.received
    assert request.path == "/hook"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-afterword-event"] == "comment.pending"
    header = request.headers["x-afterword-signature"]
    assert rules.verify(hooked.secret, header, request.body, now=utcnow().timestamp())
    body = json.loads(request.body)
    assert body["event"] == "comment.pending"
    assert body["site"] == {"id": site.id, "name": site.name}
    assert body["thread"] == {"url": POST_URL, "title": "First post"}
    assert body["comment"]["id"] == comment.id
    assert body["comment"]["author"] == {"name": "Grace"}
    assert body["comment"]["text"] == "Hello *world*"
    assert "<em>world</em>" in body["comment"]["html"]
    assert body["comment"]["permalink"] == f"{POST_URL}#comment-{comment.id}"
    assert set(body["actions"]) == {"approve", "reject"}
    assert b"grace@example.com" not in request.body
    assert deliveries()[0].sent_at is not None


def test_the_signature_refuses_an_old_request_and_a_changed_body(client, site, hooked, receiver):
    post_pending(client, site)
    webhooks.send_pending()
    [request] = receiver.received
    header = request.headers["x-afterword-signature"]
    sent_at = int(re.match(r"t=(\d+),", header).group(1))
    assert rules.verify(hooked.secret, header, request.body, now=sent_at + 299)
    assert not rules.verify(hooked.secret, header, request.body, now=sent_at + 301)  # replayed
    assert not rules.verify(hooked.secret, header, request.body + b" ", now=sent_at)
    assert not rules.verify("whsec_other", header, request.body, now=sent_at)
    later = header.replace(f"t={sent_at}", f"t={sent_at + 60}")
    assert not rules.verify(hooked.secret, later, request.body, now=sent_at + 60)


def test_the_approve_link_asks_on_get_and_approves_on_post(client, site, hooked, receiver):
    comment = post_pending(client, site, body="Approve me")
    webhooks.send_pending()
    link = sent_json(receiver)["actions"]["approve"].removeprefix("http://127.0.0.1:5000")
    anonymous = client.application.test_client()  # a chat app's link preview: no session
    page = anonymous.get(link)
    assert page.status_code == 200 and "Approve me" in page.text
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).status is CommentStatus.PENDING
    token = Dashboard(anonymous).token(link)
    assert anonymous.post(link, data={"csrf_token": token}).status_code == 200
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).status is CommentStatus.APPROVED
    again = anonymous.post(link, data={"csrf_token": token})
    assert again.status_code == 410  # one-time, as the mailed links are


def test_approving_posts_approved_each_time_it_becomes_approved(
    dash, client, site, hooked, receiver
):
    comment = post_pending(client, site)
    for action in ("approve", "reject", "approve"):
        assert dash.act(action, [comment.id]).status_code in (200, 302)
    webhooks.send_pending()
    events = [json.loads(r.body)["event"] for r in receiver.received]
    assert events == ["comment.pending", "comment.approved", "comment.approved"]
    approved = sent_json(receiver)
    assert "actions" not in approved and approved["comment"]["id"] == comment.id


def test_a_comment_published_at_once_is_posted_as_approved(client, receiver):
    from app.domain.states import ModerationMode

    site = make_site(moderation=ModerationMode.NONE)
    webhooks.save(make_moderator(site), site.id, receiver.url + "/hook", "json")
    post_pending(client, site)
    webhooks.send_pending()
    assert [json.loads(r.body)["event"] for r in receiver.received] == ["comment.approved"]


def test_a_rolled_back_post_sends_nothing(app, site, hooked, receiver):
    draft = comments.CommentDraft(url=POST_URL, body="Never mind")
    with pytest.raises(RuntimeError), write_transaction():
        comments.post_comment(site, guest("Ada", "ada@example.com", None), draft)
        assert db.session.scalars(select(WebhookDelivery)).all()  # queued, in the transaction
        raise RuntimeError("the request failed after the comment")
    assert deliveries() == []
    assert webhooks.send_pending().sent == 0 and receiver.received == []


def test_the_chat_body_works_for_slack_discord_and_matrix_and_pings_nobody(
    dash, client, site, receiver
):
    save_form(dash, site, receiver.url + "/chat", "text")
    post_pending(client, site, body="<!channel> @everyone & friends")
    webhooks.send_pending()
    body = sent_json(receiver)
    assert set(body) == {"text", "content", "allowed_mentions"}
    assert body["allowed_mentions"] == {"parse": []}
    assert "&lt;!channel&gt; @everyone &amp; friends" in body["text"]  # Slack: no ping
    assert "<!channel> @everyone & friends" in body["content"]  # Discord, mentions off
    assert "Approve: http://127.0.0.1:5000/dashboard/mail/" in body["content"]
    assert "Reject: http://127.0.0.1:5000/dashboard/mail/" in body["text"]
    assert len(body["content"]) <= 2000


# --- delivery: retries, giving up, refusals ---------------------------------------------------


def test_a_failing_receiver_is_tried_again_later_and_then_succeeds(
    client, site, hooked, receiver, clock
):
    receiver.answer((500, "down", {}))
    post_pending(client, site)
    assert webhooks.send_pending().failed == 1
    [row] = deliveries()
    assert row.sent_at is None and row.attempts == 1 and row.last_error == "HTTP 500: down"
    assert webhooks.send_pending() == webhooks.SendReport(0, 0)  # not due yet: backing off
    clock.advance(webhooks.retry_delay(1).total_seconds() + 1)
    assert webhooks.send_pending().sent == 1
    assert len(receiver.received) == 2 and deliveries()[0].sent_at is not None
    assert webhooks.retry_delay(2) == 2 * webhooks.retry_delay(1)


def test_a_delivery_gives_up_after_its_last_attempt(client, site, hooked, receiver, clock):
    receiver.default = (503, "", {})
    post_pending(client, site)
    for attempt in range(1, webhooks.MAX_ATTEMPTS + 1):
        assert webhooks.send_pending().failed == 1
        clock.advance(webhooks.retry_delay(attempt).total_seconds() + 1)
    clock.advance(86400)
    assert webhooks.send_pending() == webhooks.SendReport(0, 0)
    assert len(receiver.received) == webhooks.MAX_ATTEMPTS
    assert deliveries()[0].attempts == webhooks.MAX_ATTEMPTS


def test_an_address_that_became_refused_is_not_sent_to(app, client, site, hooked, receiver):
    post_pending(client, site)
    app.config["WEBHOOK_ALLOW_LOOPBACK"] = False  # as in production, checked again at send
    assert webhooks.send_pending().failed == 1
    assert receiver.received == []
    assert deliveries()[0].last_error == "address refused"


def test_a_redirect_is_not_followed(client, site, hooked, receiver):
    receiver.answer((307, "", {"Location": receiver.url + "/elsewhere"}))
    post_pending(client, site)
    assert webhooks.send_pending().failed == 1
    assert [r.path for r in receiver.received] == ["/hook"]


def test_send_pending_cli_sends_webhooks_with_the_mail(client, site, hooked, receiver, runner):
    post_pending(client, site)
    result = runner.invoke(args=["mail", "send-pending"])
    assert result.exit_code == 0, result.output
    assert "Sent 1 webhook delivery." in result.output
    assert len(receiver.received) == 1


# --- Send test --------------------------------------------------------------------------------


def send_test(dash: Dashboard, site: Site):
    token = dash.token(f"/dashboard/sites/{site.id}")
    return dash.client.post(f"/dashboard/sites/{site.id}/webhook/test", data={"csrf_token": token})


def test_send_test_shows_the_status_and_the_start_of_the_answer(dash, site, hooked, receiver):
    receiver.answer((201, "<b>hi</b>" + "x" * 500, {}))
    resp = send_test(dash, site)
    assert resp.status_code == 200
    assert "HTTP 201" in resp.text
    assert "&lt;b&gt;hi&lt;/b&gt;" in resp.text and "<b>hi</b>" not in resp.text
    assert "x" * 191 in resp.text and "x" * 192 not in resp.text  # the first 200 characters
    [request] = receiver.received
    assert json.loads(request.body)["event"] == "test"
    assert rules.verify(
        hooked.secret, request.headers["x-afterword-signature"], request.body, utcnow().timestamp()
    )
    assert deliveries() == []  # sent now, not queued


def test_send_test_says_when_it_could_not_connect(dash, site):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: nobody listens
    save_form(dash, site, f"http://127.0.0.1:{port}/hook")
    assert "could not connect" in send_test(dash, site).text


def test_send_test_says_when_it_timed_out(dash, site, hooked, receiver, monkeypatch):
    monkeypatch.setattr(webhooks, "TEST_TIMEOUT", 0.5)
    receiver.delay = 2
    assert "timed out" in send_test(dash, site).text


def test_send_test_says_when_the_address_is_refused(app, dash, site, hooked, receiver):
    app.config["WEBHOOK_ALLOW_LOOPBACK"] = False
    assert "address refused" in send_test(dash, site).text
    assert receiver.received == []


def test_send_test_without_a_url_says_to_save_one(dash, site):
    resp = send_test(dash, site)
    assert resp.status_code == 302
    assert "Save a Webhook URL first." in dash.client.get(resp.location).text


def test_prune_drops_sent_deliveries_past_the_mail_retention(client, site, hooked, runner, clock):
    post_pending(client, site)
    webhooks.send_pending()
    post_pending(client, site, body="A second one")  # not yet sent: kept whatever its age
    clock.advance(15 * 86400)
    result = runner.invoke(args=["prune"])
    assert "Dropped 1 old webhook delivery(ies)." in result.output
    assert [row.sent_at for row in deliveries()] == [None]


def test_the_documented_receiver_check_accepts_our_signature_and_refuses_a_replay(
    client, site, hooked, receiver
):
    docs = (Path(__file__).parent.parent / "docs" / "webhooks.md").read_text()
    code = re.search(r"```python\n(import hashlib.*?)```", docs, re.S).group(1)
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 (our own documentation)
    verified = namespace["verified"]
    post_pending(client, site)
    webhooks.send_pending()
    [request] = receiver.received
    header = request.headers["x-afterword-signature"]
    sent_at = int(re.match(r"t=(\d+),", header).group(1))
    assert verified(hooked.secret, header, request.body, now=sent_at + 10)
    assert not verified(hooked.secret, header, request.body, now=sent_at + 301)
    assert not verified(hooked.secret, header, request.body + b"x", now=sent_at)
    assert not verified(hooked.secret, "v1=abc", request.body, now=sent_at)


def test_erasing_a_guests_data_drops_the_webhook_bodies_with_their_comments(
    client, site, hooked, receiver
):
    from app.services import privacy

    post_pending(client, site)
    webhooks.send_pending()
    post_pending(client, site, body="Second, waiting")
    assert len(deliveries()) == 2
    privacy.erase_guest("grace@example.com")
    assert deliveries() == []


def test_in_development_a_request_that_queued_an_event_sends_it_after_its_response(
    tmp_path, receiver
):
    from tests.helpers import fresh_app

    with fresh_app(tmp_path, MAIL_SEND_AFTER_REQUEST=True) as app:
        site = make_site()
        webhooks.save(make_moderator(site), site.id, receiver.url + "/hook", "json")
        response = post_json(app.test_client(), site, guest_payload())
        assert response.status_code == 201
        response.close()
        db.session.rollback()  # end the test's read, begun before the sender's write
        assert [json.loads(r.body)["event"] for r in receiver.received] == ["comment.pending"]
        assert deliveries()[0].sent_at is not None


def test_a_delivery_waiting_when_the_webhook_is_removed_is_given_up(
    dash, client, site, hooked, receiver, clock
):
    receiver.answer((500, "", {}))
    post_pending(client, site)
    webhooks.send_pending()
    assert save_form(dash, site, "").status_code == 302
    clock.advance(86400)
    assert webhooks.send_pending().failed == 1
    [row] = deliveries()
    assert row.attempts == webhooks.MAX_ATTEMPTS and "no webhook" in row.last_error
    clock.advance(86400)
    assert webhooks.send_pending() == webhooks.SendReport(0, 0)
    assert len(receiver.received) == 1
