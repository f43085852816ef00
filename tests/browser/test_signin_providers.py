"""Signing in from the widget with WordPress.com, GitHub, Google and an OpenID Connect
provider of the operator's choosing, each a fake on an origin of its own."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from app import create_app
from app.extensions import db
from config import TestingConfig
from tests.browser.helpers import (
    comment_reload_and_log_out,
    expect_signed_in,
    start_sign_in,
    wait_closed,
)
from tests.browser.live import Live, listening, serve, url_of
from tests.fakes import FakeProviderServer
from tests.fakes.github import create_fake_github
from tests.fakes.oidc_provider import FakeOIDCServer, create_fake_oidc_provider
from tests.fakes.wordpress import create_fake_wordpress

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def more(live: Live) -> Iterator[Live]:
    """A service with the four providers, on `live`'s database and host blog."""
    service = listening()
    url = url_of(service)

    def keys(kind: str) -> dict[str, Any]:
        return {
            "client_id": f"{kind}-client-id",
            "client_secret": f"{kind}-client-secret",
            "redirect_uris": [f"{url}/auth/{kind}/callback"],
        }

    fakes: dict[str, FakeProviderServer] = {
        "wordpress": FakeProviderServer(create_fake_wordpress(**keys("wordpress"))),
        "github": FakeProviderServer(create_fake_github(**keys("github"))),
        "google": FakeOIDCServer(create_fake_oidc_provider("google", **keys("google"))),
        "oidc": FakeOIDCServer(
            create_fake_oidc_provider("oidc", **keys("oidc")),
            name="Example University",
        ),
    }
    env: dict[str, str] = {}
    for fake in fakes.values():
        env.update(fake.start().env())
    app = create_app(
        TestingConfig,
        SQLALCHEMY_DATABASE_URI=live.app.config["SQLALCHEMY_DATABASE_URI"],
        PUBLIC_URL=url,
        **env,
    )
    server = serve(service, app)
    yield Live(app=app, url=url, host=live.host, providers=fakes)
    server.shutdown()
    for fake in fakes.values():
        fake.stop()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def no_outside_images(context: BrowserContext) -> None:
    # The fakes' avatars live on made-up https hosts; nothing may leave the machine.
    context.route(re.compile(r"^https://"), lambda route: route.abort())


@pytest.fixture
def blog(more: Live, page: Page, request: pytest.FixtureRequest) -> Locator:
    path = "/providers/" + re.sub(r"\W+", "-", request.node.name)
    page.goto(more.host_page(path, more.create_site()))
    return page.locator("#afterword")


def test_the_buttons_come_in_their_order_wordpress_first(page: Page, blog: Locator) -> None:
    buttons = blog.get_by_role("button", name=re.compile("^Log in with "))
    expect(buttons).to_have_count(4)
    names = [
        "Log in with WordPress.com",
        "Log in with Google",
        "Log in with GitHub",
        "Log in with Example University",
    ]
    boxes = [blog.get_by_role("button", name=name).bounding_box() for name in names]
    assert all(boxes)
    positions = [(round(b["y"]), b["x"]) for b in boxes if b]
    assert positions == sorted(positions)


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("WordPress.com", "Mary Shelley"),
        ("GitHub", "The Octocat"),
        ("Google", "Emmy Noether"),
        ("Example University", "Emmy Noether"),
    ],
)
def test_reader_signs_in_with_each_provider(
    page: Page, blog: Locator, label: str, name: str
) -> None:
    popup = start_sign_in(page, blog, label)
    popup.get_by_role("button", name="Approve").click()
    wait_closed(popup)
    expect_signed_in(blog, label, name)
    comment_reload_and_log_out(page, blog, label, name)


def test_denying_google_brings_the_form_back_with_the_reason(page: Page, blog: Locator) -> None:
    popup = start_sign_in(page, blog, "Google")
    popup.get_by_role("button", name="Deny").click()
    wait_closed(popup)
    expect(blog.get_by_role("alert").filter(has_text="You cancelled signing in.")).to_be_visible()
    expect(blog.get_by_role("button", name="Log in with Google")).to_be_visible()
