"""Signing in with email from the widget: the reader types their address, the link mailed
there opens in a new tab, its button signs them in, and the first tab follows."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from app import create_app
from app.extensions import db
from app.services import mail
from config import TestingConfig
from tests.browser.axe import expect_accessible
from tests.browser.helpers import expect_signed_in
from tests.browser.live import Live, listening, serve, url_of
from tests.test_notifications import AnyPortController, Inbox, text_of

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def mailing(live: Live) -> Iterator[tuple[Live, Inbox]]:
    """A second service offering email sign-in on `live`'s database, mailing to a loopback
    SMTP server."""
    inbox = Inbox()
    smtp = AnyPortController(inbox, hostname="127.0.0.1", port=0)
    smtp.start()
    service = listening()
    url = url_of(service)
    app = create_app(
        TestingConfig,
        SQLALCHEMY_DATABASE_URI=live.app.config["SQLALCHEMY_DATABASE_URI"],
        PUBLIC_URL=url,
        EMAIL_LOGIN=True,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp.port,
        MAIL_USE_TLS=False,
        MAIL_FROM="comments@blog.example",
    )
    server = serve(service, app)
    yield Live(app=app, url=url, host=live.host), inbox
    server.shutdown()
    smtp.stop()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def mailed_link(live: Live, inbox: Inbox, to: str) -> str:
    with live.app.app_context():
        mail.send_pending()
    [message] = [m for m in inbox.messages if m["To"] == to]
    inbox.messages.remove(message)
    found = re.search(r"https?://\S+/auth/email/sign-in/\S+", text_of(message))
    assert found, text_of(message)
    return found.group(0)


def test_a_reader_signs_in_by_the_link_mailed_to_them(
    mailing: tuple[Live, Inbox], site_id: str, page: Page, context: BrowserContext
) -> None:
    live, inbox = mailing
    url = live.host_page("/by-mail", site_id)
    page.goto(url)
    widget = page.locator("#afterword")
    button = widget.get_by_role("button", name="Log in with email")
    expect(button.locator("svg")).to_have_count(1)  # the envelope
    button.click()
    address = widget.get_by_label("Your email address")
    expect(address).to_be_focused()
    address.fill("Reader@Example.com")
    address.press("Enter")
    expect(widget.get_by_text("Check your email for a link to sign in.")).to_be_visible()
    expect_accessible(page)

    tab = context.new_page()  # where a mail client opens the link
    tab.goto(mailed_link(live, inbox, "reader@example.com"))
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_url(re.compile(re.escape(url) + r"$"))  # the code is claimed and gone
    tab_widget = tab.locator("#afterword")
    expect_signed_in(tab_widget, "email", "reader")
    expect_signed_in(widget, "email", "reader")  # the first tab follows

    tab_widget.get_by_role("textbox", name="Comment").fill("Signed in by mail.")
    tab_widget.get_by_role("button", name="Post Comment").click()
    posted = tab_widget.locator("li.c", has_text="Signed in by mail.")
    expect(posted.get_by_role("img", name="Verified")).to_be_visible()
    expect_accessible(tab)
    tab.reload()
    expect_signed_in(tab_widget, "email", "reader")
    expect(tab_widget.locator("li.c", has_text="Signed in by mail.")).to_be_visible()
    tab.close()


def test_a_guest_typing_an_approved_authors_name_and_email_still_waits(
    live: Live, page: Page
) -> None:
    # On a `first-time` site the real Grace's comment was approved; anyone can type her name
    # and address, so that proves nothing: the copy waits for a moderator.
    from app.models import ModerationMode, Site

    site_id = live.create_site()
    with live.app.app_context():
        db.session.get_one(Site, site_id).moderation = ModerationMode.FIRST_TIME
        db.session.commit()
    url = live.host_page("/first-time-spoof", site_id)
    live.comment(site_id, url, "Lovely post, thank you.", name="Grace")  # approved
    page.goto(url)
    widget = page.locator("#afterword")
    expect(widget.locator("li.c", has_text="Lovely post")).to_contain_text("Grace")
    widget.get_by_label("Email", exact=True).fill("grace@example.com")
    widget.get_by_label("Name", exact=True).fill("Grace")
    widget.get_by_label("Comment", exact=True).fill("Buy followers at my shop.")
    widget.get_by_role("button", name="Post Comment").click()
    copy = widget.locator("li.c", has_text="Buy followers")
    expect(copy).to_contain_text("Your comment is awaiting moderation.")
