"""What every new comment on a site is checked against and that seldom changes: the names
its moderators go by (a guest may not take one), whether it bans anyone, whether it has a
webhook, whether its learning filter has seen enough decisions to judge. A post reads them
from the cache, one entry per site, instead of with four queries.

The entry is retired as pages are: a flush that adds, changes or deletes a site's ban or
webhook marks the site's posting generation (`cache.touch_posting`), and one that touches a
moderator or their linked accounts marks the moderators' generation
(app/services/reader_pages.py), both replaced at commit; so does a moderator's decision,
which teaches the filter (app/services/learning.py). With Redis every process sees that at
once. Without it another worker keeps its entry up to CACHE_DEFAULT_TIMEOUT (THREAD_MAX_AGE,
seconds), the same delay its pages have: a new ban then takes a few seconds to reach the
other workers. The entry says only whether to look: when a site has bans, a webhook or a
filter ready to judge, each post still reads which bans match, the webhook itself and the
filter's counts, so an expired ban, a changed URL or a stale count is never acted on from
the cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import event, exists, select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Ban, SiteWebhook
from app.services import cache, learning, moderators


@dataclass(frozen=True)
class PostingFacts:
    moderator_names: tuple[str, ...]
    has_bans: bool
    has_webhook: bool
    filter_ready: bool


def of_site(site_id: str) -> PostingFacts:
    facts: PostingFacts = cache.cached_posting(site_id, lambda: _read(site_id))
    return facts


def _read(site_id: str) -> PostingFacts:
    return PostingFacts(
        moderator_names=tuple(moderators.names_on_site(site_id)),
        has_bans=bool(db.session.scalar(select(exists().where(Ban.site_id == site_id)))),
        has_webhook=db.session.get(SiteWebhook, site_id) is not None,
        filter_ready=learning.ready(site_id),
    )


def init_app(_app: Flask) -> None:
    """Watch every session's flushes: once per process, however many apps it makes."""
    if not event.contains(Session, "before_flush", _mark_sites):
        event.listen(Session, "before_flush", _mark_sites)


def _mark_sites(session: Session, _context: Any, _instances: Any) -> None:
    for row in (*session.new, *session.dirty, *session.deleted):
        if isinstance(row, Ban | SiteWebhook) and row.site_id is not None:
            cache.touch_posting(row.site_id)
