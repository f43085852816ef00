"""Managing the install without a database client: sites and moderators from the shell."""

from __future__ import annotations

from sqlalchemy import func, select

from app.domain.states import ModerationMode
from app.extensions import db
from app.models import Comment, Moderator, RefusedOrigin, Site, moderator_sites
from tests.factories import (
    HOST_ORIGIN,
    guest_payload,
    make_comment,
    make_moderator,
    make_site,
    post_json,
)
from tests.helpers import Dashboard


def fresh(site: Site) -> Site:
    db.session.expire_all()
    return db.session.get_one(Site, site.id)


def test_site_update_renames_and_changes_origins_and_moderation(runner, site):
    result = runner.invoke(
        args=[
            "site", "update", site.id, "--name", "  Neck  and back ",
            "--add-origin", "https://WWW.blog.example/", "--remove-origin", HOST_ORIGIN,
            "--moderation", "first-time",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    site = fresh(site)
    assert site.name == "Neck and back"
    assert site.origins == ["https://www.blog.example"]
    assert site.moderation is ModerationMode.FIRST_TIME
    assert "https://www.blog.example" in result.output


def test_site_update_takes_effect_for_readers_at_once(runner, client, site):
    new = "https://www.blog.example"
    refused = client.get(
        f"/api/v1/sites/{site.id}/thread", query_string={"url": f"{new}/p"}, headers={"Origin": new}
    )
    assert refused.status_code == 403
    assert runner.invoke(args=["site", "update", site.id, "--add-origin", new]).exit_code == 0
    db.session.commit()
    allowed = client.get(
        f"/api/v1/sites/{site.id}/thread", query_string={"url": f"{new}/p"}, headers={"Origin": new}
    )
    assert allowed.status_code == 200


def test_site_update_refuses_what_would_break_the_site(runner, site):
    for args, words in [
        (["--remove-origin", HOST_ORIGIN], "at least one origin"),
        (["--add-origin", "https://*.blog.example"], "not an origin"),
        (["--name", "   "], "1 to 100 characters"),
    ]:
        result = runner.invoke(args=["site", "update", site.id, *args])
        assert result.exit_code != 0 and words in result.output, result.output
    assert fresh(site).origins == [HOST_ORIGIN]
    unknown = runner.invoke(args=["site", "update", "nosuchsite", "--name", "x"])
    assert unknown.exit_code != 0 and "no site" in unknown.output.lower()


def test_site_delete_asks_then_removes_everything_of_that_site_only(runner, client, site):
    other = make_site()
    make_comment(site)
    post_json(client, site, guest_payload())
    kept = make_comment(other)
    moderator = make_moderator(site, other)
    db.session.add(RefusedOrigin(site_id=site.id, origin="https://x.example"))
    db.session.commit()

    declined = runner.invoke(args=["site", "delete", site.id], input="n\n")
    assert declined.exit_code != 0 and db.session.get(Site, site.id) is not None

    result = runner.invoke(args=["site", "delete", site.id], input="y\n")
    assert result.exit_code == 0, result.output
    assert "2 comment(s)" in result.output
    db.session.expire_all()
    assert db.session.get(Site, site.id) is None
    assert db.session.scalar(select(func.count(Comment.id))) == 1
    assert db.session.get(Comment, kept.id) is not None
    assert db.session.scalar(select(func.count()).select_from(RefusedOrigin)) == 0
    grants = db.session.scalars(
        select(moderator_sites.c.site_id).where(moderator_sites.c.moderator_id == moderator.id)
    ).all()
    assert grants == [other.id]
    gone = client.get(f"/api/v1/sites/{site.id}/thread", query_string={"url": "x"})
    assert gone.status_code == 404


def test_site_delete_with_yes_does_not_ask(runner, site):
    result = runner.invoke(args=["site", "delete", site.id, "--yes"])
    assert result.exit_code == 0 and "Deleted" in result.output


def test_moderator_list_shows_each_with_their_sites_and_roles(runner, site):
    other = make_site()
    make_moderator(site, other, email="pat@example.com")
    make_moderator(email="root@example.com")
    runner.invoke(
        args=["moderator", "add-site", "pat@example.com", other.id, "--role", "moderator"]
    )
    result = runner.invoke(args=["moderator", "list"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    roles = {site.id: "owner", other.id: "moderator"}
    named = ", ".join(f"{site_id} ({roles[site_id]})" for site_id in sorted(roles))
    assert f"pat@example.com  {named}" in lines
    assert "root@example.com  every site (owner)" in lines


def test_moderator_remove_ends_their_sessions(runner, client, site):
    make_moderator(site, email="pat@example.com")
    dash = Dashboard(client)
    dash.sign_in("pat@example.com")
    assert client.get("/dashboard/").status_code == 200

    result = runner.invoke(args=["moderator", "remove", "pat@example.com"])

    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count(Moderator.id))) == 0
    assert client.get("/dashboard/").status_code == 302
    again = runner.invoke(args=["moderator", "remove", "pat@example.com"])
    assert again.exit_code != 0 and "No moderator has that email" in again.output


def test_moderator_add_site_grants_one_more(runner, site):
    other = make_site()
    make_moderator(site, email="pat@example.com")
    for _ in range(2):  # a second time changes nothing
        result = runner.invoke(args=["moderator", "add-site", "pat@example.com", other.id])
        assert result.exit_code == 0, result.output
    grants = db.session.scalars(select(moderator_sites.c.site_id)).all()
    assert sorted(grants) == sorted([site.id, other.id])
    unknown = runner.invoke(args=["moderator", "add-site", "pat@example.com", "nosuchsite"])
    assert unknown.exit_code != 0


def grants() -> dict[str, str]:
    rows = db.session.execute(select(moderator_sites.c.site_id, moderator_sites.c.role))
    return {site_id: role for site_id, role in rows}


def test_moderator_add_site_takes_a_role_and_changes_it(runner, site):
    other = make_site()
    make_moderator(site, email="pat@example.com")
    added = runner.invoke(
        args=["moderator", "add-site", "pat@example.com", other.id, "--role", "moderator"]
    )
    assert added.exit_code == 0 and f"is moderator of {other.id}" in added.output
    roles = grants()
    assert roles == {site.id: "owner", other.id: "moderator"}
    runner.invoke(args=["moderator", "add-site", "pat@example.com", other.id])  # default owner
    roles = grants()
    assert roles == {site.id: "owner", other.id: "owner"}
    bad = runner.invoke(args=["moderator", "add-site", "pat@example.com", other.id, "--role", "x"])
    assert bad.exit_code != 0
