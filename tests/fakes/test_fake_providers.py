"""The fake providers behave like X and Facebook as docs/configuration.md describes them.

They are driven over loopback HTTP with `requests` and Authlib's own
OAuth2Session, the way a real client would drive them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from tests.fakes import (
    FakeProviderServer,
    appsecret_proof,
    create_fake_provider,
    facebook_signed_request,
)

CLIENT_ID = "afterword-test-client"
CLIENT_SECRET = "s3cret-for-tests-only"
TWITTER_CALLBACK = "http://127.0.0.1:5000/auth/twitter/callback"
FACEBOOK_CALLBACK = "http://127.0.0.1:5000/auth/facebook/callback"
TIMEOUT = 5

ADA = "2244994945"
BABBAGE = "1587912345678901248"
GRACE = "10158123456789012"
TURING = "10158987654321098"


@pytest.fixture(autouse=True)
def _secure_transport_only(monkeypatch):
    # Loopback http must work without Authlib's escape hatch, on both sides.
    monkeypatch.delenv("AUTHLIB_INSECURE_TRANSPORT", raising=False)


def serve(kind: str, **kwargs) -> FakeProviderServer:
    callback = TWITTER_CALLBACK if kind == "twitter" else FACEBOOK_CALLBACK
    kwargs.setdefault("redirect_uris", [callback])
    app = create_fake_provider(kind, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, **kwargs)
    return FakeProviderServer(app)


@pytest.fixture
def twitter() -> Iterator[FakeProviderServer]:
    with serve("twitter") as fake:
        yield fake


@pytest.fixture
def facebook() -> Iterator[FakeProviderServer]:
    with serve("facebook") as fake:
        yield fake


def twitter_session() -> OAuth2Session:
    return OAuth2Session(
        CLIENT_ID,
        CLIENT_SECRET,
        scope="users.read tweet.read",
        redirect_uri=TWITTER_CALLBACK,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
    )


def facebook_session() -> OAuth2Session:
    return OAuth2Session(
        CLIENT_ID,
        CLIENT_SECRET,
        scope="public_profile",
        redirect_uri=FACEBOOK_CALLBACK,
        token_endpoint_auth_method="client_secret_post",
    )


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def authorize_params(**overrides) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": TWITTER_CALLBACK,
        "scope": "users.read tweet.read",
        "state": "st4te",
        "code_challenge": create_s256_code_challenge("v" * 43),
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def twitter_code(fake: FakeProviderServer, verifier: str = "v" * 43) -> str:
    url = (
        requests.Request(
            "GET",
            fake.authorize_url,
            params=authorize_params(code_challenge=create_s256_code_challenge(verifier)),
        )
        .prepare()
        .url
    )
    return query(fake.consent(url))["code"]


def twitter_token_request(fake, code, *, verifier="v" * 43, auth=True, **overrides):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": TWITTER_CALLBACK,
        "code_verifier": verifier,
        "client_id": CLIENT_ID,
    }
    data.update(overrides)
    data = {k: v for k, v in data.items() if v is not None}
    return requests.post(
        fake.token_url,
        data=data,
        auth=(CLIENT_ID, CLIENT_SECRET) if auth else None,
        timeout=TIMEOUT,
    )


# ---------------------------------------------------------------- Twitter


def test_twitter_code_flow_with_pkce_returns_the_profile(twitter):
    client = twitter_session()
    verifier = generate_token(64)
    url, state = client.create_authorization_url(twitter.authorize_url, code_verifier=verifier)

    callback = twitter.consent(url)
    assert callback.startswith(TWITTER_CALLBACK + "?")
    assert query(callback)["state"] == state

    # Authlib's client leaves client_id out of the body under Basic auth; X wants it.
    token = client.fetch_token(
        twitter.token_url,
        authorization_response=callback,
        code_verifier=verifier,
        client_id=CLIENT_ID,
    )
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == 7200
    assert token["scope"] == "users.read tweet.read"
    assert "refresh_token" not in token

    profile = client.get(twitter.userinfo_url, params={"user.fields": "profile_image_url"})
    assert profile.status_code == 200
    assert profile.json() == {
        "data": {
            "id": ADA,
            "name": "Ada Lovelace",
            "username": "ada",
            "profile_image_url": "https://pbs.twimg.example/profile_images/ada_normal.jpg",
        }
    }

    [token_request] = twitter.requests_to("token")
    assert token_request.method == "POST"
    assert token_request.headers["Authorization"].startswith("Basic ")
    assert token_request.data["client_id"] == CLIENT_ID
    assert "client_secret" not in token_request.data
    [profile_request] = twitter.requests_to("userinfo")
    assert profile_request.data == {"user.fields": "profile_image_url"}


def test_twitter_consent_page_and_user_picker(twitter):
    page = requests.get(twitter.authorize_url, params=authorize_params(), timeout=TIMEOUT)
    assert page.status_code == 200
    assert "text/html" in page.headers["Content-Type"]
    assert "Afterword" in page.text
    assert re.search(r"<button[^>]*>Authorize app</button>", page.text)
    assert re.search(r"<button[^>]*>Cancel</button>", page.text)
    assert f'name="user" value="{ADA}"' in page.text

    answer = requests.post(
        page.url,
        data={"user": BABBAGE, "action": "allow"},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert answer.status_code == 302
    code = query(answer.headers["Location"])["code"]
    token = twitter_token_request(twitter, code).json()["access_token"]

    # A user without a picture has no profile_image_url even when asked for.
    me = requests.get(
        twitter.userinfo_url,
        params={"user.fields": "profile_image_url"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    assert me.json() == {"data": {"id": BABBAGE, "name": "Charles Babbage", "username": "babbage"}}


def test_twitter_profile_image_only_when_asked_for(twitter):
    token = twitter_token_request(twitter, twitter_code(twitter)).json()["access_token"]
    me = requests.get(
        twitter.userinfo_url, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
    )
    assert me.json() == {"data": {"id": ADA, "name": "Ada Lovelace", "username": "ada"}}


def test_twitter_cancel_redirects_with_access_denied_and_state(twitter):
    url = requests.Request("GET", twitter.authorize_url, params=authorize_params()).prepare().url
    callback = twitter.consent(url, approve=False)
    assert callback.startswith(TWITTER_CALLBACK + "?")
    assert query(callback) == {"error": "access_denied", "state": "st4te"}


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:5000/auth/twitter/callback/",
        "http://127.0.0.1:5000/auth/twitter/callback?x=1",
        "http://localhost:5000/auth/twitter/callback",
        "https://evil.example/auth/twitter/callback",
        None,
    ],
)
def test_twitter_refuses_unregistered_redirect_uri_without_redirecting(twitter, redirect_uri):
    page = requests.get(
        twitter.authorize_url,
        params=authorize_params(redirect_uri=redirect_uri),
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert page.status_code == 400
    assert "Location" not in page.headers
    assert "text/html" in page.headers["Content-Type"]


def test_twitter_refuses_unknown_client_without_redirecting(twitter):
    page = requests.get(
        twitter.authorize_url,
        params=authorize_params(client_id="someone-else"),
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert page.status_code == 400
    assert "Location" not in page.headers


@pytest.mark.parametrize(
    "overrides",
    [
        {"code_challenge": None, "code_challenge_method": None},
        {"code_challenge_method": None},
        {"code_challenge_method": "plain", "code_challenge": "p" * 43},
        {"state": None},
    ],
    ids=["no-pkce", "no-method", "plain", "no-state"],
)
def test_twitter_refuses_authorization_without_s256_pkce_or_state(twitter, overrides):
    answer = requests.get(
        twitter.authorize_url,
        params=authorize_params(**overrides),
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert answer.status_code == 302
    params = query(answer.headers["Location"])
    assert params["error"] == "invalid_request"
    assert "code" not in params


@pytest.mark.parametrize("scope", ["users.read tweet.read offline.access", "users.read", None])
def test_twitter_refuses_other_scopes(twitter, scope):
    answer = requests.get(
        twitter.authorize_url,
        params=authorize_params(scope=scope),
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(TWITTER_CALLBACK)
    params = query(answer.headers["Location"])
    assert params["error"] == "invalid_scope"
    assert params["state"] == "st4te"


def test_twitter_auto_approve_redirects_at_once():
    with serve("twitter", auto_approve=True) as fake:
        answer = requests.get(
            fake.authorize_url, params=authorize_params(), allow_redirects=False, timeout=TIMEOUT
        )
        assert answer.status_code == 302
        params = query(answer.headers["Location"])
        assert set(params) == {"code", "state"}


def test_twitter_token_requires_basic_auth(twitter):
    code = twitter_code(twitter)
    answer = twitter_token_request(twitter, code, auth=False, client_secret=CLIENT_SECRET)
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def test_twitter_token_requires_client_id_in_body(twitter):
    code = twitter_code(twitter)
    answer = twitter_token_request(twitter, code, client_id=None)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


def test_twitter_token_refuses_wrong_secret(twitter):
    code = twitter_code(twitter)
    answer = requests.post(
        twitter.token_url,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": TWITTER_CALLBACK,
            "code_verifier": "v" * 43,
            "client_id": CLIENT_ID,
        },
        auth=(CLIENT_ID, "wrong"),
        timeout=TIMEOUT,
    )
    assert answer.status_code == 401


@pytest.mark.parametrize(
    "overrides",
    [
        {"verifier": "w" * 43},
        {"verifier": None},
        {"redirect_uri": "http://127.0.0.1:5000/elsewhere"},
        {"code": "not-a-code"},
    ],
    ids=["wrong-verifier", "no-verifier", "other-redirect-uri", "unknown-code"],
)
def test_twitter_token_refuses_mismatched_exchange(twitter, overrides):
    code = twitter_code(twitter)
    answer = twitter_token_request(twitter, overrides.pop("code", code), **overrides)
    assert answer.status_code == 400
    assert answer.json()["error"] in {"invalid_grant", "invalid_request"}
    assert "access_token" not in answer.json()


def test_twitter_code_replay_is_refused(twitter):
    code = twitter_code(twitter)
    assert twitter_token_request(twitter, code).status_code == 200
    replay = twitter_token_request(twitter, code)
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"


def test_twitter_expired_code_is_refused():
    with serve("twitter", code_lifetime=0) as fake:
        answer = twitter_token_request(fake, twitter_code(fake))
        assert answer.status_code == 400
        assert answer.json()["error"] == "invalid_grant"
        assert "expired" in answer.json()["error_description"]


@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Basic abc"])
def test_twitter_profile_refuses_bad_tokens(twitter, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    me = requests.get(twitter.userinfo_url, headers=headers, timeout=TIMEOUT)
    assert me.status_code == 401
    assert me.json() == {
        "title": "Unauthorized",
        "type": "about:blank",
        "status": 401,
        "detail": "Unauthorized",
    }


def test_twitter_error_modes(twitter):
    code = twitter_code(twitter)
    token = twitter_token_request(twitter, code).json()["access_token"]
    twitter.app.config["FAIL_PROFILE"] = True
    me = requests.get(
        twitter.userinfo_url, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
    )
    assert me.status_code == 500
    twitter.app.config["FAIL_TOKEN"] = True
    assert twitter_token_request(twitter, twitter_code(twitter)).status_code == 500


def test_twitter_env_points_at_the_fake(twitter):
    base = twitter.base_url
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base)
    assert twitter.env() == {
        "TWITTER_CLIENT_ID": CLIENT_ID,
        "TWITTER_CLIENT_SECRET": CLIENT_SECRET,
        "TWITTER_AUTHORIZE_URL": f"{base}/i/oauth2/authorize",
        "TWITTER_TOKEN_URL": f"{base}/2/oauth2/token",
        "TWITTER_USERINFO_URL": f"{base}/2/users/me",
    }


# ---------------------------------------------------------------- Facebook


def facebook_code(fake: FakeProviderServer, **extra) -> str:
    params = {
        "client_id": CLIENT_ID,
        "redirect_uri": FACEBOOK_CALLBACK,
        "state": "st4te",
        "response_type": "code",
        "scope": "public_profile",
        **extra,
    }
    url = requests.Request("GET", fake.authorize_url, params=params).prepare().url
    return query(fake.consent(url))["code"]


def facebook_token(fake: FakeProviderServer, code: str, **extra) -> requests.Response:
    # The exchange exactly as Facebook documents it: a GET with no grant_type.
    params = {
        "client_id": CLIENT_ID,
        "redirect_uri": FACEBOOK_CALLBACK,
        "client_secret": CLIENT_SECRET,
        "code": code,
        **extra,
    }
    return requests.get(
        fake.token_url, params={k: v for k, v in params.items() if v is not None}, timeout=TIMEOUT
    )


def facebook_me(fake, token, *, proof=True, **extra) -> requests.Response:
    params = {"fields": "id,name,picture", "access_token": token, **extra}
    if proof is True:
        params["appsecret_proof"] = appsecret_proof(token, CLIENT_SECRET)
    elif proof:
        params["appsecret_proof"] = proof
    return requests.get(fake.userinfo_url, params=params, timeout=TIMEOUT)


def test_facebook_code_flow_returns_the_profile(facebook):
    client = facebook_session()
    url, state = client.create_authorization_url(facebook.authorize_url)
    callback = facebook.consent(url)
    assert query(callback)["state"] == state

    token = client.fetch_token(facebook.token_url, authorization_response=callback)
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == 5183944
    access_token = token["access_token"]

    profile = client.get(
        facebook.userinfo_url,
        params={
            "fields": "id,name,picture",
            "appsecret_proof": hmac.new(
                CLIENT_SECRET.encode(), access_token.encode(), hashlib.sha256
            ).hexdigest(),
        },
    )
    assert profile.status_code == 200
    assert profile.json() == {
        "id": GRACE,
        "name": "Grace Hopper",
        "picture": {
            "data": {
                "url": "https://platform-lookaside.fbsbx.example/grace.jpg",
                "width": 50,
                "height": 50,
                "is_silhouette": False,
            }
        },
    }
    [token_request] = facebook.requests_to("token")
    assert token_request.method == "POST"
    assert token_request.data["client_secret"] == CLIENT_SECRET


def test_facebook_get_exchange_and_silhouette_user(facebook):
    facebook.app.config["SIGNED_IN_USER"] = TURING
    page = requests.get(
        facebook.authorize_url,
        params={
            "client_id": CLIENT_ID,
            "redirect_uri": FACEBOOK_CALLBACK,
            "state": "st4te",
            "response_type": "code",
        },
        timeout=TIMEOUT,
    )
    assert re.search(r"<button[^>]*>Continue as Alan Turing</button>", page.text)
    assert re.search(r"<button[^>]*>Cancel</button>", page.text)

    code = facebook_code(facebook)
    answer = facebook_token(facebook, code)
    assert answer.status_code == 200
    assert set(answer.json()) == {"access_token", "token_type", "expires_in"}

    me = facebook_me(facebook, answer.json()["access_token"])
    assert me.json()["id"] == TURING
    assert me.json()["picture"]["data"]["is_silhouette"] is True


def test_facebook_basic_auth_and_bearer_header_work(facebook):
    code = facebook_code(facebook)
    answer = requests.post(
        facebook.token_url,
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": FACEBOOK_CALLBACK},
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=TIMEOUT,
    )
    assert answer.status_code == 200
    token = answer.json()["access_token"]
    me = requests.get(
        facebook.userinfo_url,
        params={"fields": "id,name", "appsecret_proof": appsecret_proof(token, CLIENT_SECRET)},
        headers={"Authorization": f"Bearer {token}"},
        timeout=TIMEOUT,
    )
    assert me.json() == {"id": GRACE, "name": "Grace Hopper"}


def test_facebook_profile_requires_appsecret_proof(facebook):
    token = facebook_token(facebook, facebook_code(facebook)).json()["access_token"]

    missing = facebook_me(facebook, token, proof=False)
    assert missing.status_code == 400
    assert missing.json()["error"]["type"] == "GraphMethodException"
    assert missing.json()["error"]["code"] == 100

    wrong = facebook_me(facebook, token, proof=appsecret_proof(token, "another-secret"))
    assert wrong.status_code == 400
    error = wrong.json()["error"]
    assert error["message"] == "Invalid appsecret_proof provided in the API argument"
    assert (error["type"], error["code"]) == ("GraphMethodException", 100)

    assert facebook_me(facebook, token).status_code == 200


def test_facebook_profile_refuses_bad_tokens(facebook):
    unknown = facebook_me(facebook, "EAAnope")
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == 190
    missing = requests.get(facebook.userinfo_url, params={"fields": "id"}, timeout=TIMEOUT)
    assert missing.status_code == 400
    assert missing.json()["error"]["type"] == "OAuthException"


def test_facebook_code_replay_is_refused_facebook_style(facebook):
    code = facebook_code(facebook)
    assert facebook_token(facebook, code).status_code == 200
    replay = facebook_token(facebook, code)
    assert replay.status_code == 400
    error = replay.json()["error"]
    assert error["message"] == "This authorization code has been used."
    assert (error["type"], error["code"]) == ("OAuthException", 100)


def test_facebook_expired_code_and_bad_secret_are_refused():
    with serve("facebook", code_lifetime=0) as fake:
        expired = facebook_token(fake, facebook_code(fake))
        assert expired.status_code == 400
        assert expired.json()["error"]["message"] == "This authorization code has expired."
        bad_secret = facebook_token(fake, facebook_code(fake), client_secret="wrong")
        assert bad_secret.status_code in {400, 401}
        assert bad_secret.json()["error"]["type"] == "OAuthException"
        assert bad_secret.json()["error"]["message"] == "Error validating client secret."


def test_facebook_cancel_redirects_with_user_denied(facebook):
    url = (
        requests.Request(
            "GET",
            facebook.authorize_url,
            params={
                "client_id": CLIENT_ID,
                "redirect_uri": FACEBOOK_CALLBACK,
                "state": "st4te",
                "response_type": "code",
                "scope": "public_profile",
            },
        )
        .prepare()
        .url
    )
    callback = facebook.consent(url, approve=False)
    assert callback.startswith(FACEBOOK_CALLBACK + "?")
    assert "error_description=Permissions+error" in callback
    assert query(callback) == {
        "error": "access_denied",
        "error_reason": "user_denied",
        "error_description": "Permissions error",
        "state": "st4te",
    }


def test_facebook_refuses_unregistered_redirect_uri_without_redirecting(facebook):
    page = requests.get(
        facebook.authorize_url,
        params={
            "client_id": CLIENT_ID,
            "redirect_uri": FACEBOOK_CALLBACK + "/",
            "state": "st4te",
            "response_type": "code",
        },
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert page.status_code == 400
    assert "Location" not in page.headers


def test_facebook_refuses_unknown_scope_by_redirect(facebook):
    answer = requests.get(
        facebook.authorize_url,
        params={
            "client_id": CLIENT_ID,
            "redirect_uri": FACEBOOK_CALLBACK,
            "state": "st4te",
            "response_type": "code",
            "scope": "public_profile,user_posts",
        },
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    assert answer.status_code == 302
    assert query(answer.headers["Location"])["error"] == "invalid_scope"


def test_facebook_verifies_pkce_when_sent(facebook):
    verifier = generate_token(48)
    challenge = {
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    }
    wrong = facebook_token(facebook, facebook_code(facebook, **challenge), code_verifier="x" * 48)
    assert wrong.status_code == 400
    assert wrong.json()["error"]["type"] == "OAuthException"
    right = facebook_token(facebook, facebook_code(facebook, **challenge), code_verifier=verifier)
    assert right.status_code == 200


def test_facebook_error_modes(facebook):
    token = facebook_token(facebook, facebook_code(facebook)).json()["access_token"]
    facebook.app.config["FAIL_PROFILE"] = True
    assert facebook_me(facebook, token).status_code == 500
    facebook.app.config["FAIL_TOKEN"] = True
    failed = facebook_token(facebook, facebook_code(facebook))
    assert failed.status_code == 500
    assert failed.json()["error"]["type"] == "OAuthException"


def test_facebook_env_points_at_the_fake(facebook):
    base = facebook.base_url
    assert facebook.env() == {
        "FACEBOOK_CLIENT_ID": CLIENT_ID,
        "FACEBOOK_CLIENT_SECRET": CLIENT_SECRET,
        "FACEBOOK_AUTHORIZE_URL": f"{base}/v26.0/dialog/oauth",
        "FACEBOOK_TOKEN_URL": f"{base}/v26.0/oauth/access_token",
        "FACEBOOK_USERINFO_URL": f"{base}/v26.0/me",
    }


def test_facebook_signed_request_is_built_as_facebook_does():
    signed = facebook_signed_request({"user_id": GRACE}, CLIENT_SECRET)
    encoded_sig, encoded_payload = signed.split(".", 1)
    assert "=" not in signed

    def unb64(part: str) -> bytes:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))

    expected = hmac.new(CLIENT_SECRET.encode(), encoded_payload.encode(), hashlib.sha256).digest()
    assert hmac.compare_digest(unb64(encoded_sig), expected)
    payload = json.loads(unb64(encoded_payload))
    assert payload["algorithm"] == "HMAC-SHA256"
    assert payload["user_id"] == GRACE
    assert isinstance(payload["issued_at"], int)


def test_concurrent_exchanges_of_one_code_yield_one_token(twitter):
    code = twitter_code(twitter)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: twitter_token_request(twitter, code), range(8)))
    assert sorted(a.status_code for a in answers) == [200] + [400] * 7
