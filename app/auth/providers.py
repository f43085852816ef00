"""The sign-in providers. Adding one is a row in PROVIDERS.

Each provider's client id, secret and endpoints come from config keys named after it
(`TWITTER_CLIENT_ID`, `TWITTER_AUTHORIZE_URL`, ...); a provider whose keys are unset offers no
button. OpenID Connect providers (Google, and one of the operator's choosing) find their
endpoints and keys in a discovery document (`GOOGLE_DISCOVERY_URL`) instead. Profile parsing
is the only provider-specific code, in one function per provider.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from authlib.integrations.flask_client import OAuth
from authlib.oidc.core import UserInfo
from flask import Flask, current_app, has_app_context

from app.domain.errors import ValidationError
from app.models import Site
from app.services.identities import Profile

ProfileFetcher = Callable[[Any, dict[str, Any], Mapping[str, Any]], Profile]
AUTHLIB_EXTENSION = "authlib.integrations.flask_client"
HTTP_TIMEOUT = 10  # seconds for any one call to a provider: a reader waits in the popup


@dataclass(frozen=True)
class ProviderSpec:
    name: str  # URL segment and config prefix
    label: str  # shown to readers: "Log in with Twitter"
    # None for the local Dev provider, which asks for a name on a page of ours.
    fetch_profile: ProfileFetcher | None
    client_kwargs: dict[str, Any] = field(default_factory=dict)
    # Extra fields for the token request body, from config keys (X wants client_id there too).
    token_body_from_config: tuple[tuple[str, str], ...] = ()
    # OpenID Connect: endpoints and keys from `{NAME}_DISCOVERY_URL`, and an ID token to verify.
    openid: bool = False
    # Config keys besides the client id and secret that must be set ("OIDC_DISCOVERY_URL").
    also_required: tuple[str, ...] = ()
    # A config key whose value is the label (the operator names their own OIDC provider).
    label_key: str | None = None

    def config_key(self, suffix: str) -> str:
        return f"{self.name.upper()}_{suffix}"

    def required_keys(self) -> tuple[str, ...]:
        return (
            *((self.label_key,) if self.label_key else ()),
            *self.also_required,
            self.config_key("CLIENT_ID"),
            self.config_key("CLIENT_SECRET"),
        )

    def is_configured(self, config: Mapping[str, Any]) -> bool:
        return all(config.get(key) for key in self.required_keys())

    def labelled(self, config: Mapping[str, Any]) -> ProviderSpec:
        """This provider under the name readers see, where the configuration gives it."""
        label = config.get(self.label_key) if self.label_key else None
        return replace(self, label=str(label).strip()) if label and str(label).strip() else self


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


def _text(value: object) -> str | None:
    """A provider's string, or None for anything else: a name that is a number or an object
    is no name, and must not reach the account as one."""
    return value if isinstance(value, str) and value else None


def _numeric_id(value: object, provider: str) -> str:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{provider} answered with an id that is not a number")
    return str(value)


def _wordpress_profile(client: Any, token: dict[str, Any], config: Mapping[str, Any]) -> Profile:
    resp = client.get(config["WORDPRESS_USERINFO_URL"], token=token, timeout=HTTP_TIMEOUT)
    resp.raise_for_status()
    data = resp.json()
    username = _text(data.get("username"))
    name = _text(data.get("display_name")) or username
    if name is None:
        raise ValueError("WordPress.com named nobody")
    return Profile(
        provider="wordpress",
        provider_user_id=_numeric_id(data["ID"], "WordPress.com"),
        name=name,
        handle=username,
        avatar_url=_text(data.get("avatar_URL")),
        profile_url=_text(data.get("profile_URL")),
    )


def _github_profile(client: Any, token: dict[str, Any], config: Mapping[str, Any]) -> Profile:
    resp = client.get(
        config["GITHUB_USERINFO_URL"],
        token=token,
        headers={"Accept": "application/vnd.github+json"},
        timeout=HTTP_TIMEOUT,
    )
    resp.raise_for_status()
    data = resp.json()
    login = _text(data.get("login"))
    if login is None:
        raise ValueError("GitHub named no login")
    return Profile(
        provider="github",
        # Logins can be renamed, and then taken by someone else; ids stay.
        provider_user_id=_numeric_id(data["id"], "GitHub"),
        name=_text(data.get("name")) or login,
        handle=login,
        avatar_url=_text(data.get("avatar_url")),
        profile_url=_text(data.get("html_url")),
    )


def id_token_claims_options(client: Any) -> dict[str, dict[str, Any]]:
    """What an ID token must say, besides its signature and nonce (Authlib checks those).

    Authlib's own defaults leave `aud` to its `azp` check, which a token issued to another
    client but naming ours as `azp` passes; the audience is checked here instead.
    """
    metadata = client.load_server_metadata()
    return {
        "iss": {"essential": True, "value": metadata["issuer"]},
        "aud": {"essential": True, "value": client.client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
    }


MAX_PROVIDER_USER_ID = 255  # Identity.provider_user_id


def _openid_profile(provider: str, *, scoped_by_issuer: bool) -> ProfileFetcher:
    def fetch(client: Any, token: dict[str, Any], config: Mapping[str, Any]) -> Profile:
        claims = token.get("userinfo")
        # Authlib puts the claims of the ID token there once it has verified them; anything
        # else (no ID token, or a "userinfo" member of the token answer itself) is refused.
        if "id_token" not in token or not isinstance(claims, UserInfo):
            raise ValueError("no verified ID token")
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise ValueError("the ID token names no subject")
        extra: Mapping[str, Any] = {}
        endpoint = client.load_server_metadata().get("userinfo_endpoint")
        if not _text(claims.get("name")) and endpoint:
            # Some providers keep the profile out of the ID token; their userinfo has it.
            resp = client.get(endpoint, token=token, timeout=HTTP_TIMEOUT)
            resp.raise_for_status()
            extra = resp.json()
            if extra.get("sub") != subject:
                raise ValueError("userinfo describes someone else")  # OIDC Core 5.3.2

        def claim(key: str) -> str | None:
            return _text(claims.get(key)) or _text(extra.get(key))

        handle = claim("preferred_username")
        user_id = subject
        if scoped_by_issuer:
            # An issuer has no fragment (OIDC Discovery 3), so "#" cannot be ambiguous.
            user_id = f"{claims['iss']}#{subject}"
            if len(user_id) > MAX_PROVIDER_USER_ID:
                user_id = "sha256:" + hashlib.sha256(user_id.encode()).hexdigest()
        return Profile(
            provider=provider,
            provider_user_id=user_id,
            name=claim("name") or handle or f"{BY_NAME[provider].labelled(config).label} user",
            handle=handle,
            avatar_url=claim("picture"),
            profile_url=claim("profile"),
        )

    return fetch


OPENID_CLIENT_KWARGS = {
    "scope": "openid profile",
    "code_challenge_method": "S256",
    # The default of OpenID Connect Discovery, and accepted by Google.
    "token_endpoint_auth_method": "client_secret_basic",
}

PROVIDERS: tuple[ProviderSpec, ...] = (
    # The order of the buttons: WordPress.com first, as on the WordPress comment form.
    ProviderSpec(
        name="wordpress",
        label="WordPress.com",
        fetch_profile=_wordpress_profile,
        client_kwargs={"scope": "auth", "token_endpoint_auth_method": "client_secret_post"},
    ),
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
    ProviderSpec(
        name="google",
        label="Google",
        fetch_profile=_openid_profile("google", scoped_by_issuer=False),
        client_kwargs=OPENID_CLIENT_KWARGS,
        openid=True,
    ),
    ProviderSpec(
        name="github",
        label="GitHub",
        fetch_profile=_github_profile,
        # No scope: the public profile is all we read.
        client_kwargs={"token_endpoint_auth_method": "client_secret_post"},
    ),
    ProviderSpec(
        name="oidc",
        label="OpenID Connect",  # until OIDC_NAME names it
        fetch_profile=_openid_profile("oidc", scoped_by_issuer=True),
        client_kwargs=OPENID_CLIENT_KWARGS,
        openid=True,
        also_required=("OIDC_DISCOVERY_URL",),
        label_key="OIDC_NAME",
    ),
)
BY_NAME = {spec.name: spec for spec in PROVIDERS}
DEV_PROVIDER = ProviderSpec(name="dev", label="Dev", fetch_profile=None)
# Any server the reader names, with an app registered on each (app/auth/mastodon.py): no
# client keys in config, only MASTODON_LOGIN.
MASTODON_PROVIDER = ProviderSpec(name="mastodon", label="Mastodon", fetch_profile=None)
# A link mailed to the reader's address (app/services/email_login.py), only EMAIL_LOGIN.
EMAIL_PROVIDER = ProviderSpec(name="email", label="email", fetch_profile=None)
_OWN_PAGES = {spec.name: spec for spec in (DEV_PROVIDER, MASTODON_PROVIDER, EMAIL_PROVIDER)}


def provider_spec(name: str | None) -> ProviderSpec | None:
    """The provider of that name, labelled as this app's configuration names it."""
    own = _OWN_PAGES.get(name or "")
    if own is not None:
        return own
    spec = BY_NAME.get(name or "")
    if spec is not None and has_app_context():
        spec = spec.labelled(current_app.config)
    return spec


def all_providers(config: Mapping[str, Any]) -> list[ProviderSpec]:
    """Every provider, configured or not, in button order and as this configuration names it."""
    return [spec.labelled(config) for spec in PROVIDERS]


def enabled_provider(name: object, site: Site | None = None) -> ProviderSpec:
    """The provider named, if readers may use it here; raises ValidationError otherwise."""
    for spec in enabled_providers(current_app.config, site):
        if spec.name == name:
            return spec
    raise ValidationError("That sign-in provider is not available.", field="provider")


def enabled_providers(config: Mapping[str, Any], site: Site | None = None) -> list[ProviderSpec]:
    """Providers offered to readers, in button order; email unless EMAIL_LOGIN is off, Dev
    only when DEV_LOGIN is on.

    A site may offer fewer than are configured (its `providers` setting).
    """
    specs = [spec.labelled(config) for spec in PROVIDERS if spec.is_configured(config)]
    if config.get("MASTODON_LOGIN"):
        specs.append(MASTODON_PROVIDER)
    if config.get("EMAIL_LOGIN"):
        specs.append(EMAIL_PROVIDER)
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
        if spec.openid:
            # Fetched at the first sign-in and kept; the keys (JWKS) again for a key they
            # lack, which is how a provider's key rotation shows (Authlib's parse_id_token).
            endpoints: dict[str, Any] = {
                "server_metadata_url": app.config[spec.config_key("DISCOVERY_URL")]
            }
        else:
            endpoints = {
                "authorize_url": app.config[spec.config_key("AUTHORIZE_URL")],
                "access_token_url": app.config[spec.config_key("TOKEN_URL")],
            }
        registry.register(
            spec.name,
            client_id=app.config[spec.config_key("CLIENT_ID")],
            client_secret=app.config[spec.config_key("CLIENT_SECRET")],
            access_token_params={
                field_name: app.config[key] for field_name, key in spec.token_body_from_config
            }
            or None,
            client_kwargs={"default_timeout": HTTP_TIMEOUT, **spec.client_kwargs},
            **endpoints,
        )


def oauth_client(name: str) -> Any:
    """The current app's Authlib client for a provider, or None when it is not configured."""
    return current_app.extensions[AUTHLIB_EXTENSION].create_client(name)
