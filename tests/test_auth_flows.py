"""Sign-in flows across origins, driven with the Dev provider (no network)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Comment, Identity, LoginFlow, User
from app.services import links
from app.services.logins import FLOW_LIFETIME
from tests.factories import HOST_ORIGIN, POST_URL, guest_payload, make_comment, post_json
from tests.helpers import claim, dev_sign_in, handed_code, new_flow, signed_in_token


@pytest.fixture
def app(app):
    app.config["DEV_LOGIN"] = True
    return app


def new_link_flow(client, site, token: str) -> dict[str, str]:
    """A signed-in reader starts linking another account: their bearer token comes along."""
    return client.post(
        f"/api/v1/sites/{site.id}/logins",
        json={"provider": "dev"},
        headers={"Origin": HOST_ORIGIN, "Authorization": f"Bearer {token}"},
    ).json


def test_whole_flow_from_click_to_token(client, site):
    created = new_flow(client, site)
    assert created.status_code == 201
    flow_id, secret = created.json["flow"], created.json["secret"]
    assert created.json["start_url"] == f"http://127.0.0.1:5000/auth/dev/start?flow={flow_id}"
    assert secret not in created.json["start_url"]

    done = dev_sign_in(client, flow_id)
    page = done.get_data(as_text=True)
    assert "You are signed in with Dev" in page
    assert done.headers["Cache-Control"] == "no-store"
    # postMessage to the exact origin the flow started from, never "*"
    assert re.search(r'postMessage\([^;]*,\s*"https://blog\.example"\);', page, re.S)
    assert '"*"' not in page
    assert "script-src 'nonce-" in done.headers["Content-Security-Policy"]
    # Nobody is signed in until the page claims: the popup only holds a code.
    assert db.session.scalar(select(func.count(User.id))) == 0

    claimed = claim(client, site, flow_id, secret=secret, code=handed_code(done))
    assert claimed.status_code == 200
    assert claimed.json["viewer"] == {
        "name": "Ada Lovelace",
        "avatar_url": None,
        "provider": "dev",
        "provider_label": "Dev",
        "notify_email_known": False,
    }
    assert claimed.json["token"] not in page  # the token never sits in the popup's page
    assert secret not in page


def test_a_flow_is_claimed_once(client, site):
    started = new_flow(client, site).json
    code = handed_code(dev_sign_in(client, started["flow"]))
    body = {"secret": started["secret"], "code": code}
    assert claim(client, site, started["flow"], **body).status_code == 200
    again = claim(client, site, started["flow"], **body)
    assert again.status_code == 410
    assert again.json["error"]["code"] == "login_expired"


def test_only_the_page_that_started_a_flow_can_claim_it(client, site):
    started = new_flow(client, site).json
    body = {"secret": started["secret"], "code": handed_code(dev_sign_in(client, started["flow"]))}
    from tests.factories import make_site

    other = make_site(origins=["https://other.example"])
    assert (
        claim(client, other, started["flow"], origin="https://other.example", **body).status_code
        == 404
    )
    assert (
        claim(client, site, started["flow"], origin="https://evil.example", **body).status_code
        == 403
    )
    assert claim(client, site, started["flow"], **body).status_code == 200


def test_a_finished_flow_is_not_claimed_without_the_code_its_browser_was_given(client, site):
    """The attack: a flow made by a script with a forged Origin, its start_url sent to a reader
    who signs in; its maker, who knows the flow id and secret, gets nothing from it."""
    attacker = client.application.test_client()
    started = post_json(attacker, site, {"provider": "dev"}, path="logins").json
    victim = client
    handed = handed_code(dev_sign_in(victim, started["flow"], name="Victim Reader"))

    for body in (
        {"secret": started["secret"]},
        {"secret": started["secret"], "code": ""},
        {"secret": started["secret"], "code": "x" * 43},
        {"secret": started["secret"], "code": handed[:-1] + ("A" if handed[-1] != "A" else "B")},
    ):
        resp = claim(attacker, site, started["flow"], **body)
        assert resp.status_code in (400, 404), resp.json
        assert "token" not in resp.json
    # Polling with the flow id alone, as before, is no claim at all.
    assert claim(attacker, site, started["flow"]).status_code == 400
    assert db.session.scalar(select(func.count(User.id))) == 0
    # The code is no use without the secret either.
    resp = claim(attacker, site, started["flow"], secret="y" * 43, code=handed)
    assert resp.status_code == 404 and "token" not in resp.json


def test_a_link_flow_finished_by_someone_else_links_nothing(client, site):
    """The attack: a signed-in reader starts a link flow and gets someone else to finish it,
    to attach that person's provider account to theirs for good."""
    attacker_token = signed_in_token(client, site, name="Mallory")
    started = new_link_flow(client, site, attacker_token)
    victim = client.application.test_client()
    dev_sign_in(victim, started["flow"], name="Victim Reader")
    # Finishing the provider's pages links nothing by itself...
    assert db.session.scalar(select(func.count(Identity.id))) == 1
    resp = client.post(
        f"/api/v1/sites/{site.id}/logins/{started['flow']}/claim",
        json={"secret": started["secret"]},
        headers={"Origin": HOST_ORIGIN, "Authorization": f"Bearer {attacker_token}"},
    )
    # ...and without the code the victim's browser was given, the attacker cannot claim it.
    assert resp.status_code == 400
    assert db.session.scalar(select(func.count(Identity.id))) == 1
    assert db.session.scalar(select(func.count(User.id))) == 1


def test_a_link_takes_effect_only_when_claimed_by_the_account_that_asked(client, site):
    token = signed_in_token(client, site, name="Ada")
    started = new_link_flow(client, site, token)
    code = handed_code(dev_sign_in(client, started["flow"], name="Ada at work"))
    body = {"secret": started["secret"], "code": code}
    # Without the reader's own token (signed out meanwhile), nothing is linked.
    refused = claim(client, site, started["flow"], **body)
    assert refused.status_code == 403
    assert db.session.scalar(select(func.count(Identity.id))) == 1


def test_a_foreign_origin_cannot_start_a_flow(client, site):
    resp = post_json(
        client, site, {"provider": "dev"}, path="logins", origin="https://evil.example"
    )
    assert resp.status_code == 403
    assert db.session.scalar(select(func.count(LoginFlow.id))) == 0


def test_unconfigured_provider_is_refused(client, site):
    resp = new_flow(client, site, provider="twitter")
    assert resp.status_code == 400
    assert resp.json["error"]["field"] == "provider"


def test_dev_provider_is_off_without_dev_login(app, client, site):
    flow_id = new_flow(client, site).json["flow"]
    app.config["DEV_LOGIN"] = False
    assert client.get(f"/auth/dev/start?flow={flow_id}").status_code == 404
    assert new_flow(client, site).status_code == 400
    assert client.get(f"/api/v1/sites/{site.id}/config").json["providers"] == []


def test_dev_form_needs_its_csrf_token(client, site):
    flow_id = new_flow(client, site).json["flow"]
    resp = client.post(f"/auth/dev/start?flow={flow_id}", data={"name": "Mallory"})
    assert resp.status_code == 400  # refused by CSRF protection, nothing signed in
    assert db.session.get(LoginFlow, flow_id).completed_at is None


def test_a_flow_runs_once(client, site):
    flow_id = new_flow(client, site).json["flow"]
    dev_sign_in(client, flow_id)
    assert client.get(f"/auth/dev/start?flow={flow_id}").status_code == 410


def test_an_old_flow_expires(client, site):
    started = new_flow(client, site).json
    code = handed_code(dev_sign_in(client, started["flow"]))
    flow = db.session.get(LoginFlow, started["flow"])
    flow.created_at -= timedelta(minutes=11)
    db.session.commit()
    assert client.get(f"/auth/dev/start?flow={started['flow']}").status_code == 410
    resp = claim(client, site, started["flow"], secret=started["secret"], code=code)
    assert resp.status_code == 410


def test_a_flow_older_than_its_lifetime_expires_by_the_clock(client, site, clock):
    started = new_flow(client, site).json
    code = handed_code(dev_sign_in(client, started["flow"]))
    clock.advance(FLOW_LIFETIME.total_seconds() + 1)
    resp = claim(client, site, started["flow"], secret=started["secret"], code=code)
    assert resp.status_code == 410


def test_a_reader_token_ends_after_its_lifetime(client, site, clock):
    token = signed_in_token(client, site)
    headers = {"Origin": HOST_ORIGIN, "Authorization": f"Bearer {token}"}
    path = f"/api/v1/sites/{site.id}/thread"
    clock.advance((links.READER.max_age or 0) - 60)
    assert client.get(path, query_string={"url": POST_URL}, headers=headers).json["viewer"]
    clock.advance(120)
    resp = client.get(path, query_string={"url": POST_URL}, headers=headers)
    assert resp.json["viewer"] is None and resp.json["session_expired"] is True


def test_unknown_flow_is_a_plain_page(client):
    resp = client.get("/auth/dev/start?flow=nope")
    assert resp.status_code == 404
    assert "not valid" in resp.get_data(as_text=True)


def test_popup_blocked_fallback_returns_to_the_page_with_a_ticket(client, site):
    page = POST_URL + "?utm=x"
    started = new_flow(client, site, return_url=page, popup=False).json
    done = dev_sign_in(client, started["flow"])
    assert done.status_code == 303
    assert done.headers["Cache-Control"] == "no-store"
    code = handed_code(done)
    assert done.headers["Location"] == f"{page}#afterword-login={started['flow']}.{code}"
    claimed = claim(client, site, started["flow"], secret=started["secret"], code=code)
    assert claimed.status_code == 200


def test_a_popup_cut_off_from_its_opener_goes_to_the_flows_page_with_the_code(client, site):
    started = new_flow(client, site, return_url=POST_URL, popup=True).json
    done = dev_sign_in(client, started["flow"])
    assert done.status_code == 200  # a popup first tries its opener
    code = handed_code(done)
    ticket = f"{POST_URL}#afterword-login={started['flow']}.{code}"
    assert f"location.replace({json.dumps(ticket)})" in done.get_data(as_text=True)


def test_a_full_page_sign_in_needs_a_page_to_come_back_to(client, site):
    resp = new_flow(client, site, popup=False)
    assert resp.status_code == 400
    assert resp.json["error"]["field"] == "return_url"
    assert new_flow(client, site, popup="yes").json["error"]["field"] == "popup"


def test_return_url_must_be_on_the_sites_origins(client, site):
    resp = new_flow(client, site, return_url="https://evil.example/phish")
    assert resp.status_code == 400
    assert resp.json["error"]["code"] == "url_not_allowed"


def test_return_url_must_be_on_the_origin_of_the_page_that_asked(client):
    from tests.factories import make_site

    site = make_site(origins=[HOST_ORIGIN, "https://other.example"])
    resp = new_flow(client, site, return_url="https://other.example/post")
    assert resp.status_code == 400
    assert resp.json["error"]["field"] == "return_url"


def test_signed_in_reader_posts_under_their_name(client, site):
    token = signed_in_token(client, site)
    resp = client.post(
        f"/api/v1/sites/{site.id}/comments",
        json={"url": POST_URL, "body": "Signed in."},
        headers={"Origin": HOST_ORIGIN, "Authorization": f"Bearer {token}"},
    )
    assert resp.status_code == 201, resp.json
    assert resp.json["comment"]["author"]["name"] == "Ada Lovelace"
    comment = db.session.get(Comment, resp.json["comment"]["id"])
    assert comment.user_id is not None and comment.guest_email is None

    thread = client.get(
        f"/api/v1/sites/{site.id}/thread",
        query_string={"url": POST_URL},
        headers={"Origin": HOST_ORIGIN, "Authorization": f"Bearer {token}"},
    ).json
    assert thread["viewer"]["name"] == "Ada Lovelace"
    [mine] = thread["comments"]
    assert mine["mine"] is True and mine["status"] == "pending"
    assert mine["body"] == "Signed in."


def test_signed_in_reader_edits_and_deletes_without_an_edit_token(client, site):
    token = signed_in_token(client, site)
    headers = {"Origin": HOST_ORIGIN, "Authorization": f"Bearer {token}"}
    posted = client.post(
        f"/api/v1/sites/{site.id}/comments",
        json={"url": POST_URL, "body": "first"},
        headers=headers,
    ).json["comment"]
    path = f"/api/v1/sites/{site.id}/comments/{posted['id']}"
    assert client.patch(path, json={"body": "second"}, headers=headers).status_code == 200
    assert client.delete(path, json={}, headers=headers).status_code == 200
    other = signed_in_token(client, site, name="Someone Else")
    stranger = {"Origin": HOST_ORIGIN, "Authorization": f"Bearer {other}"}
    assert client.patch(path, json={"body": "x"}, headers=stranger).status_code == 403


def test_a_reader_token_is_for_one_site(client, site):
    from tests.factories import make_site

    token = signed_in_token(client, site)
    other = make_site()
    resp = client.post(
        f"/api/v1/sites/{other.id}/comments",
        json={"url": POST_URL, "body": "x"},
        headers={"Origin": HOST_ORIGIN, "Authorization": f"Bearer {token}"},
    )
    assert resp.status_code == 401
    assert resp.json["error"]["code"] == "session_expired"


def test_an_invalid_token_on_a_read_shows_the_thread_and_says_so(client, site):
    make_comment(site)
    resp = client.get(
        f"/api/v1/sites/{site.id}/thread",
        query_string={"url": POST_URL},
        headers={"Authorization": "Bearer forged.token.value"},
    )
    assert resp.status_code == 200
    assert len(resp.json["comments"]) == 1
    assert resp.json["viewer"] is None and resp.json["session_expired"] is True


def test_an_invalid_token_on_a_post_loses_nothing_and_says_so(client, site):
    resp = client.post(
        f"/api/v1/sites/{site.id}/comments",
        json=guest_payload(),
        headers={"Origin": HOST_ORIGIN, "Authorization": "Bearer forged"},
    )
    assert resp.status_code == 401
    assert "log in again" in resp.json["error"]["message"]
    assert db.session.scalar(select(func.count(Comment.id))) == 0


def test_same_account_signs_in_as_the_same_user_and_updates_the_profile(client, site):
    signed_in_token(client, site, name="Ada")
    signed_in_token(client, site, name="ADA")  # Dev ids come from the name, case-folded
    assert db.session.scalar(select(func.count(User.id))) == 1
    assert db.session.scalars(select(User.display_name)).one() == "ADA"


def test_a_signed_in_reader_links_a_second_account(client, site):
    token = signed_in_token(client, site, name="Ada")
    started = new_link_flow(client, site, token)
    code = handed_code(dev_sign_in(client, started["flow"], name="Ada at work"))
    claimed = client.post(
        f"/api/v1/sites/{site.id}/logins/{started['flow']}/claim",
        json={"secret": started["secret"], "code": code},
        headers={"Origin": HOST_ORIGIN, "Authorization": f"Bearer {token}"},
    )
    assert claimed.status_code == 200
    assert db.session.scalar(select(func.count(User.id))) == 1
    assert db.session.scalar(select(func.count(Identity.id))) == 2


def test_first_time_mode_trusts_a_user_with_an_approved_comment(client):
    from app.domain.states import CommentStatus, ModerationMode
    from app.services import moderation
    from tests.factories import make_site

    site = make_site(moderation=ModerationMode.FIRST_TIME)
    token = signed_in_token(client, site)
    headers = {"Origin": HOST_ORIGIN, "Authorization": f"Bearer {token}"}
    first = client.post(
        f"/api/v1/sites/{site.id}/comments",
        json={"url": POST_URL, "body": "one"},
        headers=headers,
    ).json["comment"]
    assert first["status"] == "pending"
    moderation.set_status(db.session.get(Comment, first["id"]), CommentStatus.APPROVED)
    second = client.post(
        f"/api/v1/sites/{site.id}/comments",
        json={"url": POST_URL, "body": "two"},
        headers=headers,
    ).json["comment"]
    assert second["status"] == "approved"
