"""How the widget fits into host pages: budget, hostile CSS, small screens, themes, counts,
and how it styles what is inside: markdown, links, the comment just posted."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy import update

from app.extensions import db
from app.models import Comment
from app.services.sites import ensure_site
from tests.browser.live import Live

pytestmark = pytest.mark.browser

BLOG_STYLE = """<style>
body { font: 17px/1.6 Georgia, serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; }
</style>"""
DARK_BLOG_STYLE = """<style>
body { font: 17px/1.6 system-ui, sans-serif; max-width: 44rem; margin: 2rem auto;
       padding: 0 1rem; background: #0e0f11; color: #d7dade; }
</style>"""
HOSTILE_STYLE = """<style>
body * { display: none !important; }
div { color: red !important; }
form, input, textarea, button, label, h2, p, ol, li { display: none !important;
  visibility: hidden !important; }
</style>"""


def seed_conversation(live: Live, site_id: str, url: str) -> None:
    first = live.comment(site_id, url, "Lovely crumb! How long do you *proof* it?", name="Ada")
    answer = live.comment(
        site_id, url, "Overnight, about twelve hours in the cool room.", parent=first, name="Baker"
    )
    live.comment(site_id, url, "Twelve hours! I never wait that long.", parent=answer, name="Ada")
    live.comment(site_id, url, "Tried it with spelt: works, but shape it gently.", name="Jonas")


def test_comments_show_after_at_most_three_requests_to_the_service(
    live: Live, site_id: str, page: Page
) -> None:
    url = live.host_page("/budget", site_id)
    live.comment(site_id, url, "Counted.")
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url))
    live.requests.clear()

    page.goto(url)
    expect(page.locator("#afterword article")).to_contain_text("Counted.")

    to_service = [u for u in seen if u.startswith(live.url)]
    assert len(to_service) <= 3, to_service
    assert len(live.requests) <= 3, live.requests
    assert not [r for r in live.requests if r[0] == "OPTIONS"], "a guest's GET needs no preflight"


def test_hostile_host_css_does_not_break_the_widget(live: Live, site_id: str, page: Page) -> None:
    url = live.host_page("/hostile", site_id, head=HOSTILE_STYLE)
    page.goto(url)
    expect(page.locator("article")).to_be_hidden()  # the host's own content obeys its CSS
    widget = page.locator("#afterword")
    expect(widget.get_by_role("heading", name="Leave a Reply")).to_be_visible()
    widget.get_by_label("Email", exact=True).fill("hal@example.com")
    widget.get_by_label("Name", exact=True).fill("Hal")
    widget.get_by_label("Comment", exact=True).fill("Still readable.")
    post = widget.get_by_role("button", name="Post Comment")
    expect(post).to_be_visible()
    post.click()
    expect(widget.locator("li.c")).to_contain_text("Your comment is awaiting moderation.")


def test_widget_fits_a_320px_phone_without_horizontal_scroll(
    live: Live, site_id: str, browser: Browser, screenshots: Path
) -> None:
    url = live.host_page("/phone", site_id, head=BLOG_STYLE)
    seed_conversation(live, site_id, url)
    parent = live.comment(site_id, url, "A" * 120 + " https://example.com/" + "b" * 80, name="Wide")
    deeper = parent
    for level in range(5):
        deeper = live.comment(site_id, url, f"Nested reply {level}", parent=deeper, name="Deep")
    context = browser.new_context(viewport={"width": 320, "height": 740}, device_scale_factor=2)
    try:
        page = context.new_page()
        page.goto(url)
        widget = page.locator("#afterword")
        expect(widget.locator(f"li#comment-{deeper}")).to_be_visible()
        widths = page.evaluate("[document.documentElement.scrollWidth, document.body.scrollWidth]")
        assert max(widths) <= 320, widths
        page.screenshot(path=screenshots / "phone.png", full_page=True)
    finally:
        context.close()


@pytest.mark.parametrize(
    ("theme", "style", "shot"),
    [("light", BLOG_STYLE, "light.png"), ("dark", DARK_BLOG_STYLE, "dark.png")],
)
def test_themes_render_and_are_saved_as_screenshots(
    live: Live, site_id: str, page: Page, screenshots: Path, theme: str, style: str, shot: str
) -> None:
    url = live.host_page(f"/theme-{theme}", site_id, attrs=f'data-theme="{theme}"', head=style)
    seed_conversation(live, site_id, url)
    page.goto(url)
    widget = page.locator("#afterword")
    expect(widget.get_by_role("heading", name="4 Comments")).to_be_visible()
    background = widget.locator(".aw").evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == ("rgb(255, 255, 255)" if theme == "light" else "rgb(23, 25, 28)")
    page.screenshot(path=screenshots / shot, full_page=True)


def test_auto_theme_follows_the_reader_preference(
    live: Live, site_id: str, browser: Browser
) -> None:
    url = live.host_page("/theme-auto", site_id, attrs='data-theme="auto"')
    for scheme, expected in (("dark", "rgb(23, 25, 28)"), ("light", "rgb(255, 255, 255)")):
        context = browser.new_context(color_scheme=scheme)
        try:
            page = context.new_page()
            page.goto(url)
            aw = page.locator("#afterword .aw")
            expect(aw).to_be_visible()
            assert aw.evaluate("e => getComputedStyle(e).backgroundColor") == expected
        finally:
            context.close()


def test_listing_links_show_their_counts_from_one_request(
    live: Live, site_id: str, page: Page
) -> None:
    origin = live.host.origin
    busy, quiet, single = f"{origin}/busy", f"{origin}/quiet", f"{origin}/single"
    live.comment(site_id, busy, "One.")
    live.comment(site_id, busy, "Two.")
    live.comment(site_id, single, "Only one.")
    live.comment(site_id, quiet, "Not approved yet.", approve=False)
    links = "".join(
        f'<li><a href="{u}#afterword" data-afterword-count="{u}">comments</a></li>'
        for u in (busy, quiet, single)
    )
    live.host.pages["/listing"] = (
        f'<!doctype html><html lang="en"><body><ul>{links}</ul>'
        f'<script src="{live.url}/count.js" data-site="{site_id}" async></script></body></html>'
    )
    live.requests.clear()
    page.goto(f"{origin}/listing")
    expect(page.locator(f'a[data-afterword-count="{busy}"]')).to_have_text("2 Comments")
    expect(page.locator(f'a[data-afterword-count="{quiet}"]')).to_have_text("0 Comments")
    expect(page.locator(f'a[data-afterword-count="{single}"]')).to_have_text("1 Comment")
    assert [p for _, p in live.requests if p.endswith("/counts")] == [
        f"/api/v1/sites/{site_id}/counts"
    ]


def test_a_relative_address_counts_the_same_thread(live: Live, site_id: str, page: Page) -> None:
    origin = live.host.origin
    live.comment(site_id, f"{origin}/posts/neck.html", "Lovely.")
    live.host.pages["/posts/"] = (
        '<!doctype html><html lang="en"><body>'
        '<a href="neck.html" data-afterword-count="/posts/neck.html">comments</a>'
        '<a href="neck.html" data-afterword-count="neck.html">comments</a>'
        '<a href="neck.html" data-afterword-count="">comments</a>'
        f'<script src="{live.url}/count.js" data-site="{site_id}" async></script></body></html>'
    )
    page.goto(f"{origin}/posts/")
    for link in page.locator("a[data-afterword-count]").all():
        expect(link).to_have_text("1 Comment")


def test_demo_post_page_embeds_the_widget(live: Live, page: Page) -> None:
    with live.app.app_context():
        ensure_site(name="demo", origin=live.url)
    page.goto(live.url + "/")
    expect(page.locator("h1")).to_be_visible()
    expect(page.locator("#afterword").get_by_role("heading", name="Leave a Reply")).to_be_visible()
    page.goto(live.url + "/demo/listing")
    expect(page.locator("a[data-afterword-count]").first).to_have_text("0 Comments")


def test_a_long_listing_is_counted_in_requests_short_enough_for_any_server(
    live: Live, site_id: str, page: Page
) -> None:
    origin = live.host.origin
    urls = [f"{origin}/2026/{'a-rather-long-post-title-' * 3}{i}" for i in range(100)]
    live.comment(site_id, urls[-1], "The last one has a comment.")
    links = "".join(f'<a href="{u}" data-afterword-count="{u}">comments</a>' for u in urls)
    live.host.pages["/long-listing"] = (
        f'<!doctype html><html lang="en"><body>{links}'
        f'<script src="{live.url}/count.js" data-site="{site_id}" async></script></body></html>'
    )
    live.requests.clear()
    page.goto(f"{origin}/long-listing")
    expect(page.locator(f'a[data-afterword-count="{urls[-1]}"]')).to_have_text("1 Comment")
    expect(page.locator(f'a[data-afterword-count="{urls[0]}"]')).to_have_text("0 Comments")
    counts = [p for _, p in live.requests if p.endswith("/counts")]
    assert 1 < len(counts) <= 3  # split, since one request line would pass 8 KB


MARKDOWN = """Before baking:

- flour
- water

1. mix
2. wait

> Patience is the main ingredient.

Feed it with `100 g` of rye.

```
starter = flour + water
```
"""

# What a colour is once painted over another: computed colours may be translucent mixes.
PAINTED = """([under, over]) => {
  const c = document.createElement("canvas").getContext("2d", { willReadFrequently: true });
  for (const colour of [under, over]) { c.fillStyle = colour; c.fillRect(0, 0, 1, 1); }
  return [...c.getImageData(0, 0, 1, 1).data].slice(0, 3);
}"""


def contrast(page: Page, text: str, background: str) -> float:
    """The WCAG contrast ratio of `text` painted over the opaque `background`."""

    def luminance(rgb: list[int]) -> float:
        linear = [c / 255 / 12.92 if c <= 10 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted(
        (
            luminance(page.evaluate(PAINTED, [background, text])),
            luminance(page.evaluate(PAINTED, [background, background])),
        ),
        reverse=True,
    )
    return (light + 0.05) / (dark + 0.05)


def style_of(locator, *names: str) -> dict[str, str]:
    return locator.evaluate(
        "(e, names) => Object.fromEntries(names.map((n) => [n, getComputedStyle(e)[n]]))",
        list(names),
    )


@pytest.mark.parametrize(("theme", "style"), [("light", BLOG_STYLE), ("dark", DARK_BLOG_STYLE)])
def test_markdown_lists_code_and_quotes_are_styled_in_both_themes(
    live: Live, site_id: str, page: Page, theme: str, style: str
) -> None:
    url = live.host_page(f"/markdown-{theme}", site_id, attrs=f'data-theme="{theme}"', head=style)
    live.comment(site_id, url, MARKDOWN, name="Ada")
    page.goto(url)
    body = page.locator("#afterword li.c .t")
    expect(body.locator("pre")).to_be_visible()
    background = page.locator("#afterword .aw").evaluate("e => getComputedStyle(e).backgroundColor")

    for selector, marker in (("ul", "disc"), ("ol", "decimal")):
        item = body.locator(f"{selector} > li").first
        assert style_of(item, "display", "listStyleType") == {
            "display": "list-item",
            "listStyleType": marker,
        }
        indent = item.evaluate(
            "e => e.getBoundingClientRect().left - e.closest('.t').getBoundingClientRect().left"
        )
        assert indent >= 12, f"the {marker} markers need room: {indent}px"

    for selector in ("pre", "p > code"):
        block = style_of(body.locator(selector), "fontFamily", "backgroundColor", "color")
        assert "monospace" in block["fontFamily"]
        assert block["backgroundColor"] not in ("rgba(0, 0, 0, 0)", "transparent", background)
        opaque = page.evaluate(PAINTED, [background, block["backgroundColor"]])
        assert contrast(page, block["color"], f"rgb({', '.join(map(str, opaque))})") >= 4.5

    quote = style_of(
        body.locator("blockquote"), "borderInlineStartStyle", "borderInlineStartWidth", "color"
    )
    assert quote["borderInlineStartStyle"] == "solid"
    assert float(quote["borderInlineStartWidth"].removesuffix("px")) >= 2
    assert contrast(page, quote["color"], background) >= 4.5


@pytest.mark.parametrize(("theme", "style"), [("light", BLOG_STYLE), ("dark", DARK_BLOG_STYLE)])
def test_the_feed_link_takes_the_theme_accent_with_enough_contrast(
    live: Live, site_id: str, page: Page, theme: str, style: str
) -> None:
    url = live.host_page(
        f"/feed-contrast-{theme}", site_id, attrs=f'data-theme="{theme}"', head=style
    )
    page.goto(url)
    link = page.locator("#afterword").get_by_role("link", name="Comments feed")
    expect(link).to_be_visible()
    background = page.locator("#afterword .aw").evaluate("e => getComputedStyle(e).backgroundColor")
    colour = link.evaluate("e => getComputedStyle(e).color")
    accent = page.locator("#afterword").get_by_role("button", name="Post Comment")
    assert colour == accent.evaluate("e => getComputedStyle(e).backgroundColor")
    assert contrast(page, colour, background) >= 4.5, (colour, background)


def post_as_guest(page: Page, url: str, body: str) -> Locator:
    page.goto(url)
    widget = page.locator("#afterword")
    widget.get_by_label("Email", exact=True).fill("hana@example.com")
    widget.get_by_label("Name", exact=True).fill("Hana")
    widget.get_by_label("Comment", exact=True).fill(body)
    widget.get_by_role("button", name="Post Comment").click()
    mine = widget.locator("li.c", has_text=body)
    expect(mine).to_be_focused()
    return mine


TRANSPARENT = "rgba(0, 0, 0, 0)"


def test_a_new_comment_is_marked_by_a_fading_tint_not_a_box(
    live: Live, site_id: str, page: Page
) -> None:
    url = live.host_page("/highlight", site_id)
    mine = post_as_guest(page, url, "Highlighted, gently.")
    assert style_of(mine, "outlineStyle")["outlineStyle"] == "none"
    assert mine.evaluate("e => e.getAnimations().map((a) => a.animationName)") == ["hl"]
    assert style_of(mine, "backgroundColor")["backgroundColor"] != TRANSPARENT
    mine.evaluate("e => e.getAnimations().forEach((a) => a.finish())")
    assert style_of(mine, "backgroundColor")["backgroundColor"] == TRANSPARENT


def test_without_motion_the_new_comment_is_tinted_still(
    live: Live, site_id: str, browser: Browser
) -> None:
    url = live.host_page("/highlight-still", site_id)
    context = browser.new_context(reduced_motion="reduce")
    try:
        mine = post_as_guest(context.new_page(), url, "Highlighted, still.")
        assert mine.evaluate("e => e.getAnimations().length") == 0
        assert style_of(mine, "outlineStyle")["outlineStyle"] == "none"
        assert style_of(mine, "backgroundColor")["backgroundColor"] != TRANSPARENT
    finally:
        context.close()


def test_keyboard_focus_on_a_new_comment_keeps_a_visible_ring(
    live: Live, site_id: str, page: Page
) -> None:
    url = live.host_page("/highlight-keyboard", site_id)
    page.goto(url)
    widget = page.locator("#afterword")
    widget.get_by_label("Email", exact=True).fill("kai@example.com")
    widget.get_by_label("Name", exact=True).fill("Kai")
    widget.get_by_label("Comment", exact=True).fill("Posted from the keyboard.")
    widget.get_by_role("button", name="Post Comment").focus()
    page.keyboard.press("Enter")
    mine = widget.locator("li.c", has_text="Posted from the keyboard.")
    expect(mine).to_be_focused()
    ring = style_of(mine, "outlineStyle", "outlineWidth")
    assert ring == {"outlineStyle": "solid", "outlineWidth": "2px"}


def test_a_long_thread_is_saved_as_a_screenshot(
    live: Live, site_id: str, page: Page, screenshots: Path
) -> None:
    url = live.host_page("/long-thread-shot", site_id, head=BLOG_STYLE)
    seed_conversation(live, site_id, url)
    quoted = live.comment(
        site_id,
        url,
        "> shape it gently\n\nThat was my mistake. What worked for me:\n\n"
        "1. fold every 30 minutes\n2. rest the dough *covered*\n3. bake at `250 °C`",
        name="Mira",
    )
    live.comment(site_id, url, "Saving this list, thank you!", parent=quoted, name="Tomás")
    for n, name in enumerate(("Lena", "Omar", "Priya", "Sam")):
        live.comment(
            site_id, url, f"Day {n + 2} of my starter and it finally smells sour.", name=name
        )
    with live.app.app_context():  # as readers' likes leave them
        db.session.execute(update(Comment).where(Comment.id == quoted).values(like_count=7))
        db.session.commit()
    page.goto(url)
    widget = page.locator("#afterword")
    expect(widget.get_by_role("heading", name="10 Comments")).to_be_visible()
    expect(widget.locator(f"li#comment-{quoted} > article blockquote")).to_have_text(
        "shape it gently"
    )
    expect(widget.locator(f"li#comment-{quoted} > article ol li")).to_have_count(3)
    expect(widget.locator(f"li#comment-{quoted} .lk").first).to_have_text("7")
    page.screenshot(path=screenshots / "long-thread.png", full_page=True)
