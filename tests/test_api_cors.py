"""Only a site's registered origins may use its threads, checked on every request."""

from __future__ import annotations

import pytest

from tests.factories import HOST_ORIGIN, POST_URL


def preflight(client, site, origin, method="POST"):
    return client.options(
        f"/api/v1/sites/{site.id}/comments",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type",
        },
    )


def test_preflight_from_a_registered_origin(client, site):
    resp = preflight(client, site, HOST_ORIGIN)
    assert resp.status_code == 204
    assert resp.headers["Access-Control-Allow-Origin"] == HOST_ORIGIN
    assert "POST" in resp.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in resp.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in resp.headers


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "https://blog.example.evil.example",
        "https://evilblog.example",
        "https://x.blog.example",
        "http://blog.example",
        "https://blog.example:8443",
        "null",
    ],
)
def test_preflight_from_any_other_origin_gets_no_cors_headers(client, site, origin):
    resp = preflight(client, site, origin)
    assert resp.status_code == 403
    assert "Access-Control-Allow-Origin" not in resp.headers


def test_read_from_registered_origin_gets_cors_headers(client, site):
    resp = client.get(
        f"/api/v1/sites/{site.id}/thread",
        query_string={"url": POST_URL},
        headers={"Origin": HOST_ORIGIN},
    )
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] == HOST_ORIGIN
    assert "Origin" in resp.headers["Vary"]


def test_read_from_a_foreign_origin_is_refused_but_the_error_is_readable(client, site):
    resp = client.get(
        f"/api/v1/sites/{site.id}/thread",
        query_string={"url": POST_URL},
        headers={"Origin": "https://evil.example"},
    )
    assert resp.status_code == 403
    assert resp.json == {
        "error": {
            "code": "origin_not_allowed",
            "message": "This page is not allowed to use these comments.",
        }
    }
    assert "comments" not in resp.json


def test_read_without_origin_is_public(client, site):
    resp = client.get(f"/api/v1/sites/{site.id}/thread", query_string={"url": POST_URL})
    assert resp.status_code == 200
    assert "Access-Control-Allow-Origin" not in resp.headers


def test_unknown_route_and_method_answer_json(client, site):
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json["error"]["code"] == "not_found"
    wrong = client.put(f"/api/v1/sites/{site.id}/thread", headers={"Origin": HOST_ORIGIN})
    assert wrong.status_code == 405
    assert wrong.json["error"]["code"] == "method_not_allowed"


def test_site_config_lists_limits_and_no_providers_by_default(client, site):
    resp = client.get(f"/api/v1/sites/{site.id}/config", headers={"Origin": HOST_ORIGIN})
    assert resp.json["site"] == {"id": site.id, "name": site.name}
    assert resp.json["providers"] == []
    assert resp.json["limits"]["body"] == 10_000
