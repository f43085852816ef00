"""Readers report comments: a reason each, once per reader, bounded, and at the site's
threshold a published comment waits for a moderator again."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.domain.states import CommentStatus
from app.extensions import db
from app.models import AuditEntry, Comment, CommentReport, Site
from app.services import moderation
from app.services.moderation.queue import report_reasons
from tests.factories import (
    HOST_ORIGIN,
    bearer,
    browser_id,
    make_comment,
    make_moderator,
    make_reader,
    make_site,
)
from tests.helpers import selects_during

HOME = "203.0.113.7"


def send_report(
    client,
    site,
    comment_id: int,
    *,
    reason: object = "spam",
    note: object = None,
    browser_id: str | None = "b" * 22,
    addr: str = HOME,
    headers: dict[str, str] | None = None,
    origin: str = HOST_ORIGIN,
):
    body: dict[str, object] = {"reason": reason}
    if note is not None:
        body["note"] = note
    if browser_id is not None:
        body["browser"] = browser_id
    return client.post(
        f"/api/v1/sites/{site.id}/comments/{comment_id}/report",
        json=body,
        headers={"Origin": origin, **(headers or {})},
        environ_base={"REMOTE_ADDR": addr},
    )


def stored(comment_id: int) -> Comment:
    db.session.expire_all()
    return db.session.get_one(Comment, comment_id)


def test_a_report_is_stored_with_its_reason_and_note_and_counted(client, site):
    comment = make_comment(site)
    resp = send_report(client, site, comment.id, reason="abuse", note="  Calls   names. ")
    assert resp.status_code == 201 and resp.json == {"reported": True}
    row = db.session.scalars(select(CommentReport)).one()
    assert (row.reason, row.note) == ("abuse", "Calls names.")
    assert row.reporter != "b" * 22  # a keyed hash, never the browser's own id
    assert stored(comment.id).report_count == 1


def test_one_report_per_reader_and_the_same_answer_again(client, site):
    comment = make_comment(site)
    assert send_report(client, site, comment.id).status_code == 201
    again = send_report(client, site, comment.id, reason="other")
    assert again.status_code == 201 and again.json == {"reported": True}
    assert stored(comment.id).report_count == 1
    assert db.session.scalar(select(CommentReport.reason)) == "spam"  # the first one stands


def test_a_signed_in_reader_reports_once_from_any_browser(client, site):
    ada = make_reader()
    comment = make_comment(site)
    send_report(client, site, comment.id, browser_id=None, headers=bearer(ada, site))
    send_report(
        client, site, comment.id, browser_id=browser_id(3), addr="198.51.100.4",
        headers=bearer(ada, site),
    )  # fmt: skip
    assert stored(comment.id).report_count == 1


def test_made_up_browser_ids_from_one_address_count_once(client, site):
    """The attack: a script inventing browser ids to take a comment down on its own."""
    site.report_threshold = 2
    db.session.commit()
    comment = make_comment(site)
    assert send_report(client, site, comment.id, browser_id=browser_id(1)).status_code == 201
    refused = send_report(client, site, comment.id, browser_id=browser_id(2))
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "report_limit"
    assert stored(comment.id).report_count == 1
    assert stored(comment.id).status is CommentStatus.APPROVED


def test_at_the_threshold_a_published_comment_waits_for_a_moderator(client, site):
    site.report_threshold = 2
    db.session.commit()
    comment = make_comment(site)
    send_report(client, site, comment.id, addr="198.51.100.1")
    assert stored(comment.id).status is CommentStatus.APPROVED
    send_report(client, site, comment.id, addr="198.51.100.2", browser_id=browser_id(2))
    assert stored(comment.id).status is CommentStatus.PENDING
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.comment_id == comment.id)).all()
    assert [e.action for e in entry][-1] == "reported"
    assert entry[-1].moderator_id is None and entry[-1].after == "pending"
    # Readers no longer see it, so nobody can report it further.
    gone = send_report(client, site, comment.id, addr="198.51.100.3", browser_id=browser_id(3))
    assert gone.status_code == 404


def test_a_moderators_approval_after_a_take_down_stands(client, site):
    site.report_threshold = 1
    db.session.commit()
    comment = make_comment(site)
    send_report(client, site, comment.id, addr="198.51.100.1")
    assert stored(comment.id).status is CommentStatus.PENDING
    moderation.act(make_moderator(site), [comment.id], "approve")
    send_report(client, site, comment.id, addr="198.51.100.2", browser_id=browser_id(2))
    assert stored(comment.id).status is CommentStatus.APPROVED
    assert stored(comment.id).report_count == 2  # still counted, for the moderators


def test_no_threshold_never_takes_a_comment_down(client, site):
    site.report_threshold = None
    db.session.commit()
    comment = make_comment(site)
    for n in range(4):
        send_report(client, site, comment.id, addr=f"198.51.100.{n}", browser_id=browser_id(n))
    assert stored(comment.id).status is CommentStatus.APPROVED
    assert stored(comment.id).report_count == 4


def test_a_reader_cannot_report_their_own_comment(client, site):
    ada = make_reader()
    mine = make_comment(site, user=ada)
    resp = send_report(client, site, mine.id, browser_id=None, headers=bearer(ada, site))
    assert resp.status_code == 403 and resp.json["error"]["code"] == "own_comment"


@pytest.mark.parametrize("status", [CommentStatus.PENDING, CommentStatus.SPAM])
def test_what_readers_cannot_see_cannot_be_reported(client, site, status):
    hidden = make_comment(site, status=status)
    resp = send_report(client, site, hidden.id)
    assert resp.status_code == 404 and resp.json["error"]["code"] == "comment_not_found"


def test_another_sites_comment_is_not_found_here(client, site):
    elsewhere = make_comment(make_site())
    assert send_report(client, site, elsewhere.id).status_code == 404
    assert stored(elsewhere.id).report_count == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reason": "boring", "browser": "b" * 22}, "reason"),
        ({"reason": ["spam"], "browser": "b" * 22}, "reason"),
        ({"browser": "b" * 22}, "reason"),
        ({"reason": "other", "note": "x" * 501, "browser": "b" * 22}, "note"),
        ({"reason": "other", "note": 5, "browser": "b" * 22}, "note"),
        ({"reason": "other", "note": "a\u0000b", "browser": "b" * 22}, "note"),
        ({"reason": "spam", "browser": "short"}, "browser"),
        ({"reason": "spam"}, "browser"),
    ],
)
def test_bad_reports_are_refused_with_the_field_and_nothing_is_stored(client, site, body, field):
    comment = make_comment(site)
    resp = client.post(
        f"/api/v1/sites/{site.id}/comments/{comment.id}/report",
        json=body,
        headers={"Origin": HOST_ORIGIN},
    )
    assert resp.status_code == 400
    assert resp.json["error"]["field"] == field and resp.json["error"]["message"]
    assert db.session.scalar(select(func.count()).select_from(CommentReport)) == 0


def test_a_page_elsewhere_cannot_report(client, site):
    comment = make_comment(site)
    resp = send_report(client, site, comment.id, origin="https://evil.example")
    assert resp.status_code == 403
    assert stored(comment.id).report_count == 0


def test_reports_are_rate_limited(app, client, site):
    app.config["RATELIMIT_REPORT"] = "2 per hour"
    limited = [make_comment(site) for _ in range(3)]
    codes = [
        send_report(client, site, c.id, browser_id=browser_id(n)).status_code
        for n, c in enumerate(limited)
    ]
    assert codes[-1] == 429


def test_the_queue_learns_each_comments_reasons_in_one_query(client, site):
    a, b = make_comment(site), make_comment(site)
    send_report(client, site, a.id, reason="spam", addr="198.51.100.1")
    send_report(client, site, a.id, reason="spam", addr="198.51.100.2", browser_id=browser_id(2))
    send_report(client, site, a.id, reason="abuse", addr="198.51.100.3", browser_id=browser_id(3))
    ids = [a.id, b.id]  # read first: after a commit, reading an id is a query of its own
    found: list[dict] = []
    assert selects_during(lambda: found.append(report_reasons(ids))) == 1
    assert found[0] == {ids[0]: {"spam": 2, "abuse": 1}}


def test_a_deleted_account_takes_its_reports_and_notes_with_it(client, site):
    from app.services import privacy

    ada = make_reader()
    comment = make_comment(site)
    send_report(
        client, site, comment.id, reason="other", note="Ada's words.", browser_id=None,
        headers=bearer(ada, site),
    )  # fmt: skip
    privacy.erase_user(ada.id)
    assert db.session.scalar(select(func.count()).select_from(CommentReport)) == 0
    assert stored(comment.id).report_count == 1


def test_flask_prune_drops_a_reports_address_after_its_retention(client, site, clock):
    from datetime import timedelta

    from app.services import retention

    comment = make_comment(site)
    send_report(client, site, comment.id)
    clock.advance(timedelta(days=31).total_seconds())
    assert retention.prune(address_days=30).address_hashes >= 1
    assert db.session.scalar(select(CommentReport.address_hash)) is None


# --- the moderators' side ------------------------------------------------------------------


def test_the_queue_shows_the_latest_notes_escaped(client, site):
    from tests.helpers import Dashboard

    site.report_threshold = None  # all five stay reportable
    db.session.commit()
    loud = make_comment(site, body="Noted one.")
    for i in range(5):
        assert (
            send_report(
                client,
                site,
                loud.id,
                reason="other",
                note=f"<b>note {i}</b>",
                addr=f"198.51.100.{i + 1}",
                browser_id=browser_id(i + 10),
            ).status_code
            == 201
        )
    send_report(client, site, loud.id, addr="198.51.100.9", browser_id=browser_id(30))  # none
    Dashboard(client).sign_in(make_moderator(site).email)
    page = client.get("/dashboard/?status=reported").get_data(as_text=True)
    assert "<b>note" not in page
    shown = [f"&lt;b&gt;note {i}&lt;/b&gt;" in page for i in range(5)]
    assert shown == [False, False, True, True, True]  # the latest three


def test_the_reported_filter_lists_reported_comments_with_their_reasons(client, site):
    from tests.helpers import Dashboard

    make_comment(site, body="Quiet one.")  # never reported: not listed
    loud = make_comment(site, body="Loud one.")
    send_report(client, site, loud.id, reason="spam", addr="198.51.100.1")
    send_report(
        client, site, loud.id, reason="abuse", addr="198.51.100.2", browser_id=browser_id(2)
    )
    desk = Dashboard(client)
    desk.sign_in(make_moderator(site).email)
    page = client.get("/dashboard/?status=reported").get_data(as_text=True)
    assert "Loud one." in page and "Quiet one." not in page
    assert "Reported 2 times: Abuse 1, Spam 1" in page
    assert "Reported (1)" in page and "Pending (0)" in page

    # Approving it keeps it up and settles the reports so far: off the list, counts kept.
    desk.act("approve", [loud.id])
    assert stored(loud.id).status is CommentStatus.APPROVED and stored(loud.id).open_reports == 0
    assert "Loud one." not in client.get("/dashboard/?status=reported").get_data(as_text=True)
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.comment_id == loud.id)
    ).all()
    assert "reports-dismissed" in actions


def test_a_comment_taken_down_by_reports_waits_in_both_lists(client, site):
    site.report_threshold = 1
    db.session.commit()
    comment = make_comment(site, body="Taken down.")
    send_report(client, site, comment.id)
    moderator = make_moderator(site)
    counts = moderation.queue_counts(moderator)
    assert counts["reported"] == 1 and counts["pending"] == 1
    assert [c.id for c in moderation.queue(moderator, status="reported").comments] == [comment.id]
    moderation.act(moderator, [comment.id], "spam")
    assert moderation.queue_counts(moderator)["reported"] == 0


def test_moderators_hear_when_reports_take_a_comment_down(client, site):
    from app.models import OutboxMessage

    site.report_threshold = 2
    db.session.commit()
    moderator = make_moderator(site)
    comment = make_comment(site, body="Rude words here.")
    send_report(client, site, comment.id, reason="abuse", addr="198.51.100.1")
    db.session.expire_all()
    before = db.session.scalars(select(OutboxMessage).where(OutboxMessage.to == moderator.email))
    assert not [m for m in before if "reported" in m.subject]  # one report: no mail yet
    send_report(
        client, site, comment.id, reason="spam", addr="198.51.100.2", browser_id=browser_id(2)
    )
    db.session.expire_all()
    mails = db.session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.to == moderator.email, OutboxMessage.subject.contains("reported")
        )
    ).all()
    assert len(mails) == 1
    assert mails[0].subject.startswith(f"[{site.name}] Readers reported a comment on")
    assert "Readers reported it 2 times (Abuse 1, Spam 1)" in mails[0].body_text
    assert "Readers reported it 2 times (Abuse 1, Spam 1)" in (mails[0].body_html or "")


def test_the_threshold_is_a_site_setting(client, site):
    from tests.helpers import Dashboard

    desk = Dashboard(client)
    desk.sign_in(make_moderator(site).email)
    page = f"/dashboard/sites/{site.id}"
    assert 'name="report_threshold" type="number" value="3"' in client.get(page).text
    form = {"name": site.name, "origins": "\n".join(site.origins), "moderation": "all"}
    for sent, kept in (("5", 5), ("", None), ("0", None)):
        client.post(page, data={**form, "report_threshold": sent, "csrf_token": desk.token(page)})
        db.session.expire_all()
        assert db.session.get_one(Site, site.id).report_threshold == kept, sent
