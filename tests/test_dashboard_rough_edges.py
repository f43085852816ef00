"""What the dashboard says after an action: Undo, used mail links, buttons that fit."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.domain.states import CommentStatus
from app.extensions import db
from app.models import AuditEntry, Comment, Moderator
from app.services import mail_actions
from tests.factories import make_comment, make_moderator, make_site
from tests.helpers import Dashboard


@pytest.fixture
def dash(client) -> Dashboard:
    return Dashboard(client)


def status_of(comment: Comment) -> CommentStatus:
    db.session.expire_all()
    return db.session.get(Comment, comment.id).status


def buttons(html: str) -> list[str]:
    return re.findall(r'<button type="submit" name="action" value="(\w+)"', html)


# --- Undo ---------------------------------------------------------------------------------


def test_without_the_script_the_next_page_offers_undo(dash, site):
    make_moderator(site, email="mod@example.com")
    comment = make_comment(site, status=None)
    dash.sign_in("mod@example.com")
    acted = dash.act("approve", [comment.id], one=True, next="/dashboard/")
    page = dash.client.get(acted.headers["Location"]).text
    assert "1 comment(s) approved." in page
    form = re.search(
        r'<form method="post" action="([^"]+)" class="undo-offer">(.*?)</form>', page, re.S
    )
    assert form and form.group(1) == f"/dashboard/comments/{comment.id}/undo"
    assert 'name="status" value="pending"' in form.group(2) and ">Undo</button>" in form.group(2)
    assert "Undo</button>" not in dash.client.get("/dashboard/").text  # offered once

    undone = dash.client.post(
        form.group(1), data={"status": "pending", "csrf_token": dash.token(), "next": "/dashboard/"}
    )
    assert undone.status_code == 302
    assert status_of(comment) is CommentStatus.PENDING
    assert "the comment is pending again" in dash.client.get("/dashboard/").text
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.comment_id == comment.id).order_by(AuditEntry.id)
    ).all()
    assert actions[-2:] == ["approve", "undo"]


def test_bulk_actions_offer_no_undo(dash, site):
    make_moderator(site, email="mod@example.com")
    first, second = make_comment(site, status=None), make_comment(site, status=None)
    dash.sign_in("mod@example.com")
    acted = dash.act("reject", [first.id, second.id])
    assert "undo-offer" not in dash.client.get(acted.headers["Location"]).text


def test_undo_answers_json_for_the_script(dash, site):
    make_moderator(site, email="mod@example.com")
    comment = make_comment(site, status=None)
    dash.sign_in("mod@example.com")
    dash.act("spam", [comment.id], one=True)
    resp = dash.client.post(
        f"/dashboard/comments/{comment.id}/undo",
        data={"status": "pending", "csrf_token": dash.token()},
        headers={"Accept": "application/json"},
    )
    assert resp.json == {"id": comment.id, "status": "pending", "pending": 1}
    assert status_of(comment) is CommentStatus.PENDING


def test_undo_needs_the_token_and_a_site_of_mine(dash, site):
    make_moderator(site, email="mod@example.com")
    elsewhere = make_comment(make_site(), status=CommentStatus.APPROVED)
    mine = make_comment(site, status=CommentStatus.APPROVED)
    dash.sign_in("mod@example.com")
    forged = dash.client.post(f"/dashboard/comments/{mine.id}/undo", data={"status": "pending"})
    assert forged.status_code == 400
    assert status_of(mine) is CommentStatus.APPROVED
    other = dash.client.post(
        f"/dashboard/comments/{elsewhere.id}/undo",
        data={"status": "pending", "csrf_token": dash.token()},
        headers={"Accept": "application/json"},
    )
    assert other.status_code == 404
    assert status_of(elsewhere) is CommentStatus.APPROVED
    bad = dash.client.post(
        f"/dashboard/comments/{mine.id}/undo",
        data={"status": "gone", "csrf_token": dash.token()},
    )
    assert bad.status_code == 400


def test_the_queue_rows_carry_their_status_for_the_script(dash, site):
    make_moderator(site, email="mod@example.com")
    comment = make_comment(site, status=None)
    dash.sign_in("mod@example.com")
    html = dash.client.get("/dashboard/").text
    assert f'data-id="{comment.id}" data-status="pending"' in html
    assert 'data-undo="/dashboard/comments/0/undo"' in html


# --- mail links ---------------------------------------------------------------------------


def mail_link(moderator: Moderator, comment: Comment, action: str) -> str:
    return f"/dashboard/mail/{mail_actions.make_token(moderator, comment, action)}"


def test_a_used_mail_link_says_what_was_done(dash, site):
    moderator = make_moderator(site, email="mod@example.com")
    comment = make_comment(site, status=None)
    link = mail_link(moderator, comment, "approve")
    assert dash.client.post(link, data={"csrf_token": dash.token(link)}).status_code == 200
    again = dash.client.get(link)
    assert again.status_code == 200
    assert re.search(r"This comment was approved on \d{4}-\d\d-\d\d \d\d:\d\d UTC\.", again.text)
    assert ">Approve</button>" not in again.text
    reposted = dash.client.post(link, data={"csrf_token": dash.token("/dashboard/login")})
    assert reposted.status_code == 410 and "already used" in reposted.text
    assert "This comment was approved on" in reposted.text


def test_a_mail_link_offers_nothing_for_a_comment_already_there(dash, site):
    moderator = make_moderator(site, email="mod@example.com")
    comment = make_comment(site, status=CommentStatus.APPROVED)
    page = dash.client.get(mail_link(moderator, comment, "approve"))
    assert page.status_code == 200
    assert "This comment is already approved." in page.text
    assert ">Approve</button>" not in page.text
    reject = dash.client.get(mail_link(moderator, comment, "reject"))
    assert ">Reject</button>" in reject.text


# --- a comment's page ---------------------------------------------------------------------


def test_a_comment_page_offers_only_what_changes_something(dash, site):
    make_moderator(site, email="mod@example.com")
    approved = make_comment(site, status=CommentStatus.APPROVED)
    spam = make_comment(site, status=CommentStatus.SPAM)
    pending = make_comment(site, status=None)
    dash.sign_in("mod@example.com")
    page = lambda c: dash.client.get(f"/dashboard/comments/{c.id}").text  # noqa: E731
    assert buttons(page(approved)) == ["reject", "spam", "delete"]
    assert buttons(page(spam)) == ["approve", "reject", "delete"]
    assert buttons(page(pending)) == ["approve", "reject", "spam", "delete"]
    rejected = make_comment(site, status=CommentStatus.REJECTED)
    assert buttons(page(rejected)) == ["approve", "spam", "delete"]


def test_a_comment_page_shows_the_authors_record(dash, site):
    make_moderator(site, email="mod@example.com")
    for status in (CommentStatus.APPROVED, CommentStatus.APPROVED, CommentStatus.SPAM):
        make_comment(site, status=status, email="ada@example.com")
    make_comment(make_site(), status=CommentStatus.REJECTED, email="ada@example.com")
    waiting = make_comment(site, status=None, email="ada@example.com")
    dash.sign_in("mod@example.com")
    dash.act("reject", [waiting.id], one=True)  # the page's history table has rows now
    html = dash.client.get(f"/dashboard/comments/{waiting.id}").text
    assert "2 approved · 2 rejected on this site" in html
