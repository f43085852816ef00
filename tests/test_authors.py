"""The author of a comment, one value for every place that shows or matches them."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.authors import Author, AuthorKind, key_of


@dataclass
class User:
    id: int = 7
    display_name: str = "Ada Lovelace"
    handle: str | None = "ada"
    avatar_url: str | None = "https://avatars.example/ada.png"


@dataclass
class Stored:
    user_id: int | None = None
    provider: str | None = None
    moderator_id: int | None = None
    guest_name: str | None = None
    guest_email: str | None = None
    guest_website: str | None = None


def stored(author: Author) -> Stored:
    return Stored(**author.columns())


def test_a_signed_in_author_is_known_by_their_account():
    author = Author.reader(User(), "github")
    assert author.label == "Ada Lovelace"
    assert author.key == "user:7"
    assert author.email is None and not author.is_guest and author.is_signed_in
    assert Author.of_comment(stored(author), User()) == author


def test_a_guest_is_known_by_their_email():
    author = Author.guest("Grace", "grace@example.com", "https://grace.example")
    assert author.label == "Grace"
    assert author.key == "guest:grace@example.com"
    assert author.is_guest and author.email == "grace@example.com"
    assert Author.of_comment(stored(author), None) == author


def test_a_reply_as_the_site_carries_the_sites_name():
    author = Author.site("Blog", moderator_id=3)
    assert author.label == "Blog" and author.is_site and not author.is_guest
    assert author.key == "guest:"  # what the moderation queue's SQL gives a comment without email
    assert Author.of_comment(stored(author), None) == author


def test_without_a_name_an_author_is_anonymous():
    assert Author.of_comment(Stored(), None).label == "Anonymous"
    # An account not at hand: still the same author for histories and bans.
    unloaded = Author.of_comment(Stored(user_id=7, provider="dev"), None)
    assert (unloaded.kind, unloaded.key, unloaded.label) == (
        AuthorKind.READER,
        "user:7",
        "Anonymous",
    )


def test_keys_of_stored_comments_match_the_authors():
    assert key_of(Stored(user_id=7, guest_email="x@example.com")) == "user:7"
    assert key_of(Stored(guest_email="grace@example.com")) == "guest:grace@example.com"
    assert key_of(Stored()) == "guest:"


def test_only_a_signed_in_author_owns_by_who_they_are():
    assert Author.reader(User()).owns(Stored(user_id=7))
    assert not Author.reader(User()).owns(Stored(user_id=8))
    # The same email is no proof: a guest shows an edit token instead.
    guest = Author.guest("Grace", "grace@example.com")
    assert not guest.owns(Stored(guest_email="grace@example.com"))
