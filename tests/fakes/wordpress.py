"""A fake WordPress.com OAuth 2.0 server, as docs/configuration.md describes it.

Authorization code at /oauth2/authorize (scope `auth`), the token by POST with the client's
id and secret in the form body, the profile from /rest/v1.1/me with a bearer token.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response
from flask import request as flask_request

from tests.fakes.code_flow import (
    GrantError,
    add_authorize_endpoint,
    create_code_flow_app,
    json_response,
)

WORDPRESS_SCOPES = frozenset({"auth", "global", "media", "posts", "sites", "users"})
WORDPRESS_ENDPOINTS = {
    "authorize": "/oauth2/authorize",
    "token": "/oauth2/token",
    "userinfo": "/rest/v1.1/me",
}
WORDPRESS_DEFAULT_USERS: dict[str, dict[str, Any]] = {
    "40123456": {
        "display_name": "Mary Shelley",
        "username": "mshelley",
        "avatar_URL": "https://0.gravatar.com/avatar/5d0c1a0e?s=96&d=identicon",
        "profile_URL": "https://gravatar.com/mshelley",
    },
    "40987654": {
        "display_name": "",
        "username": "percyb",
        "avatar_URL": "https://0.gravatar.com/avatar/9a1b2c3d?s=96&d=identicon",
        "profile_URL": "https://gravatar.com/percyb",
    },
}


def create_fake_wordpress(
    *,
    client_id: str,
    client_secret: str,
    redirect_uris: list[str],
    users: dict[str, dict[str, Any]] | None = None,
    auto_approve: bool = False,
) -> Flask:
    """`users` maps a numeric user id to `display_name`, `username`, `avatar_URL`,
    `profile_URL`; the first is the one signed in at WordPress.com."""
    app, store = create_code_flow_app(
        "wordpress",
        client_id=client_id,
        client_secret=client_secret,
        redirect_uris=redirect_uris,
        users=WORDPRESS_DEFAULT_USERS if users is None else users,
        endpoints=WORDPRESS_ENDPOINTS,
        code_lifetime=600.0,
        auto_approve=auto_approve,
    )

    def check(args: dict[str, str]) -> str | None:
        scopes = set(args.get("scope", "").split())
        return None if scopes and scopes <= WORDPRESS_SCOPES else "invalid_scope"

    add_authorize_endpoint(
        app,
        store,
        title="Howdy! Approve connection?",
        check=check,
        denied=lambda: [
            ("error", "access_denied"),
            ("error_description", "You need to log in to WordPress.com"),
        ],
        pkce="ignored",
    )

    @app.post(WORDPRESS_ENDPOINTS["token"])
    def token() -> Response:
        if app.config["FAIL_TOKEN"]:
            return json_response({"error": "server_error", "error_description": "Oops."}, 500)
        form = flask_request.form
        # WordPress.com reads the client from the form body only.
        if not store.check_client(form.get("client_id"), form.get("client_secret")):
            return _error("invalid_client", "Unknown client_id or wrong client_secret.")
        if form.get("grant_type") != "authorization_code":
            return _error("unsupported_grant_type", "grant_type must be authorization_code.")
        try:
            grant = store.claim_code(
                form.get("code"), redirect_uri=form.get("redirect_uri"), code_verifier=None
            )
        except GrantError as err:
            return _error(err.error, err.description)
        return json_response(
            {
                "access_token": store.issue_token(grant.user_id),
                "token_type": "bearer",
                "blog_id": "0",
                "blog_url": None,
                "scope": grant.scope,
            }
        )

    @app.get(WORDPRESS_ENDPOINTS["userinfo"])
    def me() -> Response:
        if app.config["FAIL_PROFILE"]:
            return json_response({"error": "unknown", "message": "Something went wrong."}, 500)
        found = store.bearer_user()
        if found is None:
            return json_response(
                {
                    "error": "authorization_required",
                    "message": "An active access token must be used to query information "
                    "about the current user.",
                },
                403,
            )
        user_id, profile = found
        return json_response(
            {
                "ID": int(user_id),
                "display_name": profile.get("display_name", ""),
                "username": profile["username"],
                "avatar_URL": profile.get("avatar_URL", ""),
                "profile_URL": profile.get("profile_URL", ""),
                "site_count": 1,
                "verified": True,
            }
        )

    return app


def _error(error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, 400)
