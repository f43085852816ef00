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
from joserfc.errors import JoseError

from app.auth.providers import ProviderSpec, id_token_claims_options, oauth_client
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


def _unexpected_answer(spec: ProviderSpec, err: Exception) -> AuthorizationFailed:
    log.warning("sign-in with %s: unexpected answer (%s)", spec.name, type(err).__name__)
    return AuthorizationFailed(f"{spec.label} did not answer as expected. Please try again.")


def redirect_to_provider(spec: ProviderSpec, purpose: dict[str, Any]) -> ResponseReturnValue:
    """Send the browser to the provider's consent page.

    Raises AuthorizationFailed when an OpenID Connect provider's discovery document cannot be
    read (the one thing fetched before the redirect).
    """
    client = oauth_client(spec.name)
    if client is None or spec.fetch_profile is None:
        abort(404)
    redirect_uri = callback_url(spec.name)
    state = secrets.token_urlsafe(32)
    try:
        # For OpenID Connect this also makes the nonce, kept with the state and the PKCE
        # verifier, that the ID token must carry back.
        authorization = client.create_authorization_url(redirect_uri, state=state)
    except (requests.RequestException, ValueError, RuntimeError) as err:
        raise _unexpected_answer(spec, err) from None
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
        # Checks state and sends the PKCE verifier; for OpenID Connect it verifies the ID
        # token too: signature (JWKS), nonce, and the claims of id_token_claims_options.
        kwargs = {"claims_options": id_token_claims_options(client)} if spec.openid else {}
        token = client.authorize_access_token(**kwargs)
        return spec.fetch_profile(client, token, current_app.config)
    except OAuthError as err:
        # GitHub answers a bad code with HTTP 200 and an "error" member: Authlib raises this.
        log.info("sign-in with %s failed: %s", spec.name, err.error)
        if err.error == "access_denied":
            raise AuthorizationFailed("You cancelled signing in.") from None
        raise AuthorizationFailed(
            f"{spec.label} could not sign you in. Please try again."
        ) from None
    except JoseError as err:
        # An ID token that is not the provider's, not for us, stale or not of this flow.
        log.warning("sign-in with %s: ID token refused (%s)", spec.name, type(err).__name__)
        raise AuthorizationFailed(
            f"{spec.label} could not sign you in. Please try again."
        ) from None
    except (
        requests.RequestException,
        AttributeError,  # a list where an object was expected
        KeyError,
        TypeError,
        ValueError,
        RuntimeError,
    ) as err:
        raise _unexpected_answer(spec, err) from None
