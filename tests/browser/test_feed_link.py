"""The widget links its thread's Atom feed."""

from __future__ import annotations

from urllib.parse import quote

import feedparser
import pytest
import requests
from playwright.sync_api import Page, expect

from tests.browser.live import Live

pytestmark = pytest.mark.browser


def test_widget_links_the_threads_feed(live: Live, site_id: str, page: Page) -> None:
    url = live.host_page("/with-feed", site_id)
    live.comment(site_id, url, "Feeds are still the best way to follow a blog.", name="Ada")
    page.goto(url)
    link = page.locator("#afterword").get_by_role("link", name="Comments feed")
    expect(link).to_have_attribute(
        "href", f"{live.url}/feeds/sites/{site_id}/thread.atom?url={quote(url, safe='')}"
    )
    feed = feedparser.parse(requests.get(link.get_attribute("href"), timeout=5).content)
    assert [e.author for e in feed.entries] == ["Ada"]
