"""The queue and bulk actions at scale: the work of a page or of an action does not grow with
the comments it covers, 1,000 comments go in one request, and more are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from sqlalchemy import func, insert, select

from app.domain.policy import BULK_MAX
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import (
    AuditEntry,
    Comment,
    CommentReport,
    OutboxMessage,
    Site,
    Subscription,
    Thread,
)
from tests.factories import make_moderator
from tests.helpers import Dashboard, statements_during

_ids = count(1)
START = datetime(2026, 1, 1, tzinfo=UTC)


def seed(
    site: Site,
    n: int,
    *,
    threads: int,
    status: CommentStatus = CommentStatus.PENDING,
    email: str | None = None,
    reported: int = 0,
) -> list[int]:
    """`n` comments over `threads` new threads of `site`, in two INSERTs: the service would
    take minutes for the sizes here, and what is measured is the reading and the acting.
    Each comment has its own author unless `email` is given; the newest `reported` have
    an open report."""
    first_thread = next(_ids) * 10_000
    db.session.execute(
        insert(Thread),
        [
            {"id": first_thread + t, "site_id": site.id, "url": f"/post-{first_thread + t}/"}
            for t in range(threads)
        ],
    )
    first = next(_ids) * 100_000
    ids = list(range(first, first + n))
    db.session.execute(
        insert(Comment),
        [
            {
                "id": cid,
                "thread_id": first_thread + i % threads,
                "root_id": cid,
                "guest_name": f"Reader {cid}",
                "guest_email": email or f"reader{cid}@example.com",
                "body": "A comment.",
                "html": "<p>A comment.</p>",
                "status": status,
                "created_at": START + timedelta(minutes=cid - first),
                "report_count": int(i >= n - reported),
                "open_reports": int(i >= n - reported),
            }
            for i, cid in enumerate(ids)
        ],
    )
    if reported:
        db.session.execute(
            insert(CommentReport),
            [
                {"comment_id": cid, "reporter": f"r{cid}", "reason": "spam"}
                for cid in ids[:reported]
            ],
        )
    if status is CommentStatus.APPROVED:
        for t in range(threads):
            db.session.get_one(Thread, first_thread + t).approved_count = sum(
                1 for i in range(n) if i % threads == t
            )
    db.session.commit()
    return ids


@pytest.fixture
def dash(client, site) -> Dashboard:
    make_moderator(site, email="mod@example.com")
    dashboard = Dashboard(client)
    assert dashboard.sign_in("mod@example.com").status_code == 302
    return dashboard


def queue_statements(dash: Dashboard, path: str = "/dashboard/") -> int:
    dash.client.get(path)  # anything a first visit fills in (the session, caches) is filled
    sent = statements_during(lambda: dash.client.get(path))
    return len(sent)


def act_statements(dash: Dashboard, ids: list[int], action: str = "approve") -> int:
    token = dash.token()
    data = {"action": action, "ids": ids, "csrf_token": token}
    sent = statements_during(lambda: dash.client.post("/dashboard/comments/act", data=data))
    return len(sent)


def test_the_queue_page_costs_the_same_statements_for_a_few_comments_or_hundreds(dash, site):
    seed(site, 3, threads=2, reported=1)
    few = queue_statements(dash)
    few_site = queue_statements(dash, f"/dashboard/?status=pending&site={site.id}")
    # A full page of authors, reports and threads, and hundreds more behind it.
    seed(site, 400, threads=60, reported=40)
    assert queue_statements(dash) == few
    assert queue_statements(dash, f"/dashboard/?status=pending&site={site.id}") == few_site
    page = dash.client.get("/dashboard/").text
    assert "Pending (403)" in page and "Reported (41)" in page


def test_a_bulk_action_costs_the_same_statements_for_two_comments_or_hundreds(dash, site):
    two = seed(site, 2, threads=2, reported=1)
    many = seed(site, 300, threads=75, reported=30)
    assert act_statements(dash, many) == act_statements(dash, two)
    db.session.expire_all()
    approved = db.session.scalar(
        select(func.count()).where(
            Comment.id.in_(two + many), Comment.status == CommentStatus.APPROVED
        )
    )
    assert approved == len(two) + len(many)


def test_a_thousand_selected_comments_are_approved_in_one_request(dash, site):
    ids = seed(site, BULK_MAX, threads=40, reported=10)
    seed(site, 5, threads=1)  # left waiting
    resp = dash.act("approve", ids)
    assert resp.status_code == 302
    assert "1000 comment(s) approved." in dash.client.get(resp.headers["Location"]).text
    db.session.expire_all()
    statuses = db.session.execute(
        select(Comment.status, func.count()).where(Comment.id.in_(ids)).group_by(Comment.status)
    ).all()
    assert statuses == [(CommentStatus.APPROVED, BULK_MAX)]
    audited = db.session.execute(
        select(AuditEntry.action, func.count())
        .where(AuditEntry.comment_id.in_(ids))
        .group_by(AuditEntry.action)
        .order_by(AuditEntry.action)
    ).all()
    assert audited == [("approve", BULK_MAX), ("reports-dismissed", 10)]
    real = (
        select(func.count())
        .where(Comment.thread_id == Thread.id, Comment.status == CommentStatus.APPROVED)
        .scalar_subquery()
    )
    assert db.session.scalar(select(func.sum(Thread.approved_count))) == BULK_MAX
    assert not db.session.scalar(select(func.count()).where(Thread.approved_count != real))
    page = dash.client.get("/dashboard/").text
    assert "Pending (5)" in page and "Approved (1,000)" in page and "Reported (0)" in page


def test_more_than_the_maximum_is_refused_plainly_and_nothing_changes(dash, site):
    ids = seed(site, BULK_MAX + 1, threads=10)
    resp = dash.act("approve", ids)
    assert resp.status_code == 302
    message = "Select at most 1,000 comments at a time; 1,001 were selected."
    assert message in dash.client.get(resp.headers["Location"]).text
    answer = dash.client.post(
        "/dashboard/comments/act",
        data={"action": "spam", "ids": ids, "csrf_token": dash.token()},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.json == {
        "error": {"code": "validation_error", "message": message, "field": "ids"}
    }
    db.session.expire_all()
    assert (
        db.session.scalar(select(func.count()).where(Comment.status != CommentStatus.PENDING)) == 0
    )
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0
    assert db.session.scalar(select(func.sum(Thread.approved_count))) == 0


def test_a_tampered_id_in_a_thousand_changes_nothing(dash, site):
    other = Site(name="Not yours", origins=["https://other.example"])
    db.session.add(other)
    db.session.commit()
    ids = seed(site, BULK_MAX - 1, threads=10) + seed(other, 1, threads=1)
    assert dash.act("approve", ids).status_code == 302
    db.session.expire_all()
    assert (
        db.session.scalar(select(func.count()).where(Comment.status != CommentStatus.PENDING)) == 0
    )
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_counts_past_the_cap_show_as_at_least_the_cap(dash, site):
    seed(site, 10_001, threads=20, status=CommentStatus.APPROVED)
    seed(site, 3, threads=1, status=CommentStatus.SPAM)
    page = dash.client.get("/dashboard/").text
    assert "Approved (10,000+)" in page and "Spam (3)" in page and "Pending (0)" in page


def test_an_authors_long_record_shows_as_at_least_the_cap(dash, site):
    seed(site, 101, threads=5, status=CommentStatus.APPROVED, email="regular@example.com")
    seed(site, 100, threads=5, status=CommentStatus.REJECTED, email="regular@example.com")
    seed(site, 1, threads=1, email="regular@example.com")
    page = dash.client.get("/dashboard/").text
    assert "100+ approved · 100 rejected on this site" in page


def test_a_metrics_scrape_reads_the_queue_length_once(client, site):
    seed(site, 50, threads=5)
    client.get("/metrics")
    few = statements_during(lambda: client.get("/metrics"))
    seed(site, 500, threads=50)
    sent = statements_during(lambda: client.get("/metrics"))
    assert len(sent) == len(few)
    assert sum("count(" in statement for statement, _ in sent) == 1
    assert "afterword_moderation_queue_length 550.0" in client.get("/metrics").text


def test_a_bulk_approval_mails_the_followers_of_its_pages_only(dash, site):
    quiet = seed(site, 200, threads=20)
    followed = seed(site, 3, threads=1)
    thread_id = db.session.get_one(Comment, followed[0]).thread_id
    db.session.add(
        Subscription(
            thread_id=thread_id, email="follower@example.com", scope="thread", confirmed_at=START
        )
    )
    db.session.commit()
    assert dash.act("approve", quiet + followed).status_code == 302
    db.session.expire_all()
    mailed = db.session.scalars(select(OutboxMessage.to)).all()
    assert mailed == ["follower@example.com"] * 3
    # Marked as told, so that a second approval (after an Undo) mails no one again.
    assert (
        db.session.scalar(select(func.count()).where(Comment.subscribers_notified.is_(False))) == 0
    )
