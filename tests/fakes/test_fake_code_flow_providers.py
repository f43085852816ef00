"""The WordPress.com, GitHub and OpenID Connect fakes keep their providers' wire formats.

Driven over loopback with `requests`, as a client that is not Afterword would drive them.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.fakes import FakeProviderServer
from tests.fakes.github import create_fake_github
from tests.fakes.oidc_provider import FakeOIDCServer, create_fake_oidc_provider
from tests.fakes.wordpress import create_fake_wordpress

CALLBACK = "http://127.0.0.1:5000/auth/x/callback"
TIMEOUT = 5


def code_from(fake: FakeProviderServer, **params: str) -> str:
    query = {"client_id": fake.client_id, "redirect_uri": CALLBACK, "response_type": "code"}
    url = f"{fake.authorize_url}?{urlencode({**query, **params, 'state': 'st'})}"
    back = fake.consent(url)
    assert parse_qs(urlsplit(back).query)["state"] == ["st"]
    return parse_qs(urlsplit(back).query)["code"][0]


@pytest.fixture
def github() -> Iterator[FakeProviderServer]:
    app = create_fake_github(client_id="id", client_secret="secret", redirect_uris=[CALLBACK])
    with FakeProviderServer(app) as fake:
        yield fake


@pytest.fixture
def wordpress() -> Iterator[FakeProviderServer]:
    app = create_fake_wordpress(client_id="id", client_secret="secret", redirect_uris=[CALLBACK])
    with FakeProviderServer(app) as fake:
        yield fake


def github_token(fake: FakeProviderServer, code: str, **headers: str) -> requests.Response:
    body = {"client_id": "id", "client_secret": "secret", "code": code, "redirect_uri": CALLBACK}
    return requests.post(fake.token_url, data=body, headers=headers, timeout=TIMEOUT)


def test_github_answers_form_encoded_unless_asked_for_json(github):
    plain = github_token(github, code_from(github))
    assert plain.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(plain.text)["token_type"] == ["bearer"]
    asked = github_token(github, code_from(github), Accept="application/json")
    assert set(asked.json()) == {"access_token", "token_type", "scope"}


def test_github_answers_a_bad_code_with_200_and_an_error(github):
    code = code_from(github)
    assert github_token(github, code, Accept="application/json").status_code == 200
    again = github_token(github, code, Accept="application/json")
    assert again.status_code == 200
    assert again.json()["error"] == "bad_verification_code"


def test_github_profile_needs_a_bearer_token_and_a_user_agent(github):
    token = github_token(github, code_from(github), Accept="application/json").json()
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    me = requests.get(github.userinfo_url, headers=auth, timeout=TIMEOUT).json()
    assert (me["id"], me["login"]) == (583231, "octocat")
    assert set(me) >= {"id", "login", "name", "avatar_url", "html_url"}
    assert requests.get(github.userinfo_url, timeout=TIMEOUT).status_code == 401
    assert (
        requests.get(github.userinfo_url, headers={**auth, "User-Agent": ""}, timeout=TIMEOUT)
    ).status_code == 403


def test_github_denial_redirects_with_access_denied(github):
    url = f"{github.authorize_url}?" + urlencode(
        {"client_id": "id", "redirect_uri": CALLBACK, "response_type": "code", "state": "s"}
    )
    back = parse_qs(urlsplit(github.consent(url, approve=False)).query)
    assert back["error"] == ["access_denied"] and back["state"] == ["s"]


def test_an_unregistered_redirect_uri_is_never_redirected_to(github):
    url = f"{github.authorize_url}?" + urlencode(
        {"client_id": "id", "redirect_uri": "https://evil.example/cb", "response_type": "code"}
    )
    assert requests.get(url, allow_redirects=False, timeout=TIMEOUT).status_code == 400


def test_wordpress_token_wants_the_client_in_the_form_body(wordpress):
    code = code_from(wordpress, scope="auth")
    body = {"code": code, "redirect_uri": CALLBACK, "grant_type": "authorization_code"}
    basic = requests.post(wordpress.token_url, data=body, auth=("id", "secret"), timeout=TIMEOUT)
    assert basic.status_code == 400 and basic.json()["error"] == "invalid_client"
    code = code_from(wordpress, scope="auth")
    ok = requests.post(
        wordpress.token_url,
        data={**body, "code": code, "client_id": "id", "client_secret": "secret"},
        timeout=TIMEOUT,
    ).json()
    assert set(ok) == {"access_token", "token_type", "blog_id", "blog_url", "scope"}
    assert (ok["token_type"], ok["scope"]) == ("bearer", "auth")
    me = requests.get(
        wordpress.userinfo_url,
        headers={"Authorization": f"Bearer {ok['access_token']}"},
        timeout=TIMEOUT,
    ).json()
    assert me["ID"] == 40123456
    assert set(me) >= {"ID", "display_name", "username", "avatar_URL", "profile_URL"}


def test_wordpress_refuses_an_unknown_scope(wordpress):
    url = f"{wordpress.authorize_url}?" + urlencode(
        {"client_id": "id", "redirect_uri": CALLBACK, "response_type": "code", "scope": "root"}
    )
    back = requests.get(url, allow_redirects=False, timeout=TIMEOUT).headers["Location"]
    assert parse_qs(urlsplit(back).query)["error"] == ["invalid_scope"]


@pytest.fixture
def oidc() -> Iterator[FakeOIDCServer]:
    app = create_fake_oidc_provider(
        "oidc", client_id="id", client_secret="secret", redirect_uris=[CALLBACK]
    )
    with FakeOIDCServer(app) as fake:
        yield fake


def oidc_token(fake: FakeOIDCServer, *, nonce: str) -> dict:
    verifier = "v" * 43
    challenge = create_s256_code_challenge(verifier)
    code = code_from(
        fake,
        scope="openid profile",
        code_challenge=challenge,
        code_challenge_method="S256",
        nonce=nonce,
    )
    body = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    resp = requests.post(
        fake.token_url,
        data={**body, "code_verifier": verifier},
        auth=("id", "secret"),
        timeout=TIMEOUT,
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_oidc_discovery_names_its_endpoints_and_keys(oidc):
    meta = requests.get(oidc.discovery_url, timeout=TIMEOUT).json()
    assert meta["issuer"] == oidc.issuer
    assert meta["id_token_signing_alg_values_supported"] == ["RS256"]
    jwks = requests.get(meta["jwks_uri"], timeout=TIMEOUT).json()
    assert [key["kid"] for key in jwks["keys"]] == ["key-0"]
    assert all("d" not in key for key in jwks["keys"])  # public halves only


def test_oidc_id_token_is_signed_by_a_published_key_and_names_its_nonce(oidc):
    token = oidc_token(oidc, nonce="n-1")
    keys = KeySet.import_key_set(requests.get(oidc.base_url + "/oauth2/certs", timeout=5).json())
    claims = jwt.decode(token["id_token"], keys).claims
    assert (claims["iss"], claims["aud"], claims["nonce"]) == (oidc.issuer, "id", "n-1")
    assert claims["exp"] > claims["iat"]
    oidc.rotate_keys()
    rotated = oidc_token(oidc, nonce="n-2")
    new_keys = requests.get(oidc.base_url + "/oauth2/certs", timeout=5).json()["keys"]
    assert [key["kid"] for key in new_keys] == ["key-1"]
    assert (
        jwt.decode(rotated["id_token"], KeySet.import_key_set({"keys": new_keys})).header["kid"]
        == "key-1"
    )


def test_oidc_token_endpoint_wants_the_pkce_verifier(oidc):
    challenge = create_s256_code_challenge("v" * 43)
    code = code_from(oidc, scope="openid", code_challenge=challenge, code_challenge_method="S256")
    resp = requests.post(
        oidc.token_url,
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
        auth=("id", "secret"),
        timeout=TIMEOUT,
    )
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"


def test_oidc_authorization_without_pkce_is_refused(oidc):
    url = f"{oidc.authorize_url}?" + urlencode(
        {"client_id": "id", "redirect_uri": CALLBACK, "response_type": "code", "scope": "openid"}
    )
    back = requests.get(url, allow_redirects=False, timeout=TIMEOUT).headers["Location"]
    assert parse_qs(urlsplit(back).query)["error"] == ["invalid_request"]
