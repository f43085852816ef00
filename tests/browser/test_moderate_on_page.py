"""A moderator signed in to the widget with the account they linked on the dashboard sees the
thread's waiting comments on the page and approves, marks as spam and pins them there."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from app.domain.states import CommentStatus
from app.extensions import db
from app.models import Comment, ModeratorIdentity
from app.services import moderators
from tests.browser.axe import expect_accessible
from tests.browser.helpers import expect_signed_in, start_sign_in, wait_closed
from tests.browser.live import Live

pytestmark = pytest.mark.browser


def test_a_moderator_approves_marks_spam_and_pins_from_the_page(
    live: Live, site_id: str, page: Page, dev_login: None
) -> None:
    url = live.host_page("/moderate-here", site_id)
    published = live.comment(site_id, url, "Already up.", name="Grace")
    good = live.comment(site_id, url, "Please approve me.", name="Lin", approve=False)
    bad = live.comment(site_id, url, "Cheap pills here.", name="Spammer", approve=False)
    with live.app.app_context():
        moderator = moderators.create_moderator(
            f"page-{site_id}@example.com", "correct horse battery", site_ids=[site_id]
        )
        db.session.add(
            ModeratorIdentity(moderator_id=moderator.id, provider="dev", provider_user_id="mo")
        )
        db.session.commit()

    page.goto(url)
    widget = page.locator("#afterword")
    expect(widget.locator(f"#comment-{published}")).to_be_visible()
    expect(widget.get_by_text("Waiting for approval")).to_have_count(0)  # not for a guest
    popup = start_sign_in(page, widget, "Dev")
    popup.get_by_label("Name", exact=True).fill("Mo")
    popup.get_by_role("button", name="Sign in").click()
    wait_closed(popup)
    expect_signed_in(widget, "Dev", "Mo")

    waiting = widget.get_by_role("region", name="Waiting for approval (2)")
    expect(waiting).to_be_visible()
    expect_accessible(page)
    waiting.locator("li.c", has_text="Please approve me.").get_by_role(
        "button", name="Approve"
    ).click()
    expect(widget.get_by_role("region", name="Waiting for approval (1)")).to_be_visible()
    expect(widget.locator(f"#comment-{good}")).to_contain_text("Please approve me.")
    widget.get_by_role("region", name="Waiting for approval (1)").get_by_role(
        "button", name="Spam"
    ).click()
    expect(widget.get_by_text("Waiting for approval")).to_have_count(0)
    expect(widget.get_by_text("Cheap pills here.")).to_have_count(0)

    widget.locator(f"#comment-{good}").get_by_role("button", name="Pin").click()
    expect(widget.locator("ol.l > li.c").first).to_have_id(f"comment-{good}")
    expect(widget.locator(f"#comment-{good}").get_by_text("Pinned")).to_be_visible()
    expect(widget.locator(f"#comment-{good}").get_by_role("button", name="Unpin")).to_be_visible()

    with live.app.app_context():
        assert db.session.get_one(Comment, good).status is CommentStatus.APPROVED
        assert db.session.get_one(Comment, bad).status is CommentStatus.SPAM
        assert db.session.get_one(Comment, good).pinned
