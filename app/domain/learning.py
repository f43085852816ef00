"""The spam filter that learns from one site's own decisions: what a comment is made of (its
features), and how likely the site's moderators would call it unwanted.

It is a token-count Bayesian filter with Robinson's smoothing and Fisher's way of combining
the evidence, as SpamBayes and bogofilter do. Written here rather than taken from a machine
learning library: the model is two counts per token and site, which live in SQL and change
by one decision at a time (an approval, a rejection, a spam mark, an undo), and each score
must name the few features that made it. A library such as scikit-learn would bring NumPy
and SciPy to a small web service for a model that would still have to be stored and
explained by hand.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

TOKEN_MAX = 64  # characters a stored token holds
TOKENS_PER_COMMENT = 300  # a 10,000-character comment counts its first 300 distinct words
DOCS = ""  # the reserved token whose counts are the number of decisions of each kind
# Tokens that say little either way are left out of a score; of the rest, the strongest.
_NEUTRAL_BAND = 0.1
_STRONGEST = 150
# Robinson's smoothing: a token seen few times stays near "unknown".
_STRENGTH = 1.0
_UNKNOWN = 0.5
_REASONS = 3

HOLD_AT = 0.9  # `hold` and `catch`: at or above, the comment waits for a moderator
CATCH_AT = 0.99  # `catch`: at or above, it goes to spam
MODES = ("off", "hold", "catch")
# Before this, it has not seen enough of the site to say anything.
MIN_EACH = 5

_WORD = re.compile(r"\w{2,40}")
_HREF = re.compile(r'href="([^"]+)"')


def features(*, body: str, html: str, website: str | None, signed_in: bool) -> list[str]:
    """What a comment is made of, as tokens: its words (in lower case, without accents), and
    a few marks that start with "~" (never a word): how many links and to where, whether a
    website was given, whether the author signed in, and the comment's length."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(_plain(body)):
        if len(seen) >= TOKENS_PER_COMMENT:
            break
        seen.setdefault(word[:TOKEN_MAX], None)
    hosts = [_host(href) for href in _HREF.findall(html)]
    marks = [
        "~signed-in" if signed_in else "~guest",
        f"~links:{min(len(hosts), 3)}",
        "~website" if website else "~no-website",
        "~short" if len(body) < 40 else "~long" if len(body) > 600 else "~medium",
    ]
    marks += [f"~host:{h}" for h in dict.fromkeys(h for h in hosts if h)]
    if website:
        marks.append(f"~site:{_host(website)}")
    return list(seen) + [m[:TOKEN_MAX] for m in marks]


def _plain(text: str) -> str:
    """Lower case without accents. Not the word lists' folding (look-alikes, digits for
    letters): a word written around a filter is a word of its own here, and a telling one,
    and the queue shows these words as they were written."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _host(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


@dataclass(frozen=True)
class Counts:
    spam: int = 0
    ham: int = 0


@dataclass(frozen=True)
class Assessment:
    score: float  # 0: like what the site approves; 1: like what it calls spam or rejects
    reasons: list[str]  # the features that weighed most, readable


def ready(docs: Counts, min_decisions: int) -> bool:
    """Whether the site's moderators decided enough, of both kinds, for a score to mean much."""
    return docs.spam >= MIN_EACH and docs.ham >= MIN_EACH and docs.spam + docs.ham >= min_decisions


def assess(tokens: Iterable[str], counts: Mapping[str, Counts], docs: Counts) -> Assessment:
    """The chance that the moderators would not want this comment, with the reasons."""
    weighed = []
    for token in dict.fromkeys(tokens):
        seen = counts.get(token)
        if seen is None:
            continue
        p = _probability(seen, docs)
        if abs(p - _UNKNOWN) >= _NEUTRAL_BAND:
            weighed.append((p, token))
    weighed.sort(key=lambda pt: abs(pt[0] - _UNKNOWN), reverse=True)
    weighed = weighed[:_STRONGEST]
    if not weighed:
        return Assessment(_UNKNOWN, [])
    score = _fisher([p for p, _ in weighed])
    # The reasons on the side the score fell: what looked like spam, or like approved ones.
    if score >= _UNKNOWN:
        side = sorted(weighed, key=lambda pt: pt[0], reverse=True)
        reasons = [readable(t) for p, t in side if p > _UNKNOWN][:_REASONS]
    else:
        side = sorted(weighed, key=lambda pt: pt[0])
        reasons = [readable(t) for p, t in side if p < _UNKNOWN][:_REASONS]
    return Assessment(round(score, 3), reasons)


def _probability(seen: Counts, docs: Counts) -> float:
    spam_rate = seen.spam / max(docs.spam, 1)
    ham_rate = seen.ham / max(docs.ham, 1)
    p = spam_rate / (spam_rate + ham_rate) if spam_rate + ham_rate else _UNKNOWN
    n = seen.spam + seen.ham
    smoothed = (_STRENGTH * _UNKNOWN + n * p) / (_STRENGTH + n)
    return min(max(smoothed, 0.01), 0.99)


def _fisher(probabilities: list[float]) -> float:
    """Fisher's combination of the tokens' probabilities, both ways (SpamBayes' chi-squared)."""
    n = len(probabilities)
    spam = 1.0 - _chi2_q(-2.0 * sum(math.log(1.0 - p) for p in probabilities), 2 * n)
    ham = 1.0 - _chi2_q(-2.0 * sum(math.log(p) for p in probabilities), 2 * n)
    return (spam - ham + 1.0) / 2.0


def _chi2_q(x2: float, df: int) -> float:
    """P(chi-squared with `df` (even) degrees of freedom >= x2)."""
    m = x2 / 2.0
    term = total = math.exp(-m)
    for i in range(1, df // 2):
        term *= m / i
        total += term
    return min(total, 1.0)


def readable(token: str) -> str:
    """A feature as the queue says it."""
    if not token.startswith("~"):
        return f"“{token}”"
    kind, _, value = token[1:].partition(":")
    if kind == "host":
        return f"a link to {value}"
    if kind == "site":
        return f"website {value}"
    if kind == "links":
        return {"0": "no links", "1": "one link", "2": "two links"}.get(value, "3 or more links")
    return {
        "guest": "posted as a guest",
        "signed-in": "signed in",
        "website": "a website given",
        "no-website": "no website",
        "short": "very short",
        "medium": "of middling length",
        "long": "long",
    }.get(kind, kind)


def decision(status: str) -> str | None:
    """What a moderator's move teaches: approving is "ham", spam and rejecting "spam"; back to
    pending unlearns; deleting keeps what the last decision taught."""
    return {"approved": "ham", "spam": "spam", "rejected": "spam", "pending": None}.get(
        status, "keep"
    )
