"""The popup's pages for Mastodon, where each reader brings their own server.

Authlib's registry holds one client per provider, set up when the app starts; a Mastodon
client exists per server, registered at its first use (app/services/mastodon.py), so this
round trip is our own: the same single-use `state` in the popup's session as the others,
bound to the flow, with the PKCE verifier beside it, and the flow's server from the
database, never from the browser. A moderator's round trip (the dashboard's sign-in and its
linked accounts) keeps its server with the state instead, in the signed session; the
callback tells the two apart by the purpose's kind.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from typing import Any

from flask import redirect, render_template, request
from flask.typing import ResponseReturnValue

from app.auth import bp
from app.auth.authorization import AuthorizationFailed, pop_purpose, remember_state
from app.auth.providers import MASTODON_PROVIDER, enabled_provider
from app.auth.routes import _finish, _moderator_callback
from app.domain.errors import DomainError
from app.domain.mastodon_servers import parse_server
from app.extensions import db
from app.models import LoginFlow
from app.services import logins, mastodon
from app.services.identities import Profile


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@bp.get("/mastodon/start")
def mastodon_start() -> ResponseReturnValue:
    enabled_provider(MASTODON_PROVIDER.name)
    flow = logins.live_flow(request.args.get("flow"), MASTODON_PROVIDER.name)
    if not flow.server:
        return _not_valid()
    server = parse_server(flow.server)
    try:
        found = mastodon.registration(server)
    except DomainError as err:
        return render_template("auth/message.html", message=err.message), 400
    logins.start_flow(flow)
    verifier = secrets.token_urlsafe(64)
    state = remember_state(
        {"kind": "reader", "flow": flow.id, "verifier": verifier, "client": found.client_id}
    )
    return redirect(
        mastodon.authorize_url(server, found.client_id, state=state, challenge=_challenge(verifier))
    )


def redirect_moderator(server_name: object, purpose: dict[str, Any]) -> ResponseReturnValue:
    """Send a moderator to the consent page of the server they named, registering there first
    if we never have.

    Raises a DomainError on `server` (not a server name, not allowed here, unreachable, not
    Mastodon) with a message for the moderator.
    """
    server = mastodon.allowed_server(server_name)
    found = mastodon.registration(server, check=True)
    verifier = secrets.token_urlsafe(64)
    state = remember_state(
        {
            **purpose,
            "server": server.base_url,
            "verifier": verifier,
            "client": found.client_id,
        }
    )
    return redirect(
        mastodon.authorize_url(server, found.client_id, state=state, challenge=_challenge(verifier))
    )


@bp.get("/mastodon/callback")
def mastodon_callback() -> ResponseReturnValue:
    enabled_provider(MASTODON_PROVIDER.name)
    purpose = pop_purpose()
    if purpose is not None and purpose.get("kind") == "moderator":
        return _moderator_callback(MASTODON_PROVIDER, purpose, lambda: _moderator_profile(purpose))
    flow = (
        db.session.get(LoginFlow, purpose.get("flow"))
        if purpose and purpose.get("kind") == "reader"
        else None
    )
    if (
        purpose is None
        or flow is None
        or flow.provider != MASTODON_PROVIDER.name
        or flow.completed_at is not None
        or not flow.server
    ):
        return _not_valid()
    error = request.args.get("error")
    if error:
        message = (
            "You cancelled signing in."
            if error == "access_denied"
            else "Mastodon could not sign you in. Please try again."
        )
        return _finish(flow, logins.fail_flow(flow, message))
    try:
        profile = mastodon.profile_for_code(
            flow.server,
            request.args.get("code"),
            str(purpose.get("verifier", "")),
            str(purpose.get("client", "")),
        )
    except mastodon.SignInFailed as err:
        return _finish(flow, logins.fail_flow(flow, err.message))
    return _finish(flow, logins.complete_flow(flow, profile))


def _moderator_profile(purpose: dict[str, Any]) -> Profile:
    error = request.args.get("error")
    if error:
        raise AuthorizationFailed(
            "You cancelled signing in."
            if error == "access_denied"
            else "Mastodon could not sign you in. Please try again."
        )
    try:
        # Checked again on the way back: the allow-list may have changed in between.
        server = mastodon.allowed_server(purpose.get("server"))
        return mastodon.profile_for_code(
            server.base_url,
            request.args.get("code"),
            str(purpose.get("verifier", "")),
            str(purpose.get("client", "")),
        )
    except (mastodon.SignInFailed, DomainError) as err:
        raise AuthorizationFailed(err.message) from None


def _not_valid() -> ResponseReturnValue:
    # Unknown, replayed or foreign state: nothing to finish, and nothing is exchanged.
    return render_template(
        "auth/message.html",
        message="This sign-in is not valid any more. Close this window and try again.",
    ), 400
