"""The reader's first paint: the host page around the widget stays put while it loads, the
first frame draws a screen of comments and nothing more, and comments far below the screen
cost no rendering until the reader nears them. (The timings
themselves are measured by bench/first_paint.py, not here.)"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.live import Live

pytestmark = pytest.mark.browser

# Records every layout shift of the page (without recent input), and whether what moved was
# above the widget, from before the page's own code runs.
WATCH_SHIFTS = """
window.__shifts = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if (e.hadRecentInput) continue;
    const host = document.getElementById("afterword");
    window.__shifts.push({ value: e.value, above: (e.sources || []).some((s) =>
      s.node && host && !host.contains(s.node) && !s.node.contains(host) &&
      (s.node.compareDocumentPosition(host) & Node.DOCUMENT_POSITION_FOLLOWING)) });
  }
}).observe({ type: "layout-shift", buffered: true });
"""


# What the first frame with a comment in it drew: how many comments, and whether the form.
WATCH_FIRST_FRAME = """
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
  const root = attach.call(this, init);
  new MutationObserver((_, seen) => {
    if (!root.querySelector("li.c")) return;
    seen.disconnect();
    requestAnimationFrame(() => (window.__firstFrame = {
      comments: root.querySelectorAll("li.c").length, form: !!root.querySelector("textarea") }));
  }).observe(root, { childList: true, subtree: true });
  return root;
};
"""


def many_comments(live: Live, site_id: str, url: str, n: int) -> list[int]:
    return [
        live.comment(site_id, url, f"Comment {i}: " + "a thought about the bread. " * 8)
        for i in range(n)
    ]


def test_nothing_above_the_widget_moves_while_comments_load(
    live: Live, site_id: str, page: Page
) -> None:
    url = live.host_page("/first-paint/above", site_id)
    many_comments(live, site_id, url, 12)
    page.add_init_script(WATCH_SHIFTS)

    page.goto(url)
    expect(page.locator("#afterword li.c")).to_have_count(12)
    page.wait_for_timeout(300)  # the form under the comments comes last

    shifts = page.evaluate("window.__shifts")
    assert [s for s in shifts if s["above"]] == []


def test_the_first_frame_draws_a_screen_of_comments_and_the_rest_follow(
    live: Live, site_id: str, page: Page
) -> None:
    url = live.host_page("/first-paint/first-frame", site_id)
    ids = many_comments(live, site_id, url, 40)
    page.add_init_script(WATCH_FIRST_FRAME)

    page.goto(url)

    page.wait_for_function("window.__firstFrame")
    first = page.evaluate("window.__firstFrame")
    assert 3 <= first["comments"] < 40 and not first["form"]
    widget = page.locator("#afterword")
    expect(widget.locator("li.c")).to_have_count(40)
    expect(widget.get_by_role("heading", name="40 Comments")).to_be_visible()
    expect(widget.get_by_label("Comment", exact=True)).to_be_visible()
    assert widget.locator("li.c").last.get_attribute("id") == f"comment-{ids[-1]}"
    # Their times and counts, left out of the first frame, are there for every comment.
    times = widget.locator("li.c time")
    assert all(times.evaluate_all("(ts) => ts.map((t) => t.textContent && t.title)"))
    assert set(widget.locator("li.c .lk").all_text_contents()) == {"0"}


def test_comments_far_below_the_screen_are_rendered_once_the_reader_nears_them(
    live: Live, site_id: str, page: Page
) -> None:
    url = live.host_page("/first-paint/far", site_id)
    ids = many_comments(live, site_id, url, 40)
    page.set_viewport_size({"width": 1000, "height": 700})
    page.goto(url)
    widget = page.locator("#afterword")
    expect(widget.locator("li.c")).to_have_count(40)
    rendered = "(el) => el.checkVisibility({ contentVisibilityAuto: true })"
    first, last = widget.locator(f"#comment-{ids[0]}"), widget.locator(f"#comment-{ids[-1]}")

    assert first.evaluate(rendered)
    assert not last.locator("article").evaluate(rendered), "skipped until it comes near"

    last.scroll_into_view_if_needed()
    expect(last).to_be_in_viewport()
    expect(last).to_contain_text("Comment 39")
    # Chromium decides what is near at its next rendering update, not at the scroll itself.
    page.wait_for_function(rendered, arg=last.locator("article").element_handle(), timeout=5000)


def test_a_link_to_a_far_comment_still_opens_at_it(live: Live, site_id: str, page: Page) -> None:
    url = live.host_page("/first-paint/link", site_id)
    ids = many_comments(live, site_id, url, 40)
    page.set_viewport_size({"width": 1000, "height": 700})

    page.goto(f"{url}#comment-{ids[-3]}")

    target = page.locator(f"#afterword #comment-{ids[-3]}")
    expect(target).to_be_focused()
    expect(target).to_be_in_viewport()


def test_comments_show_while_a_slow_script_below_holds_the_page_back(
    live: Live, site_id: str, page: Page
) -> None:
    # A script further down the page that takes its time: the browser parses nothing after
    # it, nor fires DOMContentLoaded, until it came and ran; the comments do not wait.
    url = live.host_page("/first-paint/held", site_id)
    live.host.pages["/first-paint/held"] = live.host.pages["/first-paint/held"].replace(
        "</body>", '<script src="/theme.js"></script><footer>The end.</footer></body>'
    )
    live.comment(site_id, url, "Shown before the theme's script ran.")
    held: list[Route] = []
    page.route("**/theme.js", lambda route: held.append(route))

    page.goto(url, wait_until="commit")

    expect(page.locator("#afterword li.c")).to_contain_text("Shown before the theme's script ran.")
    assert page.evaluate("document.readyState") == "loading"
    assert held, "the theme's script is still on its way"
    held[0].fulfill(body="window.themed = true;", content_type="text/javascript")
    expect(page.locator("footer")).to_have_text("The end.")
