"""Plain functions that build what a test needs, through the services where one exists."""

from __future__ import annotations

from itertools import count
from typing import Any

from flask.testing import FlaskClient

from app.domain.authors import Author
from app.domain.states import CommentStatus, ModerationMode
from app.models import Comment, Moderator, Site, User
from app.services import authors, comments, identities, moderation, sites
from app.services.identities import Profile
from app.services.moderators import create_moderator
from app.services.tokens import reader_token

HOST_ORIGIN = "https://blog.example"
POST_URL = f"{HOST_ORIGIN}/2026/first-post"
_n = count(1)


def make_site(
    *, origins: list[str] | None = None, moderation: ModerationMode = ModerationMode.ALL
) -> Site:
    return sites.create_site(
        name=f"Site {next(_n)}", origins=origins or [HOST_ORIGIN], moderation=moderation
    )


def make_comment(
    site: Site,
    *,
    url: str = POST_URL,
    body: str | None = None,
    parent: Comment | None = None,
    status: CommentStatus | None = CommentStatus.APPROVED,
    name: str = "Ada",
    email: str | None = None,
    user: User | None = None,
) -> Comment:
    """A guest (or user) comment, moved to `status` as a moderator would."""
    body = body or f"Comment number {next(_n)}."
    author = (
        Author.reader(user)
        if user
        else authors.guest(name, email or f"reader{next(_n)}@example.com", None)
    )
    comment, _ = comments.post_comment(
        site,
        author,
        comments.CommentDraft(url=url, body=body, parent_id=parent.id if parent else None),
    )
    if status is not None:
        moderation.set_status(comment, status)
    return comment


def post_json(
    client: FlaskClient,
    site: Site,
    payload: dict[str, Any],
    *,
    origin: str | None = HOST_ORIGIN,
    path: str = "comments",
    method: str = "POST",
):
    headers = {"Origin": origin} if origin else {}
    return client.open(
        f"/api/v1/sites/{site.id}/{path}", method=method, json=payload, headers=headers
    )


def guest_payload(**overrides: Any) -> dict[str, Any]:
    payload = {
        "url": POST_URL,
        "title": "First post",
        "body": "Hello *world*",
        "name": "Grace",
        "email": "grace@example.com",
        "website": "https://grace.example",
    }
    payload.update(overrides)
    return payload


MODERATOR_PASSWORD = "correct horse battery"


def make_moderator(
    *sites: Site, email: str | None = None, password: str = MODERATOR_PASSWORD
) -> Moderator:
    """A moderator of `sites`, or of every site when none are given."""
    return create_moderator(
        email or f"mod{next(_n)}@example.com", password, site_ids=[s.id for s in sites]
    )


def browser_id(n: int) -> str:
    """A guest browser's random id, as the widget keeps one (likes, reports)."""
    return f"browser-{n:014d}"


def make_reader(name: str = "Ada") -> User:
    """A reader signed in with the Dev provider."""
    return identities.sign_in(Profile(provider="dev", provider_user_id=name.lower(), name=name))


def bearer(user: User, site: Site) -> dict[str, str]:
    """The Authorization header of a signed-in reader's widget on `site`."""
    return {"Authorization": f"Bearer {reader_token(user.id, site.id, 'dev')}"}
