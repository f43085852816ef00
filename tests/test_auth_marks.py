"""The sign-in buttons' marks (app/auth/marks.py), sent in the site config."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from flask import Flask

from app.auth.marks import MARKS, Mark, check
from app.auth.providers import DEV_PROVIDER, PROVIDERS
from app.services import sites
from tests.factories import HOST_ORIGIN, POST_URL, make_comment, make_moderator
from tests.helpers import fresh_app

PROVIDER_KEYS = {
    "TWITTER_CLIENT_ID": "twitter-id",
    "TWITTER_CLIENT_SECRET": "twitter-secret",
    "FACEBOOK_CLIENT_ID": "facebook-id",
    "FACEBOOK_CLIENT_SECRET": "facebook-secret",
}


@pytest.fixture
def app(tmp_path) -> Iterator[Flask]:
    with fresh_app(tmp_path, DEV_LOGIN=True, **PROVIDER_KEYS) as app:
        yield app


def thread(client, site) -> dict:
    resp = client.get(
        f"/api/v1/sites/{site.id}/thread?url={quote(POST_URL, safe='')}",
        headers={"Origin": HOST_ORIGIN, "Accept-Encoding": "identity"},
    )
    assert resp.status_code == 200
    return resp.json


def test_every_provider_has_a_mark():
    assert {spec.name for spec in (*PROVIDERS, DEV_PROVIDER)} <= MARKS.keys()


def test_marks_are_path_data_and_colours_only():
    check(MARKS)
    for bad in ('M0 0"/><script>alert(1)</script>', "M0 0 url(#x)", "M0 0;fill:red", ""):
        with pytest.raises(ValueError, match="path"):
            check({"bad": Mark(bad, None)})
    for colour in ("red", "#0866ff", "#0866FF;", "#FFF"):
        with pytest.raises(ValueError, match="colour"):
            check({"bad": Mark("M0 0h24v24H0z", colour)})


def test_near_black_brands_take_the_text_colour():
    # currentColor keeps them visible on a dark page.
    assert MARKS["twitter"].color is MARKS["github"].color is MARKS["dev"].color is None
    assert MARKS["facebook"].color == "#0866FF"


def test_the_thread_carries_the_marks_of_the_providers_the_site_offers(client, site):
    providers = thread(client, site)["config"]["providers"]
    assert [(p["name"], p["mark"]["path"]) for p in providers] == [
        ("twitter", MARKS["twitter"].path),
        ("facebook", MARKS["facebook"].path),
        ("dev", MARKS["dev"].path),
    ]
    sites.update_settings(
        make_moderator(site),
        site.id,
        origins=site.origins,
        moderation=site.moderation,
        close_after_days=None,
        providers=["facebook"],
    )
    assert thread(client, site)["config"]["providers"] == [
        {
            "name": "facebook",
            "label": "Facebook",
            "mark": {"path": MARKS["facebook"].path, "color": "#0866FF"},
        }
    ]


def test_two_providers_marks_add_little_to_a_thread_page(app, client, site):
    app.config["DEV_LOGIN"] = False
    for n in range(5):
        make_comment(site, body=f"comment {n}")
    page = thread(client, site)
    without = json.loads(json.dumps(page))
    for provider in without["config"]["providers"]:
        del provider["mark"]

    def gzipped(data: dict) -> int:
        return len(gzip.compress(json.dumps(data, separators=(",", ":")).encode(), 9))

    assert [p["name"] for p in page["config"]["providers"]] == ["twitter", "facebook"]
    assert gzipped(page) - gzipped(without) < 600  # about 400 today
