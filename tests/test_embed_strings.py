"""The widget's wording: one JSON file per language, all with the same keys."""

from __future__ import annotations

import re

import pytest

from app.embed.bundle import COUNT_STRINGS, EMBED_PARTS, LANGUAGES, STATIC_DIR, strings

ENGLISH = strings()["en"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_has_every_key_and_no_other(lang: str) -> None:
    table = strings()[lang]
    assert sorted(table) == sorted(ENGLISH)
    assert all(isinstance(v, str) and v.strip() for v in table.values())


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_are_where_english_has_them(lang: str) -> None:
    table = strings()[lang]
    assert {k for k, v in table.items() if "{0}" in v} == {
        k for k, v in ENGLISH.items() if "{0}" in v
    }


def test_the_scripts_use_only_keys_that_exist_and_every_key_is_used() -> None:
    widget = "".join((STATIC_DIR / "widget" / p).read_text(encoding="utf-8") for p in EMBED_PARTS)
    used = set(re.findall(r"\bT\.(\w+)", widget)) | {"commentCountOne", "commentCountMany"}
    assert used == set(ENGLISH)
    assert set(COUNT_STRINGS) <= set(ENGLISH)
