"""Moderation as a reader, an owner and a chat channel meet it, in Chromium and in the words
they read: a report reaches the `Reported` filter with its reason, the word lists refuse or
hold what they should and say which word, and a webhook's approve link asks before it acts.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from app.domain.webhooks import SIGNATURE_HEADER, verify
from app.extensions import db
from app.models import ModerationMode, Site
from app.services import webhooks
from tests.browser.live import Live
from tests.browser.test_dashboard import PENDING, Desk, row, sign_in, status_of
from tests.browser.test_dashboard import desk as desk  # the fixture, by its name
from tests.fakes.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.browser


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as running:
        yield running


def publish_at_once(live: Live, site_id: str) -> None:
    with live.app.app_context():
        db.session.get_one(Site, site_id).moderation = ModerationMode.NONE
        db.session.commit()


def post_as_guest(page: Page, name: str, body: str) -> None:
    widget = page.locator("#afterword")
    widget.get_by_label("Email", exact=True).fill(f"{name.lower()}@example.com")
    widget.get_by_label("Name", exact=True).fill(name)
    widget.get_by_label("Comment", exact=True).fill(body)
    widget.get_by_role("button", name="Post Comment").click()


def test_a_reported_comment_shows_under_reported_with_the_readers_reason(
    live: Live, desk: Desk, page: Page, browser: Browser
) -> None:
    url = live.host_page("/checks-report", desk.site_id)
    target = live.comment(desk.site_id, url, "Cheap watches, follow the link.", name="Vendor")
    page.goto(url)
    item = page.locator(f"#afterword li#comment-{target}")
    item.get_by_role("button", name="Report", exact=True).click()
    item.get_by_role("radio", name="Off-topic").check()
    item.get_by_label("Note (optional)").fill("Nothing to do with massage.")
    item.get_by_role("button", name="Send report").click()
    expect(item.get_by_text("Thanks, a moderator will look at it.")).to_be_visible()

    moderator = browser.new_context(locale="en-US")
    moderator.set_default_timeout(5000)
    try:
        dash = moderator.new_page()
        sign_in(dash, live, desk.email)
        status = dash.get_by_label("Status")
        expect(status.locator("option", has_text="Reported")).to_have_text("Reported (1)")
        status.select_option("reported")
        dash.get_by_role("button", name="Filter").click()
        reported = row(dash, target)
        expect(reported.locator(".reports")).to_have_text("Reported 1 time: Off-topic 1")
        expect(reported.get_by_label("Readers' notes")).to_contain_text(
            "Nothing to do with massage."
        )
        expect(reported.locator(".body")).to_have_text("Cheap watches, follow the link.")
    finally:
        moderator.close()


def test_the_owners_word_lists_refuse_a_banned_word_and_hold_a_held_one_saying_which(
    live: Live, desk: Desk, page: Page, browser: Browser
) -> None:
    publish_at_once(live, desk.site_id)
    owner = browser.new_context(locale="en-US")
    owner.set_default_timeout(5000)
    try:
        dash = owner.new_page()
        sign_in(dash, live, desk.email)
        dash.goto(f"{live.url}/dashboard/sites/{desk.site_id}")
        dash.get_by_label("Banned words").fill("casino")
        dash.get_by_label("Held words").fill("refund")
        dash.get_by_role("button", name="Save word lists").click()
        expect(dash.get_by_label("Banned words")).to_have_value("casino")
        expect(dash.get_by_label("Held words")).to_have_value("refund")

        url = live.host_page("/checks-words", desk.site_id)
        page.goto(url)
        widget = page.locator("#afterword")
        banned = "Best odds at the C.A.S.I.N.O tonight."
        post_as_guest(page, "Spammer", banned)
        expect(widget.get_by_text("Your comment could not be posted.")).to_be_visible()
        expect(widget.get_by_label("Comment", exact=True)).to_have_value(banned)  # kept
        expect(widget.locator("li.c", has_text="Best odds")).to_have_count(0)

        held = "Can I get a Refund if the session is cancelled?"
        post_as_guest(page, "Hana", held)
        mine = widget.locator("li.c", has_text="Can I get a")
        expect(mine).to_contain_text(PENDING)
        comment_id = int(mine.get_attribute("id").removeprefix("comment-"))
        assert status_of(live, comment_id) == "pending"

        dash.goto(f"{live.url}/dashboard/")
        expect(row(dash, comment_id).locator(".why")).to_contain_text("Why it waits:")
        expect(row(dash, comment_id).locator(".why")).to_contain_text("refund")
    finally:
        owner.close()


def test_a_webhook_gets_a_signed_pending_comment_whose_approve_link_asks_first(
    live: Live, desk: Desk, page: Page, receiver: WebhookReceiver
) -> None:
    sign_in(page, live, desk.email)
    page.goto(f"{live.url}/dashboard/sites/{desk.site_id}")
    page.get_by_label("Webhook URL").fill(receiver.url + "/afterword")
    page.get_by_role("button", name="Save webhook").click()
    expect(page.get_by_text("Webhook saved.")).to_be_visible()
    secret = page.locator("#webhook-secret").inner_text().strip()

    url = live.host_page("/checks-webhook", desk.site_id)
    page.goto(url)
    post_as_guest(page, "Grace", "Do you take walk-ins on Saturdays?")
    expect(page.locator("#afterword li.c", has_text="walk-ins")).to_contain_text(PENDING)
    with live.app.app_context():
        report = webhooks.send_pending()  # the job `flask mail send-pending` runs
    assert report.sent == 1

    [request] = receiver.received
    assert request.path == "/afterword"
    assert request.headers["x-afterword-event"] == "comment.pending"
    assert verify(secret, request.headers[SIGNATURE_HEADER.lower()], request.body, time.time())
    assert not verify(
        "whsec_someone-else", request.headers[SIGNATURE_HEADER.lower()], request.body, time.time()
    )
    body = json.loads(request.body)
    comment_id = body["comment"]["id"]
    assert body["comment"]["text"] == "Do you take walk-ins on Saturdays?"

    # What a chat app's link preview does: it opens the link and reads the page.
    page.goto(body["actions"]["approve"])
    expect(page.get_by_role("heading", name="Approve this comment?")).to_be_visible()
    page.reload()
    assert status_of(live, comment_id) == "pending"

    page.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(re.compile("approved", re.I))
    assert status_of(live, comment_id) == "approved"
    page.goto(body["actions"]["approve"])  # one time only
    expect(page.get_by_role("heading", name="Approve this comment?")).to_have_count(0)
