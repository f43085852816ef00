"""Resetting a forgotten dashboard password by a mailed, one-time link."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Moderator, OutboxMessage
from app.services import moderators
from tests.factories import MODERATOR_PASSWORD, make_moderator
from tests.helpers import Dashboard, csrf_from

SENT = "If that address belongs to a moderator, a link to set a new password is on its way."
NEW_PASSWORD = "a much better passphrase"


@pytest.fixture
def dash(client) -> Dashboard:
    return Dashboard(client)


def outbox() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def ask_for_link(dash: Dashboard, email: str):
    page = dash.client.get("/dashboard/password/forgot")
    return dash.client.post(
        "/dashboard/password/forgot", data={"email": email, "csrf_token": csrf_from(page.text)}
    )


def mailed_link() -> str:
    [row] = outbox()
    url = re.search(r"(http\S+/dashboard/password/reset/\S+)", row.body_text).group(1)
    return url.removeprefix("http://127.0.0.1:5000")


def set_new_password(dash: Dashboard, link: str, password: str = NEW_PASSWORD, again=None):
    page = dash.client.get(link)
    token = csrf_from(page.text) if page.status_code == 200 else dash.token("/dashboard/login")
    return dash.client.post(
        link,
        data={"new_password": password, "confirm": again or password, "csrf_token": token},
    )


def test_the_sign_in_page_links_to_the_reset(client):
    html = client.get("/dashboard/login").text
    assert 'href="/dashboard/password/forgot">Forgot your password?</a>' in html


def test_a_mailed_link_sets_a_new_password_and_signs_in(dash, site):
    make_moderator(site, email="mod@example.com")
    asked = ask_for_link(dash, "MOD@example.com ")
    assert asked.status_code == 200 and SENT in asked.text
    [row] = outbox()
    assert row.to == "mod@example.com" and "new password" in row.subject

    link = mailed_link()
    form = dash.client.get(link)
    assert form.status_code == 200
    assert ">New password</label>" in form.text and ">New password again</label>" in form.text
    done = set_new_password(dash, link)
    assert done.status_code == 302 and done.headers["Location"].endswith("/dashboard/")
    assert dash.client.get("/dashboard/").status_code == 200  # signed in

    db.session.expire_all()
    assert moderators.authenticate("mod@example.com", NEW_PASSWORD) is not None
    assert moderators.authenticate("mod@example.com", MODERATOR_PASSWORD) is None


def test_a_reset_ends_every_other_session(app, site):
    make_moderator(site, email="mod@example.com")
    elsewhere = Dashboard(app.test_client())
    elsewhere.sign_in("mod@example.com")
    assert elsewhere.client.get("/dashboard/").status_code == 200
    here = Dashboard(app.test_client())
    ask_for_link(here, "mod@example.com")
    assert set_new_password(here, mailed_link()).status_code == 302
    assert elsewhere.client.get("/dashboard/").status_code == 302


def test_the_two_passwords_must_match_and_be_long_enough(dash, site):
    make_moderator(site, email="mod@example.com")
    ask_for_link(dash, "mod@example.com")
    link = mailed_link()
    mismatch = set_new_password(dash, link, again="something else entirely")
    assert mismatch.status_code == 200 and "The two do not match." in mismatch.text
    short = set_new_password(dash, link, "short")
    assert short.status_code == 200 and "at least 10 characters" in short.text
    # Neither used the link up.
    assert set_new_password(dash, link).status_code == 302


def test_a_link_works_once(app, site):
    make_moderator(site, email="mod@example.com")
    dash = Dashboard(app.test_client())
    ask_for_link(dash, "mod@example.com")
    link = mailed_link()
    assert set_new_password(dash, link).status_code == 302
    other = Dashboard(app.test_client())
    again = other.client.get(link)
    assert again.status_code == 410 and "already used" in again.text
    reused = set_new_password(other, link, "yet another passphrase")
    assert reused.status_code == 410
    db.session.expire_all()
    assert moderators.authenticate("mod@example.com", NEW_PASSWORD) is not None


def test_an_old_link_stops_working_once_the_password_changed(dash, site):
    moderator = make_moderator(site, email="mod@example.com")
    ask_for_link(dash, "mod@example.com")
    link = mailed_link()
    moderators.set_password(db.session.get(Moderator, moderator.id), "changed some other way")
    resp = dash.client.get(link)
    assert resp.status_code == 410 and "the password was changed" in resp.text
    assert set_new_password(dash, link).status_code == 410
    db.session.expire_all()
    assert moderators.authenticate("mod@example.com", "changed some other way") is not None


def test_an_unknown_address_gets_the_same_answer_and_no_mail(dash, site):
    make_moderator(site, email="mod@example.com")
    known = ask_for_link(dash, "mod@example.com")
    unknown = ask_for_link(dash, "nobody@example.com")
    assert unknown.status_code == known.status_code == 200
    assert SENT in unknown.text
    assert unknown.text == known.text.replace("mod@example.com", "nobody@example.com")
    assert [row.to for row in outbox()] == ["mod@example.com"]


def test_a_tampered_or_expired_link_is_refused(dash, site, clock):
    make_moderator(site, email="mod@example.com")
    ask_for_link(dash, "mod@example.com")
    link = mailed_link()
    token = link.rsplit("/", 1)[1]
    forged = link.replace(token, token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb"))
    bad = dash.client.get(forged)
    assert bad.status_code == 400 and "This link is not valid." in bad.text
    assert set_new_password(dash, forged).status_code == 400

    clock.advance(moderators.RESET_SECONDS + 60)
    old = dash.client.get(link)
    assert old.status_code == 410 and "This link has expired." in old.text
    db.session.expire_all()
    assert moderators.authenticate("mod@example.com", MODERATOR_PASSWORD) is not None


def test_a_reset_link_is_no_other_link(dash, site):
    """A token of another purpose (a mail's approve link) does not open the reset form."""
    from app.services import links

    moderator = make_moderator(site, email="mod@example.com")
    token = links.sign(links.MAIL_ACTION, {"m": moderator.id, "p": "x", "j": "y"})
    assert dash.client.get(f"/dashboard/password/reset/{token}").status_code == 400


def test_asking_is_rate_limited(dash, site):
    make_moderator(site, email="mod@example.com")
    for _ in range(5):
        assert ask_for_link(dash, "someone@example.com").status_code == 200
    limited = ask_for_link(dash, "mod@example.com")
    assert limited.status_code == 429 and "Too many attempts." in limited.text
    assert outbox() == []


def test_one_address_gets_only_a_few_links(app, site):
    make_moderator(site, email="mod@example.com")
    for _ in range(4):  # under the per-client limit (5): only the recipient's limit applies
        assert SENT in ask_for_link(Dashboard(app.test_client()), "mod@example.com").text
    assert len(outbox()) == 3  # RATELIMIT_RECIPIENT: 3 per hour
