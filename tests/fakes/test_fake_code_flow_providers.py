"""The WordPress.com, GitHub and OpenID Connect fakes keep their providers' wire formats.

Driven over loopback with `requests`, as a client that is not Afterword would drive them.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from tests.fakes import FakeProviderServer
from tests.fakes.github import create_fake_github
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
