"""Google and any OpenID Connect provider, against a fake OpenID provider on loopback.

The ID token is what says who signed in, so each way it can lie (HOSTILE_MODES) must sign
nobody in.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import Identity, User
from tests.factories import make_moderator
from tests.fakes.oidc_provider import (
    HOSTILE_MODES,
    OIDC_DEFAULT_USERS,
    FakeOIDCServer,
    create_fake_oidc_provider,
)
from tests.helpers import Dashboard, fresh_app, leaving_for
from tests.oauth_flows import PUBLIC_URL, back_from_provider, claim, sign_in, start

EMMY, SOFIA = list(OIDC_DEFAULT_USERS)


def serve(kind: str) -> FakeOIDCServer:
    app = create_fake_oidc_provider(
        kind,
        client_id=f"{kind}-client-id",
        client_secret=f"{kind}-client-secret",
        redirect_uris=[f"{PUBLIC_URL}/auth/{kind}/callback"],
    )
    return FakeOIDCServer(app, name="Example SSO")


@pytest.fixture(scope="module")
def google() -> Iterator[FakeOIDCServer]:
    with serve("google") as server:
        yield server


@pytest.fixture(scope="module")
def oidc() -> Iterator[FakeOIDCServer]:
    with serve("oidc") as server:
        yield server


@pytest.fixture(autouse=True)
def reset(google, oidc) -> None:
    for server in (google, oidc):
        server.request_log.clear()
        server.app.config.update(
            FAIL_TOKEN=False,
            FAIL_PROFILE=False,
            FAIL_DISCOVERY=False,
            HOSTILE=None,
            PROFILE_IN_ID_TOKEN=True,
            USERINFO_SUB=None,
            SIGNED_IN_USER=EMMY,
        )


@pytest.fixture
def app(tmp_path, google, oidc) -> Iterator[Flask]:
    with fresh_app(tmp_path, PUBLIC_URL=PUBLIC_URL, **google.env(), **oidc.env()) as app:
        yield app


def counts() -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count(User.id))),
        db.session.scalar(select(func.count(Identity.id))),
    )


def test_buttons_name_google_and_the_operators_provider(client, site):
    providers = [
        {"name": p["name"], "label": p["label"]}
        for p in client.get(f"/api/v1/sites/{site.id}/config").json["providers"]
    ]
    assert providers == [
        {"name": "google", "label": "Google"},
        {"name": "oidc", "label": "Example SSO"},
    ]


def test_google_sign_in_is_openid_connect_with_pkce_and_a_nonce(client, site, google):
    started, authorize = start(client, site, "google")
    assert authorize.startswith(google.base_url + "/o/oauth2/v2/auth?")
    query = parse_qs(urlsplit(authorize).query)
    assert query["scope"] == ["openid profile"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == [f"{PUBLIC_URL}/auth/google/callback"]
    assert len(query["nonce"][0]) >= 20 and query["nonce"] != query["state"]

    page = back_from_provider(client, google.consent(authorize))
    assert "You are signed in with Google" in page.get_data(as_text=True)
    [token_request] = google.requests_to("token")
    assert token_request.headers["Authorization"].startswith("Basic ")
    verifier = token_request.data["code_verifier"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert query["code_challenge"] == [challenge.decode()]
    assert google.requests_to("userinfo") == []  # the ID token carried the profile

    claimed = claim(client, site, started, page)
    assert claimed.status_code == 200, claimed.json
    assert claimed.json["viewer"] == {
        "name": "Emmy Noether",
        "avatar_url": "https://lh3.googleusercontent.example/a/emmy=s96-c",
        "provider": "google",
        "provider_label": "Google",
        "notify_email_known": False,
    }
    identity = db.session.scalars(select(Identity)).one()
    assert (identity.provider, identity.provider_user_id) == ("google", EMMY)


def test_accounts_are_never_matched_by_email(client, site, google):
    sign_in(client, site, google, "google")
    google.app.config["SIGNED_IN_USER"] = SOFIA  # the same email address as Emmy's
    assert sign_in(client, site, google, "google").json["viewer"]["name"] == "Sofia Kovalevskaya"
    assert counts() == (2, 2)


def test_the_operators_provider_is_named_and_its_readers_are_scoped_by_issuer(client, site, oidc):
    started, authorize = start(client, site, "oidc")
    page = back_from_provider(client, oidc.consent(authorize))
    assert "You are signed in with Example SSO" in page.get_data(as_text=True)
    claimed = claim(client, site, started, page)
    assert claimed.json["viewer"]["provider_label"] == "Example SSO"
    identity = db.session.scalars(select(Identity)).one()
    assert (identity.provider, identity.provider_user_id) == ("oidc", f"{oidc.issuer}#{EMMY}")


def test_a_profile_kept_out_of_the_id_token_comes_from_userinfo(client, site, oidc):
    oidc.app.config["PROFILE_IN_ID_TOKEN"] = False
    assert sign_in(client, site, oidc, "oidc").json["viewer"]["name"] == "Emmy Noether"
    [request] = oidc.requests_to("userinfo")
    assert request.headers["Authorization"].startswith("Bearer ")
    assert db.session.scalars(select(User.handle)).one() == "emmy"


def test_userinfo_about_someone_else_signs_nobody_in(client, site, oidc):
    oidc.app.config.update(PROFILE_IN_ID_TOKEN=False, USERINFO_SUB=SOFIA)
    failed = sign_in(client, site, oidc, "oidc")
    assert failed.json["error"]["code"] == "login_failed"
    assert counts() == (0, 0)


def test_a_rotated_key_is_fetched_once_and_an_unknown_one_is_refused(client, site, google):
    assert sign_in(client, site, google, "google").status_code == 200
    assert len(google.requests_to("jwks")) == 1
    assert sign_in(client, site, google, "google").status_code == 200
    assert len(google.requests_to("jwks")) == 1  # kept between sign-ins

    google.rotate_keys()
    try:
        assert sign_in(client, site, google, "google").status_code == 200
        assert len(google.requests_to("jwks")) == 2  # the new key id: fetched again, once

        google.app.config["HOSTILE"] = "unknown_kid"
        assert sign_in(client, site, google, "google").json["error"]["code"] == "login_failed"
        assert len(google.requests_to("jwks")) == 3  # one more try, no more
    finally:
        google.app.config["HOSTILE"] = None
    assert len(google.requests_to("discovery")) == 1


HOSTILE_ON_THE_OPERATORS_PROVIDER = ("wrong_iss", "wrong_aud_naming_us_as_azp", "wrong_nonce")


@pytest.mark.parametrize(
    ("provider", "mode"),
    [("google", mode) for mode in HOSTILE_MODES]
    + [("oidc", mode) for mode in HOSTILE_ON_THE_OPERATORS_PROVIDER],
)
def test_a_hostile_id_token_signs_nobody_in(client, site, request, provider, mode):
    server = request.getfixturevalue(provider)
    label = "Google" if provider == "google" else "Example SSO"
    server.app.config["HOSTILE"] = mode
    started, authorize = start(client, site, provider)
    page = back_from_provider(client, server.consent(authorize))
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Not signed in" in text and "Traceback" not in text
    failed = claim(client, site, started, page)
    assert failed.status_code == 400
    assert failed.json["error"]["code"] == "login_failed"
    assert failed.json["error"]["message"] in (
        f"{label} could not sign you in. Please try again.",
        f"{label} did not answer as expected. Please try again.",
    )
    assert counts() == (0, 0)


def test_denying_google_returns_to_the_form_with_a_plain_message(client, site, google):
    started, authorize = start(client, site, "google")
    page = back_from_provider(client, google.consent(authorize, approve=False))
    assert google.requests_to("token") == []
    failed = claim(client, site, started, page)
    assert failed.json["error"] == {"code": "login_failed", "message": "You cancelled signing in."}
    assert counts() == (0, 0)


def test_an_unreachable_discovery_document_ends_the_flow_with_a_message(client, site, oidc):
    oidc.app.config["FAIL_DISCOVERY"] = True
    started = client.post(
        f"/api/v1/sites/{site.id}/logins",
        json={"provider": "oidc"},
        headers={"Origin": "https://blog.example"},
    ).json
    page = client.get(f"/auth/oidc/start?flow={started['flow']}")
    assert page.status_code == 200
    failed = claim(client, site, started, page)
    assert failed.json["error"] == {
        "code": "login_failed",
        "message": "Example SSO did not answer as expected. Please try again.",
    }


def test_a_google_reader_links_the_operators_provider(client, site, google, oidc):
    token = sign_in(client, site, google, "google").json["token"]
    started, authorize = start(client, site, "oidc", Authorization=f"Bearer {token}")
    page = back_from_provider(client, oidc.consent(authorize))
    assert claim(client, site, started, page, Authorization=f"Bearer {token}").status_code == 200
    assert counts() == (1, 2)


def test_a_moderator_signs_in_to_the_dashboard_with_google(app, client, site, google):
    make_moderator(site, email="mod@example.com")
    dash = Dashboard(client)
    dash.sign_in("mod@example.com")
    linked = client.post("/dashboard/link/oidc", data={"csrf_token": dash.token()})
    assert linked.status_code == 200  # on its way to the provider (dashboard/leaving.html)
    linked = client.post("/dashboard/link/google", data={"csrf_token": dash.token()})
    back_from_provider(client, google.consent(leaving_for(linked.text)))
    account = client.get("/dashboard/account").text
    assert "Google: Emmy Noether" in account and "Link Example SSO" in account

    browser = app.test_client()
    token = Dashboard(browser).token("/dashboard/login")
    begin = browser.post("/dashboard/login/google", data={"csrf_token": token})
    done = back_from_provider(browser, google.consent(leaving_for(begin.text)))
    assert done.status_code == 302 and done.headers["Location"].endswith("/dashboard/")


def test_the_operators_provider_needs_all_four_settings(tmp_path, oidc):
    partial = {k: v for k, v in oidc.env().items() if k != "OIDC_NAME"}
    with fresh_app(tmp_path, **partial) as app:
        from tests.factories import make_site

        site = make_site()
        assert app.test_client().get(f"/api/v1/sites/{site.id}/config").json["providers"] == []


def test_claims_of_the_wrong_type_are_no_name_and_no_picture(client, site, google):
    profile = google.app.extensions["fake_oauth_provider"].users[EMMY]
    kept = dict(profile)
    profile.update(name=42, picture={"url": "https://example.com/p.png"})
    try:
        claimed = sign_in(client, site, google, "google")
    finally:
        profile.clear()
        profile.update(kept)
    assert claimed.status_code == 200, claimed.json
    # Userinfo was asked for the name it lacked, and its preferred_username stood in.
    assert claimed.json["viewer"]["name"] == "emmy"
    assert claimed.json["viewer"]["avatar_url"] is None
