"""The dashboard's Sites page: every site with its snippet, and adding one."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.domain.states import ModerationMode
from app.extensions import db
from app.models import AuditEntry, Moderator, Site
from app.services import moderation
from tests.factories import make_moderator, make_site
from tests.helpers import Dashboard


@pytest.fixture
def dash(client) -> Dashboard:
    return Dashboard(client)


def add_site(dash: Dashboard, **fields: str):
    data = {"name": "Bread notes", "origins": "https://bread.example", "moderation": "all"}
    data.update(fields)
    return dash.client.post(
        "/dashboard/sites", data={**data, "csrf_token": dash.token("/dashboard/sites")}
    )


def test_the_sites_page_lists_my_sites_with_snippets_and_settings(dash, site):
    other = make_site()
    make_moderator(site, email="mod@example.com")
    dash.sign_in("mod@example.com")
    queue = dash.client.get("/dashboard/").text
    assert '<a href="/dashboard/sites">Sites</a>' in queue
    html = dash.client.get("/dashboard/sites").text
    assert f"<h2>{site.name}</h2>" in html and f"<h2>{other.name}</h2>" not in html
    assert f"data-site=&#34;{site.id}&#34;" in html  # the snippet, shown as text
    assert f'href="/dashboard/sites/{site.id}"' in html
    assert other.id not in html


def test_adding_a_site_grants_it_to_its_moderator_and_is_logged(dash, site):
    moderator = make_moderator(site, email="mod@example.com")
    dash.sign_in("mod@example.com")
    resp = add_site(
        dash,
        name="  Bread   notes ",
        origins="https://bread.example\nhttps://www.bread.example/",
        moderation="first-time",
    )
    assert resp.status_code == 302
    new = db.session.scalars(select(Site).where(Site.name == "Bread notes")).one()
    assert resp.headers["Location"].endswith(f"/dashboard/sites/{new.id}")
    assert new.origins == ["https://bread.example", "https://www.bread.example"]
    assert new.moderation is ModerationMode.FIRST_TIME
    db.session.expire_all()
    me = db.session.get(Moderator, moderator.id)
    assert {s.id for s in moderation.sites_of(me)} == {site.id, new.id}
    [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.site_id == new.id)).all()
    assert entry.moderator_email == "mod@example.com" and entry.action == "create"
    settings = dash.client.get(resp.headers["Location"])
    assert settings.status_code == 200 and f"data-site=&#34;{new.id}&#34;" in settings.text


def test_a_moderator_of_every_site_needs_no_grant(dash, site):
    make_moderator(email="all@example.com")
    dash.sign_in("all@example.com")
    assert add_site(dash).status_code == 302
    new = db.session.scalars(select(Site).where(Site.name == "Bread notes")).one()
    assert dash.client.get(f"/dashboard/sites/{new.id}").status_code == 200
    assert not db.session.scalars(select(Moderator).where(Moderator.sites.any())).all()


def test_a_site_with_a_bad_origin_is_not_added(dash, site):
    make_moderator(site, email="mod@example.com")
    dash.sign_in("mod@example.com")
    resp = add_site(dash, origins="https://*.bread.example")
    assert resp.status_code == 422 and "is not an origin" in resp.text
    empty = add_site(dash, name="")
    assert empty.status_code == 422
    assert db.session.scalars(select(Site)).all() == [site]


def test_adding_a_site_needs_the_csrf_token_and_a_sign_in(dash, client, site):
    data = {"name": "Forged", "origins": "https://forged.example", "moderation": "all"}
    assert client.post("/dashboard/sites", data=data).status_code in (302, 400)
    make_moderator(site, email="mod@example.com")
    dash.sign_in("mod@example.com")
    assert client.post("/dashboard/sites", data=data).status_code == 400
    assert db.session.scalars(select(Site)).all() == [site]


def test_the_settings_page_renames_the_site(dash, site):
    make_moderator(site, email="mod@example.com")
    dash.sign_in("mod@example.com")
    page = f"/dashboard/sites/{site.id}"
    resp = dash.client.post(
        page,
        data={
            "name": "Renamed blog",
            "origins": "\n".join(site.origins),
            "moderation": "all",
            "csrf_token": dash.token(page),
        },
    )
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Site, site.id).name == "Renamed blog"
    assert "renamed to Renamed blog" in dash.client.get(f"{page}/audit").text
