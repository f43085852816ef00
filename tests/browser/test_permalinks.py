"""A blog on WordPress's plain permalinks (`/?p=123`): its imported comments show under the
post they were left on, whatever a link adds to the address, and count on a listing page."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import Site, Thread
from app.services.importers import wordpress
from app.services.importing import import_threads
from tests.browser.live import Live
from tests.helpers import plain_permalink_export

pytestmark = pytest.mark.browser


def test_an_imported_plain_permalink_post_shows_its_comments(
    live: Live, site_id: str, page: Page, tmp_path: Path
) -> None:
    blog = live.host.origin + "/plain/"  # WordPress answers every ?p= at its front page
    export = plain_permalink_export(tmp_path, f"{blog}?p=123", "Imported from WordPress.")
    with live.app.app_context():
        import_threads(db.session.get(Site, site_id), wordpress.parse(export))
    live.host_page("/plain/", site_id)  # the snippet without data-url

    page.goto(f"{blog}?p=123&utm_source=newsletter#comments")
    widget = page.locator("#afterword")
    expect(widget.get_by_text("Imported from WordPress.")).to_be_visible()

    # Another post of the same blog is a thread of its own, made by its first comment.
    page.goto(f"{blog}?replytocom=7&p=124")
    expect(widget.get_by_label("Comment", exact=True)).to_be_visible()
    expect(widget.get_by_text("Imported from WordPress.")).to_have_count(0)
    widget.get_by_label("Email", exact=True).fill("ada@example.com")
    widget.get_by_label("Name", exact=True).fill("Ada")
    widget.get_by_label("Comment", exact=True).fill("Another post, another thread.")
    widget.get_by_role("button", name="Post Comment").click()
    expect(widget.get_by_text("Your comment is awaiting moderation.")).to_be_visible()
    with live.app.app_context():
        urls = db.session.scalars(select(Thread.url).where(Thread.site_id == site_id)).all()
    assert sorted(urls) == [f"{blog}?p=123", f"{blog}?p=124"]

    links = "".join(
        f'<a href="{blog}?p={n}" data-afterword-count="{blog}?p={n}">comments</a>'
        for n in (123, 124)
    )
    live.host.pages["/plain/listing"] = (
        f'<!doctype html><html lang="en"><body>{links}'
        f'<script src="{live.url}/count.js" data-site="{site_id}" async></script></body></html>'
    )
    page.goto(f"{blog}listing")
    expect(page.locator(f'a[data-afterword-count="{blog}?p=123"]')).to_have_text("1 Comment")
    expect(page.locator(f'a[data-afterword-count="{blog}?p=124"]')).to_have_text("0 Comments")
