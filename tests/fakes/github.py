"""A fake GitHub OAuth app server, as docs/configuration.md describes it.

GitHub's own habits kept: the token endpoint answers form-encoded unless asked for JSON with
`Accept: application/json`, and answers a bad code with HTTP 200 and an `error` member; the
API wants a User-Agent and a bearer (or `token`) Authorization.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response
from flask import request as flask_request

from tests.fakes.code_flow import (
    GrantError,
    add_authorize_endpoint,
    create_code_flow_app,
    json_response,
)

GITHUB_ENDPOINTS = {
    "authorize": "/login/oauth/authorize",
    "token": "/login/oauth/access_token",
    "userinfo": "/user",
}
GITHUB_DOCS = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors"
GITHUB_DEFAULT_USERS: dict[str, dict[str, Any]] = {
    "583231": {
        "login": "octocat",
        "name": "The Octocat",
        "avatar_url": "https://avatars.githubusercontent.com/u/583231?v=4",
        "html_url": "https://github.com/octocat",
    },
    "9919": {
        "login": "hubot",
        "name": None,
        "avatar_url": "https://avatars.githubusercontent.com/u/9919?v=4",
        "html_url": "https://github.com/hubot",
    },
}


def create_fake_github(
    *,
    client_id: str,
    client_secret: str,
    redirect_uris: list[str],
    users: dict[str, dict[str, Any]] | None = None,
    auto_approve: bool = False,
) -> Flask:
    """`users` maps a numeric user id to `login`, `name`, `avatar_url`, `html_url`."""
    app, store = create_code_flow_app(
        "github",
        client_id=client_id,
        client_secret=client_secret,
        redirect_uris=redirect_uris,
        users=GITHUB_DEFAULT_USERS if users is None else users,
        endpoints=GITHUB_ENDPOINTS,
        code_lifetime=600.0,
        auto_approve=auto_approve,
    )

    add_authorize_endpoint(
        app,
        store,
        title="Authorize application",
        check=lambda args: None,  # any scope, none included, is fine at GitHub
        denied=lambda: [
            ("error", "access_denied"),
            ("error_description", "The user has denied your application access."),
            ("error_uri", GITHUB_DOCS),
        ],
        pkce="optional",
    )

    def answer(body: dict[str, Any]) -> Response:
        # Without the header GitHub answers form-encoded, errors included.
        if "application/json" in flask_request.headers.get("Accept", ""):
            return json_response(body)
        fields = {k: "" if v is None else v for k, v in body.items()}
        return Response(urlencode(fields), content_type="application/x-www-form-urlencoded")

    @app.post(GITHUB_ENDPOINTS["token"])
    def token() -> Response:
        if app.config["FAIL_TOKEN"]:
            return Response("Service unavailable", status=503)
        form = flask_request.form
        if not store.check_client(form.get("client_id"), form.get("client_secret")):
            return answer(
                {
                    "error": "incorrect_client_credentials",
                    "error_description": "The client_id and/or client_secret passed are incorrect.",
                    "error_uri": GITHUB_DOCS,
                }
            )
        try:
            grant = store.claim_code(
                form.get("code"),
                redirect_uri=form.get("redirect_uri"),
                code_verifier=form.get("code_verifier"),
            )
        except GrantError:
            # HTTP 200, as GitHub answers it.
            return answer(
                {
                    "error": "bad_verification_code",
                    "error_description": "The code passed is incorrect or expired.",
                    "error_uri": GITHUB_DOCS,
                }
            )
        return answer(
            {
                "access_token": store.issue_token(grant.user_id, prefix="gho_"),
                "token_type": "bearer",
                "scope": grant.scope,
            }
        )

    @app.get(GITHUB_ENDPOINTS["userinfo"])
    def user() -> Response:
        if not flask_request.headers.get("User-Agent"):
            return Response(
                "Request forbidden by administrative rules. "
                "Please make sure your request has a User-Agent header.",
                status=403,
            )
        if app.config["FAIL_PROFILE"]:
            return json_response({"message": "Server Error"}, 502)
        found = store.bearer_user()
        if found is None:
            return json_response(
                {
                    "message": "Bad credentials",
                    "documentation_url": "https://docs.github.com/rest",
                    "status": "401",
                },
                401,
            )
        user_id, profile = found
        return json_response(
            {
                "login": profile["login"],
                "id": int(user_id),
                "node_id": "MDQ6VXNlcjE=",
                "avatar_url": profile.get("avatar_url"),
                "html_url": profile.get("html_url"),
                "type": "User",
                "name": profile.get("name"),
                "public_repos": 8,
            }
        )

    return app
