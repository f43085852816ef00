"""The learning spam filter's memory: each site's token counts, scored against on posting and
taught by moderators' decisions (domain.learning holds the rules).

A decision teaches in the transaction that makes it, and every decision of one transaction
(a bulk action on a thousand comments) is taught at once, just before it commits: one
upsert per distinct token rather than one per token of each comment.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from flask import current_app
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from app.database import dialect_insert
from app.domain import learning
from app.domain.learning import DOCS, Assessment, Counts
from app.domain.states import CommentStatus
from app.extensions import db
from app.models import Comment, LearnedToken, Site
from app.services import cache

_LESSONS = "afterword_filter_lessons"  # Session.info: decisions not yet taught
_ROWS_PER_UPSERT = 500  # SQLite allows 32,766 parameters a statement; a row takes four


def assess(
    site: Site, *, body: str, html: str, website: str | None, signed_in: bool
) -> Assessment | None:
    """The filter's score for a new comment, or None while it is off or has not seen enough
    of the site's decisions. One indexed read of the comment's tokens."""
    if site.filter_mode == "off":
        return None
    tokens = learning.features(body=body, html=html, website=website, signed_in=signed_in)
    counts = counts_of(site.id, [*tokens, DOCS])
    docs = counts.pop(DOCS, Counts())
    if not learning.ready(docs, current_app.config["FILTER_MIN_DECISIONS"]):
        return None
    return learning.assess(tokens, counts, docs)


def counts_of(site_id: str, tokens: list[str]) -> dict[str, Counts]:
    rows = db.session.execute(
        select(LearnedToken.token, LearnedToken.spam, LearnedToken.ham).where(
            LearnedToken.site_id == site_id, LearnedToken.token.in_(tokens)
        )
    )
    return {token: Counts(max(spam, 0), max(ham, 0)) for token, spam, ham in rows}


def decisions_seen(site_id: str) -> Counts:
    return counts_of(site_id, [DOCS]).get(DOCS, Counts())


def ready(site_id: str) -> bool:
    """Whether the site's filter has seen enough decisions to score a comment."""
    return learning.ready(decisions_seen(site_id), current_app.config["FILTER_MIN_DECISIONS"])


def note_decisions(moves: list[tuple[Comment, str]], status: CommentStatus) -> None:
    """Moderators moved these comments (each with its site's id) to `status`: remember what
    that teaches, taught before the commit. Their lessons are marked in one UPDATE, however
    many comments a bulk action moved."""
    lesson = learning.decision(status.value)
    if lesson == "keep":
        return
    lessons = db.session.info.setdefault(_LESSONS, [])
    changed = []
    for comment, site_id in moves:
        if comment.trained_as == lesson:
            continue
        lessons.append((site_id, _features_of(comment), comment.trained_as, lesson))
        changed.append(comment.id)
    if changed:
        db.session.execute(
            update(Comment).where(Comment.id.in_(changed)).values(trained_as=lesson),
            execution_options={"synchronize_session": "evaluate"},
        )


def _features_of(comment: Comment) -> list[str]:
    return learning.features(
        body=comment.body,
        html=comment.html,
        website=comment.guest_website,
        signed_in=comment.user_id is not None,
    )


@event.listens_for(Session, "before_commit")
def _teach(session: Session) -> None:
    lessons = session.info.pop(_LESSONS, None)
    if not lessons:
        return
    for site_id in {lesson[0] for lesson in lessons}:
        cache.touch_posting(site_id)  # the filter may now be ready to judge its comments
    deltas: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for site_id, tokens, before, after in lessons:
        for token in (*tokens, DOCS):
            delta = deltas[(site_id, token)]
            if before is not None:
                delta[before == "ham"] -= 1
            if after is not None:
                delta[after == "ham"] += 1
    rows = [
        {"site_id": site_id, "token": token, "spam": spam, "ham": ham}
        for (site_id, token), (spam, ham) in deltas.items()
        if spam or ham
    ]
    for chunk in _chunks(rows, _ROWS_PER_UPSERT):
        insert = dialect_insert(session)(LearnedToken).values(chunk)
        session.execute(
            insert.on_conflict_do_update(
                index_elements=["site_id", "token"],
                set_={
                    "spam": LearnedToken.spam + insert.excluded.spam,
                    "ham": LearnedToken.ham + insert.excluded.ham,
                },
            )
        )


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_LESSONS, None)  # what was rolled back was never decided


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
