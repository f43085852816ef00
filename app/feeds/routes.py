from __future__ import annotations

from flask import Response, request
from flask.typing import ResponseReturnValue

from app.domain.policy import thread_key
from app.feeds import bp
from app.services import cache, feeds, sites, threads


def _atom(body: bytes) -> ResponseReturnValue:
    response = Response(body, mimetype="application/atom+xml")
    response.cache_control.public = True
    response.cache_control.max_age = 300
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/feeds/sites/<site_id>.atom")
def site_feed(site_id: str) -> ResponseReturnValue:
    site = sites.get_site(site_id)
    return _atom(cache.cached_feed(site.id, None, lambda: feeds.site_feed(site)))


@bp.get("/feeds/sites/<site_id>/thread.atom")
def thread_feed(site_id: str) -> ResponseReturnValue:
    site = sites.get_site(site_id)
    key = thread_key(request.args.get("url", ""), site.origins)
    thread = threads.find_thread(site, key)
    if thread is None:
        return _atom(feeds.thread_feed(site, None, key))
    return _atom(
        cache.cached_feed(site.id, thread.id, lambda: feeds.thread_feed(site, thread, key))
    )
