"""One decision between JSON and a page for every error; a blueprint only names its page."""

from __future__ import annotations

JSON = {"Accept": "application/json"}


def test_a_person_gets_the_blueprint_page_and_a_script_gets_json(client):
    page = client.get("/notifications/confirm/not-a-token")
    assert page.status_code == 400
    assert page.mimetype == "text/html"
    assert "This link is not valid." in page.text

    answer = client.get("/notifications/confirm/not-a-token", headers=JSON)
    assert answer.status_code == 400
    assert answer.json == {"error": {"code": "link_invalid", "message": "This link is not valid."}}


def test_a_browser_accepting_anything_gets_the_page(client):
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    for path in ("/privacy/not-a-token", "/notifications/unsubscribe/not-a-token"):
        resp = client.get(path, headers=browser)
        assert resp.status_code == 400 and resp.mimetype == "text/html", path
        assert client.get(path, headers=JSON).json["error"]["code"] == "link_invalid", path
