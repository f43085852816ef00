"""Afterword's benchmark: seed, serve with gunicorn, load with wrk, compare with Isso.

    .venv/bin/python bench/run.py [--quick] [--db sqlite|postgres|both] [--skip-isso]

It installs nothing: when a tool is missing it says what to install and exits with 2.
Results go to stdout as a table and to bench/results/latest.json. Targets print PASS or
FAIL, but the exit code is 0 either way unless something crashed. See bench/README.md.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlencode, urlsplit

import afterword_seed
import big_seed
import cpu
import isso_server
import liking
import loadgen
import redis_server
from plan import ORIGIN, POST_PATH, Plan, count_path, make_plan, thread_path
from servers import Response, Server, ServerError, free_port, request, running
from sqlalchemy.engine import make_url

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "latest.json"
VENV_BIN = Path(sys.executable).parent

WRK_THREADS = 2
CONNECTIONS = 32
FULL_SECONDS = 10
QUICK_SECONDS = 3
# Fills per-process caches (Afterword's, compiled SQL, Isso's author hashes); whole seconds,
# the only unit wrk takes.
WARMUP_SECONDS = 1
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
REDIS_URL = "redis://127.0.0.1:6379/15"  # a database of its own, away from other users
HEADERS = {"Origin": ORIGIN, "Accept-Encoding": "gzip"}

# The targets from the brief.
THREAD_RATIO_MIN = 50.0
THREAD_P99_MAX_MS = 30.0
COUNTS_RATIO_MIN = 1.5
BIG_P99_MAX_MS = 50.0
BIG_WIRE_MAX_BYTES = 30_000  # "30 KB", read as 30,000 bytes
BIG = 10_000
# Likes beside the liked thread's reads: a busy post's rate (likes are limited per reader).
LIKES_PER_SECOND = 20.0
# Reads while likes arrive, against the plain reads of the same run: each like changes a
# count, so the thread's cached pages are rebuilt after it; readers must barely notice.
LIKING_SHARE_MIN = 0.5
# Concurrent writers on one new page: Afterword's writes/s at least this times Isso's, its
# p99 at most this, and every comment answered 201 stored exactly once.
WRITERS = CONNECTIONS
WRITES_RATIO_MIN = 2.0
WRITES_P99_MAX_MS = 250.0
# An open page's live check, against a full read of the same page: a 304 must cost less.
POLL_RATIO_MIN = 1.0
# A signed-in reader's page, and a guest's with their own pending comment, are kept for that
# reader alone; reading one must cost little more than the page every guest shares.
READER_SHARE_MIN = 0.5
# The production setup (PostgreSQL, Redis, the project's gunicorn.conf.py, two workers) on a
# database of a million comments: the production targets.
PROD_THREAD_RATIO_MIN = 200.0
PROD_COUNTS_RATIO_MIN = 3.0
PROD_P99_MAX_MS = 10.0
PROD_WORKERS = "2"
# Redis read events per cached read, counted over this many requests one after another.
ROUND_TRIPS_MAX = 1.0
ROUND_TRIP_REQUESTS = 1_000
FIRST_VISITORS = 4  # connections that make each reader's first visit before a readers run
# Other processes using this share of the machine during a run make its numbers suspect.
BUSY_WARN_PCT = 10.0
COUNT_JS_MAX_URLS = 100
COUNT_JS_MAX_QUERY = 6_000
ATTEMPTS = 3  # measured runs of a workload at most, while others keep disturbing it
IDLE_WAIT_SECONDS = 60.0
SPEED_SPREAD_WARN = 1.25  # slowest / fastest calibration within one run


@dataclass(frozen=True)
class Workload:
    name: str
    label: str
    url: str
    method: str = "GET"
    body: bytes | None = None
    content_type: str | None = None
    script: Path | None = None
    script_args: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()  # on top of HEADERS
    unique_tag: bool = False  # append a fresh tag to script_args on every wrk run
    expect: int = 200
    check: Callable[[Any], str | None] | None = None  # answer's JSON -> a problem, or None
    # Another load running beside wrk's (likes arriving); what it yields is its own record.
    beside: Callable[[], AbstractContextManager[Any]] | None = None
    # Bearer tokens of different readers, one per request in turn (readers.lua; the probe
    # sends the first).
    readers: tuple[str, ...] = ()
    # With Redis, count what Redis does for ROUND_TRIP_REQUESTS of these reads afterwards.
    round_trips: bool = False


@dataclass(frozen=True)
class Writers:
    """WRITERS connections posting guest comments into one page that has none yet.

    Every run gets a page of its own (`page(tag)`), so its first posts race to create the
    thread. `stored(tag)` reads back from the database, for each key of the run, the threads
    its rows went to: after the run each key answered 201 must be there exactly once.
    """

    name: str
    label: str
    kind: str  # "afterword" or "isso": the request body writers.lua builds
    url: Callable[[str], str]  # the page -> where to POST
    page: Callable[[str], str]  # the run's tag -> a new page
    stored: Callable[[str], list[tuple[str, object]]]  # tag -> (key, thread) per row


@dataclass
class Result:
    server: str
    db: str
    workload: str
    label: str
    status: int = 0  # of one request made before the load, as the checks see it
    problem: str | None = None  # a wrong status or a wrong answer; the load is then skipped
    rps: float = 0.0
    p50_ms: float = 0.0
    p75_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    requests: int = 0
    seconds: float = 0.0
    bytes_per_response: float = 0.0  # wrk's bytes read / requests: headers and body
    non_2xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)
    content_encoding: str = "identity"
    wire_bytes: int = 0  # one response with Accept-Encoding: gzip, headers included
    body_bytes: int = 0  # its body as sent
    json_bytes: int = 0  # its body decoded
    gzip6_bytes: int = 0  # the decoded body through gzip -6: what compression would give
    comments: int | None = None  # comments in a thread read's answer
    drain_seconds: float = 0.0  # until the server answered quickly again
    other_cpu_pct: float = 0.0  # of the machine, taken by processes outside the benchmark
    attempts: int = 1  # a run that other processes disturbed is measured again
    calibration_ms: float = 0.0  # cpu.calibrate() just before the run: the machine's speed
    beside: dict[str, Any] | None = None  # what the load beside wrk's did (likes sent, ...)
    writes: dict[str, Any] | None = None  # concurrent writers: accepted, stored, lost, twice
    redis: dict[str, Any] | None = None  # Redis's work per read (redis_server.RedisCount)


@dataclass
class Target:
    name: str
    db: str
    measured: str
    limit: str
    verdict: str  # PASS, FAIL or SKIP


# --- what to measure --------------------------------------------------------------------


def _count_comments(nodes: list[dict[str, Any]]) -> int:
    return sum(1 + _count_comments(n.get("replies") or []) for n in nodes)


def _expect_thread(size: int) -> Callable[[Any], str | None]:
    def check(data: Any) -> str | None:
        count = (data.get("thread") or {}).get("count")
        if count != size:
            return f"thread.count is {count}, seeded {size}"
        return None if data.get("comments") else "no comments in the answer"

    return check


def _expect_counts(expected: dict[str, int]) -> Callable[[Any], str | None]:
    def check(data: Any) -> str | None:
        return None if data.get("counts") == expected else f"counts differ: {data!r:.200}"

    return check


def _expect_list(expected: list[int]) -> Callable[[Any], str | None]:
    def check(data: Any) -> str | None:
        return None if data == expected else f"counts differ: {data!r:.200}"

    return check


def _expect_reader(size: int) -> Callable[[Any], str | None]:
    """The thread as a signed-in reader gets it: their name, and no expired sign-in."""
    thread = _expect_thread(size)

    def check(data: Any) -> str | None:
        if data.get("session_expired") or not data.get("viewer"):
            return "answered as to a guest: the reader token was not taken"
        return thread(data)

    return check


def _find_comment(nodes: list[dict[str, Any]], comment_id: int) -> dict[str, Any] | None:
    for node in nodes:
        if node.get("id") == comment_id:
            return node
        if found := _find_comment(node.get("replies") or [], comment_id):
            return found
    return None


def _expect_mine(size: int, pending_id: int) -> Callable[[Any], str | None]:
    """The thread with the guest's own pending comment in it, marked as theirs."""
    thread = _expect_thread(size)

    def check(data: Any) -> str | None:
        own = _find_comment(data.get("comments") or [], pending_id)
        if own is None or not own.get("mine") or own.get("status") != "pending":
            return f"the guest's pending comment {pending_id} is not in the answer as theirs"
        return thread(data)

    return check


def reader_workloads(
    api: str, size: int, readers: afterword_seed.Readers, tokens_file: Path
) -> list[Workload]:
    """Pages kept for one reader: signed in (one reader, then a thousand in turn), and a
    guest who sees their own pending comment. `tokens_file` gets the readers' tokens."""
    tokens_file.write_text("\n".join(readers.tokens) + "\n")
    query = {"url": ORIGIN + thread_path(size), "sort": "oldest"}
    url = f"{api}/thread?{urlencode(query)}"
    return [
        Workload(
            f"thread-{size}-signed-in",
            f"thread read, {size:,} comments, first page, one signed-in reader",
            url,
            headers=(("Authorization", f"Bearer {readers.tokens[0]}"),),
            check=_expect_reader(size),
            round_trips=True,
        ),
        Workload(
            f"thread-{size}-readers",
            f"thread read, {size:,} comments, first page, "
            f"{len(readers.tokens):,} signed-in readers in turn",
            url,
            script=BENCH_DIR / "readers.lua",
            script_args=(str(tokens_file),),
            headers=(("Authorization", f"Bearer {readers.tokens[0]}"),),
            readers=readers.tokens,
            check=_expect_reader(size),
            round_trips=True,
        ),
        Workload(
            f"thread-{size}-mine",
            f"thread read, {size:,} comments, first page, a guest with a pending comment (mine=)",
            # As the widget asks: its page's query, then the edit tokens it holds.
            f"{api}/thread?{urlencode(query | {'mine': readers.mine})}",
            check=_expect_mine(size, readers.pending_id),
            round_trips=True,
        ),
    ]


def _likes_on(api: str, thread_url: str) -> Callable[[], AbstractContextManager[Any]]:
    """Likes for the comments of the thread at `thread_url`, found when the run starts."""

    def start() -> AbstractContextManager[Any]:
        answer = json.loads(_decoded(request("GET", thread_url, headers=HEADERS)))
        ids = liking.comment_ids(answer)
        return liking.likes_beside(api, ids, HEADERS, LIKES_PER_SECOND)

    return start


def afterword_workloads(
    base: str,
    site_id: str,
    plan: Plan,
    readers: afterword_seed.Readers | None = None,
    tokens_file: Path | None = None,
) -> list[Workload]:
    """Every workload against Afterword; those of signed-in readers and a guest's own pending
    comment only with `readers` (whose tokens go to `tokens_file`)."""
    api = f"{base}/api/v1/sites/{site_id}"
    # The ceiling: what gunicorn, Flask and the per-request hooks cost with no work at all.
    workloads = [Workload("ceiling", "GET /healthz: no database, no cache", f"{base}/healthz")]
    for size in sorted(plan.threads):
        # Exactly the widget's first request: url and sort, default page size (50 roots).
        query = first_page = urlencode({"url": ORIGIN + thread_path(size), "sort": "oldest"})
        workloads.append(
            Workload(
                f"thread-{size}",
                f"thread read, {size:,} comments, first page",
                f"{api}/thread?{query}",
                check=_expect_thread(size),
                round_trips=size == isso_server.ISSO_THREAD_SIZE,
            )
        )
        if size == isso_server.ISSO_THREAD_SIZE:
            # Isso answers with the whole thread; this is Afterword doing the same work.
            query = urlencode({"url": ORIGIN + thread_path(size), "per_page": 100})
            workloads.append(
                Workload(
                    f"thread-{size}-all",
                    f"thread read, {size:,} comments, all (per_page=100)",
                    f"{api}/thread?{query}",
                    check=_expect_thread(size),
                )
            )
            # An open page checking for new comments (the widget's live thread): the same
            # request with the ETag it holds, answered 304 while nothing changed.
            workloads.append(
                Workload(
                    f"poll-{size}",
                    f"live thread check, {size:,} comments (If-None-Match, 304)",
                    f"{api}/thread?{first_page}",
                    script=BENCH_DIR / "revalidate.lua",
                    check=_expect_thread(size),
                )
            )
            # Readers of a thread whose comments are being liked: every like changes a count
            # the cached pages carry.
            workloads.append(
                Workload(
                    f"thread-{size}-liking",
                    f"thread read, {size:,} comments, first page, "
                    f"while {LIKES_PER_SECOND:g} likes/s arrive",
                    f"{api}/thread?{first_page}",
                    check=_expect_thread(size),
                    beside=_likes_on(api, f"{api}/thread?{first_page}"),
                )
            )
            # A sign-in that expired: a private answer (it says so, and the widget forgets
            # the token), built from the database on every request; the cost of a page no
            # cache holds.
            query = urlencode({"url": ORIGIN + thread_path(size), "sort": "oldest"})
            workloads.append(
                Workload(
                    f"thread-{size}-private",
                    f"thread read, {size:,} comments, first page, private (uncached)",
                    f"{api}/thread?{query}",
                    headers=(("Authorization", "Bearer expired-token"),),
                    check=_expect_thread(size),
                )
            )
            if readers is not None and tokens_file is not None:
                workloads += reader_workloads(api, size, readers, tokens_file)
    urls = [ORIGIN + count_path(i + 1) for i in range(len(plan.count_threads))]
    expected = {url: len(c) for url, c in zip(urls, plan.count_threads, strict=True)}
    workloads.append(
        Workload(
            f"counts-{len(urls)}",
            f"counts, {len(urls)} URLs in one request",
            f"{api}/counts?{urlencode([('url', u) for u in urls])}",
            check=_expect_counts(expected),
            round_trips=True,
        )
    )
    sample = {
        "url": ORIGIN + POST_PATH,
        "title": "Posting benchmark",
        "body": "The first comment, posted before the load to check that posting works.",
        "name": "Bench Probe",
        "email": "probe@example.org",
        "idempotency_key": f"probe-{time.time_ns()}",
    }
    workloads.append(
        Workload(
            "post",
            "post a guest comment (JSON)",
            f"{api}/comments",
            method="POST",
            body=json.dumps(sample).encode(),
            content_type="application/json",
            script=BENCH_DIR / "post.lua",
            script_args=(ORIGIN, ORIGIN + POST_PATH),
            unique_tag=True,
            expect=201,
        )
    )
    return workloads


def writers_path(tag: str) -> str:
    return f"/bench/writers-{tag}"


def afterword_writers(base: str, site_id: str, database_url: str) -> list[Writers]:
    api = f"{base}/api/v1/sites/{site_id}"
    return [
        Writers(
            f"post-{WRITERS}",
            f"{WRITERS} guest writers posting into one new page",
            "afterword",
            url=lambda _page: f"{api}/comments",
            page=lambda tag: ORIGIN + writers_path(tag),
            stored=lambda tag: afterword_seed.stored_keys(database_url, tag),
        )
    ]


def isso_writers(base: str, database: Path) -> list[Writers]:
    return [
        Writers(
            f"post-{WRITERS}",
            f"{WRITERS} guest writers posting into one new page (POST /new)",
            "isso",
            url=lambda page: f"{base}/new?{urlencode({'uri': page})}",
            page=writers_path,
            stored=lambda tag: isso_server.stored_keys(database, writers_path(tag)),
        )
    ]


def isso_workloads(base: str, plan: Plan) -> list[Workload]:
    size = isso_server.ISSO_THREAD_SIZE
    uris = [count_path(i + 1) for i in range(len(plan.count_threads))]
    body = json.dumps(uris)
    return [
        Workload("ceiling", "GET /config: Isso's cheapest answer", f"{base}/config"),
        Workload(
            f"thread-{size}",
            f"thread read, {size} comments (Isso: whole thread)",
            f"{base}/?uri={thread_path(size)}",
            check=lambda data: None if data.get("replies") else "no comments in the answer",
        ),
        Workload(
            f"counts-{len(uris)}",
            f"counts, {len(uris)} URIs in one request (POST /count)",
            f"{base}/count",
            method="POST",
            body=body.encode(),
            content_type="application/json",
            script=BENCH_DIR / "isso_count.lua",
            script_args=(body,),
            check=_expect_list([len(c) for c in plan.count_threads]),
        ),
    ]


# --- measuring --------------------------------------------------------------------------


def _decoded(resp: Response) -> bytes:
    return (
        gzip.decompress(resp.body) if resp.headers.get("content-encoding") == "gzip" else resp.body
    )


def _probe(workload: Workload, result: Result) -> None:
    """One request before the load: the right status, the right data, and its size."""
    headers = dict(HEADERS) | dict(workload.headers)
    if workload.content_type:
        headers["Content-Type"] = workload.content_type
    resp = request(workload.method, workload.url, headers=headers, body=workload.body)
    decoded = _decoded(resp)
    result.status = resp.status
    result.content_encoding = resp.headers.get("content-encoding", "identity")
    result.wire_bytes = resp.wire_bytes
    result.body_bytes = len(resp.body)
    result.json_bytes = len(decoded)
    result.gzip6_bytes = len(gzip.compress(decoded, compresslevel=6))
    if resp.status != workload.expect:
        result.problem = f"HTTP {resp.status} (expected {workload.expect}): {decoded[:300]!r}"
        return
    try:
        data = json.loads(decoded)
    except ValueError:
        result.problem = f"not JSON: {decoded[:200]!r}"
        return
    if isinstance(data, dict) and isinstance(data.get("comments"), list):
        result.comments = _count_comments(data["comments"])
    elif isinstance(data, dict) and isinstance(data.get("replies"), list):
        result.comments = _count_comments(data["replies"])
    if workload.check is not None:
        result.problem = workload.check(data)


def _first_visits(workload: Workload) -> None:
    """One read by each of the workload's readers before it is measured, so that the run
    measures readers coming back to their kept pages (a first visit is built from the
    database: `thread-100-private` measures that)."""
    from concurrent.futures import ThreadPoolExecutor

    headers = dict(HEADERS) | dict(workload.headers)
    started = time.monotonic()

    def visit(token: str) -> int:
        mine = {"Authorization": f"Bearer {token}"}
        return request(workload.method, workload.url, headers=headers | mine).status

    with ThreadPoolExecutor(FIRST_VISITORS) as pool:
        statuses = list(pool.map(visit, workload.readers))
    wrong = len(statuses) - statuses.count(workload.expect)
    print(
        f"  {workload.name:<16} first visits of {len(statuses):,} readers in "
        f"{time.monotonic() - started:.1f}s"
        + (f", {wrong} not {workload.expect}" if wrong else ""),
        flush=True,
    )


def _wrk(
    workload: Workload, seconds: int, connections: int, threads: int, tag: str
) -> loadgen.WrkResult:
    args = workload.script_args + ((tag,) if workload.unique_tag else ())
    argv = loadgen.wrk_command(
        workload.url,
        seconds=seconds,
        connections=connections,
        threads=threads,
        headers=dict(HEADERS) | dict(workload.headers),
        script=workload.script,
        script_args=args,
    )
    return loadgen.run(argv)[0]


def _wait_for_idle() -> bool:
    """Wait (a while, not forever) until processes outside the benchmark leave the CPU."""
    deadline = time.monotonic() + IDLE_WAIT_SECONDS
    while cpu.idle_share(1.0) < 100 - BUSY_WARN_PCT:
        if time.monotonic() > deadline:
            return False
    return True


def measure(
    server: Server,
    server_name: str,
    db: str,
    workload: Workload,
    seconds: int,
    quiet_url: str,
    helpers: tuple[str, ...] = (),
    attempts: int = ATTEMPTS,
    database: str | None = None,
) -> Result:
    """Probe, warm up, wait for the backlog to drain, then the measured wrk run.

    `helpers`: process names of servers that work for this one (PostgreSQL, Redis), whose
    CPU time counts as the benchmark's own (of PostgreSQL's backends, those serving
    `database`). With `attempts` > 1 the server is warmed up, each run waits for an idle
    machine first, and a run other processes disturbed is measured again.
    """
    result = Result(server_name, db, workload.name, workload.label)
    _probe(workload, result)
    if result.problem:
        print(f"  {workload.name:<16} skipped: {result.problem}", flush=True)
        return result
    if workload.readers:
        _first_visits(workload)

    def run(tag: str) -> tuple[loadgen.WrkResult, Callable[[], dict[str, Any] | None]]:
        with workload.beside() if workload.beside else nullcontext() as beside:
            wrk = _wrk(workload, seconds, CONNECTIONS, WRK_THREADS, tag)
        return wrk, lambda: beside.summary() if beside is not None else None

    if attempts > 1:  # a smoke check (--quick) goes without: its numbers are rough anyway
        _wrk(workload, WARMUP_SECONDS, 4, 1, f"r{time.time_ns()}w")
        server.wait_quiet(quiet_url, HEADERS)
    wrk, result.beside = _attempts(server, result, run, quiet_url, helpers, attempts, database)
    _report(result, wrk)
    return result


def measure_writers(
    server: Server,
    server_name: str,
    db: str,
    workload: Writers,
    seconds: int,
    quiet_url: str,
    helpers: tuple[str, ...] = (),
    attempts: int = ATTEMPTS,
    database: str | None = None,
) -> Result:
    """WRITERS connections posting into one new page; then the database is checked.

    No probe: it would create the page's thread before the run. The warm-up posts to a page
    of its own. A run's writes/s (`rps`) counts only the posts answered 201.
    """
    result = Result(server_name, db, workload.name, workload.label, status=201)

    def load(tag: str, seconds: int, connections: int, out: Path) -> loadgen.WrkResult:
        page = workload.page(tag)
        argv = loadgen.wrk_command(
            workload.url(page),
            seconds=seconds,
            connections=connections,
            threads=WRK_THREADS,
            headers={"Origin": ORIGIN},
            script=BENCH_DIR / "writers.lua",
            script_args=(workload.kind, ORIGIN, page, tag, str(out)),
        )
        return loadgen.run(argv)[0]

    with tempfile.TemporaryDirectory(prefix="afterword-writers-") as tmp:
        out = Path(tmp) / "accepted.txt"

        def run(tag: str) -> tuple[loadgen.WrkResult, Callable[[], dict[str, Any] | None]]:
            wrk = load(tag, seconds, WRITERS, out)
            accepted = out.read_text().split()
            # After the drain: requests queued when wrk stopped are still being stored.
            return wrk, lambda: writes_check(accepted, workload.stored(tag), wrk.seconds)

        if attempts > 1:
            load(f"r{time.time_ns()}w", WARMUP_SECONDS, 4, out)
            server.wait_quiet(quiet_url, HEADERS)
        wrk, result.writes = _attempts(server, result, run, quiet_url, helpers, attempts, database)
    assert result.writes is not None
    _report(result, wrk)
    result.rps = result.writes["writes_per_second"]
    w = result.writes
    print(
        f"  {'':<16} {w['accepted']:,} accepted ({result.rps:.1f}/s), {w['stored']:,} stored, "
        f"{w['lost']} lost, {w['twice']} stored twice, {w['threads']} thread(s), "
        f"{w['unanswered']} stored after wrk stopped, {w['answered_twice']} answers seen twice",
        flush=True,
    )
    return result


def writes_check(
    accepted: list[str], rows: list[tuple[str, object]], seconds: float
) -> dict[str, Any]:
    """The run's posts answered 201 against the rows stored: each exactly once, in one thread.

    `unanswered`: stored but never answered to wrk, which stopped waiting at its deadline;
    those are not errors (the writer would have had its 201 a moment later).
    """
    stored: dict[str, int] = {}
    for key, _thread in rows:
        stored[key] = stored.get(key, 0) + 1
    answered = set(accepted)
    return {
        "accepted": len(accepted),
        "answered_twice": len(accepted) - len(answered),
        "unreadable": accepted.count("?"),
        "stored": len(rows),
        "lost": sum(1 for key in answered if key not in stored),
        "twice": sum(1 for n in stored.values() if n > 1),
        "unanswered": sum(1 for key in stored if key not in answered),
        "threads": len({thread for _key, thread in rows}),
        "writes_per_second": len(accepted) / seconds if seconds else 0.0,
    }


def writes_ok(writes: dict[str, Any] | None, errors: int) -> bool:
    """Zero errors, and every accepted comment stored exactly once in the page's one thread.

    A key wrk saw answered 201 twice but the database holds once is wrk's own count (it has
    been seen with Isso's `Connection: close` answers); it is printed, not held against it.
    """
    if writes is None:
        return False
    return (
        errors == 0
        and writes["accepted"] > 0
        and writes["threads"] == 1
        and writes["unreadable"] == 0
        and writes["lost"] == writes["twice"] == 0
    )


def _attempts(
    server: Server,
    result: Result,
    run: Callable[[str], tuple[loadgen.WrkResult, Callable[[], dict[str, Any] | None]]],
    quiet_url: str,
    helpers: tuple[str, ...],
    attempts: int,
    database: str | None,
) -> tuple[loadgen.WrkResult, dict[str, Any] | None]:
    """Measured runs until one that other processes left alone (or `attempts` of them): the
    least disturbed one's wrk report, and what `run`'s second callable made of it after the
    server drained."""
    run_tag = f"r{time.time_ns()}"
    wrk, record = None, None
    for attempt in range(1, attempts + 1):
        if attempts > 1:
            _wait_for_idle()
        calibration = cpu.calibrate()
        before = cpu.snapshot([server.pgid or 0], helpers, database)
        this, settle = run(f"{run_tag}a{attempt}")
        other = cpu.other_share(before, cpu.snapshot([server.pgid or 0], helpers, database))
        result.drain_seconds = server.wait_quiet(quiet_url, HEADERS)
        if wrk is None or other < result.other_cpu_pct:
            wrk, result.other_cpu_pct, result.attempts = this, other, attempt
            record = settle()
            result.calibration_ms = calibration
        if other < BUSY_WARN_PCT:
            break
        if attempt < attempts:
            print(f"  {result.workload:<16} other processes took {other:.0f}% of the CPU; again")
    assert wrk is not None
    return wrk, record


def _report(result: Result, wrk: loadgen.WrkResult) -> None:
    result.rps = wrk.rps
    result.p50_ms, result.p75_ms = wrk.p50_ms, wrk.p75_ms
    result.p90_ms, result.p99_ms = wrk.p90_ms, wrk.p99_ms
    result.requests, result.seconds = wrk.requests, wrk.seconds
    result.bytes_per_response = wrk.bytes_per_response
    result.non_2xx, result.socket_errors = wrk.non_2xx, wrk.socket_errors
    errors = f", {wrk.errors} errors" if wrk.errors else ""
    if result.beside:
        errors += ", beside: " + ", ".join(f"{k} {v}" for k, v in result.beside.items())
    if result.other_cpu_pct >= BUSY_WARN_PCT:
        errors += f", other processes took {result.other_cpu_pct:.0f}% of the CPU"
    print(
        f"  {result.workload:<16} {wrk.rps:9.1f} req/s  p50 {wrk.p50_ms:7.1f} ms  "
        f"p99 {wrk.p99_ms:7.1f} ms  {wrk.bytes_per_response:9,.0f} B/resp{errors}",
        flush=True,
    )


def code_fingerprint() -> str:
    """A hash of everything the server runs, so that a run straddling a change of the code
    (others may work in the same tree) is caught, not published. A commit alone leaves it."""
    digest = hashlib.sha256()
    files = [ROOT / "config.py", ROOT / "gunicorn.conf.py", ROOT / "pyproject.toml"]
    files += sorted(
        p for p in (ROOT / "app").rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )
    for path in files:
        if path.exists():
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def gunicorn_flags(gunicorn: Path) -> list[str]:
    """--no-control-socket where gunicorn has one (25+): two servers would share its path."""
    done = subprocess.run(  # noqa: S603 - fixed argv
        [str(gunicorn), "--help"], capture_output=True, text=True, check=False
    )
    return ["--no-control-socket"] if "--no-control-socket" in done.stdout else []


def gunicorn_config(workdir: Path, project: bool, profile: bool = False) -> Path:
    """The settings file gunicorn reads; never the one it would find by itself.

    Started in the repository, gunicorn silently loads ./gunicorn.conf.py (threads, access
    log, worker recycling), so a change there would change the numbers without a trace. By
    default it gets an empty file: plain `gunicorn -w 2` with sync workers. With
    --project-gunicorn-conf it gets the project's file; -w 2 and -b still override it.
    """
    if profile:
        return BENCH_DIR / "profile_gunicorn.py"
    if project:
        return ROOT / "gunicorn.conf.py"
    path = workdir / "gunicorn.bench.conf.py"
    path.write_text("# Empty on purpose: gunicorn's defaults, as `gunicorn -w 2` elsewhere.\n")
    return path


def long_counts_probe(api: str) -> dict[str, Any]:
    """The longest request count.js sends, to see whether its request line gets through.

    count.js (app/embed/static/embed/count.js) puts up to 100 URLs in one GET and starts
    another request when the query would pass 6,000 characters.
    """
    urls: list[str] = []
    for i in range(COUNT_JS_MAX_URLS):
        url = f"{ORIGIN}/2026/11/{i % 28 + 1:02d}/notes-on-running-a-comment-service-part-{i}/"
        if len(urlencode([("url", u) for u in [*urls, url]])) > COUNT_JS_MAX_QUERY:
            break
        urls.append(url)
    target = f"{api}/counts?{urlencode([('url', u) for u in urls])}"
    resp = request("GET", target, headers=HEADERS)
    parts = urlsplit(target)
    return {
        "name": f"counts, count.js's longest request ({len(urls)} blog-like URLs)",
        "request_line_bytes": len(f"GET {parts.path}?{parts.query} HTTP/1.1\r\n"),
        "status": resp.status,
        "answer": _decoded(resp)[:200].decode(errors="replace"),
    }


def bench_afterword(
    kind: str, plan: Plan, workdir: Path, options: Options
) -> tuple[list[Result], dict[str, Any]]:
    seconds = options.seconds
    dbdir = workdir / kind
    dbdir.mkdir()
    if kind == "sqlite":
        url = afterword_seed.sqlite_url(dbdir)
    else:
        afterword_seed.recreate_postgres(options.pg_url)
        url = options.pg_url
    print(f"\n== Afterword on {kind}: migrating and seeding", flush=True)
    afterword_seed.migrate(url, dbdir)
    seeded = afterword_seed.seed(url, plan)
    print(
        f"  seeded {seeded.comments:,} comments in {seeded.threads} threads "
        f"in {seeded.seconds:.1f}s",
        flush=True,
    )
    size = isso_server.ISSO_THREAD_SIZE
    # --quick: fewer readers, whose first visits (built from the database) fit its budget.
    count = afterword_seed.READERS // (10 if options.quick else 1)
    readers = afterword_seed.seed_readers(url, seeded.site_id, thread_path(size), count)
    print(
        f"  {len(readers.tokens):,} signed-in readers, and a guest's pending reply in the "
        f"{size}-comment thread",
        flush=True,
    )
    big = None
    if options.big:
        print(
            f"  filling up to {big_seed.BIG_COMMENTS:,} comments in {big_seed.BIG_THREADS:,} "
            "threads (COPY)",
            flush=True,
        )
        big = big_seed.seed_big(url, seeded.site_id)
        print(
            f"  the database holds {big.comments:,} comments in {big.threads:,} threads "
            f"({big.comment_table_bytes / 1024**2:,.0f} MiB with indexes) after "
            f"{big.seconds:.0f}s: COPY {big.copy_seconds:.0f}s, indexes "
            f"{big.index_seconds:.0f}s, VACUUM ANALYZE {big.vacuum_seconds:.0f}s",
            flush=True,
        )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    gunicorn = VENV_BIN / "gunicorn"
    server = Server(
        f"Afterword ({kind})",
        [
            str(gunicorn),
            "-c",
            str(gunicorn_config(dbdir, options.project_gunicorn_conf, options.profile is not None)),
            "-w",
            "2",
            *gunicorn_flags(gunicorn),
            "-b",
            f"127.0.0.1:{port}",
            "app:create_app()",
        ],
        env=afterword_seed.server_env(url, dbdir, base, options.redis_url)
        | ({"AFTERWORD_PROFILE_DIR": str(options.profile / kind)} if options.profile else {})
        | (project_conf_env(dbdir) if options.project_gunicorn_conf else {}),
        cwd=ROOT,
        log_path=dbdir / "gunicorn.log",
    )
    api = f"{base}/api/v1/sites/{seeded.site_id}"
    helpers = ("postgres",) * (kind == "postgres") + ("redis-server",) * bool(options.redis_url)
    results = []
    code = code_fingerprint()  # what the workers are about to import
    with running(server):
        server.wait_ready(f"{api}/config", HEADERS)
        print(f"  gunicorn -w 2 on {base}; wrk -t{WRK_THREADS} -c{CONNECTIONS} -d{seconds:g}s")
        workloads = afterword_workloads(
            base, seeded.site_id, plan, readers, dbdir / "reader-tokens.txt"
        )
        for workload in filter(options.wants, workloads):
            result = measure(
                server,
                "afterword",
                kind,
                workload,
                seconds,
                f"{api}/config",
                helpers,
                options.attempts,
                make_url(options.pg_url).database if kind == "postgres" else None,
            )
            if options.redis_url and workload.round_trips and not result.problem:
                result.redis = count_round_trips(workload, options)
            results.append(result)
        for writers in filter(options.wants, afterword_writers(base, seeded.site_id, url)):
            results.append(
                measure_writers(
                    server,
                    "afterword",
                    kind,
                    writers,
                    seconds,
                    f"{api}/config",
                    helpers,
                    options.attempts,
                    make_url(options.pg_url).database if kind == "postgres" else None,
                )
            )
        probe = long_counts_probe(api)
    info = asdict(seeded) | {
        "database": kind,
        "probes": [probe],
        "code": code,
        "readers": len(readers.tokens),
        "big": asdict(big) if big else None,
    }
    return results, info


def project_conf_env(workdir: Path) -> dict[str, str]:
    """What the project's gunicorn.conf.py reads: two workers, as everywhere in the benchmark
    (-w 2 says so too), and prometheus_client's directory inside the run's own, which the conf
    would otherwise make anew in /tmp on every start."""
    metrics = workdir / "metrics"
    metrics.mkdir(exist_ok=True)
    return {"GUNICORN_WORKERS": PROD_WORKERS, "PROMETHEUS_MULTIPROC_DIR": str(metrics)}


def count_round_trips(workload: Workload, options: Options) -> dict[str, Any]:
    """What Redis did for `options.round_trip_requests` of `workload`'s reads, one after
    another, each reader's token in turn when it has several."""
    assert options.redis_url is not None
    headers = dict(HEADERS) | dict(workload.headers)
    tokens = workload.readers

    def send(i: int) -> int:
        mine = {"Authorization": f"Bearer {tokens[i % len(tokens)]}"} if tokens else {}
        return request(workload.method, workload.url, headers=headers | mine).status

    counted = redis_server.count(
        options.redis_url, send, options.round_trip_requests, shared=not options.own_redis
    )
    by_command = ", ".join(
        f"{name} {n / counted.requests:g}" for name, n in counted.by_command.items()
    )
    print(
        f"  {'':<16} Redis: {counted.round_trips:.2f} round trips and "
        f"{counted.commands_per_request:.2f} commands per read ({by_command}) "
        f"over {counted.requests:,} reads",
        flush=True,
    )
    return counted.summary()


def bench_isso(plan: Plan, workdir: Path, options: Options) -> tuple[list[Result], dict[str, Any]]:
    seconds = options.seconds
    issodir = workdir / "isso"
    issodir.mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = isso_server.write_config(issodir, port)
    gunicorn = isso_server.VENV / "bin" / "gunicorn"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISSO")}
    env["ISSO_SETTINGS"] = str(config)
    server = Server(
        "Isso",
        isso_server.argv(port, gunicorn_flags(gunicorn)),
        env=env,
        cwd=issodir,
        log_path=issodir / "gunicorn.log",
    )
    print(f"\n== Isso {isso_server.version()} on SQLite: seeding through POST /new", flush=True)
    results = []
    with running(server):
        server.wait_ready(f"{base}/config", HEADERS)
        comments, took = isso_server.seed(base, plan)
        print(f"  seeded {comments:,} comments in {took:.1f}s")
        print(f"  gunicorn -w 2 on {base}; wrk -t{WRK_THREADS} -c{CONNECTIONS} -d{seconds:g}s")
        for workload in filter(options.wants, isso_workloads(base, plan)):
            results.append(
                measure(
                    server,
                    "isso",
                    "sqlite",
                    workload,
                    seconds,
                    f"{base}/config",
                    attempts=options.attempts,
                )
            )
        for writers in filter(options.wants, isso_writers(base, issodir / "isso.db")):
            results.append(
                measure_writers(
                    server,
                    "isso",
                    "sqlite",
                    writers,
                    seconds,
                    f"{base}/config",
                    attempts=options.attempts,
                )
            )
    return results, {"comments": comments, "seconds": took}


# --- reporting --------------------------------------------------------------------------


def _find(results: list[Result], server: str, db: str, workload: str) -> Result | None:
    for r in results:
        if (r.server, r.db, r.workload) == (server, db, workload) and not r.problem:
            return r
    return None


def ratios(results: list[Result], dbs: list[str]) -> list[dict[str, Any]]:
    out = []
    pairs = [
        ("ceiling", "ceiling", "ceiling: the cheapest request (/healthz, Isso's /config)"),
        ("thread-100", "thread-100", "thread read, 100 comments (Afterword: first page)"),
        ("thread-100-all", "thread-100", "thread read, 100 comments (both: whole thread)"),
        ("counts-50", "counts-50", "counts, 50 URLs"),
        (f"post-{WRITERS}", f"post-{WRITERS}", f"{WRITERS} writers, one new page: writes/s"),
    ]
    for db in dbs:
        for mine, theirs, label in pairs:
            a = _find(results, "afterword", db, mine)
            b = _find(results, "isso", "sqlite", theirs)
            if a and b and b.rps:
                out.append({"db": db, "workload": mine, "label": label, "ratio": a.rps / b.rps})
    return out


def verdict(ok: bool | None) -> str:
    return "SKIP" if ok is None else "PASS" if ok else "FAIL"


def ratio_target(
    name: str,
    db: str,
    ours: Result | None,
    theirs: Result | None,
    minimum: float,
    isso_ran: bool,
) -> Target:
    """Afterword's req/s over Isso's."""
    limit = f">= {minimum:g}x"
    if ours is None or theirs is None:
        why = "no Isso run" if not isso_ran else "missing result"
        return Target(name, db, why, limit, "SKIP")
    ratio = ours.rps / theirs.rps
    return Target(
        name,
        db,
        f"{ratio:.1f}x ({ours.rps:,.0f} vs {theirs.rps:,.1f})",
        limit,
        verdict(ratio >= minimum),
    )


def share_target(
    name: str, db: str, ours: Result | None, reference: Result | None, minimum: float
) -> Target:
    """Afterword against itself in the same run: `ours` req/s over `reference`'s."""
    limit = f">= {minimum:g}x"
    if ours is None or reference is None or not reference.rps:
        return Target(name, db, "missing result", limit, "SKIP")
    ratio = ours.rps / reference.rps
    return Target(
        name,
        db,
        f"{ratio:.2f}x ({ours.rps:,.0f} vs {reference.rps:,.0f})",
        limit,
        verdict(ratio >= minimum),
    )


def p99_target(name: str, db: str, ours: Result | None, maximum: float, absent: str) -> Target:
    limit = f"<= {maximum:g} ms"
    if ours is None:
        return Target(name, db, absent, limit, "SKIP" if absent == "not run" else "FAIL")
    return Target(name, db, f"{ours.p99_ms:.1f} ms", limit, verdict(ours.p99_ms <= maximum))


def targets(
    results: list[Result], dbs: list[str], isso_ran: bool, chosen: frozenset[str] | None = None
) -> list[Target]:
    """`chosen`: the workloads run (--workloads); a target on another one is skipped."""
    out: list[Target] = []

    def absent(workload: str) -> tuple[str, bool | None]:
        return ("not run", None) if chosen and workload not in chosen else ("missing", False)

    isso_thread = _find(results, "isso", "sqlite", "thread-100")
    isso_counts = _find(results, "isso", "sqlite", "counts-50")
    for db in dbs:
        thread = _find(results, "afterword", db, "thread-100")
        counts = _find(results, "afterword", db, "counts-50")
        big = _find(results, "afterword", db, f"thread-{BIG}")
        poll = _find(results, "afterword", db, "poll-100")
        liking = _find(results, "afterword", db, "thread-100-liking")
        out.append(
            ratio_target(
                "thread 100 req/s vs Isso", db, thread, isso_thread, THREAD_RATIO_MIN, isso_ran
            )
        )
        out.append(
            Target(
                "thread 100 p99",
                db,
                f"{thread.p99_ms:.1f} ms" if thread else absent("thread-100")[0],
                f"<= {THREAD_P99_MAX_MS:g} ms",
                verdict(thread.p99_ms <= THREAD_P99_MAX_MS if thread else absent("thread-100")[1]),
            )
        )
        out.append(
            ratio_target(
                "counts 50 req/s vs Isso", db, counts, isso_counts, COUNTS_RATIO_MIN, isso_ran
            )
        )
        out.append(
            Target(
                "thread 10,000 first page p99",
                db,
                f"{big.p99_ms:.1f} ms" if big else absent(f"thread-{BIG}")[0],
                f"<= {BIG_P99_MAX_MS:g} ms",
                verdict(big.p99_ms <= BIG_P99_MAX_MS if big else absent(f"thread-{BIG}")[1]),
            )
        )
        out.append(
            Target(
                "thread 10,000 first page, gzip",
                db,
                f"{big.wire_bytes:,} B ({big.content_encoding})"
                if big
                else absent(f"thread-{BIG}")[0],
                f"<= {BIG_WIRE_MAX_BYTES:,} B",
                verdict(
                    big.wire_bytes <= BIG_WIRE_MAX_BYTES if big else absent(f"thread-{BIG}")[1]
                ),
            )
        )
        out.append(share_target("live check vs thread read", db, poll, thread, POLL_RATIO_MIN))
        out.append(share_target("reads while liked vs reads", db, liking, thread, LIKING_SHARE_MIN))
        out += reader_targets(results, db)
    return out + writers_targets(results, dbs, isso_ran, chosen)


READER_WORKLOADS = (
    ("thread-100-signed-in", "signed-in reader vs cached guest read"),
    ("thread-100-readers", "signed-in readers in turn vs cached guest read"),
    ("thread-100-mine", "guest with own pending comment vs cached guest read"),
)


def reader_targets(results: list[Result], db: str) -> list[Target]:
    """Pages kept for one reader, against the page guests share, in the same run."""
    guest = _find(results, "afterword", db, "thread-100")
    return [
        share_target(name, db, _find(results, "afterword", db, workload), guest, READER_SHARE_MIN)
        for workload, name in READER_WORKLOADS
    ]


def round_trip_targets(results: list[Result], redis_url: str | None) -> list[Target]:
    """Redis's read events per cached read, for each read counted (`count_round_trips`)."""
    limit = f"<= {ROUND_TRIPS_MAX:g} per read"
    if not redis_url:
        return [Target("Redis round trips per cached read", "-", "no Redis", limit, "SKIP")]
    out = []
    for r in results:
        if r.server != "afterword" or not r.redis:
            continue
        trips = r.redis["round_trips_per_request"]
        statuses = r.redis["statuses"]
        measured = f"{trips:.2f} ({r.redis['commands_per_request']:.1f} commands)"
        if r.redis["shared"]:
            measured += ", shared Redis: others' included"
        if set(statuses) != {"200"}:
            measured += f", HTTP {statuses}"
        ok = trips <= ROUND_TRIPS_MAX and set(statuses) == {"200"}
        out.append(Target(f"Redis round trips, {r.workload}", r.db, measured, limit, verdict(ok)))
    return out or [Target("Redis round trips per cached read", "-", "not run", limit, "SKIP")]


def production_targets(
    results: list[Result], isso_ran: bool, seeding: list[dict[str, Any]], quick: bool
) -> list[Target]:
    """The production targets, for the recommended setup (`--production`) on a million comments."""
    db = "postgres"
    thread = _find(results, "afterword", db, "thread-100")
    counts = _find(results, "afterword", db, "counts-50")
    isso_thread = _find(results, "isso", "sqlite", "thread-100")
    isso_counts = _find(results, "isso", "sqlite", "counts-50")
    out = [
        ratio_target(
            "production: thread 100 req/s vs Isso",
            db,
            thread,
            isso_thread,
            PROD_THREAD_RATIO_MIN,
            isso_ran,
        ),
        p99_target("production: thread 100 p99", db, thread, PROD_P99_MAX_MS, "missing"),
        ratio_target(
            "production: counts 50 req/s vs Isso",
            db,
            counts,
            isso_counts,
            PROD_COUNTS_RATIO_MIN,
            isso_ran,
        ),
        p99_target("production: counts 50 p99", db, counts, PROD_P99_MAX_MS, "missing"),
    ]
    info = next((i for i in seeding if i["database"] == db), None)
    big = info.get("big") if info else None
    comments, threads = (big["comments"], big["threads"]) if big else (0, 0)
    if not big and info:
        comments = info["comments"] + 1  # the guest's pending reply
        threads = info["threads"]
    ok = comments >= big_seed.BIG_COMMENTS and threads >= big_seed.BIG_THREADS
    out.append(
        Target(
            "production: database size",
            db,
            f"{comments:,} comments in {threads:,} threads" + ("" if big else " (no --big)"),
            f">= {big_seed.BIG_COMMENTS:,} in {big_seed.BIG_THREADS:,}",
            verdict(None if quick and not big else ok),
        )
    )
    return out


def writers_targets(
    results: list[Result], dbs: list[str], isso_ran: bool, chosen: frozenset[str] | None
) -> list[Target]:
    name = f"post-{WRITERS}"
    skipped = chosen is not None and name not in chosen
    theirs = _find(results, "isso", "sqlite", name)
    out = []
    for db in dbs:
        ours = _find(results, "afterword", db, name)
        if ours is None:
            why, verdict = ("not run", "SKIP") if skipped else ("missing", "FAIL")
            out += [
                Target(f"{WRITERS} writers {what}", db, why, limit, verdict)
                for what, limit in (
                    ("writes/s vs Isso", f">= {WRITES_RATIO_MIN:g}x"),
                    ("p99", f"<= {WRITES_P99_MAX_MS:g} ms"),
                    ("stored exactly once", "0 errors, 0 lost, 0 twice"),
                )
            ]
            continue
        if theirs is None or not theirs.rps:
            out.append(
                Target(
                    f"{WRITERS} writers writes/s vs Isso",
                    db,
                    "no Isso run" if not isso_ran else "missing result",
                    f">= {WRITES_RATIO_MIN:g}x",
                    "SKIP",
                )
            )
        else:
            ratio = ours.rps / theirs.rps
            out.append(
                Target(
                    f"{WRITERS} writers writes/s vs Isso",
                    db,
                    f"{ratio:.2f}x ({ours.rps:.1f} vs {theirs.rps:.1f})",
                    f">= {WRITES_RATIO_MIN:g}x",
                    "PASS" if ratio >= WRITES_RATIO_MIN else "FAIL",
                )
            )
        out.append(
            Target(
                f"{WRITERS} writers p99",
                db,
                f"{ours.p99_ms:.1f} ms",
                f"<= {WRITES_P99_MAX_MS:g} ms",
                "PASS" if ours.p99_ms <= WRITES_P99_MAX_MS else "FAIL",
            )
        )
        out.append(_stored_once_target(ours, db))
    if theirs is not None:
        out.append(_stored_once_target(theirs, "sqlite", "Isso: "))
    return out


def _stored_once_target(result: Result, db: str, who: str = "") -> Target:
    errors = result.non_2xx + sum(result.socket_errors.values())
    w = result.writes or {}
    measured = (
        f"{errors} errors, {w.get('accepted', 0):,} accepted, {w.get('lost', '?')} lost, "
        f"{w.get('twice', '?')} twice, {w.get('threads', '?')} thread(s)"
    )
    return Target(
        f"{who}{WRITERS} writers stored exactly once",
        db,
        measured,
        "0 errors, 0 lost, 0 twice, 1 thread",
        "PASS" if writes_ok(result.writes, errors) else "FAIL",
    )


def _table(headers: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def _database_lines(seeding: list[dict[str, Any]]) -> list[str]:
    """The size of a --big database: what the numbers were measured on."""
    return [
        f"{info['database']}: {big['comments']:,} comments in {big['threads']:,} threads "
        f"({big['comment_table_bytes'] / 1024**2:,.0f} MiB of comments with indexes), "
        f"{info.get('readers', 0):,} signed-in readers"
        for info in seeding
        if (big := info.get("big"))
    ]


def _redis_section(results: list[Result]) -> list[str]:
    """What Redis did per cached read (`count_round_trips`)."""
    rows = [
        [
            r.db,
            r.workload,
            f"{r.redis['requests']:,}",
            f"{r.redis['round_trips_per_request']:.2f}",
            f"{r.redis['commands_per_request']:.2f}",
            " ".join(
                f"{name}:{n / r.redis['requests']:g}" for name, n in r.redis["by_command"].items()
            ),
        ]
        for r in results
        if r.redis
    ]
    if not rows:
        return []
    return [
        "",
        "Redis per cached read: read events (round trips) and commands, over reads one after "
        "another",
        _table(
            ["db", "workload", "reads", "round trips", "commands", "by command"],
            rows,
            right={2, 3, 4},
        ),
    ]


def report(summary: dict[str, Any]) -> str:
    results = [Result(**r) for r in summary["results"]]
    meta = summary["meta"]
    parts = [
        f"Afterword benchmark, {meta['date']}, {meta['machine']}",
        f"wrk -t{WRK_THREADS} -c{CONNECTIONS} -d{meta['seconds']:g}s --latency "
        "(Accept-Encoding: gzip), all on loopback; gunicorn -w 2, "
        + (
            "with the project's gunicorn.conf.py"
            if meta.get("gunicorn_conf") == "gunicorn.conf.py"
            else "sync workers (gunicorn's defaults)"
        ),
        f"Afterword at {meta['revision']} (code {meta.get('code', '?')}); cache and rate limits "
        + (f"in Redis ({meta['redis']})" if meta["redis"] else "in-process (no REDIS_URL)")
        + (" of the run's own" if meta.get("redis_own") else ""),
        *_database_lines(summary["seeding"]["afterword"]),
        f"CPU calibration (bench/cpu.py, lower is faster): {meta.get('calibration_ms', 0):.0f} ms "
        "at the start",
        "",
    ]
    rows = []
    for r in results:
        if r.problem:
            rows.append([r.server, r.db, r.workload, "-", "-", "-", "-", "-", "-", r.problem[:60]])
            continue
        errors = r.non_2xx + sum(r.socket_errors.values())
        rows.append(
            [
                r.server,
                r.db,
                r.workload,
                f"{r.rps:,.1f}",
                f"{r.p50_ms:.1f}",
                f"{r.p99_ms:.1f}",
                f"{r.bytes_per_response:,.0f}",
                "-" if r.comments is None else f"{r.comments:,}",
                f"{r.other_cpu_pct:.0f}%",
                str(errors),
            ]
        )
    parts.append(
        _table(
            [
                "server",
                "db",
                "workload",
                "req/s",
                "p50 ms",
                "p99 ms",
                "bytes/resp",
                "comments",
                "other CPU",
                "errors",
            ],
            rows,
            right={3, 4, 5, 6, 7, 8, 9},
        )
    )
    if meta.get("code_changed"):
        parts += [
            "",
            "WARNING: Afterword's code changed during the run; the databases were measured on "
            "different code (see seeding[].code in the JSON). Run again.",
        ]
    speeds = [r.calibration_ms for r in results if r.calibration_ms]
    if speeds and max(speeds) / min(speeds) > SPEED_SPREAD_WARN:
        parts += [
            "",
            f"WARNING: the machine's speed varied during the run (calibration {min(speeds):.0f} "
            f"to {max(speeds):.0f} ms): compare ratios within the run rather than absolute "
            "numbers.",
        ]
    busiest = max((r.other_cpu_pct for r in results), default=0.0)
    if busiest >= BUSY_WARN_PCT:
        parts += [
            "",
            f"WARNING: other processes used up to {busiest:.0f}% of the machine during a run "
            "(column 'other CPU'); those numbers are low. Run again on a quiet machine.",
        ]
    sizes = [
        [
            r.server,
            r.db,
            r.workload,
            r.content_encoding,
            f"{r.wire_bytes:,}",
            f"{r.json_bytes:,}",
            f"{r.gzip6_bytes:,}",
        ]
        for r in results
        if r.workload.startswith("thread") and r.status
    ]
    if sizes:
        parts += ["", "Response sizes of one request with Accept-Encoding: gzip (bytes)"]
        parts.append(
            _table(
                ["server", "db", "workload", "encoding", "on the wire", "JSON", "JSON gzip -6"],
                sizes,
                right={4, 5, 6},
            )
        )
    parts += _redis_section(results)
    if summary["ratios"]:
        parts += ["", "Afterword / Isso, req/s"]
        parts.append(
            _table(
                ["db", "workload", "ratio"],
                [[r["db"], r["label"], f"{r['ratio']:.1f}x"] for r in summary["ratios"]],
                right={2},
            )
        )
    for info in summary["seeding"]["afterword"]:
        for probe in info.get("probes", []):
            parts += [
                "",
                f"Probe ({info['database']}): {probe['name']}: request line "
                f"{probe['request_line_bytes']:,} bytes -> HTTP {probe['status']}",
            ]
    parts += ["", "Targets"]
    parts.append(
        _table(
            ["", "target", "db", "measured", "limit"],
            [
                [t["verdict"], t["name"], t["db"], t["measured"], t["limit"]]
                for t in summary["targets"]
            ],
            right=set(),
        )
    )
    parts += ["", f"Run took {summary['meta']['total_seconds']:.0f}s."]
    return "\n".join(parts)


# --- environment ------------------------------------------------------------------------


def missing_tools(options: Options) -> list[str]:
    """What has to be installed or started first; the script itself installs nothing."""
    dbs, pg_url = options.dbs, options.pg_url
    problems = []
    if shutil.which("wrk") is None:
        problems.append("wrk is missing: apt-get install -y wrk")
    if not (VENV_BIN / "gunicorn").exists():
        problems.append(
            f"gunicorn is missing from {VENV_BIN.parent}: {VENV_BIN}/pip install gunicorn"
        )
    if "postgres" in dbs and (why := _postgres_missing(pg_url)):
        problems.append(why)
    if options.redis_url and (why := _redis_missing(options.redis_url)):
        problems.append(why)
    if options.own_redis and (why := redis_server.missing()):
        problems.append(why)
    if options.with_isso and (why := isso_server.missing()):
        problems.append(why)
    return problems


def _postgres_missing(pg_url: str) -> str | None:
    try:
        import psycopg
    except ImportError:
        return f"psycopg is missing (PostgreSQL driver): {VENV_BIN}/pip install '.[postgres]'"
    from sqlalchemy.engine import make_url

    admin = make_url(pg_url).set(drivername="postgresql", database="postgres")
    try:
        psycopg.connect(admin.render_as_string(hide_password=False), connect_timeout=5).close()
    except psycopg.Error as exc:
        return f"PostgreSQL is not reachable at {admin}: {exc}".strip()
    return None


def _redis_missing(redis_url: str) -> str | None:
    parts = urlsplit(redis_url)
    try:
        socket.create_connection((parts.hostname, parts.port or 6379), timeout=5).close()
    except OSError as exc:
        return f"Redis is not reachable at {redis_url}: {exc}"
    return None


def _first_line(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)  # noqa: S603
    except OSError:
        return "unknown"
    return (
        (done.stdout or done.stderr).strip().splitlines()[0] if done.stdout or done.stderr else ""
    )


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {mem_kb / 1024**2:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        memory = ""
    return f"{os.cpu_count()} cores {model}{memory}, {platform.system()} {platform.release()}"


def versions(dbs: list[str], pg_url: str, with_isso: bool) -> dict[str, str]:
    import sqlite3

    out = {
        "python": platform.python_version(),
        "wrk": _first_line(["wrk", "--version"]),
        "gunicorn": _first_line([str(VENV_BIN / "gunicorn"), "--version"]),
        "sqlite": sqlite3.sqlite_version,
    }
    if "postgres" in dbs:
        out["postgres"] = afterword_seed.postgres_version(pg_url)
    if with_isso:
        out["isso"] = isso_server.version()
    return out


@dataclass
class Options:
    dbs: list[str]
    with_isso: bool
    seconds: int
    pg_url: str
    redis_url: str | None
    project_gunicorn_conf: bool
    quick: bool
    attempts: int  # 1: measure once, whatever else runs on the machine
    profile: Path | None = None  # each Afterword worker's pyinstrument report goes here
    workloads: frozenset[str] | None = None  # None: all of them
    production: bool = False  # the recommended setup: its targets are checked too
    big: bool = False  # a million comments in ten thousand threads (PostgreSQL)
    own_redis: bool = False  # start a redis-server of the run's own; redis_url is set then
    round_trip_requests: int = ROUND_TRIP_REQUESTS

    def wants(self, workload: Workload | Writers) -> bool:
        return self.workloads is None or workload.name in self.workloads


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s runs, SQLite only, no Isso")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], help="default: both")
    parser.add_argument("--skip-isso", action="store_true", help="leave out the Isso comparison")
    parser.add_argument("--seconds", type=int, help="length of each wrk run (whole seconds)")
    parser.add_argument(
        "--attempts",
        type=int,
        help=f"measured runs of a workload at most while others disturb it (default {ATTEMPTS}); "
        "1: once, with no warm-up and no waiting for an idle machine",
    )
    parser.add_argument("--pg-url", default=PG_URL, help=f"database recreated (default {PG_URL})")
    parser.add_argument(
        "--redis",
        nargs="?",
        const=REDIS_URL,
        metavar="URL",
        help=f"give Afterword REDIS_URL (cache and rate limits in Redis; default {REDIS_URL})",
    )
    parser.add_argument(
        "--project-gunicorn-conf",
        action="store_true",
        help="serve Afterword with the repository's gunicorn.conf.py (still -w 2)",
    )
    parser.add_argument(
        "--production",
        action="store_true",
        help="PostgreSQL, Redis (a redis-server of its own unless --redis URL) and the "
        "project's gunicorn.conf.py with GUNICORN_WORKERS=2; checks the production targets",
    )
    parser.add_argument(
        "--big",
        action="store_true",
        help=f"seed {big_seed.BIG_COMMENTS:,} comments in {big_seed.BIG_THREADS:,} threads "
        "(PostgreSQL only)",
    )
    parser.add_argument(
        "--workloads",
        metavar="NAMES",
        help="only these workloads, comma-separated (e.g. ceiling,counts-50), for both servers",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="run Afterword's workers under pyinstrument (pip install pyinstrument); "
        "reports in DIR/DB/worker-PID.txt",
    )
    args = parser.parse_args(argv)
    if args.production and args.db not in (None, "postgres"):
        parser.error("--production runs on PostgreSQL only")
    db = "postgres" if args.production else args.db or ("sqlite" if args.quick else "both")
    if args.big and db != "postgres":
        parser.error("--big seeds PostgreSQL only: add --db postgres (or --production)")
    return Options(
        dbs=["sqlite", "postgres"] if db == "both" else [db],
        with_isso=not (args.quick or args.skip_isso),
        seconds=args.seconds or (QUICK_SECONDS if args.quick else FULL_SECONDS),
        pg_url=args.pg_url,
        redis_url=args.redis,
        project_gunicorn_conf=args.project_gunicorn_conf or args.production,
        quick=args.quick,
        attempts=args.attempts or (1 if args.quick else ATTEMPTS),
        workloads=frozenset(args.workloads.split(",")) if args.workloads else None,
        profile=args.profile.resolve() if args.profile else None,
        production=args.production,
        big=args.big,
        own_redis=args.production and args.redis is None,
        round_trip_requests=ROUND_TRIP_REQUESTS // 5 if args.quick else ROUND_TRIP_REQUESTS,
    )


def _raise_interrupt(signum: int, _frame: FrameType | None) -> None:
    # SIGTERM ends the run like Ctrl-C: the `finally` blocks stop the servers.
    raise KeyboardInterrupt(f"signal {signum}")


@dataclass
class Run:
    options: Options
    results: list[Result] = field(default_factory=list)
    seeding: dict[str, Any] = field(default_factory=lambda: {"afterword": [], "isso": None})
    redis_version: str | None = None

    def execute(self, workdir: Path) -> None:
        if self.options.own_redis:
            with redis_server.own_redis(workdir) as url:
                self.options = replace(self.options, redis_url=url)
                self.redis_version = redis_server.version(url)
                self._execute(workdir)
        else:
            if self.options.redis_url:
                self.redis_version = redis_server.version(self.options.redis_url)
            self._execute(workdir)

    def targets(self) -> list[Target]:
        options = self.options
        out = targets(self.results, options.dbs, options.with_isso, options.workloads)
        out += round_trip_targets(self.results, options.redis_url)
        if options.production:
            out += production_targets(
                self.results, options.with_isso, self.seeding["afterword"], options.quick
            )
        return out

    def _execute(self, workdir: Path) -> None:
        plan = make_plan()
        for kind in self.options.dbs:
            results, info = bench_afterword(kind, plan, workdir, self.options)
            self.results += results
            self.seeding["afterword"].append(info)
        if self.options.with_isso:
            results, info = bench_isso(plan, workdir, self.options)
            self.results += results
            self.seeding["isso"] = info


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    sys.path.insert(0, str(ROOT))  # Afterword's `config` module sits at the repository root
    problems = missing_tools(options)
    if problems:
        print("Cannot run the benchmark yet:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _raise_interrupt)
    idle = cpu.idle_share(1.0)
    calibration = cpu.calibrate()
    if idle < 100 - BUSY_WARN_PCT:
        print(
            f"Warning: the machine is only {idle:.0f}% idle before the run; "
            "other processes will lower the numbers.",
            file=sys.stderr,
        )
    if options.with_isso:
        ours = _first_line([str(VENV_BIN / "gunicorn"), "--version"])
        theirs = _first_line([str(isso_server.VENV / "bin" / "gunicorn"), "--version"])
        if ours != theirs:
            print(
                f"Warning: Afterword runs on {ours}, Isso on {theirs}; the servers compare "
                "best on the same one (bench/README.md, What it needs).",
                file=sys.stderr,
            )
    started = time.monotonic()
    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    revision = _first_line(["git", "-C", str(ROOT), "describe", "--always", "--dirty"])
    code = code_fingerprint()
    run = Run(options)
    try:
        with tempfile.TemporaryDirectory(prefix="afterword-bench-") as tmp:
            run.execute(Path(tmp))
    except KeyboardInterrupt:
        print("\nInterrupted; servers stopped.", file=sys.stderr)
        return 130
    except (
        ServerError,
        afterword_seed.SetupError,
        big_seed.BigSeedError,
        isso_server.IssoError,
        loadgen.WrkError,
    ) as exc:
        print(f"\nThe benchmark could not finish: {exc}", file=sys.stderr)
        return 1
    seen = {code, code_fingerprint()} | {i["code"] for i in run.seeding["afterword"]}
    code_changed = len(seen) > 1
    summary: dict[str, Any] = {
        "meta": {
            "date": date,
            "machine": machine(),
            "versions": versions(options.dbs, options.pg_url, options.with_isso),
            "revision": revision,
            "code": code,
            "code_changed": code_changed,
            "redis": run.options.redis_url,
            "redis_own": options.own_redis,
            "redis_version": run.redis_version,
            "production": options.production,
            "big": options.big,
            "gunicorn_conf": "gunicorn.conf.py" if options.project_gunicorn_conf else "defaults",
            "quick": options.quick,
            "seconds": options.seconds,
            "wrk": {
                "threads": WRK_THREADS,
                "connections": CONNECTIONS,
                "warmup": WARMUP_SECONDS if options.attempts > 1 else 0,
            },
            "idle_before_pct": idle,
            "calibration_ms": calibration,
            "total_seconds": time.monotonic() - started,
        },
        "results": [asdict(r) for r in run.results],
        "ratios": ratios(run.results, options.dbs),
        "targets": [asdict(t) for t in run.targets()],
        "seeding": run.seeding,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n")
    print("\n" + report(summary))
    print(f"JSON: {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
