"""Input that once ended in a 500: JSON nested 100,000 deep, lone surrogates and NULs,
numbers no column holds, out-of-range dashboard parameters. Each answers 400 with the usual
error shape (or, on the dashboard, a clamped page or a message), and stores nothing.
Import files of the same kind are in tests/test_bad_import_files.py.

TestingConfig propagates exceptions, so anything the app fails to handle fails the test.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.domain.states import CommentStatus
from app.extensions import db
from app.models import Ban, Comment, Site
from app.services.tokens import edit_token
from tests.factories import HOST_ORIGIN, POST_URL, make_comment, make_moderator
from tests.helpers import DEEP_ARRAYS, PLACEHOLDER, UNSTORABLE, Dashboard

JSON_HEADERS = {"Origin": HOST_ORIGIN, "Content-Type": "application/json"}
# As deep as fits under MAX_CONTENT_LENGTH (256 KiB); 100,000 levels are refused as too large.
DEEP_OBJECTS = '{"a":' * 40_000 + "0" + "}" * 40_000
HUGE_OBJECTS = '{"a":' * 100_000 + "0" + "}" * 100_000


def comment_count() -> int:
    return db.session.scalar(select(func.count(Comment.id)))


def assert_error(resp: Any, status: int, code: str, field: str | None = None) -> None:
    assert resp.status_code == status, resp.text
    error = resp.get_json()["error"]
    assert error["code"] == code and error["message"]
    assert error.get("field") == field


def with_escape(payload: dict[str, Any], escape: str) -> str:
    """`payload` as JSON text, its placeholder replaced by a raw `\\uXXXX` escape."""
    return json.dumps(payload).replace(PLACEHOLDER, f"x{escape}y")


@pytest.fixture
def comment(site: Site) -> Comment:
    return make_comment(site, body="Already here")


def writes(site: Site, comment: Comment) -> dict[str, tuple[str, str]]:
    base = f"/api/v1/sites/{site.id}"
    return {
        "post comment": ("POST", f"{base}/comments"),
        "edit comment": ("PATCH", f"{base}/comments/{comment.id}"),
        "delete comment": ("DELETE", f"{base}/comments/{comment.id}"),
        "start login": ("POST", f"{base}/logins"),
        "claim login": ("POST", f"{base}/logins/{'a' * 22}/claim"),
        "privacy request": ("POST", f"{base}/privacy/requests"),
        "delete me": ("DELETE", f"{base}/me"),
    }


WRITES = [
    "post comment",
    "edit comment",
    "delete comment",
    "start login",
    "claim login",
    "privacy request",
    "delete me",
]


# --- The API: JSON bodies ---------------------------------------------------------------


@pytest.mark.parametrize("body", [DEEP_ARRAYS, DEEP_OBJECTS], ids=["arrays", "objects"])
@pytest.mark.parametrize("write", WRITES)
def test_deeply_nested_json_is_invalid_json(
    client: FlaskClient, site: Site, comment: Comment, write: str, body: str
) -> None:
    method, path = writes(site, comment)[write]
    assert_error(
        client.open(path, method=method, data=body, headers=JSON_HEADERS), 400, "invalid_json"
    )
    assert comment_count() == 1


@pytest.mark.parametrize("write", WRITES)
def test_json_nested_100000_objects_deep_is_too_large(
    client: FlaskClient, site: Site, comment: Comment, write: str
) -> None:
    method, path = writes(site, comment)[write]
    resp = client.open(path, method=method, data=HUGE_OBJECTS, headers=JSON_HEADERS)
    assert_error(resp, 413, "request_entity_too_large")


def test_nesting_just_inside_the_limit_is_read(client: FlaskClient, site: Site) -> None:
    payload = {"url": POST_URL, "body": "Hi", "name": "Ada", "email": "ada@example.com"}
    nested = json.dumps(payload)[:-1] + ', "extra": ' + "[" * 31 + "]" * 31 + "}"
    resp = client.post(f"/api/v1/sites/{site.id}/comments", data=nested, headers=JSON_HEADERS)
    assert resp.status_code == 201, resp.text


GUEST = {
    "url": POST_URL,
    "title": "First post",
    "body": "Hello",
    "name": "Grace",
    "email": "grace@example.com",
    "website": "https://grace.example",
}
POST_FIELDS = [
    "body",
    "name",
    "email",
    "website",
    "url",
    "title",
    "idempotency_key",
    "notify_email",
    "hp",
]


@pytest.mark.parametrize("escape", UNSTORABLE)
@pytest.mark.parametrize("field", POST_FIELDS)
def test_unstorable_text_in_a_posted_field_is_invalid_input(
    client: FlaskClient, site: Site, field: str, escape: str
) -> None:
    raw = with_escape({**GUEST, "notify": True, field: PLACEHOLDER}, escape)
    resp = client.post(f"/api/v1/sites/{site.id}/comments", data=raw, headers=JSON_HEADERS)
    assert_error(resp, 400, "invalid_input", field)
    assert comment_count() == 0


@pytest.mark.parametrize("escape", UNSTORABLE)
def test_unstorable_text_in_a_name_or_deep_inside_is_refused(
    client: FlaskClient, site: Site, escape: str
) -> None:
    path = f"/api/v1/sites/{site.id}/comments"
    raw = json.dumps({**GUEST, PLACEHOLDER: 1}).replace(PLACEHOLDER, f"x{escape}")
    resp = client.post(path, data=raw, headers=JSON_HEADERS)
    assert_error(resp, 400, "invalid_input", f"x{escape.replace('u0000', 'x00')}")
    raw = with_escape({**GUEST, "extra": [{"a": PLACEHOLDER}]}, escape)
    assert_error(
        client.post(path, data=raw, headers=JSON_HEADERS), 400, "invalid_input", "extra[0].a"
    )


@pytest.mark.parametrize("escape", UNSTORABLE)
@pytest.mark.parametrize("field", ["body", "edit_token"])
def test_unstorable_text_in_an_edit_is_invalid_input(
    client: FlaskClient, site: Site, comment: Comment, field: str, escape: str
) -> None:
    payload = {"body": "Changed", "edit_token": edit_token(comment.id), field: PLACEHOLDER}
    resp = client.patch(
        f"/api/v1/sites/{site.id}/comments/{comment.id}",
        data=with_escape(payload, escape),
        headers=JSON_HEADERS,
    )
    assert_error(resp, 400, "invalid_input", field)
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).body == "Already here"


@pytest.mark.parametrize(
    ("write", "payload", "field"),
    [
        ("delete comment", {"edit_token": PLACEHOLDER}, "edit_token"),
        ("start login", {"provider": PLACEHOLDER}, "provider"),
        ("start login", {"provider": "dev", "return_url": PLACEHOLDER}, "return_url"),
        ("claim login", {"secret": PLACEHOLDER, "code": "c"}, "secret"),
        ("claim login", {"secret": "s", "code": PLACEHOLDER}, "code"),
        ("privacy request", {"email": PLACEHOLDER}, "email"),
        ("delete me", {"confirm": PLACEHOLDER}, "confirm"),
    ],
)
@pytest.mark.parametrize("escape", UNSTORABLE)
def test_unstorable_text_in_other_writes_is_invalid_input(
    client: FlaskClient,
    site: Site,
    comment: Comment,
    write: str,
    payload: dict[str, Any],
    field: str,
    escape: str,
) -> None:
    method, path = writes(site, comment)[write]
    resp = client.open(path, method=method, data=with_escape(payload, escape), headers=JSON_HEADERS)
    assert_error(resp, 400, "invalid_input", field)
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).status is CommentStatus.APPROVED


@pytest.mark.parametrize("number", [2**63, -(2**63) - 1, 2**70, 10**4000])
@pytest.mark.parametrize("field", ["parent_id", "fill_ms", "notify"])
def test_an_integer_beyond_64_bits_is_invalid_input(
    client: FlaskClient, site: Site, field: str, number: int
) -> None:
    raw = json.dumps({**GUEST, field: number})
    resp = client.post(f"/api/v1/sites/{site.id}/comments", data=raw, headers=JSON_HEADERS)
    assert_error(resp, 400, "invalid_input", field)


@pytest.mark.parametrize(
    "raw", ["NaN", '{"body": Infinity}', '{"n": ' + "9" * 5000 + "}", b'{"a": "\xff"}']
)
def test_what_python_reads_but_json_is_not_is_invalid_json(
    client: FlaskClient, site: Site, raw: str | bytes
) -> None:
    resp = client.post(f"/api/v1/sites/{site.id}/comments", data=raw, headers=JSON_HEADERS)
    assert_error(resp, 400, "invalid_json")


# --- The API: query strings and paths ---------------------------------------------------

# What a surrogate can look like in a URL: Werkzeug keeps undecodable bytes percent-encoded.
QUERY_URLS = ["%ED%A0%80", "https://blog.example/%ED%A0%80", "%5Cud800", "x%00y", "%FF"]


@pytest.mark.parametrize("url", QUERY_URLS)
@pytest.mark.parametrize("read", ["thread", "counts"])
def test_odd_urls_in_reads_answer_without_error(
    client: FlaskClient, site: Site, read: str, url: str
) -> None:
    resp = client.get(f"/api/v1/sites/{site.id}/{read}?url={url}")
    assert resp.status_code in {200, 400}, resp.text
    if resp.status_code == 400:
        assert resp.get_json()["error"]["field"] == "url"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=99999999999999999999", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        (f"page={2**63}", "page"),
        (f"per_page={2**70}", "page"),
        ("per_page=1e3", "per_page"),
        ("per_page=-5", "page"),
    ],
)
def test_out_of_range_paging_is_a_validation_error(
    client: FlaskClient, site: Site, query: str, field: str
) -> None:
    resp = client.get(f"/api/v1/sites/{site.id}/thread?url={POST_URL}&{query}")
    assert_error(resp, 400, "validation_error", field)


def test_a_nul_in_the_path_names_nothing(client: FlaskClient, site: Site) -> None:
    # Names, not errors: PostgreSQL refuses a NUL in any text it is sent.
    resp = client.get(f"/api/v1/sites/a%00b/thread?url={POST_URL}")
    assert_error(resp, 404, "site_not_found")
    resp = client.post(
        f"/api/v1/sites/{site.id}/logins/a%00b/claim",
        json={"secret": "s", "code": "c"},
        headers={"Origin": HOST_ORIGIN},
    )
    assert_error(resp, 400, "validation_error", "flow")


# --- The dashboard ------------------------------------------------------------------------


@pytest.fixture
def dash(client: FlaskClient, site: Site) -> Dashboard:
    dashboard = Dashboard(client)
    assert dashboard.sign_in(make_moderator(site).email).status_code == 302
    return dashboard


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("page=99999999999999999999", False),  # clamped to the last page there can be
        (f"page={2**62}", False),
        (f"page={2**63}", False),
        ("page=-1", True),  # the first page
        ("page=0", True),
        ("page=abc", True),
        (f"thread={2**70}", False),  # an id no row can have names no thread
        (f"thread={2**31}", False),
        ("thread=-5", False),
        ("thread=abc", True),  # not a number: no filter
    ],
)
def test_out_of_range_queue_parameters_give_a_page(
    dash: Dashboard, site: Site, query: str, shown: bool
) -> None:
    make_comment(site, body="Waiting here", status=None)
    resp = dash.client.get(f"/dashboard/?{query}")
    assert resp.status_code == 200
    assert ("Waiting here" in resp.text) is shown


@pytest.mark.parametrize("path", ["bans/{n}/lift", "linked/{n}/remove"])
@pytest.mark.parametrize("n", [2**63, 2**70])
def test_ids_no_row_can_have_are_not_found(dash: Dashboard, path: str, n: int) -> None:
    resp = dash.client.post(f"/dashboard/{path.format(n=n)}", data={"csrf_token": dash.token()})
    assert resp.status_code == 302
    assert "There is no such" in dash.client.get(resp.headers["Location"]).text


def test_moderation_actions_on_huge_ids_change_nothing(
    dash: Dashboard, site: Site, comment: Comment
) -> None:
    for resp in (
        dash.act("approve", [2**70], one=True),
        dash.act("reject", [comment.id, 2**70]),
        dash.client.post(
            f"/dashboard/comments/{2**70}/ban", data={"csrf_token": dash.token(), "days": "5"}
        ),
    ):
        assert resp.status_code == 302
    assert db.session.scalar(select(func.count(Ban.id))) == 0
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).status is CommentStatus.APPROVED


def test_a_nul_in_a_dashboard_value_is_refused_plainly(
    dash: Dashboard, site: Site, comment: Comment
) -> None:
    resp = dash.client.get("/dashboard/?q=a%00b")
    assert resp.status_code == 302
    assert "cannot be stored" in dash.client.get(resp.headers["Location"]).text
    token = dash.token()
    resp = dash.client.post(
        f"/dashboard/comments/{comment.id}/edit", data={"csrf_token": token, "body": "a\x00b"}
    )
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(Comment, comment.id).body == "Already here"


def test_a_nul_in_the_sign_in_form_is_refused(client: FlaskClient, site: Site) -> None:
    make_moderator(site, email="mod@example.com")
    resp = Dashboard(client).sign_in("mod@example.com\x00")
    assert resp.status_code in {302, 400}
    assert client.get("/dashboard/").status_code == 302  # still signed out


def test_a_nul_on_another_page_is_a_plain_400(client: FlaskClient, site: Site) -> None:
    resp = client.get(f"/feeds/sites/{site.id}/thread.atom?url=a%00b")
    assert resp.status_code == 400 and "cannot be stored" in resp.text
