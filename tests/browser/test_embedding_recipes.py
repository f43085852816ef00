"""The embedding recipes of docs/deploy.md, as each blog engine's pages come out, on another
origin than the service: the widget shows the comments and the form on every one.

Plain HTML and Ghost's code injection are taken from the document itself; the WordPress,
Hugo and Jekyll templates are given as the HTML those engines render from them.
"""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import Thread
from tests.browser.live import Live

pytestmark = pytest.mark.browser

DEPLOY_DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"


def recipe(heading: str, language: str, live: Live, site_id: str) -> str:
    """The first `language` code block under `### heading` in docs/deploy.md, pointed at the
    live service and site."""
    text = DEPLOY_DOC.read_text()
    section = text.split(f"\n### {heading}\n", 1)[1].split("\n### ", 1)[0]
    match = re.search(rf"```{language}\n(.*?)```", section, re.DOTALL)
    assert match, f"no {language} block under {heading}"
    return match.group(1).replace("https://comments.example", live.url).replace("SITE_ID", site_id)


def publish(live: Live, path: str, html: str) -> str:
    live.host.pages[path] = html
    return live.host.origin + path


def expect_thread_and_form(page: Page, text: str) -> None:
    widget = page.locator("#afterword")
    expect(widget.get_by_text(text)).to_be_visible()
    expect(widget.get_by_role("heading", name="Leave a Reply")).to_be_visible()
    expect(widget.get_by_label("Comment", exact=True)).to_be_visible()
    expect(widget.get_by_role("button", name="Post Comment")).to_be_visible()


def wordpress_post(live: Live, site_id: str, permalink: str) -> str:
    """A classic theme's single post, with the comments.php of the recipe rendered in it:
    get_permalink() through esc_url, get_the_title() (texturized) through esc_attr."""
    return f"""<!DOCTYPE html>
<html lang="en-US"><head><meta charset="UTF-8">
<title>Bread &#8211; the crust &#8211; My blog</title>
<style>.comments-area {{ margin: 2em 0 }} #comments div {{ font-family: serif }}</style>
</head>
<body class="post-template-default single single-post postid-7 single-format-standard">
<div id="page" class="site"><header id="masthead" class="site-header"><p>My blog</p></header>
<div id="content" class="site-content"><main id="main" class="site-main">
<article id="post-7" class="post-7 post type-post status-publish hentry">
<header class="entry-header"><h1 class="entry-title">Bread &#8211; the crust</h1></header>
<div class="entry-content"><p>Bake it hot.</p></div></article>
<div id="comments" class="comments-area">
	<div id="afterword"></div>
	<script src="{live.url}/embed.js" data-site="{site_id}"
		data-url="{escape(permalink)}"
		data-title="Bread &#8211; the crust" async></script>
</div>
</main></div></div></body></html>"""


def test_plain_html_recipe(live: Live, site_id: str, page: Page) -> None:
    url = live.host.origin + "/2026/rye.html"
    snippet = recipe("Plain HTML", "html", live, site_id).replace(
        "https://blog.example/2026/rye.html", url
    )
    publish(live, "/2026/rye.html", f"<!doctype html><html lang='en'><body>{snippet}</body></html>")
    live.comment(site_id, url, "Rye wants patience.")
    page.goto(url)
    expect_thread_and_form(page, "Rye wants patience.")


def test_wordpress_comments_php(live: Live, site_id: str, page: Page) -> None:
    permalink = live.host.origin + "/2026/12/01/bread/"
    publish(live, "/2026/12/01/bread/", wordpress_post(live, site_id, permalink))
    live.comment(site_id, permalink, "The crust sings.")
    # Readers arrive with tracking parameters; data-url keeps them on the post's thread.
    page.goto(permalink + "?utm_source=newsletter&utm_medium=email")
    expect_thread_and_form(page, "The crust sings.")


def test_wordpress_post_is_filed_under_its_permalink_and_title(
    live: Live, site_id: str, page: Page
) -> None:
    permalink = live.host.origin + "/2026/12/02/crumb/"
    publish(live, "/2026/12/02/crumb/", wordpress_post(live, site_id, permalink))
    page.goto(permalink + "?replytocom=3")
    widget = page.locator("#afterword")
    widget.get_by_label("Email", exact=True).fill("ada@example.com")
    widget.get_by_label("Name", exact=True).fill("Ada")
    widget.get_by_label("Comment", exact=True).fill("An open crumb, at last.")
    widget.get_by_role("button", name="Post Comment").click()
    expect(widget.get_by_text("Your comment is awaiting moderation.")).to_be_visible()
    with live.app.app_context():
        thread = db.session.scalars(select(Thread).where(Thread.url == permalink)).one()
        assert thread.title == "Bread \u2013 the crust"


def test_hugo_partial(live: Live, site_id: str, page: Page) -> None:
    permalink = live.host.origin + "/posts/rye-sleeps/"
    # layouts/partials/comments.html as Hugo renders it: html/template escapes the title.
    partial = f"""<div id="afterword"></div>
<script src="{live.url}/embed.js" data-site="{site_id}"
        data-url="{permalink}" data-title="Rye&#39;s long sleep" async></script>
"""
    publish(
        live,
        "/posts/rye-sleeps/",
        f"""<!DOCTYPE html>
<html lang="en-us" dir="ltr"><head><meta charset="utf-8">
<meta name="generator" content="Hugo 0.140.0"><title>Rye's long sleep | My blog</title>
<link rel="canonical" href="{permalink}"></head>
<body><header><nav><a href="/">My blog</a></nav></header>
<main><article><h1>Rye&#39;s long sleep</h1><time datetime="2026-12-01T09:00:00+00:00">
December 1, 2026</time><p>Overnight, in the cold.</p></article>
{partial}</main><footer><p>&copy; 2026 My blog</p></footer></body></html>""",
    )
    live.comment(site_id, permalink, "Mine sleeps two nights.")
    page.goto(permalink)
    expect_thread_and_form(page, "Mine sleeps two nights.")


def test_jekyll_include(live: Live, site_id: str, page: Page) -> None:
    permalink = live.host.origin + "/2026/12/01/rye-and-time.html"
    publish(
        live,
        "/2026/12/01/rye-and-time.html",
        f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Rye &amp; time | My blog</title></head>
<body><main class="page-content"><div class="wrapper">
<article class="post h-entry"><header class="post-header">
<h1 class="post-title p-name">Rye &amp; time</h1></header>
<div class="post-content e-content"><p>Slow is fine.</p></div>
<div id="afterword"></div>
<script src="{live.url}/embed.js" data-site="{site_id}"
        data-url="{permalink}" data-title="Rye &amp; time" async></script>
</article></div></main></body></html>""",
    )
    live.comment(site_id, permalink, "Time is the best yeast.")
    page.goto(permalink)
    expect_thread_and_form(page, "Time is the best yeast.")


def ghost_page(body_class: str, content: str, footer: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>My blog</title></head>
<body class="{body_class} is-head-left-logo has-cover">
<div class="viewport"><header id="gh-head" class="gh-head"><a class="gh-head-logo" href="/">My
blog</a></header><div class="site-content"><main id="site-main" class="site-main">
{content}</main></div></div>
{footer}
</body></html>"""


def test_ghost_code_injection_adds_comments_to_posts(live: Live, site_id: str, page: Page) -> None:
    footer = recipe("Ghost", "html", live, site_id)
    url = publish(
        live,
        "/crust/",
        ghost_page(
            "post-template tag-bread",
            """<article class="article post tag-bread">
<header class="article-header gh-canvas"><h1 class="article-title">Crust</h1></header>
<section class="gh-content gh-canvas"><p>Dark and loud.</p></section>
<footer class="article-footer gh-canvas"></footer></article>""",
            footer,
        ),
    )
    live.comment(site_id, url, "Loud crust, happy baker.")
    page.goto(url)
    expect_thread_and_form(page, "Loud crust, happy baker.")
    # Under the post's text, before the article's footer.
    assert page.evaluate(
        "document.getElementById('afterword').previousElementSibling.classList.contains('gh-content')"
    )


def test_ghost_code_injection_leaves_other_pages_alone(
    live: Live, site_id: str, page: Page
) -> None:
    footer = recipe("Ghost", "html", live, site_id)
    home = publish(
        live,
        "/",
        ghost_page(
            "home-template",
            '<div class="post-feed"><article class="post-card"><h2>Crust</h2></article></div>',
            footer,
        ),
    )
    before = len(live.requests)
    page.goto(home)
    page.wait_for_load_state("load")
    assert page.locator("#afterword").count() == 0
    assert ("GET", "/embed.js") not in live.requests[before:]
