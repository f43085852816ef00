"""What the fakes of WordPress.com, GitHub and OpenID Connect providers share.

Each of those fakes is a small Flask app, served on loopback by FakeProviderServer, that
speaks its provider's own wire format (tests/fakes/wordpress.py, github.py,
oidc_provider.py). This module holds their common part: the authorization endpoint with its
consent page, the codes and tokens it hands out, the request log and the runtime switches.

Runtime switches in `app.config`, as for the X and Facebook fakes: AUTO_APPROVE, FAIL_TOKEN,
FAIL_PROFILE, SIGNED_IN_USER; every request is appended to REQUEST_LOG.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from authlib.common.urls import add_params_to_uri
from flask import Flask, Response, redirect
from flask import request as flask_request

from tests.fakes.oauth_provider import LoggedRequest, _page


@dataclass
class Grant:
    """An authorization code and what it was given for."""

    code: str
    client_id: str
    redirect_uri: str | None
    scope: str
    user_id: str
    issued_at: float
    lifetime: float
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    nonce: str | None = None
    used: bool = False


class GrantError(Exception):
    """A token request refused: `error` is the provider's code, `description` its words."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class CodeFlowStore:
    """Codes and tokens in memory; werkzeug runs each request in a thread of its own."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        redirect_uris: list[str],
        users: dict[str, dict[str, Any]],
        code_lifetime: float,
    ) -> None:
        self.lock = threading.Lock()
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = list(redirect_uris)
        self.users = {str(uid): dict(profile) for uid, profile in users.items()}
        self.code_lifetime = code_lifetime
        self.codes: dict[str, Grant] = {}
        self.tokens: dict[str, str] = {}  # access token -> user id

    def check_client(self, client_id: str | None, client_secret: str | None) -> bool:
        return client_id == self.client_id and secrets.compare_digest(
            client_secret or "", self.client_secret
        )

    def add_code(self, grant: Grant) -> None:
        with self.lock:
            self.codes[grant.code] = grant

    def claim_code(
        self, code: str | None, *, redirect_uri: str | None, code_verifier: str | None
    ) -> Grant:
        """The grant of a code, used up at once: of two exchanges of one code, one fails."""
        with self.lock:
            grant = self.codes.get(code or "")
            if grant is None or grant.used:
                raise GrantError("invalid_grant", "The code is incorrect or was used already.")
            grant.used = True
        if time.time() >= grant.issued_at + grant.lifetime:
            raise GrantError("invalid_grant", "The code has expired.")
        if grant.redirect_uri is not None and redirect_uri != grant.redirect_uri:
            raise GrantError("invalid_grant", "The redirect_uri does not match.")
        if grant.code_challenge is not None:
            if not code_verifier:
                raise GrantError("invalid_grant", "Missing code_verifier.")
            digest = hashlib.sha256(code_verifier.encode()).digest()
            expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if not secrets.compare_digest(expected, grant.code_challenge):
                raise GrantError("invalid_grant", "The code_verifier does not match.")
        return grant

    def issue_token(self, user_id: str, prefix: str = "") -> str:
        token = prefix + secrets.token_urlsafe(40)
        with self.lock:
            self.tokens[token] = user_id
        return token

    def bearer_user(self) -> tuple[str, dict[str, Any]] | None:
        """The user whose access token the request carries as `Authorization: Bearer`."""
        scheme, _, token = flask_request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        with self.lock:
            user_id = self.tokens.get(token)
        return (user_id, self.users[user_id]) if user_id is not None else None


# Checks a provider makes of the authorization request beyond client, redirect and code:
# they answer an error code to redirect back with, or None.
RequestCheck = Callable[[dict[str, str]], str | None]


def create_code_flow_app(
    kind: str,
    *,
    client_id: str,
    client_secret: str,
    redirect_uris: list[str],
    users: dict[str, dict[str, Any]],
    endpoints: dict[str, str],
    code_lifetime: float,
    auto_approve: bool,
) -> tuple[Flask, CodeFlowStore]:
    if not users:
        raise ValueError("a fake provider needs at least one user")
    app = Flask(f"fake_{kind}_provider")
    store = CodeFlowStore(
        client_id=client_id,
        client_secret=client_secret,
        redirect_uris=redirect_uris,
        users=users,
        code_lifetime=code_lifetime,
    )
    app.config.update(
        FAKE_PROVIDER_KIND=kind,
        FAKE_ENDPOINTS=endpoints,
        FAKE_CLIENT_ID=client_id,
        FAKE_CLIENT_SECRET=client_secret,
        AUTO_APPROVE=auto_approve,
        FAIL_TOKEN=False,
        FAIL_PROFILE=False,
        SIGNED_IN_USER=next(iter(store.users)),
        REQUEST_LOG=[],
    )
    app.extensions["fake_oauth_provider"] = store

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

    return app, store


def add_authorize_endpoint(
    app: Flask,
    store: CodeFlowStore,
    *,
    title: str,
    check: RequestCheck,
    denied: Callable[[], list[tuple[str, str]]],
    pkce: str = "optional",  # "required": S256 or nothing; "optional"; "ignored"
) -> None:
    """GET shows the consent page (or approves at once with AUTO_APPROVE); POST with
    `user` and `action=allow|deny` is the user's answer, as FakeProviderServer.consent sends."""

    @app.route(app.config["FAKE_ENDPOINTS"]["authorize"], methods=["GET", "POST"])
    def authorize() -> Response:
        args = flask_request.args.to_dict()
        if args.get("client_id") != store.client_id:
            return _page("Error", "<p>Unknown client_id.</p>", status=400)
        redirect_uri = args.get("redirect_uri")
        if redirect_uri not in store.redirect_uris:
            # Never redirect to an address the app did not register.
            return _page("Error", "<p>The redirect_uri is not registered.</p>", status=400)
        state = args.get("state")

        def back(params: list[tuple[str, str]]) -> Response:
            if state:
                params = [*params, ("state", state)]
            return redirect(add_params_to_uri(redirect_uri, params))  # type: ignore[arg-type]

        if args.get("response_type") != "code":
            return back([("error", "unsupported_response_type")])
        error = check(args)
        if error:
            return back([("error", error)])
        challenge, method = args.get("code_challenge"), args.get("code_challenge_method")
        if pkce == "required" and (not challenge or method != "S256"):
            return back([("error", "invalid_request")])
        if challenge and method not in (None, "S256") and pkce != "ignored":
            return back([("error", "invalid_request")])
        if flask_request.method == "POST":
            user_id = flask_request.form.get("user", "")
        else:
            user_id = app.config["SIGNED_IN_USER"]
        user = store.users.get(user_id)
        if user is None:
            return _page("Error", f"<p>Unknown user {html.escape(user_id)}.</p>", status=400)
        if flask_request.method == "GET" and not app.config["AUTO_APPROVE"]:
            return _consent_page(title, user_id, user)
        if flask_request.method == "POST" and flask_request.form.get("action") != "allow":
            return back(denied())
        code = secrets.token_urlsafe(24)
        store.add_code(
            Grant(
                code=code,
                client_id=store.client_id,
                redirect_uri=redirect_uri,
                scope=args.get("scope", ""),
                user_id=user_id,
                issued_at=time.time(),
                lifetime=store.code_lifetime,
                code_challenge=challenge if pkce != "ignored" else None,
                code_challenge_method=method if pkce != "ignored" else None,
                nonce=args.get("nonce"),
            )
        )
        return back([("code", code)])


def _consent_page(title: str, user_id: str, user: dict[str, Any]) -> Response:
    action = html.escape(flask_request.full_path, quote=True)
    user_id = html.escape(user_id, quote=True)
    name = html.escape(str(user.get("name") or user.get("display_name") or ""))
    form = (
        f'<form method="post" action="{action}">\n'
        f'<input type="hidden" name="user" value="{user_id}">\n'
        '<button type="submit" name="action" value="allow">Approve</button>\n'
        '<button type="submit" name="action" value="deny">Deny</button>\n</form>'
    )
    return _page(title, f"<h1>{html.escape(title)}</h1>\n<p>Signed in as {name}</p>\n{form}")


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")
