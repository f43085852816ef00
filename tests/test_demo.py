"""The demo pages that `make run` serves."""

from __future__ import annotations

from app.services.sites import ensure_site


def test_demo_post_embeds_the_widget(client, app):
    site = ensure_site(name="demo", origin=app.config["PUBLIC_URL"])
    html = client.get("/").text
    assert f'<script src="http://127.0.0.1:5000/embed.js" data-site="{site.id}" async>' in html
    assert "http://localhost:5000/demo/elsewhere" in html


def test_cross_origin_demo_embeds_the_same_thread(client, app):
    site = ensure_site(name="demo", origin=app.config["PUBLIC_URL"])
    html = client.get("/demo/elsewhere").text
    assert f'data-site="{site.id}" data-url="http://127.0.0.1:5000/"' in html


def test_without_a_demo_site_the_page_says_how_to_make_one(client):
    assert "flask site create --name NAME --origin URL" in client.get("/").text


def test_demo_links_the_sites_comment_feed(client, app):
    site = ensure_site(name="demo", origin=app.config["PUBLIC_URL"])
    html = client.get("/").text
    assert f'href="http://127.0.0.1:5000/feeds/sites/{site.id}.atom"' in html
    assert 'rel="alternate" type="application/atom+xml"' in html
