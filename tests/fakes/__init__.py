"""Stand-ins for outside services that tests talk to over real HTTP on loopback."""

from tests.fakes.github import create_fake_github
from tests.fakes.oauth_provider import (
    FACEBOOK_DEFAULT_USERS,
    TWITTER_DEFAULT_USERS,
    FakeProviderServer,
    appsecret_proof,
    create_fake_provider,
    facebook_signed_request,
)
from tests.fakes.oidc_provider import FakeOIDCServer, create_fake_oidc_provider
from tests.fakes.wordpress import create_fake_wordpress

__all__ = [
    "FACEBOOK_DEFAULT_USERS",
    "TWITTER_DEFAULT_USERS",
    "FakeOIDCServer",
    "FakeProviderServer",
    "appsecret_proof",
    "create_fake_github",
    "create_fake_oidc_provider",
    "create_fake_provider",
    "create_fake_wordpress",
    "facebook_signed_request",
]
