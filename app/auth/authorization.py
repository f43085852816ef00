"""The OAuth round trip shared by readers' popups and moderators' dashboard sign-in.

`state` is random per round trip and stored, with what the round trip is for, in the
session of the browser that started it (Authlib keeps the PKCE verifier beside it). The
callback pops it, so each state is used once and only in that browser.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import requests
from authlib.integrations.base_client.errors import OAuthError
from flask import abort, current_app, redirect, request, session
from flask.typing import ResponseReturnValue

from app.auth.providers import ProviderSpec, oauth_client
from app.services import links
from app.services.identities import Profile

log = logging.getLogger(__name__)
SESSION_KEY = "afterword.oauth_states"
MAX_OPEN = 5  # round trips open at once in one browser; older ones are forgotten


class AuthorizationFailed(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def callback_url(provider: str) -> str:
    """Exactly the redirect URI registered with the provider: PUBLIC_URL, never the Host."""
    return links.public_url("auth.callback", provider=provider)


def redirect_to_provider(spec: ProviderSpec, purpose: dict[str, Any]) -> ResponseReturnValue:
    client = oauth_client(spec.name)
    if client is None or spec.fetch_profile is None:
        abort(404)
    redirect_uri = callback_url(spec.name)
    state = secrets.token_urlsafe(32)
    authorization = client.create_authorization_url(redirect_uri, state=state)
    client.save_authorize_data(redirect_uri=redirect_uri, **authorization)
    open_states = dict(list(session.get(SESSION_KEY, {}).items())[-(MAX_OPEN - 1) :])
    open_states[state] = purpose
    session[SESSION_KEY] = open_states
    return redirect(authorization["url"])


def remember_state(purpose: dict[str, Any]) -> str:
    """A new state for a round trip we run ourselves (Mastodon), kept like Authlib's."""
    state = secrets.token_urlsafe(32)
    open_states = dict(list(session.get(SESSION_KEY, {}).items())[-(MAX_OPEN - 1) :])
    open_states[state] = purpose
    session[SESSION_KEY] = open_states
    return state


def pop_purpose() -> dict[str, Any] | None:
    """What the returning round trip was for, or None for an unknown or replayed state."""
    open_states = dict(session.get(SESSION_KEY, {}))
    purpose = open_states.pop(request.args.get("state", ""), None)
    session[SESSION_KEY] = open_states
    return purpose


def fetch_profile(spec: ProviderSpec) -> Profile:
    """Exchange the code at once (X's codes live 30 seconds) and read the profile.

    Raises AuthorizationFailed with a message fit for the reader.
    """
    client = oauth_client(spec.name)
    if client is None or spec.fetch_profile is None:
        abort(404)
    try:
        token = client.authorize_access_token()  # checks state, sends the PKCE verifier
        return spec.fetch_profile(client, token, current_app.config)
    except OAuthError as err:
        log.info("sign-in with %s failed: %s", spec.name, err.error)
        if err.error == "access_denied":
            raise AuthorizationFailed("You cancelled signing in.") from None
        raise AuthorizationFailed(
            f"{spec.label} could not sign you in. Please try again."
        ) from None
    except (requests.RequestException, KeyError, TypeError, ValueError) as err:
        log.warning("sign-in with %s: unexpected answer (%s)", spec.name, type(err).__name__)
        raise AuthorizationFailed(
            f"{spec.label} did not answer as expected. Please try again."
        ) from None
