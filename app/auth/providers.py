"""The sign-in providers. Adding one (Google, GitHub, ...) is a row in PROVIDERS.

Each provider's client id, secret and endpoints come from config keys named after it
(`TWITTER_CLIENT_ID`, `TWITTER_AUTHORIZE_URL`, ...); a provider whose keys are unset offers no
button. Profile parsing is the only provider-specific code, in one function per provider.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app

from app.domain.errors import ValidationError
from app.models import Site
from app.services.identities import Profile

ProfileFetcher = Callable[[Any, dict[str, Any], Mapping[str, Any]], Profile]
AUTHLIB_EXTENSION = "authlib.integrations.flask_client"


@dataclass(frozen=True)
class ProviderSpec:
    name: str  # URL segment and config prefix
    label: str  # shown to readers: "Log in with Twitter"
    # None for the local Dev provider, which asks for a name on a page of ours.
    fetch_profile: ProfileFetcher | None
    client_kwargs: dict[str, Any] = field(default_factory=dict)
    # Extra fields for the token request body, from config keys (X wants client_id there too).
    token_body_from_config: tuple[tuple[str, str], ...] = ()

    def config_key(self, suffix: str) -> str:
        return f"{self.name.upper()}_{suffix}"

    def is_configured(self, config: Mapping[str, Any]) -> bool:
        return bool(config.get(self.config_key("CLIENT_ID"))) and bool(
            config.get(self.config_key("CLIENT_SECRET"))
        )


def _twitter_profile(client: Any, token: dict[str, Any], config: Mapping[str, Any]) -> Profile:
    resp = client.get(
        config["TWITTER_USERINFO_URL"],
        params={"user.fields": "profile_image_url"},
        token=token,
        timeout=10,
    )
    resp.raise_for_status()
    data = resp.json()["data"]
    return Profile(
        provider="twitter",
        provider_user_id=str(data["id"]),
        name=data.get("name") or data["username"],
        handle=data.get("username"),
        avatar_url=data.get("profile_image_url"),
    )


def appsecret_proof(access_token: str, app_secret: str) -> str:
    """Facebook's proof that a Graph call comes from the app's server, not a stolen token."""
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


def _facebook_profile(client: Any, token: dict[str, Any], config: Mapping[str, Any]) -> Profile:
    resp = client.get(
        config["FACEBOOK_USERINFO_URL"],
        params={
            "fields": "id,name,picture",
            "appsecret_proof": appsecret_proof(
                token["access_token"], config["FACEBOOK_CLIENT_SECRET"]
            ),
        },
        token=token,
        timeout=10,
    )
    resp.raise_for_status()
    data = resp.json()
    picture = (data.get("picture") or {}).get("data") or {}
    return Profile(
        provider="facebook",
        provider_user_id=str(data["id"]),  # app-scoped: differs from app to app
        name=data.get("name") or "Facebook user",
        handle=None,
        avatar_url=None if picture.get("is_silhouette") else picture.get("url"),
    )


PROVIDERS: tuple[ProviderSpec, ...] = (
    ProviderSpec(
        name="twitter",
        label="Twitter",
        fetch_profile=_twitter_profile,
        client_kwargs={
            "scope": "users.read tweet.read",
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic",
        },
        token_body_from_config=(("client_id", "TWITTER_CLIENT_ID"),),
    ),
    ProviderSpec(
        name="facebook",
        label="Facebook",
        fetch_profile=_facebook_profile,
        client_kwargs={
            "scope": "public_profile",
            # Facebook accepts PKCE; it costs nothing and protects a leaked code.
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_post",
        },
    ),
)
BY_NAME = {spec.name: spec for spec in PROVIDERS}
DEV_PROVIDER = ProviderSpec(name="dev", label="Dev", fetch_profile=None)
# Any server the reader names, with an app registered on each (app/auth/mastodon.py): no
# client keys in config, only MASTODON_LOGIN.
MASTODON_PROVIDER = ProviderSpec(name="mastodon", label="Mastodon", fetch_profile=None)
_OWN_PAGES = {spec.name: spec for spec in (DEV_PROVIDER, MASTODON_PROVIDER)}


def provider_spec(name: str | None) -> ProviderSpec | None:
    return _OWN_PAGES.get(name or "") or BY_NAME.get(name or "")


def enabled_provider(name: object, site: Site | None = None) -> ProviderSpec:
    """The provider named, if readers may use it here; raises ValidationError otherwise."""
    for spec in enabled_providers(current_app.config, site):
        if spec.name == name:
            return spec
    raise ValidationError("That sign-in provider is not available.", field="provider")


def enabled_providers(config: Mapping[str, Any], site: Site | None = None) -> list[ProviderSpec]:
    """Providers offered to readers, in button order; Dev only when DEV_LOGIN is on.

    A site may offer fewer than are configured (its `providers` setting).
    """
    specs = [spec for spec in PROVIDERS if spec.is_configured(config)]
    if config.get("MASTODON_LOGIN"):
        specs.append(MASTODON_PROVIDER)
    if config.get("DEV_LOGIN"):
        specs.append(DEV_PROVIDER)
    if site is not None and site.providers is not None:
        specs = [spec for spec in specs if spec.name in site.providers]
    return specs


def init_app(app: Flask) -> None:
    """Give the app its own Authlib registry with a client per configured provider.

    Authlib's registry binds to one app and caches its clients, so a module-level one would
    keep the first app's endpoints; an app of its own keeps test apps and workers apart.
    """
    registry = OAuth(app)
    for spec in PROVIDERS:
        if not spec.is_configured(app.config):
            continue
        registry.register(
            spec.name,
            client_id=app.config[spec.config_key("CLIENT_ID")],
            client_secret=app.config[spec.config_key("CLIENT_SECRET")],
            authorize_url=app.config[spec.config_key("AUTHORIZE_URL")],
            access_token_url=app.config[spec.config_key("TOKEN_URL")],
            access_token_params={
                field_name: app.config[key] for field_name, key in spec.token_body_from_config
            }
            or None,
            client_kwargs=spec.client_kwargs,
        )


def oauth_client(name: str) -> Any:
    """The current app's Authlib client for a provider, or None when it is not configured."""
    return current_app.extensions[AUTHLIB_EXTENSION].create_client(name)
