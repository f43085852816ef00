"""Moderation at scale: the dashboard's queue, its counts, a bulk action and `/metrics`.

    .venv/bin/python bench/scale.py [--quick] [--db sqlite|postgres|both] [--requests N]

Seeds one site with 100,000 comments over 1,000 threads, 10,000 of them pending (`--quick`:
10,000 and 1,000), and a few smaller sites beside it; serves Afterword with gunicorn; signs
in as a moderator and times real HTTP requests one after another: the queue's first page,
the pending filter of one site, `/metrics`, then one bulk `Approve` of 1,000 pending
comments. The status counts are timed in process (they are SQL only, and part of every
queue page). The plans of the queue's queries are printed with whether they keep to the
pending index. Targets print PASS or FAIL; the exit code is 0 unless something crashed.
See bench/README.md, "Moderation at scale".
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import secrets
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlencode, urlsplit

import afterword_seed
from run import gunicorn_config, gunicorn_flags, machine
from servers import Server, ServerError, free_port, running

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
VENV_BIN = Path(sys.executable).parent
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_scale"

TARGET_MS = 50.0
BULK = 1_000
BATCH = 5_000  # rows per executemany
MODERATOR_EMAIL = "moderator@example.org"
MODERATOR_PASSWORD = secrets.token_urlsafe(16)
ORIGIN = "https://blog.example.org"


@dataclass(frozen=True)
class Size:
    comments: int
    threads: int
    pending: int
    other_sites: int = 3
    # Each other site: this share of the big one (the moderator moderates one of them too).
    other_share: float = 0.05
    authors: int = 5_000
    reported: int = 200


FULL = Size(comments=100_000, threads=1_000, pending=10_000)
QUICK = Size(comments=10_000, threads=100, pending=1_000, authors=1_000, reported=50)


@dataclass
class Seeded:
    site_id: str
    other_site_ids: list[str]
    comments: int
    seconds: float


@dataclass
class Timing:
    name: str
    samples: list[float] = field(default_factory=list)  # seconds
    statuses: set[int] = field(default_factory=set)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] * 1000


# --- seeding ------------------------------------------------------------------------------

STATUS_MIX = [("approved", 0.92), ("rejected", 0.04), ("spam", 0.03), ("deleted", 0.01)]
BODIES = [
    "Thanks for writing this up.",
    "I tried the second approach and it *worked*, but only after I set `timeout=30`.",
    "Not sure I agree. See [the docs](https://example.org/docs) for a different view.",
    "Two things:\n\n- the first example is missing an import\n- the link at the end is dead",
    "> the cache is the source of truth\n\nIt never is, in my experience.",
    "Great post! Bookmarked.",
    "Could you say more about how this behaves under load? We saw **timeouts** above 200 rps.",
    "```\nSELECT count(*) FROM comment;\n```\n\nThis took 3 seconds on our table.",
]


def _authors(n: int, rng: random.Random) -> Callable[[], tuple[str, str]]:
    """A few regulars write much, most write once or twice (a Zipf-like draw)."""
    weights = [1 / (i + 1) for i in range(n)]
    pool = [(f"Reader {i}", f"reader{i}@example.net") for i in range(n)]

    def draw() -> tuple[str, str]:
        return rng.choices(pool, weights)[0]

    return draw


def _site_rows(
    thread_ids: list[int],
    first_id: int,
    comments: int,
    pending: int,
    rng: random.Random,
    author: Callable[[], tuple[str, str]],
    rendered: list[str],
    start: datetime,
) -> Iterator[dict[str, Any]]:
    pending_at = set(rng.sample(range(comments), pending))
    statuses = [s for s, _ in STATUS_MIX]
    weights = [w for _, w in STATUS_MIX]
    # One comment every few minutes over a year, newest last; threads taken round-robin.
    step = timedelta(days=365) / comments
    for i in range(comments):
        body = rng.randrange(len(BODIES))
        name, email = author()
        status = "pending" if i in pending_at else rng.choices(statuses, weights)[0]
        comment_id = first_id + i
        yield {
            "id": comment_id,
            "thread_id": thread_ids[i % len(thread_ids)],
            "parent_id": None,
            "root_id": comment_id,
            "guest_name": name,
            "guest_email": email,
            "body": BODIES[body],
            "html": rendered[body],
            "status": status,
            "created_at": start + step * i,
            # Approved long ago, so nobody would be mailed about it again.
            "subscribers_notified": status == "approved",
        }


def seed(database_url: str, size: Size) -> Seeded:
    """The sites, threads and comments, inserted with SQLAlchemy Core in batches."""
    from sqlalchemy import insert, text, update

    from app import create_app
    from app.domain.markdown import render_markdown
    from app.domain.states import CommentStatus, ModerationMode
    from app.extensions import db
    from app.models import Comment, CommentReport, Thread
    from app.services.moderators import create_moderator
    from app.services.sites import create_site
    from config import ProductionConfig

    started = time.perf_counter()
    rng = random.Random(17)  # noqa: S311 - the same data on every run, not a secret
    app = create_app(
        ProductionConfig, SQLALCHEMY_DATABASE_URI=database_url, SECRET_KEY=afterword_seed.SECRET_KEY
    )
    rendered = [render_markdown(b) for b in BODIES]
    author = _authors(size.authors, rng)
    start = datetime.now(UTC) - timedelta(days=366)
    with app.app_context():
        big = create_site(name="Big blog", origins=[ORIGIN], moderation=ModerationMode.ALL)
        others = [
            create_site(name=f"Small blog {i + 1}", origins=[f"https://small{i + 1}.example.org"])
            for i in range(size.other_sites)
        ]
        db.session.flush()
        plan = [(big, size.comments, size.threads, size.pending)] + [
            (
                site,
                round(size.comments * size.other_share),
                max(1, round(size.threads * size.other_share)),
                round(size.pending * size.other_share),
            )
            for site in others
        ]
        next_thread, next_comment, total = 1, 1, 0
        for site, comments, threads, pending in plan:
            thread_ids = list(range(next_thread, next_thread + threads))
            db.session.execute(
                insert(Thread),
                [
                    {
                        "id": tid,
                        "site_id": site.id,
                        "url": f"/{site.name.lower().replace(' ', '-')}/post-{tid}/",
                        "title": f"Post {tid}",
                        "created_at": start,
                    }
                    for tid in thread_ids
                ],
            )
            batch: list[dict[str, Any]] = []
            for row in _site_rows(
                thread_ids, next_comment, comments, pending, rng, author, rendered, start
            ):
                batch.append(row)
                if len(batch) == BATCH:
                    db.session.execute(insert(Comment), batch)
                    batch = []
            if batch:
                db.session.execute(insert(Comment), batch)
            next_thread += threads
            next_comment += comments
            total += comments
        # A few comments readers reported, for the `Reported` filter and its count.
        reported = rng.sample(range(1, size.comments + 1), size.reported)
        db.session.execute(
            insert(CommentReport),
            [
                {"comment_id": cid, "reporter": f"r{cid}-{n}", "reason": "spam"}
                for cid in reported
                for n in range(1 + cid % 3)
            ],
        )
        for cid in reported:
            db.session.execute(
                update(Comment)
                .where(Comment.id == cid)
                .values(report_count=1 + cid % 3, open_reports=1 + cid % 3)
            )
        db.session.execute(
            text(
                "UPDATE thread SET approved_count = (SELECT count(*) FROM comment "
                "WHERE comment.thread_id = thread.id AND comment.status = :approved)"
            ),
            {"approved": CommentStatus.APPROVED.value},
        )
        if db.engine.dialect.name == "postgresql":
            for table in ("thread", "comment", "comment_report"):
                db.session.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
        db.session.commit()
        create_moderator(MODERATOR_EMAIL, MODERATOR_PASSWORD, site_ids=[big.id, others[0].id])
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            # What autovacuum does within a minute of a bulk insert: statistics for the
            # planner, and the visibility map, without which no scan is index-only.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        seeded = Seeded(big.id, [s.id for s in others], total, time.perf_counter() - started)
        db.session.remove()
        db.engine.dispose()
    return seeded


# --- HTTP with a cookie --------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float


class Browser:
    """Requests one after another, carrying the cookies the server sets (no redirects)."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        sent = {"User-Agent": "afterword-scale-bench", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=sent)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        seconds = time.perf_counter() - started
        for cookie in resp.msg.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data, seconds)

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post_form(self, path: str, fields: list[tuple[str, str]], **headers: str) -> Answer:
        return self.request(
            "POST",
            path,
            body=urlencode(fields).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
        )


def csrf_of(page: bytes) -> str:
    match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
    if not match:
        raise ServerError("no CSRF token on the page")
    return match.group(1).decode()


def sign_in(browser: Browser) -> None:
    token = csrf_of(browser.get("/dashboard/login").body)
    done = browser.post_form(
        "/dashboard/login",
        [("email", MODERATOR_EMAIL), ("password", MODERATOR_PASSWORD), ("csrf_token", token)],
    )
    if done.status != 302:
        raise ServerError(f"signing in answered {done.status}: {done.body[:300]!r}")


def timed(name: str, call: Callable[[], Answer], runs: int, warmup: int = 3) -> Timing:
    for _ in range(warmup):
        call()
    timing = Timing(name)
    for _ in range(runs):
        answer = call()
        timing.samples.append(answer.seconds)
        timing.statuses.add(answer.status)
    return timing


def timed_in_process(name: str, call: Callable[[], object], runs: int, warmup: int = 3) -> Timing:
    for _ in range(warmup):
        call()
    timing = Timing(name)
    for _ in range(runs):
        started = time.perf_counter()
        call()
        timing.samples.append(time.perf_counter() - started)
    return timing


# --- in process: the counts, the plans, the checks after the bulk action -------------------


@contextmanager
def app_for(database_url: str) -> Iterator[Any]:
    from app import create_app
    from app.extensions import db
    from config import ProductionConfig

    app = create_app(
        ProductionConfig, SQLALCHEMY_DATABASE_URI=database_url, SECRET_KEY=afterword_seed.SECRET_KEY
    )
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def moderator() -> Any:
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Moderator

    return db.session.scalars(select(Moderator).where(Moderator.email == MODERATOR_EMAIL)).one()


def captured(call: Callable[[], object]) -> list[tuple[str, Any]]:
    from sqlalchemy import event

    from app.extensions import db

    sent: list[tuple[str, Any]] = []

    def note(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    return sent


@dataclass
class Plan:
    query: str
    plan: str
    uses_pending_index: bool
    full_scan: bool


def explain(name: str, statement: str, parameters: Any) -> Plan:
    from app.extensions import db

    sqlite = db.engine.dialect.name == "sqlite"
    prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + statement, parameters).all()
    lines = [str(r[-1]) for r in rows]
    text = "\n".join(lines)
    if sqlite:
        # "SCAN comment" alone reads the table; "SCAN comment USING ... INDEX" reads an index.
        full = any(re.fullmatch(r"SCAN comment( AS \w+)?", line.strip()) for line in lines)
    else:
        full = bool(re.search(r"Seq Scan on comment\b", text))
    return Plan(name, text, "ix_comment_pending" in text, full)


def queue_statements(site_id: str) -> dict[str, tuple[str, Any]]:
    """The SQL of the queue's first page, the pending filter of one site and the counts."""
    from app.services import moderation

    who = moderator()
    found: dict[str, tuple[str, Any]] = {}

    def first_select(call: Callable[[], object], needle: str) -> tuple[str, Any]:
        for statement, params in captured(call):
            if needle in statement:
                return statement, params
        raise RuntimeError(f"no statement with {needle!r}")

    found["queue page (all my sites)"] = first_select(lambda: moderation.queue(who), "LIMIT")
    found["pending of one site"] = first_select(
        lambda: moderation.queue(who, site_id=site_id), "LIMIT"
    )
    found["pending count (navigation)"] = first_select(
        lambda: moderation.pending_count(who), "count("
    )
    found["status counts"] = first_select(lambda: moderation.queue_counts(who), "count(")
    found["authors' records on the page"] = first_select(
        lambda: moderation.queue(who), "shown_thread"
    )
    found["/metrics queue length"] = first_select(moderation.pending_total, "count(")
    return found


@dataclass
class BulkCheck:
    seconds: float
    status: int
    approved: int
    audited: int
    pending_before: int
    pending_after: int
    counts_match: bool
    error: str = ""

    @property
    def ok(self) -> bool:
        return (
            self.status in (200, 302)
            and self.approved == BULK
            and self.audited >= BULK
            and self.pending_before - self.pending_after == BULK
            and self.counts_match
            and not self.error
        )


def pending_ids(site_id: str, n: int) -> list[int]:
    from sqlalchemy import select

    from app.domain.states import CommentStatus
    from app.extensions import db
    from app.models import Comment, Thread

    return list(
        db.session.scalars(
            select(Comment.id)
            .join(Thread)
            .where(Thread.site_id == site_id, Comment.status == CommentStatus.PENDING)
            .order_by(Comment.id)
            .limit(n)
        )
    )


def site_pending(site_id: str) -> int:
    from sqlalchemy import func, select

    from app.domain.states import CommentStatus
    from app.extensions import db
    from app.models import Comment, Thread

    return (
        db.session.scalar(
            select(func.count())
            .select_from(Comment)
            .join(Thread)
            .where(Thread.site_id == site_id, Comment.status == CommentStatus.PENDING)
        )
        or 0
    )


def check_bulk(ids: list[int], site_id: str) -> tuple[int, int, bool]:
    from sqlalchemy import func, select

    from app.domain.states import CommentStatus
    from app.extensions import db
    from app.models import AuditEntry, Comment, Thread

    db.session.rollback()  # a fresh snapshot: what the request committed
    approved = (
        db.session.scalar(
            select(func.count()).where(
                Comment.id.in_(ids), Comment.status == CommentStatus.APPROVED
            )
        )
        or 0
    )
    audited = (
        db.session.scalar(
            select(func.count()).where(
                AuditEntry.comment_id.in_(ids),
                AuditEntry.action == "approve",
                AuditEntry.after == CommentStatus.APPROVED.value,
            )
        )
        or 0
    )
    real = (
        select(func.count())
        .where(Comment.thread_id == Thread.id, Comment.status == CommentStatus.APPROVED)
        .scalar_subquery()
    )
    wrong = db.session.scalar(
        select(func.count()).where(Thread.site_id == site_id, Thread.approved_count != real)
    )
    return approved, audited, wrong == 0


# --- one database ----------------------------------------------------------------------------


@dataclass
class Outcome:
    kind: str
    seeded: Seeded
    timings: list[Timing]
    plans: list[Plan]
    bulk: BulkCheck
    load: float  # the 1-minute load average as the timed requests began


def bench(kind: str, size: Size, workdir: Path, pg_url: str, runs: int) -> Outcome:
    dbdir = workdir / kind
    dbdir.mkdir()
    if kind == "sqlite":
        url = afterword_seed.sqlite_url(dbdir)
    else:
        afterword_seed.recreate_postgres(pg_url)
        url = pg_url
    print(f"\n== {kind}: migrating and seeding", flush=True)
    afterword_seed.migrate(url, dbdir)
    seeded = seed(url, size)
    print(f"  seeded {seeded.comments:,} comments in {seeded.seconds:.1f}s", flush=True)

    with app_for(url):
        from app.services import moderation

        plans = [explain(name, *sql) for name, sql in queue_statements(seeded.site_id).items()]
        who = moderator()
        counts = [
            timed_in_process(
                "status counts, all my sites (in process)",
                lambda: moderation.queue_counts(who),
                runs,
            ),
            timed_in_process(
                "status counts, one site (in process)",
                lambda: moderation.queue_counts(who, seeded.site_id),
                runs,
            ),
            timed_in_process(
                "pending count (in process)", lambda: moderation.pending_count(who), runs
            ),
        ]
        ids = pending_ids(seeded.site_id, BULK)
        pending_before = site_pending(seeded.site_id)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    gunicorn = VENV_BIN / "gunicorn"
    server = Server(
        f"Afterword ({kind})",
        [
            str(gunicorn),
            "-c",
            str(gunicorn_config(dbdir, project=False)),
            "-w",
            "2",
            *gunicorn_flags(gunicorn),
            "-b",
            f"127.0.0.1:{port}",
            "app:create_app()",
        ],
        env=afterword_seed.server_env(url, dbdir, base),
        cwd=ROOT,
        log_path=dbdir / "gunicorn.log",
    )
    with running(server):
        server.wait_ready(f"{base}/healthz")
        browser = Browser(base)
        sign_in(browser)
        site = seeded.site_id
        load = os.getloadavg()[0]  # other processes slow every figure; say how busy it was
        timings = [
            timed("queue, first page (GET /dashboard/)", lambda: browser.get("/dashboard/"), runs),
            timed(
                "pending of one site (?status=pending&site=)",
                lambda: browser.get(f"/dashboard/?status=pending&site={site}"),
                runs,
            ),
            timed("/metrics", lambda: browser.get("/metrics"), runs),
            *counts,
        ]
        token = csrf_of(browser.get("/dashboard/").body)
        fields = [("csrf_token", token), ("action", "approve"), ("next", "/dashboard/")]
        fields += [("ids", str(i)) for i in ids]
        answer = browser.post_form("/dashboard/comments/act", fields)
        error = "" if answer.status in (200, 302) else answer.body[:300].decode(errors="replace")
        if answer.status == 302:
            # The flash says how many were done; an error would flash instead.
            page = browser.get(answer.headers.get("location", "/dashboard/")).body
            if f"{len(ids)} comment(s) approved.".encode() not in page:
                error = "the queue did not say the comments were approved"
    with app_for(url):
        approved, audited, counts_match = check_bulk(ids, seeded.site_id)
        bulk = BulkCheck(
            seconds=answer.seconds,
            status=answer.status,
            approved=approved,
            audited=audited,
            pending_before=pending_before,
            pending_after=site_pending(seeded.site_id),
            counts_match=counts_match,
            error=error,
        )
    return Outcome(kind, seeded, timings, plans, bulk, load)


# --- the report --------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(outcome: Outcome, size: Size, runs: int, show_plans: bool) -> str:
    lines = [
        f"\n== {outcome.kind}: {size.comments:,} comments in {size.threads:,} threads, "
        f"{size.pending:,} pending on the big site; {runs} requests each, one after another; "
        f"load average {outcome.load:.1f} on {os.cpu_count()} cores",
        f"  {'':52} {'median':>9} {'p95':>9}  target",
    ]
    for t in outcome.timings:
        if t.p95_ms <= TARGET_MS:
            mark = "PASS (p95)"
        elif t.median_ms <= TARGET_MS:
            mark = "PASS (median only)"
        else:
            mark = "FAIL"
        bad = sorted(s for s in t.statuses if s != 200)
        extra = f"  (HTTP {bad})" if bad else ""
        lines.append(f"  {t.name:52} {t.median_ms:7.1f}ms {t.p95_ms:7.1f}ms  {mark}{extra}")
    b = outcome.bulk
    lines.append(
        f"  bulk Approve of {BULK:,} selected in one request: {b.seconds * 1000:.0f} ms, "
        f"HTTP {b.status}; {b.approved:,} approved, {b.audited:,} audit entries, "
        f"pending {b.pending_before:,} -> {b.pending_after:,}, thread counts "
        f"{'right' if b.counts_match else 'WRONG'}  {verdict(b.ok)}"
        + (f"\n    {b.error}" if b.error else "")
    )
    lines.append("  query plans:")
    for p in outcome.plans:
        index = "ix_comment_pending" if p.uses_pending_index else "not ix_comment_pending"
        scan = "FULL SCAN of comment" if p.full_scan else "no full scan"
        lines.append(f"    {p.query:40} {index:24} {scan}")
        if show_plans or p.full_scan:
            lines += [f"        {line}" for line in p.plan.splitlines()]
    return "\n".join(lines)


def _raise_interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 comments, 1,000 pending")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--pg-url", default=PG_URL, help=f"database recreated (default {PG_URL})")
    parser.add_argument("--requests", type=int, default=50, help="timed requests of each kind")
    parser.add_argument("--plans", action="store_true", help="print every query plan in full")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))  # Afterword's `config` module sits at the repository root
    signal.signal(signal.SIGTERM, _raise_interrupt)
    size = QUICK if args.quick else FULL
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(f"Machine: {machine()}")
    try:
        with tempfile.TemporaryDirectory(prefix="afterword-scale-") as tmp:
            for kind in kinds:
                outcome = bench(kind, size, Path(tmp), args.pg_url, args.requests)
                print(report(outcome, size, args.requests, args.plans), flush=True)
    except KeyboardInterrupt:
        print("\nInterrupted; servers stopped.", file=sys.stderr)
        return 130
    except (ServerError, afterword_seed.SetupError) as exc:
        print(f"\nThe benchmark could not finish: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
