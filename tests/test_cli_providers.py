"""`flask providers`: what is set up, and the exact URLs to register with each provider."""

from __future__ import annotations

import pytest


@pytest.fixture
def public(app):
    app.config["PUBLIC_URL"] = "https://comments.example/sub"
    return app


def test_lists_each_provider_with_the_variables_it_lacks(public, runner):
    result = runner.invoke(args=["providers"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "PUBLIC_URL is https://comments.example/sub" in out
    assert (
        "Twitter (twitter): not configured, set TWITTER_CLIENT_ID and TWITTER_CLIENT_SECRET" in out
    )
    assert (
        "Facebook (facebook): not configured, set FACEBOOK_CLIENT_ID and FACEBOOK_CLIENT_SECRET"
        in out
    )
    assert "Dev (dev): off" in out
    assert "docs/providers.md" in out
    assert "Warning" not in out


def test_prints_the_callback_and_data_deletion_urls_under_public_url(public, runner):
    out = runner.invoke(args=["providers"]).output
    assert "callback URL: https://comments.example/sub/auth/twitter/callback" in out
    assert "callback URL: https://comments.example/sub/auth/facebook/callback" in out
    assert "data-deletion URL: https://comments.example/sub/auth/facebook/data-deletion" in out
    # Only Facebook asks for a data-deletion callback.
    assert out.count("data-deletion URL") == 1


def test_the_urls_are_the_ones_the_service_answers_on(public, runner, client):
    out = runner.invoke(args=["providers"]).output
    deletion = next(line for line in out.splitlines() if "data-deletion URL" in line)
    path = deletion.split("https://comments.example/sub", 1)[1]
    public.config["FACEBOOK_CLIENT_ID"] = "fb-id"
    public.config["FACEBOOK_CLIENT_SECRET"] = "fb-secret"
    # A real route: a bad signed request is refused as such, not as an unknown page.
    answer = client.post(path, data={"signed_request": "not.valid"})
    assert answer.status_code == 400, answer.get_data(as_text=True)


def test_names_only_the_missing_variable(public, runner):
    public.config["TWITTER_CLIENT_ID"] = "tw-id"
    public.config["TWITTER_CLIENT_SECRET"] = "tw-secret"
    public.config["FACEBOOK_CLIENT_ID"] = "fb-id"
    out = runner.invoke(args=["providers"]).output
    assert "Twitter (twitter): configured\n" in out
    assert "Facebook (facebook): not configured, set FACEBOOK_CLIENT_SECRET\n" in out


def test_says_when_dev_login_is_on(app, runner):
    app.config["DEV_LOGIN"] = True
    assert "Dev (dev): on (DEV_LOGIN=1)" in runner.invoke(args=["providers"]).output


def test_warns_when_a_public_host_is_not_https(app, runner):
    app.config["PUBLIC_URL"] = "http://comments.example"
    out = runner.invoke(args=["providers"]).output
    assert "callback URL: http://comments.example/auth/twitter/callback" in out
    assert "Warning: PUBLIC_URL is not https" in out


def test_loopback_over_http_is_not_warned_about(app, runner):
    # The default PUBLIC_URL, for trying providers' development apps locally.
    assert "Warning" not in runner.invoke(args=["providers"]).output


def test_lists_every_provider_in_button_order_with_its_callback(public, runner):
    out = runner.invoke(args=["providers"]).output
    order = [
        out.index(f"{label} ({name}):")
        for label, name in [
            ("WordPress.com", "wordpress"),
            ("Twitter", "twitter"),
            ("Facebook", "facebook"),
            ("Google", "google"),
            ("GitHub", "github"),
            ("OpenID Connect", "oidc"),
        ]
    ]
    assert order == sorted(order)
    for name in ("wordpress", "google", "github", "oidc"):
        assert f"callback URL: https://comments.example/sub/auth/{name}/callback" in out
    assert (
        "OpenID Connect (oidc): not configured, set OIDC_NAME, OIDC_DISCOVERY_URL, "
        "OIDC_CLIENT_ID and OIDC_CLIENT_SECRET\n" in out
    )
    assert "Google (google): not configured, set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET" in out


def test_the_operators_provider_shows_under_its_own_name(public, runner):
    public.config.update(
        OIDC_NAME="Example University",
        OIDC_DISCOVERY_URL="https://sso.example/.well-known/openid-configuration",
        OIDC_CLIENT_ID="id",
    )
    out = runner.invoke(args=["providers"]).output
    assert "Example University (oidc): not configured, set OIDC_CLIENT_SECRET\n" in out
