"""Why a comment waits for a moderator or was caught as spam, as stored with it when it was
posted (a later change to the site's settings does not rewrite why it was held) and as the
queue says it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from app.domain.states import ModerationMode

MODERATE_ALL = "moderate-all"
FIRST_COMMENT = "first-comment"
TOO_FEW_APPROVED = "too-few-approved"
GUEST = "guest"
LINKS = "links"
HELD_WORD = "held-word"
BANNED_WORD = "banned-word"
HONEYPOT = "honeypot"
TOO_FAST = "too-fast"
AKISMET = "akismet"
AKISMET_UNAVAILABLE = "akismet-unavailable"
PARENT_PENDING = "parent-pending"
BANNED_AUTHOR = "banned-author"
SHADOW_BANNED = "shadow-banned"
REPORTED = "reported"
EDITED = "edited"
FILTER = "filter"


@dataclass(frozen=True)
class Hold:
    code: str
    # What the reason needs to be read: the word, the number of links, the seconds.
    detail: str = ""

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "detail": self.detail} if self.detail else {"code": self.code}

    def describe(self) -> str:
        return _describe(self.code, self.detail)


def _describe(code: str, detail: str) -> str:
    texts = {
        MODERATE_ALL: "The site moderates every comment.",
        FIRST_COMMENT: "A first comment: this author has no approved comment here yet.",
        TOO_FEW_APPROVED: f"Not yet trusted: {detail} approved comments here.",
        GUEST: "Posted as a guest: only signed-in readers earn trust (their name and email"
        " are whatever they typed).",
        LINKS: f"Too many links: {detail}.",
        HELD_WORD: f"Held word: {detail}.",
        BANNED_WORD: f"Banned word: {detail}.",
        HONEYPOT: "Spam check: a field people never see was filled in.",
        TOO_FAST: f"Spam check: sent {detail} s after the form appeared.",
        AKISMET: "Akismet called it spam.",
        AKISMET_UNAVAILABLE: "Akismet could not be asked, so it waits to be safe.",
        PARENT_PENDING: "A reply to a comment that is itself waiting.",
        BANNED_AUTHOR: "Its author is banned on this site.",
        SHADOW_BANNED: "Its author is shadow-banned: they see it as published, no one else does.",
        REPORTED: f"Taken down after {detail} reports by readers.",
        EDITED: f"Edited by its author to hold a held word: {detail}.",
        FILTER: f"The learning filter finds it like what this site rejects: {detail}.",
    }
    return texts.get(code, "Held for a reason this version does not know.")


def from_json(stored: Iterable[Any] | None) -> list[Hold]:
    """What the column holds, read leniently: an entry this version cannot read is skipped."""
    holds = []
    for item in stored or ():
        if isinstance(item, dict) and isinstance(item.get("code"), str):
            holds.append(Hold(item["code"], str(item.get("detail", ""))))
    return holds


def to_json(holds: Iterable[Hold]) -> list[dict[str, str]] | None:
    stored = [h.as_json() for h in holds]
    return stored or None


def moderation_hold(
    mode: ModerationMode, *, signed_in: bool, approved: int, trust_after: int
) -> Hold | None:
    """What the site's moderation mode says of a new comment nothing else held: `all` holds
    it, `none` publishes it, `first-time` publishes a signed-in reader's once they have
    `trust_after` approved comments here (`approved` counts up to that many)."""
    if mode is ModerationMode.NONE:
        return None
    if mode is ModerationMode.ALL:
        return Hold(MODERATE_ALL)
    if not signed_in:
        return Hold(GUEST)
    if approved >= trust_after:
        return None
    if approved == 0:
        return Hold(FIRST_COMMENT)
    return Hold(TOO_FEW_APPROVED, f"{approved} of {trust_after}")


def added(stored: Iterable[Any] | None, hold: Hold) -> list[dict[str, str]] | None:
    """The column's reasons with one more: held again later (reports, an edit)."""
    return to_json([*from_json(stored), hold])


def seconds(ms: int) -> str:
    """ "0.8" for 800 ms: how long the form was open, as the queue says it."""
    return f"{ms / 1000:.1f}"
