"""Sign-in with any Mastodon server, against fake Mastodon servers on loopback."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
import socket
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import certifi
import pytest
from flask import Flask
from sqlalchemy import func, select

import config
from app import create_app
from app.domain.errors import ValidationError
from app.domain.mastodon_servers import BadServerName, address_refused, parse_server
from app.extensions import db
from app.models import Identity, LoginFlow, MastodonApp, User
from app.services import mastodon
from tests.factories import HOST_ORIGIN, POST_URL
from tests.fakes.mastodon import FakeMastodon, make_tls_files
from tests.helpers import fresh_app, run_together

PUBLIC_URL = "http://127.0.0.1:5000"
CALLBACK = f"{PUBLIC_URL}/auth/mastodon/callback"
ADA = "109348573495873945"


@pytest.fixture(scope="module")
def social() -> Iterator[FakeMastodon]:
    with FakeMastodon() as server:
        yield server


@pytest.fixture(scope="module")
def other() -> Iterator[FakeMastodon]:
    with FakeMastodon() as server:
        yield server


@pytest.fixture(autouse=True)
def reset_fakes(social, other) -> None:
    social.reset()
    other.reset()


@pytest.fixture
def app(tmp_path) -> Iterator[Flask]:
    with fresh_app(
        tmp_path,
        PUBLIC_URL=PUBLIC_URL,
        MASTODON_LOGIN=True,
        MASTODON_ALLOW_LOOPBACK=True,
        MASTODON_TIMEOUT=1.0,
    ) as app:
        yield app


def create(client, site, server: object, **extra: object):
    return client.post(
        f"/api/v1/sites/{site.id}/logins",
        json={"provider": "mastodon", "server": server, **extra},
        headers={"Origin": HOST_ORIGIN},
    )


def start(client, site, server: FakeMastodon) -> tuple[dict[str, str], str]:
    created = create(client, site, server.base_url)
    assert created.status_code == 201, created.json
    resp = client.get(created.json["start_url"].removeprefix(PUBLIC_URL))
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return created.json, resp.headers["Location"]


def back(client, redirect: str):
    assert redirect.startswith(CALLBACK + "?"), redirect
    return client.get(redirect.removeprefix(PUBLIC_URL))


def claim(client, site, started: dict[str, str], page):
    code = re.search(r'code: "([\w-]+)"', page.get_data(as_text=True)).group(1)
    return client.post(
        f"/api/v1/sites/{site.id}/logins/{started['flow']}/claim",
        json={"secret": started["secret"], "code": code},
        headers={"Origin": HOST_ORIGIN},
    )


def sign_in(client, site, server: FakeMastodon, account: str | None = None):
    started, authorize = start(client, site, server)
    page = back(client, server.consent(authorize, account=account))
    assert page.status_code == 200, page.get_data(as_text=True)
    return claim(client, site, started, page)


def refusal(resp) -> str:
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert resp.json["error"]["field"] == "server", resp.json
    return resp.json["error"]["message"]


# --- the whole round trip -----------------------------------------------------------------


def test_the_widget_offers_mastodon_when_it_is_on(app, client, site):
    providers = client.get(f"/api/v1/sites/{site.id}/config").json["providers"]
    assert {"name": "mastodon", "label": "Mastodon"} in [
        {"name": p["name"], "label": p["label"]} for p in providers
    ]
    app.config["MASTODON_LOGIN"] = False
    assert client.get(f"/api/v1/sites/{site.id}/config").json["providers"] == []
    assert create(client, site, "mastodon.social").json["error"]["field"] == "provider"


def test_sign_in_from_click_to_token(client, site, social):
    started, authorize = start(client, site, social)

    [registration] = social.requests_to("/api/v1/apps")
    assert registration.data == {
        "client_name": "127.0.0.1",
        "redirect_uris": CALLBACK,
        "scopes": "read:accounts",
        "website": PUBLIC_URL,
    }
    [app_] = social.apps
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(f"{social.base_url}/oauth/authorize?")
    assert query["client_id"] == [app_.client_id]
    assert query["redirect_uri"] == [CALLBACK]
    assert query["scope"] == ["read:accounts"]
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["state"][0]) >= 32

    page = back(client, social.consent(authorize))
    assert "You are signed in with Mastodon" in page.get_data(as_text=True)
    [exchange] = social.requests_to("/oauth/token")
    assert exchange.data["client_id"] == app_.client_id
    assert exchange.data["client_secret"] == app_.client_secret
    assert exchange.data["redirect_uri"] == CALLBACK
    verifier = exchange.data["code_verifier"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert query["code_challenge"] == [challenge.decode()]
    [profile] = social.requests_to("/api/v1/accounts/verify_credentials")
    assert profile.headers["Authorization"].startswith("Bearer ")

    claimed = claim(client, site, started, page)
    assert claimed.status_code == 200, claimed.json
    assert claimed.json["viewer"] == {
        "name": "Ada Lovelace",
        "avatar_url": "https://files.example/accounts/avatars/ada.png",
        "provider": "mastodon",
        "provider_label": "Mastodon",
        "notify_email_known": False,
    }
    user = db.session.scalars(select(User)).one()
    assert user.handle == f"@ada@{social.name}"
    identity = db.session.scalars(select(Identity)).one()
    assert (identity.provider, identity.provider_user_id) == ("mastodon", f"{ADA}@{social.name}")
    posted = client.post(
        f"/api/v1/sites/{site.id}/comments",
        json={"url": POST_URL, "body": "From the fediverse"},
        headers={"Origin": HOST_ORIGIN, "Authorization": f"Bearer {claimed.json['token']}"},
    )
    assert posted.status_code == 201, posted.json
    assert posted.json["comment"]["author"]["provider"] == "mastodon"


def test_a_server_is_registered_with_once(client, site, social):
    assert sign_in(client, site, social).status_code == 200
    assert sign_in(client, site, social, account="110001").status_code == 200
    assert len(social.requests_to("/api/v1/apps")) == 1
    assert db.session.scalar(select(func.count(MastodonApp.id))) == 1
    # No display name: the username stands in.
    names = db.session.scalars(select(User.display_name).order_by(User.id)).all()
    assert names == ["Ada Lovelace", "grace"]


def test_two_servers_are_two_registrations_and_two_people(client, site, social, other):
    """The same account id on two servers is two people: the server is part of who they are."""
    first = sign_in(client, site, social)
    second = sign_in(client.application.test_client(), site, other)
    assert first.status_code == second.status_code == 200
    assert len(social.apps) == len(other.apps) == 1
    assert social.apps[0].client_id != other.apps[0].client_id
    identities = db.session.scalars(select(Identity.provider_user_id).order_by(Identity.id)).all()
    assert identities == [f"{ADA}@{social.name}", f"{ADA}@{other.name}"]
    assert db.session.scalar(select(func.count(User.id))) == 2
    assert set(db.session.scalars(select(User.handle))) == {
        f"@ada@{social.name}",
        f"@ada@{other.name}",
    }


def test_denied_consent_says_so(client, site, social):
    started, authorize = start(client, site, social)
    page = back(client, social.consent(authorize, approve=False))
    assert "You cancelled signing in." in page.get_data(as_text=True)
    assert social.requests_to("/oauth/token") == []
    failed = claim(client, site, started, page)
    assert failed.status_code == 400
    assert failed.json["error"]["message"] == "You cancelled signing in."
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_a_state_is_used_once_and_a_forged_one_exchanges_nothing(client, site, social):
    _, authorize = start(client, site, social)
    redirect = social.consent(authorize)
    state = parse_qs(urlsplit(redirect).query)["state"][0]
    assert back(client, redirect.replace(state, "forged-state")).status_code == 400
    assert social.requests_to("/oauth/token") == []
    assert back(client, redirect).status_code == 200
    assert back(client, redirect).status_code == 400  # replayed
    assert len(social.requests_to("/oauth/token")) == 1


def test_the_callback_in_another_browser_exchanges_nothing(client, site, social):
    _, authorize = start(client, site, social)
    stranger = client.application.test_client()
    assert back(stranger, social.consent(authorize)).status_code == 400
    assert social.requests_to("/oauth/token") == []


def test_a_flow_is_bound_to_its_server(client, site, social, other):
    """The server comes from the flow, never from the browser: a code from another server
    is exchanged, if at all, with the flow's own server, which refuses it."""
    started, authorize = start(client, site, social)
    _, elsewhere = start(client, site, other)
    other_redirect = other.consent(elsewhere)
    own_state = parse_qs(urlsplit(authorize).query)["state"][0]
    other_code = parse_qs(urlsplit(other_redirect).query)["code"][0]
    page = back(client, f"{CALLBACK}?code={other_code}&state={own_state}")
    assert "Mastodon could not sign you in" in page.get_data(as_text=True)
    assert other.requests_to("/oauth/token") == []
    assert claim(client, site, started, page).status_code == 400


def test_a_deleted_app_is_registered_again(client, site, social, clock):
    assert sign_in(client, site, social).status_code == 200
    social.delete_apps()
    clock.advance(2 * 3600)
    claimed = sign_in(client, site, social)
    assert claimed.status_code == 200, claimed.json
    assert len(social.requests_to("/api/v1/apps")) == 2
    [app_] = social.apps
    assert db.session.scalars(select(MastodonApp.client_id)).one() == app_.client_id
    assert db.session.scalar(select(func.count(User.id))) == 1  # the same reader as before


def test_a_code_refused_as_invalid_client_forgets_the_app(client, site, social):
    _, authorize = start(client, site, social)
    redirect = social.consent(authorize)
    social.delete_apps()
    page = back(client, redirect)
    assert "Mastodon could not sign you in" in page.get_data(as_text=True)
    assert db.session.scalars(select(MastodonApp.client_id)).one() is None
    assert sign_in(client, site, social).status_code == 200
    assert len(social.requests_to("/api/v1/apps")) == 2


def test_a_new_public_url_is_a_new_registration(app, social):
    assert mastodon.prepare_sign_in(social.base_url) == social.base_url
    app.config["PUBLIC_URL"] = "https://comments.example"
    mastodon.prepare_sign_in(social.base_url)
    first, second = social.requests_to("/api/v1/apps")
    assert first.data["redirect_uris"] == CALLBACK
    assert second.data["redirect_uris"] == "https://comments.example/auth/mastodon/callback"
    assert db.session.scalar(select(func.count(MastodonApp.id))) == 1


def test_first_uses_at_once_register_once(app, social):
    social.state.delay = 0.3  # every request arrives while the first registration runs
    results = run_together(app, lambda _i: mastodon.prepare_sign_in(social.base_url))
    assert results == [social.base_url] * len(results), results
    assert len(social.requests_to("/api/v1/apps")) == 1
    row = db.session.scalars(select(MastodonApp)).one()
    assert row.client_id == social.apps[0].client_id
    assert row.registering_since is None


# --- servers that are not what they say, or not there --------------------------------------


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("timeout", "That Mastodon server could not be reached."),
        ("drip", "That Mastodon server could not be reached."),
        ("html", "That is not a Mastodon server."),
        ("not_mastodon", "That is not a Mastodon server."),
        ("redirect_private", "That is not a Mastodon server."),
        ("huge", "That is not a Mastodon server."),
    ],
)
def test_a_hostile_server_gets_a_plain_answer_soon(client, site, social, mode, message):
    social.reset(mode)
    began = time.monotonic()
    resp = create(client, site, social.base_url)
    assert refusal(resp) == message
    assert time.monotonic() - began < 3  # MASTODON_TIMEOUT is 1 s here
    assert db.session.scalar(select(func.count(LoginFlow.id))) == 0
    assert db.session.scalar(select(func.count(MastodonApp.id))) == 0
    # A failed registration leaves nothing that holds the next try up.
    social.reset()
    assert create(client, site, social.base_url).status_code == 201


def test_a_redirect_is_never_followed(client, site, social, other):
    social.reset("redirect_private")
    refusal(create(client, site, social.base_url))
    assert [r.path for r in social.state.log] == ["/api/v1/apps"]


def test_https_checks_the_certificate_against_the_name_not_the_address(
    client, site, tmp_path, monkeypatch
):
    """The connection goes to the checked address, and TLS still names the server."""
    ca, cert, key = make_tls_files(tmp_path, "localhost")
    with FakeMastodon(tls=(cert, key)) as server:
        refused = create(client, site, f"localhost:{server.port}")
        assert refusal(refused) == "That Mastodon server could not be reached."  # unknown CA
        monkeypatch.setattr(certifi, "where", lambda: str(ca))  # our CA, as if a public one
        created = create(client, site, f"localhost:{server.port}")
        assert created.status_code == 201, created.json
        [registration] = server.requests_to("/api/v1/apps")
        assert registration.headers["Host"] == f"localhost:{server.port}"
        # The same server by its address: the certificate does not name it.
        by_address = create(client, site, f"127.0.0.1:{server.port}")
        assert refusal(by_address) == "That Mastodon server could not be reached."
        assert len(server.requests_to("/api/v1/apps")) == 1


def test_a_server_that_is_not_there(client, site):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: nobody listens there
    resp = create(client, site, f"127.0.0.1:{port}")
    assert refusal(resp) == "That Mastodon server could not be reached."


def test_a_name_that_does_not_resolve(client, site, monkeypatch):
    def nowhere(*_args: object, **_kwargs: object) -> list:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", nowhere)  # the resolver, not a real lookup
    resp = create(client, site, "no-such-server.example")
    assert refusal(resp) == "That Mastodon server could not be reached."


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        None,
        42,
        ["mastodon.social"],
        "https://user@mastodon.social",
        "mastodon.social@127.0.0.1",
        "https://mastodon.social/@ada",
        "https://mastodon.social/?x=1",
        "https://mastodon.social#x",
        "mastodon.social/path",
        "ftp://mastodon.social",
        "http://mastodon.social",  # plain http only for loopback
        "javascript:alert(1)",
        "mastodon.social:99999",
        "mastodon.social:0",
        "mastodon.social:http",
        "masto don.social",
        "mastodon\n.social",
        "mastodon.social\t:443",
        "-bad-.example",
        "2130706433",
        "127.1",
        "0x7f.0.0.1",
        "a" * 64 + ".example",
        ("a" * 60 + ".") * 5 + "example",
        "%6d astodon.social",
        "mastodon..social",
        "[not-an-ip]",
        "::1",
    ],
)
def test_names_that_are_not_a_server_are_refused_plainly(client, site, name):
    resp = create(client, site, name)
    assert refusal(resp) == "Enter your Mastodon server, such as mastodon.social."


def test_a_name_no_column_holds_is_refused_on_its_field(client, site):
    refusal(create(client, site, "mastodon.social\x00"))


@pytest.mark.parametrize(
    ("typed", "base_url"),
    [
        ("mastodon.social", "https://mastodon.social"),
        ("  Mastodon.Social  ", "https://mastodon.social"),
        ("mastodon.social.", "https://mastodon.social"),
        ("https://mastodon.social/", "https://mastodon.social"),
        ("HTTPS://mastodon.social:443", "https://mastodon.social"),
        ("mastodon.social:8443", "https://mastodon.social:8443"),
        ("Bücher.example", "https://xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "https://xn--bcher-kva.example"),
        ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
        ("http://localhost:3000/", "http://localhost:3000"),
        ("http://[::1]:3000", "http://[::1]:3000"),
        ("93.184.216.34", "https://93.184.216.34"),
    ],
)
def test_what_readers_type_is_read_as_one_server(typed, base_url):
    assert parse_server(typed).base_url == base_url


def test_a_long_name_is_refused_before_anything_else():
    with pytest.raises(BadServerName):
        parse_server("a." * 200 + "example")


# --- what the service may talk to ----------------------------------------------------------


@pytest.fixture
def production_rules(app):
    app.config["MASTODON_ALLOW_LOOPBACK"] = False
    return app


@pytest.mark.parametrize(
    "name",
    ["10.0.0.1", "192.168.1.1", "172.16.0.1", "169.254.169.254", "[fd00::1]", "100.64.0.1"],
)
def test_private_addresses_are_refused(production_rules, client, site, name):
    resp = create(client, site, name)
    assert refusal(resp) == "Sign-in with that server is not allowed here."


def test_loopback_is_refused_without_the_switch(production_rules, client, site, social):
    port = social.port
    for name in (social.base_url, f"http://localhost:{port}", f"http://[::1]:{port}"):
        assert (
            refusal(create(client, site, name)) == "Sign-in with that server is not allowed here."
        )
    assert social.state.log == []  # refused before connecting


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("10.1.2.3", True),
        ("172.31.255.255", True),
        ("192.168.0.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),
        ("0.0.0.0", True),  # noqa: S104 - an address to refuse, not one to bind
        ("224.0.0.1", True),
        ("240.0.0.1", True),
        ("255.255.255.255", True),
        ("192.0.2.1", True),
        ("fe80::1", True),
        ("fc00::1", True),
        ("ff02::1", True),
        ("::", True),
        ("::ffff:127.0.0.1", True),
        ("::ffff:10.0.0.1", True),
        ("2002:7f00:1::", True),  # 6to4 of 127.0.0.1
        ("93.184.216.34", False),
        ("2606:2800:220:1:248:1893:25c8:1946", False),
    ],
)
def test_only_public_addresses_are_talked_to(address, refused):
    assert address_refused(ipaddress.ip_address(address), allow_loopback=False) is refused


def test_the_loopback_switch_allows_loopback_only():
    assert not address_refused(ipaddress.ip_address("127.0.0.1"), allow_loopback=True)
    assert address_refused(ipaddress.ip_address("10.0.0.1"), allow_loopback=True)


def test_production_refuses_the_loopback_switch():
    with pytest.raises(RuntimeError, match="MASTODON_ALLOW_LOOPBACK"):
        create_app(
            config.ProductionConfig,
            SQLALCHEMY_DATABASE_URI="sqlite://",
            SECRET_KEY="kT4-Vx9_qLm2Rz7Wp0sNb8Yc3Hd6Jf1G-more-bytes",
            MASTODON_ALLOW_LOOPBACK=True,
        )


def test_the_allow_list(app, client, site, social):
    app.config["MASTODON_SERVERS"] = "mastodon.social, Bücher.example"
    assert refusal(create(client, site, social.base_url)) == (
        "Sign-in with that server is not allowed here."
    )
    assert social.state.log == []
    with pytest.raises(ValidationError):
        mastodon.allowed_server("other.example")
    assert mastodon.allowed_server("xn--bcher-kva.example").host == "xn--bcher-kva.example"
    app.config["MASTODON_SERVERS"] = "mastodon.social,127.0.0.1"
    assert create(client, site, social.base_url).status_code == 201


# --- the operator's view --------------------------------------------------------------------


def test_flask_providers_says_how_mastodon_is_set_up(app, runner):
    out = runner.invoke(args=["providers"]).output
    assert "Mastodon (mastodon): on, any server" in out
    assert f"callback URL: {CALLBACK}" in out
    app.config["MASTODON_SERVERS"] = "mastodon.social,fosstodon.org"
    out = runner.invoke(args=["providers"]).output
    assert "Mastodon (mastodon): on, only fosstodon.org, mastodon.social" in out
    app.config["MASTODON_LOGIN"] = False
    out = runner.invoke(args=["providers"]).output
    assert "Mastodon (mastodon): off (set MASTODON_LOGIN=1)" in out
