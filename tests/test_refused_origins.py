"""A page on an origin the site does not allow: refused, remembered for the owner, one click
to allow it from the dashboard, and never a way for strangers to fill the database."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEntry, RefusedOrigin, Site
from app.services import sites
from tests.factories import HOST_ORIGIN, POST_URL, make_moderator, make_site
from tests.helpers import Dashboard

WWW = "https://www.blog.example"


def read_from(client, site, origin):
    return client.get(
        f"/api/v1/sites/{site.id}/thread",
        query_string={"url": POST_URL},
        headers={"Origin": origin},
    )


def stored(site):
    return db.session.scalars(select(RefusedOrigin).where(RefusedOrigin.site_id == site.id)).all()


def test_a_refused_page_is_remembered_once_per_window(client, site, clock):
    for _ in range(5):
        assert read_from(client, site, WWW).status_code == 403
    [row] = stored(site)
    assert (row.origin, row.requests) == (WWW, 1)

    clock.advance(sites.REFUSED_ORIGIN_WINDOW + 1)
    db.session.commit()
    assert read_from(client, site, "https://WWW.blog.example:443").status_code == 403
    db.session.expire_all()
    [row] = stored(site)
    assert row.requests in (1, 2)  # the in-process cache ages by its own clock


def test_strangers_cannot_fill_the_table(client, site):
    for n in range(3 * sites.REFUSED_ORIGINS_KEPT):
        read_from(client, site, f"https://spam{n}.example")
    for junk in [
        "null",
        "file://",
        "javascript:alert(1)",
        "https://" + "a" * 300,
        "ftp://x.example",
    ]:
        assert read_from(client, site, junk).status_code == 403
    rows = stored(site)
    assert len(rows) == sites.REFUSED_ORIGINS_KEPT
    assert all(r.origin.startswith("https://spam") for r in rows)


def test_allowed_origins_are_not_recorded(client, site):
    assert read_from(client, site, HOST_ORIGIN).status_code == 200
    assert db.session.scalar(select(func.count()).select_from(RefusedOrigin)) == 0


def test_the_owner_allows_a_refused_origin_with_one_click(client, site):
    other = make_site(origins=["https://elsewhere.example"])
    read_from(client, site, WWW)
    read_from(client, other, "https://not-mine.example")
    make_moderator(site, email="owner@example.com")
    dash = Dashboard(client)
    dash.sign_in("owner@example.com")

    page = client.get(f"/dashboard/sites/{site.id}")
    assert WWW in page.text and "not-mine.example" not in page.text
    answer = client.post(
        f"/dashboard/sites/{site.id}/origins",
        data={"origin": WWW, "csrf_token": dash.token(f"/dashboard/sites/{site.id}")},
    )
    assert answer.status_code == 302

    db.session.expire_all()
    assert WWW in db.session.get_one(Site, site.id).origins
    assert stored(site) == []
    assert (
        db.session.scalar(select(AuditEntry.detail).where(AuditEntry.site_id == site.id))
        == f"added origin {WWW}"
    )
    assert read_from(client, site, WWW).status_code == 200


def test_allowing_needs_the_token_and_the_site(client, site):
    other = make_site(origins=["https://elsewhere.example"])
    make_moderator(site, email="owner@example.com")
    dash = Dashboard(client)
    dash.sign_in("owner@example.com")
    token = dash.token(f"/dashboard/sites/{site.id}")

    forged = client.post(f"/dashboard/sites/{site.id}/origins", data={"origin": WWW})
    foreign = client.post(
        f"/dashboard/sites/{other.id}/origins", data={"origin": WWW, "csrf_token": token}
    )
    garbage = client.post(
        f"/dashboard/sites/{site.id}/origins",
        data={"origin": "javascript:alert(1)", "csrf_token": token},
    )

    assert (forged.status_code, foreign.status_code) == (400, 404)
    assert garbage.status_code == 302  # back to the settings, saying what was wrong
    assert "is not an origin" in client.get(garbage.headers["Location"]).text
    db.session.expire_all()
    assert db.session.get_one(Site, site.id).origins == [HOST_ORIGIN]
    assert db.session.get_one(Site, other.id).origins == ["https://elsewhere.example"]
