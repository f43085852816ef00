"""Moderators sign in to the dashboard with Mastodon, against fake Mastodon servers on loopback.

The moderator names their server on the sign-in page (or on the account page, to link an
account); the round trip is the readers' own (app/auth/mastodon.py), bound to the moderator
purpose instead of a widget's flow.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import MastodonApp, ModeratorIdentity
from tests.factories import make_moderator
from tests.fakes.mastodon import FakeMastodon
from tests.helpers import Dashboard, csrf_from, fresh_app, leaving_for

PUBLIC_URL = "http://127.0.0.1:5000"
CALLBACK = f"{PUBLIC_URL}/auth/mastodon/callback"
ADA = "109348573495873945"
MOD, OTHER_MOD = "mod@example.com", "other@example.com"
NOT_LINKED = "No moderator account is linked to this Mastodon account."


@pytest.fixture(scope="module")
def social() -> Iterator[FakeMastodon]:
    with FakeMastodon() as server:
        yield server


@pytest.fixture(scope="module")
def other() -> Iterator[FakeMastodon]:
    with FakeMastodon() as server:
        yield server


@pytest.fixture(autouse=True)
def reset_fakes(social, other) -> None:
    social.reset()
    other.reset()


@pytest.fixture
def app(tmp_path) -> Iterator[Flask]:
    with fresh_app(
        tmp_path,
        PUBLIC_URL=PUBLIC_URL,
        MASTODON_LOGIN=True,
        MASTODON_ALLOW_LOOPBACK=True,
        MASTODON_TIMEOUT=1.0,
    ) as app:
        yield app


@pytest.fixture
def moderators(site) -> None:
    make_moderator(site, email=MOD)
    make_moderator(site, email=OTHER_MOD)


def start_login(client, server: object):
    token = csrf_from(client.get("/dashboard/login").text)
    return client.post("/dashboard/login/mastodon", data={"csrf_token": token, "server": server})


def start_link(client, server: object):
    token = csrf_from(client.get("/dashboard/account").text)
    return client.post("/dashboard/link/mastodon", data={"csrf_token": token, "server": server})


def authorize_url(started) -> str:
    """Where the page the form's POST answered sends the browser on to (dashboard/leaving.html)."""
    assert started.status_code == 200, started.text
    return leaving_for(started.text)


def back(client, redirect: str):
    assert redirect.startswith(CALLBACK + "?"), redirect
    return client.get(redirect.removeprefix(PUBLIC_URL))


def link(client, server: FakeMastodon, account: str | None = None):
    return back(
        client, server.consent(authorize_url(start_link(client, server.base_url)), account=account)
    )


def sign_in(client, server: FakeMastodon, account: str | None = None):
    return back(
        client, server.consent(authorize_url(start_login(client, server.base_url)), account=account)
    )


def page_after(client, done, path: str) -> str:
    """The page a finished round trip sent the moderator to, with what it flashed."""
    assert done.status_code == 302, done.text
    assert urlsplit(done.headers["Location"]).path == path, done.headers["Location"]
    return client.get(path).text


def linked_moderator(client, server: FakeMastodon, email: str = MOD) -> None:
    Dashboard(client).sign_in(email)
    page = page_after(client, link(client, server), "/dashboard/account")
    assert "You can now sign in with Mastodon." in page
    client.post("/dashboard/logout", data={"csrf_token": Dashboard(client).token()})


def is_signed_in(client) -> bool:
    return client.get("/dashboard/").status_code == 200


# --- the forms -------------------------------------------------------------------------------


def test_the_forms_name_a_server_only_when_mastodon_is_on(app, client, moderators):
    login = client.get("/dashboard/login").text
    assert '<label for="server">Your Mastodon server</label>' in login
    assert ">Sign in with Mastodon</button>" in login
    Dashboard(client).sign_in(MOD)
    account = client.get("/dashboard/account").text
    assert '<label for="server">Your Mastodon server</label>' in account
    assert ">Link Mastodon</button>" in account

    app.config["MASTODON_LOGIN"] = False
    assert "Your Mastodon server" not in client.get("/dashboard/account").text
    assert start_link(client, "mastodon.social").status_code == 404
    client.post("/dashboard/logout", data={"csrf_token": Dashboard(client).token()})
    assert "Your Mastodon server" not in client.get("/dashboard/login").text
    assert start_login(client, "mastodon.social").status_code == 404


# --- the whole round trip ------------------------------------------------------------------


def test_a_moderator_links_mastodon_then_signs_in_with_it(app, client, moderators, social):
    Dashboard(client).sign_in(MOD)
    authorize = authorize_url(start_link(client, social.base_url))

    [registration] = social.requests_to("/api/v1/apps")
    assert registration.data["redirect_uris"] == CALLBACK
    [app_] = social.apps
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(f"{social.base_url}/oauth/authorize?")
    assert query["client_id"] == [app_.client_id]
    assert query["redirect_uri"] == [CALLBACK]
    assert query["scope"] == ["read:accounts"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["state"][0]) >= 32

    account = page_after(client, back(client, social.consent(authorize)), "/dashboard/account")
    assert "You can now sign in with Mastodon." in account
    assert f"Mastodon: @ada@{social.name}" in account  # the acct, not the display name
    [exchange] = social.requests_to("/oauth/token")
    verifier = exchange.data["code_verifier"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert query["code_challenge"] == [challenge.decode()]
    link_row = db.session.scalars(select(ModeratorIdentity)).one()
    assert (link_row.provider, link_row.provider_user_id) == ("mastodon", f"{ADA}@{social.name}")
    assert link_row.name == "Ada Lovelace"  # still what replies by moderators are checked against
    client.post("/dashboard/logout", data={"csrf_token": Dashboard(client).token()})
    assert not is_signed_in(client)

    browser = app.test_client()
    done = sign_in(browser, social)
    assert done.status_code == 302 and done.headers["Location"].endswith("/dashboard/")
    assert is_signed_in(browser)
    assert len(social.requests_to("/api/v1/apps")) == 1  # registered once, used twice


def test_an_unlinked_mastodon_account_cannot_sign_in(client, moderators, social):
    page = page_after(client, sign_in(client, social), "/dashboard/login")
    assert NOT_LINKED in page
    assert not is_signed_in(client)


def test_the_same_account_id_on_another_server_is_someone_else(
    app, client, moderators, social, other
):
    linked_moderator(client, social)
    browser = app.test_client()
    page = page_after(browser, sign_in(browser, other), "/dashboard/login")
    assert NOT_LINKED in page
    assert not is_signed_in(browser)
    assert sign_in(browser, social).headers["Location"].endswith("/dashboard/")


def test_a_linked_mastodon_account_is_unlinked(client, moderators, social):
    linked_moderator(client, social)
    Dashboard(client).sign_in(MOD)
    account = client.get("/dashboard/account").text
    link_id = db.session.scalar(select(ModeratorIdentity.id))
    client.post(f"/dashboard/linked/{link_id}/remove", data={"csrf_token": csrf_from(account)})
    assert f"@ada@{social.name}" not in client.get("/dashboard/account").text
    client.post("/dashboard/logout", data={"csrf_token": Dashboard(client).token()})
    assert NOT_LINKED in page_after(client, sign_in(client, social), "/dashboard/login")


def test_an_account_another_moderator_linked_stays_theirs(app, client, moderators, social):
    linked_moderator(client, social, MOD)
    browser = app.test_client()
    Dashboard(browser).sign_in(OTHER_MOD)
    page = page_after(browser, link(browser, social), "/dashboard/account")
    assert "That account is already linked to another moderator." in page
    assert db.session.scalar(select(func.count(ModeratorIdentity.id))) == 1


# --- attacks ---------------------------------------------------------------------------------


def test_a_state_is_used_once(app, client, moderators, social):
    linked_moderator(client, social)
    returned = social.consent(authorize_url(start_login(client, social.base_url)))
    assert back(client, returned).headers["Location"].endswith("/dashboard/")
    client.post("/dashboard/logout", data={"csrf_token": Dashboard(client).token()})
    exchanges = len(social.requests_to("/oauth/token"))

    replayed = back(client, returned)
    assert replayed.status_code == 400
    assert "not valid any more" in replayed.text
    assert len(social.requests_to("/oauth/token")) == exchanges  # nothing exchanged
    assert not is_signed_in(client)
    forged = client.get("/auth/mastodon/callback?state=forged&code=whatever")
    assert forged.status_code == 400 and not is_signed_in(client)


def test_a_sign_in_finished_in_another_browser_exchanges_nothing(app, client, moderators, social):
    linked_moderator(client, social)
    exchanges = len(social.requests_to("/oauth/token"))
    returned = social.consent(authorize_url(start_login(client, social.base_url)))
    attacker = app.test_client()
    assert back(attacker, returned).status_code == 400
    assert not is_signed_in(attacker)
    assert len(social.requests_to("/oauth/token")) == exchanges
    # The code is still the moderator's own to use.
    assert back(client, returned).headers["Location"].endswith("/dashboard/")


def test_a_link_finished_by_another_moderator_links_nothing(app, client, moderators, social):
    """A link started by one moderator and finished once another signed in, in the same
    browser: the account would land on someone who never asked for it."""
    Dashboard(client).sign_in(MOD)
    returned = social.consent(authorize_url(start_link(client, social.base_url)))
    client.post("/dashboard/logout", data={"csrf_token": Dashboard(client).token()})
    Dashboard(client).sign_in(OTHER_MOD)
    assert back(client, returned).status_code == 403
    assert social.requests_to("/oauth/token") == []  # the code is not even exchanged
    assert db.session.scalar(select(func.count(ModeratorIdentity.id))) == 0

    # ...nor by no one, once the moderator who started it signed out.
    client.post("/dashboard/logout", data={"csrf_token": Dashboard(client).token()})
    Dashboard(client).sign_in(MOD)
    returned = social.consent(authorize_url(start_link(client, social.base_url)))
    client.post("/dashboard/logout", data={"csrf_token": Dashboard(client).token()})
    assert back(client, returned).status_code == 403
    assert db.session.scalar(select(func.count(ModeratorIdentity.id))) == 0


def test_without_its_csrf_token_nothing_starts(client, moderators, social):
    assert (
        client.post("/dashboard/login/mastodon", data={"server": social.base_url}).status_code
        == 400
    )
    assert client.get(f"/dashboard/login/mastodon?server={social.base_url}").status_code == 405
    Dashboard(client).sign_in(MOD)
    assert (
        client.post("/dashboard/link/mastodon", data={"server": social.base_url}).status_code == 400
    )
    assert social.state.log == []  # no request reached the server


def test_the_server_is_left_for_by_a_page_of_our_own(client, moderators, social):
    """The form's POST answers a page that moves on by itself: a redirect after a form is
    held to the page's CSP form-action ('self'), and the server is elsewhere."""
    started = start_login(client, social.base_url)
    assert started.status_code == 200
    assert started.headers["Cache-Control"] == "no-store"
    assert '<meta http-equiv="refresh" content="0;url=' in started.text
    assert ">Continue to Mastodon</a>" in started.text
    assert leaving_for(started.text).startswith(f"{social.base_url}/oauth/authorize?")


def test_linking_needs_a_signed_in_moderator(client, moderators, social):
    token = csrf_from(client.get("/dashboard/login").text)
    resp = client.post(
        "/dashboard/link/mastodon", data={"csrf_token": token, "server": social.base_url}
    )
    assert resp.status_code == 302 and "/dashboard/login" in resp.headers["Location"]
    assert social.state.log == []


# --- what goes wrong is said plainly, on the page it started from --------------------------


@pytest.mark.parametrize("path", ["/dashboard/login", "/dashboard/account"])
def test_cancelling_says_so(client, moderators, social, path):
    if path == "/dashboard/account":
        Dashboard(client).sign_in(MOD)
        started = start_link(client, social.base_url)
    else:
        started = start_login(client, social.base_url)
    done = back(client, social.consent(authorize_url(started), approve=False))
    assert "You cancelled signing in." in page_after(client, done, path)
    assert social.requests_to("/oauth/token") == []


def test_a_garbage_answer_says_so(client, moderators, social):
    authorize = authorize_url(start_login(client, social.base_url))
    state = parse_qs(urlsplit(authorize).query)["state"][0]
    done = client.get(f"/auth/mastodon/callback?state={state}&code=not-a-code")
    assert "Mastodon could not sign you in. Please try again." in page_after(
        client, done, "/dashboard/login"
    )
    authorize = authorize_url(start_login(client, social.base_url))
    state = parse_qs(urlsplit(authorize).query)["state"][0]
    done = client.get(f"/auth/mastodon/callback?state={state}&error=server_error")
    assert "Mastodon could not sign you in. Please try again." in page_after(
        client, done, "/dashboard/login"
    )
    assert not is_signed_in(client)


def test_a_server_gone_quiet_by_the_callback_says_so_soon(client, moderators, social):
    returned = social.consent(authorize_url(start_login(client, social.base_url)))
    social.state.mode = "timeout"
    began = time.monotonic()
    done = back(client, returned)
    assert time.monotonic() - began < 3  # MASTODON_TIMEOUT is 1 s here
    assert "That Mastodon server could not be reached. Please try again." in page_after(
        client, done, "/dashboard/login"
    )


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("timeout", "That Mastodon server could not be reached."),
        ("html", "That is not a Mastodon server."),
        ("not_mastodon", "That is not a Mastodon server."),
        ("redirect_private", "That is not a Mastodon server."),
    ],
)
def test_a_hostile_server_gets_a_plain_answer_soon(client, moderators, social, mode, message):
    social.reset(mode)
    began = time.monotonic()
    started = start_login(client, social.base_url)
    assert time.monotonic() - began < 3
    assert message in page_after(client, started, "/dashboard/login")
    assert db.session.scalar(select(func.count(MastodonApp.id))) == 0


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ("not a server", "Enter your Mastodon server, such as mastodon.social."),
        ("", "Enter your Mastodon server, such as mastodon.social."),
        ("https://user@mastodon.social", "Enter your Mastodon server, such as mastodon.social."),
        ("10.0.0.1", "Sign-in with that server is not allowed here."),
        ("169.254.169.254", "Sign-in with that server is not allowed here."),
    ],
)
def test_what_is_no_server_here_is_refused_plainly(app, client, moderators, server, message):
    app.config["MASTODON_ALLOW_LOOPBACK"] = False
    assert message in page_after(client, start_login(client, server), "/dashboard/login")
    Dashboard(client).sign_in(MOD)
    assert message in page_after(client, start_link(client, server), "/dashboard/account")


def test_loopback_is_refused_without_the_switch(app, client, moderators, social):
    app.config["MASTODON_ALLOW_LOOPBACK"] = False
    page = page_after(client, start_login(client, social.base_url), "/dashboard/login")
    assert "Sign-in with that server is not allowed here." in page
    assert social.state.log == []


def test_the_allow_list_applies(app, client, moderators, social):
    app.config["MASTODON_SERVERS"] = "mastodon.social"
    page = page_after(client, start_login(client, social.base_url), "/dashboard/login")
    assert "Sign-in with that server is not allowed here." in page
    assert social.state.log == []

    # Taken off the list while the moderator was away: the code is not exchanged.
    app.config["MASTODON_SERVERS"] = "mastodon.social,127.0.0.1"
    returned = social.consent(authorize_url(start_login(client, social.base_url)))
    app.config["MASTODON_SERVERS"] = "mastodon.social"
    done = back(client, returned)
    assert "Sign-in with that server is not allowed here." in page_after(
        client, done, "/dashboard/login"
    )
    assert social.requests_to("/oauth/token") == []
