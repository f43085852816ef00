"""Twitter and Facebook sign-in against fake providers that are real OAuth servers on loopback."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from app.auth.marks import MARKS
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import Comment, DataDeletion, Identity, UsedSignedRequest, User
from app.models.types import utcnow
from tests.factories import HOST_ORIGIN, POST_URL, make_comment, make_site, post_json
from tests.fakes import FakeProviderServer, create_fake_provider, facebook_signed_request
from tests.helpers import fresh_app, run_together
from tests.oauth_flows import PUBLIC_URL, back_from_provider, claim, sign_in, start


def fake(kind: str) -> FakeProviderServer:
    return FakeProviderServer(
        create_fake_provider(
            kind,
            client_id=f"{kind}-client-id",
            client_secret=f"{kind}-client-secret",
            redirect_uris=[f"{PUBLIC_URL}/auth/{kind}/callback"],
        )
    )


@pytest.fixture(scope="module")
def twitter() -> Iterator[FakeProviderServer]:
    with fake("twitter") as server:
        yield server


@pytest.fixture(scope="module")
def facebook() -> Iterator[FakeProviderServer]:
    with fake("facebook") as server:
        yield server


@pytest.fixture(autouse=True)
def reset_fakes(twitter, facebook) -> None:
    for server in (twitter, facebook):
        server.request_log.clear()
        server.app.config.update(FAIL_TOKEN=False, FAIL_PROFILE=False, AUTO_APPROVE=False)
        server.app.config["SIGNED_IN_USER"] = next(
            iter(server.app.extensions["fake_oauth_provider"].users)
        )


@pytest.fixture
def app(tmp_path, twitter, facebook) -> Iterator[Flask]:
    with fresh_app(tmp_path, PUBLIC_URL=PUBLIC_URL, **twitter.env(), **facebook.env()) as app:
        yield app


def test_config_offers_a_button_per_configured_provider(client, site):
    providers = client.get(f"/api/v1/sites/{site.id}/config").json["providers"]
    assert providers == [
        {
            "name": "twitter",
            "label": "Twitter",
            "mark": {"path": MARKS["twitter"].path, "color": None},
        },
        {
            "name": "facebook",
            "label": "Facebook",
            "mark": {"path": MARKS["facebook"].path, "color": "#0866FF"},
        },
    ]


def test_twitter_sign_in_follows_xs_rules(client, site, twitter):
    started, authorize = start(client, site, "twitter")
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(twitter.authorize_url)
    assert query["scope"] == ["users.read tweet.read"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == [f"{PUBLIC_URL}/auth/twitter/callback"]
    assert len(query["state"][0]) >= 32

    page = back_from_provider(client, twitter.consent(authorize))
    assert "You are signed in with Twitter" in page.get_data(as_text=True)

    [token_request] = twitter.requests_to("token")
    auth = token_request.headers["Authorization"]
    assert auth.startswith("Basic ")
    assert base64.b64decode(auth[6:]).decode() == "twitter-client-id:twitter-client-secret"
    assert token_request.data["client_id"] == "twitter-client-id"
    assert "client_secret" not in token_request.data
    verifier = token_request.data["code_verifier"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert query["code_challenge"] == [challenge.decode()]
    [profile_request] = twitter.requests_to("userinfo")
    assert profile_request.data == {"user.fields": "profile_image_url"}

    claimed = claim(client, site, started, page)
    assert claimed.status_code == 200
    assert claimed.json["viewer"]["name"] == "Ada Lovelace"
    assert claimed.json["viewer"]["provider_label"] == "Twitter"
    user = db.session.scalars(select(User)).one()
    assert user.handle == "ada"
    assert user.avatar_url and user.avatar_url.startswith("https://")
    identity = db.session.scalars(select(Identity)).one()
    assert (identity.provider, identity.provider_user_id) == ("twitter", "2244994945")


def test_facebook_sign_in_sends_appsecret_proof(client, site, facebook):
    claimed = sign_in(client, site, facebook, "facebook")
    assert claimed.status_code == 200
    assert claimed.json["viewer"]["name"] == "Grace Hopper"
    posted = client.post(
        f"/api/v1/sites/{site.id}/comments",
        json={"url": POST_URL, "body": "From Facebook"},
        headers={"Origin": HOST_ORIGIN, "Authorization": f"Bearer {claimed.json['token']}"},
    ).json["comment"]
    assert posted["author"]["provider"] == "facebook"
    assert posted["author"]["avatar_url"].startswith("https://")
    [profile_request] = facebook.requests_to("userinfo")
    assert profile_request.data["fields"] == "id,name,picture"
    assert len(profile_request.data["appsecret_proof"]) == 64
    identity = db.session.scalars(select(Identity)).one()
    assert (identity.provider, identity.provider_user_id) == ("facebook", "10158123456789012")


def test_facebook_silhouette_is_no_picture(client, site, facebook):
    facebook.app.config["SIGNED_IN_USER"] = "10158987654321098"
    assert sign_in(client, site, facebook, "facebook").json["viewer"]["avatar_url"] is None


def test_twitter_profile_without_picture(client, site, twitter):
    twitter.app.config["SIGNED_IN_USER"] = "1587912345678901248"
    claimed = sign_in(client, site, twitter, "twitter")
    assert claimed.json["viewer"] == {
        "name": "Charles Babbage",
        "avatar_url": None,
        "provider": "twitter",
        "provider_label": "Twitter",
        "notify_email_known": False,
    }


def test_denied_consent_tells_the_widget_plainly(client, site, twitter):
    started, authorize = start(client, site, "twitter")
    page = back_from_provider(client, twitter.consent(authorize, approve=False))
    assert "You cancelled signing in." in page.get_data(as_text=True)
    assert twitter.requests_to("token") == []
    failed = claim(client, site, started, page)
    assert failed.status_code == 400
    assert failed.json["error"] == {"code": "login_failed", "message": "You cancelled signing in."}
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_a_forged_state_exchanges_nothing(client, site, twitter):
    started, authorize = start(client, site, "twitter")
    redirect = twitter.consent(authorize)
    state = parse_qs(urlsplit(redirect).query)["state"][0]
    page = back_from_provider(client, redirect.replace(state, "forged-state"))
    assert page.status_code == 400
    assert twitter.requests_to("token") == []
    # the real flow is still open: the genuine redirect finishes it
    page = back_from_provider(client, redirect)
    assert claim(client, site, started, page).status_code == 200


def test_state_from_another_browser_is_refused(app, client, site, twitter):
    _, authorize = start(client, site, "twitter")
    redirect = twitter.consent(authorize)
    other_browser = app.test_client()
    assert back_from_provider(other_browser, redirect).status_code == 400
    assert twitter.requests_to("token") == []


def test_a_replayed_callback_is_refused(client, site, twitter):
    _, authorize = start(client, site, "twitter")
    redirect = twitter.consent(authorize)
    assert back_from_provider(client, redirect).status_code == 200
    assert back_from_provider(client, redirect).status_code == 400
    assert len(twitter.requests_to("token")) == 1


def test_a_code_injected_into_another_flow_fails_pkce(app, site, twitter):
    """A code stolen from one sign-in and fed to another browser's callback is useless."""
    attacker, victim = app.test_client(), app.test_client()
    _, attacker_authorize = start(attacker, site, "twitter")
    stolen_code = parse_qs(urlsplit(twitter.consent(attacker_authorize)).query)["code"][0]
    victim_flow, victim_authorize = start(victim, site, "twitter")
    victim_state = parse_qs(urlsplit(victim_authorize).query)["state"][0]
    page = victim.get(f"/auth/twitter/callback?code={stolen_code}&state={victim_state}")
    assert "could not sign you in" in page.get_data(as_text=True)
    assert claim(victim, site, victim_flow, page).json["error"]["code"] == "login_failed"
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_redirect_uri_comes_from_public_url_not_the_host_header(client, site):
    flow_id = post_json(client, site, {"provider": "twitter"}, path="logins").json["flow"]
    resp = client.get(f"/auth/twitter/start?flow={flow_id}", headers={"Host": "attacker.example"})
    redirect_uri = parse_qs(urlsplit(resp.headers["Location"]).query)["redirect_uri"]
    assert redirect_uri == [f"{PUBLIC_URL}/auth/twitter/callback"]


@pytest.mark.parametrize("failure", ["FAIL_TOKEN", "FAIL_PROFILE"])
def test_provider_errors_end_the_flow_with_a_message(client, site, twitter, failure):
    twitter.app.config[failure] = True
    started, authorize = start(client, site, "twitter")
    page = back_from_provider(client, twitter.consent(authorize))
    assert page.status_code == 200
    assert "Not signed in" in page.get_data(as_text=True)
    failed = claim(client, site, started, page)
    assert failed.json["error"]["code"] == "login_failed"
    assert "Twitter" in failed.json["error"]["message"]


def test_later_sign_ins_update_the_profile(client, site, twitter):
    sign_in(client, site, twitter, "twitter")
    store = twitter.app.extensions["fake_oauth_provider"]
    store.users["2244994945"].profile["name"] = "Ada King"
    try:
        sign_in(client, site, twitter, "twitter")
    finally:
        store.users["2244994945"].profile["name"] = "Ada Lovelace"
    assert db.session.scalars(select(User.display_name)).one() == "Ada King"


def test_twitter_and_facebook_link_to_one_user_only_when_asked(client, site, twitter, facebook):
    token = sign_in(client, site, twitter, "twitter").json["token"]
    sign_in(client, site, facebook, "facebook")  # no token sent: a separate reader
    assert db.session.scalar(select(func.count(User.id))) == 2

    facebook.app.config["SIGNED_IN_USER"] = "10158987654321098"
    started, authorize = start(client, site, "facebook", Authorization=f"Bearer {token}")
    page = back_from_provider(client, facebook.consent(authorize))
    assert claim(client, site, started, page, Authorization=f"Bearer {token}").status_code == 200
    twitter_user = db.session.scalar(select(Identity.user_id).where(Identity.provider == "twitter"))
    linked = db.session.scalar(
        select(Identity.user_id).where(Identity.provider_user_id == "10158987654321098")
    )
    assert linked == twitter_user


def test_facebook_data_deletion_erases_the_reader(client, site, facebook):
    token = sign_in(client, site, facebook, "facebook").json["token"]
    headers = {"Origin": HOST_ORIGIN, "Authorization": f"Bearer {token}"}
    posted = client.post(
        f"/api/v1/sites/{site.id}/comments",
        json={"url": POST_URL, "body": "Private thoughts"},
        headers=headers,
    ).json["comment"]
    parent = db.session.get(Comment, posted["id"])
    from app.services import moderation

    moderation.set_status(parent, CommentStatus.APPROVED)
    make_comment(site, parent=parent, body="A reply by someone else")

    signed = facebook_signed_request({"user_id": "10158123456789012"}, "facebook-client-secret")
    resp = client.post("/auth/facebook/data-deletion", data={"signed_request": signed})
    assert resp.status_code == 200
    code = resp.json["confirmation_code"]
    assert resp.json["url"] == f"{PUBLIC_URL}/auth/facebook/data-deletion/{code}"

    assert db.session.scalar(select(func.count(User.id))) == 0
    assert db.session.scalar(select(func.count(Identity.id))) == 0
    db.session.expire_all()
    erased = db.session.get(Comment, posted["id"])
    assert (erased.status, erased.body, erased.user_id) == (CommentStatus.DELETED, "", None)
    thread = client.get(f"/api/v1/sites/{site.id}/thread", query_string={"url": POST_URL}).json
    assert "Private thoughts" not in str(thread)
    assert thread["thread"]["count"] == 1  # the reply stays, under a placeholder

    status = client.get(f"/auth/facebook/data-deletion/{code}")
    assert status.status_code == 200
    assert code in status.get_data(as_text=True)
    assert "10158123456789012" not in status.get_data(as_text=True)


@pytest.mark.parametrize(
    "signed_request",
    [
        "",
        "not-a-signed-request",
        facebook_signed_request({"user_id": "10158123456789012"}, "wrong-secret"),
        facebook_signed_request(
            {"user_id": "10158123456789012", "algorithm": "none"}, "facebook-client-secret"
        ),
    ],
)
def test_data_deletion_refuses_an_unsigned_request(client, site, facebook, signed_request):
    sign_in(client, site, facebook, "facebook")
    resp = client.post("/auth/facebook/data-deletion", data={"signed_request": signed_request})
    assert resp.status_code == 400
    assert db.session.scalar(select(func.count(User.id))) == 1


FACEBOOK_USER = "10158123456789012"
FACEBOOK_SECRET = "facebook-client-secret"


def delete_data(client, signed_request: str):
    return client.post("/auth/facebook/data-deletion", data={"signed_request": signed_request})


def signed(payload: dict) -> str:
    """A signed_request with exactly this payload (the fake fills in what is missing)."""
    encoded = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    digest = hmac.new(FACEBOOK_SECRET.encode(), encoded.encode(), hashlib.sha256).digest()
    return f"{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}.{encoded}"


def assert_refused(resp) -> None:
    assert resp.status_code == 400
    assert resp.json["error"]["code"] == "invalid_signed_request"
    assert set(resp.json["error"]) <= {"code", "message", "field"}


def counts_of_users_and_receipts() -> tuple[int, int]:
    db.session.rollback()  # a fresh look, past this thread's snapshot
    return (
        db.session.scalar(select(func.count(User.id))),
        db.session.scalar(select(func.count(DataDeletion.confirmation_code))),
    )


def test_a_replayed_deletion_request_is_refused_and_erases_nothing_again(client, site, facebook):
    sign_in(client, site, facebook, "facebook")
    request = facebook_signed_request({"user_id": FACEBOOK_USER}, FACEBOOK_SECRET)
    assert delete_data(client, request).status_code == 200
    # The reader comes back and writes again; whoever kept the old request cannot erase that.
    token = sign_in(client, site, facebook, "facebook").json["token"]
    posted = client.post(
        f"/api/v1/sites/{site.id}/comments",
        json={"url": POST_URL, "body": "Back again"},
        headers={"Origin": HOST_ORIGIN, "Authorization": f"Bearer {token}"},
    )
    assert posted.status_code == 201
    for _ in range(2):
        assert_refused(delete_data(client, request))
    assert counts_of_users_and_receipts() == (1, 1)
    assert db.session.get(Comment, posted.json["comment"]["id"]).body == "Back again"


def test_deletion_requests_sent_twice_at_once_erase_once(app, site, facebook):
    client = app.test_client()
    sign_in(client, site, facebook, "facebook")
    request = facebook_signed_request({"user_id": FACEBOOK_USER}, FACEBOOK_SECRET)
    statuses = run_together(app, lambda _: delete_data(app.test_client(), request).status_code)
    assert sorted(statuses) == [200] + [400] * (len(statuses) - 1)
    assert counts_of_users_and_receipts() == (0, 1)


@pytest.mark.parametrize(
    "issued_at",
    [
        lambda now: now - 2 * 3600,  # kept from long ago
        lambda now: now - 3600 - 60,  # just past the hour a request is good for
        lambda now: now + 3600,  # from the future: no clock is that wrong
        lambda now: None,
        lambda now: str(now),
        lambda now: True,
        lambda now: float(now),
    ],
)
def test_a_deletion_request_too_old_or_without_its_time_is_refused(
    client, site, facebook, issued_at
):
    sign_in(client, site, facebook, "facebook")
    payload = {"user_id": FACEBOOK_USER, "issued_at": issued_at(int(time.time()))}
    assert_refused(delete_data(client, facebook_signed_request(payload, FACEBOOK_SECRET)))
    assert counts_of_users_and_receipts() == (1, 0)


def test_a_deletion_request_without_issued_at_is_refused(client, site, facebook):
    sign_in(client, site, facebook, "facebook")
    assert_refused(
        delete_data(client, signed({"algorithm": "HMAC-SHA256", "user_id": FACEBOOK_USER}))
    )
    assert counts_of_users_and_receipts() == (1, 0)


@pytest.mark.parametrize("age", [0, 50 * 60, -60])  # a minute ahead: clocks differ a little
def test_a_recent_deletion_request_is_accepted(client, site, facebook, age):
    sign_in(client, site, facebook, "facebook")
    payload = {"user_id": FACEBOOK_USER, "issued_at": int(time.time()) - age}
    assert delete_data(client, facebook_signed_request(payload, FACEBOOK_SECRET)).status_code == 200
    assert counts_of_users_and_receipts() == (0, 1)


def test_prune_forgets_used_deletion_requests_once_too_old_to_replay(client, runner, site):
    now = int(time.time())
    for age in (2 * 3600, 50 * 60):
        # Issued within the hour when they came; the first one two hours ago by now.
        request = facebook_signed_request(
            {"user_id": f"user-{age}", "issued_at": now}, FACEBOOK_SECRET
        )
        assert delete_data(client, request).status_code == 200
        db.session.execute(
            update(UsedSignedRequest)
            .where(UsedSignedRequest.issued_at > utcnow() - timedelta(minutes=1))
            .values(issued_at=utcnow() - timedelta(seconds=age))
        )
        db.session.commit()
    assert runner.invoke(args=["prune"]).exit_code == 0
    kept = db.session.scalars(select(UsedSignedRequest.issued_at)).all()
    assert len(kept) == 1 and kept[0] > utcnow() - timedelta(hours=1)


def test_data_deletion_is_off_without_facebook(tmp_path):
    with fresh_app(tmp_path) as app:
        resp = app.test_client().post("/auth/facebook/data-deletion", data={"signed_request": "x"})
        assert resp.status_code == 404


def test_providers_are_not_offered_without_keys(tmp_path):
    with fresh_app(tmp_path) as app:
        site = make_site()
        client = app.test_client()
        assert client.get(f"/api/v1/sites/{site.id}/config").json["providers"] == []
        resp = post_json(client, site, {"provider": "twitter"}, path="logins")
        assert resp.status_code == 400
        assert client.get("/auth/twitter/start?flow=x").status_code == 400


# --- moderators signing in to the dashboard with a linked account ---------------------------


def test_moderator_links_twitter_then_signs_in_with_it(app, client, site, twitter):
    from tests.factories import make_moderator
    from tests.helpers import Dashboard, leaving_for

    make_moderator(site, email="mod@example.com")
    dash = Dashboard(client)
    dash.sign_in("mod@example.com")
    linked = client.post("/dashboard/link/twitter", data={"csrf_token": dash.token()})
    back_from_provider(client, twitter.consent(leaving_for(linked.text)))
    assert "Twitter: Ada Lovelace" in client.get("/dashboard/account").text
    client.post("/dashboard/logout", data={"csrf_token": dash.token()})

    browser = app.test_client()
    login_page = Dashboard(browser)
    token = login_page.token("/dashboard/login")
    assert ">Sign in with Twitter</button>" in browser.get("/dashboard/login").text
    start = browser.post("/dashboard/login/twitter", data={"csrf_token": token})
    assert start.status_code == 200, start.text  # a page that moves on: dashboard/leaving.html
    done = back_from_provider(browser, twitter.consent(leaving_for(start.text)))
    assert done.status_code == 302 and done.headers["Location"].endswith("/dashboard/")
    assert browser.get("/dashboard/").status_code == 200


def test_an_unlinked_provider_account_cannot_enter_the_dashboard(app, client, site, twitter):
    from tests.factories import make_moderator
    from tests.helpers import Dashboard, leaving_for

    make_moderator(site, email="mod@example.com")
    dash = Dashboard(client)
    start = client.post(
        "/dashboard/login/twitter", data={"csrf_token": dash.token("/dashboard/login")}
    )
    done = back_from_provider(client, twitter.consent(leaving_for(start.text)))
    assert done.headers["Location"].endswith("/dashboard/login")
    assert "No moderator account is linked" in client.get("/dashboard/login").text
    assert client.get("/dashboard/").status_code == 302


def test_the_dev_provider_never_signs_in_moderators(app, client, site):
    from tests.helpers import Dashboard

    app.config["DEV_LOGIN"] = True
    dash = Dashboard(client)
    resp = client.post("/dashboard/login/dev", data={"csrf_token": dash.token("/dashboard/login")})
    assert resp.status_code == 404
