"""A fake OpenID Connect provider (Google, or any other), as docs/configuration.md describes it.

Discovery at /.well-known/openid-configuration, its keys (JWKS) at /oauth2/certs, the
authorization code flow with PKCE and a nonce, ID tokens signed with RS256 (joserfc, which
Authlib itself uses), a userinfo endpoint. The keys can be rotated (`rotate_keys`).

`app.config["HOSTILE"]` makes the token endpoint answer one of HOSTILE_MODES instead of an
honest ID token, each a way an ID token must be refused. `app.config["PROFILE_IN_ID_TOKEN"]`
(default on, as Google does with `profile`) puts `name` and `picture` in the ID token;
off, only userinfo has them. `USERINFO_SUB` makes userinfo describe another subject, and
FAIL_DISCOVERY makes discovery answer 500.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import secrets
import threading
import time
from typing import Any

from flask import Flask, Response
from flask import request as flask_request
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from tests.fakes.code_flow import (
    GrantError,
    add_authorize_endpoint,
    create_code_flow_app,
    json_response,
)
from tests.fakes.oauth_provider import FakeProviderServer

OIDC_ENDPOINTS = {
    "discovery": "/.well-known/openid-configuration",
    "authorize": "/o/oauth2/v2/auth",
    "token": "/token",
    "userinfo": "/v1/userinfo",
    "jwks": "/oauth2/certs",
}
ID_TOKEN_LIFETIME = 3600
HOSTILE_MODES = (
    "wrong_aud",  # issued to another client
    "wrong_aud_naming_us_as_azp",  # issued to another client, naming ours as authorized party
    "wrong_iss",  # from another issuer
    "expired",
    "bad_signature",  # a known key id, but signed by another key
    "unknown_kid",  # a key the provider never published, even after a refetch
    "missing_nonce",
    "wrong_nonce",  # the nonce of another flow: a replayed ID token
    "hs256_with_client_secret",  # algorithm confusion: HMAC keyed with the client secret
    "no_id_token",  # a plain OAuth answer
    "unsigned_userinfo",  # no ID token, but the claims offered beside the access token
)
OIDC_DEFAULT_USERS: dict[str, dict[str, Any]] = {
    "108410346539127649012": {
        "name": "Emmy Noether",
        "picture": "https://lh3.googleusercontent.example/a/emmy=s96-c",
        "preferred_username": "emmy",
        "email": "emmy@example.com",
    },
    "114207681350017749321": {
        "name": "Sofia Kovalevskaya",
        "picture": "https://lh3.googleusercontent.example/a/sofia=s96-c",
        "email": "emmy@example.com",  # the same address as Emmy's: it must not matter
    },
}


@functools.cache
def _rsa_key(kid: str) -> RSAKey:
    # Generating a key takes a while; tests ask for the same few again and again.
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


def _half_hash(value: str) -> str:
    digest = hashlib.sha256(value.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


class Keys:
    """The provider's signing key and the keys its JWKS publishes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.generation = 0
        self.signing = _rsa_key("key-0")
        self.published = [self.signing]

    def rotate(self, *, keep_old: bool = False) -> None:
        with self.lock:
            self.generation += 1
            self.signing = _rsa_key(f"key-{self.generation}")
            self.published = [*self.published, self.signing] if keep_old else [self.signing]


def create_fake_oidc_provider(
    kind: str = "oidc",
    *,
    client_id: str,
    client_secret: str,
    redirect_uris: list[str],
    users: dict[str, dict[str, Any]] | None = None,
    auto_approve: bool = False,
) -> Flask:
    """`kind` is "google" or "oidc" (only the configuration it is given under differs).

    `users` maps `sub` to `name`, `picture`, `preferred_username`, `email`.
    """
    app, store = create_code_flow_app(
        kind,
        client_id=client_id,
        client_secret=client_secret,
        redirect_uris=redirect_uris,
        users=OIDC_DEFAULT_USERS if users is None else users,
        endpoints=OIDC_ENDPOINTS,
        code_lifetime=600.0,
        auto_approve=auto_approve,
    )
    keys = Keys()
    app.extensions["fake_oidc_keys"] = keys
    app.config.update(
        HOSTILE=None, PROFILE_IN_ID_TOKEN=True, USERINFO_SUB=None, FAIL_DISCOVERY=False
    )

    def issuer() -> str:
        return flask_request.host_url.rstrip("/")

    @app.get(OIDC_ENDPOINTS["discovery"])
    def discovery() -> Response:
        if app.config["FAIL_DISCOVERY"]:
            return Response("Internal Server Error", status=500)
        base = issuer()
        return json_response(
            {
                "issuer": base,
                "authorization_endpoint": base + OIDC_ENDPOINTS["authorize"],
                "token_endpoint": base + OIDC_ENDPOINTS["token"],
                "userinfo_endpoint": base + OIDC_ENDPOINTS["userinfo"],
                "jwks_uri": base + OIDC_ENDPOINTS["jwks"],
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "client_secret_basic",
                ],
                "claims_supported": ["aud", "exp", "iat", "iss", "name", "picture", "sub"],
                "code_challenge_methods_supported": ["plain", "S256"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
            }
        )

    @app.get(OIDC_ENDPOINTS["jwks"])
    def jwks() -> Response:
        with keys.lock:
            published = [key.as_dict(private=False) for key in keys.published]
        return json_response({"keys": published})

    def check(args: dict[str, str]) -> str | None:
        return None if "openid" in args.get("scope", "").split() else "invalid_scope"

    add_authorize_endpoint(
        app,
        store,
        title="Sign in with your account",
        check=check,
        denied=lambda: [("error", "access_denied")],
        pkce="required",
    )

    def client_credentials() -> tuple[str | None, str | None]:
        auth = flask_request.authorization
        if auth is not None and auth.type == "basic":
            return auth.username, auth.password
        return flask_request.form.get("client_id"), flask_request.form.get("client_secret")

    @app.post(OIDC_ENDPOINTS["token"])
    def token() -> Response:
        if app.config["FAIL_TOKEN"]:
            return json_response({"error": "internal_failure"}, 500)
        if not store.check_client(*client_credentials()):
            return json_response(
                {"error": "invalid_client", "error_description": "Unauthorized"}, 401
            )
        form = flask_request.form
        if form.get("grant_type") != "authorization_code":
            return json_response({"error": "unsupported_grant_type"}, 400)
        try:
            grant = store.claim_code(
                form.get("code"),
                redirect_uri=form.get("redirect_uri"),
                code_verifier=form.get("code_verifier"),
            )
        except GrantError as err:
            return json_response({"error": err.error, "error_description": err.description}, 400)
        access_token = store.issue_token(grant.user_id, prefix="ya29.")
        answer: dict[str, Any] = {
            "access_token": access_token,
            "expires_in": 3599,
            "scope": grant.scope,
            "token_type": "Bearer",
        }
        mode = app.config["HOSTILE"]
        if mode == "unsigned_userinfo":
            answer["userinfo"] = {"sub": grant.user_id, "name": "Mallory", "iss": issuer()}
        elif mode != "no_id_token":
            answer["id_token"] = id_token(grant.user_id, grant.nonce, access_token, mode)
        return json_response(answer)

    def id_token(sub: str, nonce: str | None, access_token: str, mode: str | None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": issuer(),
            "azp": client_id,
            "aud": client_id,
            "sub": sub,
            "at_hash": _half_hash(access_token),
            "iat": now,
            "exp": now + ID_TOKEN_LIFETIME,
        }
        if nonce is not None:
            claims["nonce"] = nonce
        if app.config["PROFILE_IN_ID_TOKEN"]:
            profile = store.users[sub]
            claims.update({k: profile[k] for k in ("name", "picture") if k in profile})
        with keys.lock:
            key = keys.signing
        header = {"alg": "RS256", "kid": key.kid, "typ": "JWT"}
        if mode == "wrong_aud":
            claims["aud"] = "another-client"
            del claims["azp"]
        elif mode == "wrong_aud_naming_us_as_azp":
            claims["aud"] = "another-client"
        elif mode == "wrong_iss":
            claims["iss"] = "https://issuer.evil.example"
        elif mode == "expired":
            claims.update(iat=now - 2 * ID_TOKEN_LIFETIME, exp=now - ID_TOKEN_LIFETIME)
        elif mode == "bad_signature":
            # The published key's id, another key's signature.
            return jwt.encode(header, claims, _rsa_key("stray"))
        elif mode == "unknown_kid":
            return jwt.encode({**header, "kid": "stranger"}, claims, _rsa_key("stranger"))
        elif mode == "missing_nonce":
            claims.pop("nonce", None)
        elif mode == "wrong_nonce":
            claims["nonce"] = secrets.token_urlsafe(20)
        elif mode == "hs256_with_client_secret":
            secret = OctKey.import_key(client_secret.ljust(32, "-"))
            return jwt.encode({**header, "alg": "HS256"}, claims, secret, algorithms=["HS256"])
        return jwt.encode(header, claims, key)

    @app.get(OIDC_ENDPOINTS["userinfo"])
    def userinfo() -> Response:
        if app.config["FAIL_PROFILE"]:
            return json_response({"error": "internal_failure"}, 500)
        found = store.bearer_user()
        if found is None:
            return json_response({"error": "invalid_token"}, 401)
        sub, profile = found
        return json_response({**profile, "sub": app.config["USERINFO_SUB"] or sub})

    return app


class FakeOIDCServer(FakeProviderServer):
    """FakeProviderServer for the OpenID Connect fake: configured by its discovery URL."""

    def __init__(self, app: Flask, *, name: str = "Example SSO") -> None:
        super().__init__(app)
        self.name = name

    @property
    def discovery_url(self) -> str:
        return self.base_url + self.endpoints["discovery"]

    @property
    def issuer(self) -> str:
        return self.base_url

    def rotate_keys(self, *, keep_old: bool = False) -> None:
        self.app.extensions["fake_oidc_keys"].rotate(keep_old=keep_old)

    def env(self) -> dict[str, str]:
        prefix = self.kind.upper()
        env = {
            f"{prefix}_CLIENT_ID": self.client_id,
            f"{prefix}_CLIENT_SECRET": self.client_secret,
            f"{prefix}_DISCOVERY_URL": self.discovery_url,
        }
        if self.kind == "oidc":
            env["OIDC_NAME"] = self.name
        return env
