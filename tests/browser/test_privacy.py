"""A reader's own data from the widget: a signed-in reader downloads it and deletes their
account; a guest gets a link by mail and uses the page it opens."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Dialog, Locator, Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import Comment, Identity, OutboxMessage, Thread
from tests.browser.helpers import expect_signed_in, start_sign_in, wait_closed
from tests.browser.live import Live

pytestmark = pytest.mark.browser

TWITTER_ID = "2244994945"  # the fake Twitter's Ada Lovelace


@pytest.fixture(autouse=True)
def no_outside_images(context: BrowserContext) -> None:
    # The fakes' avatars live on made-up https hosts; nothing may leave the machine.
    context.route(re.compile(r"^https://"), lambda route: route.abort())


def test_a_signed_in_reader_downloads_their_comments_and_deletes_their_account(
    social: Live, page: Page, tmp_path: Path
) -> None:
    site = social.create_site()
    url = social.host_page("/privacy/reader", site)
    page.goto(url)
    widget = page.locator("#afterword")
    popup = start_sign_in(page, widget, "Twitter")
    popup.get_by_role("button", name="Authorize app").click()
    wait_closed(popup)
    expect_signed_in(widget, "Twitter", "Ada Lovelace")
    expect(widget.get_by_text("Your data")).to_be_hidden()  # the guest's control
    widget.get_by_label("Comment", exact=True).fill("Mine to take away.")
    widget.get_by_role("button", name="Post Comment").click()
    mine = widget.locator("li.c", has_text="Mine to take away.")
    expect(mine).to_be_visible()

    with page.expect_download() as download:
        widget.get_by_role("button", name="Download my comments").click()
    saved = tmp_path / "export.json"
    download.value.save_as(saved)
    data = json.loads(saved.read_text())
    assert data["account"]["name"] == "Ada Lovelace"
    assert data["account"]["providers"][0]["id"] == TWITTER_ID
    assert "Mine to take away." in [c["body"] for c in data["comments"]]

    # Cancelling the question changes nothing.
    page.once("dialog", lambda dialog: dialog.dismiss())
    widget.get_by_role("button", name="Delete my account").click()
    expect_signed_in(widget, "Twitter", "Ada Lovelace")
    expect(mine).to_be_visible()

    questions: list[str] = []

    def accept(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    widget.get_by_role("button", name="Delete my account").click()
    expect(widget.get_by_label("Email", exact=True)).to_be_visible()
    expect(widget.get_by_text("You are commenting using")).to_have_count(0)
    expect(mine).to_have_count(0)
    assert questions == ["Delete your account and all your comments? This cannot be undone."]
    assert page.evaluate(f"localStorage.getItem('afterword:{site}:auth:{social.url}')") is None
    with social.app.app_context():
        identity = select(Identity).where(Identity.provider_user_id == TWITTER_ID)
        assert db.session.scalars(identity).all() == []
        comment = select(Comment).where(Comment.body == "Mine to take away.")
        assert db.session.scalars(comment).all() == []
    page.reload()
    expect(widget.get_by_label("Email", exact=True)).to_be_visible()
    expect(mine).to_have_count(0)


def guest_data_control(widget: Locator) -> tuple[Locator, Locator]:
    widget.get_by_text("Your data").click()
    field = widget.get_by_role("textbox", name="Your data")
    return field, widget.get_by_role("button", name="Send me a link")


def test_a_guest_gets_a_link_by_mail_and_downloads_and_deletes_on_its_page(
    live: Live, page: Page, tmp_path: Path
) -> None:
    site = live.create_site()
    url = live.host_page("/privacy/guest", site)
    live.comment(site, url, "Quill was here.", name="Quill")
    page.goto(url)
    widget = page.locator("#afterword")
    expect(widget.get_by_text("Quill was here.")).to_be_visible()

    field, send = guest_data_control(widget)
    field.fill("quill@example.com")
    send.click()
    answer = "If that address wrote here, a link is on its way."
    # Shown next to the field, and announced in the live region too.
    expect(widget.locator("p", has_text=answer)).to_be_visible()
    with live.app.app_context():
        [mail] = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.to == "quill@example.com")
        ).all()
        link = re.search(r"http://\S+/privacy/\S+", mail.body_text).group(0)

    page.goto(link)
    expect(page.get_by_text("Test blog: 1 comment")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download my comments").click()
    saved = tmp_path / "guest.json"
    download.value.save_as(saved)
    assert [c["body"] for c in json.loads(saved.read_text())["comments"]] == ["Quill was here."]

    page.get_by_label("I understand that this cannot be undone").check()
    page.get_by_role("button", name="Delete my comments").click()
    expect(page.get_by_role("heading", name="Your comments were deleted")).to_be_visible()
    # Checked in the database: the browser may reuse the thread it read for THREAD_MAX_AGE.
    with live.app.app_context():
        [comment] = db.session.scalars(
            select(Comment).join(Thread).where(Thread.site_id == site)
        ).all()
        assert (comment.body, comment.guest_name, comment.guest_email) == ("", None, None)
