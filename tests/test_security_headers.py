"""Headers every answer carries, whichever part of the app gave it (app/page_headers.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.models import Site
from tests.factories import HOST_ORIGIN, POST_URL, guest_payload, make_comment, make_site, post_json
from tests.helpers import fresh_app

GZIP = {"Accept-Encoding": "gzip"}
HSTS = "max-age=31536000"


def read_thread(client: FlaskClient, site: Site) -> TestResponse:
    return client.get(
        f"/api/v1/sites/{site.id}/thread",
        query_string={"url": POST_URL},
        headers={"Origin": HOST_ORIGIN, **GZIP},
    )


def read_thread_twice(client: FlaskClient, site: Site) -> TestResponse:
    read_thread(client, site)  # fills the cache
    return read_thread(client, site)


def read_thread_unmodified(client: FlaskClient, site: Site) -> TestResponse:
    etag = read_thread_twice(client, site).headers["ETag"]
    return client.get(
        f"/api/v1/sites/{site.id}/thread",
        query_string={"url": POST_URL},
        headers={"Origin": HOST_ORIGIN, "If-None-Match": etag, **GZIP},
    )


def bad_comment(client: FlaskClient, site: Site) -> TestResponse:
    return post_json(client, site, guest_payload(body=""))


# name: (request, expected status, whether the fast path answered)
ENDPOINTS: dict[str, tuple[Callable[[FlaskClient, Site], TestResponse], int, bool]] = {
    "thread read, a miss (Flask)": (read_thread, 200, False),
    "thread read, a hit (before Flask)": (read_thread_twice, 200, True),
    "thread read, not modified (before Flask)": (read_thread_unmodified, 304, True),
    "API 400": (bad_comment, 400, False),
    "API 404": (lambda c, s: c.get("/api/v1/nothing-here"), 404, False),
    "API 405": (lambda c, s: c.delete(f"/api/v1/sites/{s.id}/thread"), 405, False),
    "page 404": (lambda c, s: c.get("/no-such-page"), 404, False),
    "embed.js": (lambda c, s: c.get("/embed.js"), 200, False),
    "static file": (lambda c, s: c.get("/dashboard/static/dashboard.css"), 200, False),
    "dashboard login page": (lambda c, s: c.get("/dashboard/login"), 200, False),
    "redirect to sign in": (lambda c, s: c.get("/dashboard/"), 302, False),
    "feed": (lambda c, s: c.get(f"/feeds/sites/{s.id}.atom"), 200, False),
    "health check": (lambda c, s: c.get("/healthz"), 200, False),
}


def record_api_calls(app: Flask) -> list[str]:
    """The API requests that reach Flask, to tell which answers the fast path gave."""
    calls: list[str] = []

    @app.before_request
    def note() -> None:
        if request.path.startswith("/api/"):
            calls.append(request.path)

    return calls


@pytest.fixture
def api_calls(app: Flask) -> list[str]:
    return record_api_calls(app)


@pytest.mark.parametrize("name", ENDPOINTS)
def test_every_answer_forbids_content_sniffing(client, site, api_calls, name):
    send, status, fast = ENDPOINTS[name]
    make_comment(site, body="cached")
    resp = send(client, site)
    assert resp.status_code == status
    assert resp.headers.getlist("X-Content-Type-Options") == ["nosniff"]
    if fast:
        assert len(api_calls) == 1  # the first read only: this one was answered before Flask


@pytest.fixture
def https_app(tmp_path: Path) -> Iterator[Flask]:
    with fresh_app(tmp_path, PUBLIC_URL="https://comments.example") as app:
        yield app


@pytest.mark.parametrize(
    "path", ["/dashboard/login", "/", "/no-such-page", "/dashboard/", "/embed.js"]
)
def test_an_https_service_tells_browsers_to_stay_on_https(https_app, path):
    resp = https_app.test_client().get(path)
    assert resp.headers.getlist("Strict-Transport-Security") == [HSTS]


def test_an_https_service_says_so_on_cached_reads_too(https_app):
    site = make_site()
    make_comment(site, body="cached")
    calls = record_api_calls(https_app)
    client = https_app.test_client()
    miss, hit = read_thread(client, site), read_thread(client, site)
    assert len(calls) == 1  # the hit was answered before Flask
    for resp in (miss, hit):
        assert resp.headers["Strict-Transport-Security"] == HSTS


@pytest.mark.parametrize("path", ["/dashboard/login", "/", "/embed.js"])
def test_a_plain_http_service_sends_no_hsts(client, path):
    resp = client.get(path)
    assert resp.status_code == 200
    assert "Strict-Transport-Security" not in resp.headers
