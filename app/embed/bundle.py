"""Builds the two served scripts from their parts, in Python: no build step, no Node.

The widget's source is a folder of parts (static/embed/widget), its wording one JSON file per
language (static/embed/strings) and its styles one CSS file. They are joined, in the fixed
order of EMBED_PARTS, into one function run at once, with STRINGS (English only), LANGUAGES,
ALIASES, RTL, CSS, CLASS and PAGE_PARAMS (the query parameters a thread key keeps,
app/domain/policy.py) in scope; routes.py minifies the result. Every other language is a file
of its own that the widget asks for (routes.py serves it), so a language more costs English
readers nothing. count.js carries the "N Comments" wording of every language.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import rcssmin

from app.domain.policy import PAGE_PARAMS

STATIC_DIR = Path(__file__).resolve().parent / "static" / "embed"
STRINGS_DIR = STATIC_DIR / "strings"
# The first is the fallback for any other language, and the one embed.js carries.
LANGUAGES = (
    "en", "ar", "cs", "da", "de", "el", "es", "fa", "fi", "fr", "he", "hi", "id",
    "it", "ja", "ko", "nb", "nl", "pl", "pt", "ru", "sv", "tr", "uk", "zh",
)  # fmt: skip
RTL = ("ar", "fa", "he")  # written right to left: the widget mirrors its layout
# Language subtags that pages use for one of LANGUAGES: Norwegian, Nynorsk readers read
# Bokmål; iw and in are the old codes of Hebrew and Indonesian.
ALIASES = {"no": "nb", "nn": "nb", "iw": "he", "in": "id"}

# Each part may use what the parts before it define at the top; functions may call ahead.
EMBED_PARTS = ("page.js", "dom.js", "api.js", "thread.js", "form.js", "signin.js", "main.js")
COUNT_STRINGS = ("commentCount",)
# What only some readers need (reporting, moderating on the page, editing and deleting one's
# own comment) comes in a module of its own, tools.js, imported on first use: it costs the
# budget before comments show nothing. Its English wording travels with it; other languages'
# comes in their strings file as usual.
TOOLS_PARTS = ("moderate.js", "own.js", "report.js")
TOOLS_STRINGS = (
    "waitingForApproval",
    "approve",
    "reject",
    "pin",
    "unpin",
    "approvedNotice",
    "rejectedNotice",
    "spamNotice",
    "unpinnedNotice",
    "reportWhy",
    "reasonSpam",
    "reasonAbuse",
    "reasonOffTopic",
    "reasonOther",
    "reportNote",
    "sendReport",
    "reportThanks",
    "save",
    "confirmDeleteComment",
    "commentDeletedNotice",
)

# The source's descriptive class names and the short ones readers download. Pages style the
# widget only from outside its shadow root, so the served names are free to be short; they
# are the names the widget had before, which browser tests select on (li.c, ol.l, .who).
CLASS_NAMES: dict[str, str] = {
    "widget": "aw",
    "thread": "l",
    "comment": "c",
    "meta": "m",
    "avatar": "av",
    "author": "who",
    "body": "t",
    "badge": "bd",
    "pending": "pd",
    "deleted": "x0",
    "actions": "x",
    "likes": "lk",
    "bar": "bar",
    "account": "u",
    "primary": "p",
    "field": "f",
    "checkbox": "ck",
    "provider": "pv",
    "error": "er",
    "honeypot": "hp",
    "visuallyHidden": "sr",
}
_CLASS_SELECTOR = re.compile(r"\.(" + "|".join(CLASS_NAMES) + r")(?![\w-])")


# A string, or for wording that counts, its forms by Intl.PluralRules category ("one", "few",
# "other"...), each language giving the categories its rules use.
Wording = dict[str, str | dict[str, str]]


def wording(lang: str) -> Wording:
    """One language's wording, from strings/<lang>.json."""
    table: Wording = json.loads((STRINGS_DIR / f"{lang}.json").read_text(encoding="utf-8"))
    return table


def strings() -> dict[str, Wording]:
    """The widget's wording, by language code."""
    return {lang: wording(lang) for lang in LANGUAGES}


def strings_json(lang: str) -> bytes:
    """One language's wording as the widget downloads it: /embed/strings/<lang>.json."""
    return json.dumps(wording(lang), ensure_ascii=False, separators=(",", ":")).encode()


def styles() -> str:
    """widget.css, minified, with the served class names."""
    css = (STATIC_DIR / "widget.css").read_text(encoding="utf-8")
    return rcssmin.cssmin(_CLASS_SELECTOR.sub(lambda m: "." + CLASS_NAMES[m[1]], css))


def _constants(**values: object) -> str:
    return "".join(
        f"const {name} = {json.dumps(value, ensure_ascii=False)};\n"
        for name, value in values.items()
    )


def _iife(body: str) -> str:
    return f'(() => {{\n"use strict";\n{body}}})();\n'


def tools_source() -> str:
    """tools.js before minification: a module whose default export the widget calls with
    what the tools use of it (app/embed/static/embed/tools)."""
    english = wording(LANGUAGES[0])
    parts = "".join(
        (STATIC_DIR / "tools" / name).read_text(encoding="utf-8") for name in TOOLS_PARTS
    )
    return _constants(STRINGS={k: english[k] for k in TOOLS_STRINGS}) + parts


def tools_version() -> str:
    """Part of tools.js's URL in embed.js, so a widget never runs another release's tools."""
    return hashlib.sha256(tools_source().encode()).hexdigest()[:12]


def embed_source() -> str:
    """embed.js before minification: the parts in one function, the data they use first."""
    parts = "".join(
        (STATIC_DIR / "widget" / name).read_text(encoding="utf-8") for name in EMBED_PARTS
    )
    english = wording(LANGUAGES[0])
    data = _constants(
        STRINGS={k: v for k, v in english.items() if k not in TOOLS_STRINGS},
        TOOLS_VERSION=tools_version(),
        LANGUAGES=LANGUAGES,
        ALIASES=ALIASES,
        RTL=RTL,
        CSS=styles(),
        CLASS=CLASS_NAMES,
        PAGE_PARAMS=PAGE_PARAMS,
    )
    return _iife(data + parts)


def count_source() -> str:
    """count.js before minification, with the "N Comments" wording of every language."""
    words = {lang: {k: table[k] for k in COUNT_STRINGS} for lang, table in strings().items()}
    body = (STATIC_DIR / "count.js").read_text(encoding="utf-8")
    return _iife(_constants(STRINGS=words, ALIASES=ALIASES) + body)


SOURCES = {"embed.js": embed_source, "count.js": count_source, "tools.js": tools_source}
