"""The OpenAPI description (app/api/openapi.json) stays true to the API.

Schemathesis generates requests from the description, valid and invalid, sends them to the
app in-process, and checks every answer against it: a documented status code, a body of the
documented shape, invalid input refused, never a 500. The requests carry the test site's real
id and origin, since otherwise every one of them would stop at `site_not_found` or
`origin_not_allowed`. What random requests cannot reach (a guest's edit token, a finished
sign-in, rate limits, a database outage) is walked through below with the same checks.
"""

from __future__ import annotations

import importlib
import itertools
import json
import pkgutil
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from sqlalchemy import select
from werkzeug.exceptions import default_exceptions

import app as app_package
from app import create_app
from app.domain.errors import DomainError
from app.domain.states import CommentStatus
from app.errors import http_error_code
from app.extensions import db
from app.models import Comment, Site
from app.services import identities, moderation
from app.services.identities import Profile
from app.services.tokens import reader_token
from config import TestingConfig
from tests.factories import HOST_ORIGIN, POST_URL, make_comment, make_moderator
from tests.helpers import dev_sign_in, fresh_app, handed_code

SPEC_PATH = "/api/v1/openapi.json"
SPEC_FILE = Path(__file__).resolve().parents[1] / "app" / "api" / "openapi.json"
# Fixed, so that the schema can be configured when this module is imported (see below).
SITE_ID = "0a1b2c3d4e5f"
# Accept-Encoding: the test client does not undo Flask-Compress, as a browser would.
HEADERS = {"Origin": HOST_ORIGIN, "Accept-Encoding": "identity"}

# Built from the file rather than fetched from the app: the app lives in a per-test fixture,
# and schemathesis.pytest.from_fixture breaks on pytest 9.2 (it reads `Function._nodeid`,
# which is gone). The first test checks that the app serves exactly this file.
schema = schemathesis.openapi.from_path(
    SPEC_FILE,
    config=schemathesis.Config.from_dict(
        {
            "headers": HEADERS,
            "parameters": {"path.site_id": SITE_ID},
            "generation": {"max-examples": 25, "deterministic": True, "database": "none"},
            # Whether a well-formed request succeeds depends on what the server holds, which
            # no schema can say: a page URL must be on one of the site's origins, a provider
            # must be configured. Those answers are documented 4xx, checked like any other.
            "checks": {"positive_data_acceptance": {"enabled": False}},
        }
    ),
)


@pytest.fixture
def api_app(tmp_path: Path) -> Iterator[Flask]:
    # Dev sign-in on, so that the site offers a provider and a sign-in can succeed.
    with fresh_app(tmp_path, DEV_LOGIN=True) as app:
        yield app


@pytest.fixture
def site(api_app: Flask) -> Site:
    """A site with a thread that holds every kind of comment the widget may be sent."""
    site = Site(id=SITE_ID, name="Blog", origins=[HOST_ORIGIN])
    db.session.add(site)
    db.session.commit()
    root = make_comment(site, body="A *first* comment")
    make_comment(site, body="A reply", parent=root)
    make_comment(site, body="Waiting for a moderator", status=CommentStatus.PENDING)
    gone = make_comment(site, body="Taken back")
    make_comment(site, body="Still here under a deleted one", parent=gone)
    moderation.set_status(gone, CommentStatus.DELETED)
    make_comment(site, body="Rejected", status=CommentStatus.REJECTED)
    reader = identities.sign_in(
        Profile(provider="dev", provider_user_id="ada", name="Ada", handle=None, avatar_url=None)
    )
    make_comment(site, body="Signed in", user=reader)
    moderation.reply_as_site(make_moderator(site), root.id, "Thanks, from the site")
    return site


def test_the_served_document_is_the_file_and_valid_openapi(api_app: Flask) -> None:
    client = api_app.test_client()
    resp = client.get(SPEC_PATH)
    assert resp.status_code == 200
    assert resp.mimetype == "application/json"
    assert resp.cache_control.public
    document = resp.get_json()
    assert document == json.loads(SPEC_FILE.read_text())
    assert document["openapi"].startswith("3.1.")
    validate(document)
    assert client.get(SPEC_PATH, headers={"If-None-Match": resp.headers["ETag"]}).status_code == 304


def test_every_api_route_is_described(api_app: Flask) -> None:
    """A route added to the API without a description would be tested by nothing here."""
    document = json.loads(SPEC_FILE.read_text())
    described = {
        (method.upper(), re.sub(r"\{[^}]*\}", "{}", path))
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    served = {
        (method, re.sub(r"<[^>]*>", "{}", rule.rule.removeprefix("/api/v1")))
        for rule in api_app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and rule.rule != SPEC_PATH
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert served == described


# Codes the API blueprint never answers, each with where it is answered instead.
NOT_FROM_THE_API = {
    "bad_request": "DomainError's own code: only its subclasses are raised",
    "import_format": "`flask import`",
    "link_invalid": "links in mails, opened on /notifications, /privacy and /dashboard pages",
    "link_expired": "links in mails, opened on /notifications, /privacy and /dashboard pages",
    "invalid_signed_request": "Facebook's data-deletion callback, /auth/facebook/data-deletion",
    "internal_error": "a bug, never an answer: the checks below fail on any 500",
}
# HTTP errors that Flask and its extensions raise on API routes (their codes: app/errors.py).
HTTP_ERRORS_OF_THE_API = (404, 405, 413, 429)


def error_classes(base: type[DomainError]) -> Iterator[type[DomainError]]:
    for subclass in base.__subclasses__():
        yield subclass
        yield from error_classes(subclass)


def documented_error_codes(node: object, under_code: bool = False) -> Iterator[str]:
    """Every `enum` or `const` value given to an error's `code` in the description."""
    if isinstance(node, dict):
        if under_code:
            yield from node.get("enum", [])
            if "const" in node:
                yield node["const"]
        for key, value in node.items():
            yield from documented_error_codes(value, under_code=key == "code")
    elif isinstance(node, list):
        for value in node:
            yield from documented_error_codes(value)


def test_every_error_code_of_the_api_is_described() -> None:
    # Error classes live beside what raises them (services, blueprints): import them all.
    for module in pkgutil.walk_packages(app_package.__path__, "app."):
        importlib.import_module(module.name)
    codes = {cls.code for cls in error_classes(DomainError)} | {DomainError.code}
    source = (SPEC_FILE.parents[1] / "errors.py").read_text()
    codes |= set(re.findall(r'error_body\(\d+, "([a-z_]+)"', source))
    codes |= {http_error_code(default_exceptions[status]()) for status in HTTP_ERRORS_OF_THE_API}
    assert set(NOT_FROM_THE_API) <= codes, "an exception above names a code that is gone"

    documented = set(documented_error_codes(json.loads(SPEC_FILE.read_text())))
    assert sorted(codes - set(NOT_FROM_THE_API) - documented) == []


# --- Generated requests ---------------------------------------------------------------------

# Ids are `integer` columns: 32 bits on PostgreSQL, 64 on SQLite; offsets are 64 bits.
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_fresh_keys = itertools.count()


@schema.parametrize()
# One app and its data serve every example of an operation, as one server serves many requests.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_api_conforms_to_its_description(
    case: schemathesis.Case, api_app: Flask, site: Site
) -> None:
    if case.operation.method.upper() == "POST" and isinstance(case.body, dict):
        key = case.body.get("idempotency_key")
        if isinstance(key, str) and IDEMPOTENCY_KEY.match(key):
            # Each generated comment is a first submit. Retries are walked through below: a
            # retry answers what was stored the first time, so the rest of it is not checked.
            case.body["idempotency_key"] = f"generated-{next(_fresh_keys):08d}"
    case.call_and_validate(app=api_app)


# --- Walk-throughs, checked the same way ----------------------------------------------------


def call(
    app: Flask,
    method: str,
    path: str,
    status: int,
    *,
    headers: dict[str, str] | None = None,
    excluded: tuple[Any, ...] = (),
    **case: Any,
) -> schemathesis.Response:
    """Send one request through the description, run every check on the answer.

    A 503 is documented, and is the point where the database is away; only the check that
    no answer is a 5xx is left out for it.
    """
    case.setdefault("path_parameters", {})["site_id"] = SITE_ID
    if case.get("body") is not None:
        case.setdefault("media_type", "application/json")
    made = schema[path][method].Case(headers={**HEADERS, **(headers or {})}, **case)
    excluded = [*excluded, *([schemathesis.checks.not_a_server_error] if status == 503 else [])]
    response = made.call_and_validate(app=app, excluded_checks=excluded)
    assert response.status_code == status, response.text
    return response


THREAD = "/sites/{site_id}/thread"
COUNTS = "/sites/{site_id}/counts"
COMMENTS = "/sites/{site_id}/comments"
COMMENT = "/sites/{site_id}/comments/{comment_id}"
LOGINS = "/sites/{site_id}/logins"
CLAIM = "/sites/{site_id}/logins/{flow}/claim"
ME = "/sites/{site_id}/me"
ME_EXPORT = "/sites/{site_id}/me/export"
PRIVACY = "/sites/{site_id}/privacy/requests"
EVIL = {"Origin": "https://evil.example"}
TOKEN_PROBE = (schemathesis.specs.openapi.checks.ignored_auth,)


def guest(**overrides: Any) -> dict[str, Any]:
    return {
        "url": POST_URL,
        "title": "First post",
        "body": "Hello *world*",
        "name": "Grace",
        "email": "grace@example.com",
        **overrides,
    }


def test_a_guest_posts_retries_reads_edits_and_deletes(api_app: Flask, site: Site) -> None:
    payload = guest(idempotency_key="retry-me-0001")
    posted = call(api_app, "POST", COMMENTS, 201, body=payload).json()
    assert call(api_app, "POST", COMMENTS, 200, body=payload).json() == posted
    comment_id, token = posted["comment"]["id"], posted["edit_token"]

    mine = call(api_app, "GET", THREAD, 200, query={"url": POST_URL, "mine": token}).json()
    assert mine["comments"][-1]["mine"] and "body" in mine["comments"][-1]

    public = call(api_app, "GET", THREAD, 200, query={"url": POST_URL, "per_page": 1})
    assert public.json()["next_page"] == 2
    etag = {"If-None-Match": public.headers["etag"][0]}
    call(api_app, "GET", THREAD, 304, query={"url": POST_URL, "per_page": 1}, headers=etag)
    counts = call(api_app, "GET", COUNTS, 200, query={"url": [POST_URL, "not a url"]})
    call(
        api_app,
        "GET",
        COUNTS,
        304,
        query={"url": [POST_URL, "not a url"]},
        headers={"If-None-Match": counts.headers["etag"][0]},
    )

    ids = {"site_id": SITE_ID, "comment_id": comment_id}
    edit = {"body": "Hello *everyone*", "edit_token": token}
    call(api_app, "PATCH", COMMENT, 200, path_parameters=ids, body=edit)
    call(api_app, "PATCH", COMMENT, 403, path_parameters=ids, body={"body": "Not mine"})
    call(api_app, "DELETE", COMMENT, 200, path_parameters=ids, body={"edit_token": token})
    call(api_app, "DELETE", COMMENT, 200, path_parameters=ids, body={"edit_token": token})
    call(api_app, "PATCH", COMMENT, 404, path_parameters=ids, body=edit)


def test_refusals_of_a_post(api_app: Flask, site: Site) -> None:
    call(api_app, "POST", COMMENTS, 201, body=guest(body="Once"))
    call(api_app, "POST", COMMENTS, 409, body=guest(body="Once"))
    call(api_app, "POST", COMMENTS, 422, body=guest(parent_id=10_000))
    call(api_app, "POST", COMMENTS, 400, body=guest(body="x" * 10_001))
    call(api_app, "POST", COMMENTS, 400, body=guest(url="https://elsewhere.example/"))
    call(api_app, "POST", COMMENTS, 413, body=guest(body="x" * 300_000))
    call(api_app, "POST", COMMENTS, 415, body="url=x", media_type="text/plain")
    call(api_app, "POST", COMMENTS, 403, body=guest(), headers={"Origin": "https://evil.example"})
    call(api_app, "POST", COMMENTS, 401, body=guest(), headers={"Authorization": "Bearer stale"})


def test_the_edit_window_closes(api_app: Flask, site: Site) -> None:
    posted = call(api_app, "POST", COMMENTS, 201, body=guest()).json()
    comment = db.session.get(Comment, posted["comment"]["id"])
    comment.created_at -= timedelta(hours=1)
    db.session.commit()
    ids = {"site_id": SITE_ID, "comment_id": comment.id}
    edit = {"body": "Too late", "edit_token": posted["edit_token"]}
    call(api_app, "PATCH", COMMENT, 403, path_parameters=ids, body=edit)


def test_a_reader_signs_in_posts_and_edits_with_the_token(api_app: Flask, site: Site) -> None:
    flow = call(api_app, "POST", LOGINS, 201, body={"provider": "dev", "popup": True}).json()
    claim = {"site_id": SITE_ID, "flow": flow["flow"]}
    unfinished = {"secret": flow["secret"], "code": "not-handed-out-yet"}
    call(api_app, "POST", CLAIM, 404, path_parameters=claim, body=unfinished)
    code = handed_code(dev_sign_in(api_app.test_client(), flow["flow"]))
    handed = {"secret": flow["secret"], "code": code}
    call(api_app, "POST", CLAIM, 400, path_parameters=claim, body={"secret": flow["secret"]})
    token = call(api_app, "POST", CLAIM, 200, path_parameters=claim, body=handed).json()["token"]
    call(api_app, "POST", CLAIM, 410, path_parameters=claim, body=handed)

    bearer = {"Authorization": f"Bearer {token}"}
    page = call(api_app, "GET", THREAD, 200, query={"url": POST_URL}, headers=bearer).json()
    assert page["viewer"]["provider"] == "dev"
    posted = call(
        api_app, "POST", COMMENTS, 201, body={"url": POST_URL, "body": "Me"}, headers=bearer
    )
    ids = {"site_id": SITE_ID, "comment_id": posted.json()["comment"]["id"]}
    call(api_app, "PATCH", COMMENT, 200, path_parameters=ids, body={"body": "Me!"}, headers=bearer)
    call(api_app, "DELETE", COMMENT, 200, path_parameters=ids, body={}, headers=bearer)

    stale = {"Authorization": "Bearer stale"}
    page = call(api_app, "GET", THREAD, 200, query={"url": POST_URL}, headers=stale).json()
    assert page["session_expired"] is True and page["viewer"] is None
    linked = {"provider": "dev", "return_url": POST_URL}
    call(api_app, "POST", LOGINS, 201, body=linked, headers=bearer)


def test_a_failed_sign_in_is_told_once(api_app: Flask, site: Site) -> None:
    from app.services import logins

    flow = call(api_app, "POST", LOGINS, 201, body={"provider": "dev"}).json()
    code = logins.fail_flow(logins.live_flow(flow["flow"], "dev"), "You said no.")
    claim = {"site_id": SITE_ID, "flow": flow["flow"]}
    body = {"secret": flow["secret"], "code": code}
    call(api_app, "POST", CLAIM, 400, path_parameters=claim, body=body)
    call(api_app, "POST", CLAIM, 410, path_parameters=claim, body=body)


def test_a_reader_downloads_their_data_and_deletes_the_account(api_app: Flask, site: Site) -> None:
    flow = call(api_app, "POST", LOGINS, 201, body={"provider": "dev", "popup": True}).json()
    code = handed_code(dev_sign_in(api_app.test_client(), flow["flow"]))
    claim = {"site_id": SITE_ID, "flow": flow["flow"]}
    handed = {"secret": flow["secret"], "code": code}
    token = call(api_app, "POST", CLAIM, 200, path_parameters=claim, body=handed).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    call(api_app, "POST", COMMENTS, 201, body={"url": POST_URL, "body": "Mine"}, headers=bearer)

    call(api_app, "GET", ME_EXPORT, 401)
    # The check that a token is needed probes over the network, not the app; the 401s here
    # walk that through instead.
    exported = call(api_app, "GET", ME_EXPORT, 200, headers=bearer, excluded=TOKEN_PROBE).json()
    assert [c["body"] for c in exported["comments"]] == ["Mine"]
    call(api_app, "DELETE", ME, 401, body={"confirm": True})
    call(api_app, "DELETE", ME, 400, body={"confirm": "yes"}, headers=bearer)
    call(api_app, "DELETE", ME, 415, body="confirm", media_type="text/plain", headers=bearer)
    deleted = call(
        api_app, "DELETE", ME, 200, body={"confirm": True}, headers=bearer, excluded=TOKEN_PROBE
    ).json()
    assert deleted == {"deleted": True, "comments_removed": 1}
    call(api_app, "GET", ME_EXPORT, 401, headers=bearer)


def test_a_guest_asks_for_a_link_to_their_data(api_app: Flask, site: Site) -> None:
    call(api_app, "POST", COMMENTS, 201, body=guest())
    accepted = call(api_app, "POST", PRIVACY, 202, body={"email": "grace@example.com"}).json()
    assert call(api_app, "POST", PRIVACY, 202, body={"email": "nobody@example.com"}).json() == (
        accepted
    )
    call(api_app, "POST", PRIVACY, 400, body={"email": "not an address"})
    call(api_app, "POST", PRIVACY, 403, body={"email": "grace@example.com"}, headers=EVIL)
    api_app.config.update(RATELIMIT_PRIVACY="1 per minute")
    call(api_app, "POST", PRIVACY, 202, body={"email": "ada@example.com"})
    call(api_app, "POST", PRIVACY, 429, body={"email": "ada@example.com"})


def test_rate_limits_answer_429(api_app: Flask, site: Site) -> None:
    api_app.config.update(
        RATELIMIT_READ="1 per minute", RATELIMIT_POST="1 per minute", RATELIMIT_LOGIN="1 per minute"
    )
    call(api_app, "GET", THREAD, 200, query={"url": POST_URL})
    call(api_app, "GET", COUNTS, 429, query={"url": [POST_URL]})  # reads share one limit
    call(api_app, "POST", COMMENTS, 201, body=guest())
    call(api_app, "POST", COMMENTS, 429, body=guest(body="Again"))
    call(api_app, "POST", LOGINS, 201, body={"provider": "dev"})
    call(api_app, "POST", LOGINS, 429, body={"provider": "dev"})


def test_a_database_outage_answers_503_everywhere() -> None:
    # Nothing listens on port 1: every request fails to reach the database at once.
    app = create_app(
        TestingConfig, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:1/none"
    )
    ids = {"site_id": SITE_ID, "comment_id": 1}
    call(app, "GET", "/sites/{site_id}/config", 503)
    call(app, "GET", THREAD, 503, query={"url": POST_URL})
    call(app, "GET", COUNTS, 503, query={"url": [POST_URL]})
    call(app, "POST", COMMENTS, 503, body=guest())
    call(app, "PATCH", COMMENT, 503, path_parameters=ids, body={"body": "x"})
    call(app, "DELETE", COMMENT, 503, path_parameters=ids, body={})
    call(app, "POST", LOGINS, 503, body={"provider": "dev"})
    call(app, "POST", CLAIM, 503, path_parameters={"site_id": SITE_ID, "flow": "abc"})


# --- Numbers no database column holds ---------------------------------------------------------


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_a_comment_id_beyond_64_bits_is_not_found(api_app: Flask, site: Site, method: str) -> None:
    ids = {"site_id": SITE_ID, "comment_id": INT64_MAX + 1}
    call(api_app, method, COMMENT, 404, path_parameters=ids, body={"body": "x"})


def test_a_parent_id_no_row_can_have_is_not_found(api_app: Flask, site: Site) -> None:
    call(api_app, "POST", COMMENTS, 422, body=guest(parent_id=INT64_MAX))


def test_a_number_beyond_64_bits_is_refused_as_it_is_read(api_app: Flask, site: Site) -> None:
    refused = call(api_app, "POST", COMMENTS, 400, body=guest(parent_id=INT64_MAX + 1)).json()
    assert refused["error"]["code"] == "invalid_input"
    assert refused["error"]["field"] == "parent_id"


def test_a_page_far_beyond_any_thread_is_refused(api_app: Flask, site: Site) -> None:
    query = {"url": POST_URL, "page": INT64_MAX // 100 + 2, "per_page": 100}
    assert call(api_app, "GET", THREAD, 400, query=query).json()["error"]["field"] == "page"


def test_a_retry_with_another_parent_is_a_conflict(api_app: Flask, site: Site) -> None:
    root = make_comment(site, body="Root")
    payload = guest(body="A reply", idempotency_key="retry-me-0002")
    call(api_app, "POST", COMMENTS, 201, body=payload)
    call(api_app, "POST", COMMENTS, 409, body={**payload, "parent_id": root.id})


LIKE = "/sites/{site_id}/comments/{comment_id}/like"


def test_readers_like_and_take_it_back(api_app: Flask, site: Site) -> None:
    def comment_id(body: str) -> int:
        return db.session.scalars(select(Comment.id).where(Comment.body == body)).one()

    def ids(body: str) -> dict[str, Any]:
        return {"site_id": SITE_ID, "comment_id": comment_id(body)}

    guest_like = {"browser": "q3ZtV0m9Xc1bN7kLr2Hs8w"}
    first = ids("A *first* comment")
    assert call(api_app, "PUT", LIKE, 200, path_parameters=first, body=guest_like).json() == {
        "likes": 1,
        "liked": True,
    }
    call(api_app, "PUT", LIKE, 200, path_parameters=first, body=guest_like)
    call(api_app, "DELETE", LIKE, 200, path_parameters=first, body=guest_like)
    call(api_app, "DELETE", LIKE, 200, path_parameters=first, body=guest_like)
    call(api_app, "PUT", LIKE, 400, path_parameters=first, body={"browser": "short"})
    call(
        api_app,
        "PUT",
        LIKE,
        401,
        path_parameters=first,
        body={},
        headers={"Authorization": "Bearer stale"},
    )
    call(api_app, "PUT", LIKE, 403, path_parameters=first, body=guest_like, headers=EVIL)
    call(api_app, "PUT", LIKE, 404, path_parameters=ids("Waiting for a moderator"), body=guest_like)
    call(api_app, "PUT", LIKE, 409, path_parameters=ids("Taken back"), body=guest_like)
    call(api_app, "PUT", LIKE, 415, path_parameters=first, body="x", media_type="text/plain")

    ada = db.session.scalars(select(Comment.user_id).where(Comment.body == "Signed in")).one()
    bearer = {"Authorization": f"Bearer {reader_token(ada, SITE_ID, 'dev')}"}
    own = ids("Signed in")
    call(
        api_app,
        "PUT",
        LIKE,
        403,
        path_parameters=own,
        body={},
        headers=bearer,
        excluded=TOKEN_PROBE,
    )
    call(
        api_app,
        "PUT",
        LIKE,
        200,
        path_parameters=first,
        body={},
        headers=bearer,
        excluded=TOKEN_PROBE,
    )

    page = call(api_app, "GET", THREAD, 200, query={"url": POST_URL}, headers=bearer).json()
    liked = next(c for c in page["comments"] if c["id"] == first["comment_id"])
    assert liked["likes"] == 1 and liked["liked"] is True

    reply = ids("A reply")
    # (The cap per address is tests/test_likes.py's: these requests come from no address.)
    api_app.config.update(RATELIMIT_LIKE="1 per minute")
    call(api_app, "PUT", LIKE, 200, path_parameters=reply, body=guest_like)
    call(api_app, "DELETE", LIKE, 429, path_parameters=reply, body=guest_like)
