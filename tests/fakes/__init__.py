"""Stand-ins for outside services that tests talk to over real HTTP on loopback."""

from tests.fakes.oauth_provider import (
    FACEBOOK_DEFAULT_USERS,
    TWITTER_DEFAULT_USERS,
    FakeProviderServer,
    appsecret_proof,
    create_fake_provider,
    facebook_signed_request,
)

__all__ = [
    "FACEBOOK_DEFAULT_USERS",
    "TWITTER_DEFAULT_USERS",
    "FakeProviderServer",
    "appsecret_proof",
    "create_fake_provider",
    "facebook_signed_request",
]
