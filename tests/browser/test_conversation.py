"""Taking part in a conversation: a reply form that knows whom it answers, links to single
comments, and pages that stopped taking comments."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from app.extensions import db
from app.models import Thread
from tests.browser.live import Live

pytestmark = pytest.mark.browser


def test_a_reply_form_names_whom_it_answers_and_asks_a_known_guest_nothing(
    live: Live, site_id: str, page: Page
) -> None:
    url = live.host_page("/reply-form", site_id)
    question = live.comment(site_id, url, "How long do you knead?", name="Ada")
    page.goto(url)
    widget = page.locator("#afterword")
    widget.get_by_label("Email", exact=True).fill("grace@example.com")
    widget.get_by_label("Name", exact=True).fill("Grace")

    item = widget.locator(f"li#comment-{question}")
    item.get_by_role("button", name="Reply").click()
    reply = item.locator("form")
    expect(reply.get_by_role("heading", name="Replying to Ada")).to_be_visible()
    expect(reply.get_by_label("Comment", exact=True)).to_be_focused()
    expect(reply.get_by_label("Email", exact=True)).to_be_hidden()  # the widget knows them
    reply.get_by_label("Comment", exact=True).fill("Ten minutes, by hand.")
    page.keyboard.press("Escape")
    expect(item.locator("form")).to_have_count(0)
    expect(item.get_by_role("button", name="Reply")).to_be_focused()

    # Opened again, the draft is still there, and it posts under Grace's name.
    item.get_by_role("button", name="Reply").click()
    expect(reply.get_by_label("Comment", exact=True)).to_have_value("Ten minutes, by hand.")
    reply.get_by_role("button", name="Post Comment").click()
    posted = item.locator("li.c")
    expect(posted).to_contain_text("Ten minutes, by hand.")
    expect(posted.locator(".who")).to_have_text("Grace")


def test_a_reply_form_asks_a_new_guest_for_their_details(
    live: Live, site_id: str, page: Page
) -> None:
    url = live.host_page("/reply-new-guest", site_id)
    question = live.comment(site_id, url, "Rye or spelt?", name="Ada")
    page.goto(url)
    item = page.locator(f"#afterword li#comment-{question}")
    item.get_by_role("button", name="Reply").click()
    reply = item.locator("form")
    expect(reply.get_by_role("heading", name="Replying to Ada")).to_be_visible()
    expect(reply.get_by_label("Email", exact=True)).to_be_visible()
    reply.get_by_role("button", name="Cancel").click()
    expect(item.locator("form")).to_have_count(0)


def test_a_link_to_a_comment_opens_at_it_even_on_a_later_page(
    live: Live, site_id: str, page: Page
) -> None:
    url = live.host_page("/long-thread", site_id)
    for n in range(51):  # the widget's pages hold 50 top-level comments
        live.comment(site_id, url, f"Comment number {n}.", name=f"Reader{n}")
    last = live.comment(site_id, url, "The one the link points to.", name="Zoe")

    page.goto(f"{url}#comment-{last}")
    target = page.locator(f"#afterword li#comment-{last}")
    expect(target).to_be_focused()
    expect(target).to_be_in_viewport()

    # Each comment's time is its link; following one inside the page goes there too.
    first = page.locator("#afterword li.c").first
    link = first.locator(".m a").first
    expect(link).to_have_attribute("href", f"{url}#comment-{first.get_attribute('id')[8:]}")
    page.evaluate("scrollTo(0, 0)")
    page.goto(f"{url}#comment-{last}")
    expect(target).to_be_focused()


def test_a_closed_page_shows_its_comments_and_takes_no_more(
    live: Live, site_id: str, page: Page
) -> None:
    url = live.host_page("/closed", site_id)
    live.comment(site_id, url, "Said before it closed.", name="Ada")
    with live.app.app_context():  # as an import of a page closed on the old system leaves it
        db.session.execute(update(Thread).values(closed=True))
        db.session.commit()

    page.goto(url)
    widget = page.locator("#afterword")
    expect(widget.get_by_text("Said before it closed.")).to_be_visible()
    expect(widget.get_by_text("Comments are closed.")).to_be_visible()
    expect(widget.get_by_role("button", name="Reply")).to_have_count(0)
    expect(widget.get_by_label("Comment", exact=True)).to_have_count(0)
