"""Cached public reads, answered in front of Flask.

Nearly every request a busy post gets is a guest reading a thread page or a listing page's
counts, and that answer is already in the cache, gzipped, with its ETag. Going through Flask
for it (request context, session, hooks, routing) would cost more than all the rest, so this
WSGI layer answers such hits itself, after the checks the views make: the entry is current,
the page's origin is one of the site's, and the address is within the read limit (counted in
Flask-Limiter's own storage and bucket, so both paths share one budget). Those rules, and
which requests are these reads, are the views' own, from `app/api/read_rules.py`.

With Redis, the entries themselves are kept in the process (`cache.LOCAL`), and so are the
current generations (`app/services/generations.py`) and reads claimed ahead from the reader's
budget (`app/api/read_leases.py`): most hits ask Redis nothing. The others ask it in one round
trip (`app/api/redis_round.py`): the current generations of what it keeps, with the read
counted in the same pipeline. Without Redis everything is in the process already.

Anything else goes on to Flask untouched: a miss (which the view then fills), a signed-in
reader, a refused origin, an exceeded limit, a client that does not take gzip, an error. The
views stay the reference: tests check that both paths answer alike.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.http import is_resource_modified

from app.api.answers import (
    BODY_HEADERS,
    PUBLIC_VARY,
    PublicAnswer,
    cors_headers,
    private_headers,
    public_headers,
)
from app.api.read_rules import (
    READ_COUNTED,
    ReadBucket,
    bearer_token,
    may_read,
    mine_tokens,
    paging_of,
    private_reader,
    query_args,
    read_route,
    reader_address,
    thread_variant,
)
from app.api.redis_round import RedisRound
from app.domain.errors import ValidationError
from app.domain.policy import canonical_url
from app.extensions import cache, limiter
from app.metrics import record_request
from app.services import sso
from app.services.cache import (
    Memo,
    Slot,
    Store,
    built_under,
    counts_generation_keys,
    current_entry,
    generation_keys,
    kept,
    private_slot,
    read_slots,
    remember_thread_id,
    remembered_counts,
    remembered_thread_id,
    remembers_counts,
    site_slot,
    thread_id_slot,
)
from app.services.cache import thread_slot as page_slot
from app.services.tokens import ReaderClaims, comment_ids_from_edit_tokens, reader_claims

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask

log = logging.getLogger(__name__)

VARY = ", ".join((*PUBLIC_VARY, "Origin"))
# After an error (Redis away, say), leave every request to Flask for a while.
PAUSE_AFTER_ERROR = 5.0


class CachedReads:
    """WSGI middleware: `app.wsgi_app = CachedReads(app, app.wsgi_app)`."""

    def __init__(self, app: Flask, wsgi_app: WSGIApplication) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self._paused_until = 0.0
        self._route = read_route(app)
        self._reads = ReadBucket(app)
        self._round: tuple[tuple[int, int], RedisRound | None] = ((0, 0), None)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "GET" and time.monotonic() >= self._paused_until:
            match = self._route.pattern.fullmatch(environ.get("PATH_INFO", ""))
            if match:
                started = time.perf_counter()
                try:
                    answered = self._answer(environ, *match.groups())
                except Exception:  # an accelerator only: Flask answers whatever went wrong
                    log.warning("cached reads paused after an error", exc_info=True)
                    self._paused_until = time.monotonic() + PAUSE_AFTER_ERROR
                    answered = None
                if answered is not None:
                    status, headers, body = answered
                    start_response(status, headers)
                    endpoint = self._route.endpoints[match[2]]
                    record_request("GET", endpoint, int(status[:3]), started)
                    return [body]
        return self.wsgi_app(environ, start_response)

    def _answer(
        self, environ: WSGIEnvironment, site_id: str, kind: str
    ) -> tuple[str, list[tuple[str, str]], bytes] | None:
        if "gzip" not in environ.get("HTTP_ACCEPT_ENCODING", ""):
            return None
        backend: Store = self.app.extensions["cache"][cache]
        query = environ.get("QUERY_STRING", "")
        address = reader_address(environ)
        if kind == "counts":
            if "HTTP_AUTHORIZATION" in environ:
                return None
            read = self._counts(backend, site_id, query, address)
        else:
            read = self._thread_page(backend, environ, site_id, query, address)
        origin = environ.get("HTTP_ORIGIN")
        claims = read.claims
        if (
            read.site is None
            or read.answer is None
            or not may_read(origin, read.site.origins)
            or (claims and not sso.is_current(claims.provider, claims.key, read.site))
        ):
            if read.counted:
                environ[READ_COUNTED] = True  # Flask answers it, without counting it again
            return None
        counted = read.counted
        if counted is None:
            counted = self._reads.hit(address, claims.user_id if claims else None)
        if not counted:
            return None  # Flask counts it once more, and refuses it as the views do
        return self._respond(environ, read.answer, origin, private=read.private)

    def _counts(self, backend: Store, site_id: str, query: str, address: str) -> _Read:
        if not remembers_counts(site_id, query):
            return _NOTHING
        (site,), generations, counted = self._lookup(
            backend, [site_slot(site_id)], counts_generation_keys(site_id), [address]
        )
        return _Read(site, remembered_counts(site_id, query, generations), counted)

    def _thread_page(
        self, backend: Store, environ: WSGIEnvironment, site_id: str, query: str, address: str
    ) -> _Read:
        ask = _thread_ask(query)
        if ask is None:
            return _NOTHING
        signed_in = "HTTP_AUTHORIZATION" in environ
        token = bearer_token(environ.get("HTTP_AUTHORIZATION")) if signed_in else None
        mine, variant = ask.mine, ask.variant
        if signed_in and not token:
            return _NOTHING
        thread_id = self._thread_id(backend, site_id, ask.url)
        if thread_id is None:
            return _NOTHING
        if not (token or mine):
            slots = [site_slot(site_id), page_slot(site_id, thread_id, variant)]
            (site, answer), _, counted = self._lookup(backend, slots, (), [address])
            return _Read(site, answer, counted)
        with self.app.app_context():  # tokens are checked with the app's keys
            claims = reader_claims(token, site_id) if token else None
            comment_ids = comment_ids_from_edit_tokens(mine)
        if (token and claims is None) or not (claims or comment_ids):
            return _NOTHING  # a sign-in that expired, tokens that prove nothing: Flask says so
        user_id = claims.user_id if claims else None
        reader = private_reader(token, comment_ids)
        slots = [site_slot(site_id), private_slot(site_id, thread_id, variant, reader, user_id)]
        (site, answer), _, counted = self._lookup(
            backend, slots, (), self._reads.buckets(address, user_id)
        )
        return _Read(site, answer, counted, claims, private=True)

    def _thread_id(self, backend: Store, site_id: str, url: str) -> int | None:
        thread_id = remembered_thread_id(site_id, url)
        if thread_id is None:
            try:
                key = canonical_url(url)
            except ValidationError:
                return None
            (thread_id,), _ = read_slots(backend, [thread_id_slot(site_id, key)])
            if thread_id is None:
                return None
            remember_thread_id(site_id, url, thread_id)
        return thread_id

    def _lookup(
        self, backend: Store, slots: list[Slot], also: tuple[str, ...], buckets: list[Any]
    ) -> tuple[list[Any], dict[str, str | None], bool | None]:
        """The slots' current values and the generations read, and whether the read was
        counted within the limit in each of `buckets` (addresses, or `ReadBucket.buckets`;
        None: not counted yet). With Redis, one round trip: the generations, the entries this
        process does not keep, and the count."""
        shared_round = self._shared_round(backend)
        if shared_round is None:
            values, generations = read_slots(backend, slots, also)
            return values, generations, None
        held = [kept(slot) for slot in slots]
        fetch = [slot for slot, entry in zip(slots, held, strict=True) if entry is None]
        gen_keys = generation_keys(slots, also)
        counted_in = [self._reads.identifiers(b) if isinstance(b, str) else b for b in buckets]
        if not fetch and (known := shared_round.known(gen_keys)) is not None:
            values = [
                entry.value if entry.built_under == built_under(slot, known) else None
                for slot, entry in zip(slots, held, strict=True)
                if entry is not None
            ]
            if None not in values and shared_round.take(counted_in):
                return values, dict(known), True  # no round trip at all
        generations, stored, counted = shared_round(
            gen_keys, [slot.key for slot in fetch], counted_in
        )
        fetched = dict(zip((slot.key for slot in fetch), stored, strict=True))
        values, stale = [], False
        for slot, entry in zip(slots, held, strict=True):
            if entry is None:
                values.append(current_entry(backend, slot, fetched[slot.key], generations))
            elif None not in (wanted := built_under(slot, generations)) and (
                entry.built_under == wanted
            ):
                values.append(entry.value)
            else:
                values.append(None)
                stale = True
        if stale:  # what this process keeps changed: the new entries, if already built
            values, generations = read_slots(backend, slots, also)
        return values, generations, counted

    def _shared_round(self, backend: Store) -> RedisRound | None:
        # Flask-Limiter keeps one storage for the last app it was given: follow it.
        storage = limiter.storage if limiter.enabled else None
        key = (id(backend), id(storage))
        if self._round[0] != key:
            self._round = (key, RedisRound.of(backend, self._reads))
        return self._round[1]

    def _respond(
        self, environ: WSGIEnvironment, answer: PublicAnswer, origin: str | None, *, private: bool
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        kind = (
            private_headers()
            if private
            else public_headers(answer, gzipped=True, max_age=self.app.config["THREAD_MAX_AGE"])
        )
        headers = [*kind, ("Vary", VARY), *cors_headers(origin, readable=True)]
        if not private and not is_resource_modified(environ, etag=answer.gzip_etag):
            headers = [(name, value) for name, value in headers if name.lower() not in BODY_HEADERS]
            return "304 NOT MODIFIED", headers, b""
        headers.append(("Content-Length", str(len(answer.gzipped))))
        return "200 OK", headers, answer.gzipped


@dataclass(frozen=True, slots=True)
class _Read:
    """What a cached read found: the site's view and the answer (None: not current), whether
    it was counted (None: not yet), and for a reader's own page, who they signed in as."""

    site: Any
    answer: Any
    counted: bool | None
    claims: ReaderClaims | None = None
    private: bool = False


_NOTHING = _Read(None, None, None)


@dataclass(frozen=True, slots=True)
class _ThreadAsk:
    """What a thread read's query string asks for, as the view reads it."""

    url: str
    variant: str
    mine: tuple[str, ...]  # shared by every read of this query: not to be changed


# Query strings as sent, parsed: the same few come again and again. Long ones (a guest's many
# edit tokens, padding) are parsed each time rather than take room.
ASKS_KEPT = 10_000
ASK_KEPT_MAX = 1_024
_ASKS: Memo[str, _ThreadAsk] = Memo(ASKS_KEPT)


def _thread_ask(query: str) -> _ThreadAsk | None:
    ask = _ASKS.get(query)
    if ask is None:
        args = query_args(query)
        if args is None:
            return None
        try:
            variant = thread_variant(**paging_of(args))
        except ValidationError:
            return None
        ask = _ThreadAsk(args.get("url", ""), variant, tuple(mine_tokens(args)))
        if len(query) <= ASK_KEPT_MAX:
            _ASKS.put(query, ask)
    return ask


def install(app: Flask) -> None:
    if app.config["CACHED_READS_FAST_PATH"]:
        app.wsgi_app = CachedReads(app, app.wsgi_app)  # type: ignore[method-assign]
