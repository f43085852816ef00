"""Widget endpoints. Each view parses input, calls one service and shapes the answer."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, g, request
from flask.typing import ResponseReturnValue
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import RequestEntityTooLarge

from app.api import bp
from app.api.answers import (
    PUBLIC_VARY,
    PublicAnswer,
    json_bytes,
    private_headers,
    public_headers,
)
from app.api.read_rules import (
    COUNTS_RULE,
    READ_COUNTED,
    READER_READS_SCOPE,
    READS_SCOPE,
    THREAD_RULE,
    bearer_token,
    mine_tokens,
    paging_of,
    private_reader,
    reader_address,
    reader_key,
    thread_variant,
)
from app.api.readers import current_viewer
from app.api.serializers import (
    comment_out,
    likes_out,
    login_out,
    site_config_out,
    thread_page_out,
    viewer_out,
)
from app.auth.providers import enabled_provider
from app.domain.errors import InvalidJson, UnsupportedMediaType, ValidationError
from app.domain.policy import thread_key
from app.extensions import limiter
from app.inputs import json_fields
from app.services import (
    authors,
    cache,
    comments,
    email_login,
    likes,
    logins,
    mastodon,
    reports,
    spam,
    sso,
    threads,
)
from app.services.hashing import keyed_hash
from app.services.moderation import on_page
from app.services.tokens import edit_token, reader_claims
from app.services.viewers import Viewer

SSO_BODY_MAX = 8192  # twice the longest signed reader (app/domain/sso.py), with its JSON


@bp.get("/sites/<site_id>/config")
def config() -> dict[str, Any]:
    return site_config_out(g.site)


def _limit(name: str) -> Any:
    return lambda: current_app.config[name]


def _signed_in_key() -> str | None:
    """The signed-in reader behind this request, as a rate-limit key (checked once)."""
    if "signed_in_key" not in g:
        header = request.headers.get("Authorization", "")
        claims = reader_claims(header.partition(" ")[2].strip(), g.site.id) if header else None
        g.signed_in_key = reader_key(claims.user_id) if claims else None
    return g.signed_in_key


def _author_key() -> str:
    """Limit an author as themselves, wherever they post from: the signed-in reader, or the
    guest's email; the address only when neither is known."""
    if signed_in := _signed_in_key():
        return signed_in
    email = json_fields().get("email")
    if isinstance(email, str) and email.strip():
        return "email:" + keyed_hash("email", email.strip().lower())
    return get_remote_address()


# One budget for every read; app/api/fast_reads.py counts in it too (see read_rules).
reads_limit = limiter.shared_limit(
    _limit("RATELIMIT_READ"),
    scope=READS_SCOPE,
    key_func=lambda: reader_address(request.environ),
    exempt_when=lambda: bool(request.environ.get(READ_COUNTED)),
)


@bp.get(THREAD_RULE)
@reads_limit
@limiter.shared_limit(  # a signed-in reader also as themselves, from whichever addresses
    _limit("RATELIMIT_READ"),
    scope=READER_READS_SCOPE,
    key_func=lambda: _signed_in_key() or "",
    exempt_when=lambda: _signed_in_key() is None or bool(request.environ.get(READ_COUNTED)),
)
def thread() -> ResponseReturnValue:
    """A page of a thread. What every guest sees alike is cached and served with an ETag;
    a reader with pending comments or signed in gets a private answer, kept a short while
    for them alone (not a moderator's: docs/api.md)."""
    mine = mine_tokens(request.args)
    viewer = current_viewer(edit_tokens=mine, required=False)
    paging = paging_of(request.args)
    threads.check_paging(**paging)
    url = request.args.get("url", "")
    key = thread_key(url, g.site.origins)

    looked_up: dict[str, Any] = {}  # the thread, once loaded: never two queries for it

    def find() -> Any:
        if "thread" not in looked_up:
            looked_up["thread"] = threads.find_thread(g.site, key)
        return looked_up["thread"]

    def render() -> dict[str, Any]:
        page = threads.page_of(find(), key, viewer, **paging)
        return thread_page_out(page, g.site, viewer)

    if g.get("session_expired"):
        return _private_json(json_bytes(render()))
    found = cache.thread_id(g.site.id, url, key, lambda: find() and find().id)
    variant = thread_variant(**paging)
    if viewer.is_anonymous:
        if found is None:
            return _public_json(PublicAnswer.of(render()))
        return _public_json(
            cache.cached_thread(g.site.id, found, variant, lambda: PublicAnswer.of(render()))
        )
    moderator = on_page.moderator_of(viewer.user, g.site.id)
    if moderator is not None:
        # A moderator's page also holds the thread's waiting comments (docs/api.md).
        answer = render()
        thread = find()
        waiting = on_page.pending_in(thread.id if thread else None)
        answer["moderation"] = {"pending": [comment_out(c, viewer, g.site.id) for c in waiting]}
        return _private_json(json_bytes(answer))
    if found is None:
        return _private_json(json_bytes(render()))
    reader = private_reader(bearer_token(request.headers.get("Authorization")), viewer.comment_ids)
    slot = cache.private_slot(
        g.site.id, found, variant, reader, viewer.user.id if viewer.user else None
    )
    return _private_answer(cache.cached_private(slot, lambda: PublicAnswer.of(render())))


@bp.get(COUNTS_RULE)
@reads_limit
def counts() -> ResponseReturnValue:
    """Each process keeps answers by the query string as sent, so a repeat needs no parsing of
    its URLs; the counts behind them are shared by canonical keys (`threads.counts`)."""
    urls = request.args.getlist("url")
    threads.check_count_urls(urls)
    answer = cache.counts_answer(
        g.site.id,
        request.environ.get("QUERY_STRING", ""),
        lambda: PublicAnswer.of({"counts": threads.counts(g.site, urls)}),
    )
    return _public_json(answer)


@bp.post("/sites/<site_id>/comments")
@limiter.limit(_limit("RATELIMIT_POST"), scope="api-post")
@limiter.limit(_limit("RATELIMIT_POST"), scope="api-post-reader", key_func=_author_key)
def post_comment() -> tuple[dict[str, Any], int]:
    data = _json_body()
    viewer = current_viewer()
    author = authors.of_request(viewer, data.get("name"), data.get("email"), data.get("website"))
    draft = comments.CommentDraft(
        url=data.get("url"),
        title=data.get("title", ""),
        body=data.get("body"),
        parent_id=data.get("parent_id"),
        parent_edit_token=data.get("parent_edit_token"),
        idempotency_key=data.get("idempotency_key"),
        notify=data.get("notify", False),
        notify_replies=data.get("notify_replies", False),
        notify_email=data.get("notify_email"),
        remote_addr=request.remote_addr,
        signals=spam.Signals(
            honeypot=str(data.get("hp") or ""),
            fill_ms=data["fill_ms"] if isinstance(data.get("fill_ms"), int) else None,
            user_agent=request.headers.get("User-Agent", "")[:500],
            referrer=request.headers.get("Referer", "")[:2000],
        ),
    )
    comment, created = comments.post_comment(g.site, author, draft)
    token = edit_token(comment.id)
    body = {
        "comment": comment_out(comment, viewer.holding(comment.id), g.site.id),
        "edit_token": token,
    }
    return body, 201 if created else 200


@bp.post("/sites/<site_id>/preview")
@limiter.limit(_limit("RATELIMIT_PREVIEW"), scope="api-preview")
def preview() -> dict[str, Any]:
    """A comment's text as it would show, from the server's renderer; nothing is stored."""
    return {"html": comments.preview(_json_body().get("body"))}


@bp.patch("/sites/<site_id>/comments/<int:comment_id>")
def edit_comment(comment_id: int) -> dict[str, Any]:
    data = _json_body()
    viewer = current_viewer(edit_tokens=[data.get("edit_token")])
    comment = comments.edit_comment(g.site, viewer, comment_id, data.get("body"))
    return {"comment": comment_out(comment, viewer, g.site.id)}


@bp.delete("/sites/<site_id>/comments/<int:comment_id>")
def delete_comment(comment_id: int) -> dict[str, Any]:
    viewer = current_viewer(edit_tokens=[_json_body().get("edit_token")])
    comment = comments.delete_comment(g.site, viewer, comment_id)
    return {"comment": comment_out(comment, viewer, g.site.id, visible=False)}


# Liking and taking it back share one budget: per address, and per signed-in reader.
likes_limit = limiter.shared_limit(_limit("RATELIMIT_LIKE"), scope="api-like")
likes_reader_limit = limiter.shared_limit(
    _limit("RATELIMIT_LIKE"),
    scope="api-like-reader",
    key_func=lambda: _signed_in_key() or "",
    exempt_when=lambda: _signed_in_key() is None,
)
LIKE_RULE = "/sites/<site_id>/comments/<int:comment_id>/like"


@bp.put(LIKE_RULE)
@likes_limit
@likes_reader_limit
def like_comment(comment_id: int) -> dict[str, Any]:
    state = likes.like(
        g.site,
        current_viewer(),
        comment_id,
        browser=_json_body().get("browser"),
        remote_addr=request.remote_addr,
    )
    return likes_out(state)


@bp.delete(LIKE_RULE)
@likes_limit
@likes_reader_limit
def unlike_comment(comment_id: int) -> dict[str, Any]:
    state = likes.unlike(g.site, current_viewer(), comment_id, browser=_json_body().get("browser"))
    return likes_out(state)


# Per address, and per signed-in reader.
reports_limit = limiter.shared_limit(_limit("RATELIMIT_REPORT"), scope="api-report")
reports_reader_limit = limiter.shared_limit(
    _limit("RATELIMIT_REPORT"),
    scope="api-report-reader",
    key_func=lambda: _signed_in_key() or "",
    exempt_when=lambda: _signed_in_key() is None,
)


@bp.post("/sites/<site_id>/comments/<int:comment_id>/report")
@reports_limit
@reports_reader_limit
def report_comment(comment_id: int) -> tuple[dict[str, Any], int]:
    data = _json_body()
    reports.report(
        g.site,
        current_viewer(),
        comment_id,
        reason=data.get("reason"),
        note=data.get("note"),
        browser=data.get("browser"),
        remote_addr=request.remote_addr,
    )
    # The same answer whether or not this reader had reported it already, or it was taken
    # down: what other readers did is not theirs to learn.
    return {"reported": True}, 201


@bp.post("/sites/<site_id>/comments/<int:comment_id>/moderate")
@limiter.limit(_limit("RATELIMIT_LIKE"), scope="api-moderate")  # a click each, like likes
def moderate_comment(comment_id: int) -> dict[str, Any]:
    """A moderator's action from the page: the dashboard's commands, audited the same."""
    viewer = current_viewer()
    moderator = on_page.require_moderator(viewer.user, g.site.id)
    comment = on_page.act_on(moderator, g.site.id, comment_id, _json_body().get("action"))
    return {"comment": comment_out(comment, viewer, g.site.id)}


def _mailed_login() -> bool:
    return json_fields().get("provider") == email_login.PROVIDER


def _mailed_address_key() -> str:
    """The address a sign-in link would go to, as its owner's key: however it is spelled."""
    address = json_fields().get("address")
    if not isinstance(address, str):
        return ""
    return "email:" + keyed_hash("email", address.strip().lower())


@bp.post("/sites/<site_id>/logins")
@limiter.limit(_limit("RATELIMIT_LOGIN"), scope="api-login")
# Each sign-in by email mails a stranger-chosen address: per requester, and per address.
@limiter.limit(
    _limit("RATELIMIT_EMAIL_LOGIN_IP"),
    scope="api-login-email",
    exempt_when=lambda: not _mailed_login(),
)
@limiter.limit(
    _limit("RATELIMIT_EMAIL_LOGIN"),
    scope="api-login-email-address",
    key_func=_mailed_address_key,
    exempt_when=lambda: not _mailed_login(),
)
def create_login() -> tuple[dict[str, Any], int]:
    """Start a sign-in; a signed-in reader starting one links the new provider to them."""
    data = _json_body()
    popup = data.get("popup", data.get("return_url") is None)
    if not isinstance(popup, bool):
        raise ValidationError("popup must be true or false.", field="popup")
    viewer = current_viewer(required=False)
    provider = enabled_provider(data.get("provider"), g.site).name
    if provider == email_login.PROVIDER:
        # No popup: the link is mailed, and opens a tab that comes back to this page.
        created = email_login.request_link(
            g.site,
            origin=request.headers["Origin"],
            address=data.get("address"),
            return_url=data.get("return_url"),
            link_user_id=sso.account_to_link(viewer),
        )
        return login_out(created.flow, created.secret), 201
    # A Mastodon reader names their server: checked, and registered with, before the popup.
    if provider == "mastodon":
        server = mastodon.prepare_sign_in(data.get("server"))
    elif "server" in data:  # only Mastodon asks for one; anything else is a client's mistake
        raise ValidationError("Only Mastodon sign-in takes a server.", field="server")
    else:
        server = None
    created = logins.create_flow(
        g.site,
        origin=request.headers["Origin"],
        provider=provider,
        popup=popup,
        return_url=data.get("return_url"),
        link_user_id=sso.account_to_link(viewer),
        server=server,
    )
    return login_out(created.flow, created.secret), 201


@bp.post("/sites/<site_id>/logins/<flow_id>/claim")
@limiter.limit(_limit("RATELIMIT_LOGIN"), scope="api-login-claim")
def claim_login(flow_id: str) -> tuple[dict[str, Any], int]:
    data = _json_body()
    viewer = current_viewer(required=False)
    result = logins.claim_flow(
        g.site,
        flow_id,
        request.headers.get("Origin"),
        secret=data.get("secret"),
        code=data.get("code"),
        signed_in_user_id=viewer.user.id if viewer.user else None,
    )
    return {
        "status": "signed_in",
        "token": result.token,
        "viewer": viewer_out(Viewer(user=result.user, provider=result.provider), g.site.name),
    }, 200


@bp.post("/sites/<site_id>/sso")
@limiter.limit(_limit("RATELIMIT_LOGIN"), scope="api-sso")
def sso_sign_in() -> tuple[dict[str, Any], int]:
    """The site's own signed-in reader (`data-sso`), exchanged for a reader token."""
    if (request.content_length or 0) > SSO_BODY_MAX:
        raise RequestEntityTooLarge()  # answered as any body over the service's limit
    signed = sso.sign_in(g.site, _json_body().get("sso"))
    viewer = Viewer(user=signed.user, provider=sso.PROVIDER)
    return {
        "status": "signed_in",
        "token": signed.token,
        "viewer": viewer_out(viewer, g.site.name),
    }, 200


def _public_json(answer: PublicAnswer) -> ResponseReturnValue:
    gzipped = "gzip" in request.headers.get("Accept-Encoding", "")
    response = Response(
        answer.gzipped if gzipped else answer.body,
        headers=public_headers(
            answer, gzipped=gzipped, max_age=current_app.config["THREAD_MAX_AGE"]
        ),
    )
    response.vary.update(PUBLIC_VARY)
    return response.make_conditional(request)


def _private_json(body: bytes) -> Response:
    response = Response(body, mimetype="application/json")
    response.cache_control.private = True
    response.cache_control.no_store = True
    return response


def _private_answer(answer: PublicAnswer) -> Response:
    """One reader's page as kept: gzipped as it is for whoever takes gzip."""
    if "gzip" not in request.headers.get("Accept-Encoding", ""):
        return _private_json(answer.body)
    response = Response(answer.gzipped, headers=private_headers())
    response.vary.update(PUBLIC_VARY)
    return response


def _json_body() -> dict[str, Any]:
    if not request.is_json:
        raise UnsupportedMediaType("Send the request as application/json.")
    data = request.get_json()  # refusals of app/inputs.py carry their field
    if not isinstance(data, dict):
        raise InvalidJson("The request body is not a JSON object.")
    return data
