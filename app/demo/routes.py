"""The demo post page (`/`), two more posts, and a listing that shows comment counts."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, redirect, render_template, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from app.demo import bp
from app.extensions import db
from app.models import Site
from app.services import links

DEMO_SITE_NAME = "demo"


@dataclass(frozen=True)
class Post:
    slug: str
    title: str
    date: str
    paragraphs: tuple[str, ...]


POSTS = (
    Post(
        "sore-the-day-after",
        "Why you may feel a little sore the day after",
        "March 3",
        (
            "A question we hear every week at the front desk: \u201cI felt wonderful when I "
            "left, so why do my shoulders ache a little this morning?\u201d It is a fair "
            "question, and the answer is mostly reassuring.",
            "Deep work on muscles that have been tight for a long time asks them to move in "
            "ways they have forgotten. Much like the morning after a long walk in the hills, "
            "they can feel tender for a day or so while they settle. That tenderness should "
            "be mild and fade by the second day; sharp or lasting pain is worth a call.",
            "A few things help: drink a glass or two of water, take an easy walk rather than "
            "sitting still all evening, and try a warm shower before bed. Tell us next time "
            "how it felt, too: we would rather adjust the pressure than have you put up with "
            "more than you like.",
            "Have you noticed this after a session? Share below what helped you, and what you "
            "would like us to write about next.",
        ),
    ),
    Post(
        "warm-room",
        "Why we keep the room so warm",
        "February 17",
        (
            "Some guests find our treatment room a touch too warm when they first step in. "
            "We keep it that way on purpose: muscles let go more easily when the body is not "
            "busy keeping itself warm.",
            "If you would like it cooler, say so at any time; a fan and a lighter blanket are "
            "always at hand.",
        ),
    ),
    Post(
        "oils-shelf",
        "The oils on the shelf by the door",
        "January 29",
        (
            "The bottles by the door hold the oils we use: sweet almond, grapeseed for "
            "guests with nut allergies, and an unscented blend for anyone who prefers no "
            "fragrance at all.",
            "We warm each one in a bowl of hot water before a session. It takes a minute and "
            "makes the first touch far more pleasant than cold oil ever is.",
        ),
    ),
)
POSTS_BY_SLUG = {p.slug: p for p in POSTS}


def _demo_site() -> Site | None:
    stmt = select(Site).where(Site.name == DEMO_SITE_NAME).order_by(Site.created_at).limit(1)
    return db.session.scalar(stmt)


def _render_post(post: Post) -> str | tuple[str, int]:
    site = _demo_site()
    public_url = links.public_base()
    if site is None:
        return render_template("demo/setup.html", public_url=public_url), 200
    return render_template(
        "demo/post.html",
        post=post,
        site=site,
        public_url=public_url,
        elsewhere=_other_origin(public_url) if post is POSTS[0] else None,
    )


def _other_origin(public_url: str) -> str | None:
    """The same local server under its other name: another origin, for a cross-origin demo."""
    for here, there in (("://127.0.0.1", "://localhost"), ("://localhost", "://127.0.0.1")):
        if here in public_url:
            return public_url.replace(here, there)
    return None


@bp.get("/demo/elsewhere")
def show_elsewhere() -> str | tuple[str, int]:
    """A page of a "partner" site quoting the first post, embedding its thread from afar.

    Opened on the other host name (localhost vs 127.0.0.1), it is another origin than the
    service, so every request the widget makes is a real cross-origin one.
    """
    site = _demo_site()
    public_url = links.public_base()
    if site is None:
        return render_template("demo/setup.html", public_url=public_url), 200
    return render_template("demo/elsewhere.html", post=POSTS[0], site=site, public_url=public_url)


@bp.get("/")
def show_home() -> str | tuple[str, int]:
    return _render_post(POSTS[0])


@bp.get("/demo/posts/<slug>")
def show_post(slug: str) -> str | tuple[str, int] | Response:
    post = POSTS_BY_SLUG.get(slug) or abort(404)
    if post is POSTS[0]:  # one address per post, so its comments live in one thread
        return redirect(url_for("demo.show_home"))
    return _render_post(post)


@bp.get("/demo/listing")
def show_listing() -> str | tuple[str, int]:
    site = _demo_site()
    public_url = links.public_base()
    if site is None:
        return render_template("demo/setup.html", public_url=public_url), 200
    # Thread URLs are the posts' addresses under PUBLIC_URL, which is what the widget uses
    # by default when the demo is opened there.
    posts = [
        (
            post,
            links.public_url("demo.show_home")
            if i == 0
            else links.public_url("demo.show_post", slug=post.slug),
        )
        for i, post in enumerate(POSTS)
    ]
    return render_template("demo/listing.html", links=posts, site=site, public_url=public_url)
