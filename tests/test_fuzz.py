"""Property: no input gives a 5xx, on the API or the dashboard.

tests/test_openapi.py has schemathesis generate requests from the API's description; it
never sends what the description cannot express (lone surrogates, which its UTF-8 codec
leaves out; raw bytes; JSON nested thousands deep; integers beyond 64 bits). Here Hypothesis
sends those to every JSON write, odd query strings to the reads, and random forms to the
dashboard: the login form, the moderation actions (with a valid CSRF token and a signed-in
moderator) and the queue's filters. TestingConfig propagates exceptions, so one the app does
not handle fails the property as surely as a 500 does.

Derandomized and bounded, so that CI runs the same examples in a few seconds each.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.states import CommentStatus
from app.extensions import db
from app.models import Comment, Moderator, Site
from app.services import moderation
from app.services.tokens import edit_token
from tests.factories import (
    HOST_ORIGIN,
    MODERATOR_PASSWORD,
    POST_URL,
    make_comment,
    make_moderator,
    make_site,
)
from tests.helpers import Dashboard, csrf_from, fresh_app

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    # One app serves every example of a test, as one server serves many requests.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

# Every code point, lone surrogates included (Hypothesis leaves them out by default).
TEXT = st.text(st.characters(exclude_categories=()), max_size=30)
EDGES = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\ud800",
        "a\udfffb",
        "\U0001f35e",
        POST_URL,
        POST_URL + "\ud800",
        f"{HOST_ORIGIN}/%ED%A0%80",
        "javascript:alert(1)",
        "ada@example.com",
        "dev",
        "replies",
        "-1",
        "1e3",
        "99999999999999999999",
    ]
)
STRINGS = st.one_of(TEXT, EDGES)
NUMBERS = st.one_of(
    st.integers(-5, 50),
    st.integers(),
    st.sampled_from([2**31 - 1, 2**31, 2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**40]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.floats(), STRINGS)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(STRINGS, inner, max_size=3)
    ),
    max_leaves=8,
)

SERIAL = st.integers(0, 10**9)
FIELDS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "comments": {
        "url": st.just(POST_URL),
        "title": st.just("First post"),
        # Varied, so that a body, an author or a key is not refused as a repeat.
        "body": SERIAL.map(lambda n: f"Comment {n}"),
        "name": st.just("Ada"),
        "email": SERIAL.map(lambda n: f"ada{n}@example.com"),
        "website": st.just("https://ada.example"),
        "parent_id": st.just(1),
        "idempotency_key": SERIAL.map(lambda n: f"fuzzed-{n:010d}"),
        "notify": st.just(True),
        "notify_email": st.just("ada@example.com"),
        "hp": st.just(""),
        "fill_ms": st.just(5000),
    },
    "comment": {"body": SERIAL.map(lambda n: f"Changed {n}"), "edit_token": st.just("TOKEN")},
    "logins": {"provider": st.just("dev"), "return_url": st.just(POST_URL)},
    "claim": {"secret": st.just("a" * 43), "code": st.just("b" * 43)},
    "privacy": {"email": st.just("ada@example.com")},
    "none": {},
}
MISSING = object()


def body_for(kind: str) -> st.SearchStrategy[Any]:
    """The endpoint's own fields: plausible, plausible but for one of them (left out,
    plausible but for one character, or anything at all), or all of them anything; now and
    then with an unknown one added."""
    fields = FIELDS[kind]
    plausible = st.fixed_dictionaries(fields)
    extra = st.one_of(st.just({}), st.dictionaries(STRINGS, VALUES, max_size=1))
    if not fields:
        return extra
    changed = st.sampled_from(sorted(fields)).flatmap(
        lambda name: st.tuples(
            st.just(name), st.one_of(st.just(MISSING), fields[name].flatmap(_tainted), VALUES)
        )
    )
    one_changed = st.builds(
        lambda body, change: {
            **{k: v for k, v in body.items() if k != change[0]},
            **({} if change[1] is MISSING else {change[0]: change[1]}),
        },
        plausible,
        changed,
    )
    anything = st.fixed_dictionaries({}, optional=dict.fromkeys(fields, VALUES))
    return st.builds(
        lambda body, unknown: {**unknown, **body},
        st.one_of(plausible, one_changed, one_changed, anything),
        extra,
    )


def _tainted(value: Any) -> st.SearchStrategy[Any]:
    if not isinstance(value, str):
        return st.just(value)
    return st.sampled_from(["\ud800", "\udc00", "\x00", "\u00e9"]).map(lambda c: value + c)


GARBAGE = st.one_of(
    VALUES.map(lambda v: json.dumps(v).encode()),
    st.sampled_from([1, 32, 33, 1_000, 100_000]).map(lambda n: ("[" * n + "]" * n).encode()),
    st.sampled_from([1, 33, 1_000, 40_000]).map(lambda n: ('{"a":' * n + "1" + "}" * n).encode()),
    st.binary(max_size=40),
)


WRITES = {
    "post comment": ("POST", "comments", "comments"),
    "edit comment": ("PATCH", "comments/{id}", "comment"),
    "delete comment": ("DELETE", "comments/{id}", "comment"),
    "start login": ("POST", "logins", "logins"),
    "claim login": ("POST", "logins/{flow}/claim", "claim"),
    "privacy request": ("POST", "privacy/requests", "privacy"),
    "delete me": ("DELETE", "me", "none"),
}
COMMENT_IDS = st.one_of(st.just(1), st.integers(min_value=0), st.sampled_from([2**63, 2**70]))


@pytest.fixture
def fuzz_app(tmp_path: Path) -> Iterator[Flask]:
    # Limits that the tests of limits check, out of the way: a 429 would hide what is behind.
    with fresh_app(
        tmp_path,
        DEV_LOGIN=True,
        RATELIMIT_PRIVACY="100000 per minute",
        LOGIN_RATE_LIMIT="100000 per minute",
    ) as app:
        yield app


@pytest.fixture
def fuzz_site(fuzz_app: Flask) -> Site:
    site = make_site()
    root = make_comment(site, body="A first comment")
    make_comment(site, body="A reply", parent=root)
    make_comment(site, body="Waiting", status=None)
    return site


def assert_answered(resp: Any, *, api: bool) -> None:
    """Not a server error; an API error in the one shape, with text that can be sent."""
    assert resp.status_code < 500, resp.get_data(as_text=True)[:500]
    if api and resp.status_code >= 400:
        assert resp.mimetype == "application/json"
        error = resp.get_json()["error"]
        assert set(error) <= {"code", "message", "field"}
        assert re.fullmatch(r"[a-z][a-z0-9_]*", error["code"]) and error["message"]
        assert isinstance(error.get("field", ""), str)
        resp.get_data(as_text=True).encode("utf-8")  # strict: no surrogate got through


def send(app: Flask, site: Site, write: str, body: bytes, comment_id: int = 1) -> Any:
    method, path, _ = WRITES[write]
    return app.test_client().open(
        f"/api/v1/sites/{site.id}/{path.format(id=comment_id, flow='a' * 22)}",
        method=method,
        data=body,
        headers={"Origin": HOST_ORIGIN, "Content-Type": "application/json"},
    )


def test_no_json_write_gives_a_server_error(fuzz_app: Flask, fuzz_site: Site) -> None:
    """JSON text (lone surrogates as `\\ud800` escapes) of each endpoint's own fields."""
    for name in sorted(WRITES):  # each its own examples: one draw would favour some

        @FUZZ
        @given(write=st.just(name), body=body_for(WRITES[name][2]), comment_id=COMMENT_IDS)
        def check(write: str, body: dict[str, Any], comment_id: int) -> None:
            text = json.dumps(body).replace('"TOKEN"', json.dumps(edit_token(1)))
            assert_answered(send(fuzz_app, fuzz_site, write, text.encode(), comment_id), api=True)

        check()


def test_no_body_at_all_gives_a_server_error(fuzz_app: Flask, fuzz_site: Site) -> None:
    """Any JSON value, nesting far beyond any limit, bytes that are not JSON."""
    for name in sorted(WRITES):

        @settings(FUZZ, max_examples=15)
        @given(write=st.just(name), body=GARBAGE)
        def check(write: str, body: bytes) -> None:
            assert_answered(send(fuzz_app, fuzz_site, write, body), api=True)

        check()


QUERY_NAMES = st.one_of(st.sampled_from(["url", "page", "per_page", "sort", "mine"]), STRINGS)
QUERIES = st.lists(st.tuples(QUERY_NAMES, st.one_of(STRINGS, NUMBERS.map(str))), max_size=5).map(
    lambda pairs: urlencode(pairs, errors="surrogatepass")
)


@FUZZ
@given(read=st.sampled_from(["thread", "counts", "config"]), query=QUERIES)
def test_no_read_gives_a_server_error(
    fuzz_app: Flask, fuzz_site: Site, read: str, query: str
) -> None:
    client = fuzz_app.test_client()
    resp = client.get(f"/api/v1/sites/{fuzz_site.id}/{read}?{query}")
    assert_answered(resp, api=True)


# --- The dashboard ------------------------------------------------------------------------


def form(fields: dict[str, Any]) -> bytes:
    """A urlencoded form as a browser would send it, lone surrogates as their bytes: the
    test client would refuse to encode them."""
    return urlencode(fields, doseq=True, errors="surrogatepass").encode()


FORM = "application/x-www-form-urlencoded"
FORM_TEXT = st.one_of(STRINGS, NUMBERS.map(str))


@pytest.fixture
def moderator_client(fuzz_app: Flask, fuzz_site: Site) -> tuple[FlaskClient, str]:
    """A signed-in moderator's browser, and a CSRF token its forms may carry."""
    dash = Dashboard(fuzz_app.test_client())
    assert dash.sign_in(make_moderator(fuzz_site).email).status_code == 302
    return dash.client, dash.token()


QUEUE_QUERIES = st.lists(
    st.tuples(
        st.one_of(st.sampled_from(["status", "site", "thread", "q", "page"]), STRINGS),
        st.one_of(FORM_TEXT, st.sampled_from(["pending", "approved", "spam"])),
    ),
    max_size=5,
).map(lambda pairs: urlencode(pairs, errors="surrogatepass"))


@FUZZ
@given(query=QUEUE_QUERIES)
def test_no_queue_filter_gives_a_server_error(
    moderator_client: tuple[FlaskClient, str], query: str
) -> None:
    client, _ = moderator_client
    assert_answered(client.get(f"/dashboard/?{query}"), api=False)


ACTIONS = st.one_of(st.sampled_from(sorted(moderation.ACTIONS)), FORM_TEXT)
IDS = st.lists(st.one_of(st.sampled_from(["1", "2", "3"]), FORM_TEXT), max_size=4)


@FUZZ
@given(
    action=ACTIONS,
    ids=IDS,
    one=st.one_of(st.none(), FORM_TEXT),
    next_page=st.one_of(st.none(), FORM_TEXT, st.just("/dashboard/comments/1")),
    wants_json=st.booleans(),
)
def test_no_moderation_action_gives_a_server_error(
    moderator_client: tuple[FlaskClient, str],
    action: str,
    ids: list[str],
    one: str | None,
    next_page: str | None,
    wants_json: bool,
) -> None:
    client, token = moderator_client
    fields: dict[str, Any] = {"csrf_token": token, "action": action, "ids": ids}
    if next_page is not None:
        fields["next"] = next_page
    query = "" if one is None else "?" + urlencode({"one": one}, errors="surrogatepass")
    resp = client.post(
        f"/dashboard/comments/act{query}",
        data=form(fields),
        content_type=FORM,
        headers={"Accept": "application/json"} if wants_json else {},
    )
    assert_answered(resp, api=False)


COMMENT_FORMS = {
    "edit": {"body": FORM_TEXT},
    "reply": {"body": FORM_TEXT},
    "ban": {
        "by_email": st.sampled_from(["y", ""]),
        "by_address": st.sampled_from(["y", ""]),
        "days": FORM_TEXT,
        "reason": FORM_TEXT,
    },
    "erase-author": {"confirm": st.sampled_from(["y", "", "yes"])},
}
COMMENT_POSTS = st.sampled_from(sorted(COMMENT_FORMS)).flatmap(
    lambda name: st.tuples(st.just(name), st.fixed_dictionaries({}, optional=COMMENT_FORMS[name]))
)


@FUZZ
@given(
    post=COMMENT_POSTS,
    comment_id=st.one_of(
        st.sampled_from([1, 2, 3]), st.integers(min_value=0), st.sampled_from([2**63, 2**70])
    ),
)
def test_no_form_on_a_comment_gives_a_server_error(
    moderator_client: tuple[FlaskClient, str], post: tuple[str, dict[str, str]], comment_id: int
) -> None:
    client, token = moderator_client
    name, fields = post
    resp = client.post(
        f"/dashboard/comments/{comment_id}/{name}",
        data=form({"csrf_token": token, **fields}),
        content_type=FORM,
    )
    assert_answered(resp, api=False)


@FUZZ
@given(
    fields=st.fixed_dictionaries(
        {},
        optional={
            "origins": FORM_TEXT,
            "moderation": st.one_of(st.sampled_from(["all", "first-time", "none"]), FORM_TEXT),
            "close_after_days": FORM_TEXT,
            "providers": st.lists(st.one_of(st.just("dev"), FORM_TEXT), max_size=2),
        },
    ),
    ban_id=st.one_of(st.just(1), st.integers(min_value=0), st.sampled_from([2**63, 2**70])),
)
def test_no_site_setting_or_ban_lift_gives_a_server_error(
    moderator_client: tuple[FlaskClient, str],
    fuzz_site: Site,
    fields: dict[str, Any],
    ban_id: int,
) -> None:
    client, token = moderator_client
    resp = client.post(
        f"/dashboard/sites/{fuzz_site.id}",
        data=form({"csrf_token": token, **fields}),
        content_type=FORM,
    )
    assert_answered(resp, api=False)
    resp = client.post(
        f"/dashboard/bans/{ban_id}/lift", data=form({"csrf_token": token}), content_type=FORM
    )
    assert_answered(resp, api=False)


@FUZZ
@given(
    email=st.one_of(FORM_TEXT, st.just("mod@example.com")),
    password=st.one_of(FORM_TEXT, st.just(MODERATOR_PASSWORD)),
    next_page=st.one_of(st.none(), FORM_TEXT, st.just("/dashboard/?page=2")),
)
def test_no_sign_in_attempt_gives_a_server_error(
    fuzz_app: Flask, known_moderator: Moderator, email: str, password: str, next_page: str | None
) -> None:
    assert_answered(sign_in(fuzz_app.test_client(), email, password, next_page), api=False)


@pytest.fixture
def known_moderator(fuzz_site: Site) -> Moderator:
    return make_moderator(fuzz_site, email="mod@example.com")


def sign_in(client: FlaskClient, email: str, password: str, next_page: str | None = None) -> Any:
    token = csrf_from(client.get("/dashboard/login").text)
    query = (
        "" if next_page is None else "?" + urlencode({"next": next_page}, errors="surrogatepass")
    )
    return client.post(
        f"/dashboard/login{query}",
        data=form({"csrf_token": token, "email": email, "password": password}),
        content_type=FORM,
    )


def test_the_fuzzed_forms_are_the_real_ones(
    fuzz_app: Flask, moderator_client: tuple[FlaskClient, str], known_moderator: Moderator
) -> None:
    """Well formed, the same requests do their work: the token, the fields, the encoding."""
    client, token = moderator_client
    resp = client.post(
        "/dashboard/comments/act?one=3",
        data=form({"csrf_token": token, "action": "approve"}),
        content_type=FORM,
    )
    assert resp.status_code == 302
    assert db.session.get(Comment, 3).status is CommentStatus.APPROVED
    resp = sign_in(fuzz_app.test_client(), "mod@example.com", MODERATOR_PASSWORD)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/dashboard/")
