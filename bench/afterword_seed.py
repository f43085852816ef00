"""A fresh Afterword database, migrated and seeded in bulk.

Posting 11,000 comments through the API would take minutes, so rows go in with one
`insert(Comment)` per thread, keeping the invariants the comment service keeps:

- `root_id` is the top-level ancestor (the comment itself when top-level);
- `html` is rendered from `body` with the service's own renderer, as on a real write;
- a thread's `approved_count` equals its number of approved comments.

Ids are assigned here, so that replies can name their parent and root before anything is
written; PostgreSQL's sequence is moved past them afterwards, or the first API post would
collide with a seeded id.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from plan import ORIGIN, Plan, PlannedComment, count_path, thread_path
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = secrets.token_hex(32)  # a throwaway key for a throwaway database


class SetupError(RuntimeError):
    """The database could not be prepared."""


@dataclass(frozen=True)
class Seeded:
    site_id: str
    comments: int
    threads: int
    seconds: float


def sqlite_url(workdir: Path) -> str:
    return f"sqlite:///{workdir / 'afterword.db'}"


def recreate_postgres(url: str) -> None:
    """Drop and create the benchmark database, connected to the server's `postgres` db."""
    import psycopg  # only needed for PostgreSQL runs; checked before anything starts

    target = make_url(url)
    admin = target.set(drivername="postgresql", database="postgres")
    conninfo = admin.render_as_string(hide_password=False)
    name = target.database
    if not name or not name.replace("_", "").isalnum():
        raise SetupError(f"refusing to recreate a database named {name!r}")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        # WITH (FORCE) ends sessions a previous, interrupted run may have left open.
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


# All load comes from one loopback address, standing in for thousands of readers: the
# per-address limits stay on (their cost is part of every request) but far out of reach.
UNREACHABLE_LIMIT = "1000000 per minute"


def server_env(
    database_url: str, workdir: Path, public_url: str, redis_url: str | None = None
) -> dict[str, str]:
    """What Afterword reads in production; nothing inherited may point it elsewhere."""
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "FLASK_DEBUG"}}
    env.update(
        AFTERWORD_ENV="production",
        SECRET_KEY=SECRET_KEY,
        DATABASE_URL=database_url,
        PUBLIC_URL=public_url,
        # Keeps the run from touching the repository's instance/ directory.
        AFTERWORD_INSTANCE_DIR=str(workdir / "instance"),
        FLASK_APP="app",
        RATELIMIT_READ=UNREACHABLE_LIMIT,
        RATELIMIT_POST=UNREACHABLE_LIMIT,
        RATELIMIT_LIKE=UNREACHABLE_LIMIT,
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def migrate(database_url: str, workdir: Path) -> None:
    """`flask db upgrade`, exactly as the README tells an operator to run it."""
    flask = Path(sys.executable).parent / "flask"
    done = subprocess.run(  # noqa: S603 - fixed argv
        [str(flask), "db", "upgrade"],
        cwd=ROOT,
        env=server_env(database_url, workdir, "http://127.0.0.1"),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SetupError(f"flask db upgrade failed:\n{done.stdout}\n{done.stderr}")


def _rows(
    planned: list[PlannedComment], thread_id: int, first_id: int, start: datetime
) -> list[dict[str, Any]]:
    from app.domain.markdown import render_markdown
    from app.domain.states import CommentStatus

    rows: list[dict[str, Any]] = []
    moment = start
    for i, comment in enumerate(planned):
        comment_id = first_id + i
        parent_id = None if comment.parent is None else first_id + comment.parent
        root_id = comment_id if comment.parent is None else rows[comment.parent]["root_id"]
        # Minutes apart, always later than the parent: pages sort by created_at.
        moment += timedelta(seconds=60 + (i * 7919) % 540)
        rows.append(
            {
                "id": comment_id,
                "thread_id": thread_id,
                "parent_id": parent_id,
                "root_id": root_id,
                "guest_name": comment.author.name,
                "guest_email": comment.author.email,
                "guest_website": comment.author.website,
                "body": comment.body,
                "html": render_markdown(comment.body),
                "status": CommentStatus.APPROVED,
                "created_at": moment,
            }
        )
    return rows


def seed(database_url: str, plan: Plan) -> Seeded:
    """A site with moderation off, and the plan's threads, in one transaction."""
    from sqlalchemy import func, insert, select, text

    from app import create_app
    from app.domain.policy import thread_key
    from app.domain.states import ModerationMode
    from app.extensions import db
    from app.models import Comment, Thread
    from app.services.sites import create_site
    from config import ProductionConfig

    started = time.perf_counter()
    app = create_app(ProductionConfig, SQLALCHEMY_DATABASE_URI=database_url, SECRET_KEY=SECRET_KEY)
    threads: list[tuple[str, str, list[PlannedComment]]] = [
        (thread_path(size), f"A post with {size:,} comments", comments)
        for size, comments in plan.threads.items()
    ]
    threads += [
        (count_path(i + 1), f"Listed post {i + 1}", comments)
        for i, comments in enumerate(plan.count_threads)
    ]
    with app.app_context():
        site = create_site(name="Benchmark", origins=[ORIGIN], moderation=ModerationMode.NONE)
        next_id = (db.session.scalar(select(func.max(Comment.id))) or 0) + 1
        start = datetime.now(UTC) - timedelta(days=90)
        total = 0
        for path, title, planned in threads:
            thread = Thread(
                site_id=site.id,
                url=thread_key(ORIGIN + path, site.origins),
                title=title,
                approved_count=len(planned),
                created_at=start,
            )
            db.session.add(thread)
            db.session.flush()
            db.session.execute(insert(Comment), _rows(planned, thread.id, next_id, start))
            next_id += len(planned)
            total += len(planned)
        if db.engine.dialect.name == "postgresql":
            db.session.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('comment', 'id'), "
                    "(SELECT max(id) FROM comment))"
                )
            )
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            # Autovacuum would analyze the new rows within a minute on a live server; the
            # benchmark should not measure the planner guessing without statistics.
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        _check_invariants(site.id)
        site_id = site.id
        db.session.remove()
        db.engine.dispose()
    return Seeded(site_id, total, len(threads), time.perf_counter() - started)


# Signed-in readers of the 100-comment thread, each with a bearer token of their own.
READERS = 1_000
PENDING_BODY = "I only just found this post. Does the *second* approach still hold?"


@dataclass(frozen=True)
class Readers:
    """What readers' widgets send to prove who they are, minted with the server's key.

    `tokens`: bearer tokens of READERS signed-in readers (Dev sign-in accounts), as the widget
    keeps one after a sign-in; `mine`: the edit token of one guest's pending reply in the
    thread the readers read, as the widget sends it back in `mine=`.
    """

    tokens: tuple[str, ...]
    mine: str
    pending_id: int


def seed_readers(database_url: str, site_id: str, path: str, count: int = READERS) -> Readers:
    """`count` reader accounts and one guest's pending reply under the first comment of the
    thread at `path` (the first page shows a reply with its root; a new top-level comment
    would be on the last page)."""
    from sqlalchemy import insert, select

    from app import create_app
    from app.domain.markdown import render_markdown
    from app.domain.policy import thread_key
    from app.domain.states import CommentStatus
    from app.extensions import db
    from app.models import Comment, Identity, Site, Thread, User
    from app.services.tokens import edit_token, reader_token
    from config import ProductionConfig

    app = create_app(ProductionConfig, SQLALCHEMY_DATABASE_URI=database_url, SECRET_KEY=SECRET_KEY)
    now = datetime.now(UTC)
    with app.app_context():
        site = db.session.get(Site, site_id)
        assert site is not None
        user_ids = list(
            db.session.scalars(
                insert(User).returning(User.id, sort_by_parameter_order=True),
                [{"display_name": f"Reader {i}", "created_at": now} for i in range(count)],
            )
        )
        db.session.execute(
            insert(Identity),
            [
                {
                    "user_id": user_id,
                    "provider": "dev",
                    "provider_user_id": f"bench-reader-{i}",
                    "profile": {},
                    "created_at": now,
                    "updated_at": now,
                }
                for i, user_id in enumerate(user_ids)
            ],
        )
        thread = db.session.scalar(
            select(Thread).where(
                Thread.site_id == site_id, Thread.url == thread_key(ORIGIN + path, site.origins)
            )
        )
        assert thread is not None
        first = db.session.scalars(
            select(Comment)
            .where(Comment.thread_id == thread.id, Comment.parent_id.is_(None))
            .order_by(Comment.created_at, Comment.id)
            .limit(1)
        ).one()
        pending = Comment(
            thread_id=thread.id,
            parent_id=first.id,
            root_id=first.root_id,
            guest_name="Pending Guest",
            guest_email="pending.guest@example.org",
            body=PENDING_BODY,
            html=render_markdown(PENDING_BODY),
            status=CommentStatus.PENDING,
            created_at=now,
        )
        db.session.add(pending)
        db.session.commit()
        readers = Readers(
            tokens=tuple(reader_token(user_id, site_id, "dev") for user_id in user_ids),
            mine=edit_token(pending.id),
            pending_id=pending.id,
        )
        db.session.remove()
        db.engine.dispose()
    return readers


def _check_invariants(site_id: str) -> None:
    """The seeded rows as the comment service would have left them; fails loudly if not."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import aliased

    from app.domain.states import CommentStatus
    from app.extensions import db
    from app.models import Comment, Thread

    approved = (
        select(func.count(Comment.id))
        .where(Comment.thread_id == Thread.id, Comment.status == CommentStatus.APPROVED)
        .scalar_subquery()
    )
    wrong_counts = db.session.scalar(
        select(func.count(Thread.id)).where(
            Thread.site_id == site_id, Thread.approved_count != approved
        )
    )
    parent = aliased(Comment)
    wrong_roots = db.session.scalar(
        select(func.count(Comment.id)).where(
            ((Comment.parent_id.is_(None)) & (Comment.root_id != Comment.id))
            | (
                Comment.parent_id.is_not(None)
                & (
                    select(parent.root_id).where(parent.id == Comment.parent_id).scalar_subquery()
                    != Comment.root_id
                )
            )
        )
    )
    if wrong_counts or wrong_roots:
        raise SetupError(
            f"seeding broke an invariant: {wrong_counts} thread counts, {wrong_roots} root ids"
        )


def postgres_version(url: str) -> str:
    import psycopg

    admin = make_url(url).set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False)) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "unknown"


def stored_keys(database_url: str, tag: str) -> list[tuple[str, object]]:
    """(idempotency key, thread id) of every comment whose key starts with `tag`."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT idempotency_key, thread_id FROM comment WHERE idempotency_key LIKE :p"
                ),
                {"p": f"{tag}-%"},
            ).all()
    finally:
        engine.dispose()
    return [(str(key), thread) for key, thread in rows]
