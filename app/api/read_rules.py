"""What makes a public read, for the views and for the fast path in front of them.

`app/api/fast_reads.py` answers cached thread pages and counts before Flask does; it must
take the same requests for the same reads, refuse the same pages and count against the same
budget as the views, or the two paths drift apart. Each of those rules lives here, once:
where the reads are routed, how a thread page is asked for, which pages may read, and where
Flask-Limiter counts a guest's reads.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from limits import RateLimitItem, parse_many
from sqlalchemy import String

from app.api import bp
from app.domain.errors import ValidationError
from app.extensions import limiter
from app.models import Site

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment
    from flask import Flask

# The views' rules, under the blueprint's prefix; the fast path matches the same addresses.
SITE_READS = "/sites/<site_id>/"
READS = ("thread", "counts")
THREAD_RULE = SITE_READS + "thread"
COUNTS_RULE = SITE_READS + "counts"

DEFAULT_SORT = "oldest"
DEFAULT_PAGE = 1
DEFAULT_PER_PAGE = 50

READS_SCOPE = "api-read"  # one budget for every read, shared by both endpoints and both paths
READER_READS_SCOPE = "api-read-reader"  # and a signed-in reader's own, from any address
MAX_MINE_TOKENS = 50
# Set in the WSGI environ by the fast path when it counted a read it then left to Flask.
READ_COUNTED = "afterword.read_counted"


@dataclass(frozen=True)
class ReadRoute:
    """The reads as one app routes them: `pattern` gives the site id and which read."""

    pattern: re.Pattern[str]
    endpoints: Mapping[str, str]  # "thread" -> "api.thread": what metrics call each read


def _site_id_max() -> int:
    column = Site.__table__.c.id.type
    assert isinstance(column, String) and column.length
    return column.length


def read_route(app: Flask) -> ReadRoute:
    """Where the app mounted the read views (the blueprint's url_prefix, whatever it is)."""
    mounted = {rule.endpoint: rule.rule for rule in app.url_map.iter_rules()}
    endpoints = {read: f"{bp.name}.{read}" for read in READS}  # the views are named so
    prefix = mounted[endpoints["thread"]].removesuffix(THREAD_RULE)
    for read, endpoint in endpoints.items():
        if mounted[endpoint] != prefix + SITE_READS + read:
            raise RuntimeError(f"{endpoint} is routed at {mounted[endpoint]}, not under {prefix}")
    # A longer id names no site: the view answers that (404), not a cache lookup.
    site_id = f"([^/]{{1,{_site_id_max()}}})"
    head, _, tail = (prefix + SITE_READS).partition("<site_id>")
    reads = "({})".format("|".join(map(re.escape, READS)))
    return ReadRoute(re.compile(re.escape(head) + site_id + re.escape(tail) + reads), endpoints)


def query_args(query: str) -> dict[str, str] | None:
    """A WSGI query string's arguments as Flask's `request.args.get` reads them: blank values
    kept, the first of each, bytes that are not UTF-8 once unquoted left quoted. None when
    the query itself is not UTF-8 (Flask answers that)."""
    try:  # WSGI hands the bytes over as latin-1; nearly every query is plain ASCII
        decoded = query if query.isascii() else query.encode("latin-1").decode()
    except UnicodeError:
        return None
    args: dict[str, str] = {}
    for name, value in parse_qsl(decoded, keep_blank_values=True, errors="werkzeug.url_quote"):
        args.setdefault(name, value)
    return args


def paging_of(args: Mapping[str, str]) -> dict[str, Any]:
    """The page of a thread a read asks for (the first of each argument, as Flask reads them);
    `threads.check_paging` holds the bounds. Raises ValidationError for a page or per_page
    that is not a whole number."""
    return {
        "sort": args.get("sort", DEFAULT_SORT),
        "page": _whole(args, "page", DEFAULT_PAGE),
        "per_page": _whole(args, "per_page", DEFAULT_PER_PAGE),
    }


def thread_variant(*, sort: str, page: int, per_page: int) -> str:
    """Which view of a thread a cached page is."""
    return f"{sort}:{page}:{per_page}"


def _whole(args: Mapping[str, str], name: str, default: int) -> int:
    raw = args.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValidationError(f"{name} must be a whole number.", field=name) from None


def mine_tokens(args: Mapping[str, str]) -> list[str]:
    """The edit tokens a guest sends to see their own pending comments (`mine=`)."""
    return [t for t in args.get("mine", "").split(",") if t][:MAX_MINE_TOKENS]


def bearer_token(header: str | None) -> str | None:
    """The reader token of an Authorization header, as `readers.current_viewer` takes it."""
    scheme, _, token = (header or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def private_reader(token: str | None, comment_ids: Collection[int]) -> str:
    """Whom a private page is for, named alike by both paths: the sign-in token as sent (a
    new sign-in is a new reader: it may bring a new name or picture) and the guest comments
    whose edit tokens came with it."""
    ids = ",".join(map(str, sorted(comment_ids)))
    return hashlib.sha256(f"{token or ''}\x1f{ids}".encode()).hexdigest()


def reader_key(user_id: int) -> str:
    """A signed-in reader, as their reads are counted."""
    return f"user:{user_id}"


def may_read(origin: str | None, origins: Collection[str]) -> bool:
    """Whether a page may read a site's threads: one of its origins, or no Origin at all (a
    same-origin page or a non-browser client, reading public data)."""
    return origin is None or origin in origins


def reader_address(environ: WSGIEnvironment) -> str:
    """Whom a guest's reads count against: the client address (as ProxyFix left it), as
    Flask-Limiter's get_remote_address takes it."""
    return environ.get("REMOTE_ADDR") or "127.0.0.1"


class ReadBucket:
    """Where Flask-Limiter counts reads under READS_SCOPE, so that the fast path counts in
    the very same entries. For a shared limit Flask-Limiter hits the storage with
    [RATELIMIT_KEY_PREFIX,] key, scope (`Limiter.__evaluate_limits`); each limit in order of
    its window, the shortest first, stopping at the first one exceeded."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        # What Flask-Limiter took from RATELIMIT_KEY_PREFIX in init_app; it has no public
        # accessor, and it keeps the first prefix it was given for any later app.
        prefix = limiter._key_prefix
        self._head: tuple[str, ...] = (prefix,) if prefix else ()
        self._limits: tuple[str, list[RateLimitItem]] = ("", [])

    def identifiers(self, key: str, scope: str = READS_SCOPE) -> tuple[str, ...]:
        """Where one read of `key` (an address; a signed-in reader's `user:ID`) counts."""
        return (*self._head, key, scope)

    def buckets(self, address: str, user_id: int | None = None) -> list[tuple[str, ...]]:
        """Where one read counts: its address, and a signed-in reader as themselves."""
        buckets = [self.identifiers(address)]
        if user_id is not None:
            buckets.append(self.identifiers(reader_key(user_id), READER_READS_SCOPE))
        return buckets

    def hit(self, address: str, user_id: int | None = None) -> bool:
        """Count one read from `address` (by `user_id`); False if it is beyond a limit."""
        if not limiter.enabled:
            return True
        strategy = limiter.limiter  # the in-memory fallback while Redis is away, as for Flask
        return all(
            strategy.hit(item, *identifiers)
            for identifiers in self.buckets(address, user_id)
            for item in self.limits()
        )

    def limits(self) -> list[RateLimitItem]:
        configured = self.app.config["RATELIMIT_READ"]  # read each time, as the views do
        if self._limits[0] != configured:
            self._limits = (configured, sorted(parse_many(configured)))
        return self._limits[1]
