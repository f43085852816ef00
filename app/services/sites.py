"""Sites: who may embed Afterword, and how its comments are moderated."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import delete, event, func, inspect, select
from sqlalchemy.orm import Session

from app.database import attach_as_loaded, writes
from app.domain import learning, policy, words
from app.domain.errors import Forbidden, SiteNotFound, ValidationError
from app.domain.json_input import is_storable_text
from app.domain.policy import clean_origins, normalize_origin
from app.domain.roles import Role, SiteAction
from app.domain.states import ModerationMode
from app.extensions import db
from app.models import Comment, Moderator, RefusedOrigin, Site, Thread, moderator_sites
from app.models.types import utcnow
from app.services import cache, links, sso
from app.services.moderation import can_add_sites, record_action, require_owner


@writes
def create_site(
    *, name: str, origins: Iterable[str], moderation: ModerationMode = ModerationMode.ALL
) -> Site:
    """A new site allowed on exactly the given origins (no wildcards, no subdomains)."""
    name = _clean_name(name)
    site = Site(name=name, origins=clean_origins(origins), moderation=moderation)
    db.session.add(site)
    return site


@writes
def add_site(
    moderator: Moderator,
    *,
    name: str,
    origins: Iterable[str],
    moderation: ModerationMode = ModerationMode.ALL,
) -> Site:
    """An owner adds a site from the dashboard, and owns it from then on."""
    if not can_add_sites(moderator):
        raise Forbidden("Only an owner of a site can add one.")
    site = create_site(name=name, origins=origins, moderation=moderation)
    db.session.flush()  # the site's id, for the grant and the log
    if not moderator.all_sites:  # who moderates every site has this one already
        db.session.execute(
            moderator_sites.insert().values(
                moderator_id=moderator.id, site_id=site.id, role=Role.OWNER.value
            )
        )
    record_action(site.id, None, moderator, "create", detail=f"site {site.name}")
    return site


def embed_snippet(site_id: str) -> str:
    """What a site owner pastes where the comments should appear."""
    script = links.public_url("embed.embed_script")
    return (
        f'<div id="afterword"></div>\n<script src="{script}" data-site="{site_id}" async></script>'
    )


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise ValidationError("A site name holds 1 to 100 characters.", field="name")
    return name


@writes
def ensure_site(*, name: str, origin: str) -> Site:
    """The site with this name, created with `origin` if missing; `origin` is added if absent."""
    if db.session.get_bind().dialect.name == "postgresql":
        # Names are not unique, so there is no row to lock before the first one exists: the
        # lock is on the name, for this transaction (SQLite's write lock already serializes).
        db.session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"site:{name}"))))
    site = db.session.scalar(
        select(Site).where(Site.name == name).order_by(Site.created_at).with_for_update()
    )
    if site is None:
        return create_site(name=name, origins=[origin])
    origin = normalize_origin(origin)
    if origin not in site.origins:
        site.origins = [*site.origins, origin]
        cache.touch_site(site.id)
    return site


def get_site(site_id: str, *, for_update: bool = False) -> Site:
    """The site; `for_update` locks its row until the transaction ends (PostgreSQL), for a
    change that reads its origins first, so two such changes cannot lose one another."""
    # A NUL in the id (`%00` in the path) would reach PostgreSQL, which refuses it outright.
    known = isinstance(site_id, str) and is_storable_text(site_id)
    site = None
    if known:
        # populate_existing: a row already in the session is read (and locked) again.
        site = db.session.get(
            Site, site_id, with_for_update=for_update, populate_existing=for_update
        )
    if site is None:
        raise SiteNotFound("There is no site with that id.")
    return site


@dataclass(frozen=True)
class SiteView:
    """What reads need of a site, kept in the cache so a cached page costs no query."""

    id: str
    name: str
    origins: tuple[str, ...]
    moderation: ModerationMode
    providers: tuple[str, ...] | None
    # With a default, views cached by an older release still read (as "never closes").
    close_after_days: int | None = None
    # The fingerprint of the single sign-on secret (app/services/sso.py); None: off.
    sso_key: str | None = None

    def allows_origin(self, origin: str | None) -> bool:
        return origin is not None and origin in self.origins


def site_view(site_id: str) -> SiteView:
    """The site for a read; from the cache while the site's settings have not changed."""
    if not isinstance(site_id, str) or len(site_id) > 32:
        raise SiteNotFound("There is no site with that id.")

    def load() -> SiteView:
        site = get_site(site_id)
        return SiteView(
            id=site.id,
            name=site.name,
            origins=tuple(site.origins),
            moderation=site.moderation,
            providers=tuple(site.providers) if site.providers is not None else None,
            close_after_days=site.close_after_days,
            sso_key=sso.session_key(site.sso_secret),
        )

    view: SiteView = cache.cached_site(site_id, load)
    return view


_COLUMNS = tuple(attr.key for attr in inspect(Site).column_attrs)


def cached_site_row(site_id: str) -> Site:
    """The site's row for a write that reads its settings and changes none of them (a new
    comment, a like): from the cache while the row has not changed, and attached to the
    session as loaded, so that no query reads it. Every column is kept, the single sign-on
    secret too: whoever can write to the cache could as well rewrite the pages it serves.

    A change of the row, in any process, renews it (`init_app`); without Redis another
    worker keeps its copy up to CACHE_DEFAULT_TIMEOUT, as it keeps the site's pages.
    """
    if not isinstance(site_id, str) or len(site_id) > 32:
        raise SiteNotFound("There is no site with that id.")
    loaded = db.session.identity_map.get(db.session.identity_key(Site, site_id))
    if loaded is not None:
        return loaded  # type: ignore[no-any-return]  # the identity map holds Sites by this key

    def load() -> dict[str, Any]:
        site = get_site(site_id)
        return {key: getattr(site, key) for key in _COLUMNS}

    columns: dict[str, Any] = cache.cached_site_row(site_id, load)
    # Copies of the lists: the in-process cache hands every request the same dict.
    return attach_as_loaded(
        Site, {k: list(v) if isinstance(v, list) else v for k, v in columns.items()}
    )


def init_app(_app: Flask) -> None:
    """Watch every session's flushes: once per process, however many apps it makes."""
    if not event.contains(Session, "before_flush", _mark_changed_sites):
        event.listen(Session, "before_flush", _mark_changed_sites)


def _mark_changed_sites(session: Session, _context: Any, _instances: Any) -> None:
    """A site's row changed or went: its cached views and pages are stale, whichever service
    changed it (the word lists and the filter's mode are in no view but the row)."""
    for row in (*session.dirty, *session.deleted):
        if isinstance(row, Site) and (row in session.deleted or session.is_modified(row)):
            cache.touch_site(row.id)


def list_sites() -> list[Site]:
    return list(db.session.scalars(select(Site).order_by(Site.created_at, Site.name)))


class Unchanged(enum.Enum):
    """A setting the caller leaves as it is (None has a meaning of its own: never)."""

    UNCHANGED = "unchanged"


UNCHANGED = Unchanged.UNCHANGED


@writes
def update_settings(
    moderator: Moderator,
    site_id: str,
    *,
    origins: Sequence[str],
    moderation: ModerationMode,
    close_after_days: int | None,
    providers: list[str] | None,
    name: str | None = None,
    report_threshold: int | Unchanged | None = UNCHANGED,
    trust_after: int | Unchanged = UNCHANGED,
) -> Site:
    """A moderator changes a site's name, origins, moderation mode, closing, providers and the
    number of readers' reports that takes a published comment down (None: never)."""
    require_owner(moderator, site_id, SiteAction.SETTINGS)
    site = db.session.get_one(Site, site_id)
    cleaned = policy.clean_origins(origins)
    if close_after_days is not None and not 1 <= close_after_days <= 36500:
        raise ValidationError("Close threads after 1 or more days, or never.", field="close")
    renamed = _clean_name(name) if name is not None else site.name
    if renamed != site.name:
        record_action(site.id, None, moderator, "settings", detail=f"renamed to {renamed}")
        site.name = renamed
    site.origins = cleaned
    site.moderation = moderation
    site.close_after_days = close_after_days
    site.providers = providers
    if not isinstance(report_threshold, Unchanged):
        if report_threshold is not None and not 1 <= report_threshold <= 1000:
            raise ValidationError(
                "Take a comment down after 1 to 1,000 reports, or never.", field="reports"
            )
        site.report_threshold = report_threshold
    if not isinstance(trust_after, Unchanged):
        if not 1 <= trust_after <= 100:
            raise ValidationError(
                "Trust readers after 1 to 100 approved comments.", field="trust_after"
            )
        if trust_after != site.trust_after:
            record_action(site.id, None, moderator, "settings", detail=f"trust_after={trust_after}")
        site.trust_after = trust_after
    cache.touch_site(site.id)
    record_action(site.id, None, moderator, "settings", detail=f"moderation={moderation.value}")
    return site


@writes
def update_word_lists(moderator: Moderator, site_id: str, *, banned: str, held: str) -> Site:
    """A site's banned and held words, from the lines of its two fields. Comments already
    written keep their status: a list decides only what is written from now on."""
    require_owner(moderator, site_id, SiteAction.SETTINGS)
    site = db.session.get_one(Site, site_id)
    new_banned = words.parse_list(banned, label="Banned words", field="banned_words")
    new_held = words.parse_list(held, label="Held words", field="held_words")
    for label, before, after in (
        ("banned words", site.banned_words, new_banned),
        ("held words", site.held_words, new_held),
    ):
        if before != after:
            record_action(
                site.id, None, moderator, "settings", detail=_list_change(label, before, after)
            )
    site.banned_words = new_banned
    site.held_words = new_held
    return site


@writes
def set_filter_mode(moderator: Moderator, site_id: str, mode: str) -> Site:
    """What the learning filter may do with comments it finds like rejected ones."""
    require_owner(moderator, site_id, SiteAction.SETTINGS)
    if mode not in learning.MODES:
        raise ValidationError("Choose off, hold or catch.", field="filter_mode")
    site = db.session.get_one(Site, site_id)
    if site.filter_mode != mode:
        record_action(site.id, None, moderator, "settings", detail=f"filter={mode}")
        site.filter_mode = mode
    return site


def _list_change(label: str, before: Sequence[str], after: Sequence[str]) -> str:
    """What the audit log says of a list's change: which lines came and went."""
    added = [w for w in after if w not in before]
    removed = [w for w in before if w not in after]
    parts = [f"+{', '.join(added)}" if added else "", f"-{', '.join(removed)}" if removed else ""]
    return f"{label}: {' '.join(p for p in parts if p)}"[:300]


# A site's dashboard lists this many refused origins, the most recent first.
REFUSED_ORIGINS_KEPT = 10
# One refusal per origin and site is written in this window; the rest only answer 403.
REFUSED_ORIGIN_WINDOW = 600


def note_refused_origin(site_id: str, origin: str | None) -> None:
    """Remember that a page on `origin` asked for this site's comments and was refused.

    Anyone can send any Origin header, so this is bounded three ways: only real http(s)
    origins count, each is written at most once per window (the cache says whether it was),
    and a site keeps only its most recent few.
    """
    if not origin or len(origin) > 200:
        return
    try:
        origin = normalize_origin(origin)
    except ValueError:
        return
    if not cache.store().add(
        f"refused-origin:{site_id}:{origin}", 1, timeout=REFUSED_ORIGIN_WINDOW
    ):
        return
    _record_refused(site_id, origin)


@writes
def _record_refused(site_id: str, origin: str) -> None:
    seen = db.session.get(RefusedOrigin, (site_id, origin))
    if seen is None:
        db.session.add(RefusedOrigin(site_id=site_id, origin=origin))
    else:
        seen.requests += 1
        seen.last_seen = utcnow()
    db.session.flush()
    keep = (
        select(RefusedOrigin.origin)
        .where(RefusedOrigin.site_id == site_id)
        .order_by(RefusedOrigin.last_seen.desc(), RefusedOrigin.origin)
        .limit(REFUSED_ORIGINS_KEPT)
    )
    db.session.execute(
        delete(RefusedOrigin).where(
            RefusedOrigin.site_id == site_id, RefusedOrigin.origin.not_in(keep)
        )
    )


def refused_origins(moderator: Moderator, site_id: str) -> list[RefusedOrigin]:
    """Origins refused recently that the site does not allow (yet), most recent first."""
    require_owner(moderator, site_id, SiteAction.SETTINGS)
    site = db.session.get_one(Site, site_id)
    rows = db.session.scalars(
        select(RefusedOrigin)
        .where(RefusedOrigin.site_id == site_id)
        .order_by(RefusedOrigin.last_seen.desc(), RefusedOrigin.origin)
    )
    return [row for row in rows if row.origin not in site.origins]


@writes
def add_origin(moderator: Moderator, site_id: str, origin: str) -> Site:
    """Allow one more origin on a site (the dashboard's button beside a refused one)."""
    require_owner(moderator, site_id, SiteAction.SETTINGS)
    site = get_site(site_id, for_update=True)
    [origin] = clean_origins([origin])  # its refusal says what to type instead
    if origin not in site.origins:
        site.origins = [*site.origins, origin]
        cache.touch_site(site.id)
        record_action(site.id, None, moderator, "settings", detail=f"added origin {origin}")
    db.session.execute(
        delete(RefusedOrigin).where(
            RefusedOrigin.site_id == site_id, RefusedOrigin.origin == origin
        )
    )
    return site


@writes
def change_site(
    site_id: str,
    *,
    name: str | None = None,
    add_origins: Iterable[str] = (),
    remove_origins: Iterable[str] = (),
    moderation: ModerationMode | None = None,
) -> Site:
    """The operator's edit (`flask site update`): rename, allow or drop origins, moderate."""
    site = get_site(site_id, for_update=True)
    if name is not None:
        site.name = _clean_name(name)
    remove = tuple(remove_origins)
    dropped = set(clean_origins(remove)) if remove else set()
    site.origins = clean_origins([*(o for o in site.origins if o not in dropped), *add_origins])
    if moderation is not None:
        site.moderation = moderation
    cache.touch_site(site.id)
    return site


@writes
def delete_site(site_id: str) -> int:
    """Delete a site with its threads, comments and subscriptions; returns how many comments."""
    site = get_site(site_id)
    count = (
        db.session.scalar(
            select(func.count(Comment.id)).join(Thread).where(Thread.site_id == site.id)
        )
        or 0
    )
    cache.touch_site(site.id)
    db.session.execute(delete(Site).where(Site.id == site.id))
    return count
