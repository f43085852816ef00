"""The dashboard's pages pass axe's WCAG 2.0, 2.1 and 2.2 A and AA rules (tests/browser/axe.py).

Each test opens one state of a page and checks it twice, in the light and the dark scheme,
as the dashboard's colours follow the moderator's system setting (`prefers-color-scheme`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMessage
from tests.browser.axe import AxeViolations, expect_accessible
from tests.browser.live import Live
from tests.browser.test_dashboard import Desk, pending_comment, row, sign_in
from tests.browser.test_dashboard import desk as desk  # the fixture, by its name

pytestmark = pytest.mark.browser


def expect_accessible_in_both_schemes(page: Page) -> None:
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        try:
            expect_accessible(page)
        except AxeViolations as err:
            raise AxeViolations(f"{page.url}, {scheme} scheme: {err}") from None


def comments_waiting(live: Live, desk: Desk) -> list[int]:
    """A guest with a website, and one with a record on the site: every part of a row shows."""
    url = live.host_page(f"/a11y-{desk.site_id}", desk.site_id, title="Rye, slowly")
    live.approve(pending_comment(live, desk.site_id, url, "Lovely crumb!", name="Ada"))
    return [
        pending_comment(live, desk.site_id, url, "Does rye need a *starter*?", name="Ada"),
        pending_comment(live, desk.site_id, url, "How long do you **proof** it?", name="Mira"),
    ]


@pytest.fixture
def mastodon_login(live: Live) -> Iterator[None]:
    """MASTODON_LOGIN=1 for this test only: the pages' forms naming a server show."""
    live.app.config["MASTODON_LOGIN"] = True
    try:
        yield
    finally:
        live.app.config["MASTODON_LOGIN"] = False


def test_sign_in_page(live: Live, page: Page, mastodon_login: None) -> None:
    page.goto(f"{live.url}/dashboard/login")
    expect(page.get_by_role("heading", name="Sign in to moderate")).to_be_visible()
    expect(page.get_by_label("Your Mastodon server")).to_be_visible()
    expect_accessible_in_both_schemes(page)


def test_sign_in_page_with_a_server_refused(live: Live, page: Page, mastodon_login: None) -> None:
    page.goto(f"{live.url}/dashboard/login")
    page.get_by_label("Your Mastodon server").fill("not a server")
    page.get_by_role("button", name="Sign in with Mastodon").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Enter your Mastodon server, such as mastodon.social."
    )
    expect_accessible_in_both_schemes(page)


def test_sign_in_page_with_its_error(live: Live, desk: Desk, page: Page) -> None:
    page.goto(f"{live.url}/dashboard/login")
    page.get_by_label("Email", exact=True).fill(desk.email)
    page.get_by_label("Password", exact=True).fill("not the password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("That email and password do not match.")
    expect_accessible_in_both_schemes(page)


def test_queue_with_comments(live: Live, desk: Desk, page: Page) -> None:
    waiting = comments_waiting(live, desk)
    sign_in(page, live, desk.email)
    expect(page.locator(".row")).to_have_count(2)
    expect_accessible_in_both_schemes(page)

    # A row acted on stays in the list, dimmed, until the page is reloaded.
    row(page, waiting[0]).get_by_role("button", name="Approve", exact=True).click()
    expect(row(page, waiting[0])).to_have_class(re.compile(r"\bdone\b"))
    expect_accessible_in_both_schemes(page)

    page.goto(f"{live.url}/dashboard/")  # with the flash and the undo button of a plain post
    page.get_by_role("checkbox", name="Select comment by Mira").check()
    page.get_by_role("button", name="Reject selected").click()
    expect(page.get_by_role("status")).to_have_text("1 comment(s) rejected.")
    page.reload()
    expect_accessible_in_both_schemes(page)


def test_empty_queue(live: Live, desk: Desk, page: Page) -> None:
    sign_in(page, live, desk.email)
    expect(page.get_by_text("Nothing here: the queue is clear.")).to_be_visible()
    expect_accessible_in_both_schemes(page)


def test_a_comments_page(live: Live, desk: Desk, page: Page) -> None:
    comment_id = comments_waiting(live, desk)[0]
    sign_in(page, live, desk.email)
    page.goto(f"{live.url}/dashboard/comments/{comment_id}")
    expect(page.get_by_role("heading", name="Edit the text")).to_be_visible()
    expect_accessible_in_both_schemes(page)


def test_notifications_and_password_settings(
    live: Live, desk: Desk, page: Page, mastodon_login: None
) -> None:
    sign_in(page, live, desk.email)
    page.goto(f"{live.url}/dashboard/account")
    expect(page.get_by_role("heading", name="Password")).to_be_visible()
    expect(page.get_by_role("button", name="Link Mastodon")).to_be_visible()
    expect_accessible_in_both_schemes(page)

    page.get_by_label("Current password", exact=True).fill("not the password")
    page.get_by_label("New password", exact=True).fill("another good passphrase")
    page.get_by_label("New password again", exact=True).fill("another good passphrase")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator(".field-error")).to_have_count(1)
    expect_accessible_in_both_schemes(page)


def test_sites_and_a_sites_settings(live: Live, desk: Desk, page: Page) -> None:
    sign_in(page, live, desk.email)
    page.goto(f"{live.url}/dashboard/sites")
    expect(page.get_by_role("heading", name="Add a site")).to_be_visible()
    expect_accessible_in_both_schemes(page)

    page.get_by_role("button", name="Add site").click()  # empty: the fields' errors show
    expect(page.locator(".field-error").first).to_be_visible()
    expect_accessible_in_both_schemes(page)

    page.goto(f"{live.url}/dashboard/sites/{desk.site_id}")
    expect(page.get_by_role("heading", name="Embed snippet")).to_be_visible()
    expect_accessible_in_both_schemes(page)
    for part in ("bans", "audit"):
        page.goto(f"{live.url}/dashboard/sites/{desk.site_id}/{part}")
        expect_accessible_in_both_schemes(page)


def test_forgotten_password_pages(live: Live, desk: Desk, page: Page) -> None:
    page.goto(f"{live.url}/dashboard/password/forgot")
    expect_accessible_in_both_schemes(page)
    page.get_by_label("Email", exact=True).fill(desk.email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("status")).to_contain_text("a link to set a new password")
    expect_accessible_in_both_schemes(page)

    with live.app.app_context():
        mailed = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.to == desk.email)
        ).one()
        link = re.search(r"http\S+/dashboard/password/reset/\S+", mailed.body_text)
    assert link is not None
    page.goto(link.group(0))
    expect(page.get_by_role("heading", name="Set a new password")).to_be_visible()
    expect_accessible_in_both_schemes(page)
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_role("button", name="Set password").click()
    expect(page.locator(".field-error").first).to_be_visible()
    expect_accessible_in_both_schemes(page)


@pytest.mark.parametrize(
    "path",
    ["/dashboard/password/reset/not-a-token", "/dashboard/mail/not-a-token"],
    ids=["reset-link", "mail-link"],
)
def test_a_link_not_usable(live: Live, page: Page, path: str) -> None:
    page.goto(live.url + path)
    expect(page.get_by_role("heading", name="Link not usable")).to_be_visible()
    expect_accessible_in_both_schemes(page)


def test_a_page_that_is_not_there(live: Live, desk: Desk, page: Page) -> None:
    sign_in(page, live, desk.email)
    answer = page.goto(f"{live.url}/dashboard/sites/no-such-site")
    assert answer is not None and answer.status == 404
    expect(page.get_by_role("heading", name="Not Found")).to_be_visible()
    expect(page.get_by_role("navigation", name="Dashboard")).to_be_visible()
    expect_accessible_in_both_schemes(page)
