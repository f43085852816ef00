"""A few approved comments under the demo post, so a newcomer finds a living thread."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from app.domain import policy
from app.extensions import db
from app.models import Comment, Site, Thread
from app.models.types import utcnow
from app.services.importing import ImportedComment, ImportedThread, import_threads

# (key, parent key, name, Markdown text, hours ago)
_COMMENTS = (
    (
        "demo:1",
        None,
        "Marta",
        "I always thought feeling sore meant the pressure had been too strong. Good to know "
        "it is normal for a day. The easy walk really does help, it did for me last week.",
        50,
    ),
    (
        "demo:2",
        "demo:1",
        "Jonas",
        "Same here! A *warm* shower before bed made all the difference.",
        30,
    ),
    (
        "demo:3",
        None,
        "Priya",
        "Thank you for explaining it so kindly. Could you write about a few gentle stretches "
        "to do at home between appointments?",
        6,
    ),
)


def seed_demo_thread(site: Site, url: str, title: str) -> int:
    """Add the demo comments to the thread at `url` if it has none; how many were added."""
    key = policy.thread_key(url, site.origins)
    has_comments = db.session.scalar(
        select(func.count(Comment.id))
        .join(Thread, Thread.id == Comment.thread_id)
        .where(Thread.site_id == site.id, Thread.url == key)
    )
    if has_comments:
        return 0
    now = utcnow()
    thread = ImportedThread(
        url=url,
        title=title,
        comments=[
            ImportedComment(
                key=comment_key,
                parent_key=parent_key,
                name=name,
                body=body,
                created_at=now - timedelta(hours=hours),
            )
            for comment_key, parent_key, name, body, hours in _COMMENTS
        ],
    )
    return import_threads(site, [thread]).comments_added
