"""The moderator dashboard in Chromium: signing in, the queue's buttons, keys and bulk acts.

Each test gets a site of its own with its own moderator, so the shared live database never
shows one test's comments in another test's queue.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from app.extensions import db
from app.models import Comment, Site
from app.services import authors, comments, moderators
from tests.browser.live import Live

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
PENDING = "Your comment is awaiting moderation."


@dataclass
class Desk:
    """A site and the one moderator who looks after it."""

    site_id: str
    email: str


@pytest.fixture
def desk(live: Live) -> Desk:
    site_id = live.create_site()
    email = f"mod-{uuid4().hex[:10]}@example.com"
    with live.app.app_context():
        moderators.create_moderator(email, PASSWORD, site_ids=[site_id])
    return Desk(site_id, email)


@pytest.fixture
def no_js(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1000, "height": 900}, locale="en-US"
    )
    context.set_default_timeout(5000)
    yield context
    context.close()


def pending_comment(
    live: Live, site_id: str, url: str, body: str, *, name: str, title: str = ""
) -> int:
    """A guest comment left pending, as under `ModerationMode.ALL`; returns its id."""
    with live.app.app_context():
        site = db.session.get(Site, site_id)
        author = authors.guest(name, f"{name.lower()}@example.com", None)
        draft = comments.CommentDraft(url=url, body=body, title=title)
        comment, _ = comments.post_comment(site, author, draft)
        return comment.id


def status_of(live: Live, comment_id: int) -> str:
    with live.app.app_context():
        return db.session.get(Comment, comment_id).status.value


def sign_in(page: Page, live: Live, email: str) -> None:
    """Through the real form, starting where a moderator starts: the dashboard's address."""
    page.goto(f"{live.url}/dashboard/")
    expect(page).to_have_url(re.compile(r"/dashboard/login\b"))
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Comments")).to_be_visible()
    page.wait_for_load_state()  # the deferred dashboard.js has run: keys and buttons are live


def row(page: Page, comment_id: int):
    return page.locator(f"#comment-{comment_id}")


def test_guest_comment_is_published_once_the_moderator_approves_it(
    live: Live, desk: Desk, browser: Browser, page: Page
) -> None:
    url = live.host_page("/dashboard-story", desk.site_id)
    page.goto(url)
    widget = page.locator("#afterword")
    widget.get_by_label("Email", exact=True).fill("grace@example.com")
    widget.get_by_label("Name", exact=True).fill("Grace")
    widget.get_by_label("Comment", exact=True).fill("How warm should the room be?")
    widget.get_by_role("button", name="Post Comment").click()
    mine = widget.locator("li.c", has_text="How warm should the room be?")
    expect(mine).to_contain_text(PENDING)
    comment_id = int(mine.get_attribute("id").removeprefix("comment-"))

    moderator = browser.new_context(locale="en-US")
    try:
        dash = moderator.new_page()
        sign_in(dash, live, desk.email)
        item = row(dash, comment_id)
        expect(item.locator(".thread")).to_have_text("A post about bread")
        expect(item.locator(".author")).to_contain_text("Grace")
        expect(item.locator(".body")).to_have_text("How warm should the room be?")
        for action in ("Approve", "Reject", "Spam"):
            expect(item.get_by_role("button", name=action, exact=True)).to_be_visible()
        item.get_by_role("button", name="Approve", exact=True).click()
        expect(item).to_have_class(re.compile(r"\bdone\b"))
    finally:
        moderator.close()
    assert status_of(live, comment_id) == "approved"

    reader = browser.new_context(locale="en-US")
    try:
        fresh = reader.new_page()
        fresh.goto(url)
        published = fresh.locator(f"#afterword li#comment-{comment_id}")
        expect(published).to_contain_text("How warm should the room be?")
        expect(published).not_to_contain_text(PENDING)
        expect(fresh.get_by_role("heading", name="1 Comment")).to_be_visible()
    finally:
        reader.close()


def test_a_row_button_acts_without_reloading_the_page(live: Live, desk: Desk, page: Page) -> None:
    url = live.host_page("/dashboard-no-reload", desk.site_id)
    oldest, middle, _ = (
        pending_comment(live, desk.site_id, url, body, name=name)
        for body, name in (("Too much salt?", "Ada"), ("Not enough.", "Bo"), ("Just right.", "Cy"))
    )
    sign_in(page, live, desk.email)
    badge = page.get_by_role("navigation", name="Dashboard").locator(".badge")
    expect(badge).to_have_text("3")

    page.evaluate("window.__marker = 1")  # a full page load would forget it
    row(page, middle).get_by_role("button", name="Approve", exact=True).click()
    expect(row(page, middle)).to_have_class(re.compile(r"\bdone\b"))
    expect(row(page, middle)).to_have_attribute("aria-label", "Comment approved")
    expect(badge).to_have_text("2")
    # Screen readers read the badge's label, not its text, so both must follow.
    expect(badge).to_have_attribute("aria-label", "2 pending")
    # Focus goes on down the list from the row acted on, not back to the top.
    expect(row(page, oldest)).to_be_focused()
    assert page.evaluate("window.__marker") == 1
    assert status_of(live, middle) == "approved"


def test_a_row_button_on_a_stale_page_says_to_reload(
    live: Live, desk: Desk, context: BrowserContext, page: Page
) -> None:
    url = live.host_page("/dashboard-stale", desk.site_id)
    comment_id = pending_comment(live, desk.site_id, url, "Still there?", name="Ada")
    sign_in(page, live, desk.email)
    context.clear_cookies()  # as when the session ends while the page stays open
    approve = row(page, comment_id).get_by_role("button", name="Approve", exact=True)
    # Dismissed at once: an open alert blocks the page, and with it the click's own wait.
    page.once("dialog", lambda dialog: dialog.dismiss())
    with page.expect_event("dialog") as alert:
        approve.click()
    assert alert.value.message == "That did not work: this page is out of date; reload it"

    expect(approve).to_be_enabled()
    expect(row(page, comment_id)).not_to_have_class(re.compile(r"\bdone\b"))
    assert status_of(live, comment_id) == "pending"


def test_keys_move_between_rows_and_act_on_the_current_one(
    live: Live, desk: Desk, page: Page
) -> None:
    url = live.host_page("/dashboard-keys", desk.site_id)
    oldest, middle, newest = (
        pending_comment(live, desk.site_id, url, f"Question {n}", name=name)
        for n, name in enumerate(("Ada", "Bo", "Cy"), 1)
    )
    sign_in(page, live, desk.email)
    keyboard = page.keyboard

    keyboard.press("j")  # newest first, so the first row is the last comment
    expect(row(page, newest)).to_be_focused()
    keyboard.press("j")
    expect(row(page, middle)).to_be_focused()
    keyboard.press("a")
    expect(row(page, middle)).to_have_class(re.compile(r"\bdone\b"))
    expect(row(page, oldest)).to_be_focused()  # the done row drops out of the j/k order
    assert [status_of(live, c) for c in (newest, middle, oldest)] == [
        "pending",
        "approved",
        "pending",
    ]
    keyboard.press("k")
    expect(row(page, newest)).to_be_focused()


def test_ticked_rows_are_rejected_together(live: Live, desk: Desk, page: Page) -> None:
    url = live.host_page("/dashboard-bulk", desk.site_id)
    kept = pending_comment(live, desk.site_id, url, "A fair question.", name="Ada")
    spam = [
        pending_comment(live, desk.site_id, url, "Buy cheap flour!", name="Bo"),
        pending_comment(live, desk.site_id, url, "Cheaper flour here!", name="Cy"),
    ]
    sign_in(page, live, desk.email)
    page.get_by_role("checkbox", name="Select comment by Bo").check()
    page.get_by_role("checkbox", name="Select comment by Cy").check()
    page.get_by_role("button", name="Reject selected").click()

    expect(page.get_by_role("status")).to_have_text("2 comment(s) rejected.")
    assert [status_of(live, c) for c in spam] == ["rejected", "rejected"]
    assert status_of(live, kept) == "pending"
    expect(row(page, kept)).to_be_visible()
    expect(row(page, spam[0])).to_have_count(0)


def test_without_javascript_the_plain_form_approves(
    live: Live, desk: Desk, no_js: BrowserContext
) -> None:
    url = live.host_page("/dashboard-no-js", desk.site_id)
    comment_id = pending_comment(live, desk.site_id, url, "Works without scripts?", name="Ada")
    page = no_js.new_page()
    sign_in(page, live, desk.email)
    with page.expect_navigation():
        row(page, comment_id).get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("1 comment(s) approved.")
    expect(row(page, comment_id)).to_have_count(0)
    assert status_of(live, comment_id) == "approved"


@pytest.mark.parametrize(
    ("host_name", "cookie_sent"),
    # 127.0.0.1 on another port is another origin but the same site, so the session cookie
    # goes along and only the CSRF token stops the forgery; `localhost` is another site, so
    # SameSite=Lax keeps the cookie back as well.
    [("127.0.0.1", True), ("localhost", False)],
    ids=["same-site", "cross-site"],
)
def test_a_forged_post_from_another_origin_changes_nothing(
    live: Live, desk: Desk, page: Page, host_name: str, cookie_sent: bool
) -> None:
    url = live.host_page(f"/dashboard-target-{host_name}", desk.site_id)
    comment_id = pending_comment(live, desk.site_id, url, "Please approve me.", name="Mallory")
    sign_in(page, live, desk.email)

    path = f"/dashboard-forged-{host_name}"
    live.host.pages[path] = f"""<!doctype html><html><body>
<form method="post" action="{live.url}/dashboard/comments/act?one={comment_id}">
<input type="hidden" name="action" value="approve"></form>
<script>document.forms[0].submit()</script></body></html>"""
    forged = live.host.origin.replace("127.0.0.1", host_name) + path
    with page.expect_response(lambda r: "/dashboard/comments/act" in r.url) as answer:
        page.goto(forged)
    response = answer.value
    assert response.request.method == "POST"
    assert response.status == 400
    cookie = response.request.all_headers().get("cookie", "")
    assert ("session=" in cookie) is cookie_sent
    assert status_of(live, comment_id) == "pending"

    page.goto(f"{live.url}/dashboard/")  # still signed in, and the comment still waits
    expect(row(page, comment_id)).to_be_visible()


def test_screenshot_of_the_queue(
    live: Live, desk: Desk, browser: Browser, screenshots: Path
) -> None:
    rye = live.host_page("/rye", desk.site_id, title="Rye, slowly")
    spelt = live.host_page("/spelt", desk.site_id, title="Spelt in a tin")
    # Ada has one approved comment already: her record shows next to her new one.
    live.approve(
        pending_comment(live, desk.site_id, rye, "Lovely crumb!", name="Ada", title="Rye, slowly")
    )
    pending_comment(
        live, desk.site_id, rye, "Does rye need a *starter*?", name="Ada", title="Rye, slowly"
    )
    pending_comment(
        live,
        desk.site_id,
        spelt,
        "Tried it with spelt: works, but shape it gently.",
        name="Jonas",
        title="Spelt in a tin",
    )
    pending_comment(
        live,
        desk.site_id,
        rye,
        "How long do you **proof** it in a cool room?",
        name="Mira",
        title="Rye, slowly",
    )
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    try:
        page = context.new_page()
        sign_in(page, live, desk.email)
        expect(page.locator(".row")).to_have_count(3)
        page.screenshot(path=str(screenshots / "dashboard.png"), full_page=True)
    finally:
        context.close()


def test_a_row_says_what_was_done_and_can_be_undone(live: Live, desk: Desk, page: Page) -> None:
    url = live.host_page("/dashboard-undo", desk.site_id)
    comment_id = pending_comment(live, desk.site_id, url, "Wrong button?", name="Ada")
    sign_in(page, live, desk.email)
    badge = page.get_by_role("navigation", name="Dashboard").locator(".badge")
    item = row(page, comment_id)

    item.get_by_role("button", name="Spam", exact=True).click()
    expect(item).to_have_class(re.compile(r"\bdone\b"))
    expect(item.get_by_role("status")).to_contain_text("Marked as spam.")
    expect(badge).to_have_text("0")
    assert status_of(live, comment_id) == "spam"

    item.get_by_role("button", name="Undo").click()
    expect(item).not_to_have_class(re.compile(r"\bdone\b"))
    expect(item.get_by_role("status")).to_have_count(0)
    expect(badge).to_have_text("1")
    assert status_of(live, comment_id) == "pending"
    # The row works again, as before the slip.
    item.get_by_role("button", name="Approve", exact=True).click()
    expect(item.get_by_role("status")).to_contain_text("Approved.")
    assert status_of(live, comment_id) == "approved"


def test_a_moderator_adds_a_site_and_finds_its_snippet(live: Live, desk: Desk, page: Page) -> None:
    sign_in(page, live, desk.email)
    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Sites").click()
    expect(page.get_by_role("heading", name="Sites", exact=True)).to_be_visible()
    name = f"Crumbs {uuid4().hex[:6]}"
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Allowed origins (one per line)").fill("https://crumbs.example")
    page.get_by_label("Signed-in readers with enough approved comments skip the queue").check()
    page.get_by_role("button", name="Add site").click()

    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text(f"{name} is added.")
    expect(page.locator("#snippet")).to_contain_text(f"{live.url}/embed.js")
    page.get_by_role("navigation", name="Dashboard").get_by_role("link", name="Sites").click()
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=f"Settings of {name}")).to_be_visible()
