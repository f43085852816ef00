"""Helpers that more than one test module uses: an app on a fresh database, a browser-like
dashboard client, the Dev sign-in, threads released together, awkward input and import data.

Model factories are in tests/factories.py, fixtures in tests/conftest.py.
"""

from __future__ import annotations

import html
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from flask import Flask, current_app, has_app_context
from flask.ctx import RequestContext
from sqlalchemy import event, text

from app import create_app
from app.extensions import db, limiter
from app.services import cache, generations
from config import TestingConfig
from tests.factories import HOST_ORIGIN, MODERATOR_PASSWORD, post_json

# --- apps and databases -------------------------------------------------------------------


def database_url(tmp_path: Path) -> str:
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'test.db'}"


def reset_database() -> None:
    """Drop everything, including Alembic's table, so each test starts from nothing."""
    db.drop_all()
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


class OwnAppContext(RequestContext):
    """A request context that brings an app context of its own, as on a server.

    Flask would otherwise run a request from the test's thread (the test client, Schemathesis)
    in the test's app context, and with it share `g`, where Flask-Login, Flask-WTF and the API
    keep per-request state, and the database session. The test's context stays for setting up
    and for looking at the database afterwards. Its transaction ends before each request, so
    that the request sees what the test wrote and the test then reads what the request wrote
    (a transaction on SQLite reads from one snapshot).
    """

    def push(self) -> None:
        if not self._cv_tokens:  # the first push (stream_with_context pushes again)
            if has_app_context() and current_app._get_current_object() is self.app:
                db.session.commit()  # the test's (a live server's threads have no context)
            self._own_app_ctx = self.app.app_context()
            self._own_app_ctx.push()
        super().push()  # finds the context above and makes it the request's

    def pop(self, *exc: BaseException | None) -> None:
        last = len(self._cv_tokens) == 1
        try:
            super().pop(*exc)
        finally:
            if last:
                self._own_app_ctx.pop(*exc)


@contextmanager
def fresh_app(tmp_path: Path, **overrides: object) -> Iterator[Flask]:
    """An app on an empty database, inside an app context for the test's own set-up and
    checks; each request runs in a context of its own."""
    namespace = f"afterword-test-{uuid.uuid4().hex}:"
    app = create_app(
        TestingConfig,
        SQLALCHEMY_DATABASE_URI=database_url(tmp_path),
        CACHE_KEY_PREFIX=namespace,
        **overrides,
    )
    app.request_context = partial(OwnAppContext, app)  # type: ignore[method-assign]
    with app.app_context():
        limiter.reset()  # one limiter serves every test app; Redis would carry counts over
        # and it stays on its in-memory fallback once any test made it fall back: no test
        # starts on it (Flask-Limiter has no public way back but a later health check).
        limiter._storage_dead = False
        reset_database()
        db.create_all()
        yield app
        # Only an error raised while checking a limit (a key that could not read the request)
        # sends the limiter to its fallback here: no test takes the storage away from it.
        generations.stop_watching()  # each app has a channel of its own
        assert not limiter._storage_dead, "checking a rate limit raised; see the log"
        db.session.remove()
        reset_database()
        db.engine.dispose()


def statements_during(action: Callable[[], object]) -> list[tuple[str, Any]]:
    """The SQL statements, with their parameters, that `action` (requests included, each in
    its own app context and session) sent to the database."""
    sent: list[tuple[str, Any]] = []

    def note(_conn, _cursor, statement, parameters, _context, _executemany) -> None:
        sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        action()
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    return sent


def cold_cache() -> None:
    """Nothing cached, in the cache or kept in this process (with Redis, what a process keeps
    is served while the generations it heard of stand, though Redis was emptied)."""
    cache.store().clear()
    cache.LOCAL.clear()
    cache.PRIVATE_LOCAL.clear()


def selects_during(action: Callable[[], object]) -> int:
    """How many SELECTs `action` made: what a cache or an eager load should save."""
    return sum(s.lstrip().upper().startswith("SELECT") for s, _ in statements_during(action))


# --- the dashboard ------------------------------------------------------------------------


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def leaving_for(page: str) -> str:
    """The provider's address a dashboard page moves on to (dashboard/leaving.html)."""
    match = re.search(r'<meta http-equiv="refresh" content="0;url=([^"]+)"', page)
    assert match, "the page moves on to nowhere"
    return html.unescape(match.group(1))


class Dashboard:
    """A browser-like helper: signs in, and posts forms with the token from the page."""

    def __init__(self, client) -> None:
        self.client = client

    def sign_in(self, email: str, password: str = MODERATOR_PASSWORD):
        page = self.client.get("/dashboard/login")
        return self.client.post(
            "/dashboard/login",
            data={"email": email, "password": password, "csrf_token": csrf_from(page.text)},
        )

    def token(self, path: str = "/dashboard/") -> str:
        return csrf_from(self.client.get(path).text)

    def act(self, action: str, ids: list[int], *, one: bool = False, **extra):
        url = f"/dashboard/comments/act?one={ids[0]}" if one else "/dashboard/comments/act"
        data = {"action": action, "ids": ids, "csrf_token": self.token(), **extra}
        return self.client.post(url, data=data)


# --- the Dev sign-in ----------------------------------------------------------------------


def new_flow(client, site, **payload):
    payload.setdefault("provider", "dev")
    return post_json(client, site, payload, path="logins")


def dev_sign_in(client, flow_id: str, name: str = "Ada Lovelace"):
    """Fill in the Dev provider's page in the popup, CSRF token included."""
    page = client.get(f"/auth/dev/start?flow={flow_id}")
    assert page.status_code == 200
    token = page.get_data(as_text=True).split('name="csrf_token" type="hidden" value="')[1]
    return client.post(
        f"/auth/dev/start?flow={flow_id}",
        data={"name": name, "csrf_token": token.split('"')[0]},
    )


def handed_code(done) -> str:
    """The one-time code the last page hands to the page that started the flow."""
    if done.status_code == 303:
        return done.headers["Location"].rpartition("#afterword-login=")[2].partition(".")[2]
    match = re.search(r'code: "([\w-]+)"', done.get_data(as_text=True))
    assert match, "no code on the page"
    return match.group(1)


def claim(client, site, flow_id: str, origin: str = HOST_ORIGIN, **body):
    return post_json(client, site, body, path=f"logins/{flow_id}/claim", origin=origin)


def signed_in_token(client, site, name: str = "Ada Lovelace") -> str:
    """A reader signed in through the Dev provider; their bearer token."""
    started = new_flow(client, site).json
    code = handed_code(dev_sign_in(client, started["flow"], name))
    return claim(client, site, started["flow"], secret=started["secret"], code=code).json["token"]


# --- threads ------------------------------------------------------------------------------

WRITERS = 32  # as many writers at once as a busy post sees; SQLite must hold them too


def run_together(app: Flask, work: Callable[[int], Any]) -> list:
    """Run `work(i)` in WRITERS threads released at the same moment; return their results."""
    barrier = threading.Barrier(WRITERS)
    results: list = [None] * WRITERS

    def worker(i: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                results[i] = work(i)
            except Exception as err:
                results[i] = err
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


# --- input no column holds, and import files ----------------------------------------------

DEEP_ARRAYS = "[" * 100_000 + "]" * 100_000
# Raw JSON escapes: a lone high surrogate, a lone low one, a NUL.
UNSTORABLE = ["\\ud800", "\\udfff", "\\u0000"]
PLACEHOLDER = "@@unstorable@@"

IMPORT_DATA = Path(__file__).parent / "data" / "imports"
# Isso's own schema (isso/db/threads.py and comments.py); the file is made at test time so
# that no binary sits in the repository.
ISSO_SCHEMA = """
CREATE TABLE threads (id INTEGER PRIMARY KEY, uri VARCHAR(256) UNIQUE, title VARCHAR(256));
CREATE TABLE comments (
    tid REFERENCES threads(id), id INTEGER PRIMARY KEY, parent INTEGER,
    created FLOAT NOT NULL, modified FLOAT, mode INTEGER, remote_addr VARCHAR,
    text VARCHAR NOT NULL, author VARCHAR, email VARCHAR, website VARCHAR,
    likes INTEGER DEFAULT 0, dislikes INTEGER DEFAULT 0, voters BLOB NOT NULL,
    notification INTEGER DEFAULT 0
);
CREATE TABLE preferences (key VARCHAR PRIMARY KEY, value VARCHAR);
"""


# Cusdis's tables as its Prisma migrations leave them (prisma/sqlite/migrations, through
# 20211124142411_add_display_name); made at test time, like Isso's.
CUSDIS_SCHEMA = """
CREATE TABLE "users" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT,
    "email" TEXT,
    "email_verified" DATETIME,
    "image" TEXT,
    "created_at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "enable_new_comment_notification" BOOLEAN DEFAULT true,
    "notification_email" TEXT,
    "displayName" TEXT
);
CREATE TABLE "projects" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "title" TEXT NOT NULL,
    "created_at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deleted_at" DATETIME,
    "ownerId" TEXT NOT NULL,
    "token" TEXT,
    "fetch_latest_comments_at" DATETIME,
    "enable_notification" BOOLEAN DEFAULT true,
    "webhook" TEXT,
    "enableWebhook" BOOLEAN,
    CONSTRAINT "projects_ownerId_fkey" FOREIGN KEY ("ownerId") REFERENCES "users" ("id")
        ON DELETE RESTRICT ON UPDATE CASCADE
);
CREATE TABLE "pages" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "slug" TEXT NOT NULL,
    "url" TEXT,
    "title" TEXT,
    "created_at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "projectId" TEXT NOT NULL,
    CONSTRAINT "pages_projectId_fkey" FOREIGN KEY ("projectId") REFERENCES "projects" ("id")
        ON DELETE RESTRICT ON UPDATE CASCADE
);
CREATE INDEX "projectId" ON "pages"("projectId");
CREATE TABLE "comments" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "pageId" TEXT NOT NULL,
    "created_at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deletedAt" DATETIME,
    "moderatorId" TEXT,
    "by_email" TEXT,
    "by_nickname" TEXT NOT NULL,
    "content" TEXT NOT NULL,
    "approved" BOOLEAN NOT NULL DEFAULT false,
    "parentId" TEXT,
    CONSTRAINT "comments_pageId_fkey" FOREIGN KEY ("pageId") REFERENCES "pages" ("id")
        ON DELETE RESTRICT ON UPDATE CASCADE,
    CONSTRAINT "comments_moderatorId_fkey" FOREIGN KEY ("moderatorId") REFERENCES "users" ("id")
        ON DELETE SET NULL ON UPDATE CASCADE,
    CONSTRAINT "comments_parentId_fkey" FOREIGN KEY ("parentId") REFERENCES "comments" ("id")
        ON DELETE SET NULL ON UPDATE CASCADE
);
"""


def plain_permalink_export(tmp_path: Path, link: str, text: str) -> Path:
    """A WordPress export of one post on a blog with plain permalinks: its <link> is `/?p=N`."""
    path = tmp_path / "plain.xml"
    path.write_text(
        f"""<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/"><channel>
<item><title>Plain bread</title><link>{xml_escape(link)}</link>
<wp:post_id>123</wp:post_id><wp:post_date_gmt>2019-04-01 08:00:00</wp:post_date_gmt>
<wp:status>publish</wp:status><wp:post_type>post</wp:post_type>
<wp:comment><wp:comment_id>7</wp:comment_id><wp:comment_author>Zoë</wp:comment_author>
<wp:comment_date_gmt>2019-04-02 10:11:12</wp:comment_date_gmt>
<wp:comment_content>{xml_escape(text)}</wp:comment_content>
<wp:comment_approved>1</wp:comment_approved><wp:comment_parent>0</wp:comment_parent>
</wp:comment></item></channel></rss>""",
        encoding="utf-8",
    )
    return path
