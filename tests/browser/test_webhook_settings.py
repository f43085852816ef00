"""A site's webhook in Chromium: fill in `Webhook URL`, save, `Send test`, read the answer."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from uuid import uuid4

import pytest
from playwright.sync_api import Page, expect

from app.services import moderators
from tests.browser.live import Live
from tests.fakes.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(default=(200, "ok <from the receiver>", {})) as running:
        yield running


def test_a_moderator_sets_a_webhook_and_sees_the_test_answer(
    page: Page, live: Live, receiver: WebhookReceiver
) -> None:
    site_id = live.create_site()
    email = f"mod-{uuid4().hex[:10]}@example.com"
    with live.app.app_context():
        moderators.create_moderator(email, PASSWORD, site_ids=[site_id])
    page.goto(f"{live.url}/dashboard/login")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.goto(f"{live.url}/dashboard/sites/{site_id}")

    page.get_by_label("Webhook URL").fill("https://10.0.0.7/hook")
    page.get_by_role("button", name="Save webhook").click()
    expect(page.get_by_text("That address is refused")).to_be_visible()
    expect(page.get_by_label("Webhook URL")).to_have_value("https://10.0.0.7/hook")

    page.get_by_label("Webhook URL").fill(receiver.url + "/hook")
    page.get_by_label("Slack / Discord / Matrix (text)").check()
    page.get_by_role("button", name="Save webhook").click()
    expect(page.get_by_text("Webhook saved.")).to_be_visible()
    expect(page.locator("#webhook-secret")).to_have_text(re.compile(r"^whsec_"))

    page.get_by_role("button", name="Send test").click()
    answer = page.locator("#webhook-answer")
    expect(answer).to_contain_text("HTTP 200")
    expect(answer).to_contain_text("ok <from the receiver>")  # shown as text, not markup
    [request] = receiver.received
    assert "A test from Afterword" in json.loads(request.body)["content"]
