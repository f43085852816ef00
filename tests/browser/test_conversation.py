"""Taking part in a conversation: a reply form that knows whom it answers, links to single
comments, and pages that stopped taking comments."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select, update

from app.extensions import db
from app.models import OutboxMessage, Thread
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


def set_visibility(page: Page, state: str) -> None:
    """What the browser tells a page when its tab goes to the background and back."""
    page.evaluate(
        """(state) => {
            const visibility = { value: state, configurable: true };
            Object.defineProperty(document, "visibilityState", visibility);
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        state,
    )


def test_comments_approved_meanwhile_appear_without_a_reload(
    live: Live, site_id: str, page: Page
) -> None:
    url = live.host_page("/live", site_id)
    first = live.comment(site_id, url, "Here before the reader came.", name="Ada")
    requests: list[str] = []
    page.on("request", lambda r: "/thread?" in r.url and requests.append(r.url))
    page.clock.install()
    page.goto(url)
    widget = page.locator("#afterword")
    expect(widget.get_by_role("heading", name="1 Comment")).to_be_visible()
    box = widget.get_by_label("Comment", exact=True)
    box.fill("Half a thought")

    reply = live.comment(site_id, url, "An answer, approved later.", parent=first, name="Baker")
    live.comment(site_id, url, "Still waiting.", approve=False, name="Cleo")
    page.clock.run_for("00:21")
    expect(widget.locator(f"li#comment-{first} li#comment-{reply}")).to_contain_text(
        "An answer, approved later."
    )
    expect(widget.get_by_role("heading", name="2 Comments")).to_be_visible()
    expect(widget.locator("[aria-live]")).to_have_text("1 new comment")
    expect(widget.get_by_text("Still waiting.")).to_have_count(0)
    expect(box).to_have_value("Half a thought")
    expect(box).to_be_focused()

    # A tab in the background asks nothing until it is looked at again.
    set_visibility(page, "hidden")
    asked = len(requests)
    page.clock.run_for("02:00")
    assert len(requests) == asked
    set_visibility(page, "visible")
    page.wait_for_timeout(500)
    assert len(requests) == asked + 1


def test_a_readers_own_comment_loses_its_waiting_note_when_approved(
    live: Live, site_id: str, page: Page
) -> None:
    url = live.host_page("/live-own", site_id)
    page.clock.install()
    page.goto(url)
    widget = page.locator("#afterword")
    widget.get_by_label("Email", exact=True).fill("grace@example.com")
    widget.get_by_label("Name", exact=True).fill("Grace")
    widget.get_by_label("Comment", exact=True).fill("Mine, waiting.")
    widget.get_by_role("button", name="Post Comment").click()
    mine = widget.locator("li.c").first
    expect(mine).to_contain_text("Your comment is awaiting moderation.")

    live.approve(int(mine.get_attribute("id").removeprefix("comment-")))
    page.clock.run_for("00:21")
    expect(mine).not_to_contain_text("Your comment is awaiting moderation.")
    expect(widget.get_by_role("heading", name="1 Comment")).to_be_visible()


def test_a_lazy_widget_fetches_its_thread_only_when_the_reader_nears_it(
    live: Live, site_id: str, page: Page
) -> None:
    url = live.host_page(
        "/lazy", site_id, attrs='data-loading="lazy"', head="<style>article{height:4000px}</style>"
    )
    live.comment(site_id, url, "Far down the page.", name="Ada")
    requests: list[str] = []
    page.on("request", lambda r: "/thread?" in r.url and requests.append(r.url))
    page.goto(url)
    page.wait_for_timeout(700)
    assert requests == []
    page.mouse.wheel(0, 3600)
    expect(page.locator("#afterword").get_by_text("Far down the page.")).to_be_visible()
    assert len(requests) == 1


def test_a_guest_asks_for_mail_about_replies_and_is_asked_to_confirm_first(
    live: Live, site_id: str, page: Page
) -> None:
    url = live.host_page("/reply-mail", site_id)
    page.goto(url)
    widget = page.locator("#afterword")
    box = widget.get_by_label("Notify me of replies to my comment.")
    expect(box).not_to_be_checked()
    widget.get_by_label("Email", exact=True).fill("rhea@example.com")
    widget.get_by_label("Name", exact=True).fill("Rhea")
    widget.get_by_label("Comment", exact=True).fill("Tell me when someone answers.")
    box.check()
    widget.get_by_role("button", name="Post Comment").click()
    expect(widget.locator("li.c")).to_contain_text("Tell me when someone answers.")
    with live.app.app_context():
        mails = db.session.scalars(
            select(OutboxMessage).where(OutboxMessage.to == "rhea@example.com")
        ).all()
    assert len(mails) == 1  # the confirmation, before anything else is sent to that address
    assert "confirm" in (mails[0].body_text or "").lower()


def test_a_report_that_fails_keeps_the_readers_choice_and_note(
    live: Live, site_id: str, page: Page
) -> None:
    from app.domain.states import CommentStatus
    from app.models import Comment

    url = live.host_page("/report-fails", site_id)
    target = live.comment(site_id, url, "Win a prize, click here.", name="Bot")
    page.goto(url)
    item = page.locator(f"#afterword li#comment-{target}")
    item.get_by_role("button", name="Report", exact=True).click()
    item.get_by_role("radio", name="Spam").check()
    item.get_by_label("Note (optional)").fill("Same as yesterday.")
    with live.app.app_context():  # a moderator takes it down meanwhile
        db.session.execute(
            update(Comment).where(Comment.id == target).values(status=CommentStatus.SPAM)
        )
        db.session.commit()
    item.get_by_role("button", name="Send report").click()
    expect(item.get_by_role("alert")).to_have_text("There is no such comment.")
    expect(item.get_by_role("radio", name="Spam")).to_be_checked()
    expect(item.get_by_label("Note (optional)")).to_have_value("Same as yesterday.")
    expect(item.get_by_role("button", name="Send report")).to_be_enabled()


def test_a_pinned_comment_comes_first_marked_pinned(live: Live, site_id: str, page: Page) -> None:
    from app.services import moderation
    from tests.factories import make_moderator

    url = live.host_page("/pinned", site_id)
    live.comment(site_id, url, "An early question.", name="Ada")
    answer = live.comment(site_id, url, "The answer everyone needs.", name="Lin")
    with live.app.app_context():
        moderation.pin(make_moderator(), answer, True)
    page.goto(url)
    first = page.locator("#afterword ol.l > li.c").first
    expect(first).to_contain_text("The answer everyone needs.")
    expect(first.locator(".bd")).to_have_text("Pinned")
