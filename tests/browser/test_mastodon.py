"""Signing in with Mastodon from the widget: the reader names their server first."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import Identity
from app.services import moderators
from config import TestingConfig
from tests.browser.helpers import comment_reload_and_log_out, expect_signed_in, wait_closed
from tests.browser.live import Live, listening, serve, url_of
from tests.fakes.mastodon import FakeMastodon

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def fedi(live: Live) -> Iterator[tuple[Live, FakeMastodon]]:
    """A second service offering Mastodon, on `live`'s database, and a Mastodon server."""
    service = listening()
    url = url_of(service)
    app = create_app(
        TestingConfig,
        SQLALCHEMY_DATABASE_URI=live.app.config["SQLALCHEMY_DATABASE_URI"],
        PUBLIC_URL=url,
        MASTODON_LOGIN=True,
        MASTODON_ALLOW_LOOPBACK=True,
        DEV_LOGIN=True,
    )
    server = serve(service, app)
    with FakeMastodon() as mastodon:
        yield Live(app=app, url=url, host=live.host), mastodon
    server.shutdown()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_reader_names_their_server_and_signs_in(
    fedi: tuple[Live, FakeMastodon], site_id: str, page: Page
) -> None:
    live, mastodon = fedi
    url = live.host_page("/fediverse", site_id)
    page.goto(url)
    widget = page.locator("#afterword")
    button = widget.get_by_role("button", name="Log in with Mastodon")
    expect(button.locator("svg")).to_have_count(1)  # its mark, from the service
    button.click()
    server = widget.get_by_label("Your Mastodon server")
    expect(server).to_be_focused()

    server.fill("not a server name")
    widget.get_by_role("button", name="Continue").click()
    expect(
        widget.get_by_text("Enter your Mastodon server, such as mastodon.social.")
    ).to_be_visible()

    server.fill(mastodon.base_url)
    with page.expect_popup() as opened:
        server.press("Enter")
    popup = opened.value
    popup.get_by_role("button", name="Authorize").click()
    wait_closed(popup)
    expect_signed_in(widget, "Mastodon", "Ada Lovelace")
    page.reload()  # the server is remembered for next time
    expect_signed_in(widget, "Mastodon", "Ada Lovelace")


def test_two_servers_are_two_people_each_registered_with_once(
    fedi: tuple[Live, FakeMastodon], site_id: str, page: Page
) -> None:
    # The same account number on another server is someone else; the service registers
    # itself with each server it meets, and keeps what the first one gave it apart.
    live, first = fedi
    other_people = {"109348573495873945": {"username": "ada", "display_name": "Another Ada"}}
    with FakeMastodon(other_people) as second:
        page.goto(live.host_page("/fediverse-two", site_id))
        widget = page.locator("#afterword")
        for server, name in ((first, "Ada Lovelace"), (second, "Another Ada")):
            widget.get_by_role("button", name="Log in with Mastodon").click()
            box = widget.get_by_label("Your Mastodon server")
            box.fill(server.base_url)
            with page.expect_popup() as opened:
                box.press("Enter")
            opened.value.get_by_role("button", name="Authorize").click()
            wait_closed(opened.value)
            expect_signed_in(widget, "Mastodon", name)
            comment_reload_and_log_out(page, widget, "Mastodon", name)
        assert len(second.state.apps) == 1
    with live.app.app_context():
        handles = set(
            db.session.scalars(
                select(Identity.provider_user_id).where(
                    Identity.provider == "mastodon",
                    Identity.provider_user_id.startswith("109348573495873945@"),
                )
            )
        )
    assert handles >= {f"109348573495873945@{first.name}", f"109348573495873945@{second.name}"}


def test_a_signed_in_reader_links_mastodon_by_naming_their_server(
    fedi: tuple[Live, FakeMastodon], site_id: str, page: Page
) -> None:
    live, mastodon = fedi
    # A Mastodon account nobody used yet: one someone already uses is never merged.
    mastodon.state.accounts["120777"] = {"username": "dee", "display_name": "Dee Link"}
    before, mastodon.state.signed_in = mastodon.state.signed_in, "120777"
    page.goto(live.host_page("/fediverse-link", site_id))
    widget = page.locator("#afterword")
    with page.expect_popup() as opened:
        widget.get_by_role("button", name="Log in with Dev").click()
    opened.value.get_by_label("Name", exact=True).fill("Dee")
    opened.value.get_by_role("button", name="Sign in").click()
    wait_closed(opened.value)
    expect_signed_in(widget, "Dev", "Dee")

    server = widget.get_by_label("Your Mastodon server")
    expect(server).to_be_hidden()  # until the reader asks to link
    widget.get_by_role("button", name="Link Mastodon").click()
    expect(server).to_be_focused()
    server.fill(mastodon.base_url)
    with page.expect_popup() as linking:
        server.press("Enter")
    linking.value.get_by_role("button", name="Authorize").click()
    wait_closed(linking.value)
    mastodon.state.signed_in = before
    expect_signed_in(widget, "Mastodon", "Dee Link")
    expect(server).to_be_hidden()
    expect(widget.get_by_role("button", name="Link Dev")).to_be_visible()
    with live.app.app_context():
        owners = db.session.scalars(
            select(Identity.user_id).where(
                (Identity.provider_user_id == "dee")
                | Identity.provider_user_id.startswith("120777@")
            )
        ).all()
    assert len(owners) == 2 and len(set(owners)) == 1  # one reader, two accounts


def test_a_moderator_links_mastodon_then_signs_in_with_it(
    fedi: tuple[Live, FakeMastodon], page: Page
) -> None:
    live, mastodon = fedi
    mastodon.state.accounts["130555"] = {"username": "mo", "display_name": "Mo Derator"}
    before, mastodon.state.signed_in = mastodon.state.signed_in, "130555"
    email = "fedi-mod@example.com"
    with live.app.app_context():
        moderators.create_moderator(email, PASSWORD)
    try:
        page.goto(f"{live.url}/dashboard/login")
        page.get_by_label("Email", exact=True).fill(email)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.get_by_role("heading", name="Comments")).to_be_visible()

        page.goto(f"{live.url}/dashboard/account")
        page.get_by_label("Your Mastodon server").fill(mastodon.base_url)
        page.get_by_role("button", name="Link Mastodon").click()
        page.get_by_role("button", name="Authorize").click()
        expect(page.get_by_role("status")).to_have_text("You can now sign in with Mastodon.")
        expect(page.get_by_text(f"Mastodon: @mo@{mastodon.name}")).to_be_visible()

        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", name="Sign in to moderate")).to_be_visible()
        page.get_by_label("Your Mastodon server").fill(mastodon.base_url)
        page.get_by_role("button", name="Sign in with Mastodon").click()
        page.get_by_role("button", name="Authorize").click()
        expect(page.get_by_role("heading", name="Comments")).to_be_visible()
    finally:
        mastodon.state.signed_in = before
