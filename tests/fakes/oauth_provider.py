"""Fake X (Twitter) and Facebook OAuth 2.0 providers for tests.

Each fake is a real authorization server built on Authlib's Flask integration,
served on loopback, so Afterword's sign-in code is exercised end to end over
HTTP exactly as it talks to the real services (docs/configuration.md): same paths, same
parameters, same client authentication, same response and error shapes.

Everything lives in memory behind one lock; nothing here touches a database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, NamedTuple, Self

import requests
from authlib.common.urls import add_params_to_uri
from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Request
from authlib.oauth2.rfc6749 import (
    AuthorizationCodeMixin,
    ClientMixin,
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    MissingAuthorizationError,
    OAuth2Error,
    TokenMixin,
    grants,
)
from authlib.oauth2.rfc6750 import BearerTokenValidator, InsufficientScopeError
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask, Response, redirect
from flask import request as flask_request
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

KINDS = ("twitter", "facebook")

TWITTER_SCOPE = "users.read tweet.read"
TWITTER_TOKEN_LIFETIME = 7200
TWITTER_CODE_LIFETIME = 30.0
# Fields X v2 accepts in `user.fields`; anything else is a 400 there too.
TWITTER_USER_FIELDS = frozenset(
    {
        "affiliation",
        "connection_status",
        "created_at",
        "description",
        "entities",
        "id",
        "location",
        "most_recent_tweet_id",
        "name",
        "pinned_tweet_id",
        "profile_banner_url",
        "profile_image_url",
        "protected",
        "public_metrics",
        "receives_your_dm",
        "subscription_type",
        "url",
        "username",
        "verified",
        "verified_type",
        "withheld",
    }
)

FACEBOOK_GRAPH_VERSION = "v26.0"
FACEBOOK_SCOPES = frozenset({"public_profile"})
FACEBOOK_TOKEN_LIFETIME = 5183944
FACEBOOK_CODE_LIFETIME = 600.0
FACEBOOK_USER_FIELDS = frozenset(
    {"id", "name", "first_name", "last_name", "short_name", "picture", "email"}
)

TWITTER_DEFAULT_USERS: dict[str, dict[str, Any]] = {
    "2244994945": {
        "name": "Ada Lovelace",
        "username": "ada",
        "profile_image_url": "https://pbs.twimg.example/profile_images/ada_normal.jpg",
    },
    "1587912345678901248": {"name": "Charles Babbage", "username": "babbage"},
}

FACEBOOK_DEFAULT_USERS: dict[str, dict[str, Any]] = {
    "10158123456789012": {
        "name": "Grace Hopper",
        "picture": {
            "url": "https://platform-lookaside.fbsbx.example/grace.jpg",
            "width": 50,
            "height": 50,
            "is_silhouette": False,
        },
    },
    "10158987654321098": {
        "name": "Alan Turing",
        "picture": {
            "url": "https://platform-lookaside.fbsbx.example/silhouette.jpg",
            "width": 50,
            "height": 50,
            "is_silhouette": True,
        },
    },
}

ENDPOINTS = {
    "twitter": {
        "authorize": "/i/oauth2/authorize",
        "token": "/2/oauth2/token",
        "userinfo": "/2/users/me",
    },
    "facebook": {
        "authorize": f"/{FACEBOOK_GRAPH_VERSION}/dialog/oauth",
        "token": f"/{FACEBOOK_GRAPH_VERSION}/oauth/access_token",
        "userinfo": f"/{FACEBOOK_GRAPH_VERSION}/me",
    },
}


class LoggedRequest(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]
    # The body's form fields for POST, the query string otherwise.
    data: dict[str, str]


# ---------------------------------------------------------------- models


@dataclass
class FakeUser:
    id: str
    profile: dict[str, Any]

    @property
    def name(self) -> str:
        return self.profile.get("name", "")


class FakeClient(ClientMixin):
    def __init__(
        self,
        kind: str,
        client_id: str,
        client_secret: str,
        redirect_uris: list[str],
        token_auth_methods: tuple[str, ...],
    ) -> None:
        self.kind = kind
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = list(redirect_uris)
        self.token_auth_methods = token_auth_methods

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        # Both providers insist on an explicit redirect_uri; with no default,
        # Authlib refuses a request without one instead of guessing.
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        if self.kind == "twitter":
            if scope is None or set(scope.split()) != set(TWITTER_SCOPE.split()):
                return None
            return TWITTER_SCOPE
        # Facebook grants public_profile when no scope is asked for, and
        # separates scopes with commas as readily as with spaces.
        requested = {s for s in re.split(r"[,\s]+", scope or "") if s} or {"public_profile"}
        if not requested <= FACEBOOK_SCOPES:
            return None
        return ",".join(sorted(requested))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        # Both providers compare redirect URIs as plain strings: no
        # normalisation of trailing slashes, case, ports or query strings.
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(self.client_secret, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if endpoint == "token":
            return method in self.token_auth_methods
        return True

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class FakeAuthorizationCode(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str | None
    scope: str
    user_id: str
    code_challenge: str | None
    code_challenge_method: str | None
    issued_at: float
    lifetime: float
    used: bool = False

    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return time.time() >= self.issued_at + self.lifetime


@dataclass
class FakeToken(TokenMixin):
    access_token: str
    client_id: str
    user_id: str
    scope: str
    issued_at: float
    expires_in: int
    revoked: bool = False
    client: FakeClient | None = field(default=None, repr=False)

    def check_client(self, client: FakeClient) -> bool:
        return self.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return time.time() >= self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> str:
        return self.user_id

    def get_client(self) -> FakeClient | None:
        return self.client


class Store:
    """The provider's state; the werkzeug server runs each request in its own thread."""

    def __init__(self, client: FakeClient, users: dict[str, FakeUser], code_lifetime: float):
        self.lock = threading.Lock()
        self.client = client
        self.users = users
        self.code_lifetime = code_lifetime
        self.codes: dict[str, FakeAuthorizationCode] = {}
        self.tokens: dict[str, FakeToken] = {}

    def query_client(self, client_id: str) -> FakeClient | None:
        return self.client if client_id == self.client.client_id else None

    def add_code(self, code: FakeAuthorizationCode) -> None:
        with self.lock:
            self.codes[code.code] = code

    def claim_code(self, code: str, client: FakeClient) -> FakeAuthorizationCode:
        """Mark a code used and return it, atomically.

        Claiming before the rest of the token request is checked means two
        concurrent exchanges of one code cannot both succeed; the price is that
        a failed exchange (bad verifier, bad redirect_uri) burns the code.
        """
        with self.lock:
            item = self.codes.get(code)
            if item is None or item.client_id != client.get_client_id():
                raise InvalidGrantError("Invalid 'code' in request.")
            if item.used:
                raise InvalidGrantError("This authorization code has been used.")
            if item.is_expired():
                raise InvalidGrantError("This authorization code has expired.")
            item.used = True
            return item

    def add_token(self, token: FakeToken) -> None:
        with self.lock:
            self.tokens[token.access_token] = token

    def get_token(self, access_token: str) -> FakeToken | None:
        with self.lock:
            return self.tokens.get(access_token)


# ---------------------------------------------------------------- Authlib glue


class FakeAuthorizationServer(AuthorizationServer):
    def __init__(self, app: Flask, store: Store, kind: str) -> None:
        self.store = store
        self.kind = kind
        super().__init__(app, query_client=store.query_client, save_token=self._save_token)
        # Authlib's default generator says "Bearer" and picks its own lifetimes;
        # the fakes answer with each provider's own token shape.
        self.register_token_generator("default", self._generate_token)

    def _generate_token(
        self,
        grant_type: str,
        client: FakeClient,
        user: FakeUser | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = False,
    ) -> dict[str, Any]:
        if self.kind == "twitter":
            return {
                "token_type": "bearer",
                "expires_in": TWITTER_TOKEN_LIFETIME,
                "access_token": secrets.token_urlsafe(66),
                "scope": scope,
            }
        return {
            "access_token": "EAA" + secrets.token_urlsafe(140),
            "token_type": "bearer",
            "expires_in": FACEBOOK_TOKEN_LIFETIME,
        }

    def _save_token(self, token: dict[str, Any], request: Any) -> None:
        self.store.add_token(
            FakeToken(
                access_token=token["access_token"],
                client_id=request.client.get_client_id(),
                user_id=request.user.id,
                scope=request.authorization_code.get_scope(),
                issued_at=time.time(),
                expires_in=token["expires_in"],
                client=request.client,
            )
        )


class FacebookOAuth2Request(FlaskOAuth2Request):
    # Facebook takes token-endpoint parameters from the query string as readily
    # as from a form body; Authlib's grant and client-auth code only read
    # `form`, so both are offered there.
    @property
    def form(self) -> Any:
        return self._request.values


class FacebookAuthorizationServer(FakeAuthorizationServer):
    def create_oauth2_request(self, request: Any) -> FacebookOAuth2Request:
        return FacebookOAuth2Request(flask_request)

    def handle_error_response(self, request: Any, error: OAuth2Error) -> Response:
        if error.redirect_uri:
            return super().handle_error_response(request, error)
        return facebook_token_error(error, self.store)


class _CodeGrant(grants.AuthorizationCodeGrant):
    server: FakeAuthorizationServer

    def save_authorization_code(self, code: str, request: Any) -> None:
        payload = request.payload
        self.server.store.add_code(
            FakeAuthorizationCode(
                code=code,
                client_id=request.client.get_client_id(),
                redirect_uri=payload.redirect_uri,
                scope=request.scope,
                user_id=request.user.id,
                code_challenge=payload.data.get("code_challenge"),
                code_challenge_method=payload.data.get("code_challenge_method"),
                issued_at=time.time(),
                lifetime=self.server.store.code_lifetime,
            )
        )

    def query_authorization_code(self, code: str, client: FakeClient) -> FakeAuthorizationCode:
        return self.server.store.claim_code(code, client)

    def delete_authorization_code(self, authorization_code: FakeAuthorizationCode) -> None:
        # Already marked used by claim_code; the record stays so that a replay
        # is told apart from a code that never existed.
        pass

    def authenticate_user(self, authorization_code: FakeAuthorizationCode) -> FakeUser | None:
        return self.server.store.users.get(authorization_code.user_id)


class TwitterCodeGrant(_CodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic"]  # noqa: RUF012

    def validate_authorization_request(self) -> str:
        redirect_uri = super().validate_authorization_request()
        if not self.request.payload.state:
            raise InvalidRequestError("Missing 'state' parameter.", redirect_uri=redirect_uri)
        return redirect_uri

    def validate_token_request(self) -> None:
        # X wants client_id in the body even from a client that authenticates
        # with HTTP Basic; Authlib's own client does not send it unless asked.
        body_client_id = self.request.form.get("client_id")
        if not body_client_id:
            raise InvalidRequestError("Missing 'client_id' parameter.")
        super().validate_token_request()
        if body_client_id != self.request.client.get_client_id():
            raise InvalidRequestError("'client_id' does not match the authenticated client.")


class FacebookCodeGrant(_CodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]  # noqa: RUF012
    TOKEN_ENDPOINT_HTTP_METHODS = ["GET", "POST"]  # noqa: RUF012

    @classmethod
    def check_token_endpoint(cls, request: Any) -> bool:
        # Facebook's documented exchange has no grant_type at all.
        return request.payload.grant_type in (None, cls.GRANT_TYPE) and (
            request.method in cls.TOKEN_ENDPOINT_HTTP_METHODS
        )


class S256CodeChallenge(CodeChallenge):
    """PKCE as X enforces it: a challenge is mandatory and only S256 counts.

    Authlib's `CodeChallenge(required=True)` alone lets an authorization request
    without any code_challenge through, and only insists on a verifier for
    public clients; X refuses such requests for every client.
    """

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012

    def validate_code_challenge(self, grant: Any, redirect_uri: str | None) -> None:
        data = grant.request.payload.data
        if self.required:
            if not data.get("code_challenge"):
                raise InvalidRequestError("Missing 'code_challenge'")
            if not data.get("code_challenge_method"):
                raise InvalidRequestError("Missing 'code_challenge_method'")
        super().validate_code_challenge(grant, redirect_uri)


class FakeBearerTokenValidator(BearerTokenValidator):
    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store

    def authenticate_token(self, token_string: str) -> FakeToken | None:
        return self.store.get_token(token_string)


class GraphResourceProtector(ResourceProtector):
    # The Graph API takes the token as an `access_token` parameter as well as
    # in an Authorization header.
    def parse_request_authorization(self, request: Any) -> tuple[Any, str]:
        token = flask_request.values.get("access_token")
        if token:
            return self.get_token_validator("bearer"), token
        return super().parse_request_authorization(request)


# ---------------------------------------------------------------- responses


def _json(body: Any, status: int = 200, content_type: str = "application/json") -> Response:
    return Response(json.dumps(body), status=status, content_type=content_type)


def _x_problem(status: int, title: str) -> Response:
    body = {"title": title, "type": "about:blank", "status": status, "detail": title}
    return _json(body, status, "application/problem+json")


def facebook_error(
    message: str,
    type_: str = "OAuthException",
    code: int = 100,
    status: int = 400,
    **extra: Any,
) -> Response:
    error = {"message": message, "type": type_, "code": code, **extra}
    error["fbtrace_id"] = secrets.token_urlsafe(8)
    return _json({"error": error}, status)


# Authlib's own descriptions, as Facebook words the same failures.
_FACEBOOK_MESSAGES = {
    "Invalid 'redirect_uri' in request.": (
        "Error validating verification code. Please make sure your redirect_uri is "
        "identical to the one you used in the OAuth dialog request",
        {"error_subcode": 36008},
    ),
    "Invalid 'code' in request.": ("Invalid verification code format.", {}),
    "This authorization code has been used.": (
        "This authorization code has been used.",
        {"error_subcode": 36009},
    ),
    "This authorization code has expired.": (
        "This authorization code has expired.",
        {"error_subcode": 36007},
    ),
    "Missing 'code' in request.": ("Missing authorization code", {}),
}


def facebook_token_error(error: OAuth2Error, store: Store) -> Response:
    if isinstance(error, InvalidClientError):
        client_id = flask_request.values.get("client_id")
        if flask_request.authorization and flask_request.authorization.username:
            client_id = flask_request.authorization.username
        if store.query_client(client_id or "") is None:
            return facebook_error("Error validating application. Invalid application ID.", code=101)
        return facebook_error("Error validating client secret.", code=1)
    message, extra = _FACEBOOK_MESSAGES.get(
        error.description, (error.description or error.error, {})
    )
    return facebook_error(message, **extra)


def _page(title: str, body: str, status: int = 200) -> Response:
    doc = (
        '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>\n<body><main>\n{body}\n</main></body>\n</html>\n"
    )
    return Response(doc, status=status, content_type="text/html; charset=utf-8")


def _error_page(kind: str, error: OAuth2Error | str) -> Response:
    detail = error if isinstance(error, str) else (error.description or error.error)
    if kind == "twitter":
        title = "Something went wrong"
        lead = "You weren't able to give access to the App. Go back and try logging in again."
    else:
        title = "Error"
        lead = (
            "URL Blocked: This redirect failed because the redirect URI is not allowed "
            "in the app's Client OAuth Settings, or the request is malformed."
        )
    body = (
        f"<h1>{html.escape(title)}</h1>\n<p>{html.escape(lead)}</p>\n"
        f'<p class="detail">{html.escape(str(detail))}</p>'
    )
    return _page(title, body, status=400)


def _consent_page(kind: str, app_name: str, user: FakeUser, scope: str) -> Response:
    action = html.escape(flask_request.full_path, quote=True)
    name = html.escape(app_name)
    user_field = f'<input type="hidden" name="user" value="{html.escape(user.id, quote=True)}">'
    if kind == "twitter":
        username = html.escape(user.profile.get("username", ""))
        title = f"Authorize {app_name} to access your account"
        intro = (
            f"<h1>{name} wants to access your X account.</h1>\n"
            f"<p>Signed in as <strong>{html.escape(user.name)}</strong> @{username}</p>\n"
            f"<p>Scopes: {html.escape(scope)}</p>"
        )
        allow = "Authorize app"
    else:
        title = f"Log in with Facebook - {app_name}"
        intro = (
            f"<h1>{name} is requesting access to your name and profile picture.</h1>\n"
            f"<p>Logged in as <strong>{html.escape(user.name)}</strong></p>"
        )
        allow = f"Continue as {user.name}"
    form = (
        f'<form method="post" action="{action}">\n{user_field}\n'
        f'<button type="submit" name="action" value="allow">{html.escape(allow)}</button>\n'
        '<button type="submit" name="action" value="deny">Cancel</button>\n</form>'
    )
    return _page(title, f"{intro}\n{form}")


def _denied_uri(kind: str, redirect_uri: str, state: str | None) -> str:
    if kind == "twitter":
        params = [("error", "access_denied")]
    else:
        params = [
            ("error", "access_denied"),
            ("error_reason", "user_denied"),
            ("error_description", "Permissions error"),
        ]
    if state:
        params.append(("state", state))
    return add_params_to_uri(redirect_uri, params)


# ---------------------------------------------------------------- factory


def create_fake_provider(
    kind: str,
    *,
    client_id: str,
    client_secret: str,
    redirect_uris: list[str],
    users: dict[str, dict[str, Any]] | None = None,
    auto_approve: bool = False,
    code_lifetime: float | None = None,
    app_name: str = "Afterword",
) -> Flask:
    """A Flask app that behaves like X's or Facebook's OAuth 2.0 endpoints.

    `users` maps provider user id to profile (twitter: name, username, optional
    profile_image_url; facebook: name, optional picture {url, width, height,
    is_silhouette}). The first user is the one "signed in" at the provider;
    change `app.config["SIGNED_IN_USER"]` to sign in as another.

    Runtime switches in `app.config`: AUTO_APPROVE, FAIL_TOKEN, FAIL_PROFILE,
    SIGNED_IN_USER, and COOP (a Cross-Origin-Opener-Policy value for the consent
    page, as the real providers send one). Every request received is appended to
    REQUEST_LOG.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown provider kind {kind!r}; expected one of {KINDS}")
    if users is None:
        users = TWITTER_DEFAULT_USERS if kind == "twitter" else FACEBOOK_DEFAULT_USERS
    if not users:
        raise ValueError("a fake provider needs at least one user")
    if code_lifetime is None:
        code_lifetime = TWITTER_CODE_LIFETIME if kind == "twitter" else FACEBOOK_CODE_LIFETIME

    app = Flask(f"fake_{kind}_provider")
    app.config.update(
        FAKE_PROVIDER_KIND=kind,
        FAKE_CLIENT_ID=client_id,
        FAKE_CLIENT_SECRET=client_secret,
        AUTO_APPROVE=auto_approve,
        FAIL_TOKEN=False,
        FAIL_PROFILE=False,
        SIGNED_IN_USER=next(iter(users)),
        COOP=None,
        REQUEST_LOG=[],
    )

    if kind == "twitter":
        auth_methods: tuple[str, ...] = ("client_secret_basic",)
    else:
        auth_methods = ("client_secret_basic", "client_secret_post")
    client = FakeClient(kind, client_id, client_secret, redirect_uris, auth_methods)
    store = Store(
        client,
        {str(uid): FakeUser(str(uid), dict(profile)) for uid, profile in users.items()},
        code_lifetime,
    )
    app.extensions["fake_oauth_provider"] = store

    if kind == "twitter":
        server: FakeAuthorizationServer = FakeAuthorizationServer(app, store, kind)
        server.register_grant(TwitterCodeGrant, [S256CodeChallenge(required=True)])
    else:
        server = FacebookAuthorizationServer(app, store, kind)
        server.register_grant(FacebookCodeGrant, [CodeChallenge(required=False)])

    validator = FakeBearerTokenValidator(store)
    protector = GraphResourceProtector() if kind == "facebook" else ResourceProtector()
    protector.register_token_validator(validator)

    @app.before_request
    def log_request() -> None:
        data = flask_request.form if flask_request.method == "POST" else flask_request.args
        app.config["REQUEST_LOG"].append(
            LoggedRequest(
                flask_request.method,
                flask_request.path,
                dict(flask_request.headers),
                data.to_dict(),
            )
        )

    paths = ENDPOINTS[kind]

    @app.route(paths["authorize"], methods=["GET", "POST"])
    def authorize() -> Response:
        if flask_request.method == "POST":
            user_id = flask_request.form.get("user", "")
        else:
            user_id = app.config["SIGNED_IN_USER"]
        user = store.users.get(user_id)
        if user is None:
            return _error_page(kind, f"Unknown user {user_id!r}.")
        try:
            grant = server.get_consent_grant(end_user=user)
        except OAuth2Error as error:
            if error.redirect_uri:
                return server.handle_error_response(None, error)
            return _error_page(kind, error)

        if flask_request.method == "GET" and not app.config["AUTO_APPROVE"]:
            page = _consent_page(kind, app_name, user, grant.request.scope)
            if app.config["COOP"]:
                page.headers["Cross-Origin-Opener-Policy"] = app.config["COOP"]
            return page
        if flask_request.method == "POST" and flask_request.form.get("action") != "allow":
            return redirect(_denied_uri(kind, grant.redirect_uri, grant.request.payload.state))
        return server.create_authorization_response(grant=grant, grant_user=user)

    @app.route(paths["token"], methods=["POST"] if kind == "twitter" else ["GET", "POST"])
    def token() -> Response:
        if app.config["FAIL_TOKEN"]:
            return _provider_failure(kind)
        return server.create_token_response()

    if kind == "twitter":

        @app.get(paths["userinfo"])
        def twitter_me() -> Response:
            if app.config["FAIL_PROFILE"]:
                return _provider_failure(kind)
            try:
                access = protector.acquire_token([TWITTER_SCOPE])
            except InsufficientScopeError:
                return _x_problem(403, "Forbidden")
            except OAuth2Error:
                return _x_problem(401, "Unauthorized")
            user = store.users[access.get_user()]
            return twitter_user_response(user)

    else:

        @app.get(paths["userinfo"])
        def facebook_me() -> Response:
            if app.config["FAIL_PROFILE"]:
                return _provider_failure(kind)
            try:
                access = protector.acquire_token()
            except MissingAuthorizationError:
                return facebook_error(
                    "An active access token must be used to query information "
                    "about the current user.",
                    code=2500,
                )
            except OAuth2Error:
                return facebook_error(
                    "Invalid OAuth access token - Cannot parse access token", code=190
                )
            proof = flask_request.values.get("appsecret_proof")
            if not proof:
                return facebook_error(
                    "API calls from the server require an appsecret_proof argument",
                    type_="GraphMethodException",
                )
            expected = appsecret_proof(access.access_token, client_secret)
            if not hmac.compare_digest(proof, expected):
                return facebook_error(
                    "Invalid appsecret_proof provided in the API argument",
                    type_="GraphMethodException",
                )
            user = store.users[access.get_user()]
            return facebook_user_response(user)

    return app


def _provider_failure(kind: str) -> Response:
    if kind == "twitter":
        return _x_problem(500, "Internal Server Error")
    return facebook_error(
        "An unexpected error has occurred. Please retry your request later.",
        code=2,
        status=500,
        is_transient=True,
    )


def twitter_user_response(user: FakeUser) -> Response:
    requested = [f for f in flask_request.args.get("user.fields", "").split(",") if f]
    unknown = [f for f in requested if f not in TWITTER_USER_FIELDS]
    if unknown:
        body = {
            "errors": [
                {
                    "parameters": {"user.fields": unknown},
                    "message": (
                        f"The `user.fields` query parameter value [{unknown[0]}] is not one "
                        f"of [{','.join(sorted(TWITTER_USER_FIELDS))}]"
                    ),
                }
            ],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        }
        return _json(body, 400, "application/problem+json")
    data = {"id": user.id, "name": user.profile["name"], "username": user.profile["username"]}
    for name in requested:
        if name in user.profile and name not in data:
            data[name] = user.profile[name]
    return _json({"data": data})


def facebook_user_response(user: FakeUser) -> Response:
    requested = [f.strip() for f in flask_request.args.get("fields", "id,name").split(",")]
    data: dict[str, Any] = {}
    for spec in filter(None, requested):
        # Graph allows modifiers such as picture.type(large); only the base name matters here.
        name = re.split(r"[.{(]", spec, maxsplit=1)[0]
        if name not in FACEBOOK_USER_FIELDS:
            return facebook_error(
                f"(#100) Tried accessing nonexisting field ({name}) on node type (User)"
            )
        if name == "id":
            data["id"] = user.id
        elif name == "picture":
            data["picture"] = {"data": dict(user.profile.get("picture") or _SILHOUETTE)}
        elif name in user.profile:
            data[name] = user.profile[name]
    return _json(data)


_SILHOUETTE = {
    "url": "https://platform-lookaside.fbsbx.example/silhouette.jpg",
    "width": 50,
    "height": 50,
    "is_silhouette": True,
}


# ---------------------------------------------------------------- Facebook helpers


def appsecret_proof(access_token: str, app_secret: str) -> str:
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def facebook_signed_request(payload: dict[str, Any], app_secret: str) -> str:
    """A `signed_request` as Facebook posts it to a data-deletion callback.

    `payload` must carry `user_id`; `algorithm` and `issued_at` are filled in
    unless given, so a test can also forge a bad algorithm or an old timestamp.
    """
    if "user_id" not in payload:
        raise ValueError("a signed_request payload needs a user_id")
    full = {"algorithm": "HMAC-SHA256", "issued_at": int(time.time()), **payload}
    encoded = _b64url(json.dumps(full, separators=(",", ":")).encode())
    signature = hmac.new(app_secret.encode(), encoded.encode("ascii"), hashlib.sha256).digest()
    return f"{_b64url(signature)}.{encoded}"


# ---------------------------------------------------------------- server


class _QuietRequestHandler(WSGIRequestHandler):
    # One access-log line per request drowns test output; errors still print.
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class FakeProviderServer:
    """Serve a fake provider on 127.0.0.1 in a background thread.

    `with FakeProviderServer(create_fake_provider(...)) as fake:` then
    `fake.env()` is the configuration that points Afterword at it.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.kind: str = app.config["FAKE_PROVIDER_KIND"]
        # The fakes of tests/fakes/code_flow.py name their own paths.
        self.endpoints: dict[str, str] = app.config.get("FAKE_ENDPOINTS") or ENDPOINTS[self.kind]
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._server = make_server(
            "127.0.0.1", 0, self.app, threaded=True, request_handler=_QuietRequestHandler
        )
        # A short poll keeps shutdown (and so each test) fast.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"fake-{self.kind}-provider",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake provider is not running")
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def authorize_url(self) -> str:
        return self.base_url + self.endpoints["authorize"]

    @property
    def token_url(self) -> str:
        return self.base_url + self.endpoints["token"]

    @property
    def userinfo_url(self) -> str:
        return self.base_url + self.endpoints["userinfo"]

    @property
    def client_id(self) -> str:
        return self.app.config["FAKE_CLIENT_ID"]

    @property
    def client_secret(self) -> str:
        return self.app.config["FAKE_CLIENT_SECRET"]

    @property
    def request_log(self) -> list[LoggedRequest]:
        return self.app.config["REQUEST_LOG"]

    def requests_to(self, endpoint: str) -> list[LoggedRequest]:
        """Logged requests to "authorize", "token" or "userinfo"."""
        path = self.endpoints[endpoint]
        return [r for r in self.request_log if r.path == path]

    def env(self) -> dict[str, str]:
        prefix = self.kind.upper()
        return {
            f"{prefix}_CLIENT_ID": self.client_id,
            f"{prefix}_CLIENT_SECRET": self.client_secret,
            f"{prefix}_AUTHORIZE_URL": self.authorize_url,
            f"{prefix}_TOKEN_URL": self.token_url,
            f"{prefix}_USERINFO_URL": self.userinfo_url,
        }

    def consent(
        self, authorization_url: str, *, approve: bool = True, user: str | None = None
    ) -> str:
        """Act as the user's browser at the provider; return the redirect back to the client.

        For tests without a browser: open `authorization_url` (as Afterword
        redirected to it), press "Authorize app"/"Continue as …" or "Cancel",
        and hand back the Location the provider answered with.
        """
        page = requests.get(authorization_url, allow_redirects=False, timeout=5)
        if page.status_code in (301, 302, 303, 307):
            return page.headers["Location"]
        if page.status_code != 200:
            raise AssertionError(f"provider refused the authorization request: {page.text}")
        answer = requests.post(
            authorization_url,
            data={
                "user": user or self.app.config["SIGNED_IN_USER"],
                "action": "allow" if approve else "deny",
            },
            allow_redirects=False,
            timeout=5,
        )
        if answer.status_code not in (302, 303):
            raise AssertionError(f"provider did not redirect back: {answer.text}")
        return answer.headers["Location"]
