"""Building an `Author`: from who is asking and the fields a guest gave, or from a comment."""

from __future__ import annotations

from sqlalchemy import inspect

from app.domain import policy
from app.domain.authors import Author
from app.extensions import db
from app.models import Comment, User
from app.services.viewers import Viewer


def guest(name: object, email: object, website: object) -> Author:
    """A guest from the fields they gave; raises ValidationError naming the first bad one."""
    return Author.guest(
        name=policy.clean_name(name),
        email=policy.clean_email(email),
        website=policy.clean_website(website),
    )


def of_request(viewer: Viewer, name: object, email: object, website: object) -> Author:
    """The author of a new comment: the signed-in reader, else a guest by the fields given
    (a signed-in reader's are ignored)."""
    if viewer.user is not None:
        return Author.reader(viewer.user, viewer.provider)
    return guest(name, email, website)


def of_comment(comment: Comment) -> Author:
    """The author of a stored comment, with their account's profile.

    Pages of comments load their users along; otherwise the session likely holds the user
    already (the one who just posted), and else it costs one look-up.
    """
    user = None
    if comment.user_id is not None:
        loaded = "user" not in inspect(comment).unloaded
        user = comment.user if loaded else db.session.get(User, comment.user_id)
    return Author.of_comment(comment, user)
