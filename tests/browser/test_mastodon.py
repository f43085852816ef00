"""Signing in with Mastodon from the widget: the reader names their server first."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from app import create_app
from app.extensions import db
from config import TestingConfig
from tests.browser.helpers import expect_signed_in, wait_closed
from tests.browser.live import Live, listening, serve, url_of
from tests.fakes.mastodon import FakeMastodon

pytestmark = pytest.mark.browser


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
