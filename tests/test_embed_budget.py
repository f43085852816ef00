"""The widget's size budget (docs/embedding.md) and how its scripts are cached."""

from __future__ import annotations

import gzip

import pytest
from flask.testing import FlaskClient

from app.embed.bundle import SOURCES
from app.embed.routes import minified

BUDGET = 12_288  # bytes of embed.js, styles included, after gzip -9


def test_embed_script_fits_the_budget_gzipped(client: FlaskClient) -> None:
    """What readers download: the script as served (minified), styles included."""
    served = client.get("/embed.js").data
    size = len(gzip.compress(served, compresslevel=9, mtime=0))
    assert size <= BUDGET, f"embed.js is {size} bytes gzipped; the budget is {BUDGET}"


PATHS = {"embed.js": "/embed.js", "count.js": "/count.js", "tools.js": "/embed/tools.js"}


@pytest.mark.parametrize("name", sorted(PATHS))
def test_script_is_served_cacheable_and_revalidates(client: FlaskClient, name: str) -> None:
    path = PATHS[name]
    first = client.get(path)
    assert first.status_code == 200
    assert first.content_type == "text/javascript; charset=utf-8"
    source = SOURCES[name]()
    assert first.data == minified(source)
    assert len(first.data) < len(source.encode())
    assert first.headers["Cache-Control"] == "public, max-age=600, stale-while-revalidate=86400"
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    etag = first.headers["ETag"]
    assert etag.startswith('"'), "the ETag must be strong"

    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag

    changed = client.get(path, headers={"If-None-Match": '"something-else"'})
    assert changed.status_code == 200 and changed.data == first.data


def test_embed_js_asks_for_the_tools_of_its_own_release(client: FlaskClient) -> None:
    """A cached embed.js never runs tools.js of another release: the version is in the URL."""
    from app.embed.bundle import tools_version

    served = client.get("/embed.js").get_data(as_text=True)
    assert f'"{tools_version()}"' in served
    assert "/embed/tools.js?v=" in served
