"""Models to the JSON the widget reads (see docs/api.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app, g

from app.auth.marks import mark_out
from app.auth.providers import enabled_providers, provider_spec
from app.domain import policy
from app.domain.authors import Author
from app.domain.states import CommentStatus
from app.models import Comment, LoginFlow, Site
from app.models.types import utcnow
from app.services import links, reply_mail
from app.services.hashing import keyed_hash
from app.services.likes import LikeState
from app.services.logins import MAILED_PROVIDERS
from app.services.sso import PROVIDER as SSO_PROVIDER
from app.services.threads import CommentNode, ThreadPage
from app.services.viewers import Viewer


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def avatar_seed(author: Author, site_id: str) -> str:
    """A stable value per author and site for generated avatars. Keyed with the secret, so it
    cannot be worked out from an email address, and per site, so that posting on another site
    with a guessed address never shows the same seed as a comment here."""
    return keyed_hash("avatar", f"{site_id}\x1f{author.key}")[:16]


def author_out(comment: Comment, site_id: str) -> dict[str, Any]:
    # Pages of comments come with their users loaded.
    author = Author.of_comment(comment, comment.user)
    return {
        "name": author.name,
        "website": author.website,
        "avatar_url": author.avatar_url,
        "avatar_seed": avatar_seed(author, site_id),
        "provider": author.provider,
        "moderator": author.is_site,
        # By an address proven its writer's: a sign-in by email, or a guest's comment whose
        # owner proved the address theirs since (app/services/verified_emails.py).
        "verified": comment.email_verified or comment.provider == "email",
    }


def comment_out(
    comment: Comment,
    viewer: Viewer,
    site_id: str,
    *,
    visible: bool = True,
    replies: list | None = None,
    liked: bool = False,
) -> dict[str, Any]:
    """A comment as the widget shows it; `liked` only for a signed-in reader's own likes
    (a guest's page is shared by every guest, their widget remembers theirs)."""
    if not visible:
        return {
            "id": comment.id,
            "parent_id": comment.parent_id,
            "status": "deleted",
            "author": None,
            "html": "",
            "created_at": iso(comment.created_at),
            "edited_at": None,
            "mine": False,
            "editable_until": None,
            "likes": 0,
            "replies": replies or [],
        }
    mine = viewer.owns(comment)
    editable_until = None
    shown_as_published = mine and comment.shadowed and comment.status is CommentStatus.SPAM
    if mine and (
        comment.status in (CommentStatus.PENDING, CommentStatus.APPROVED) or shown_as_published
    ):
        until = comment.created_at + timedelta(seconds=current_app.config["COMMENT_EDIT_SECONDS"])
        editable_until = iso(until) if until > utcnow() else None
    status = comment.status.value
    if shown_as_published:
        status = "approved"  # a shadow ban: to its author, nothing happened
    elif mine and comment.status in (CommentStatus.SPAM, CommentStatus.REJECTED):
        status = "pending"  # an author is never told their comment was caught
    return (
        {
            "id": comment.id,
            "parent_id": comment.parent_id,
            "status": status,
            "author": author_out(comment, site_id),
            "html": comment.html,
            "created_at": iso(comment.created_at),
            "edited_at": iso(comment.edited_at),
            "mine": mine,
            "editable_until": editable_until,
            "likes": comment.like_count,
            "replies": replies or [],
        }
        | ({"body": comment.body} if editable_until else {})
        | ({"liked": True} if liked else {})
        | ({"pinned": True} if comment.pinned and status == "approved" else {})
    )


def node_out(
    node: CommentNode, viewer: Viewer, site_id: str, liked: frozenset[int] = frozenset()
) -> dict[str, Any]:
    return comment_out(
        node.comment,
        viewer,
        site_id,
        visible=node.visible,
        replies=[node_out(r, viewer, site_id, liked) for r in node.replies],
        liked=node.visible and node.comment.id in liked,
    )


def likes_out(state: LikeState) -> dict[str, Any]:
    return {"likes": state.likes, "liked": state.liked}


def site_config_out(site: Site) -> dict[str, Any]:
    cfg = current_app.config
    return {
        "site": {"id": site.id, "name": site.name},
        "providers": providers_out(site),
        "limits": {
            "body": policy.BODY_MAX,
            "name": policy.NAME_MAX,
            "website": policy.WEBSITE_MAX,
            "edit_seconds": cfg["COMMENT_EDIT_SECONDS"],
        },
        "lang": "en",
    }


def providers_out(site: Site) -> list[dict[str, Any]]:
    """Sign-in buttons: providers configured and offered on this site (Dev with DEV_LOGIN)."""
    return [
        {"name": p.name, "label": p.label, "mark": mark_out(p.name)}
        for p in enabled_providers(current_app.config, site)
    ]


def viewer_out(viewer: Viewer, site_name: str) -> dict[str, Any] | None:
    """The signed-in reader as the form shows them, or None for a guest. A site's own
    reader is signed in with the site: "your {site name} account"."""
    if viewer.user is None:
        return None
    spec = provider_spec(viewer.provider)
    label = spec.label if spec else viewer.provider
    if viewer.provider == SSO_PROVIDER:
        label = site_name
    return {
        "name": viewer.user.display_name,
        "avatar_url": viewer.user.avatar_url,
        "provider": viewer.provider,
        "provider_label": label,
        # The form asks for an address for reply mail only when the account has none confirmed.
        "notify_email_known": reply_mail.account_address(viewer.user.id) is not None,
    }


def login_out(flow: LoginFlow, secret: str) -> dict[str, Any]:
    """A created flow; `start_url` is null for one that goes on from a mailed link."""
    mailed = flow.provider in MAILED_PROVIDERS
    return {
        "flow": flow.id,
        "secret": secret,
        "start_url": None
        if mailed
        else links.public_url("auth.start", provider=flow.provider, flow=flow.id),
        "mailed": mailed,
    }


def thread_page_out(page: ThreadPage, site: Site, viewer: Viewer) -> dict[str, Any]:
    thread = page.thread
    return {
        "thread": {
            "url": page.url,
            "title": thread.title if thread else "",
            "count": thread.approved_count if thread else 0,
            # The time rather than a flag, so that a cached page closes on time by itself.
            "closed": bool(thread and thread.closed),
            "closes_at": iso(policy.closes_at(thread.created_at, site.close_after_days))
            if thread
            else None,
        },
        "comments": [node_out(n, viewer, site.id, page.liked) for n in page.roots],
        "page": page.page,
        "next_page": page.next_page,
        "config": site_config_out(site),
        "viewer": viewer_out(viewer, site.name),
        "session_expired": bool(g.get("session_expired")),
    }
