"""Signed links and public addresses: one module makes them, and nothing else does."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from itsdangerous import URLSafeSerializer, URLSafeTimedSerializer

from app.domain.errors import LinkExpired, LinkInvalid
from app.extensions import db
from app.services import links
from tests.helpers import fresh_app

PURPOSES = [
    links.CONFIRM_SUBSCRIPTION,
    links.UNSUBSCRIBE,
    links.MAIL_ACTION,
    links.PRIVACY,
    links.COMMENT_EDIT,
    links.READER,
]


@pytest.mark.parametrize("made_for", PURPOSES, ids=lambda p: p.salt)
def test_a_token_opens_only_for_its_own_purpose(app, made_for):
    token = links.sign(made_for, {"n": 1})
    assert links.load(made_for, token) == {"n": 1}
    for other in PURPOSES:
        if other is not made_for:
            with pytest.raises(LinkInvalid):
                links.load(other, token)


def test_tokens_readers_already_hold_still_open(app):
    """Edit tokens live in readers' browsers for good: their format never changes."""
    secret = app.config["SECRET_KEY"]
    kept = URLSafeSerializer(secret, salt="afterword.comment-edit").dumps(42)
    assert links.load(links.COMMENT_EDIT, kept) == 42
    assert links.sign(links.COMMENT_EDIT, 42) == kept
    reader = URLSafeTimedSerializer(secret, salt="afterword.reader").dumps({"u": 1})
    assert links.load(links.READER, reader) == {"u": 1}


@pytest.mark.parametrize("bad", ["", "x" * (links.TOKEN_MAX + 1), None, 42, "a.b.c"])
def test_what_is_not_a_token_is_invalid(app, bad):
    for purpose in PURPOSES:
        with pytest.raises(LinkInvalid):
            links.load(purpose, bad)


@pytest.mark.parametrize("purpose", [links.MAIL_ACTION, links.PRIVACY], ids=["signed", "sealed"])
def test_an_old_token_is_expired_with_its_purposes_words(app, clock, purpose):
    token = links.sign(purpose, {"n": 1})
    clock.advance((purpose.max_age or 0) - 60)
    assert links.load(purpose, token) == {"n": 1}
    clock.advance(120)
    with pytest.raises(LinkExpired, match=purpose.expired):
        links.load(purpose, token)


def test_a_sealed_token_does_not_show_its_payload(app):
    token = links.sign(links.PRIVACY, {"e": "zoe@example.com", "j": "x"})
    assert "zoe" not in token and "example" not in token
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    with pytest.raises(LinkInvalid):
        links.load(links.PRIVACY, tampered)


def test_a_link_acts_once_and_the_transaction_goes_on(app):
    links.use_once(links.MAIL_ACTION, "abc", used="Used.")
    with pytest.raises(LinkExpired, match=r"Used\."):
        links.use_once(links.MAIL_ACTION, "abc", used="Used.")
    # The same id for another purpose is another link.
    links.use_once(links.PRIVACY, "abc", used="Used.")
    db.session.commit()
    assert links.was_used(links.MAIL_ACTION, "abc") and links.was_used(links.PRIVACY, "abc")
    assert not links.was_used(links.PRIVACY, "abd")


def test_public_addresses_follow_public_url_with_a_path(tmp_path):
    with fresh_app(tmp_path, PUBLIC_URL="https://comments.example.org/afterword/"):
        assert links.public_url("auth.callback", provider="twitter") == (
            "https://comments.example.org/afterword/auth/twitter/callback"
        )
        assert links.public_url(
            "feeds.thread_feed", site_id="s1", url="https://b.example/?a=1"
        ) == (
            "https://comments.example.org/afterword/feeds/sites/s1/thread.atom"
            "?url=https://b.example/?a%3D1"
        )
        assert links.public_base() == "https://comments.example.org/afterword"


def test_public_addresses_never_follow_the_requests_host(app, client):
    with app.test_request_context("/", base_url="https://attacker.example"):
        assert links.public_url("embed.embed_script").startswith(app.config["PUBLIC_URL"])


def test_only_the_links_module_signs_or_formats_public_url():
    """Tokens and addresses made elsewhere would drift in salts, expiry and prefixes."""
    root = Path(__file__).resolve().parent.parent / "app"
    offenders = []
    for path in root.rglob("*.py"):
        if path.name == "links.py" and path.parent.name == "services":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in (
                "itsdangerous",
                "cryptography.fernet",
            ):
                offenders.append(f"{path.relative_to(root)} imports {node.module}")
            if isinstance(node, ast.JoinedStr) and any(
                isinstance(v, ast.FormattedValue) and "PUBLIC_URL" in ast.unparse(v)
                for v in node.values
            ):
                offenders.append(f"{path.relative_to(root)}:{node.lineno} formats PUBLIC_URL")
    assert offenders == []
