"""Keyboard alone, no mouse: a reader comments, replies and signs in; a moderator approves.

Focus moves only with Tab (and Shift+Tab); every stop on the way must show where it is.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.helpers import expect_signed_in, wait_closed
from tests.browser.live import Live
from tests.browser.test_dashboard import PASSWORD, Desk, pending_comment, row, status_of
from tests.browser.test_dashboard import desk as desk  # the fixture, by its name

pytestmark = pytest.mark.browser

PENDING = "Your comment is awaiting moderation."

IS_FOCUSED = "e => e.getRootNode().activeElement === e"
# The element that has the focus, down through shadow roots, if it draws no outline or ring of
# box-shadow (the two ways the widget and the dashboard show focus): its start, else null.
UNMARKED_FOCUS = """() => {
  let e = document.activeElement;
  while (e && e.shadowRoot && e.shadowRoot.activeElement) e = e.shadowRoot.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  const shown = (s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0)
    || s.boxShadow !== "none";
  return shown ? null : e.outerHTML.slice(0, 120);
}"""


def tab_to(page: Page, target: Locator, *, key: str = "Tab", limit: int = 40) -> None:
    """Presses `key` until `target` has the focus; each stop on the way must show it."""
    for _ in range(limit):
        if target.evaluate(IS_FOCUSED):
            return
        page.keyboard.press(key)
        unmarked = page.evaluate(UNMARKED_FOCUS)
        assert unmarked is None, f"the focus does not show on {unmarked}"
    raise AssertionError(f"{limit} presses of {key} never reached {target}")


def test_a_reader_comments_replies_and_signs_in_by_keyboard(
    live: Live, site_id: str, page: Page, dev_login: None
) -> None:
    url = live.host_page("/keyboard-only", site_id)
    parent = live.comment(site_id, url, "Which flour do you use?", name="Lin")
    page.goto(url)
    widget = page.locator("#afterword")
    keyboard = page.keyboard
    expect(widget.get_by_role("heading", name="1 Comment")).to_be_visible()

    tab_to(page, widget.get_by_label("Email", exact=True))
    keyboard.type("kay@example.com")
    tab_to(page, widget.get_by_label("Name", exact=True))
    keyboard.type("Kay")
    tab_to(page, widget.get_by_label("Comment", exact=True))
    keyboard.type("Typed without a mouse.")
    tab_to(page, widget.get_by_role("button", name="Post Comment"))
    keyboard.press("Enter")
    mine = widget.locator("li.c", has_text="Typed without a mouse.")
    expect(mine).to_contain_text(PENDING)

    item = widget.locator(f"li#comment-{parent}")
    reply = item.get_by_role("button", name="Reply")
    tab_to(page, reply, key="Shift+Tab")
    keyboard.press("Enter")
    form = item.locator("form")
    expect(form.get_by_label("Comment", exact=True)).to_be_focused()
    keyboard.type("A local stone-ground one.")
    for label, text in (("Email", "kay@example.com"), ("Name", "Kay")):
        field = form.get_by_label(label, exact=True)
        if field.is_visible() and not field.input_value():
            tab_to(page, field, key="Shift+Tab")
            keyboard.type(text)
    tab_to(page, form.get_by_role("button", name="Post Comment"))
    keyboard.press("Enter")
    expect(item.locator("li.c", has_text="A local stone-ground one.")).to_contain_text(PENDING)

    like = item.get_by_role("button", name="Like").first
    tab_to(page, like, key="Shift+Tab")
    keyboard.press("Space")
    expect(like).to_have_attribute("aria-pressed", "true")

    sign_in = widget.get_by_role("button", name="Log in with Dev")
    tab_to(page, sign_in, key="Shift+Tab")
    with page.expect_popup() as opened:
        keyboard.press("Enter")
    popup = opened.value
    name = popup.get_by_label("Name", exact=True)
    tab_to(popup, name)  # there already, if the page's autofocus took
    popup.keyboard.type("Dee")
    tab_to(popup, popup.get_by_role("button", name="Sign in"))
    popup.keyboard.press("Enter")
    wait_closed(popup)
    expect_signed_in(widget, "Dev", "Dee")


def test_a_moderator_signs_in_and_approves_by_keyboard(live: Live, desk: Desk, page: Page) -> None:
    url = live.host_page("/keyboard-dashboard", desk.site_id)
    comment_id = pending_comment(live, desk.site_id, url, "Approve me by keyboard.", name="Ada")
    page.goto(f"{live.url}/dashboard/")
    keyboard = page.keyboard
    tab_to(page, page.get_by_label("Email", exact=True))
    keyboard.type(desk.email)
    tab_to(page, page.get_by_label("Password", exact=True))
    keyboard.type(PASSWORD)
    tab_to(page, page.get_by_role("button", name="Sign in"))
    keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Comments")).to_be_visible()
    page.wait_for_load_state()

    approve = row(page, comment_id).get_by_role("button", name="Approve", exact=True)
    tab_to(page, approve)
    keyboard.press("Enter")
    expect(row(page, comment_id)).to_contain_text("Approved.")
    assert status_of(live, comment_id) == "approved"


def test_a_reader_reports_a_comment_by_keyboard(live: Live, site_id: str, page: Page) -> None:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import CommentReport
    from tests.browser.axe import expect_accessible

    url = live.host_page("/keyboard-report", site_id)
    target = live.comment(site_id, url, "Buy cheap watches here.", name="Vendor")
    scripts: list[str] = []
    page.on("request", lambda r: r.resource_type == "script" and scripts.append(r.url))
    page.goto(url)
    widget = page.locator("#afterword")
    keyboard = page.keyboard
    item = widget.locator(f"li#comment-{target}")
    report = item.get_by_role("button", name="Report", exact=True)
    expect(report).to_be_visible()
    assert not any("/embed/tools.js" in s for s in scripts)  # nothing more before it is asked for

    tab_to(page, report)
    keyboard.press("Enter")
    spam = item.get_by_role("radio", name="Spam")
    expect(spam).to_be_focused()
    expect(report).to_have_attribute("aria-expanded", "true")
    expect_accessible(page, "#afterword")
    keyboard.press("Escape")  # changed their mind: back where they were
    expect(item.get_by_role("radio", name="Spam")).to_have_count(0)
    expect(report).to_be_focused()

    keyboard.press("Enter")
    expect(spam).to_be_focused()
    keyboard.press("Space")
    keyboard.press("ArrowDown")  # the radio group moves the choice with the arrows
    expect(item.get_by_role("radio", name="Abuse")).to_be_checked()
    tab_to(page, item.get_by_label("Note (optional)"))
    keyboard.type("Advertising, again.")
    tab_to(page, item.get_by_role("button", name="Send report"))
    keyboard.press("Enter")
    thanks = item.get_by_text("Thanks, a moderator will look at it.")
    expect(thanks).to_be_focused()
    expect(report).to_be_disabled()
    assert sum("/embed/tools.js" in s for s in scripts) == 1

    with live.app.app_context():
        stored = db.session.scalars(
            select(CommentReport).where(CommentReport.comment_id == target)
        ).one()
        assert (stored.reason, stored.note) == ("abuse", "Advertising, again.")
