"""Builds the two served scripts from their parts, in Python: no build step, no Node.

The widget's source is a folder of parts (static/embed/widget), its wording one JSON file per
language (static/embed/strings) and its styles one CSS file. They are joined, in the fixed
order of EMBED_PARTS, into one function run at once, with STRINGS, CSS, CLASS and PAGE_PARAMS
(the query parameters a thread key keeps, app/domain/policy.py) in scope; routes.py minifies
the result. count.js gets the two strings it shows from the same files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import rcssmin

from app.domain.policy import PAGE_PARAMS

STATIC_DIR = Path(__file__).resolve().parent / "static" / "embed"
STRINGS_DIR = STATIC_DIR / "strings"
LANGUAGES = ("en", "de", "fr", "es")  # the first is the fallback for any other language

# Each part may use what the parts before it define at the top; functions may call ahead.
EMBED_PARTS = ("page.js", "dom.js", "api.js", "thread.js", "form.js", "signin.js", "main.js")
COUNT_STRINGS = ("commentCountOne", "commentCountMany")

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


def strings() -> dict[str, dict[str, str]]:
    """The widget's wording, by language code."""
    return {
        lang: json.loads((STRINGS_DIR / f"{lang}.json").read_text(encoding="utf-8"))
        for lang in LANGUAGES
    }


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


def embed_source() -> str:
    """embed.js before minification: the parts in one function, the data they use first."""
    parts = "".join(
        (STATIC_DIR / "widget" / name).read_text(encoding="utf-8") for name in EMBED_PARTS
    )
    data = _constants(STRINGS=strings(), CSS=styles(), CLASS=CLASS_NAMES, PAGE_PARAMS=PAGE_PARAMS)
    return _iife(data + parts)


def count_source() -> str:
    """count.js before minification, with the "N Comments" wording of every language."""
    words = {lang: {k: table[k] for k in COUNT_STRINGS} for lang, table in strings().items()}
    body = (STATIC_DIR / "count.js").read_text(encoding="utf-8")
    return _iife(_constants(STRINGS=words) + body)


SOURCES = {"embed.js": embed_source, "count.js": count_source}
