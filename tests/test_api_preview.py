"""Preview: what the server would store, rendered by the server, and nothing stored."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import Comment, Thread
from tests.factories import guest_payload, make_site, post_json
from tests.helpers import fresh_app


def preview(client, site, body, **kw):
    return post_json(client, site, {"body": body}, path="preview", **kw)


def test_the_preview_is_exactly_what_posting_stores(client, site):
    text = "Hello *world* ~~old~~ <script>alert(1)</script> [x](javascript:alert(1))\n\n- one"
    shown = preview(client, site, text)
    assert shown.status_code == 200
    posted = post_json(client, site, guest_payload(body=text))
    assert shown.json["html"] == posted.json["comment"]["html"]
    assert "<script" not in shown.json["html"] and 'href="javascript' not in shown.json["html"]
    assert "<s>old</s>" in shown.json["html"]


def test_a_preview_stores_nothing(client, site):
    assert preview(client, site, "Only a look").status_code == 200
    assert db.session.scalar(select(func.count(Comment.id))) == 0
    assert db.session.scalar(select(func.count(Thread.id))) == 0


def test_a_preview_refuses_what_posting_refuses(client, site):
    too_long = preview(client, site, "x" * 10_001)
    empty = preview(client, site, "   ")
    not_text = preview(client, site, ["list"])
    assert (too_long.status_code, too_long.json["error"]["code"]) == (400, "body_too_long")
    assert empty.status_code == 400 and empty.json["error"]["field"] == "body"
    assert not_text.status_code == 400


def test_only_the_sites_pages_may_preview(client, site):
    assert preview(client, site, "Hi", origin="https://elsewhere.example").status_code == 403
    assert preview(client, site, "Hi", origin=None).status_code == 403


def test_previews_are_rate_limited(tmp_path):
    # An app of its own, made here: the limiter is one object that each new app binds anew,
    # so the limit counted is this app's (a window of a day, which no run straddles).
    with fresh_app(tmp_path, RATELIMIT_PREVIEW="30 per day") as app:
        client = app.test_client()
        site = make_site()
        answers = [preview(client, site, f"Try {n}").status_code for n in range(35)]
    assert answers[:30] == [200] * 30
    assert answers[-1] == 429
