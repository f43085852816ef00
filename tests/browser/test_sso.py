"""Single sign-on in a browser: a blog page whose script tag carries `data-sso`, signed by the
blog's server with the site's secret; the widget signs its reader in, keeps them, lets them go."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from app.extensions import db
from app.models import Site
from app.services import sso
from tests.browser.axe import expect_accessible
from tests.browser.helpers import SIGNED_IN
from tests.browser.live import Live
from tests.browser.test_dashboard import Desk, sign_in
from tests.browser.test_dashboard import desk as desk  # the fixture, by its name
from tests.factories import make_moderator

pytestmark = pytest.mark.browser


def signed(secret: str, reader_id: str, name: str) -> str:
    """What the blog's server writes into data-sso (docs/sso.md)."""
    user = {"id": reader_id, "name": name, "exp": int(time.time()) + 3600}
    payload = base64.urlsafe_b64encode(json.dumps(user).encode()).rstrip(b"=").decode()
    return f"{payload}.{hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()}"


@pytest.fixture
def blog(live: Live) -> tuple[str, str]:
    """A site with single sign-on on; its id and secret."""
    site_id = live.create_site()
    with live.app.app_context():
        secret = sso.turn_on(make_moderator(db.session.get_one(Site, site_id)), site_id).sso_secret
    assert secret
    return site_id, secret


def sso_page(live: Live, site_id: str, path: str, data_sso: str | None) -> str:
    return live.host_page(path, site_id, attrs=f'data-sso="{data_sso}"' if data_sso else "")


def exchanges(live: Live, site_id: str) -> int:
    return live.requests.count(("POST", f"/api/v1/sites/{site_id}/sso"))


def expect_signed_in_by_the_blog(widget: Locator, name: str) -> None:
    expect(widget.get_by_text(SIGNED_IN.format("Test blog"))).to_be_visible()
    expect(widget.locator("form .who").first).to_have_text(name)
    for field in ("Email", "Name", "Website"):
        expect(widget.get_by_label(field, exact=True)).to_be_hidden()
    expect(widget.get_by_role("button", name="Log Out")).to_be_visible()


def test_the_blogs_reader_comments_stays_signed_in_and_logs_out(
    live: Live, page: Page, blog: tuple[str, str]
) -> None:
    site_id, secret = blog
    url = sso_page(live, site_id, "/sso/post", signed(secret, "member-7", "Noor Haddad"))
    widget = page.locator("#afterword")
    before = len(live.requests)
    page.goto(url)
    expect_signed_in_by_the_blog(widget, "Noor Haddad")
    # Before comments show: the script, the exchange and the thread (with their preflights).
    first = [r for r in live.requests[before:] if r[0] != "OPTIONS"]
    assert [m for m, _ in first][:3] == ["GET", "POST", "GET"], first
    assert first[1][1].endswith("/sso") and "/thread" in first[2][1]

    widget.get_by_label("Comment", exact=True).fill("Signed in by the blog itself.")
    widget.get_by_role("button", name="Post Comment").click()
    posted = widget.locator("li.c").filter(has_text="Signed in by the blog itself.")
    expect(posted.locator(".who")).to_have_text("Noor Haddad")
    expect(posted.get_by_text("Your comment is awaiting moderation.")).to_be_visible()

    # The next page view needs no exchange: the token is kept for this reader.
    page.reload()
    expect_signed_in_by_the_blog(widget, "Noor Haddad")
    expect(posted.get_by_text("Your comment is awaiting moderation.")).to_be_visible()
    assert exchanges(live, site_id) == 1

    widget.get_by_role("button", name="Log Out").click()
    expect(widget.get_by_label("Email", exact=True)).to_be_visible()
    expect(widget.get_by_text("You are commenting using")).to_have_count(0)
    expect(widget.get_by_text("Signed in by the blog itself.")).to_have_count(0)
    page.wait_for_timeout(500)  # nothing signs the reader in again behind their back
    expect(widget.get_by_text("You are commenting using")).to_have_count(0)
    assert exchanges(live, site_id) == 1
    assert page.evaluate("Object.keys(localStorage).filter((k) => /:(auth|sso)/.test(k))") == []

    # The blog still says who its reader is: the next page view signs them in again.
    page.reload()
    expect_signed_in_by_the_blog(widget, "Noor Haddad")
    assert exchanges(live, site_id) == 2


def test_another_reader_or_none_on_the_blog_changes_who_comments(
    live: Live, page: Page, blog: tuple[str, str]
) -> None:
    site_id, secret = blog
    widget = page.locator("#afterword")
    page.goto(sso_page(live, site_id, "/sso/a", signed(secret, "1", "Ada")))
    expect_signed_in_by_the_blog(widget, "Ada")
    # A name is text wherever it shows, whatever the blog let its members type.
    grace = 'Grace <img src=x onerror="document.title=1">'
    page.goto(sso_page(live, site_id, "/sso/b", signed(secret, "2", grace)))
    expect_signed_in_by_the_blog(widget, grace)
    expect(widget.locator("form .who img")).to_have_count(0)
    # The blog signed its reader out: its pages carry no data-sso, and the comments follow.
    page.goto(sso_page(live, site_id, "/sso/c", None))
    expect(widget.get_by_label("Email", exact=True)).to_be_visible()
    expect(widget.get_by_text("You are commenting using")).to_have_count(0)


def test_a_refused_signature_leaves_a_guest_and_tells_the_console(
    live: Live, page: Page, blog: tuple[str, str]
) -> None:
    site_id, _ = blog
    said: list[str] = []
    page.on("console", lambda m: said.append(m.text))
    page.goto(sso_page(live, site_id, "/sso/forged", signed("0" * 64, "1", "Mallory")))
    widget = page.locator("#afterword")
    expect(widget.get_by_label("Email", exact=True)).to_be_visible()
    expect(widget.get_by_text("You are commenting using")).to_have_count(0)
    # For the blog's owner, who opens the console when their readers come in as guests.
    assert any("sso_refused" in text and "signature does not match" in text for text in said)


def test_the_owner_turns_it_on_copies_the_secret_and_turns_it_off(
    live: Live, desk: Desk, page: Page, context: BrowserContext
) -> None:
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
    sign_in(page, live, desk.email)
    page.goto(f"{live.url}/dashboard/sites/{desk.site_id}")
    section = page.locator("#sso")
    expect(section.get_by_role("heading", name="Single sign-on")).to_be_visible()
    expect_accessible(page)
    section.get_by_role("button", name="Turn on single sign-on").click()
    secret = section.locator("#sso-secret")
    expect(secret).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    expect_accessible(page)
    section.get_by_role("button", name="Copy secret").click()
    expect(section.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret.text_content()

    first = secret.text_content()
    section.get_by_role("button", name="Regenerate secret").click()
    expect(secret).not_to_have_text(first or "")
    section.get_by_role("button", name="Turn off").click()
    expect(section.get_by_role("button", name="Turn on single sign-on")).to_be_visible()
    expect(section.locator("#sso-secret")).to_have_count(0)
