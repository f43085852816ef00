"""GitHub sign-in against a fake GitHub on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import Identity, User
from tests.factories import make_moderator
from tests.fakes import FakeProviderServer
from tests.fakes.github import create_fake_github
from tests.helpers import Dashboard, fresh_app, leaving_for
from tests.oauth_flows import PUBLIC_URL, back_from_provider, claim, sign_in, start

OCTOCAT = "583231"
HUBOT = "9919"


@pytest.fixture(scope="module")
def github() -> Iterator[FakeProviderServer]:
    app = create_fake_github(
        client_id="gh-client-id",
        client_secret="gh-client-secret",
        redirect_uris=[f"{PUBLIC_URL}/auth/github/callback"],
    )
    with FakeProviderServer(app) as server:
        yield server


@pytest.fixture(autouse=True)
def reset(github) -> None:
    github.request_log.clear()
    github.app.config.update(FAIL_TOKEN=False, FAIL_PROFILE=False, SIGNED_IN_USER=OCTOCAT)


@pytest.fixture
def app(tmp_path, github) -> Iterator[Flask]:
    with fresh_app(tmp_path, PUBLIC_URL=PUBLIC_URL, **github.env()) as app:
        yield app


def test_github_sign_in_speaks_github(client, site, github):
    started, authorize = start(client, site, "github")
    assert authorize.startswith(github.authorize_url)
    query = parse_qs(urlsplit(authorize).query)
    assert "scope" not in query  # the public profile needs none
    assert query["redirect_uri"] == [f"{PUBLIC_URL}/auth/github/callback"]
    assert len(query["state"][0]) >= 32

    page = back_from_provider(client, github.consent(authorize))
    assert "You are signed in with GitHub" in page.get_data(as_text=True)
    [token_request] = github.requests_to("token")
    assert token_request.headers["Accept"] == "application/json"
    assert token_request.data["client_id"] == "gh-client-id"
    assert token_request.data["client_secret"] == "gh-client-secret"
    [profile_request] = github.requests_to("userinfo")
    assert profile_request.headers["Authorization"].startswith("Bearer gho_")

    claimed = claim(client, site, started, page)
    assert claimed.status_code == 200, claimed.json
    assert claimed.json["viewer"] == {
        "name": "The Octocat",
        "avatar_url": "https://avatars.githubusercontent.com/u/583231?v=4",
        "provider": "github",
        "provider_label": "GitHub",
        "notify_email_known": False,
    }
    identity = db.session.scalars(select(Identity)).one()
    assert (identity.provider, identity.provider_user_id) == ("github", OCTOCAT)
    assert identity.profile["url"] == "https://github.com/octocat"
    assert db.session.scalars(select(User.handle)).one() == "octocat"


def test_a_github_account_without_a_name_goes_by_its_login(client, site, github):
    github.app.config["SIGNED_IN_USER"] = HUBOT
    assert sign_in(client, site, github, "github").json["viewer"]["name"] == "hubot"


def test_a_bad_verification_code_is_a_failed_sign_in(client, site, github):
    """GitHub answers a used or wrong code with HTTP 200 and an error member."""
    _, authorize = start(client, site, "github")
    redirect = github.consent(authorize)
    code = parse_qs(urlsplit(redirect).query)["code"][0]
    assert back_from_provider(client, redirect).status_code == 200
    started, authorize = start(client, site, "github")
    state = parse_qs(urlsplit(authorize).query)["state"][0]
    page = client.get(f"/auth/github/callback?code={code}&state={state}")
    assert page.status_code == 200
    assert "GitHub could not sign you in. Please try again." in page.get_data(as_text=True)
    failed = claim(client, site, started, page)
    assert failed.json["error"] == {
        "code": "login_failed",
        "message": "GitHub could not sign you in. Please try again.",
    }
    assert db.session.scalar(select(func.count(Identity.id))) == 0  # the first was not claimed


def test_denying_github_returns_to_the_form_with_a_plain_message(client, site, github):
    started, authorize = start(client, site, "github")
    page = back_from_provider(client, github.consent(authorize, approve=False))
    assert github.requests_to("token") == []
    failed = claim(client, site, started, page)
    assert failed.json["error"] == {"code": "login_failed", "message": "You cancelled signing in."}
    assert db.session.scalar(select(func.count(User.id))) == 0


@pytest.mark.parametrize("failure", ["FAIL_TOKEN", "FAIL_PROFILE"])
def test_github_failures_end_the_flow_with_a_message(client, site, github, failure):
    github.app.config[failure] = True
    started, authorize = start(client, site, "github")
    page = back_from_provider(client, github.consent(authorize))
    failed = claim(client, site, started, page)
    assert failed.json["error"]["message"] == "GitHub did not answer as expected. Please try again."
    assert db.session.scalar(select(func.count(Identity.id))) == 0


def test_a_github_reader_links_a_second_github_account_only_when_signed_in(client, site, github):
    token = sign_in(client, site, github, "github").json["token"]
    github.app.config["SIGNED_IN_USER"] = HUBOT
    started, authorize = start(client, site, "github", Authorization=f"Bearer {token}")
    page = back_from_provider(client, github.consent(authorize))
    assert claim(client, site, started, page, Authorization=f"Bearer {token}").status_code == 200
    assert db.session.scalar(select(func.count(User.id))) == 1
    assert db.session.scalar(select(func.count(Identity.id))) == 2


def test_a_moderator_signs_in_to_the_dashboard_with_github(app, client, site, github):
    make_moderator(site, email="mod@example.com")
    dash = Dashboard(client)
    dash.sign_in("mod@example.com")
    linked = client.post("/dashboard/link/github", data={"csrf_token": dash.token()})
    back_from_provider(client, github.consent(leaving_for(linked.text)))
    assert "GitHub: The Octocat" in client.get("/dashboard/account").text

    browser = app.test_client()
    token = Dashboard(browser).token("/dashboard/login")
    begin = browser.post("/dashboard/login/github", data={"csrf_token": token})
    done = back_from_provider(browser, github.consent(leaving_for(begin.text)))
    assert done.status_code == 302 and done.headers["Location"].endswith("/dashboard/")
