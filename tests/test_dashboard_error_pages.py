"""An HTTP error on a dashboard page comes in the dashboard's layout, with Werkzeug's wording."""

from __future__ import annotations

from tests.factories import make_moderator, make_site
from tests.helpers import Dashboard


def test_a_site_not_mine_is_not_found_on_a_dashboard_page(client, site):
    make_moderator(site, email="mod@example.com")
    dash = Dashboard(client)
    dash.sign_in("mod@example.com")
    answer = client.get(f"/dashboard/sites/{make_site().id}")
    assert answer.status_code == 404
    page = answer.text
    assert "<title>404 Not Found · Afterword</title>" in page
    assert '<nav aria-label="Dashboard">' in page and "<main>" in page
    assert "<h1>Not Found</h1>" in page
    assert "The requested URL was not found on the server." in page
    assert "Content-Security-Policy" in answer.headers


def test_a_stale_form_says_so_on_a_dashboard_page_even_to_the_script(client, site):
    make_moderator(site, email="mod@example.com")
    Dashboard(client).sign_in("mod@example.com")
    answer = client.post(
        "/dashboard/comments/act",
        data={"action": "approve"},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.mimetype == "text/html"  # the script reads it as "reload this page"
    assert "<h1>Bad Request</h1>" in answer.text and "<main>" in answer.text
    assert "The CSRF token is missing." in answer.text


def test_scripts_asking_for_json_still_get_json(client, site):
    make_moderator(site, email="mod@example.com")
    dash = Dashboard(client)
    dash.sign_in("mod@example.com")
    answer = client.get(
        f"/dashboard/sites/{make_site().id}", headers={"Accept": "application/json"}
    )
    assert answer.status_code == 404
    assert answer.json["error"]["code"] == "not_found"
