"""Helpers that more than one browser test module uses: a sign-in through the widget's popup."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

SIGNED_IN = "You are commenting using your {} account."


def start_sign_in(page: Page, widget: Locator, label: str) -> Page:
    with page.expect_popup() as popup:
        widget.get_by_role("button", name=f"Log in with {label}").click()
    expect(widget.get_by_role("status")).to_have_text(f"Connecting to {label}…")
    expect(widget.get_by_role("button", name="Cancel")).to_be_visible()
    return popup.value


def wait_closed(popup: Page) -> None:
    opener = popup.opener()
    if not popup.is_closed():
        popup.wait_for_event("close")
    # A desktop browser gives the focus back to the page that opened the popup; headless
    # Chromium sometimes leaves no window focused, and every focus check after would fail.
    if opener is not None:
        opener.bring_to_front()


def expect_signed_in(widget: Locator, label: str, name: str) -> None:
    expect(widget.get_by_text(SIGNED_IN.format(label))).to_be_visible()
    expect(widget.locator("form .who").first).to_have_text(name)
    for field in ("Email", "Name", "Website"):
        expect(widget.get_by_label(field, exact=True)).to_be_hidden()
    expect(widget.get_by_role("button", name="Log Out")).to_be_visible()
    expect(widget.get_by_role("button", name="Change")).to_be_visible()


def comment_reload_and_log_out(page: Page, widget: Locator, label: str, name: str) -> None:
    """What a signed-in reader does next: a comment under that name, a reload that keeps
    them signed in, and `Log Out`, which a reload does not undo."""
    body = f"Posted as {name} through {label}."
    widget.get_by_label("Comment", exact=True).fill(body)
    widget.get_by_role("button", name="Post Comment").click()
    mine = widget.locator("li.c", has_text=body)
    expect(mine).to_contain_text(name)
    page.reload()
    expect_signed_in(widget, label, name)
    expect(widget.locator("li.c", has_text=body)).to_contain_text(name)  # theirs, still
    widget.get_by_role("button", name="Log Out").click()
    expect(widget.get_by_label("Email", exact=True)).to_be_visible()
    expect(widget.get_by_text(SIGNED_IN.format(label))).to_have_count(0)
    page.reload()
    expect(widget.get_by_label("Email", exact=True)).to_be_visible()
    expect(widget.get_by_text(SIGNED_IN.format(label))).to_have_count(0)
