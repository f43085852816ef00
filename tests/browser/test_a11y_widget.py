"""The widget, on a host blog, passes axe's WCAG 2.0, 2.1 and 2.2 A and AA rules in each state
a reader meets (tests/browser/axe.py). axe reads the widget's open shadow root; the host page
around it is the blog's own business, so only `#afterword` is checked.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.axe import AxeViolations, expect_accessible
from tests.browser.helpers import expect_signed_in, start_sign_in, wait_closed
from tests.browser.live import Live
from tests.browser.test_layout import DARK_BLOG_STYLE

pytestmark = pytest.mark.browser

PENDING = "Your comment is awaiting moderation."
WIDGET = "#afterword"


def open_thread(live: Live, site_id: str, page: Page, path: str, **host: str) -> Locator:
    """A post with a comment and a reply to it, opened; returns the widget."""
    url = live.host_page(path, site_id, **host)
    parent = live.comment(site_id, url, "The crust was **perfect**.", name="Ada")
    live.comment(site_id, url, "Thanks, we bake it hot.", parent=parent, name="Baker")
    page.goto(url)
    widget = page.locator(WIDGET)
    expect(widget.get_by_role("heading", name="2 Comments")).to_be_visible()
    return widget


def fill_guest(scope: Locator, *, body: str, name: str = "Grace") -> None:
    scope.get_by_label("Email", exact=True).fill(f"{name.lower()}@example.com")
    scope.get_by_label("Name", exact=True).fill(name)
    scope.get_by_label("Comment", exact=True).fill(body)


def test_guest_form_under_a_thread(live: Live, site_id: str, page: Page) -> None:
    widget = open_thread(live, site_id, page, "/a11y-guest")
    expect(widget.get_by_role("heading", name="Leave a Reply")).to_be_visible()
    expect_accessible(page, WIDGET)


def test_signed_in_with_the_dev_provider(
    live: Live, site_id: str, page: Page, dev_login: None
) -> None:
    widget = open_thread(live, site_id, page, "/a11y-dev")
    popup = start_sign_in(page, widget, "Dev")
    expect_accessible(page, WIDGET)  # "Connecting to Dev…", with its Cancel button
    expect_accessible(popup)  # the Dev sign-in page itself
    popup.get_by_label("Name", exact=True).fill("Dee")
    popup.get_by_role("button", name="Sign in").click()
    wait_closed(popup)
    expect_signed_in(widget, "Dev", "Dee")
    expect_accessible(page, WIDGET)


def test_reply_form_open(live: Live, site_id: str, page: Page) -> None:
    widget = open_thread(live, site_id, page, "/a11y-reply")
    reply = widget.get_by_role("button", name="Reply").first
    reply.click()
    expect(reply).to_have_attribute("aria-expanded", "true")
    expect_accessible(page, WIDGET)


def test_preview_shown(live: Live, site_id: str, page: Page) -> None:
    widget = open_thread(live, site_id, page, "/a11y-preview")
    fill_guest(widget, body="So *relaxing* ~~not~~")
    widget.get_by_role("button", name="Preview").click()
    expect(widget.locator("form em", has_text="relaxing")).to_be_visible()
    expect_accessible(page, WIDGET)


def test_a_posting_error_shown(live: Live, site_id: str, page: Page) -> None:
    widget = open_thread(live, site_id, page, "/a11y-error")
    widget.get_by_label("Email", exact=True).fill("ivy@example.com")
    widget.get_by_label("Comment", exact=True).fill("I forgot my name.")
    widget.get_by_role("button", name="Post Comment").click()
    expect(widget.get_by_role("alert").filter(has_text="name")).to_be_visible()
    expect_accessible(page, WIDGET)


def test_dark_theme(live: Live, site_id: str, page: Page) -> None:
    widget = open_thread(
        live, site_id, page, "/a11y-dark", attrs='data-theme="dark"', head=DARK_BLOG_STYLE
    )
    expect_accessible(page, WIDGET)
    widget.get_by_role("button", name="Reply").first.click()
    fill_guest(widget.locator("li.c form"), body="Dark, and *still* readable?")
    widget.locator("li.c form").get_by_role("button", name="Preview").click()
    expect(widget.locator("li.c form em", has_text="still")).to_be_visible()
    expect_accessible(page, WIDGET)


def test_a_comment_awaiting_moderation(live: Live, site_id: str, page: Page) -> None:
    widget = open_thread(live, site_id, page, "/a11y-pending")
    fill_guest(widget, body="Does rye need a *starter*?")
    widget.get_by_role("button", name="Post Comment").click()
    mine = widget.locator("li.c", has_text="Does rye need a starter?")
    expect(mine).to_contain_text(PENDING)
    expect(widget.locator("[aria-live=polite]")).to_have_text(re.compile("Comment posted"))
    expect_accessible(page, WIDGET)


def test_the_check_sees_inside_the_widgets_shadow_root(
    live: Live, site_id: str, page: Page
) -> None:
    """Without this, a widget full of faults would pass: the checks above would see nothing."""
    widget = open_thread(live, site_id, page, "/a11y-sees-inside")
    expect_accessible(page, WIDGET)
    widget.locator("form").first.evaluate(
        "form => form.append(Object.assign(document.createElement('input'), {id: 'unnamed'}))"
    )
    with pytest.raises(AxeViolations) as failure:
        expect_accessible(page, WIDGET)
    assert "- label (critical)" in str(failure.value)
    assert "#afterword >>> #unnamed" in str(failure.value)


def test_a_liked_comment_and_new_ones_announced(live: Live, site_id: str, page: Page) -> None:
    widget = open_thread(live, site_id, page, "/a11y-like")
    like = widget.get_by_role("button", name="Like").first
    like.click()
    expect(like).to_have_attribute("aria-pressed", "true")
    expect_accessible(page, WIDGET)


@pytest.mark.parametrize("lang", ["ar", "he"])
def test_right_to_left(live: Live, site_id: str, page: Page, lang: str) -> None:
    url = live.host_page(f"/a11y-{lang}", site_id, lang=lang)
    live.comment(site_id, url, "مرحبا", name="Ada")
    page.goto(url)
    expect(page.locator(f"{WIDGET} li.c")).to_have_count(1)
    expect_accessible(page, WIDGET)
