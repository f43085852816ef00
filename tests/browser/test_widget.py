"""The widget as readers use it: reading, posting, replying, editing, on a host blog."""

from __future__ import annotations

import re
import zlib

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.browser.live import Live

pytestmark = pytest.mark.browser

PENDING = "Your comment is awaiting moderation."


def fill_guest(scope, *, email: str, name: str, body: str) -> None:
    scope.get_by_label("Email", exact=True).fill(email)
    scope.get_by_label("Name", exact=True).fill(name)
    scope.get_by_label("Comment", exact=True).fill(body)


def test_thread_shows_approved_comments_with_replies_nested(
    live: Live, site_id: str, page: Page
) -> None:
    url = live.host_page("/renders", site_id)
    parent = live.comment(site_id, url, "The crust was **perfect**.", name="Ada")
    reply = live.comment(site_id, url, "Thanks, we bake it hot.", parent=parent, name="Baker")
    live.comment(site_id, url, "Still waiting for a moderator.", approve=False)

    page.goto(url)
    widget = page.locator("#afterword")
    expect(widget.get_by_role("heading", name="2 Comments")).to_be_visible()
    parent_item = widget.locator(f"li#comment-{parent}")
    expect(parent_item.locator("strong")).to_have_text("perfect")
    expect(parent_item.locator(f"li#comment-{reply}")).to_contain_text("Thanks, we bake it hot.")
    expect(parent_item.locator("time").first).to_have_attribute(
        "datetime", re.compile(r"^\d{4}-\d\d-\d\dT")
    )
    expect(widget.get_by_text("Still waiting for a moderator.")).to_have_count(0)
    expect(widget.get_by_role("button", name="Reply")).to_have_count(2)
    expect(widget.get_by_role("button", name="Edit")).to_have_count(0)


def test_guest_comment_is_pending_for_its_author_until_approved(
    live: Live, site_id: str, browser: Browser, page: Page
) -> None:
    url = live.host_page("/guest-post", site_id)
    page.goto(url)
    widget = page.locator("#afterword")
    expect(widget.get_by_role("heading", name="Leave a Reply")).to_be_visible()
    expect(
        widget.get_by_text("Fill in your details below or click an icon to log in:")
    ).to_be_visible()
    expect(widget.get_by_label("Notify me of new comments via email.")).not_to_be_checked()
    fill_guest(widget, email="grace@example.com", name="Grace", body="Does rye need a *starter*?")
    widget.get_by_label("Website", exact=True).fill("https://grace.example")
    widget.get_by_role("button", name="Post Comment").click()

    mine = widget.locator("li.c", has_text="Does rye need a starter?")
    expect(mine).to_contain_text(PENDING)
    expect(mine).to_be_focused()
    expect(widget.locator("[aria-live=polite]")).to_have_text("Comment posted")
    expect(widget.get_by_label("Comment", exact=True)).to_have_value("")
    expect(mine.get_by_role("link", name="Grace")).to_have_attribute("rel", "nofollow ugc")
    comment_id = int(mine.get_attribute("id").removeprefix("comment-"))

    page.reload()
    expect(widget.locator(f"li#comment-{comment_id}")).to_contain_text(PENDING)

    stranger = browser.new_context()
    try:
        other = stranger.new_page()
        other.goto(url)
        expect(other.get_by_role("heading", name="0 Comments")).to_be_visible()
        expect(other.get_by_text("Does rye need a starter?")).to_have_count(0)
    finally:
        stranger.close()

    live.approve(comment_id)
    everyone = browser.new_context()
    try:
        fresh = everyone.new_page()
        fresh.goto(url)
        item = fresh.locator(f"#afterword li#comment-{comment_id}")
        expect(item).to_contain_text("Does rye need a starter?")
        expect(item).not_to_contain_text(PENDING)
        expect(fresh.get_by_role("heading", name="1 Comment")).to_be_visible()
    finally:
        everyone.close()


def test_reply_form_opens_under_its_comment_and_reply_lands_inside_it(
    live: Live, site_id: str, page: Page
) -> None:
    url = live.host_page("/reply", site_id)
    parent = live.comment(site_id, url, "Which flour do you use?", name="Lin")
    page.goto(url)
    item = page.locator(f"#afterword li#comment-{parent}")
    reply_button = item.get_by_role("button", name="Reply")
    reply_button.click()
    expect(reply_button).to_have_attribute("aria-expanded", "true")
    form = item.locator("form")
    expect(form.get_by_label("Comment", exact=True)).to_be_focused()
    fill_guest(form, email="mo@example.com", name="Mo", body="A local stone-ground one.")
    form.get_by_role("button", name="Post Comment").click()

    expect(item.locator("li.c")).to_contain_text("A local stone-ground one.")
    expect(item.locator("form")).to_have_count(0)
    page.reload()
    expect(page.locator(f"#afterword li#comment-{parent} li.c")).to_contain_text(PENDING)


def test_preview_shows_the_servers_rendering_and_keeps_the_text(
    live: Live, site_id: str, page: Page
) -> None:
    url = live.host_page("/preview", site_id)
    page.goto(url)
    widget = page.locator("#afterword")
    fill_guest(widget, email="ines@example.com", name="Ines", body="So *relaxing* ~~not~~")
    box = widget.get_by_label("Comment", exact=True)
    widget.get_by_role("button", name="Preview").click()

    back = widget.get_by_role("button", name="Write")
    expect(back).to_be_visible()
    expect(box).to_be_hidden()
    shown = widget.locator("form em", has_text="relaxing")
    expect(shown).to_be_visible()
    expect(widget.locator("form s", has_text="not")).to_be_visible()
    back.click()
    expect(box).to_be_visible()
    expect(box).to_have_value("So *relaxing* ~~not~~")
    expect(box).to_be_focused()
    expect(widget.locator("li.c")).to_have_count(0)  # a preview stores nothing

    widget.get_by_role("button", name="Preview").click()
    widget.get_by_role("button", name="Post Comment").click()
    expect(widget.locator("li.c em", has_text="relaxing")).to_be_visible()
    expect(widget.get_by_role("button", name="Preview")).to_be_visible()
    expect(box).to_be_visible()
    expect(box).to_have_value("")


def test_a_guest_answers_their_own_waiting_comment(live: Live, site_id: str, page: Page) -> None:
    url = live.host_page("/own-pending", site_id)
    page.goto(url)
    widget = page.locator("#afterword")
    fill_guest(widget, email="ines@example.com", name="Ines", body="Is the class on Monday?")
    widget.get_by_role("button", name="Post Comment").click()
    mine = widget.locator("li.c", has_text="Is the class on Monday?")
    expect(mine).to_contain_text(PENDING)

    mine.get_by_role("button", name="Reply").first.click()
    form = mine.locator("form")
    form.get_by_label("Comment", exact=True).fill("Or on Tuesday?")
    expect(form.get_by_label("Email", exact=True)).to_be_hidden()  # known from her comment
    form.get_by_role("button", name="Post Comment").click()

    answer = mine.locator("li.c", has_text="Or on Tuesday?")
    expect(answer).to_contain_text(PENDING)
    expect(widget.get_by_text("not on this page")).to_have_count(0)
    page.reload()
    expect(widget.locator("li.c li.c", has_text="Or on Tuesday?")).to_contain_text(PENDING)


def test_replies_deeper_than_four_levels_continue_at_the_fourth(
    live: Live, site_id: str, page: Page
) -> None:
    url = live.host_page("/deep", site_id)
    ids = [live.comment(site_id, url, "Level 1")]
    for level in range(2, 7):
        ids.append(live.comment(site_id, url, f"Level {level}", parent=ids[-1]))
    page.goto(url)
    widget = page.locator("#afterword")
    expect(widget.locator("li.c")).to_have_count(6)
    depths = [widget.locator(f"li#comment-{i}").get_attribute("data-d") for i in ids]
    assert depths == ["1", "2", "3", "4", "4", "4"]
    nested = widget.locator("li.c li.c li.c li.c li.c")
    expect(nested).to_have_count(0)


def test_error_is_shown_next_to_the_form_and_nothing_typed_is_lost(
    live: Live, site_id: str, page: Page
) -> None:
    url = live.host_page("/errors", site_id)
    page.goto(url)
    widget = page.locator("#afterword")
    widget.get_by_label("Email", exact=True).fill("ivy@example.com")
    widget.get_by_label("Comment", exact=True).fill("I forgot my name.")
    widget.get_by_role("button", name="Post Comment").click()

    expect(widget.get_by_role("alert").filter(has_text="name")).to_be_visible()
    name = widget.get_by_label("Name", exact=True)
    expect(name).to_be_focused()
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(widget.get_by_label("Comment", exact=True)).to_have_value("I forgot my name.")

    page.reload()  # the draft and the details survive a reload
    expect(widget.get_by_label("Comment", exact=True)).to_have_value("I forgot my name.")
    expect(widget.get_by_label("Email", exact=True)).to_have_value("ivy@example.com")


def test_too_long_comment_is_refused_with_a_message_and_kept(
    live: Live, site_id: str, page: Page
) -> None:
    url = live.host_page("/too-long", site_id)
    page.goto(url)
    widget = page.locator("#afterword")
    body = "crumb " * 2000  # 12,000 characters
    fill_guest(widget, email="long@example.com", name="Long", body=body)
    widget.get_by_role("button", name="Post Comment").click()
    expect(widget.get_by_role("alert").filter(has_text="10,000")).to_be_visible()
    expect(widget.get_by_label("Comment", exact=True)).to_have_value(body)


def test_keyboard_alone_can_post_a_comment(live: Live, site_id: str, page: Page) -> None:
    url = live.host_page("/keyboard", site_id)
    page.goto(url)
    widget = page.locator("#afterword")
    widget.get_by_label("Email", exact=True).focus()
    page.keyboard.type("kay@example.com")
    page.keyboard.press("Tab")
    page.keyboard.type("Kay")
    page.keyboard.press("Tab")
    expect(widget.get_by_label("Website", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.type("Typed without a mouse.")
    page.keyboard.press("Tab")
    expect(widget.get_by_role("button", name="Post Comment")).to_be_focused()
    page.keyboard.press("Enter")
    expect(widget.locator("li.c", has_text="Typed without a mouse.")).to_be_focused()


def test_author_can_edit_then_delete_their_comment(live: Live, site_id: str, page: Page) -> None:
    url = live.host_page("/edit", site_id)
    page.goto(url)
    widget = page.locator("#afterword")
    fill_guest(widget, email="eve@example.com", name="Eve", body="Teh best loaf.")
    widget.get_by_role("button", name="Post Comment").click()
    mine = widget.locator("li.c").first
    expect(mine).to_contain_text("Teh best loaf.")

    mine.get_by_role("button", name="Edit").click()
    mine.get_by_label("Comment", exact=True).fill("The best loaf.")
    mine.get_by_role("button", name="Save").click()
    expect(mine).to_contain_text("The best loaf.")
    expect(mine).to_contain_text("edited")

    page.once("dialog", lambda dialog: dialog.accept())
    mine.get_by_role("button", name="Delete").click()
    expect(widget.locator("li.c")).to_have_count(0)
    page.reload()
    expect(widget.get_by_role("heading", name="Leave a Reply")).to_be_visible()
    expect(widget.get_by_text("The best loaf.")).to_have_count(0)


def test_sort_choice_and_load_more(live: Live, site_id: str, page: Page) -> None:
    url = live.host_page("/many", site_id)
    for n in range(1, 53):
        live.comment(site_id, url, f"Comment number {n}.")
    page.goto(url)
    widget = page.locator("#afterword")
    items = widget.locator("ol.l > li.c")
    expect(items).to_have_count(50)
    more = widget.get_by_role("button", name="Load more")
    # As a reader does: scroll to it first. The comments scrolled past are laid out only
    # then (content-visibility), and move the button once, which a click must not race.
    more.scroll_into_view_if_needed()
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    more.click()
    expect(items).to_have_count(52)
    expect(items.nth(50)).to_be_focused()
    expect(more).to_be_hidden()

    widget.get_by_label("Sort by").select_option("newest")
    expect(items.first).to_contain_text("Comment number 52.")


def test_page_on_an_origin_the_site_does_not_allow_shows_no_comments(
    live: Live, page: Page
) -> None:
    foreign = live.create_site(origins=["https://elsewhere.example"])
    url = live.host_page("/foreign", foreign)
    warnings: list[str] = []
    page.on("console", lambda m: m.type == "warning" and warnings.append(m.text))
    page.goto(url)
    widget = page.locator("#afterword")
    expect(widget.get_by_text("Comments are not available on this page.")).to_be_visible()
    expect(widget.locator("form")).to_have_count(0)
    expect(widget.get_by_role("button", name="Post Comment")).to_have_count(0)
    # The owner, opening the console, learns what to do.
    hint = f"flask site update {foreign} --add-origin {live.host.origin}"
    assert any(hint in w for w in warnings), warnings


def test_unknown_site_shows_no_comments(live: Live, page: Page) -> None:
    page.goto(live.host_page("/unknown-site", "no-such-site"))
    widget = page.locator("#afterword")
    expect(widget.get_by_text("Comments are not available on this page.")).to_be_visible()
    expect(widget.locator("form")).to_have_count(0)


def test_widget_speaks_the_page_language(live: Live, site_id: str, page: Page) -> None:
    url = live.host_page("/de", site_id, lang="de")
    live.comment(site_id, url, "Sehr lecker.")
    page.goto(url)
    widget = page.locator("#afterword")
    expect(widget.get_by_role("heading", name="1 Kommentar")).to_be_visible()
    expect(widget.get_by_role("heading", name="Schreibe einen Kommentar")).to_be_visible()
    expect(widget.get_by_role("button", name="Antworten")).to_be_visible()
    expect(widget.get_by_label("E-Mail", exact=True)).to_be_visible()


def test_each_provider_has_a_login_button(live: Live, site_id: str, page: Page) -> None:
    live.app.config["DEV_LOGIN"] = True
    try:
        page.goto(live.host_page("/providers", site_id))
        button = page.locator("#afterword").get_by_role("button", name="Log in with Dev")
        expect(button).to_be_visible()
        button.focus()
        expect(button).to_be_focused()
    finally:
        live.app.config["DEV_LOGIN"] = False


def test_retry_after_a_lost_answer_does_not_post_twice(
    live: Live, site_id: str, page: Page
) -> None:
    url = live.host_page("/lost-answer", site_id)
    keys: list[str] = []

    def lose_first_answer(route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        keys.append(route.request.post_data_json["idempotency_key"])
        if len(keys) == 1:
            route.fetch()  # the comment is stored, but the reader never hears back
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(f"{live.url}/api/v1/sites/*/comments", lose_first_answer)
    page.goto(url)
    widget = page.locator("#afterword")
    fill_guest(widget, email="rae@example.com", name="Rae", body="Posted once, I hope.")
    post = widget.get_by_role("button", name="Post Comment")
    post.click()
    expect(widget.get_by_role("alert").filter(has_text="could not be reached")).to_be_visible()
    expect(widget.get_by_label("Comment", exact=True)).to_have_value("Posted once, I hope.")
    post.click()
    expect(widget.locator("li.c")).to_contain_text(PENDING)
    assert len(keys) == 2 and keys[0] == keys[1]
    page.reload()
    expect(widget.locator("li.c")).to_have_count(1)


def test_rate_limit_shows_when_to_try_again(live: Live, site_id: str, page: Page) -> None:
    url = live.host_page("/rate-limited", site_id)
    page.route(
        f"{live.url}/api/v1/sites/*/comments",
        lambda route: route.fulfill(
            status=429,
            headers={
                "Access-Control-Allow-Origin": live.host.origin,
                "Access-Control-Expose-Headers": "Retry-After",
                "Retry-After": "42",
            },
            json={"error": {"code": "rate_limited", "message": "Slow down."}},
        ),
    )
    page.goto(url)
    widget = page.locator("#afterword")
    fill_guest(widget, email="sam@example.com", name="Sam", body="Again and again.")
    widget.get_by_role("button", name="Post Comment").click()
    expect(widget.get_by_role("alert").filter(has_text="42 seconds")).to_be_visible()
    expect(widget.get_by_label("Comment", exact=True)).to_have_value("Again and again.")


def test_heading_counts_the_readers_own_waiting_comments(
    live: Live, site_id: str, browser: Browser, page: Page
) -> None:
    url = live.host_page("/own-count", site_id)
    live.comment(site_id, url, "Approved already.", name="Ada")
    page.goto(url)
    widget = page.locator("#afterword")
    expect(widget.get_by_role("heading", name="1 Comment")).to_be_visible()
    fill_guest(widget, email="una@example.com", name="Una", body="Waiting for a moderator.")
    widget.get_by_role("button", name="Post Comment").click()
    expect(widget.locator("li.c", has_text="Waiting for a moderator.")).to_contain_text(PENDING)
    expect(widget.get_by_role("heading", name="2 Comments")).to_be_visible()
    page.reload()
    expect(widget.locator("li.c")).to_have_count(2)
    expect(widget.get_by_role("heading", name="2 Comments")).to_be_visible()

    stranger = browser.new_context()
    try:
        other = stranger.new_page()
        other.goto(url)
        expect(other.locator("#afterword li.c")).to_have_count(1)
        expect(other.get_by_role("heading", name="1 Comment")).to_be_visible()
    finally:
        stranger.close()

    page.once("dialog", lambda dialog: dialog.accept())
    widget.locator("li.c", has_text="Waiting").get_by_role("button", name="Delete").click()
    expect(widget.locator("li.c")).to_have_count(1)
    expect(widget.get_by_role("heading", name="1 Comment")).to_be_visible()


@pytest.mark.parametrize(
    ("title", "attrs", "sent"),
    [
        ("Rye, slowly · The Loaf", "", "Rye, slowly"),
        ("Rye, slowly | The Loaf", "", "Rye, slowly"),
        ("Rye, slowly \u2013 The Loaf", "", "Rye, slowly"),
        ("Rye, slowly — The Loaf", "", "Rye, slowly"),
        ("Rye - part 2 - The Loaf", "", "Rye - part 2"),
        ("Rye, slowly", "", "Rye, slowly"),
        ("Rye|Spelt", "", "Rye|Spelt"),
        ("· The Loaf", "", "· The Loaf"),
        ("Rye, slowly | The Loaf", 'data-title="Rye | a whole title"', "Rye | a whole title"),
    ],
)
def test_thread_title_leaves_out_the_sites_name(
    live: Live, site_id: str, page: Page, title: str, attrs: str, sent: str
) -> None:
    url = live.host_page(
        f"/title-{zlib.crc32((title + attrs).encode())}", site_id, title=title, attrs=attrs
    )
    page.goto(url)
    widget = page.locator("#afterword")
    fill_guest(widget, email="tia@example.com", name="Tia", body="Titled.")
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/comments")) as req:
        widget.get_by_role("button", name="Post Comment").click()
    assert req.value.post_data_json["title"] == sent
    expect(widget.locator("li.c")).to_contain_text(PENDING)
