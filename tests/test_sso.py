"""Single sign-on: a site signs in its own readers with `data-sso`, a payload signed with the
secret its owner got from the dashboard; attacks on the exchange, and the dashboard's forms."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from app import clock as app_clock
from app.extensions import db
from app.models import AuditEntry, Comment, Identity, Site, User
from app.services import identities, sso
from app.services.identities import Profile
from tests.factories import HOST_ORIGIN, POST_URL, make_moderator, make_site, post_json
from tests.helpers import Dashboard, claim, dev_sign_in, handed_code, signed_in_token

DOC = Path(__file__).resolve().parents[1] / "docs" / "sso.md"


def turn_on(site: Site) -> str:
    """Single sign-on on, as the dashboard's button does it; the site's secret."""
    return sso.turn_on(make_moderator(site), site.id).sso_secret or ""


def encode(data: Any) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def signed(secret: str, **fields: Any) -> str:
    user = {"id": "42", "name": "Ada Lovelace", "exp": int(app_clock.time()) + 3600, **fields}
    payload = encode({k: v for k, v in user.items() if v is not ...})
    return f"{payload}.{sign(secret, payload)}"


def exchange(client, site: Site, sso: object, origin: str | None = HOST_ORIGIN):
    return post_json(client, site, {"sso": sso}, path="sso", origin=origin)


def refused(resp, status: int = 401, code: str = "sso_refused") -> str:
    assert resp.status_code == status, resp.json
    assert resp.json["error"]["code"] == code
    return resp.json["error"]["message"]


def as_reader(token: str) -> dict[str, str]:
    return {"Origin": HOST_ORIGIN, "Authorization": f"Bearer {token}"}


def thread_viewer(client, site: Site, token: str) -> dict | None:
    resp = client.get(
        f"/api/v1/sites/{site.id}/thread",
        query_string={"url": POST_URL},
        headers=as_reader(token),
    )
    assert resp.status_code == 200
    return resp.json["viewer"]


# --- signing in -------------------------------------------------------------------------------


def test_a_signed_reader_signs_in_and_comments_as_the_sites_own_account(client, site):
    secret = turn_on(site)
    resp = exchange(
        client,
        site,
        signed(secret, avatar="https://blog.example/ada.png", url="https://blog.example/u/ada"),
    )
    assert resp.status_code == 200, resp.json
    viewer = resp.json["viewer"]
    assert (viewer["name"], viewer["provider"], viewer["provider_label"]) == (
        "Ada Lovelace",
        "sso",
        site.name,
    )
    assert viewer["avatar_url"] == "https://blog.example/ada.png"
    identity = db.session.scalars(select(Identity)).one()
    assert (identity.provider, identity.provider_user_id) == ("sso", f"{site.id}:42")

    token = resp.json["token"]
    posted = client.post(
        f"/api/v1/sites/{site.id}/comments",
        json={"url": POST_URL, "body": "Signed in by the blog."},
        headers=as_reader(token),
    )
    assert posted.status_code == 201, posted.json
    author = posted.json["comment"]["author"]
    assert (author["name"], author["provider"]) == ("Ada Lovelace", "sso")
    comment = db.session.get(Comment, posted.json["comment"]["id"])
    assert comment is not None and comment.user_id == identity.user_id
    assert thread_viewer(client, site, token)["provider_label"] == site.name


def test_each_sign_in_updates_the_name_and_picture(client, site):
    secret = turn_on(site)
    first = exchange(client, site, signed(secret, name="Ada", avatar="https://blog.example/a.png"))
    again = exchange(client, site, signed(secret, name="Ada King", avatar=None))
    assert again.json["viewer"]["name"] == "Ada King"
    assert again.json["viewer"]["avatar_url"] is None
    assert db.session.scalar(select(User.id).where(User.display_name == "Ada King")) is not None
    assert len(db.session.scalars(select(User)).all()) == 1
    assert first.json["token"] and again.json["token"]


def test_a_numeric_id_is_the_same_reader_as_its_digits(client, site):
    secret = turn_on(site)
    exchange(client, site, signed(secret, id=42))
    exchange(client, site, signed(secret, id="42"))
    assert len(db.session.scalars(select(Identity)).all()) == 1


def test_the_name_is_cleaned_like_any_other(client, site):
    secret = turn_on(site)
    resp = exchange(client, site, signed(secret, name="  Ada\u202e\n  Lovelace "))
    assert resp.json["viewer"]["name"] == "Ada Lovelace"
    refused(exchange(client, site, signed(secret, name="x" * 101)))
    refused(exchange(client, site, signed(secret, name="\u200b")))


# --- what is refused --------------------------------------------------------------------------


def test_a_tampered_payload_is_refused(client, site):
    secret = turn_on(site)
    payload, sig = signed(secret).split(".")
    forged = encode({"id": "1", "name": "Admin", "exp": int(time.time()) + 60})
    assert "signature" in refused(exchange(client, site, f"{forged}.{sig}"))
    # Re-encoded with padding: other characters, so another signature.
    refused(exchange(client, site, f"{payload}==.{sig}"))


def test_a_tampered_signature_is_refused(client, site):
    secret = turn_on(site)
    payload, sig = signed(secret).split(".")
    flipped = ("0" if sig[0] != "0" else "1") + sig[1:]
    refused(exchange(client, site, f"{payload}.{flipped}"))
    refused(exchange(client, site, f"{payload}.{sig[:-2]}"))
    refused(exchange(client, site, f"{payload}.{sig}00"))
    refused(exchange(client, site, payload))


def test_a_reader_signed_with_another_secret_is_refused(client, site):
    turn_on(site)
    other = make_site()
    other_secret = turn_on(other)
    refused(exchange(client, site, signed(other_secret)))
    refused(exchange(client, site, signed("0" * 64)))


def test_expired_and_too_far_ahead_are_refused(client, site, clock):
    secret = turn_on(site)
    now = int(clock.time())
    assert "expired" in refused(exchange(client, site, signed(secret, exp=now - 1)))
    assert "24 hours" in refused(exchange(client, site, signed(secret, exp=now + 25 * 3600)))
    assert exchange(client, site, signed(secret, exp=now + 24 * 3600)).status_code == 200
    later = signed(secret, exp=now + 600)
    clock.advance(601)
    assert "expired" in refused(exchange(client, site, later))
    for exp in ("soon", None, True, 1.5e9):
        refused(exchange(client, site, signed(secret, exp=exp)))


def test_what_is_not_base64url_json_is_refused_after_its_signature(client, site):
    secret = turn_on(site)
    for payload in ("not*base64", "a"):  # outside the alphabet; one character decodes to nothing
        refused(exchange(client, site, f"{payload}.{sign(secret, payload)}"))
    for raw in (b"not json", b"[1, 2]", b'"text"', b"\xff\xfe", b'{"id": "\\u0000"}'):
        payload = encode(raw)
        refused(exchange(client, site, f"{payload}.{sign(secret, payload)}"))


def test_the_id_must_be_there_and_short(client, site):
    secret = turn_on(site)
    for reader_id in (..., "", None, ["42"], True, "x" * 256):
        refused(exchange(client, site, signed(secret, id=reader_id)))
    assert exchange(client, site, signed(secret, id="x" * 255)).status_code == 200
    identity = db.session.scalars(select(Identity)).one()
    assert identity.provider_user_id == f"{site.id}:{'x' * 255}"


def test_addresses_are_http_or_https_only(client, site):
    secret = turn_on(site)
    for address in ("javascript:alert(1)", "data:image/png;base64,AAAA", "blog.example/a.png", 7):
        refused(exchange(client, site, signed(secret, avatar=address)))
        refused(exchange(client, site, signed(secret, url=address)))
    refused(exchange(client, site, signed(secret, avatar='https://x.example/"><script>')))
    # An http picture is taken, and not shown on https pages, like any provider's.
    resp = exchange(client, site, signed(secret, avatar="http://blog.example/a.png"))
    assert resp.status_code == 200 and resp.json["viewer"]["avatar_url"] is None


def test_a_huge_body_or_signed_reader_is_refused(client, site):
    secret = turn_on(site)
    resp = exchange(client, site, signed(secret) + "a" * 10_000)
    assert resp.status_code == 413 and "error" in resp.json
    assert "4096" in refused(exchange(client, site, signed(secret, name="x" * 3000)))
    refused(exchange(client, site, ["not", "text"]))
    refused(exchange(client, site, None))


def test_bad_bodies_answer_in_the_apis_shape(client, site):
    turn_on(site)
    url = f"/api/v1/sites/{site.id}/sso"
    not_json = client.post(url, data="sso=x", headers={"Origin": HOST_ORIGIN})
    assert not_json.status_code == 415 and not_json.json["error"]["code"]
    broken = client.post(
        url, data="{", headers={"Origin": HOST_ORIGIN, "Content-Type": "application/json"}
    )
    assert broken.status_code == 400 and broken.json["error"]["code"] == "invalid_json"


def test_a_foreign_origin_cannot_exchange(client, site):
    secret = turn_on(site)
    refused(
        exchange(client, site, signed(secret), "https://evil.example"), 403, "origin_not_allowed"
    )
    refused(exchange(client, site, signed(secret), None), 403, "origin_not_allowed")
    assert db.session.scalars(select(Identity)).all() == []


def test_off_says_so(client, site):
    resp = exchange(client, site, signed("anything"))
    assert "not turned on" in refused(resp, 403, "sso_off")
    assert resp.json["error"]["field"] == "sso"


def test_the_exchange_is_rate_limited(app, client, site):
    app.config["RATELIMIT_LOGIN"] = "3 per minute"
    secret = turn_on(site)
    answers = [exchange(client, site, signed(secret)).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]


# --- ending sessions -------------------------------------------------------------------------


def test_regenerating_the_secret_ends_the_sessions_it_signed_in(client, site):
    secret = turn_on(site)
    token = exchange(client, site, signed(secret)).json["token"]
    new_secret = sso.regenerate(make_moderator(site), site.id).sso_secret or ""
    assert new_secret != secret
    assert thread_viewer(client, site, token) is None
    posted = client.post(
        f"/api/v1/sites/{site.id}/comments",
        json={"url": POST_URL, "body": "Still me?"},
        headers=as_reader(token),
    )
    refused(posted, 401, "session_expired")
    refused(exchange(client, site, signed(secret)))  # pages signed with the old secret
    fresh = exchange(client, site, signed(new_secret)).json["token"]
    assert thread_viewer(client, site, fresh)["provider"] == "sso"


def test_turning_off_ends_them_and_turning_on_again_does_not_bring_them_back(client, site):
    secret = turn_on(site)
    token = exchange(client, site, signed(secret)).json["token"]
    moderator = make_moderator(site)
    sso.turn_off(moderator, site.id)
    assert thread_viewer(client, site, token) is None
    refused(exchange(client, site, signed(secret)), 403, "sso_off")
    sso.turn_on(moderator, site.id)
    assert thread_viewer(client, site, token) is None


def test_other_readers_stay_signed_in_when_the_secret_changes(app, client, site):
    app.config["DEV_LOGIN"] = True
    turn_on(site)
    dev_token = signed_in_token(client, site)
    sso.regenerate(make_moderator(site), site.id)
    assert thread_viewer(client, site, dev_token)["provider"] == "dev"


# --- one site's reader, never linked ----------------------------------------------------------


def test_the_same_id_on_two_sites_is_two_readers(client, site):
    other = make_site()
    one = exchange(client, site, signed(turn_on(site))).json["token"]
    two = exchange(client, other, signed(turn_on(other))).json["token"]
    users = db.session.scalars(select(Identity.user_id).where(Identity.provider == "sso")).all()
    assert len(set(users)) == 2
    # A token of one site is nobody on the other.
    assert thread_viewer(client, other, one) is None
    assert thread_viewer(client, other, two)["provider"] == "sso"


def test_a_sites_reader_is_never_linked_by_address(client, site):
    by_mail = identities.sign_in(
        Profile(provider="email", provider_user_id="ada@example.com", name="ada")
    )
    secret = turn_on(site)
    resp = exchange(client, site, signed(secret, id="ada@example.com", name="ada"))
    identity = db.session.scalar(select(Identity).where(Identity.provider == "sso"))
    assert identity is not None and identity.user_id != by_mail.id
    assert resp.json["viewer"]["provider"] == "sso"


def test_a_sign_in_started_by_a_sites_reader_links_nothing(app, client, site):
    """The attack: a provider account joined to an account the site controls, which the site
    could then sign in as anyone it likes, or the other way round."""
    app.config["DEV_LOGIN"] = True
    secret = turn_on(site)
    token = exchange(client, site, signed(secret)).json["token"]
    started = client.post(
        f"/api/v1/sites/{site.id}/logins",
        json={"provider": "dev"},
        headers=as_reader(token),
    ).json
    code = handed_code(dev_sign_in(client, started["flow"], "Grace"))
    claimed = claim(client, site, started["flow"], secret=started["secret"], code=code)
    assert claimed.status_code == 200, claimed.json
    sso_user = db.session.scalar(select(Identity.user_id).where(Identity.provider == "sso"))
    dev_user = db.session.scalar(select(Identity.user_id).where(Identity.provider == "dev"))
    assert sso_user != dev_user
    assert claimed.json["viewer"]["provider"] == "dev"


# --- the dashboard ----------------------------------------------------------------------------


@pytest.fixture
def dash(client, site) -> Dashboard:
    dash = Dashboard(client)
    dash.sign_in(make_moderator(site, email="owner@example.com").email)
    return dash


def press(dash: Dashboard, site: Site, action: str, *, token: str | None = None):
    page = f"/dashboard/sites/{site.id}"
    data = {"csrf_token": dash.token(page) if token is None else token}
    return dash.client.post(f"{page}/sso/{action}", data=data)


def test_the_owner_turns_it_on_regenerates_and_turns_it_off(dash, client, site):
    page = client.get(f"/dashboard/sites/{site.id}").text
    assert "Single sign-on" in page and "Turn on single sign-on" in page
    resp = press(dash, site, "on")
    assert resp.status_code == 302
    db.session.expire_all()
    secret = db.session.get(Site, site.id).sso_secret
    assert secret and re.fullmatch(r"[0-9a-f]{64}", secret)
    page = client.get(f"/dashboard/sites/{site.id}").text
    assert f'<code id="sso-secret">{secret}</code>' in page
    assert 'data-copy="sso-secret"' in page
    assert "Regenerate secret" in page and "Turn off" in page

    press(dash, site, "regenerate")
    db.session.expire_all()
    renewed = db.session.get(Site, site.id).sso_secret
    assert renewed and renewed != secret
    press(dash, site, "off")
    db.session.expire_all()
    assert db.session.get(Site, site.id).sso_secret is None
    details = db.session.scalars(
        select(AuditEntry.detail).where(AuditEntry.site_id == site.id).order_by(AuditEntry.id)
    ).all()
    assert details[-3:] == [
        "single sign-on turned on",
        "single sign-on secret regenerated",
        "single sign-on turned off",
    ]
    assert all(secret not in d and renewed not in d for d in details)


def test_the_forms_need_their_csrf_token(dash, site):
    for action in ("on", "regenerate", "off"):
        assert press(dash, site, action, token="").status_code == 400
    db.session.expire_all()
    assert db.session.get(Site, site.id).sso_secret is None
    assert press(dash, site, "on").status_code == 302
    db.session.expire_all()
    secret = db.session.get(Site, site.id).sso_secret
    for action in ("regenerate", "off"):
        assert press(dash, site, action, token="forged").status_code == 400
    db.session.expire_all()
    assert db.session.get(Site, site.id).sso_secret == secret


def test_a_moderator_of_another_site_gets_404(client, site):
    other = make_site()
    dash = Dashboard(client)
    dash.sign_in(make_moderator(other).email)
    token = dash.token(f"/dashboard/sites/{other.id}")
    for action in ("on", "regenerate", "off"):
        resp = client.post(f"/dashboard/sites/{site.id}/sso/{action}", data={"csrf_token": token})
        assert resp.status_code == 404
    assert client.get(f"/dashboard/sites/{site.id}").status_code == 404
    db.session.expire_all()
    assert db.session.get(Site, site.id).sso_secret is None


def test_signed_out_the_forms_do_nothing(client, site):
    resp = client.post(f"/dashboard/sites/{site.id}/sso/on", data={})
    assert resp.status_code in (302, 400)  # the CSRF check comes first
    db.session.expire_all()
    assert db.session.get(Site, site.id).sso_secret is None


def test_an_unknown_action_is_404(dash, site):
    assert press(dash, site, "maybe").status_code == 404


# --- the documentation -----------------------------------------------------------------------


def test_the_python_example_in_the_docs_signs_a_reader_in(client, site, monkeypatch):
    """The code block of docs/sso.md as printed, run with the site's secret in the
    environment it reads, signs in on the endpoint."""
    secret = turn_on(site)
    [code] = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert len(code.strip().splitlines()) <= 10
    monkeypatch.setitem(os.environ, "AFTERWORD_SSO_SECRET", secret)
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    value = namespace["afterword_sso"]("42", "Zoë O'Brien / Ada", "https://blog.example/z.png")
    resp = exchange(client, site, value)
    assert resp.status_code == 200, resp.json
    assert resp.json["viewer"]["name"] == "Zoë O'Brien / Ada"
    assert resp.json["viewer"]["avatar_url"] == "https://blog.example/z.png"


def test_the_php_example_makes_the_same_payload_as_the_python_one():
    """PHP is not run here: its text is read for the calls that give the Python example's bytes
    (json_encode without escaped slashes or Unicode, base64url without padding, hex HMAC)."""
    [php] = re.findall(r"```php\n(.*?)```", DOC.read_text(), re.S)
    assert len(php.strip().splitlines()) <= 10
    assert "json_encode($user, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE)" in php
    assert "rtrim(strtr(base64_encode($payload), '+/', '-_'), '=')" in php
    assert "hash_hmac('sha256', $encoded, getenv('AFTERWORD_SSO_SECRET'))" in php
    assert "'id' => $id, 'name' => $name, 'avatar' => $avatar, 'exp' => time() + 3600" in php


def test_regenerating_when_off_says_so_on_the_sites_page(dash, client, site):
    """Two tabs: one turned it off, the other still offers to regenerate."""
    page = f"/dashboard/sites/{site.id}"
    resp = dash.client.post(
        f"{page}/sso/regenerate", data={"csrf_token": dash.token(page), "next": page}
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith(page)
    assert "Single sign-on is off on this site." in client.get(page).text
    db.session.expire_all()
    assert db.session.get(Site, site.id).sso_secret is None
