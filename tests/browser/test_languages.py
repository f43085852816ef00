"""The widget in the page's language: wording fetched alongside the thread, plural forms
from Intl, and right-to-left layout for Arabic, Hebrew and Persian."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.embed.bundle import LANGUAGES, strings
from tests.browser.live import Live

pytestmark = pytest.mark.browser


def service_requests(page: Page, live: Live) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if r.url.startswith(live.url) else None)
    return seen


def test_arabic_renders_right_to_left_with_replies_indented_from_the_right(
    live: Live, site_id: str, page: Page, screenshots: Path
) -> None:
    url = live.host_page("/ar", site_id, attrs='data-lang="ar"')
    parent = live.comment(site_id, url, "خبز رائع! كم من الوقت تتركه ليختمر؟", name="Ada")
    reply = live.comment(
        site_id, url, "ليلة كاملة، نحو اثنتي عشرة ساعة.", parent=parent, name="Baker"
    )
    page.goto(url)
    widget = page.locator("#afterword")
    expect(widget.get_by_role("heading", name="تعليقان")).to_be_visible()  # Arabic's "two"
    expect(widget.get_by_role("heading", name="اترك تعليقًا")).to_be_visible()
    root = widget.locator(".aw")
    expect(root).to_have_attribute("dir", "rtl")
    expect(root).to_have_attribute("lang", "ar")
    assert root.evaluate("e => getComputedStyle(e).direction") == "rtl"

    parent_box = widget.locator(f"li#comment-{parent} > article").bounding_box()
    reply_box = widget.locator(f"li#comment-{reply} > article").bounding_box()
    assert parent_box and reply_box
    # Indented on the right: the reply's right edge is further in, its left edge is not.
    assert reply_box["x"] + reply_box["width"] < parent_box["x"] + parent_box["width"] - 10
    assert abs(reply_box["x"] - parent_box["x"]) < 2
    # The avatar starts the line on the right, before the name.
    avatar = widget.locator(f"li#comment-{parent} .av").first.bounding_box()
    name = widget.locator(f"li#comment-{parent} .who").first.bounding_box()
    assert avatar and name and avatar["x"] > name["x"]
    page.screenshot(path=str(screenshots / "widget-rtl.png"), full_page=True)


def test_page_language_gives_german_with_three_requests_and_english_with_two(
    live: Live, site_id: str, page: Page
) -> None:
    url = live.host_page("/de-requests", site_id, lang="de")
    live.comment(site_id, url, "Sehr lecker.")
    seen = service_requests(page, live)
    live.requests.clear()
    page.goto(url)
    widget = page.locator("#afterword")
    expect(widget.get_by_role("heading", name="1 Kommentar")).to_be_visible()
    expect(widget.locator("article")).to_contain_text("Sehr lecker.")
    expect(widget.get_by_role("button", name="Antworten")).to_be_visible()
    expect(widget.get_by_label("Sortieren nach")).to_be_visible()
    expect(widget.locator(".aw")).to_have_attribute("dir", "ltr")
    paths = [u.removeprefix(live.url).split("?")[0] for u in seen]
    assert len(paths) <= 3, paths
    # The wording is asked for before the thread, never after it.
    assert not [r for r in live.requests if r[0] == "OPTIONS"], "no preflight for the wording"
    thread = f"/api/v1/sites/{site_id}/thread"
    assert paths.index("/embed/strings/de.json") < paths.index(thread), paths


def test_english_needs_no_wording_request(live: Live, site_id: str, page: Page) -> None:
    url = live.host_page("/en-requests", site_id, lang="en-GB")
    live.comment(site_id, url, "Lovely.")
    seen = service_requests(page, live)
    page.goto(url)
    expect(page.locator("#afterword article")).to_contain_text("Lovely.")
    expect(page.locator("#afterword").get_by_role("heading", name="1 Comment")).to_be_visible()
    assert len(seen) == 2, seen
    assert not [u for u in seen if "/embed/strings/" in u]


@pytest.mark.parametrize(
    ("tag", "heading"),
    [
        ("pt-BR", "Deixe um comentário"),
        ("nb-NO", "Legg igjen en kommentar"),
        ("no", "Legg igjen en kommentar"),
        ("zh-Hans", "发表评论"),
        ("xx-YY", "Leave a Reply"),
    ],
)
def test_language_tags_find_their_language(
    live: Live, site_id: str, page: Page, tag: str, heading: str
) -> None:
    page.goto(live.host_page(f"/tag-{tag}", site_id, lang=tag))
    expect(page.locator("#afterword").get_by_role("heading", name=heading)).to_be_visible()


def test_wording_that_fails_to_load_leaves_english(live: Live, site_id: str, page: Page) -> None:
    url = live.host_page("/fr-offline", site_id, lang="fr")
    live.comment(site_id, url, "Très bon.")
    page.route("**/embed/strings/**", lambda route: route.abort())
    page.goto(url)
    widget = page.locator("#afterword")
    expect(widget.get_by_role("heading", name="1 Comment")).to_be_visible()
    expect(widget.get_by_role("heading", name="Leave a Reply")).to_be_visible()


def test_every_language_has_the_plural_forms_this_browser_uses(page: Page) -> None:
    """The categories Chromium's Intl.PluralRules gives each language are all in its file."""
    page.set_content("<!doctype html><title>plurals</title>")
    categories = page.evaluate(
        "langs => Object.fromEntries(langs.map(l => "
        "[l, new Intl.PluralRules(l).resolvedOptions().pluralCategories]))",
        list(LANGUAGES),
    )
    for lang, table in strings().items():
        for key, value in table.items():
            if isinstance(value, dict):
                assert set(categories[lang]) <= set(value), (lang, key, categories[lang])


def test_count_links_use_the_page_language_plurals(live: Live, site_id: str, page: Page) -> None:
    origin = live.host.origin
    few, many = f"{origin}/pl/few", f"{origin}/pl/many"
    for n in range(3):
        live.comment(site_id, few, f"Dobre {n}.")
    for n in range(5):
        live.comment(site_id, many, f"Dobre {n}.")
    links = "".join(f'<a data-afterword-count="{u}">komentarze</a>' for u in (few, many))
    live.host.pages["/pl/"] = (
        f'<!doctype html><html lang="pl-PL"><body>{links}'
        f'<script src="{live.url}/count.js" data-site="{site_id}" async></script></body></html>'
    )
    page.goto(f"{origin}/pl/")
    expect(page.locator(f'a[data-afterword-count="{few}"]')).to_have_text("3 komentarze")
    expect(page.locator(f'a[data-afterword-count="{many}"]')).to_have_text("5 komentarzy")
