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
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlencode, urlsplit

import afterword_seed
import cpu
import isso_server
import liking
import loadgen
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
# An open page's live check, against a full read of the same page: a 304 must cost less.
POLL_RATIO_MIN = 1.0
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


def _likes_on(api: str, thread_url: str) -> Callable[[], AbstractContextManager[Any]]:
    """Likes for the comments of the thread at `thread_url`, found when the run starts."""

    def start() -> AbstractContextManager[Any]:
        answer = json.loads(_decoded(request("GET", thread_url, headers=HEADERS)))
        ids = liking.comment_ids(answer)
        return liking.likes_beside(api, ids, HEADERS, LIKES_PER_SECOND)

    return start


def afterword_workloads(base: str, site_id: str, plan: Plan) -> list[Workload]:
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
            # Guests share one cached answer; a reader who is signed in (here: whose sign-in
            # expired, which takes the same path without a user to look up) gets a private
            # one, built from the database on every request.
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
    urls = [ORIGIN + count_path(i + 1) for i in range(len(plan.count_threads))]
    expected = {url: len(c) for url, c in zip(urls, plan.count_threads, strict=True)}
    workloads.append(
        Workload(
            f"counts-{len(urls)}",
            f"counts, {len(urls)} URLs in one request",
            f"{api}/counts?{urlencode([('url', u) for u in urls])}",
            check=_expect_counts(expected),
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
    run_tag = f"r{time.time_ns()}"
    if attempts > 1:  # a smoke check (--quick) goes without: its numbers are rough anyway
        _wrk(workload, WARMUP_SECONDS, 4, 1, f"{run_tag}w")
        server.wait_quiet(quiet_url, HEADERS)
    wrk = None
    for attempt in range(1, attempts + 1):
        if attempts > 1:
            _wait_for_idle()
        calibration = cpu.calibrate()
        before = cpu.snapshot([server.pgid or 0], helpers, database)
        with workload.beside() if workload.beside else nullcontext() as beside:
            this = _wrk(workload, seconds, CONNECTIONS, WRK_THREADS, f"{run_tag}a{attempt}")
        other = cpu.other_share(before, cpu.snapshot([server.pgid or 0], helpers, database))
        result.drain_seconds = server.wait_quiet(quiet_url, HEADERS)
        if wrk is None or other < result.other_cpu_pct:
            wrk, result.other_cpu_pct, result.attempts = this, other, attempt
            result.beside = beside.summary() if beside is not None else None
            result.calibration_ms = calibration
        if other < BUSY_WARN_PCT:
            break
        if attempt < attempts:
            print(f"  {workload.name:<16} other processes took {other:.0f}% of the CPU; again")
    assert wrk is not None
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
        f"  {workload.name:<16} {wrk.rps:9.1f} req/s  p50 {wrk.p50_ms:7.1f} ms  "
        f"p99 {wrk.p99_ms:7.1f} ms  {wrk.bytes_per_response:9,.0f} B/resp{errors}",
        flush=True,
    )
    return result


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


def gunicorn_config(workdir: Path, project: bool) -> Path:
    """The settings file gunicorn reads; never the one it would find by itself.

    Started in the repository, gunicorn silently loads ./gunicorn.conf.py (threads, access
    log, worker recycling), so a change there would change the numbers without a trace. By
    default it gets an empty file: plain `gunicorn -w 2` with sync workers. With
    --project-gunicorn-conf it gets the project's file; -w 2 and -b still override it.
    """
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
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    gunicorn = VENV_BIN / "gunicorn"
    server = Server(
        f"Afterword ({kind})",
        [
            str(gunicorn),
            "-c",
            str(gunicorn_config(dbdir, options.project_gunicorn_conf)),
            "-w",
            "2",
            *gunicorn_flags(gunicorn),
            "-b",
            f"127.0.0.1:{port}",
            "app:create_app()",
        ],
        env=afterword_seed.server_env(url, dbdir, base, options.redis_url),
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
        for workload in filter(options.wants, afterword_workloads(base, seeded.site_id, plan)):
            results.append(
                measure(
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
            )
        probe = long_counts_probe(api)
    info = asdict(seeded) | {"database": kind, "probes": [probe], "code": code}
    return results, info


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
    ]
    for db in dbs:
        for mine, theirs, label in pairs:
            a = _find(results, "afterword", db, mine)
            b = _find(results, "isso", "sqlite", theirs)
            if a and b and b.rps:
                out.append({"db": db, "workload": mine, "label": label, "ratio": a.rps / b.rps})
    return out


def targets(
    results: list[Result], dbs: list[str], isso_ran: bool, chosen: frozenset[str] | None = None
) -> list[Target]:
    """`chosen`: the workloads run (--workloads); a target on another one is skipped."""
    out: list[Target] = []

    def verdict(ok: bool | None) -> str:
        return "SKIP" if ok is None else "PASS" if ok else "FAIL"

    def absent(workload: str) -> tuple[str, bool | None]:
        return ("not run", None) if chosen and workload not in chosen else ("missing", False)

    def ratio_target(
        name: str, db: str, ours: Result | None, theirs: Result | None, minimum: float
    ) -> Target:
        limit = f">= {minimum:g}x"
        if ours is None or theirs is None:
            why = "no Isso run" if not isso_ran else "missing result"
            return Target(name, db, why, limit, "SKIP")
        ratio = ours.rps / theirs.rps
        return Target(name, db, f"{ratio:.1f}x", limit, verdict(ratio >= minimum))

    def share_target(
        name: str, db: str, ours: Result | None, reference: Result | None, minimum: float
    ) -> Target:
        """Afterword against itself in the same run: `ours` req/s over `reference`'s."""
        limit = f">= {minimum:g}x"
        if ours is None or reference is None or not reference.rps:
            return Target(name, db, "missing result", limit, "SKIP")
        ratio = ours.rps / reference.rps
        return Target(name, db, f"{ratio:.2f}x", limit, verdict(ratio >= minimum))

    isso_thread = _find(results, "isso", "sqlite", "thread-100")
    isso_counts = _find(results, "isso", "sqlite", "counts-50")
    for db in dbs:
        thread = _find(results, "afterword", db, "thread-100")
        counts = _find(results, "afterword", db, "counts-50")
        big = _find(results, "afterword", db, f"thread-{BIG}")
        poll = _find(results, "afterword", db, "poll-100")
        liking = _find(results, "afterword", db, "thread-100-liking")
        out.append(
            ratio_target("thread 100 req/s vs Isso", db, thread, isso_thread, THREAD_RATIO_MIN)
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
            ratio_target("counts 50 req/s vs Isso", db, counts, isso_counts, COUNTS_RATIO_MIN)
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
    return out


def _table(headers: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


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
        + (f"in Redis ({meta['redis']})" if meta["redis"] else "in-process (no REDIS_URL)"),
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
    workloads: frozenset[str] | None = None  # None: all of them

    def wants(self, workload: Workload) -> bool:
        return self.workloads is None or workload.name in self.workloads


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s runs, SQLite only, no Isso")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], help="default: both")
    parser.add_argument("--skip-isso", action="store_true", help="leave out the Isso comparison")
    parser.add_argument("--seconds", type=int, help="length of each wrk run (whole seconds)")
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
        "--workloads",
        metavar="NAMES",
        help="only these workloads, comma-separated (e.g. ceiling,counts-50), for both servers",
    )
    args = parser.parse_args(argv)
    db = args.db or ("sqlite" if args.quick else "both")
    return Options(
        dbs=["sqlite", "postgres"] if db == "both" else [db],
        with_isso=not (args.quick or args.skip_isso),
        seconds=args.seconds or (QUICK_SECONDS if args.quick else FULL_SECONDS),
        pg_url=args.pg_url,
        redis_url=args.redis,
        project_gunicorn_conf=args.project_gunicorn_conf,
        quick=args.quick,
        attempts=1 if args.quick else ATTEMPTS,
        workloads=frozenset(args.workloads.split(",")) if args.workloads else None,
    )


def _raise_interrupt(signum: int, _frame: FrameType | None) -> None:
    # SIGTERM ends the run like Ctrl-C: the `finally` blocks stop the servers.
    raise KeyboardInterrupt(f"signal {signum}")


@dataclass
class Run:
    options: Options
    results: list[Result] = field(default_factory=list)
    seeding: dict[str, Any] = field(default_factory=lambda: {"afterword": [], "isso": None})

    def execute(self, workdir: Path) -> None:
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
            "redis": options.redis_url,
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
        "targets": [
            asdict(t)
            for t in targets(run.results, options.dbs, options.with_isso, options.workloads)
        ],
        "seeding": run.seeding,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n")
    print("\n" + report(summary))
    print(f"JSON: {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
