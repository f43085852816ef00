"""Owners and moderators of a site: who may change what, and invitations by mail."""

from __future__ import annotations

import re
from email import message_from_string

import pytest
from sqlalchemy import select

from app.domain.roles import Role, SiteAction, allows
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import AuditEntry, Ban, Comment, Moderator, ModeratorInvite, OutboxMessage, Site
from app.services import mail, moderation, moderators, site_moderators
from tests.factories import make_comment, make_moderator, make_site
from tests.helpers import Dashboard, csrf_from

OWNER = "owner@example.com"
HELPER = "helper@example.com"
INVITEE = "new@example.com"
NEW_PASSWORD = "a long enough passphrase"


def make_helper(site: Site, email: str = HELPER) -> Moderator:
    """A moderator of the site's queue, not its owner."""
    make_moderator(site, email=email)
    return moderators.add_site(email, site.id, Role.MODERATOR)


@pytest.fixture
def owner(app, site) -> Dashboard:
    make_moderator(site, email=OWNER)
    dash = Dashboard(app.test_client())
    dash.sign_in(OWNER)
    return dash


@pytest.fixture
def helper(app, site) -> Dashboard:
    make_helper(site)
    dash = Dashboard(app.test_client())
    dash.sign_in(HELPER)
    return dash


def outbox() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def audit(site: Site) -> list[tuple[str, str, str]]:
    db.session.expire_all()
    rows = db.session.scalars(
        select(AuditEntry).where(AuditEntry.site_id == site.id).order_by(AuditEntry.id)
    )
    return [(e.moderator_email, e.action, e.detail) for e in rows]


def site_page(site: Site) -> str:
    return f"/dashboard/sites/{site.id}"


def invite(dash: Dashboard, site: Site, email: str = INVITEE, role: str = "moderator"):
    return dash.client.post(
        f"{site_page(site)}/moderators/invite",
        data={"email": email, "role": role, "csrf_token": dash.token(site_page(site))},
    )


def mailed_link(row: OutboxMessage | None = None) -> str:
    row = row or outbox()[-1]
    url = re.search(r"(http\S+/dashboard/invite/\S+)", row.body_text).group(1)
    return url.removeprefix("http://127.0.0.1:5000")


def accept(dash: Dashboard, link: str, password: str = NEW_PASSWORD):
    page = dash.client.get(link)
    token = csrf_from(page.text) if page.status_code == 200 else dash.token("/dashboard/login")
    return dash.client.post(
        link, data={"new_password": password, "confirm": password, "csrf_token": token}
    )


def settings_form(site: Site, **changes: str) -> dict[str, str]:
    return {"name": site.name, "origins": "https://blog.example", "moderation": "all", **changes}


# --- the rule ---------------------------------------------------------------------------------


def test_the_rule_gives_the_queue_to_moderators_and_everything_to_owners():
    assert all(allows(Role.OWNER, action) for action in SiteAction)
    assert allows(Role.MODERATOR, SiteAction.QUEUE)
    assert not any(allows(Role.MODERATOR, a) for a in SiteAction if a is not SiteAction.QUEUE)
    assert not allows(None, SiteAction.QUEUE)


def test_existing_grants_and_moderators_of_every_site_are_owners(app, site):
    pat = make_moderator(site)
    root = make_moderator()
    assert moderation.role_on(pat, site.id) is Role.OWNER
    assert moderation.role_on(root, make_site().id) is Role.OWNER
    assert moderation.role_on(pat, make_site().id) is None


# --- what a moderator may and may not do -------------------------------------------------------


def test_a_moderator_works_the_queue(helper, site):
    comment = make_comment(site=site)
    assert helper.act("approve", [comment.id]).status_code == 302
    db.session.expire_all()
    assert db.session.get_one(Comment, comment.id).status is CommentStatus.APPROVED
    assert helper.client.get(f"/dashboard/sites/{site.id}/bans").status_code == 200
    assert helper.client.get(f"/dashboard/comments/{comment.id}").status_code == 200


def test_a_moderator_replies_edits_pins_and_bans(helper, site):
    comment = make_comment(site=site, email="troll@example.com", name="Troll")
    page = f"/dashboard/comments/{comment.id}"
    token = helper.token(page)
    replied = helper.client.post(f"{page}/reply", data={"body": "Thanks!", "csrf_token": token})
    edited = helper.client.post(f"{page}/edit", data={"body": "Tidied.", "csrf_token": token})
    pinned = helper.client.post(f"{page}/pin", data={"pinned": "1", "csrf_token": token})
    banned = helper.client.post(f"{page}/ban", data={"by_email": "y", "csrf_token": token})
    assert {r.status_code for r in (replied, edited, pinned, banned)} == {302}
    db.session.expire_all()
    assert db.session.get_one(Comment, comment.id).body == "Tidied."
    assert db.session.get_one(Comment, comment.id).pinned
    assert db.session.scalars(select(Ban)).one().label == "Troll"
    ban = db.session.scalars(select(Ban)).one()
    bans = f"{site_page(site)}/bans"
    lifted = helper.client.post(
        f"/dashboard/bans/{ban.id}/lift", data={"csrf_token": helper.token(bans)}
    )
    assert lifted.status_code == 302 and db.session.scalars(select(Ban)).all() == []


def test_a_moderator_gets_403_on_everything_an_owner_does(helper, site):
    page = site_page(site)
    token = helper.token()
    assert helper.client.get(page).status_code == 403
    saved = helper.client.post(
        page, data={**settings_form(site, name="Hijacked"), "csrf_token": token}
    )
    assert saved.status_code == 403
    origin = helper.client.post(
        f"{page}/origins", data={"origin": "https://evil.example", "csrf_token": token}
    )
    assert origin.status_code == 403
    words = helper.client.post(
        f"{page}/words", data={"banned_words": "", "held_words": "", "csrf_token": token}
    )
    assert words.status_code == 403
    spam_filter = helper.client.post(
        f"{page}/filter", data={"filter_mode": "off", "csrf_token": token}
    )
    assert spam_filter.status_code == 403
    sso = helper.client.post(f"{page}/sso/on", data={"csrf_token": token})
    assert sso.status_code == 403
    hook = helper.client.post(
        f"{page}/webhook",
        data={
            "webhook_url": "https://hooks.example/in",
            "webhook_format": "json",
            "csrf_token": token,
        },
    )
    assert hook.status_code == 403
    assert helper.client.get(f"{page}/export").status_code == 403
    assert helper.client.get(f"{page}/audit").status_code == 403
    invited = helper.client.post(
        f"{page}/moderators/invite",
        data={"email": "friend@example.com", "role": "owner", "csrf_token": token},
    )
    assert invited.status_code == 403
    me = db.session.scalar(select(Moderator).where(Moderator.email == HELPER))
    promoted = helper.client.post(
        f"{page}/moderators/{me.id}/role", data={"role": "owner", "csrf_token": token}
    )
    assert promoted.status_code == 403
    db.session.expire_all()
    assert db.session.get_one(Site, site.id).name != "Hijacked"
    assert db.session.get_one(Site, site.id).origins == site.origins
    assert db.session.get_one(Site, site.id).sso_secret is None
    assert moderation.role_on(db.session.get_one(Moderator, me.id), site.id) is Role.MODERATOR
    assert outbox() == []
    assert "403" in helper.client.get(page).text  # the dashboard's own error page


def test_a_moderator_sees_no_links_to_what_they_cannot_use(helper, site):
    queue = helper.client.get("/dashboard/").text
    assert f'href="{site_page(site)}"' not in queue
    sites = helper.client.get("/dashboard/sites").text
    assert f'href="{site_page(site)}"' not in sites and "Add a site" not in sites
    assert f"/dashboard/?site={site.id}" in sites
    bans = helper.client.get(f"{site_page(site)}/bans").text
    assert f'href="{site_page(site)}"' not in bans


def test_a_moderator_of_no_owned_site_cannot_add_one(helper, site):
    data = {"name": "Mine now", "origins": "https://mine.example", "moderation": "all"}
    resp = helper.client.post("/dashboard/sites", data={**data, "csrf_token": helper.token()})
    assert resp.status_code == 403
    assert db.session.scalars(select(Site).where(Site.name == "Mine now")).all() == []


def test_another_sites_moderator_still_gets_404(owner, site):
    other = make_site()
    for path in ("", "/export", "/audit", "/bans"):
        assert owner.client.get(f"{site_page(other)}{path}").status_code == 404
    resp = owner.client.post(
        f"{site_page(other)}/moderators/invite",
        data={"email": "x@example.com", "role": "owner", "csrf_token": owner.token()},
    )
    assert resp.status_code == 404


def test_an_owner_can_do_it_all(owner, site):
    page = site_page(site)
    assert owner.client.get(page).status_code == 200
    assert owner.client.get(f"{page}/export").status_code == 200
    assert owner.client.get(f"{page}/audit").status_code == 200
    saved = owner.client.post(
        page, data={**settings_form(site, name="Renamed"), "csrf_token": owner.token(page)}
    )
    assert saved.status_code == 302


# --- the moderators section -------------------------------------------------------------------


def test_the_site_page_lists_moderators_with_their_roles(owner, site):
    make_helper(site)
    make_moderator(email="root@example.com")
    html = owner.client.get(site_page(site)).text
    section = html[html.index('id="moderators"') :]
    assert OWNER in section and HELPER in section and "root@example.com" in section
    assert "owner (of every site)" in section
    assert 'value="moderator" selected' in section
    assert ">Invite</button>" in section and ">Remove</button>" in section


def test_an_owner_changes_a_role_and_it_is_logged(owner, site):
    pat = make_helper(site)
    resp = owner.client.post(
        f"{site_page(site)}/moderators/{pat.id}/role",
        data={"role": "owner", "csrf_token": owner.token(site_page(site))},
    )
    assert resp.status_code == 302
    db.session.expire_all()
    assert moderation.role_on(db.session.get_one(Moderator, pat.id), site.id) is Role.OWNER
    assert (OWNER, "role", f"{HELPER} is now owner") in audit(site)


def test_the_last_owner_can_be_neither_removed_nor_demoted(owner, site):
    me = db.session.scalar(select(Moderator).where(Moderator.email == OWNER))
    token = owner.token(site_page(site))
    demoted = owner.client.post(
        f"{site_page(site)}/moderators/{me.id}/role",
        data={"role": "moderator", "csrf_token": token},
    )
    removed = owner.client.post(
        f"{site_page(site)}/moderators/{me.id}/remove", data={"csrf_token": token}
    )
    assert demoted.status_code == removed.status_code == 302
    page = owner.client.get(site_page(site))
    assert page.status_code == 200 and "A site needs an owner" in page.text
    db.session.expire_all()
    assert moderation.role_on(db.session.get_one(Moderator, me.id), site.id) is Role.OWNER


def test_with_a_second_owner_the_first_can_step_down(owner, site):
    second = make_helper(site, "second@example.com")
    moderators.add_site("second@example.com", site.id, Role.OWNER)
    me = db.session.scalar(select(Moderator).where(Moderator.email == OWNER))
    resp = owner.client.post(
        f"{site_page(site)}/moderators/{me.id}/role",
        data={"role": "moderator", "csrf_token": owner.token(site_page(site))},
    )
    assert resp.status_code == 302
    assert owner.client.get(site_page(site)).status_code == 403  # no longer an owner
    assert moderation.role_on(second, site.id) is Role.OWNER


def test_removing_a_moderator_ends_their_sessions_and_is_logged(owner, helper, site):
    assert helper.client.get("/dashboard/").status_code == 200
    pat = db.session.scalar(select(Moderator).where(Moderator.email == HELPER))
    resp = owner.client.post(
        f"{site_page(site)}/moderators/{pat.id}/remove",
        data={"csrf_token": owner.token(site_page(site))},
    )
    assert resp.status_code == 302
    after = helper.client.get("/dashboard/")
    assert after.status_code == 302 and "/dashboard/login" in after.headers["Location"]
    db.session.expire_all()
    assert moderation.role_on(db.session.get_one(Moderator, pat.id), site.id) is None
    assert (OWNER, "remove", f"removed {HELPER}") in audit(site)


def test_changes_to_moderators_need_the_csrf_token(owner, site):
    pat = make_helper(site)
    page = site_page(site)
    assert owner.client.post(f"{page}/moderators/{pat.id}/remove").status_code == 400
    assert (
        owner.client.post(f"{page}/moderators/{pat.id}/role", data={"role": "owner"}).status_code
        == 400
    )
    forged = owner.client.post(
        f"{page}/moderators/invite", data={"email": INVITEE, "role": "owner"}
    )
    assert forged.status_code == 400
    db.session.expire_all()
    assert moderation.role_on(db.session.get_one(Moderator, pat.id), site.id) is Role.MODERATOR
    assert outbox() == []


def test_a_moderator_of_every_site_is_not_removed_from_the_dashboard(owner, site):
    root = make_moderator(email="root@example.com")
    resp = owner.client.post(
        f"{site_page(site)}/moderators/{root.id}/remove",
        data={"csrf_token": owner.token(site_page(site))},
    )
    assert resp.status_code == 302
    assert moderation.role_on(db.session.get_one(Moderator, root.id), site.id) is Role.OWNER


# --- invitations ------------------------------------------------------------------------------


def test_an_invite_is_mailed_and_logged(owner, site):
    resp = invite(owner, site)
    assert resp.status_code == 302
    [row] = outbox()
    assert row.to == INVITEE and site.name in row.subject
    assert "/dashboard/invite/" in row.body_text and "as moderator" in row.body_text
    assert (OWNER, "invite", f"invited {INVITEE} as moderator") in audit(site)
    stored = db.session.scalars(select(ModeratorInvite)).one()
    assert mailed_link().rsplit("/", 1)[-1] not in stored.token_hash  # only a hash is kept
    assert INVITEE in owner.client.get(site_page(site)).text  # listed as invited


def test_opening_the_link_changes_nothing(app, owner, site):
    invite(owner, site)
    link = mailed_link()
    scanner = Dashboard(app.test_client())
    for _ in range(3):
        page = scanner.client.get(link)
        assert page.status_code == 200 and ">New password</label>" in page.text
    assert db.session.scalar(select(Moderator).where(Moderator.email == INVITEE)) is None
    assert db.session.scalars(select(ModeratorInvite)).one().used_at is None


def test_accepting_creates_a_moderator_of_the_queue_only(app, owner, site):
    invite(owner, site)
    invitee = Dashboard(app.test_client())
    done = accept(invitee, mailed_link())
    assert done.status_code == 302 and f"/dashboard/?site={site.id}" in done.headers["Location"]
    created = db.session.scalar(select(Moderator).where(Moderator.email == INVITEE))
    assert created is not None and not created.all_sites
    assert moderation.role_on(created, site.id) is Role.MODERATOR
    comment = make_comment(site=site)
    assert invitee.act("approve", [comment.id]).status_code == 302
    db.session.expire_all()
    assert db.session.get_one(Comment, comment.id).status is CommentStatus.APPROVED
    assert invitee.client.get(site_page(site)).status_code == 403
    assert (INVITEE, "join", "accepted the invitation as moderator") in audit(site)
    assert moderators.authenticate(INVITEE, NEW_PASSWORD) is not None


def test_an_invited_owner_becomes_an_owner(app, owner, site):
    invite(owner, site, role="owner")
    invitee = Dashboard(app.test_client())
    assert accept(invitee, mailed_link()).status_code == 302
    assert invitee.client.get(site_page(site)).status_code == 200


def test_a_link_works_once(app, owner, site):
    invite(owner, site)
    link = mailed_link()
    assert accept(Dashboard(app.test_client()), link).status_code == 302
    other = Dashboard(app.test_client())
    again = other.client.get(link)
    assert again.status_code == 410 and "already used" in again.text
    assert accept(other, link, "another long passphrase").status_code == 410
    assert moderators.authenticate(INVITEE, "another long passphrase") is None


def test_an_expired_or_tampered_link_is_refused(app, owner, site, clock):
    invite(owner, site)
    link = mailed_link()
    invitee = Dashboard(app.test_client())
    assert invitee.client.get(link + "x").status_code == 400
    assert invitee.client.get("/dashboard/invite/" + "A" * 5000).status_code in (400, 404)
    clock.advance(8 * 24 * 3600)
    expired = invitee.client.get(link)
    assert expired.status_code == 410 and "expired" in expired.text
    assert accept(invitee, link).status_code == 410
    assert db.session.scalar(select(Moderator).where(Moderator.email == INVITEE)) is None


def test_a_short_password_does_not_use_the_link(app, owner, site):
    invite(owner, site)
    link = mailed_link()
    invitee = Dashboard(app.test_client())
    short = accept(invitee, link, "short")
    assert short.status_code == 200 and "at least 10 characters" in short.text
    assert accept(invitee, link).status_code == 302


def test_reinviting_replaces_the_open_invite(app, owner, site):
    invite(owner, site, role="owner")
    first = mailed_link()
    invite(owner, site, role="moderator")
    second = mailed_link()
    assert len(db.session.scalars(select(ModeratorInvite)).all()) == 1
    invitee = Dashboard(app.test_client())
    assert invitee.client.get(first).status_code == 400
    assert accept(invitee, second).status_code == 302
    created = db.session.scalar(select(Moderator).where(Moderator.email == INVITEE))
    assert moderation.role_on(created, site.id) is Role.MODERATOR


def test_a_site_has_a_bounded_number_of_open_invites(app, owner, site, monkeypatch):
    monkeypatch.setattr(site_moderators, "OPEN_INVITES_MAX", 2)
    for n in range(3):
        invite(owner, site, email=f"friend{n}@example.com")
    assert len(outbox()) == 2
    assert "open invitations" in owner.client.get(site_page(site)).text


def test_inviting_a_current_moderator_is_refused(owner, site):
    make_helper(site)
    invite(owner, site, email=HELPER)
    assert outbox() == []
    assert "moderates this site already" in owner.client.get(site_page(site)).text


def test_an_existing_moderator_accepts_after_signing_in(app, owner, site):
    other = make_site()
    make_moderator(other, email="pat@example.com")
    invite(owner, site, email="pat@example.com")
    link = mailed_link()
    assert "sign in, then accept" in outbox()[-1].body_text
    pat = Dashboard(app.test_client())
    page = pat.client.get(link)
    assert page.status_code == 200 and "Sign in as pat@example.com" in page.text
    assert "New password" not in page.text
    # Not signed in, a POST does nothing.
    pat.client.post(link, data={"csrf_token": pat.token("/dashboard/login")})
    assert db.session.scalars(select(ModeratorInvite)).one().used_at is None
    pat.sign_in("pat@example.com")
    accepted = pat.client.post(link, data={"csrf_token": pat.token(link)})
    assert accepted.status_code == 302
    moderator = db.session.scalar(select(Moderator).where(Moderator.email == "pat@example.com"))
    assert moderation.role_on(moderator, site.id) is Role.MODERATOR
    assert moderation.role_on(moderator, other.id) is Role.OWNER


def test_someone_else_signed_in_cannot_accept_an_existing_moderators_invite(app, owner, site):
    make_moderator(make_site(), email="pat@example.com")
    invite(owner, site, email="pat@example.com")
    link = mailed_link()
    intruder = make_moderator(make_site(), email="intruder@example.com")
    dash = Dashboard(app.test_client())
    dash.sign_in("intruder@example.com")
    page = dash.client.get(link)
    assert ">Accept</button>" not in page.text
    dash.client.post(link, data={"csrf_token": dash.token()})
    assert moderation.role_on(intruder, site.id) is None
    assert db.session.scalars(select(ModeratorInvite)).one().used_at is None


def test_accepting_needs_the_csrf_token(app, owner, site):
    invite(owner, site)
    link = mailed_link()
    resp = Dashboard(app.test_client()).client.post(
        link, data={"new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert resp.status_code == 400
    assert db.session.scalar(select(Moderator).where(Moderator.email == INVITEE)) is None


def test_a_hostile_site_name_and_address_do_not_inject_into_the_mail(owner, site):
    hostile = '<a href="https://evil.example">Click</a>\r\nBcc: victim@example.com {{ 7*7 }}'
    db.session.get_one(Site, site.id).name = hostile[:100]
    db.session.commit()
    email = "o'neil&{{7*7}}@example.com"  # every character allowed in an address
    invite(owner, site, email=email)
    [row] = outbox()
    assert row.to == email
    assert '<a href="https://evil.example">' not in row.body_html
    assert "&lt;a href=" in row.body_html
    assert "o&#39;neil&amp;{{7*7}}@example.com" in row.body_html
    assert "49" not in row.body_text and "49" not in row.body_html
    assert "\nBcc:" not in row.body_text and "\r" not in row.subject and "\n" not in row.subject
    message = mail.build_message([row])
    parsed = message_from_string(message.as_string())
    assert parsed["Bcc"] is None and len(parsed.get_all("To")) == 1


def test_invites_are_limited_per_recipient(app, owner, site):
    for _ in range(5):
        invite(owner, site)
    assert len(outbox()) == 3  # RATELIMIT_RECIPIENT: 3 per hour


def test_an_owner_cancels_an_invite_and_its_link_stops_working(app, owner, helper, site):
    invite(owner, site)
    link = mailed_link()
    row = db.session.scalars(select(ModeratorInvite)).one()
    cancel = f"{site_page(site)}/invites/{row.id}/cancel"
    assert helper.client.post(cancel, data={"csrf_token": helper.token()}).status_code == 403
    assert owner.client.post(cancel).status_code == 400
    assert Dashboard(app.test_client()).client.get(link).status_code == 200
    assert owner.client.post(cancel, data={"csrf_token": owner.token()}).status_code == 302
    assert Dashboard(app.test_client()).client.get(link).status_code == 400
    assert (OWNER, "invite", f"cancelled invite of {INVITEE}") in audit(site)


def test_the_audit_page_shows_changes_to_moderators(owner, site):
    pat = make_helper(site)
    invite(owner, site)
    owner.client.post(
        f"{site_page(site)}/moderators/{pat.id}/remove",
        data={"csrf_token": owner.token(site_page(site))},
    )
    page = owner.client.get(f"{site_page(site)}/audit").text
    assert f"invited {INVITEE} as moderator" in page and f"removed {HELPER}" in page


def test_prune_drops_used_and_expired_invites(app, owner, site, runner, clock):
    invite(owner, site)
    accept(Dashboard(app.test_client()), mailed_link())
    invite(owner, site, email="later@example.com")
    invite(owner, site, email="open@example.com")
    clock.advance(3 * 24 * 3600)
    invite(owner, site, email="fresh@example.com")
    clock.advance(5 * 24 * 3600)  # the first three are past their week, the last one is not
    result = runner.invoke(args=["prune"])
    assert result.exit_code == 0, result.output
    assert "Dropped 3 invitation(s) to moderate" in result.output
    db.session.expire_all()
    assert [i.email for i in db.session.scalars(select(ModeratorInvite))] == ["fresh@example.com"]
