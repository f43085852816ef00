"""A reply written from the dashboard reads as the site's, with a moderator badge."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import Site
from app.services import moderation, moderators
from tests.browser.live import Live

pytestmark = pytest.mark.browser


def test_a_reply_as_the_site_shows_a_moderator_badge(live: Live, site_id: str, page: Page) -> None:
    url = live.host_page("/answered", site_id)
    question = live.comment(site_id, url, "Do you sell rye on Sundays?", name="Ada")
    with live.app.app_context():
        moderator = moderators.create_moderator(
            f"owner-{site_id}@example.com", "correct horse battery", site_ids=[site_id]
        )
        moderation.reply_as_site(moderator, question, "Yes, from eight until noon.")
        site_name = db.session.get(Site, site_id).name

    page.goto(url)
    reply = page.locator(f"li#comment-{question} li.c")
    expect(reply).to_contain_text("Yes, from eight until noon.")
    expect(reply.locator(".who")).to_have_text(site_name)
    expect(reply.get_by_text("Moderator", exact=True)).to_be_visible()
    expect(page.locator(f"li#comment-{question} > article").get_by_text("Moderator")).to_have_count(
        0
    )
