"""WordPress.com sign-in against a fake WordPress.com on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import Identity, User
from tests.factories import make_moderator
from tests.fakes import FakeProviderServer, create_fake_provider
from tests.fakes.wordpress import create_fake_wordpress
from tests.helpers import Dashboard, fresh_app, leaving_for
from tests.oauth_flows import PUBLIC_URL, back_from_provider, claim, sign_in, start

MARY = "40123456"
PERCY = "40987654"


@pytest.fixture(scope="module")
def wordpress() -> Iterator[FakeProviderServer]:
    app = create_fake_wordpress(
        client_id="wp-client-id",
        client_secret="wp-client-secret",
        redirect_uris=[f"{PUBLIC_URL}/auth/wordpress/callback"],
    )
    with FakeProviderServer(app) as server:
        yield server


@pytest.fixture(scope="module")
def twitter() -> Iterator[FakeProviderServer]:
    app = create_fake_provider(
        "twitter",
        client_id="twitter-client-id",
        client_secret="twitter-client-secret",
        redirect_uris=[f"{PUBLIC_URL}/auth/twitter/callback"],
    )
    with FakeProviderServer(app) as server:
        yield server


@pytest.fixture(autouse=True)
def reset(wordpress) -> None:
    wordpress.request_log.clear()
    wordpress.app.config.update(FAIL_TOKEN=False, FAIL_PROFILE=False, SIGNED_IN_USER=MARY)


@pytest.fixture
def app(tmp_path, wordpress, twitter) -> Iterator[Flask]:
    with fresh_app(tmp_path, PUBLIC_URL=PUBLIC_URL, **wordpress.env(), **twitter.env()) as app:
        yield app


def test_wordpress_comes_first_among_the_buttons(client, site):
    providers = [
        {"name": p["name"], "label": p["label"]}
        for p in client.get(f"/api/v1/sites/{site.id}/config").json["providers"]
    ]
    assert providers == [
        {"name": "wordpress", "label": "WordPress.com"},
        {"name": "twitter", "label": "Twitter"},
    ]


def test_wordpress_sign_in_speaks_wordpress_com(client, site, wordpress):
    started, authorize = start(client, site, "wordpress")
    assert authorize.startswith(wordpress.authorize_url)
    query = parse_qs(urlsplit(authorize).query)
    assert query["scope"] == ["auth"]
    assert query["response_type"] == ["code"]
    assert query["redirect_uri"] == [f"{PUBLIC_URL}/auth/wordpress/callback"]

    page = back_from_provider(client, wordpress.consent(authorize))
    assert "You are signed in with WordPress.com" in page.get_data(as_text=True)
    [token_request] = wordpress.requests_to("token")
    assert token_request.method == "POST"
    assert token_request.data["client_id"] == "wp-client-id"
    assert token_request.data["client_secret"] == "wp-client-secret"
    assert token_request.data["grant_type"] == "authorization_code"
    assert token_request.data["redirect_uri"] == f"{PUBLIC_URL}/auth/wordpress/callback"
    [me] = wordpress.requests_to("userinfo")
    assert me.headers["Authorization"].startswith("Bearer ")

    claimed = claim(client, site, started, page)
    assert claimed.status_code == 200, claimed.json
    assert claimed.json["viewer"] == {
        "name": "Mary Shelley",
        "avatar_url": "https://0.gravatar.com/avatar/5d0c1a0e?s=96&d=identicon",
        "provider": "wordpress",
        "provider_label": "WordPress.com",
        "notify_email_known": False,
    }
    identity = db.session.scalars(select(Identity)).one()
    assert (identity.provider, identity.provider_user_id) == ("wordpress", MARY)
    assert identity.profile["url"] == "https://gravatar.com/mshelley"
    assert db.session.scalars(select(User.handle)).one() == "mshelley"


def test_a_reader_without_a_display_name_goes_by_their_username(client, site, wordpress):
    wordpress.app.config["SIGNED_IN_USER"] = PERCY
    assert sign_in(client, site, wordpress, "wordpress").json["viewer"]["name"] == "percyb"


def test_denying_wordpress_returns_to_the_form_with_a_plain_message(client, site, wordpress):
    started, authorize = start(client, site, "wordpress")
    page = back_from_provider(client, wordpress.consent(authorize, approve=False))
    assert "You cancelled signing in." in page.get_data(as_text=True)
    assert wordpress.requests_to("token") == []
    failed = claim(client, site, started, page)
    assert failed.json["error"] == {"code": "login_failed", "message": "You cancelled signing in."}
    assert db.session.scalar(select(func.count(User.id))) == 0


@pytest.mark.parametrize("failure", ["FAIL_TOKEN", "FAIL_PROFILE"])
def test_wordpress_failures_end_the_flow_with_a_message(client, site, wordpress, failure):
    wordpress.app.config[failure] = True
    started, authorize = start(client, site, "wordpress")
    page = back_from_provider(client, wordpress.consent(authorize))
    assert page.status_code == 200
    failed = claim(client, site, started, page)
    assert failed.json["error"]["code"] == "login_failed"
    assert "WordPress.com" in failed.json["error"]["message"]
    assert db.session.scalar(select(func.count(Identity.id))) == 0


def test_a_reused_wordpress_code_signs_nobody_in(client, site, wordpress):
    _, authorize = start(client, site, "wordpress")
    redirect = wordpress.consent(authorize)
    code = parse_qs(urlsplit(redirect).query)["code"][0]
    assert back_from_provider(client, redirect).status_code == 200
    started, authorize = start(client, site, "wordpress")
    state = parse_qs(urlsplit(authorize).query)["state"][0]
    page = client.get(f"/auth/wordpress/callback?code={code}&state={state}")
    assert "could not sign you in" in page.get_data(as_text=True)
    assert claim(client, site, started, page).json["error"]["code"] == "login_failed"


def test_a_twitter_reader_links_wordpress(client, site, twitter, wordpress):
    token = sign_in(client, site, twitter, "twitter").json["token"]
    started, authorize = start(client, site, "wordpress", Authorization=f"Bearer {token}")
    page = back_from_provider(client, wordpress.consent(authorize))
    assert claim(client, site, started, page, Authorization=f"Bearer {token}").status_code == 200
    assert db.session.scalar(select(func.count(User.id))) == 1
    assert sorted(db.session.scalars(select(Identity.provider))) == ["twitter", "wordpress"]


def test_a_moderator_links_wordpress_for_the_dashboard(app, client, site, wordpress):
    make_moderator(site, email="mod@example.com")
    dash = Dashboard(client)
    dash.sign_in("mod@example.com")
    linked = client.post("/dashboard/link/wordpress", data={"csrf_token": dash.token()})
    back_from_provider(client, wordpress.consent(leaving_for(linked.text)))
    assert "WordPress.com: Mary Shelley" in client.get("/dashboard/account").text

    browser = app.test_client()
    token = Dashboard(browser).token("/dashboard/login")
    assert ">Sign in with WordPress.com</button>" in browser.get("/dashboard/login").text
    begin = browser.post("/dashboard/login/wordpress", data={"csrf_token": token})
    done = back_from_provider(browser, wordpress.consent(leaving_for(begin.text)))
    assert done.status_code == 302 and done.headers["Location"].endswith("/dashboard/")
