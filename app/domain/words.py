"""A site's word lists (`Banned words`, `Held words`) and finding their words in a comment.

A word matches on word boundaries only ("ass" is not in "class"), whatever its case and
accents, and through the usual ways of writing around a filter: look-alike letters from other
scripts (a Cyrillic "es" for a Latin "c"), digits and signs for letters ("c4s1no", "c@sino"),
letters spaced or dotted apart ("c a s i n o", "c.a.s.i.n.o") and letters held down ("caaasino").
Both the list and the comment go through the same folding, so a word in any script works. An
entry ending in `*` also matches longer words that begin with it ("casino*": "casinos").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from app.domain import names
from app.domain.errors import ValidationError

WORD_MAX = 100  # characters in one entry
WORDS_MAX = 500  # entries in one list
# Digits and signs that stand in for letters, after the skeleton (which already reads "0" as
# "o", and "1", "I" and "|" as "l"). Digits are always letters here (they are part of words
# anyway); signs only between letters, so that "casino!" still ends at its word. "i" folds to
# "l" as well, on both sides, so it never matters which of the look-alikes a writer used.
_DIGITS = str.maketrans({"i": "l", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b"})
_SIGNS = re.compile(r"(?<=\w)[@$!+](?=\w)")
_SIGN_LETTERS = {"@": "a", "$": "s", "!": "l", "+": "t"}
# What may sit between the letters of one word written apart.
_BETWEEN_LETTERS = re.compile("(?<=\\w)[.\\-_*'\u2019\u00b7\u2022~]+(?=\\w)")
# Between the letters of a word spelled out ("c a s i n o", "c - a - s ..."); every letter
# apart, so that "an al..." is not "anal".
_SPELLED_APART = r"[^\w\n]{1,3}"
_NOT_WORD = re.compile(r"[^\w]+")
_RUNS_OF_THREE = re.compile(r"(\w)\1{2,}")
_RUNS = re.compile(r"(\w)\1+")


def fold(text: str) -> str:
    """Text as the lists see it: no accents, no case, look-alikes as their Latin letter (the
    skeleton names.py compares names by), digits and signs inside words read as letters."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = names.skeleton("".join(c for c in text if not unicodedata.combining(c))).casefold()
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = _SIGNS.sub(lambda m: _SIGN_LETTERS[m.group()], text)
    return text.translate(_DIGITS)


def _readings(text: str) -> tuple[str, str, str]:
    """The folded text, then with signs inside words taken out, then with held-down letters
    cut to two ("caaasino" → "caasino"; "asss" → "ass")."""
    folded = fold(text)
    joined = _BETWEEN_LETTERS.sub("", folded)
    return folded, joined, _RUNS_OF_THREE.sub(r"\1\1", joined)


@dataclass(frozen=True)
class WordList:
    """A list's entries (as the owner wrote them) and one pattern that finds any of them."""

    entries: tuple[str, ...]
    pattern: re.Pattern[str] | None
    # The same for entries with no letter twice in a row, matched against the text with every
    # run of letters cut to one ("caasino" → "casino"); entries like "ass" stay out of it, or
    # "as" would match them.
    single_pattern: re.Pattern[str] | None

    def first_match(self, text: str) -> str | None:
        """The entry (as written in the list) the text contains, if any."""
        if self.pattern is None:
            return None
        readings = _readings(text)
        for reading in readings:
            found = self.pattern.search(reading)
            if found:
                return self._entry(found)
        if self.single_pattern is not None:
            found = self.single_pattern.search(_RUNS.sub(r"\1", readings[1]))
            if found:
                return self._entry(found)
        return None

    def _entry(self, found: re.Match[str]) -> str:
        return self.entries[int(found.lastgroup[1:])]  # type: ignore[index]


def _entry_pattern(entry: str) -> str:
    prefix = entry.endswith("*")
    words = _NOT_WORD.split(fold(entry.rstrip("*")).strip())
    words = [w for w in words if w]
    together = r"[\W_]+".join(re.escape(w) for w in words)
    apart = _SPELLED_APART.join(re.escape(c) for c in "".join(words))
    return rf"(?<!\w)(?:{together}|{apart})" + (r"\w*" if prefix else r"(?!\w)")


@lru_cache(maxsize=256)
def compile_list(entries: tuple[str, ...]) -> WordList:
    """One pattern per list, kept while the list is unchanged (a post checks it each time)."""
    usable = [(i, e) for i, e in enumerate(entries) if _NOT_WORD.sub("", fold(e))]
    if not usable:
        return WordList(entries, None, None)
    every = "|".join(f"(?P<e{i}>{_entry_pattern(e)})" for i, e in usable)
    single = [f"(?P<e{i}>{_entry_pattern(e)})" for i, e in usable if not _RUNS.search(fold(e))]
    return WordList(entries, re.compile(every), re.compile("|".join(single)) if single else None)


def find(entries: Sequence[str], text: str) -> str | None:
    """Which of a list's entries the text contains (the first one found), if any."""
    if not entries:
        return None
    return compile_list(tuple(entries)).first_match(text)


def parse_list(text: str, *, label: str, field: str) -> list[str]:
    """A textarea's lines as a list: trimmed, blank and repeated lines dropped, bounded."""
    seen: set[str] = set()
    entries: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        entry = " ".join(line.split())
        if not entry or fold(entry) in seen:
            continue
        if len(entry) > WORD_MAX:
            raise ValidationError(
                f"{label}: a line holds up to {WORD_MAX} characters.", field=field
            )
        if not _NOT_WORD.sub("", fold(entry.rstrip("*"))):
            raise ValidationError(f"{label}: “{entry}” has no letters to look for.", field=field)
        seen.add(fold(entry))
        entries.append(entry)
    if len(entries) > WORDS_MAX:
        raise ValidationError(f"{label}: a list holds up to {WORDS_MAX} lines.", field=field)
    return entries


def as_text(entries: Iterable[str] | None) -> str:
    return "\n".join(entries or ())
