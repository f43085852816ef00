"""A million comments in ten thousand threads on PostgreSQL (`run.py --big`).

A cached read must cost the same on a site with years of comments as on a new one, and only a
database of that size shows whether it does. The benchmark's own threads (plan.py, seeded by
afterword_seed.py) stay as they are; filler threads of the same site bring the database to
BIG_COMMENTS comments in BIG_THREADS threads.

Rendering a million comments' Markdown, or inserting them through SQLAlchemy, would take
longer than the benchmark itself, so the filler rows cycle through a pool of comments rendered
once with the service's renderer and go in with one COPY per table, straight through psycopg,
into the tables `flask db upgrade` made. Within that one transaction the comment table's
secondary indexes are dropped and rebuilt from their own definitions after the COPY (building
an index once is several times cheaper than keeping eight of them up to date row by row), and
foreign keys are not checked row by row (`session_replication_role = replica`): the checks
after the load (`_check`) read every row for what they would have caught, and for the
invariants the comment service keeps (root ids, each thread's `approved_count`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from plan import MAX_DEPTH, ORIGIN, REPLY_SHARE, REPLY_WINDOW, SEED, authors, body
from sqlalchemy.engine import make_url

BIG_COMMENTS = 1_000_000
BIG_THREADS = 10_000
BODY_POOL = 2_000  # distinct comments; about 500 rows share each
AUTHOR_POOL = 5_000
ROWS_PER_WRITE = 20_000
# Most posts get a few comments, a few get thousands (a log-normal spread of thread sizes).
SIZE_SIGMA = 1.2

COMMENT_COLUMNS = (
    "id, thread_id, parent_id, root_id, guest_name, guest_email, guest_website, "
    "body, html, status, created_at"
)


class BigSeedError(RuntimeError):
    """The filler could not be loaded, or the loaded rows break an invariant."""


@dataclass(frozen=True)
class BigSeeded:
    comments: int  # in the whole database, the benchmark's own threads included
    threads: int
    filler_threads: int
    filler_comments: int
    seconds: float
    copy_seconds: float
    index_seconds: float
    vacuum_seconds: float
    comment_table_bytes: int  # pg_total_relation_size: heap, TOAST and indexes


def _conninfo(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def _copy_text(value: str | None) -> str:
    r"""A value in COPY's text format: \N for NULL, and its four special characters escaped."""
    if value is None:
        return r"\N"
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def thread_sizes(rng: random.Random, threads: int, comments: int) -> list[int]:
    """`threads` sizes of at least one comment each, adding up to `comments` exactly."""
    if comments < threads:
        raise BigSeedError(f"{comments:,} comments cannot fill {threads:,} threads")
    raw = [rng.lognormvariate(0.0, SIZE_SIGMA) for _ in range(threads)]
    scale = (comments - threads) / sum(raw)
    sizes = [1 + int(r * scale) for r in raw]
    # What rounding down left over goes to the largest threads, one comment each.
    largest = sorted(range(threads), key=sizes.__getitem__, reverse=True)
    for i in range(comments - sum(sizes)):
        sizes[largest[i % threads]] += 1
    return sizes


def _parents(rng: random.Random, size: int) -> list[int | None]:
    """A reply tree as plan.thread draws one (replies under a recent comment, at most
    MAX_DEPTH deep), without a body per comment."""
    parents: list[int | None] = []
    depth: list[int] = []
    for i in range(size):
        parent = None
        if i and rng.random() < REPLY_SHARE:
            j = rng.randrange(max(0, i - REPLY_WINDOW), i)
            parent = j if depth[j] < MAX_DEPTH else None
        parents.append(parent)
        depth.append(0 if parent is None else depth[parent] + 1)
    return parents


@dataclass(frozen=True)
class _Filler:
    site_id: str
    first_thread: int
    first_comment: int
    sizes: list[int]
    start: datetime


def _thread_lines(filler: _Filler, site_origins: list[str]) -> Iterator[str]:
    from app.domain.policy import thread_key

    for n, size in enumerate(filler.sizes):
        url = thread_key(f"{ORIGIN}/bench/filler-{n + 1}", site_origins)
        created = filler.start + timedelta(minutes=n)
        yield (
            f"{filler.first_thread + n}\t{filler.site_id}\t{_copy_text(url)}\t"
            f"Filler post {n + 1}\t{size}\t{created.isoformat()}\n"
        )


def _comment_lines(filler: _Filler, rng: random.Random) -> Iterator[str]:
    from app.domain.markdown import render_markdown

    pool = []
    for _ in range(BODY_POOL):
        source = body(rng)
        pool.append(f"{_copy_text(source)}\t{_copy_text(render_markdown(source))}")
    people = [
        f"{_copy_text(a.name)}\t{_copy_text(a.email)}\t{_copy_text(a.website)}"
        for a in authors(rng, AUTHOR_POOL)
    ]
    comment_id = filler.first_comment
    for n, size in enumerate(filler.sizes):
        thread_id = filler.first_thread + n
        moment = filler.start + timedelta(minutes=n)
        roots: list[int] = []
        for i, parent in enumerate(_parents(rng, size)):
            # Minutes apart, always later than the parent: pages sort by created_at.
            moment += timedelta(seconds=60 + (i * 7919) % 540)
            if parent is None:
                parent_id, root_id = r"\N", comment_id
            else:
                parent_id, root_id = str(comment_id - i + parent), roots[parent]
            roots.append(root_id)
            yield (
                f"{comment_id}\t{thread_id}\t{parent_id}\t{root_id}\t"
                f"{people[rng.randrange(AUTHOR_POOL)]}\t{pool[rng.randrange(BODY_POOL)]}\t"
                f"approved\t{moment.isoformat()}\n"
            )
            comment_id += 1


def _copy(cur: Any, statement: str, lines: Iterator[str]) -> None:
    with cur.copy(statement) as copy:
        chunk: list[str] = []
        for line in lines:
            chunk.append(line)
            if len(chunk) >= ROWS_PER_WRITE:
                copy.write("".join(chunk))
                chunk.clear()
        if chunk:
            copy.write("".join(chunk))


def _scalar(cur: Any, sql: str, params: tuple[Any, ...] = ()) -> Any:
    row = cur.execute(sql, params).fetchone()
    return row[0] if row else None


def seed_big(
    database_url: str, site_id: str, comments: int = BIG_COMMENTS, threads: int = BIG_THREADS
) -> BigSeeded:
    """Filler threads of `site_id` until the database holds `comments` in `threads`."""
    import json

    import psycopg

    started = time.perf_counter()
    with psycopg.connect(_conninfo(database_url)) as conn, conn.cursor() as cur:
        have_comments = _scalar(cur, "SELECT count(*) FROM comment")
        have_threads = _scalar(cur, "SELECT count(*) FROM thread")
        origins = json.loads(
            _scalar(cur, "SELECT origins::text FROM site WHERE id = %s", (site_id,))
        )
        rng = random.Random(SEED + 1)  # noqa: S311 - sample text, not secrets
        filler = _Filler(
            site_id=site_id,
            first_thread=_scalar(cur, "SELECT coalesce(max(id), 0) + 1 FROM thread"),
            first_comment=_scalar(cur, "SELECT coalesce(max(id), 0) + 1 FROM comment"),
            sizes=thread_sizes(rng, threads - have_threads, comments - have_comments),
            start=datetime.now(UTC) - timedelta(days=3 * 365),
        )
        # Foreign keys are checked after the load, in one pass (`_check`), not per row.
        cur.execute("SET LOCAL session_replication_role = replica")
        cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
        indexes = cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE schemaname = current_schema() AND tablename = 'comment'"
            " AND indexname NOT IN"
            " (SELECT conname FROM pg_constraint WHERE conrelid = 'comment'::regclass)"
        ).fetchall()
        for name, _definition in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        copy_started = time.perf_counter()
        _copy(
            cur,
            "COPY thread (id, site_id, url, title, approved_count, created_at) FROM STDIN",
            _thread_lines(filler, origins),
        )
        _copy(cur, f"COPY comment ({COMMENT_COLUMNS}) FROM STDIN", _comment_lines(filler, rng))
        index_started = time.perf_counter()
        for _name, definition in indexes:
            cur.execute(definition)
        indexed = time.perf_counter()
        # The first API post must not collide with a seeded id.
        cur.execute("SELECT setval(pg_get_serial_sequence('thread', 'id'), max(id)) FROM thread")
        cur.execute("SELECT setval(pg_get_serial_sequence('comment', 'id'), max(id)) FROM comment")
        conn.commit()
    with psycopg.connect(_conninfo(database_url), autocommit=True) as conn, conn.cursor() as cur:
        # Autovacuum would do this within a minute of a bulk load on a live server: statistics
        # for the planner, and the visibility map and hint bits, without which the first
        # reads would write to every page they touch.
        cur.execute("VACUUM (ANALYZE)")
        vacuumed = time.perf_counter()
        _check(cur)
        totals = cur.execute(
            "SELECT (SELECT count(*) FROM comment), (SELECT count(*) FROM thread),"
            " pg_total_relation_size('comment')"
        ).fetchone()
    assert totals is not None
    return BigSeeded(
        comments=totals[0],
        threads=totals[1],
        filler_threads=len(filler.sizes),
        filler_comments=sum(filler.sizes),
        seconds=time.perf_counter() - started,
        copy_seconds=index_started - copy_started,
        index_seconds=indexed - index_started,
        vacuum_seconds=vacuumed - indexed,
        comment_table_bytes=totals[2],
    )


_CHECKS = {
    "comments whose thread, parent or root does not exist": """
        SELECT count(*) FROM comment c
        LEFT JOIN thread t ON t.id = c.thread_id
        LEFT JOIN comment p ON p.id = c.parent_id
        LEFT JOIN comment r ON r.id = c.root_id
        WHERE t.id IS NULL OR r.id IS NULL OR (c.parent_id IS NOT NULL AND p.id IS NULL)""",
    "comments whose root is not their top-level ancestor": """
        SELECT count(*) FROM comment c LEFT JOIN comment p ON p.id = c.parent_id
        WHERE (c.parent_id IS NULL AND c.root_id <> c.id)
           OR (c.parent_id IS NOT NULL AND p.root_id <> c.root_id)""",
    "threads whose approved_count is not their approved comments": """
        SELECT count(*) FROM thread t LEFT JOIN
          (SELECT thread_id, count(*) AS n FROM comment WHERE status = 'approved'
           GROUP BY thread_id) a ON a.thread_id = t.id
        WHERE t.approved_count <> coalesce(a.n, 0)""",
}


def _check(cur: Any) -> None:
    wrong = {what: _scalar(cur, sql) for what, sql in _CHECKS.items()}
    problems = [f"{n:,} {what}" for what, n in wrong.items() if n]
    if problems:
        raise BigSeedError("the big database breaks an invariant: " + "; ".join(problems))
