"""Soak test: mixed load for ten minutes on two gunicorn "hosts" sharing one database.

    .venv/bin/python bench/soak.py [--quick] [--minutes N]

Two gunicorn masters (the project's gunicorn.conf.py, two workers each, on two ports) stand
for two machines behind a round-robin balancer, sharing one PostgreSQL and one Redis, as a
site that outgrew one machine runs. Readers, writers, two moderators and a counts client load
them for the whole run; every 10 s the script samples each worker's memory, PostgreSQL's and
Redis's connections and the errors so far. At the end the site is exported with
`flask export` and every accepted comment must be in it exactly once. Targets print PASS or
FAIL; the exit code is 0 unless something crashed. See bench/README.md, "Soak".
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import itertools
import json
import math
import os
import random
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any, cast
from urllib.parse import urlencode

import afterword_seed
import cpu
import plan
from plan import COUNT_THREADS, ORIGIN, THREAD_SIZES, count_path, make_plan, thread_path
from run import code_fingerprint, gunicorn_flags, machine
from scale import Answer, Browser, csrf_of
from servers import Response, Server, ServerError, free_port, request, running

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results" / "soak.json"
VENV_BIN = Path(sys.executable).parent

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/soak"
REDIS_URL = "redis://127.0.0.1:6379/14"
# The name readers would reach the balancer by; not a loopback address, so neither host
# warns that it is not what PUBLIC_URL names (app/serving.py).
PUBLIC_URL = "http://comments.soak.test"
HOSTS = 2
WORKERS_PER_HOST = 2
HEADERS = {"Origin": ORIGIN, "Accept-Encoding": "gzip"}
REQUEST_TIMEOUT = 30.0  # gunicorn.conf.py ends a request after 30 s; waiting longer is moot

SAMPLE_SECONDS = 10.0
# Memory is compared from the first sample after the workers have filled their caches,
# imported what they import lazily and compiled their SQL.
WARMUP_SECONDS = 60.0
QUICK_WARMUP_SHARE = 0.2
MEMORY_TOLERANCE = 0.10
# A connection count that moves by a connection or two is a pool at work; one that climbs
# is a leak. Samples after warm-up may span this many connections...
CONNECTIONS_SPREAD_MAX = 2
# ...and the last third of them may average at most this many more than the first third.
CONNECTIONS_DRIFT_MAX = 1.0

# Pacing: people, not a load generator. A reader opens a page every few seconds (200 of them
# stand for a site's few thousand), and sometimes stays, which is the widget's live check.
READ_THINK = 3.0
LIVE_CHECK_SHARE = 0.3
# A writer reads the page, types for a while, posts. The typing time goes out as `fill_ms`,
# as the widget sends it; under COMMENT_MIN_FILL_MS (2 s) a comment is taken for spam.
TYPING_MIN = 3.0
TYPING_MEAN = 6.0
REPLY_SHARE = 0.3
NEW_PAGE_SHARE = 0.05  # a post on a page nobody commented on yet creates its thread
# A moderator reads each comment briefly before `Approve`, then takes the queue again.
MODERATOR_THINK = 0.4
APPROVALS_PER_QUEUE = 20
EMPTY_QUEUE_WAIT = 2.0
COUNTS_EVERY = 1.0
PROBLEMS_KEPT = 50

KEY = re.compile(r"^(soak-\w+-w\d+-\d+)$", re.MULTILINE)
PENDING_ROW = re.compile(rb'data-id="(\d+)" data-status="pending"')
LOG_ERROR = re.compile(r'"level":\s*"(ERROR|CRITICAL)"|\[(ERROR|CRITICAL)\]|Traceback')


@dataclass(frozen=True)
class Profile:
    minutes: float
    readers: int
    writers: int
    moderators: int = 2
    counters: int = 1


FULL = Profile(minutes=10, readers=200, writers=32)
QUICK = Profile(minutes=1, readers=40, writers=8)


class SetupError(RuntimeError):
    """Something the run needs is missing, or could not be prepared."""


# --- who answers: two hosts, taken in turn -----------------------------------------------


class RoundRobin:
    """The balancer, on the client side: each request goes to the next host, whoever sends
    it. itertools.count's `next` is one C call, so threads never take the same turn."""

    def __init__(self, bases: list[str]) -> None:
        self.bases = bases
        self._turn = itertools.count()

    def next(self) -> int:
        return next(self._turn) % len(self.bases)


# --- what happened -------------------------------------------------------------------------


@dataclass
class Kind:
    statuses: Counter[int] = field(default_factory=Counter)  # 0: no answer at all
    seconds: list[float] = field(default_factory=list)


class Tally:
    """Every request's outcome, by kind of request and by host."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.kinds: dict[str, Kind] = {}
        self.requests = 0
        self.server_errors = 0  # 5xx
        self.other_errors = 0  # no answer, or a status the client did not expect
        self.server_errors_by_host = [0] * HOSTS
        self.problems: list[str] = []

    def record(
        self, kind: str, host: int, status: int, seconds: float, ok: set[int], note: str
    ) -> None:
        with self._lock:
            entry = self.kinds.setdefault(kind, Kind())
            entry.statuses[status] += 1
            entry.seconds.append(seconds)
            self.requests += 1
            if status >= 500:
                self.server_errors += 1
                self.server_errors_by_host[host] += 1
            elif status not in ok:
                self.other_errors += 1
            else:
                return
            if len(self.problems) < PROBLEMS_KEPT:
                self.problems.append(f"{kind} on host {host}: {status or 'no answer'} {note}")

    def summary(self) -> dict[str, Any]:
        with self._lock:
            return {
                name: {
                    "requests": len(k.seconds),
                    "statuses": {str(s): n for s, n in sorted(k.statuses.items())},
                    "p50_ms": round(_percentile(k.seconds, 0.50) * 1000, 1),
                    "p99_ms": round(_percentile(k.seconds, 0.99) * 1000, 1),
                }
                for name, k in sorted(self.kinds.items())
            }


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class Ledger:
    """What the service said it kept: the comments answered 201 and the approvals."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.accepted: dict[str, tuple[int, str]] = {}  # key -> (comment id, page)
        self.unanswered: set[str] = set()  # posted, but no answer came back
        self.approved: dict[int, str] = {}  # comment id -> status the approval answered

    def accept(self, key: str, comment_id: int, page: str) -> None:
        with self._lock:
            self.accepted[key] = (comment_id, page)

    def lose_answer(self, key: str) -> None:
        with self._lock:
            self.unanswered.add(key)

    def approve(self, comment_id: int, status: str) -> None:
        with self._lock:
            self.approved[comment_id] = status


# --- the clients -----------------------------------------------------------------------------


@dataclass
class Soak:
    site_id: str
    hosts: RoundRobin
    tag: str  # in every idempotency key and body, so a rerun never collides with this one
    pages: list[str]  # what readers read: the seeded pages
    writer_pages: list[str]  # where writers post, besides pages of their own
    tally: Tally = field(default_factory=Tally)
    ledger: Ledger = field(default_factory=Ledger)
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def api(self) -> str:
        return f"/api/v1/sites/{self.site_id}"

    def thread_url(self, page: str, mine: list[str] | None = None) -> str:
        query = {"url": ORIGIN + page, "sort": "oldest"}  # what the widget asks first
        if mine:
            query["mine"] = ",".join(mine[-50:])  # the widget sends its last 50 edit tokens
        return f"{self.api}/thread?{urlencode(query)}"

    def call(
        self,
        kind: str,
        method: str,
        path: str,
        ok: set[int],
        headers: dict[str, str],
        body: bytes | None = None,
    ) -> Response | None:
        host = self.hosts.next()
        started = time.perf_counter()
        try:
            resp = request(
                method,
                self.hosts.bases[host] + path,
                headers=headers,
                body=body,
                timeout=REQUEST_TIMEOUT,
            )
        except (OSError, http.client.HTTPException) as exc:
            elapsed = time.perf_counter() - started
            self.tally.record(kind, host, 0, elapsed, ok, f"{type(exc).__name__}: {exc}")
            return None
        note = "" if resp.status in ok else repr(_decoded(resp)[:200])
        self.tally.record(kind, host, resp.status, resp.seconds, ok, note)
        return resp

    def browse(
        self, kind: str, browsers: list[Browser], ok: set[int], send: Callable[[Browser], Answer]
    ) -> Answer | None:
        """A moderator's request, on the next host, with the moderator's cookies."""
        host = self.hosts.next()
        started = time.perf_counter()
        try:
            answer = send(browsers[host])
        except (OSError, http.client.HTTPException) as exc:
            elapsed = time.perf_counter() - started
            self.tally.record(kind, host, 0, elapsed, ok, f"{type(exc).__name__}: {exc}")
            return None
        note = "" if answer.status in ok else repr(answer.body[:200])
        self.tally.record(kind, host, answer.status, answer.seconds, ok, note)
        return answer


def _decoded(resp: Response) -> bytes:
    if resp.headers.get("content-encoding") == "gzip":
        return gzip.decompress(resp.body)
    return resp.body


def _json(resp: Response) -> Any:
    try:
        return json.loads(_decoded(resp))
    except (ValueError, OSError):
        return None


def reader(soak: Soak, rng: random.Random) -> None:
    """Opens pages, and sometimes stays on one long enough for the widget's live check.

    Like a browser, it keeps each page's ETag: opening a page again revalidates it.
    """
    etags: dict[str, str] = {}
    page = rng.choice(soak.pages)
    soak.stop.wait(rng.uniform(0, READ_THINK))  # not all 200 at the same instant
    while not soak.stop.is_set():
        live = page in etags and rng.random() < LIVE_CHECK_SHARE
        if not live:
            page = rng.choice(soak.pages)
        headers = dict(HEADERS)
        if page in etags:
            headers["If-None-Match"] = etags[page]
        kind = "live check" if live else "read"
        resp = soak.call(kind, "GET", soak.thread_url(page), {200, 304}, headers)
        if resp is not None and (etag := resp.headers.get("etag")):
            etags[page] = etag
        soak.stop.wait(rng.expovariate(1 / READ_THINK))


def _approved_ids(nodes: Any) -> list[int]:
    found: list[int] = []
    for node in nodes if isinstance(nodes, list) else []:
        if isinstance(node, dict):
            if node.get("status") == "approved" and isinstance(node.get("id"), int):
                found.append(node["id"])
            found += _approved_ids(node.get("replies"))
    return found


def writer(soak: Soak, number: int, rng: random.Random) -> None:
    """Reads a page, types, posts a guest comment (sometimes a reply) with a unique body.

    The edit tokens it gets back go with its next read of that page (`mine`), as the widget
    sends them, so those reads are private answers that include its own waiting comments.
    """
    tokens: dict[str, list[str]] = {}
    sent = 0
    soak.stop.wait(rng.uniform(0, TYPING_MEAN))
    while not soak.stop.is_set():
        if rng.random() < NEW_PAGE_SHARE:
            page = f"/soak/{soak.tag}/new-{number}-{sent}"
        else:
            page = rng.choice(soak.writer_pages)
        mine = tokens.get(page)
        resp = soak.call(
            "private read" if mine else "read",
            "GET",
            soak.thread_url(page, mine),
            {200},
            dict(HEADERS),
        )
        answer = _json(resp) if resp is not None and resp.status == 200 else None
        parents = _approved_ids(answer.get("comments")) if isinstance(answer, dict) else []
        typing = TYPING_MIN + rng.expovariate(1 / TYPING_MEAN)
        if soak.stop.wait(typing):
            return
        sent += 1
        parent = rng.choice(parents) if parents and rng.random() < REPLY_SHARE else None
        key = f"soak-{soak.tag}-w{number}-{sent}"
        token = post(soak, number, key, page, parent, typing, rng)
        if token:
            tokens.setdefault(page, []).append(token)


def post(
    soak: Soak,
    number: int,
    key: str,
    page: str,
    parent: int | None,
    typing: float,
    rng: random.Random,
) -> str | None:
    """One comment as the widget sends it; its edit token, or None if it was not accepted."""
    comment = {
        "url": ORIGIN + page,
        "title": f"Soak page {page}",
        "parent_id": parent,
        # The key on a line of its own, so the export can be matched back to the answers.
        "body": f"{key}\n\n{plan.body(rng)}",
        "name": f"{plan.FIRST_NAMES[number % len(plan.FIRST_NAMES)]} Soak{number}",
        "email": f"soak-writer-{number}@example.org",
        "idempotency_key": key,
        "hp": "",
        "fill_ms": round(typing * 1000),
    }
    headers = dict(HEADERS) | {"Content-Type": "application/json"}
    resp = soak.call(
        "post", "POST", f"{soak.api}/comments", {201}, headers, json.dumps(comment).encode()
    )
    if resp is None:
        soak.ledger.lose_answer(key)
        return None
    answer = _json(resp) if resp.status == 201 else None
    if not isinstance(answer, dict) or not isinstance(answer.get("comment"), dict):
        return None
    soak.ledger.accept(key, int(answer["comment"]["id"]), page)
    return str(answer.get("edit_token") or "") or None


@dataclass(frozen=True)
class Account:
    email: str
    password: str


def moderator(soak: Soak, number: int, account: Account, rng: random.Random) -> None:
    """Signs in to the dashboard, then works the site's queue with each row's `Approve`.

    Two moderators work the same queue, one from the newest comment, one from the oldest of
    the page, so now and then both approve the same comment at once, as people do.
    """
    # One Browser per host, sharing one cookie jar: the session is a signed cookie, so
    # whichever host signed the moderator in, either host takes it.
    browsers = [Browser(base) for base in soak.hosts.bases]
    for browser in browsers[1:]:
        browser.cookies = browsers[0].cookies
    soak.stop.wait(rng.uniform(0, EMPTY_QUEUE_WAIT))
    signed_in = False
    while not soak.stop.is_set():
        if not signed_in:
            signed_in = sign_in(soak, browsers, account)
            if not signed_in:
                soak.stop.wait(EMPTY_QUEUE_WAIT)
                continue
        queue = soak.browse(
            "queue page",
            browsers,
            {200},
            lambda b: b.get(f"/dashboard/?status=pending&site={soak.site_id}"),
        )
        if queue is None or queue.status != 200:
            # A redirect to the sign-in page means signed out: sign in again. No answer at
            # all says nothing about the session.
            signed_in = queue is None
            soak.stop.wait(EMPTY_QUEUE_WAIT)
            continue
        ids = [int(i) for i in PENDING_ROW.findall(queue.body)]
        if number % 2:
            ids.reverse()
        if not ids:
            soak.stop.wait(EMPTY_QUEUE_WAIT)
            continue
        token = csrf_of(queue.body)
        for comment_id in ids[:APPROVALS_PER_QUEUE]:
            if soak.stop.wait(rng.expovariate(1 / MODERATOR_THINK)):
                return
            approve(soak, browsers, comment_id, token)


def sign_in(soak: Soak, browsers: list[Browser], account: Account) -> bool:
    form = soak.browse("sign-in", browsers, {200}, lambda b: b.get("/dashboard/login"))
    if form is None or form.status != 200:
        return False
    fields = [
        ("email", account.email),
        ("password", account.password),
        ("csrf_token", csrf_of(form.body)),
    ]
    done = soak.browse(
        "sign-in", browsers, {302}, lambda b: b.post_form("/dashboard/login", fields)
    )
    return done is not None and done.status == 302


def approve(soak: Soak, browsers: list[Browser], comment_id: int, token: str) -> None:
    """The row's `Approve` as dashboard.js sends it: asking for JSON, not the next page."""
    fields = [("csrf_token", token), ("action", "approve")]
    answer = soak.browse(
        "approve",
        browsers,
        {200},
        lambda b: b.post_form(
            f"/dashboard/comments/act?one={comment_id}", fields, Accept="application/json"
        ),
    )
    if answer is None or answer.status != 200:
        return
    try:
        status = json.loads(answer.body)["comments"][0]["status"]
    except (ValueError, KeyError, IndexError, TypeError):
        status = "unreadable answer"
    soak.ledger.approve(comment_id, str(status))


def counts_query() -> str:
    return urlencode([("url", ORIGIN + count_path(i + 1)) for i in range(COUNT_THREADS)])


def counter(soak: Soak, _rng: random.Random) -> None:
    """count.js on a blog's front page: the counts of its 50 listed posts, once a second."""
    path = f"{soak.api}/counts?{counts_query()}"
    while not soak.stop.is_set():
        soak.call("counts", "GET", path, {200}, dict(HEADERS))
        soak.stop.wait(COUNTS_EVERY)


@contextmanager
def clients(soak: Soak, profile: Profile, accounts: list[Account]) -> Iterator[int]:
    """Every client in a thread of its own, until the block ends; yields how many."""
    seed = random.Random(plan.SEED)  # noqa: S311 - the same pacing on every run, not a secret
    work: list[Callable[[random.Random], None]] = []
    work += [partial(reader, soak)] * profile.readers
    work += [partial(writer, soak, n) for n in range(profile.writers)]
    work += [partial(moderator, soak, n, accounts[n]) for n in range(profile.moderators)]
    work += [partial(counter, soak)] * profile.counters
    threads = [
        threading.Thread(
            target=job,
            args=(random.Random(seed.getrandbits(64)),),  # noqa: S311 - pacing, not secrets
            name=f"soak-{i}",
            daemon=True,  # one stuck in a request must not keep the script from ending
        )
        for i, job in enumerate(work)
    ]
    for thread in threads:
        thread.start()
    try:
        yield len(threads)
    finally:
        soak.stop.set()
        deadline = time.monotonic() + REQUEST_TIMEOUT + 5
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


# --- sampling --------------------------------------------------------------------------------


@dataclass
class Sample:
    seconds: float  # since the load started
    requests: int
    server_errors: int
    other_errors: int
    pg_connections: int
    redis_connections: int
    load_average: float
    workers: dict[str, int]  # "host/pid" -> RSS in kB


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid`: a gunicorn master's workers."""
    return sorted(child for child, _comm, rest in cpu.proc_stats() if int(rest[1]) == pid)


def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


class Probe:
    """Connections to PostgreSQL's `postgres` database and to Redis, kept for the samples.

    The PostgreSQL one is to another database, so it is not among those it counts; the Redis
    one is left out by its client id.
    """

    def __init__(self, pg_url: str, redis_url: str) -> None:
        import psycopg
        import redis
        from sqlalchemy.engine import make_url

        target = make_url(pg_url)
        admin = target.set(drivername="postgresql", database="postgres")
        self.database = target.database
        self.pg = psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True)
        self.redis = redis.Redis.from_url(redis_url)
        self.redis_db = self.redis.connection_pool.connection_kwargs.get("db", 0)
        self.redis_self = self.redis.client_id()

    def pg_connections(self) -> int:
        row = self.pg.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = %s AND backend_type = 'client backend'",
            (self.database,),
        ).fetchone()
        return int(row[0]) if row else 0

    def redis_connections(self) -> int:
        """Clients on the soak's Redis database: others on the machine use other numbers."""
        listed = cast(list[dict[str, str]], self.redis.client_list())
        return sum(
            1
            for client in listed
            if int(client.get("db", -1)) == self.redis_db
            and int(client.get("id", -1)) != self.redis_self
        )

    def close(self) -> None:
        self.pg.close()
        self.redis.close()


def take_sample(soak: Soak, servers: list[Server], probe: Probe, started: float) -> Sample:
    workers: dict[str, int] = {}
    for host, server in enumerate(servers):
        for pid in children(server.pgid or 0):
            if (rss := rss_kb(pid)) is not None:
                workers[f"{host}/{pid}"] = rss
    return Sample(
        seconds=round(time.monotonic() - started, 1),
        requests=soak.tally.requests,
        server_errors=soak.tally.server_errors,
        other_errors=soak.tally.other_errors,
        pg_connections=probe.pg_connections(),
        redis_connections=probe.redis_connections(),
        load_average=round(os.getloadavg()[0], 2),
        workers=workers,
    )


def sample_line(sample: Sample, before: Sample | None) -> str:
    span = sample.seconds - (before.seconds if before else 0.0)
    rate = (sample.requests - (before.requests if before else 0)) / span if span else 0.0
    memory = "  ".join(
        f"h{key.split('/')[0]}:{kb / 1024:.1f}" for key, kb in sorted(sample.workers.items())
    )
    return (
        f"  {sample.seconds:5.0f}s  {sample.requests:7,} req ({rate:5.1f}/s)  "
        f"5xx {sample.server_errors}  errors {sample.other_errors}  "
        f"PG {sample.pg_connections}  Redis {sample.redis_connections}  "
        f"RSS MB {memory}  load {sample.load_average:.1f}"
    )


def sample_for(soak: Soak, servers: list[Server], probe: Probe, duration: float) -> list[Sample]:
    """A sample every SAMPLE_SECONDS and one at the end; a host that dies ends the run."""
    started = time.monotonic()
    samples: list[Sample] = []
    for tick in range(1, math.ceil(duration / SAMPLE_SECONDS) + 1):
        time.sleep(max(0.0, started + min(tick * SAMPLE_SECONDS, duration) - time.monotonic()))
        for server in servers:
            if not server.alive():
                raise ServerError(f"{server.name} died during the run:\n{server.log_tail()}")
        samples.append(take_sample(soak, servers, probe, started))
        print(sample_line(samples[-1], samples[-2] if len(samples) > 1 else None), flush=True)
    return samples


# --- setting up ------------------------------------------------------------------------------


def flask(args: list[str], env: dict[str, str]) -> str:
    """One of Afterword's `flask` commands, as an operator types it; its output."""
    done = subprocess.run(  # noqa: S603 - argv built here
        [str(VENV_BIN / "flask"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SetupError(f"flask {args[0]} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def flush_redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        raise SetupError(f"Redis at {url} cannot be flushed: {exc}") from exc
    finally:
        client.close()


@dataclass(frozen=True)
class Site:
    site_id: str
    comments: int
    accounts: list[Account]


def prepare(workdir: Path, env: dict[str, str], moderators: int) -> Site:
    """A fresh database and Redis; the benchmark's site and threads; then moderation on
    and moderator accounts, through the CLI as an operator would."""
    afterword_seed.recreate_postgres(PG_URL)
    flush_redis(REDIS_URL)
    afterword_seed.migrate(PG_URL, workdir)
    seeded = afterword_seed.seed(PG_URL, make_plan())
    # The benchmark's site publishes at once; here every comment waits for a moderator.
    flask(["site", "update", seeded.site_id, "--moderation", "all"], env)
    accounts = [
        Account(f"soak-moderator{n + 1}@example.org", secrets.token_urlsafe(16))
        for n in range(moderators)
    ]
    for account in accounts:
        flask(
            [
                "moderator",
                "create",
                account.email,
                "--site",
                seeded.site_id,
                "--password",
                account.password,
            ],
            env,
        )
    return Site(seeded.site_id, seeded.comments, accounts)


def host_server(host: int, workdir: Path, env: dict[str, str]) -> tuple[Server, str]:
    port = free_port()
    hostdir = workdir / f"host{host}"
    metrics = hostdir / "metrics"  # each "machine" adds up its own workers' metrics
    metrics.mkdir(parents=True)
    gunicorn = VENV_BIN / "gunicorn"
    server = Server(
        f"Afterword host {host}",
        [
            str(gunicorn),
            "-c",
            str(ROOT / "gunicorn.conf.py"),
            *gunicorn_flags(gunicorn),
            "app:create_app()",
        ],
        env=env
        | {
            "GUNICORN_WORKERS": str(WORKERS_PER_HOST),
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        },
        cwd=ROOT,
        log_path=hostdir / "gunicorn.log",
    )
    return server, f"http://127.0.0.1:{port}"


def seeded_pages() -> tuple[list[str], list[str]]:
    """The pages readers read (all seeded ones) and those writers post to: the listed posts
    and the two smaller threads; the 1,000 and 10,000 comment ones are read, not written."""
    listed = [count_path(i + 1) for i in range(COUNT_THREADS)]
    readers = [thread_path(size) for size in THREAD_SIZES] + listed
    writers = [thread_path(size) for size in THREAD_SIZES if size <= 100] + listed
    return readers, writers


# --- checks ------------------------------------------------------------------------------------


@dataclass
class Target:
    name: str
    measured: str
    limit: str
    verdict: str  # PASS or FAIL


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def export_site(site_id: str, env: dict[str, str], path: Path) -> dict[str, Any]:
    flask(["export", "--site", site_id, "--output", str(path)], env)
    return json.loads(path.read_text())


def delivery(ledger: Ledger, export: dict[str, Any]) -> dict[str, Any]:
    """Every comment answered 201 against the export: there once, with the id answered and
    on the page it was posted to; every approval answered `approved` exported approved."""
    found: dict[str, list[tuple[int, str, str]]] = {}
    statuses: dict[int, str] = {}
    for thread in export.get("threads", []):
        for comment in thread.get("comments", []):
            statuses[comment["id"]] = comment["status"]
            match = KEY.search(comment.get("body") or "")
            if match:
                found.setdefault(match.group(1), []).append(
                    (comment["id"], comment["status"], thread["url"])
                )
    accepted = ledger.accepted
    wrong = [
        key
        for key, (comment_id, page) in accepted.items()
        if key in found and (found[key][0][0], found[key][0][2]) != (comment_id, ORIGIN + page)
    ]
    approved = [cid for cid, status in ledger.approved.items() if status == "approved"]
    return {
        "accepted": len(accepted),
        "exported": sum(len(v) for v in found.values()),
        "lost": sorted(key for key in accepted if key not in found),
        "twice": sorted(key for key, rows in found.items() if len(rows) > 1),
        "wrong_id_or_page": sorted(wrong),
        "stored_without_answer": sorted(k for k in found if k not in accepted),
        "unanswered_posts": len(ledger.unanswered),
        "approvals": len(ledger.approved),  # comments; both moderators may approve one
        "approvals_answered_otherwise": sum(1 for s in ledger.approved.values() if s != "approved"),
        "approved_not_exported_approved": sorted(
            cid for cid in approved if statuses.get(cid) != "approved"
        ),
        "still_pending": sum(1 for rows in found.values() if rows[0][1] == "pending"),
    }


def delivery_ok(check: dict[str, Any]) -> bool:
    return (
        check["accepted"] > 0
        and not check["lost"]
        and not check["twice"]
        and not check["wrong_id_or_page"]
        and not check["approved_not_exported_approved"]
        and check["approvals_answered_otherwise"] == 0
    )


def counts_agree(soak: Soak, export: dict[str, Any]) -> dict[str, Any]:
    """Each host's counts, once the load stopped, against the approved comments exported.

    The counts come from each thread's counter (and both hosts' caches of it); the export
    reads the comments themselves.
    """
    expected = {
        thread["url"]: sum(1 for c in thread.get("comments", []) if c["status"] == "approved")
        for thread in export.get("threads", [])
    }
    urls = sorted(expected)
    wrong: list[dict[str, Any]] = []
    unanswered = 0
    for host, base in enumerate(soak.hosts.bases):
        for start in range(0, len(urls), 100):  # the API takes up to 100 URLs a request
            batch = urls[start : start + 100]
            query = urlencode([("url", u) for u in batch])
            resp = request("GET", f"{base}{soak.api}/counts?{query}", headers=HEADERS)
            answer = _json(resp) if resp.status == 200 else None
            if not isinstance(answer, dict) or not isinstance(answer.get("counts"), dict):
                unanswered += 1
                continue
            for url in batch:
                if answer["counts"].get(url) != expected[url]:
                    wrong.append(
                        {
                            "host": host,
                            "url": url,
                            "counts": answer["counts"].get(url),
                            "approved": expected[url],
                        }
                    )
    return {
        "pages": len(urls),
        "hosts": len(soak.hosts.bases),
        "wrong": wrong,
        "failed": unanswered,
    }


def warm_sample(samples: list[Sample], warmup: float) -> Sample | None:
    return next((s for s in samples if s.seconds >= warmup), None)


def memory(samples: list[Sample], warmup: float) -> tuple[bool, list[dict[str, Any]]]:
    """Each worker's RSS at the end against its RSS after warm-up."""
    warm = warm_sample(samples, warmup)
    if warm is None or not samples:
        return False, []
    end = samples[-1]
    rows: list[dict[str, Any]] = []
    for worker, before in sorted(warm.workers.items()):
        after = end.workers.get(worker)
        change = None if after is None else (after - before) / before
        rows.append(
            {
                "worker": worker,
                "warm_kb": before,
                "end_kb": after,
                "max_kb": max(s.workers.get(worker, 0) for s in samples),
                "change": None if change is None else round(change, 4),
            }
        )
    workers_now = set(end.workers)
    ok = (
        len(rows) == HOSTS * WORKERS_PER_HOST
        and workers_now == set(warm.workers)  # none replaced: a restart hides growth
        and all(r["change"] is not None and abs(r["change"]) <= MEMORY_TOLERANCE for r in rows)
    )
    return ok, rows


def steady(values: list[int]) -> tuple[bool, dict[str, Any]]:
    """No growth: a narrow span, and the last third no higher than the first."""
    if not values:
        return False, {}
    third = max(1, len(values) // 3)
    drift = statistics.fmean(values[-third:]) - statistics.fmean(values[:third])
    spread = max(values) - min(values)
    ok = spread <= CONNECTIONS_SPREAD_MAX and drift <= CONNECTIONS_DRIFT_MAX
    return ok, {"min": min(values), "max": max(values), "drift": round(drift, 2)}


def targets(
    soak: Soak,
    samples: list[Sample],
    warmup: float,
    check: dict[str, Any],
    counts: dict[str, Any],
) -> tuple[list[Target], dict[str, Any]]:
    tally = soak.tally
    mem_ok, mem_rows = memory(samples, warmup)
    after = [s for s in samples if s.seconds >= warmup]
    pg_ok, pg = steady([s.pg_connections for s in after])
    redis_ok, redis_figures = steady([s.redis_connections for s in after])
    changes = [r["change"] for r in mem_rows if r["change"] is not None]
    worst = max(changes, key=abs) if changes else None
    replaced = len(mem_rows) - len(changes)
    out = [
        Target(
            "zero 5xx",
            f"{tally.server_errors} of {tally.requests:,} "
            f"(by host: {', '.join(map(str, tally.server_errors_by_host))})",
            "0",
            verdict(tally.server_errors == 0),
        ),
        Target(
            "no other failed request",
            f"{tally.other_errors} (no answer, or an unexpected status)",
            "0",
            verdict(tally.other_errors == 0),
        ),
        Target(
            "worker memory flat",
            (f"worst {worst:+.1%} over {len(mem_rows)} workers" if worst is not None else "-")
            + (f", {replaced} replaced" if replaced else ""),
            f"each within {MEMORY_TOLERANCE:.0%} of its RSS at {warmup:.0f}s",
            verdict(mem_ok),
        ),
        Target(
            "PostgreSQL connections steady",
            _span(pg),
            f"span <= {CONNECTIONS_SPREAD_MAX}, drift <= {CONNECTIONS_DRIFT_MAX:g}",
            verdict(pg_ok),
        ),
        Target(
            "Redis connections steady",
            _span(redis_figures),
            f"span <= {CONNECTIONS_SPREAD_MAX}, drift <= {CONNECTIONS_DRIFT_MAX:g}",
            verdict(redis_ok),
        ),
        Target(
            "every accepted comment exported once",
            f"{check['accepted']:,} accepted, {len(check['lost'])} lost, "
            f"{len(check['twice'])} twice, {len(check['wrong_id_or_page'])} misplaced; "
            f"{check['approvals']:,} comments approved, "
            f"{len(check['approved_not_exported_approved'])} of them not so in the export",
            "0 lost, 0 twice, 0 misplaced, 0 approvals lost",
            verdict(delivery_ok(check)),
        ),
        Target(
            "counts agree with the export",
            f"{len(counts['wrong'])} wrong of {counts['pages']} pages x {counts['hosts']} hosts",
            "0 wrong",
            verdict(not counts["wrong"] and not counts["failed"]),
        ),
    ]
    return out, {"memory": mem_rows, "pg_connections": pg, "redis_connections": redis_figures}


def _span(figures: dict[str, Any]) -> str:
    if not figures:
        return "no sample after warm-up"
    return f"{figures['min']} to {figures['max']}, drift {figures['drift']:+g}"


def log_errors(servers: list[Server]) -> dict[str, Any]:
    """ERROR and CRITICAL lines (tracebacks, worker timeouts) in each host's log."""
    found: list[str] = []
    total = 0
    for server in servers:
        try:
            lines = server.log_path.read_text(errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            if LOG_ERROR.search(line):
                total += 1
                if len(found) < PROBLEMS_KEPT:
                    found.append(f"{server.name}: {line[:400]}")
    return {"lines": total, "first": found}


# --- the run -----------------------------------------------------------------------------------


def _revision() -> str:
    done = subprocess.run(  # noqa: S603 - fixed argv
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def execute(profile: Profile, workdir: Path, quick: bool) -> dict[str, Any]:
    duration = profile.minutes * 60
    warmup = duration * QUICK_WARMUP_SHARE if quick else min(WARMUP_SECONDS, duration * 0.2)
    env = afterword_seed.server_env(PG_URL, workdir, PUBLIC_URL, REDIS_URL)
    print("== preparing: PostgreSQL database soak, Redis db 14, seed, moderators", flush=True)
    site = prepare(workdir, env, profile.moderators)
    print(f"  site {site.site_id}: {site.comments:,} seeded comments, moderation all", flush=True)
    hosts = [host_server(i, workdir, env) for i in range(HOSTS)]
    readers, writers = seeded_pages()
    soak = Soak(
        site.site_id,
        RoundRobin([base for _, base in hosts]),
        tag=secrets.token_hex(4),
        pages=readers,
        writer_pages=writers,
    )
    code = code_fingerprint()
    with ExitStack() as stack:
        servers = [stack.enter_context(running(server)) for server, _ in hosts]
        for server, base in hosts:
            server.wait_ready(f"{base}/readyz")
        print(
            f"  two hosts ({', '.join(soak.hosts.bases)}), gunicorn.conf.py with "
            f"{WORKERS_PER_HOST} workers each; round-robin on the client",
            flush=True,
        )
        probe = Probe(PG_URL, REDIS_URL)
        stack.callback(probe.close)
        print(
            f"== {profile.minutes:g} min: {profile.readers} readers, {profile.writers} writers, "
            f"{profile.moderators} moderators, {profile.counters} counts client; "
            f"memory compared from {warmup:.0f}s",
            flush=True,
        )
        with clients(soak, profile, site.accounts):
            samples = sample_for(soak, servers, probe, duration)
        print("== load stopped; exporting and checking", flush=True)
        export = export_site(site.site_id, env, workdir / "export.json")
        check = delivery(soak.ledger, export)
        counts = counts_agree(soak, export)
        logs = log_errors(servers)
    found, figures = targets(soak, samples, warmup, check, counts)
    return {
        "meta": {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(),
            "revision": _revision(),
            "code": code,
            "code_changed": code != code_fingerprint(),
            "profile": asdict(profile),
            "quick": quick,
            "warmup_seconds": warmup,
            "hosts": HOSTS,
            "workers_per_host": WORKERS_PER_HOST,
            "database": PG_URL,
            "redis": REDIS_URL,
        },
        "targets": [asdict(t) for t in found],
        "requests": soak.tally.summary(),
        "problems": soak.tally.problems,
        "delivery": check,
        "counts": counts,
        "server_log_errors": logs,
        "figures": figures,
        "samples": [asdict(s) for s in samples],
    }


def report(result: dict[str, Any]) -> str:
    lines = ["", "Requests"]
    lines.append(f"  {'kind':<14} {'requests':>9} {'p50 ms':>8} {'p99 ms':>8}  statuses")
    for name, k in result["requests"].items():
        statuses = ", ".join(f"{s}: {n:,}" for s, n in k["statuses"].items())
        lines.append(
            f"  {name:<14} {k['requests']:>9,} {k['p50_ms']:>8.1f} {k['p99_ms']:>8.1f}  {statuses}"
        )
    lines += ["", "Worker memory (MB)"]
    for row in result["figures"]["memory"]:
        end = "gone" if row["end_kb"] is None else f"{row['end_kb'] / 1024:.1f}"
        change = "-" if row["change"] is None else f"{row['change']:+.1%}"
        lines.append(
            f"  host/pid {row['worker']:<12} warm {row['warm_kb'] / 1024:6.1f}  end {end:>6}  "
            f"max {row['max_kb'] / 1024:6.1f}  {change}"
        )
    d = result["delivery"]
    lines += [
        "",
        f"Export: {d['exported']:,} soak comments, {d['accepted']:,} accepted, "
        f"{d['still_pending']:,} still pending, {len(d['stored_without_answer'])} stored "
        f"without an answer ({d['unanswered_posts']} posts unanswered)",
        f"Server logs: {result['server_log_errors']['lines']} ERROR/CRITICAL lines",
    ]
    lines += [f"  {line}" for line in result["server_log_errors"]["first"][:5]]
    if result["problems"]:
        lines += ["First problems:"] + [f"  {p}" for p in result["problems"][:10]]
    if result["meta"]["code_changed"]:
        lines += ["", "WARNING: Afterword's code changed during the run. Run again."]
    lines += ["", "Targets"]
    for t in result["targets"]:
        lines.append(f"  {t['verdict']}  {t['name']:<38} {t['measured']}  (limit: {t['limit']})")
    return "\n".join(lines)


def _raise_interrupt(signum: int, _frame: FrameType | None) -> None:
    # SIGTERM ends the run like Ctrl-C: the `finally` blocks stop the servers.
    raise KeyboardInterrupt(f"signal {signum}")


def parse_args(argv: list[str] | None) -> tuple[Profile, bool]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="1 minute, 40 readers and 8 writers (a smoke check)"
    )
    parser.add_argument("--minutes", type=float, help="length of the load (default 10; 1 quick)")
    args = parser.parse_args(argv)
    profile = QUICK if args.quick else FULL
    if args.minutes:
        profile = replace(profile, minutes=args.minutes)
    return profile, args.quick


def missing() -> list[str]:
    problems = []
    try:
        import psycopg
    except ImportError:
        return [f"psycopg is missing: {VENV_BIN}/pip install '.[postgres]'"]
    try:
        psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", connect_timeout=5).close()
    except psycopg.Error as exc:
        problems.append(f"PostgreSQL is not reachable at 127.0.0.1:5432 as postgres: {exc}")
    try:
        flush_redis(REDIS_URL)
    except SetupError as exc:
        problems.append(str(exc))
    return problems


def main(argv: list[str] | None = None) -> int:
    profile, quick = parse_args(argv)
    sys.path.insert(0, str(ROOT))  # the worktree's `app` and `config`, not another checkout's
    if problems := missing():
        print("Cannot run the soak test yet:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _raise_interrupt)
    print(f"Machine: {machine()}; load average {os.getloadavg()[0]:.1f}", flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="afterword-soak-") as tmp:
            result = execute(profile, Path(tmp), quick)
    except KeyboardInterrupt:
        print("\nInterrupted; servers stopped.", file=sys.stderr)
        return 130
    except (ServerError, SetupError, afterword_seed.SetupError) as exc:
        print(f"\nThe soak test could not finish: {exc}", file=sys.stderr)
        return 1
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(report(result))
    print(f"JSON: {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
