"""Who wrote a comment: a guest, a signed-in reader, or the site itself (a moderator's reply).

One value for every place that needs to know: posting, the widget's JSON, the moderation
queue and bans, mail to moderators and subscribers, feeds and the export.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

ANONYMOUS = "Anonymous"


class AuthorKind(enum.Enum):
    GUEST = "guest"
    READER = "reader"  # signed in with a provider
    SITE = "site"  # a moderator replying from the dashboard, shown as the site


class StoredUser(Protocol):
    """What an author needs of a signed-in reader's account (app.models.User)."""

    @property
    def id(self) -> int: ...
    @property
    def display_name(self) -> str: ...
    @property
    def handle(self) -> str | None: ...
    @property
    def avatar_url(self) -> str | None: ...


class StoredAuthor(Protocol):
    """The author columns of a stored comment (app.models.Comment)."""

    @property
    def user_id(self) -> int | None: ...
    @property
    def provider(self) -> str | None: ...
    @property
    def moderator_id(self) -> int | None: ...
    @property
    def guest_name(self) -> str | None: ...
    @property
    def guest_email(self) -> str | None: ...
    @property
    def guest_website(self) -> str | None: ...


@dataclass(frozen=True)
class Author:
    kind: AuthorKind
    name: str = ""  # as given or stored; `label` is what to show
    email: str | None = None  # a guest's only: a signed-in reader has none on file
    website: str | None = None
    user_id: int | None = None
    provider: str | None = None  # which provider the reader signed in with, for a badge
    handle: str | None = None
    avatar_url: str | None = None
    moderator_id: int | None = None

    @classmethod
    def guest(cls, name: str, email: str | None, website: str | None = None) -> Author:
        return cls(AuthorKind.GUEST, name=name, email=email, website=website)

    @classmethod
    def reader(cls, user: StoredUser, provider: str | None = None) -> Author:
        return cls(
            AuthorKind.READER,
            name=user.display_name,
            user_id=user.id,
            provider=provider,
            handle=user.handle,
            avatar_url=user.avatar_url,
        )

    @classmethod
    def site(cls, site_name: str, moderator_id: int) -> Author:
        return cls(AuthorKind.SITE, name=site_name, moderator_id=moderator_id)

    @classmethod
    def of_comment(cls, comment: StoredAuthor, user: StoredUser | None) -> Author:
        """The author of a stored comment; `user` is its account, when it has one."""
        if comment.user_id is not None:
            if user is None:  # the account is not at hand: who it is, without the profile
                return cls(AuthorKind.READER, user_id=comment.user_id, provider=comment.provider)
            return cls.reader(user, comment.provider)
        if comment.moderator_id is not None:
            return cls(
                AuthorKind.SITE,
                name=comment.guest_name or "",
                website=comment.guest_website,
                moderator_id=comment.moderator_id,
            )
        return cls.guest(comment.guest_name or "", comment.guest_email, comment.guest_website)

    @property
    def is_guest(self) -> bool:
        return self.kind is AuthorKind.GUEST

    @property
    def is_signed_in(self) -> bool:
        return self.kind is AuthorKind.READER

    @property
    def is_site(self) -> bool:
        return self.kind is AuthorKind.SITE

    @property
    def label(self) -> str:
        """The name to show: the reader's display name, the guest's, or the site's."""
        return self.name or ANONYMOUS

    @property
    def key(self) -> str:
        """One author across their comments on a site (history, avatars): the account, else
        the guest's email. The same strings as `key_of` and the moderation queue's SQL."""
        if self.user_id is not None:
            return f"user:{self.user_id}"
        return f"guest:{self.email or ''}"

    def owns(self, comment: StoredAuthor) -> bool:
        """Whether a signed-in author wrote `comment`. A guest proves that only with the
        comment's edit token, never by giving the same email."""
        return self.is_signed_in and comment.user_id == self.user_id

    def columns(self) -> dict[str, object]:
        """The comment columns that store this author."""
        if self.is_signed_in:
            return {"user_id": self.user_id, "provider": self.provider}
        return {
            "moderator_id": self.moderator_id,
            "guest_name": self.name,
            "guest_email": self.email,
            "guest_website": self.website,
        }


def key_of(comment: StoredAuthor) -> str:
    """`Author.key` of a stored comment, without its account."""
    return Author.of_comment(comment, None).key
