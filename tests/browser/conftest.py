"""Fixtures for the browser tests: a live service with its host blog, and one Chromium."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from app import create_app
from app.extensions import db
from config import TestingConfig
from tests.browser.live import HostSite, Live, listening, record_requests, serve, url_of
from tests.fakes import FakeProviderServer, create_fake_provider

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="package")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    service, host = listening(), listening()
    db_url = os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tmp_path_factory.mktemp('browser')}/browser.db"
    )
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=db_url, PUBLIC_URL=url_of(service))
    with app.app_context():
        db.drop_all()
        db.create_all()
    live = Live(app=app, url=url_of(service), host=HostSite(url_of(host)))
    record_requests(app, live.requests)
    servers = [serve(service, app), serve(host, live.host.wsgi)]
    yield live
    for server in servers:
        server.shutdown()
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture(scope="module")
def social(live: Live) -> Iterator[Live]:
    """A second service with fake Twitter and Facebook, on `live`'s database and host blog.

    The fakes accept only `{PUBLIC_URL}/auth/{kind}/callback`, so the service's port is
    chosen before they are built, and the service is built from their settings.
    """
    service = listening()
    url = url_of(service)
    fakes = {
        kind: FakeProviderServer(
            create_fake_provider(
                kind,
                client_id=f"{kind}-client-id",
                client_secret=f"{kind}-client-secret",
                redirect_uris=[f"{url}/auth/{kind}/callback"],
            )
        ).start()
        for kind in ("twitter", "facebook")
    }
    app = create_app(
        TestingConfig,
        SQLALCHEMY_DATABASE_URI=live.app.config["SQLALCHEMY_DATABASE_URI"],
        PUBLIC_URL=url,
        **fakes["twitter"].env(),
        **fakes["facebook"].env(),
    )
    server = serve(service, app)
    yield Live(app=app, url=url, host=live.host, providers=fakes)
    server.shutdown()
    for fake in fakes.values():
        fake.stop()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def chromium() -> str:
    """Skips the browser tests where Chromium is missing; on CI that is a failure instead."""
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": 1000, "height": 900}, locale="en-US")
    context.set_default_timeout(5000)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def dev_login(live: Live) -> Iterator[None]:
    """The Dev provider on, as `DEV_LOGIN=1` turns it on, for this test only."""
    live.app.config["DEV_LOGIN"] = True
    try:
        yield
    finally:
        live.app.config["DEV_LOGIN"] = False


@pytest.fixture
def site_id(live: Live) -> str:
    return live.create_site()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where tests save what they saw: a temporary directory, or the README's pictures in
    docs/screenshots with UPDATE_SCREENSHOTS=1 (a test run leaves the checkout as it was)."""
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return DOCS_SCREENSHOTS
    return tmp_path
