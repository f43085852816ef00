"""The widget's wording: one JSON file per language, all with the same keys, English inside
embed.js and every other language served on its own (docs/wording.md)."""

from __future__ import annotations

import json
import re

import pytest
from flask.testing import FlaskClient

from app.embed.bundle import (
    ALIASES,
    COUNT_STRINGS,
    EMBED_PARTS,
    LANGUAGES,
    RTL,
    STATIC_DIR,
    STRINGS_DIR,
    TOOLS_PARTS,
    TOOLS_STRINGS,
    strings,
)
from app.embed.routes import CACHE_CONTROL

ENGLISH = strings()["en"]
OTHERS = [lang for lang in LANGUAGES if lang != "en"]
PLACEHOLDER = re.compile(r"\{\d+\}")

# The cardinal plural categories of CLDR (what Intl.PluralRules.select returns), per language.
# tests/browser/test_languages.py checks them against Chromium's own Intl.
_RULES = {
    "one other": "en de nl sv da nb fi tr el fa hi",
    "one many other": "fr es it pt",
    "one few many other": "pl cs ru uk",
    "zero one two few many other": "ar",
    "one two other": "he",
    "other": "ja zh ko id",
}
PLURAL_CATEGORIES = {lang: set(c.split()) for c, langs in _RULES.items() for lang in langs.split()}
REQUIRED = {"en", "de", "fr", "es", "it", "pt", "nl", "pl", "sv", "da", "nb", "fi", "cs", "tr",
            "ru", "uk", "el", "ar", "he", "fa", "ja", "zh", "ko", "hi", "id"}  # fmt: skip


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def test_the_languages_are_all_there_each_with_its_file() -> None:
    assert LANGUAGES[0] == "en"
    assert set(LANGUAGES) >= REQUIRED and len(LANGUAGES) >= 22
    assert sorted(p.stem for p in STRINGS_DIR.glob("*.json")) == sorted(LANGUAGES)
    assert set(PLURAL_CATEGORIES) == set(LANGUAGES)
    assert set(RTL) == {"ar", "fa", "he"} and set(RTL) <= set(LANGUAGES)
    assert set(ALIASES.values()) <= set(LANGUAGES)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_has_every_key_and_no_other(lang: str) -> None:
    table = strings()[lang]
    assert list(table) == list(ENGLISH), "the same keys, in en.json's order"
    for key, value in table.items():
        assert type(value) is type(ENGLISH[key]), key
        texts = value.values() if isinstance(value, dict) else [value]
        assert all(isinstance(t, str) and t.strip() == t and t for t in texts), key


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_are_where_english_has_them(lang: str) -> None:
    for key, value in strings()[lang].items():
        english = ENGLISH[key]
        if isinstance(value, dict):
            assert isinstance(english, dict)
            wanted = placeholders(english["other"])
            assert placeholders(value["other"]) == wanted, key
            # Other forms may spell the number out: Arabic's "تعليقان" is "two comments".
            assert all(placeholders(form) <= wanted for form in value.values()), key
        else:
            assert isinstance(english, str)
            assert placeholders(value) == placeholders(english), key


@pytest.mark.parametrize("lang", LANGUAGES)
def test_wording_that_counts_has_the_plural_forms_of_the_language(lang: str) -> None:
    counted = {k: v for k, v in strings()[lang].items() if isinstance(v, dict)}
    assert set(counted) == {k for k, v in ENGLISH.items() if isinstance(v, dict)}
    assert {"commentCount", "tooManyAttempts", "newComment"} <= set(counted)
    for key, forms in counted.items():
        assert set(forms) == PLURAL_CATEGORIES[lang], (key, sorted(forms))


def test_the_english_wording_is_the_fixed_one() -> None:
    assert ENGLISH["commentCount"] == {"one": "{0} Comment", "other": "{0} Comments"}
    assert ENGLISH["leaveReply"] == "Leave a Reply"
    assert ENGLISH["logInWith"] == "Log in with {0}"


def test_provider_names_are_left_as_they_are() -> None:
    """Provider names come from the service and fill {0}; the wording never names one."""
    for lang, table in strings().items():
        for value in table.values():
            for text in value.values() if isinstance(value, dict) else [value]:
                assert not re.search(r"Twitter|Facebook|WordPress|GitHub|Google", text), lang


def _source(folder: str, parts: tuple[str, ...]) -> str:
    return "".join((STATIC_DIR / folder / p).read_text(encoding="utf-8") for p in parts)


def test_the_scripts_use_only_keys_that_exist_and_every_key_is_used() -> None:
    used = set(re.findall(r"\bT\.(\w+)", _source("widget", EMBED_PARTS)))
    tools = _source("tools", TOOLS_PARTS)
    # The tools name some keys in a table: those are the quoted ones of their own wording.
    used_by_tools = set(re.findall(r"\bT\.(\w+)", tools)) | {
        k for k in re.findall(r'"(\w+)"', tools) if k in ENGLISH
    }
    assert used | used_by_tools == set(ENGLISH)
    assert set(TOOLS_STRINGS) <= used_by_tools and not set(TOOLS_STRINGS) & used
    assert set(COUNT_STRINGS) <= set(ENGLISH)


def test_the_tools_wording_comes_with_the_tools_not_with_embed_js(client: FlaskClient) -> None:
    served = client.get("/embed.js").get_data(as_text=True)
    tools = client.get("/embed/tools.js").get_data(as_text=True)
    for key in TOOLS_STRINGS:
        text = json.dumps(ENGLISH[key], ensure_ascii=False)
        assert text in tools and text not in served, key
    for lang in OTHERS:  # every other language has it in the file it downloads anyway
        assert set(TOOLS_STRINGS) <= set(strings()[lang])


def test_embed_js_carries_english_only(client: FlaskClient) -> None:
    served = client.get("/embed.js").get_data(as_text=True)
    english = {
        t
        for k, v in ENGLISH.items()
        if k not in TOOLS_STRINGS
        for t in (v.values() if isinstance(v, dict) else [v])
    }
    for text in english:
        assert json.dumps(text, ensure_ascii=False)[1:-1] in served
    for lang in OTHERS:
        for key, value in strings()[lang].items():
            for text in value.values() if isinstance(value, dict) else [value]:
                if text not in english:
                    assert json.dumps(text, ensure_ascii=False) not in served, (lang, key)


def test_count_js_carries_only_the_count_wording_of_every_language(client: FlaskClient) -> None:
    served = client.get("/count.js").get_data(as_text=True)
    for lang, table in strings().items():
        for form in table["commentCount"].values():  # type: ignore[union-attr]
            assert form in served, (lang, form)
        assert table["leaveReply"] not in served


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_language_is_served_as_json(client: FlaskClient, lang: str) -> None:
    resp = client.get(f"/embed/strings/{lang}.json")
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    assert resp.get_json() == strings()[lang]


def test_strings_are_cacheable_public_and_revalidate(client: FlaskClient) -> None:
    first = client.get("/embed/strings/ar.json", headers={"Origin": "https://any.blog"})
    assert first.headers["Cache-Control"] == CACHE_CONTROL
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    assert first.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert "Set-Cookie" not in first.headers
    etag = first.headers["ETag"]
    assert etag.startswith('"'), "the ETag must be strong"
    assert json.loads(first.data)["replyButton"] == "رد"

    again = client.get("/embed/strings/ar.json", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert client.get("/embed/strings/he.json").headers["ETag"] != etag


@pytest.mark.parametrize("name", ["xx", "EN", "de-DE", "no", "en.json", "..%2fen"])
def test_unknown_language_is_not_found(client: FlaskClient, name: str) -> None:
    assert client.get(f"/embed/strings/{name}.json").status_code == 404
