"""Query-string permalinks (`/?p=123`, WordPress's plain permalinks): the parameters that name
a page are part of its thread key, everything a link adds on the way (utm_*, replytocom) is
not, and the server, the fast path, counts, imports and the widget agree on it."""

from __future__ import annotations

import gzip
import json

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app.domain.errors import UrlNotAllowed
from app.domain.policy import PAGE_PARAMS, canonical_url, page_address, thread_key
from app.embed.bundle import embed_source
from app.extensions import db
from app.models import Site, Thread
from app.services.importers import wordpress
from app.services.importing import import_threads
from tests.factories import HOST_ORIGIN, guest_payload, make_comment, post_json
from tests.helpers import plain_permalink_export

HOME = f"{HOST_ORIGIN}/"
GZIP = {"Accept-Encoding": "gzip"}


@pytest.mark.parametrize(
    ("url", "key"),
    [
        (f"{HOST_ORIGIN}/?p=123", f"{HOST_ORIGIN}/?p=123"),
        (f"{HOST_ORIGIN}?p=123", f"{HOST_ORIGIN}/?p=123"),
        (f"{HOST_ORIGIN}/?p=123&utm_source=x&utm_medium=mail", f"{HOST_ORIGIN}/?p=123"),
        (f"{HOST_ORIGIN}/?utm_source=x&p=123#comment-4", f"{HOST_ORIGIN}/?p=123"),
        (f"{HOST_ORIGIN}/?p=123&replytocom=7", f"{HOST_ORIGIN}/?p=123"),
        (f"{HOST_ORIGIN}/?p=%31%323", f"{HOST_ORIGIN}/?p=123"),  # one spelling of a value
        (f"{HOST_ORIGIN}/?page_id=2&p=9", f"{HOST_ORIGIN}/?p=9&page_id=2"),  # one order
        (f"{HOST_ORIGIN}/?p=9&page_id=2&p=9", f"{HOST_ORIGIN}/?p=9&page_id=2"),
        (f"{HOST_ORIGIN}/?attachment_id=5", f"{HOST_ORIGIN}/?attachment_id=5"),
        (f"{HOST_ORIGIN}/post.php?id=3&sort=new", f"{HOST_ORIGIN}/post.php?id=3"),
        (f"{HOST_ORIGIN}/read?story=caf%C3%A9&page=2", f"{HOST_ORIGIN}/read?story=caf%C3%A9"),
        (f"{HOST_ORIGIN}/?p=", HOME),  # blank: names nothing
        (f"{HOST_ORIGIN}/?utm_source=x&fbclid=abc&gclid=d", HOME),
        (f"{HOST_ORIGIN}/?", HOME),
        (f"{HOST_ORIGIN}/2026/post/?amp=1&ref=feed", f"{HOST_ORIGIN}/2026/post/"),
        (f"{HOST_ORIGIN}/2026/post/", f"{HOST_ORIGIN}/2026/post/"),  # as before
        (f"{HOST_ORIGIN}/?P=1", HOME),  # WordPress reads `p`, not `P`
        (f"{HOST_ORIGIN}/x?p=%FF", f"{HOST_ORIGIN}/x?p=%FF"),  # not UTF-8: kept as quoted
    ],
)
def test_the_key_keeps_only_the_parameters_that_name_the_page(url: str, key: str) -> None:
    assert canonical_url(url) == key
    assert canonical_url(key) == key  # a key is its own key


def test_other_pages_are_other_threads() -> None:
    keys = {
        canonical_url(url)
        for url in (
            f"{HOST_ORIGIN}/?p=123",
            f"{HOST_ORIGIN}/?p=124",
            f"{HOST_ORIGIN}/?page_id=123",
            f"{HOST_ORIGIN}/?p=123&page_id=1",
            HOME,
        )
    }
    assert len(keys) == 5


def test_a_page_address_keeps_its_whole_query_but_stays_on_the_site() -> None:
    page = f"{HOST_ORIGIN}/?p=1&utm_source=x#top"
    assert page_address(page, [HOST_ORIGIN]) == f"{HOST_ORIGIN}/?p=1&utm_source=x"
    assert thread_key(page, [HOST_ORIGIN]) == f"{HOST_ORIGIN}/?p=1"
    with pytest.raises(UrlNotAllowed):
        page_address("https://elsewhere.example/?p=1", [HOST_ORIGIN])


def test_the_widget_keeps_the_servers_parameters() -> None:
    """One list: the widget's default URL filters the query with the server's own."""
    assert f"const PAGE_PARAMS = {json.dumps(list(PAGE_PARAMS))};" in embed_source()


def read(client: FlaskClient, site: Site, url: str, **headers: str) -> dict:
    resp = client.get(
        f"/api/v1/sites/{site.id}/thread",
        query_string={"url": url},
        headers={"Origin": HOST_ORIGIN, **headers},
    )
    assert resp.status_code == 200
    data = resp.get_data()
    return json.loads(gzip.decompress(data) if resp.headers.get("Content-Encoding") else data)


def bodies(answer: dict) -> list[str]:
    return [c["html"] for c in answer["comments"]]


def test_a_comment_on_a_plain_permalink_is_read_with_tracking_parameters(client, site):
    posted = post_json(
        client, site, guest_payload(url=f"{HOST_ORIGIN}/?p=1&utm_source=feed", body="On one.")
    )
    assert posted.status_code == 201
    assert db.session.scalars(select(Thread.url)).all() == [f"{HOST_ORIGIN}/?p=1"]
    make_comment(site, url=f"{HOST_ORIGIN}/?p=1")  # approved, so that guests see the thread

    for headers in ({}, GZIP, GZIP):  # through Flask, then cached and in front of it
        answer = read(client, site, f"{HOST_ORIGIN}/?p=1&utm_medium=mail", **headers)
        assert answer["thread"]["url"] == f"{HOST_ORIGIN}/?p=1"
        assert len(bodies(answer)) == 1
        # another post, and the front page, have threads of their own (none yet)
        for other in (f"{HOST_ORIGIN}/?p=2", f"{HOST_ORIGIN}/?utm_source=x", HOME):
            assert bodies(read(client, site, other, **headers)) == []


def test_the_fast_path_reads_every_spelling_as_flask_does(client, site):
    make_comment(site, url=f"{HOST_ORIGIN}/?p=1", body="First post.")
    make_comment(site, url=f"{HOST_ORIGIN}/?p=2", body="Second post.")
    read(client, site, f"{HOST_ORIGIN}/?p=1", **GZIP)  # cached under its key
    read(client, site, f"{HOST_ORIGIN}/?p=2", **GZIP)
    for url, text in [
        (f"{HOST_ORIGIN}/?utm_source=x&p=1", "First post."),
        (f"{HOST_ORIGIN}/?p=2&utm_source=x", "Second post."),
        (f"{HOST_ORIGIN}/?p=%31", "First post."),
    ]:
        for _ in range(2):  # the second from the fast path's memo of the URL as sent
            assert bodies(read(client, site, url, **GZIP)) == [f"<p>{text}</p>"]


def test_counts_count_a_plain_permalink_under_any_spelling(client, site):
    make_comment(site, url=f"{HOST_ORIGIN}/?p=1")
    asked = [f"{HOST_ORIGIN}/?p=1", f"{HOST_ORIGIN}/?p=1&utm_source=x#comments", HOME]
    asked += [f"{HOST_ORIGIN}/?p=2"]
    for headers in ({}, GZIP, GZIP):
        resp = client.get(
            f"/api/v1/sites/{site.id}/counts",
            query_string=[("url", url) for url in asked],
            headers={"Origin": HOST_ORIGIN, **headers},
        )
        data = resp.get_data()
        counts = json.loads(gzip.decompress(data) if resp.headers.get("Content-Encoding") else data)
        assert counts == {"counts": dict(zip(asked, [1, 1, 0, 0], strict=True))}


def test_an_imported_plain_permalink_post_is_the_thread_its_page_reads(client, site, tmp_path):
    export = plain_permalink_export(tmp_path, f"{HOST_ORIGIN}/?p=123", "Crusty!")
    import_threads(site, wordpress.parse(export))
    assert db.session.scalars(select(Thread.url)).all() == [f"{HOST_ORIGIN}/?p=123"]
    # What the widget sends from the post, as a reader may arrive at it.
    answer = read(client, site, f"{HOST_ORIGIN}/?p=123&replytocom=7")
    assert bodies(answer) == ["<p>Crusty!</p>"]
    assert bodies(read(client, site, HOME)) == []
