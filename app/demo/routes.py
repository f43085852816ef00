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
        "overnight-rye",
        "Why our rye bread sleeps overnight",
        "March 3",
        (
            "Every evening, after the last customer has gone, we mix tomorrow's rye dough "
            "and leave it in the cool back room. People often ask why we do not simply bake it "
            "the same afternoon. The short answer: time does work that no mixer can.",
            "Rye flour has very little of the gluten that gives wheat bread its stretch. What "
            "holds a rye loaf together is starch and a family of gums called pentosans, and "
            "both behave better in a slightly sour dough. A long, cool rest lets our starter "
            "bring the acidity up slowly, so the crumb sets moist instead of gummy.",
            "The rest also changes the taste. A quick rye tastes of flour; one that waited "
            "twelve hours tastes of malt, a little of plums, and faintly of the wooden bowls "
            "it proved in. We did not invent any of this, of course: bakers in cold kitchens "
            "have been letting rye sleep for centuries.",
            "If you bake at home, try it once: mix in the evening, cover the bowl, and put it "
            "somewhere around 18 °C. Shape in the morning and bake hot. Tell us below how "
            "it went, and what you would change.",
        ),
    ),
    Post(
        "cold-oven",
        "Notes on a cold oven",
        "February 17",
        (
            "Our old deck oven takes two hours to heat, so on Mondays, when it has been off "
            "for a day, the first batch is always a little pale. We have stopped fighting it "
            "and now bake crackers and rusks first, which like a gentler heat anyway.",
            "By the third batch the stones hold so much warmth that we can switch the "
            "elements off and finish the day's granola on what is left.",
        ),
    ),
    Post(
        "seed-jars",
        "The seed jars by the till",
        "January 29",
        (
            "The glass jars next to the till hold the seeds for our toppings: sunflower, "
            "pumpkin, linseed, and a black sesame we buy from a small mill two valleys over.",
            "We toast each batch in a dry pan before use. It takes ten minutes and makes the "
            "difference between a loaf that smells of seeds and one that merely has them.",
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
