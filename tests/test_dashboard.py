"""The moderator dashboard through its pages and forms, with CSRF protection on."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.domain.states import CommentStatus
from app.extensions import db
from app.models import Ban, Comment, Site
from tests.factories import (
    MODERATOR_PASSWORD,
    POST_URL,
    make_comment,
    make_moderator,
    make_site,
)
from tests.helpers import Dashboard


@pytest.fixture
def dash(client) -> Dashboard:
    return Dashboard(client)


def status_of(comment: Comment) -> CommentStatus:
    db.session.expire_all()
    return db.session.get(Comment, comment.id).status


def test_sign_in_page_has_the_documented_fields(client):
    page = client.get("/dashboard/").follow_redirects if False else client.get("/dashboard/")
    assert page.status_code == 302 and "/dashboard/login" in page.headers["Location"]
    html = client.get("/dashboard/login").text
    assert ">Email</label>" in html and ">Password</label>" in html
    assert ">Sign in</button>" in html


def test_sign_in_with_email_and_password_then_out(dash, site):
    moderator = make_moderator(site, email="mod@example.com")
    assert dash.sign_in("MOD@example.com").status_code == 302
    queue = dash.client.get("/dashboard/")
    assert queue.status_code == 200 and "Comments" in queue.text
    cookie = dash.client.get_cookie("session")
    assert cookie.http_only and cookie.same_site == "Lax"
    dash.client.post("/dashboard/logout", data={"csrf_token": dash.token()})
    assert dash.client.get("/dashboard/").status_code == 302
    assert moderator.email == "mod@example.com"


def test_wrong_password_is_refused_plainly(dash, site):
    make_moderator(site, email="mod@example.com")
    resp = dash.sign_in("mod@example.com", "wrong password")
    assert resp.status_code == 200
    assert "That email and password do not match." in resp.text
    assert dash.client.get("/dashboard/").status_code == 302


def test_repeated_failures_lock_out_with_a_clear_message(dash, site):
    make_moderator(site, email="mod@example.com")
    for _ in range(5):
        assert dash.sign_in("mod@example.com", "guess").status_code == 200
    locked = dash.sign_in("mod@example.com", MODERATOR_PASSWORD)
    assert locked.status_code == 429
    assert "Too many sign-in attempts. Try again in 15 minutes." in locked.text
    assert int(locked.headers["Retry-After"]) > 0


def test_a_forged_post_without_csrf_token_changes_nothing(dash, site):
    make_moderator(site, email="mod@example.com")
    comment = make_comment(site, status=None)
    dash.sign_in("mod@example.com")
    resp = dash.client.post(
        "/dashboard/comments/act", data={"action": "approve", "ids": [comment.id]}
    )
    assert resp.status_code == 400
    assert status_of(comment) is CommentStatus.PENDING


def test_approving_by_get_is_impossible(dash, site):
    make_moderator(site, email="mod@example.com")
    comment = make_comment(site, status=None)
    dash.sign_in("mod@example.com")
    assert (
        dash.client.get(f"/dashboard/comments/act?one={comment.id}&action=approve").status_code
        == 405
    )
    assert status_of(comment) is CommentStatus.PENDING


def test_queue_shows_pending_comments_with_their_details(dash, site):
    make_moderator(site, email="mod@example.com")
    make_comment(site, body="Lovely *crumb*", name="Grace", email="grace@example.com", status=None)
    make_comment(site, body="Already public")
    dash.sign_in("mod@example.com")
    html = dash.client.get("/dashboard/").text
    assert "<em>crumb</em>" in html
    assert "Grace" in html and "grace@example.com" in html
    assert "Already public" not in html
    for button in ("Approve", "Reject", "Spam", "Delete"):
        assert f">{button}</button>" in html
    assert "0 approved · 0 rejected on this site" in html


def test_approve_one_from_the_queue(dash, site):
    make_moderator(site, email="mod@example.com")
    comment = make_comment(site, status=None)
    dash.sign_in("mod@example.com")
    resp = dash.act("approve", [comment.id], one=True)
    assert resp.status_code == 302
    assert status_of(comment) is CommentStatus.APPROVED
    thread = dash.client.get(f"/api/v1/sites/{site.id}/thread", query_string={"url": POST_URL})
    assert thread.json["thread"]["count"] == 1


def test_act_answers_json_for_the_script(dash, site):
    make_moderator(site, email="mod@example.com")
    comment = make_comment(site, status=None)
    make_comment(site, status=None)
    dash.sign_in("mod@example.com")
    resp = dash.client.post(
        f"/dashboard/comments/act?one={comment.id}",
        data={"action": "spam", "csrf_token": dash.token()},
        headers={"Accept": "application/json"},
    )
    assert resp.json == {"comments": [{"id": comment.id, "status": "spam"}], "pending": 1}


def test_bulk_actions_on_selected_rows(dash, site):
    make_moderator(site, email="mod@example.com")
    picked = [make_comment(site, status=None) for _ in range(3)]
    left = make_comment(site, status=None)
    dash.sign_in("mod@example.com")
    resp = dash.act("reject", [c.id for c in picked])
    assert resp.status_code == 302
    assert {status_of(c) for c in picked} == {CommentStatus.REJECTED}
    assert status_of(left) is CommentStatus.PENDING
    assert "3 comment(s) rejected." in dash.client.get("/dashboard/?status=rejected").text


def test_moderator_of_site_a_cannot_act_on_site_b_by_tampering(dash, site):
    other = make_site(origins=["https://other.example"])
    make_moderator(site, email="mod@example.com")
    foreign = make_comment(other, url="https://other.example/p", status=None)
    own = make_comment(site, status=None)
    dash.sign_in("mod@example.com")
    assert "other.example" not in dash.client.get("/dashboard/").text
    dash.act("approve", [own.id, foreign.id])
    assert status_of(foreign) is CommentStatus.PENDING
    assert status_of(own) is CommentStatus.PENDING  # all or nothing
    dash.act("approve", [foreign.id], one=True)
    assert status_of(foreign) is CommentStatus.PENDING
    assert dash.client.get(f"/dashboard/comments/{foreign.id}").status_code == 302
    assert dash.client.get(f"/dashboard/sites/{other.id}").status_code == 404
    assert dash.client.get(f"/dashboard/sites/{other.id}/audit").status_code == 404
    edit = dash.client.post(
        f"/dashboard/comments/{foreign.id}/edit",
        data={"body": "defaced", "csrf_token": dash.token()},
    )
    assert edit.status_code == 302
    db.session.expire_all()
    assert db.session.get(Comment, foreign.id).body != "defaced"


def test_edit_reply_and_history_from_the_comment_page(dash, site):
    make_moderator(site, email="mod@example.com")
    comment = make_comment(site, body="teh typo")
    dash.sign_in("mod@example.com")
    page = f"/dashboard/comments/{comment.id}"
    dash.client.post(f"{page}/edit", data={"body": "the typo", "csrf_token": dash.token(page)})
    dash.client.post(f"{page}/reply", data={"body": "Thank you!", "csrf_token": dash.token(page)})
    html = dash.client.get(page).text
    assert "<p>the typo</p>" in html
    assert "<td>mod@example.com</td><td>edit</td>" in html
    thread = dash.client.get(f"/api/v1/sites/{site.id}/thread", query_string={"url": POST_URL})
    reply = thread.json["comments"][0]["replies"][0]
    assert reply["html"] == "<p>Thank you!</p>"
    assert reply["author"]["name"] == site.name
    assert reply["author"]["moderator"] is True


def test_ban_from_the_comment_page_and_lift_it(dash, site):
    make_moderator(site, email="mod@example.com")
    comment = make_comment(site, email="troll@example.com", name="Troll", status=None)
    dash.sign_in("mod@example.com")
    page = f"/dashboard/comments/{comment.id}"
    resp = dash.client.post(
        f"{page}/ban",
        data={"by_email": "y", "days": "7", "reason": "rude", "csrf_token": dash.token(page)},
    )
    assert resp.status_code == 302
    ban = db.session.scalars(select(Ban)).one()
    assert ban.label == "Troll" and ban.reason == "rude" and ban.expires_at is not None
    bans_page = f"/dashboard/sites/{site.id}/bans"
    assert "Troll" in dash.client.get(bans_page).text
    dash.client.post(f"/dashboard/bans/{ban.id}/lift", data={"csrf_token": dash.token(bans_page)})
    assert db.session.scalars(select(Ban)).all() == []


def test_site_settings_and_snippet(dash, site):
    make_moderator(site, email="mod@example.com")
    dash.sign_in("mod@example.com")
    page = f"/dashboard/sites/{site.id}"
    html = dash.client.get(page).text
    assert f"data-site=&#34;{site.id}&#34;" in html  # the snippet, shown as text
    resp = dash.client.post(
        page,
        data={
            "origins": "https://blog.example\nhttps://www.blog.example",
            "moderation": "first-time",
            "close_after_days": "30",
            "csrf_token": dash.token(page),
        },
    )
    assert resp.status_code == 302
    db.session.expire_all()
    saved = db.session.get(Site, site.id)
    assert saved.origins == ["https://blog.example", "https://www.blog.example"]
    assert saved.moderation.value == "first-time" and saved.close_after_days == 30
    bad = dash.client.post(
        page,
        data={"origins": "https://*.example", "moderation": "all", "csrf_token": dash.token(page)},
    )
    assert bad.status_code == 302
    assert "is not an origin" in dash.client.get(page).text


def test_audit_log_per_site(dash, site):
    make_moderator(site, email="mod@example.com")
    comment = make_comment(site, status=None)
    dash.sign_in("mod@example.com")
    dash.act("spam", [comment.id], one=True)
    html = dash.client.get(f"/dashboard/sites/{site.id}/audit").text
    assert "mod@example.com" in html and ">spam<" in html and ">pending<" in html


def test_nothing_a_reader_typed_runs_in_the_dashboard(dash, site):
    make_moderator(site, email="mod@example.com")
    make_comment(
        site,
        name='<img src=x onerror="alert(1)">',
        body="<script>alert(1)</script> [x](javascript:alert(1))",
        status=None,
    )
    dash.sign_in("mod@example.com")
    html = dash.client.get("/dashboard/").text
    assert "<script>alert(1)" not in html
    assert '<img src=x onerror="alert(1)">' not in html
    assert "&lt;img src=x onerror=" in html
    assert 'href="javascript:' not in html
    assert "script-src 'self'" in dash.client.get("/dashboard/").headers["Content-Security-Policy"]


def test_next_parameter_cannot_redirect_elsewhere(dash, site):
    make_moderator(site, email="mod@example.com")
    comment = make_comment(site, status=None)
    dash.sign_in("mod@example.com")
    resp = dash.act("approve", [comment.id], one=True, next="https://evil.example/")
    assert resp.headers["Location"].endswith("/dashboard/")
    login = dash.client.get("/dashboard/login?next=//evil.example")
    assert login.status_code == 302 and "evil" not in login.headers["Location"]


def test_account_page_title_is_plain_text(dash, site):
    make_moderator(site, email="mod@example.com")
    dash.sign_in("mod@example.com")
    html = dash.client.get("/dashboard/account").text
    assert "<title>Notifications · Afterword</title>" in html
