"""Inviting a moderator in Chromium: the owner invites from the site's page, the invitee
opens the mailed link in a browser of their own, sets a password and lands on the queue,
with no way to the site's settings."""

from __future__ import annotations

import re
from uuid import uuid4

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMessage
from app.services import moderators
from tests.browser.axe import expect_accessible
from tests.browser.live import Live
from tests.browser.test_dashboard import PASSWORD, sign_in

pytestmark = pytest.mark.browser

NEW_PASSWORD = "the invitee's own passphrase"


def mailed_invite(live: Live, to: str) -> str:
    with live.app.app_context():
        row = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.to == to).order_by(OutboxMessage.id.desc())
        ).first()
        assert row is not None, f"no mail to {to}"
        found = re.search(r"https?://\S+/dashboard/invite/\S+", row.body_text)
        assert found, row.body_text
        return found.group(0)


def test_an_owner_invites_a_moderator_who_gets_the_queue_only(
    live: Live, page: Page, browser: Browser
) -> None:
    site_id = live.create_site()
    owner = f"owner-{uuid4().hex[:10]}@example.com"
    invitee = f"new-{uuid4().hex[:10]}@example.com"
    with live.app.app_context():
        moderators.create_moderator(owner, PASSWORD, site_ids=[site_id])

    sign_in(page, live, owner)
    page.goto(f"{live.url}/dashboard/sites/{site_id}")
    section = page.locator("#moderators")
    expect(section.get_by_role("heading", name="Moderators")).to_be_visible()
    expect(section.get_by_role("cell", name=owner, exact=True)).to_be_visible()
    section.get_by_label("Email", exact=True).fill(invitee)
    section.get_by_label("Role", exact=True).select_option("moderator")
    section.get_by_role("button", name="Invite").click()
    expect(page.get_by_text(f"Invitation sent to {invitee}.")).to_be_visible()
    expect(page.locator("#moderators").get_by_text(f"{invitee} as moderator")).to_be_visible()
    expect_accessible(page)

    other = browser.new_context(locale="en-US")  # the invitee's own browser
    other.set_default_timeout(5000)
    tab = other.new_page()
    tab.goto(mailed_invite(live, invitee))
    expect(tab.get_by_role("heading", name=re.compile("^Moderate "))).to_be_visible()
    expect_accessible(tab)
    tab.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    tab.get_by_label("New password again", exact=True).fill(NEW_PASSWORD)
    tab.get_by_role("button", name="Set password and accept").click()
    expect(tab.get_by_role("heading", name="Comments")).to_be_visible()
    expect(tab.get_by_text("Welcome: you moderate")).to_be_visible()
    expect(tab.locator(f'a[href="/dashboard/sites/{site_id}"]')).to_have_count(0)

    settings = tab.goto(f"{live.url}/dashboard/sites/{site_id}")
    assert settings is not None and settings.status == 403
    expect(tab.get_by_role("heading", name="Forbidden")).to_be_visible()
    other.close()
